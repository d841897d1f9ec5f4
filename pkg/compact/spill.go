package compact

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path"
)

// Spill sizing. Each spill file is deduplicated in memory on its own, so its
// size bounds the heap; the file count follows the hour's size.
const (
	// spillTarget is the uncompressed bytes aimed at per spill file.
	spillTarget = 16 << 20
	// gzipRatio estimates NDJSON's gzip ratio, to size the hour from the
	// listed (compressed) object sizes. Overestimating only makes more,
	// smaller spill files.
	gzipRatio = 8
	// maxSpillFiles bounds the open files and write buffers. At 512 files of
	// 16 MiB the hour is 8 GiB uncompressed, more than Lambda's 10 GiB /tmp
	// holds with the Parquet file beside it.
	maxSpillFiles = 512
	// spillBuffer is each spill file's write buffer.
	spillBuffer = 16 << 10
)

// bucketsFor returns the spill file count for an hour whose objects total
// size bytes: a power of two, so a bucket is hash&mask. It depends only on
// the input, which keeps a re-run's output byte-identical.
func bucketsFor(size int64) int {
	want := (size*gzipRatio + spillTarget - 1) / spillTarget
	n := 1
	for int64(n) < want && n < maxSpillFiles {
		n <<= 1
	}
	return n
}

// spiller hash-partitions records by id into spill files.
type spiller struct {
	files  []*os.File
	ws     []*bufio.Writer
	counts []int // records per spill file, to size the decode slice
	mask   uint64
	buf    []byte
}

func newSpiller(dir string, n int) (*spiller, error) {
	s := &spiller{mask: uint64(n - 1), counts: make([]int, n)}
	for i := range n {
		f, err := os.Create(path.Join(dir, fmt.Sprintf("spill-%04d", i)))
		if err != nil {
			s.close()
			return nil, fmt.Errorf("create spill file: %w", err)
		}
		s.files = append(s.files, f)
		s.ws = append(s.ws, bufio.NewWriterSize(f, spillBuffer))
	}
	return s, nil
}

// fnv1a hashes an id (FNV-1a, 64 bit): cheap, and stable across runs and
// builds, unlike hash/maphash.
func fnv1a(s []byte) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// add appends r to its id's spill file, encoded as uvarint-length-prefixed
// fields: id, ts ms (varint), received ms (varint), region, producer, data.
func (s *spiller) add(l *line) error {
	b := s.buf[:0]
	b = appendBytes(b, l.id)
	b = binary.AppendVarint(b, l.ts.UnixMilli())
	b = binary.AppendVarint(b, l.received.UnixMilli())
	b = appendBytes(b, l.region)
	b = appendBytes(b, l.producer)
	b = appendBytes(b, l.data)
	s.buf = b
	i := fnv1a(l.id) & s.mask
	s.counts[i]++
	if _, err := s.ws[i].Write(b); err != nil {
		return fmt.Errorf("write spill file: %w", err)
	}
	return nil
}

func appendBytes(b []byte, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// finish flushes every spill file.
func (s *spiller) finish() error {
	for i, w := range s.ws {
		if err := w.Flush(); err != nil {
			return fmt.Errorf("flush spill file %d: %w", i, err)
		}
	}
	return nil
}

// close closes every spill file; the directory's removal deletes them.
func (s *spiller) close() {
	for _, f := range s.files {
		f.Close()
	}
}

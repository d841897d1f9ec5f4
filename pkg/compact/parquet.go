package compact

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
	"unsafe"

	"github.com/parquet-go/parquet-go"
)

// Row is one curated Parquet row; the struct tags are the file's schema (see
// the package documentation).
type Row struct {
	ID       string    `parquet:"id"`
	TS       time.Time `parquet:"ts,timestamp(millisecond)"`
	Received time.Time `parquet:"received,timestamp(millisecond)"`
	Region   string    `parquet:"region,dict"`
	Producer string    `parquet:"producer,dict"`
	Data     string    `parquet:"data"`
}

// writerOptions fix everything that could make two runs' files differ: the
// created_by string names no build, and row groups are cut by row count.
func writerOptions() []parquet.WriterOption {
	return []parquet.WriterOption{
		parquet.Compression(&parquet.Snappy),
		parquet.MaxRowsPerRowGroup(RowGroupRows),
		parquet.CreatedBy("pendulum-compact", "1", "0"),
	}
}

// errSpillCorrupt reports a spill file that does not decode: a bug or a
// damaged local disk, never bad input.
var errSpillCorrupt = errors.New("spill file does not decode")

// writeParquet deduplicates each spill file in memory and streams its rows to
// w. It returns the rows written and the duplicates dropped.
func writeParquet(ctx context.Context, w io.Writer, sp *spiller) (rows, dups int64, err error) {
	pw := parquet.NewGenericWriter[Row](w, writerOptions()...)
	for i, f := range sp.files {
		if err := ctx.Err(); err != nil {
			return 0, 0, fmt.Errorf("write parquet: %w", err)
		}
		// A fresh buffer per spill file: rows point into it (no copy per
		// field), and it is never reused, so nothing the writer keeps can
		// change under it.
		buf, err := os.ReadFile(f.Name())
		if err != nil {
			return 0, 0, fmt.Errorf("read spill file %d: %w", i, err)
		}
		batch, err := decodeSpill(buf, sp.counts[i])
		if err != nil {
			return 0, 0, fmt.Errorf("spill file %d: %w", i, err)
		}
		kept := dedupe(batch)
		dups += int64(len(batch) - len(kept))
		if _, err := pw.Write(kept); err != nil {
			return 0, 0, fmt.Errorf("write parquet rows: %w", err)
		}
		rows += int64(len(kept))
	}
	if err := pw.Close(); err != nil {
		return 0, 0, fmt.Errorf("close parquet writer: %w", err)
	}
	return rows, dups, nil
}

// decodeSpill decodes a spill file's n rows; their strings share buf.
func decodeSpill(buf []byte, n int) ([]Row, error) {
	rows := make([]Row, 0, n)
	for len(buf) > 0 {
		var r Row
		var ok bool
		var ts, rcv int64
		if r.ID, buf, ok = readString(buf); !ok {
			return nil, errSpillCorrupt
		}
		if ts, buf, ok = readVarint(buf); !ok {
			return nil, errSpillCorrupt
		}
		if rcv, buf, ok = readVarint(buf); !ok {
			return nil, errSpillCorrupt
		}
		if r.Region, buf, ok = readString(buf); !ok {
			return nil, errSpillCorrupt
		}
		if r.Producer, buf, ok = readString(buf); !ok {
			return nil, errSpillCorrupt
		}
		if r.Data, buf, ok = readString(buf); !ok {
			return nil, errSpillCorrupt
		}
		r.TS, r.Received = time.UnixMilli(ts).UTC(), time.UnixMilli(rcv).UTC()
		rows = append(rows, r)
	}
	return rows, nil
}

func readVarint(b []byte) (int64, []byte, bool) {
	v, n := binary.Varint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

func readString(b []byte) (string, []byte, bool) {
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return "", nil, false
	}
	b = b[n:]
	if l == 0 {
		return "", b, true
	}
	return unsafe.String(&b[0], int(l)), b[l:], true
}

// dedupe sorts rows by id and keeps one row per id. Which copy is kept is
// decided by the rows alone (earliest received, then every other field), not
// by the order they were read in, so the output is the same whatever order
// S3 listed the objects in.
func dedupe(rows []Row) []Row {
	slices.SortFunc(rows, compareRows)
	kept := rows[:0]
	for i := range rows {
		if len(kept) > 0 && kept[len(kept)-1].ID == rows[i].ID {
			continue
		}
		kept = append(kept, rows[i])
	}
	return kept
}

func compareRows(a, b Row) int {
	if c := cmp.Compare(a.ID, b.ID); c != 0 {
		return c
	}
	if c := a.Received.Compare(b.Received); c != 0 {
		return c
	}
	if c := a.TS.Compare(b.TS); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Region, b.Region); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Producer, b.Producer); c != 0 {
		return c
	}
	return cmp.Compare(a.Data, b.Data)
}

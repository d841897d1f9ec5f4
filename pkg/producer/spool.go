package producer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The spool is a directory:
//
//	seg-000000000001.ndjson  records, one JSON object per line, append-only
//	acked.log                ids ingest acknowledged, one JSON string per line
//	rejected.ndjson          records ingest refused as invalid or conflicting (kept, not resent)
//	quarantine.ndjson        segment lines found unreadable at open (kept, not sent)
//
// A record is written (and, unless NoSync, fsynced) to the active segment
// before Produce returns, and its id is appended to acked.log only after
// ingest answered 200 for a batch holding it. Reopening the spool therefore
// finds every record not known to be delivered; a torn last line, from a
// crash in the middle of a write, is cut off (that record's Produce never
// returned). A complete line that cannot be read (disk corruption, an edit by
// hand) was a record Produce accepted: it is copied, with its segment, line
// number and the reason, to quarantine.ndjson — durably, before its segment
// may be deleted — and counted, never silently dropped. A segment whose
// lines are all acknowledged, rejected or quarantined is deleted, and
// acked.log is rewritten at open to forget the ids of deleted segments.

const (
	ackLogName     = "acked.log"
	rejectedName   = "rejected.ndjson"
	quarantineName = "quarantine.ndjson"
	segmentPrefix  = "seg-"
	segmentSuffix  = ".ndjson"
)

// entry is one spooled record.
type entry struct {
	id   string
	data []byte // one JSON object, no newline
	seg  int
}

// badLine is a complete segment line that is not a readable record.
type badLine struct {
	line   int    // 1-based
	raw    []byte // the line as found, no newline
	reason string
}

// quarantineEntry is one line of quarantine.ndjson.
type quarantineEntry struct {
	Segment string `json:"segment"`
	Line    int    `json:"line"`
	Reason  string `json:"reason"`
	// Raw is the line as found when it is valid UTF-8; RawBase64 holds its
	// bytes otherwise (a JSON string cannot carry them unchanged).
	Raw       string `json:"raw,omitempty"`
	RawBase64 []byte `json:"rawBase64,omitempty"`
}

type segInfo struct {
	total, done int      // lines written; lines acknowledged, rejected or quarantined
	doneIDs     []string // the ids of the done records, for ack log compaction
}

type spool struct {
	dir      string
	noSync   bool
	segBytes int64

	active     *os.File
	activeSeq  int
	activeSize int64
	ackLog     *os.File
	rejected   *os.File
	segs       map[int]*segInfo
	ackLines   int // lines in acked.log
	// quarantined counts the unreadable lines found at open (each in
	// quarantine.ndjson).
	quarantined int
}

// compactAfter is how many acked.log lines beyond those still needed make a
// segment roll rewrite the log: it would otherwise grow by an id per record
// for as long as the process runs.
var compactAfter = 100_000

func segmentName(seq int) string { return fmt.Sprintf("%s%012d%s", segmentPrefix, seq, segmentSuffix) }

// openSpool opens (creating if need be) the spool in dir and returns the
// records not yet acknowledged, in the order they were produced.
func openSpool(dir string, segBytes int64, noSync bool) (*spool, []entry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create spool %s: %w", dir, err)
	}
	s := &spool{dir: dir, noSync: noSync, segBytes: segBytes, segs: make(map[int]*segInfo)}
	acked, err := readAckLog(filepath.Join(dir, ackLogName))
	if err != nil {
		return nil, nil, err
	}
	seqs, err := listSegments(dir)
	if err != nil {
		return nil, nil, err
	}
	var (
		pending []entry
		loaded  [][]entry
		infos   []*segInfo
		bad     []quarantineEntry
	)
	for _, seq := range seqs {
		entries, lines, err := s.loadSegment(seq)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range lines {
			slog.Warn("spool: quarantining an unreadable record", "segment", seq, "line", l.line, "reason", l.reason)
			q := quarantineEntry{Segment: segmentName(seq), Line: l.line, Reason: l.reason}
			if utf8.Valid(l.raw) {
				q.Raw = string(l.raw)
			} else {
				q.RawBase64 = l.raw
			}
			bad = append(bad, q)
		}
		loaded = append(loaded, entries)
		// Quarantined lines are done: once they are safe in the quarantine
		// file, nothing more is owed for them.
		infos = append(infos, &segInfo{total: len(entries) + len(lines), done: len(lines)})
	}
	// The quarantine is durable before any segment holding those lines can
	// be deleted below.
	if err := s.quarantine(bad); err != nil {
		return nil, nil, err
	}
	s.quarantined = len(bad)
	keep := make(map[string]bool)
	for k, seq := range seqs {
		entries, info := loaded[k], infos[k]
		for _, e := range entries {
			if acked[e.id] {
				info.done++
				info.doneIDs = append(info.doneIDs, e.id)
				keep[e.id] = true
				continue
			}
			pending = append(pending, e)
		}
		if info.done == info.total {
			if err := os.Remove(filepath.Join(dir, segmentName(seq))); err != nil {
				return nil, nil, fmt.Errorf("remove delivered segment %d: %w", seq, err)
			}
			for _, e := range entries {
				delete(keep, e.id)
			}
			continue
		}
		s.segs[seq] = info
	}
	if err := s.rewriteAckLog(keep); err != nil {
		return nil, nil, err
	}
	next := 1
	if len(seqs) > 0 {
		next = seqs[len(seqs)-1] + 1
	}
	if err := s.roll(next); err != nil {
		return nil, nil, err
	}
	if s.rejected, err = os.OpenFile(filepath.Join(dir, rejectedName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", rejectedName, err)
	}
	return s, pending, nil
}

func listSegments(dir string) ([]int, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list spool %s: %w", dir, err)
	}
	var seqs []int
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix))
		if err != nil {
			continue
		}
		seqs = append(seqs, n)
	}
	sort.Ints(seqs)
	return seqs, nil
}

// readAckLog returns the acknowledged ids; a torn last line is ignored (its
// records are resent, which ids make harmless).
func readAckLog(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read ack log: %w", err)
	}
	acked := make(map[string]bool)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break // torn
		}
		var id string
		if json.Unmarshal(b[:i], &id) == nil {
			acked[id] = true
		}
		b = b[i+1:]
	}
	return acked, nil
}

// loadSegment reads one segment, cutting off a torn last line. It returns
// the readable records and the unreadable lines, which together are every
// complete line.
func (s *spool) loadSegment(seq int) ([]entry, []badLine, error) {
	path := filepath.Join(s.dir, segmentName(seq))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read segment %d: %w", seq, err)
	}
	entries, bad, torn := parseSegment(b, seq)
	if torn > 0 {
		slog.Warn("spool: cutting off a torn record", "segment", seq, "bytes", torn)
		if err := os.Truncate(path, int64(len(b)-torn)); err != nil {
			return nil, nil, fmt.Errorf("truncate segment %d: %w", seq, err)
		}
	}
	return entries, bad, nil
}

// parseSegment splits segment bytes into records and unreadable lines, and
// returns the length of a torn last line (bytes after the last newline:
// a write a crash interrupted, whose Produce never returned).
func parseSegment(b []byte, seq int) (entries []entry, bad []badLine, torn int) {
	end := bytes.LastIndexByte(b, '\n') + 1
	torn, b = len(b)-end, b[:end]
	for n := 1; len(b) > 0; n++ {
		i := bytes.IndexByte(b, '\n')
		line := b[:i:i]
		b = b[i+1:]
		var head struct {
			ID string `json:"id"`
		}
		switch err := json.Unmarshal(line, &head); {
		case err != nil:
			bad = append(bad, badLine{line: n, raw: line, reason: "not a JSON object with a string id: " + err.Error()})
		case head.ID == "":
			bad = append(bad, badLine{line: n, raw: line, reason: "no id"})
		default:
			entries = append(entries, entry{id: head.ID, data: line, seg: seq})
		}
	}
	return entries, bad, torn
}

// quarantine appends the entries to quarantine.ndjson, durably unless
// noSync, leaving out those already there: a crash between quarantining and
// deleting the segment finds the same lines again at the next open.
func (s *spool) quarantine(bad []quarantineEntry) error {
	if len(bad) == 0 {
		return nil
	}
	path := filepath.Join(s.dir, quarantineName)
	known, err := readQuarantine(path)
	if err != nil {
		return err
	}
	var buf []byte
	for _, q := range bad {
		if known[q.key()] {
			continue
		}
		line, err := json.Marshal(q)
		if err != nil {
			return fmt.Errorf("encode quarantined line: %w", err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if len(buf) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", quarantineName, err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", quarantineName, err)
	}
	if !s.noSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync %s: %w", quarantineName, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", quarantineName, err)
	}
	return s.syncDir()
}

// key identifies a quarantined line: segment numbers restart at 1 once every
// segment is gone, so the line's bytes are part of it.
func (q quarantineEntry) key() string {
	raw := q.Raw
	if q.RawBase64 != nil {
		raw = string(q.RawBase64)
	}
	return fmt.Sprintf("%s\x00%d\x00%s", q.Segment, q.Line, raw)
}

// readQuarantine returns the keys of the lines already quarantined; a line
// it cannot read (a torn last one) is ignored, so at worst a line is
// quarantined twice.
func readQuarantine(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]bool{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", quarantineName, err)
	}
	known := make(map[string]bool)
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		var q quarantineEntry
		if json.Unmarshal(line, &q) == nil && q.Segment != "" {
			known[q.key()] = true
		}
	}
	return known, nil
}

// rewriteAckLog replaces acked.log with the given ids, atomically.
func (s *spool) rewriteAckLog(ids map[string]bool) error {
	if s.ackLog != nil {
		if err := s.ackLog.Close(); err != nil {
			return fmt.Errorf("close ack log: %w", err)
		}
		s.ackLog = nil
	}
	path := filepath.Join(s.dir, ackLogName)
	tmp := path + ".tmp"
	var buf []byte
	for id := range ids {
		buf = appendAckLine(buf, id)
	}
	if err := s.writeFileSync(tmp, buf); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace ack log: %w", err)
	}
	if err := s.syncDir(); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open ack log: %w", err)
	}
	s.ackLog = f
	s.ackLines = len(ids)
	return nil
}

func (s *spool) writeFileSync(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if !s.noSync {
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync %s: %w", path, err)
		}
	}
	return f.Close()
}

func (s *spool) syncDir() error {
	if s.noSync {
		return nil
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("open spool dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync spool dir: %w", err)
	}
	return nil
}

func appendAckLine(buf []byte, id string) []byte {
	q, _ := json.Marshal(id) // a string always marshals
	return append(append(buf, q...), '\n')
}

// roll starts segment seq as the active one.
func (s *spool) roll(seq int) error {
	if s.active != nil {
		if err := s.active.Close(); err != nil {
			return fmt.Errorf("close segment %d: %w", s.activeSeq, err)
		}
		if info := s.segs[s.activeSeq]; info != nil && info.done == info.total {
			s.removeSegment(s.activeSeq)
		}
	}
	f, err := os.OpenFile(filepath.Join(s.dir, segmentName(seq)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("create segment %d: %w", seq, err)
	}
	if err := s.syncDir(); err != nil {
		f.Close()
		return err
	}
	s.active, s.activeSeq, s.activeSize = f, seq, 0
	s.segs[seq] = &segInfo{}
	return s.maybeCompact()
}

// maybeCompact rewrites acked.log with only the ids of live segments once it
// holds compactAfter lines more than those.
func (s *spool) maybeCompact() error {
	live := 0
	for _, info := range s.segs {
		live += len(info.doneIDs)
	}
	if s.ackLines-live < compactAfter {
		return nil
	}
	keep := make(map[string]bool, live)
	for _, info := range s.segs {
		for _, id := range info.doneIDs {
			keep[id] = true
		}
	}
	return s.rewriteAckLog(keep)
}

// append writes records to the active segment, durably unless noSync. On
// error nothing is counted as spooled (a partial line is cut off at reopen).
func (s *spool) append(entries []entry) error {
	if s.activeSize >= s.segBytes {
		if err := s.roll(s.activeSeq + 1); err != nil {
			return err
		}
	}
	var buf []byte
	for _, e := range entries {
		buf = append(append(buf, e.data...), '\n')
	}
	n, err := s.active.Write(buf)
	s.activeSize += int64(n)
	if err != nil {
		return fmt.Errorf("write segment %d: %w", s.activeSeq, err)
	}
	if !s.noSync {
		if err := s.active.Sync(); err != nil {
			return fmt.Errorf("sync segment %d: %w", s.activeSeq, err)
		}
	}
	s.segs[s.activeSeq].total += len(entries)
	for i := range entries {
		entries[i].seg = s.activeSeq
	}
	return nil
}

// ack records entries as delivered, then deletes segments left with nothing
// to deliver.
func (s *spool) ack(entries []entry) error {
	var buf []byte
	for _, e := range entries {
		buf = appendAckLine(buf, e.id)
	}
	if _, err := s.ackLog.Write(buf); err != nil {
		return fmt.Errorf("write ack log: %w", err)
	}
	s.ackLines += len(entries)
	if !s.noSync {
		if err := s.ackLog.Sync(); err != nil {
			return fmt.Errorf("sync ack log: %w", err)
		}
	}
	s.done(entries)
	return nil
}

// reject keeps entries ingest refused in rejected.ndjson, each with why
// (the status only for a conflict), and marks them done so they are not
// resent.
func (s *spool) reject(entries []entry, why []refusal) error {
	var buf []byte
	for i, e := range entries {
		line, _ := json.Marshal(struct {
			Reason string          `json:"reason"`
			Status string          `json:"status,omitempty"`
			Record json.RawMessage `json:"record"`
		}{why[i].reason, why[i].status, e.data})
		buf = append(append(buf, line...), '\n')
	}
	if _, err := s.rejected.Write(buf); err != nil {
		return fmt.Errorf("write rejected records: %w", err)
	}
	return s.ack(entries)
}

func (s *spool) done(entries []entry) {
	for _, e := range entries {
		info := s.segs[e.seg]
		if info == nil {
			continue
		}
		info.done++
		info.doneIDs = append(info.doneIDs, e.id)
		if info.done == info.total && e.seg != s.activeSeq {
			s.removeSegment(e.seg)
		}
	}
}

func (s *spool) removeSegment(seq int) {
	delete(s.segs, seq)
	if err := os.Remove(filepath.Join(s.dir, segmentName(seq))); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// Harmless: reopening finds it fully acknowledged and removes it.
		slog.Warn("spool: cannot remove a delivered segment", "segment", seq, "err", err)
	}
}

func (s *spool) close() error {
	return errors.Join(s.active.Close(), s.ackLog.Close(), s.rejected.Close())
}

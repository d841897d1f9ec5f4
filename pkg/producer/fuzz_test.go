package producer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadSegment: whatever bytes a segment holds, loading it never panics,
// cuts off only the bytes after the last newline (a torn write), and
// accounts for every complete line exactly once, in order: returned as a
// record carrying that line and its id, or listed as unreadable (to be
// quarantined) with its line number. Nothing is silently dropped.
func FuzzLoadSegment(f *testing.F) {
	for _, s := range []string{
		"{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":2}\n",
		"{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":",                        // torn last line
		"{\"id\":\"a\"}\n\xff\xff\xff\":\"b\"}\n{\"id\":\"c\"}\n",             // corrupt middle line
		"{\"id\":\"\\u00e9\\\"\\\\\"}\n{\"id\":\"\\ud83d\\ude00\"}\n",         // escaped ids
		"{\"id\":\"a\"}\n\n{\"v\":1}\n{\"id\":7}\n{\"id\":\"\"}\n[1]\nnull\n", // blank, no id, bad ids
		"",
		"\n",
		"no newline at all",
	} {
		f.Add([]byte(s))
	}
	// One directory for every input (a fresh one each time costs more than
	// the load); inputs run one at a time in a process.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, segmentName(7))
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(path)
		s := &spool{dir: dir}
		entries, bad, err := s.loadSegment(7)
		if err != nil {
			t.Fatal(err)
		}
		complete := b[:bytes.LastIndexByte(b, '\n')+1]
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(after, complete) {
			t.Fatalf("segment after load = %q, want the complete lines %q", after, complete)
		}
		var lines [][]byte
		if len(complete) > 0 {
			lines = bytes.Split(complete[:len(complete)-1], []byte{'\n'})
		}
		if got, want := len(entries)+len(bad), len(lines); got != want {
			t.Fatalf("%d records + %d unreadable = %d, want every one of %d complete lines", len(entries), len(bad), got, want)
		}
		e, q := 0, 0
		for n, line := range lines {
			if q < len(bad) && bad[q].line == n+1 {
				if !bytes.Equal(bad[q].raw, line) || bad[q].reason == "" {
					t.Fatalf("unreadable line %d = %q (reason %q), want %q and a reason", n+1, bad[q].raw, bad[q].reason, line)
				}
				q++
				continue
			}
			if e >= len(entries) {
				t.Fatalf("line %d %q neither returned nor quarantined", n+1, line)
			}
			r := entries[e]
			if !bytes.Equal(r.data, line) || r.seg != 7 || r.id == "" {
				t.Fatalf("record for line %d = {%q %q %d}, want line %q in segment 7", n+1, r.id, r.data, r.seg, line)
			}
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(r.data, &head); err != nil || head.ID != r.id {
				t.Fatalf("record for line %d has id %q, its data says %q (%v)", n+1, r.id, head.ID, err)
			}
			e++
		}
	})
}

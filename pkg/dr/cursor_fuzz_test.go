package dr

import (
	"reflect"
	"testing"
)

// FuzzCursor: a cursor comes back from the state machine's input, so any
// string must be rejected cleanly or decode; a cursor this package made
// decodes to what it encoded.
func FuzzCursor(f *testing.F) {
	f.Add("", "dt=2026-11-25/hr=12/b-3.ndjson", 1)
	f.Add("eyJhIjoiZHQ9MjAyNi0xMS0yNS9ocj0xMi9iLTMubmRqc29uIn0", "", 0)
	f.Add("!!", "\x00\xff", -1)
	f.Add("e30", "R#id", 7)
	f.Fuzz(func(t *testing.T, s, key string, _ int) {
		var c replayCursor
		if err := decodeCursor(&s, &c); err != nil && kindOf(err) != "invalid" {
			t.Fatalf("decode %q: error kind %s", s, kindOf(err))
		}
		want := replayCursor{After: key}
		var got replayCursor
		if err := decodeCursor(encodeCursor(want), &got); err != nil {
			t.Fatalf("own cursor rejected: %v", err)
		}
		// JSON replaces invalid UTF-8; compare what survives the encoding.
		if validUTF8(key) && !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip %+v → %+v", want, got)
		}
	})
}

func validUTF8(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}

package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pendulum-dr/pendulum/pkg/record"
)

func sha256Prefix(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:16]
}

// FuzzParseBody: Parse never panics; it either accepts (no problems, every
// record valid, within limits, its Kinesis data decoding back to it, each id
// once) or rejects with at least one problem; and every accepted body
// round-trips: the parsed records re-encoded as a body parse to the same ids,
// ts and data. Appending a copy of the first record to that body is a
// redelivery (the same records, one duplicate); appending another record
// with its id is a conflict, the one problem, for that record alone.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		"{\"id\":\"a\",\"ts\":\"2026-11-25T02:00:00Z\",\"v\":1}\n{\"v\":2}\n",
		`[{"id":"a"},{"ts":1764032400000,"canary":true}]`,
		"{\"producer\":\"p\",\"x\":[1,2,{\"y\":null}]}\r\n\r\n{\"id\":\"\\u00e9\"}",
		"[ {\"a\" :\n 1} ]",
		`{"id":"x","id":"y"}`,
		`{"ts":"2026-11-25T01:00:00+05:30"}`,
		"{\"s\":\"\xe2\x82\xac<>&\"}",
		`[1,"a",{}]`,
		"",
		"{",
		"{\"id\":\"\\ud800\",\"v\":1}\n{\"id\":\"\\udc00\",\"v\":2}\n",
		"{\"id\":\"a\",\"v\":1}\n{\"id\":\"a\",\"v\":2}\n{\"id\":\"a\",\"v\":1}\n",
		`[{"id":"a"},{"id":"\u0061"},{ "id" : "a" }]`,
		"{\"id\":\"\\u0000\"}\n{\"id\":\"\x7f\"}\n{\"id\":\"\\n\"}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var ps Parser
		p, problems := ps.Parse(body, testMeta)
		if p == nil {
			if len(problems) == 0 {
				t.Fatalf("rejected without a problem")
			}
			return
		}
		if problems != nil {
			t.Fatalf("accepted with problems %+v", problems)
		}
		if len(p.Records) == 0 || len(p.Records) > MaxRecords || len(p.Records) != len(p.Data) {
			t.Fatalf("accepted %d records, %d data", len(p.Records), len(p.Data))
		}
		arr := []byte{'['}
		lines, ndjsonOK := []byte{}, true
		for i, r := range p.Records {
			if !json.Valid(r.Data) || !utf8.Valid(r.Data) || r.Data[0] != '{' {
				t.Fatalf("record %d data %q is not a valid JSON object", i, r.Data)
			}
			if r.ID == "" || len(r.ID) > record.MaxIDBytes {
				t.Fatalf("record %d id %q out of bounds", i, r.ID)
			}
			if n := len(p.Data[i]); n > record.MaxRecordBytes || p.Data[i][n-1] != '\n' {
				t.Fatalf("record %d kinesis data of %d bytes", i, n)
			}
			back, err := record.Decode(p.Data[i])
			if err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			if back.ID != r.ID || !back.TS.Equal(r.TS) || !back.Received.Equal(r.Received) || back.Region != r.Region ||
				back.Producer != r.Producer || back.Canary != r.Canary || !bytes.Equal(back.Data, r.Data) {
				t.Fatalf("record %d decodes to %+v, want %+v", i, back, r)
			}
			if i > 0 {
				arr = append(arr, ',')
			}
			arr = append(arr, r.Data...)
			if bytes.IndexByte(r.Data, '\n') >= 0 {
				ndjsonOK = false
			}
			lines = append(append(lines, r.Data...), '\n')
		}
		arr = append(arr, ']')
		seen := make(map[string]int, len(p.Records))
		for i, r := range p.Records {
			// Records sharing an id are one record to every stage
			// downstream: each is written once, and distinct producer ids
			// must stay distinct.
			if j, dup := seen[r.ID]; dup {
				t.Fatalf("records %d and %d (ids %s and %s) both accepted as %q", j, i, rawID(p.Records[j].Data), rawID(r.Data), r.ID)
			}
			if _, bad := controlChar(r.ID); bad {
				t.Fatalf("record %d: id %q holds a control character", i, r.ID)
			}
			seen[r.ID] = i
		}
		check := func(form string, again []byte) {
			var ps2 Parser
			p2, problems := ps2.Parse(again, testMeta)
			if problems != nil {
				t.Fatalf("%s re-encoding rejected: %+v\nbody %q", form, problems, again)
			}
			if got, want := len(p2.Records), len(p.Records); got != want {
				t.Fatalf("%s: %d records, want %d", form, got, want)
			}
			for i := range p2.Records {
				a, b := p.Records[i], p2.Records[i]
				if a.ID != b.ID || !a.TS.Equal(b.TS) || !bytes.Equal(a.Data, b.Data) || a.Producer != b.Producer || a.Canary != b.Canary {
					t.Fatalf("%s: record %d = %+v, want %+v", form, i, b, a)
				}
			}
		}
		check("array", arr)
		if ndjsonOK {
			check("NDJSON", lines)
		}
		if len(p.Records) >= MaxRecords {
			return // one more record would be over the limit
		}
		first := p.Records[0]
		withCopy := append(append(append(bytes.Clone(arr[:len(arr)-1]), ','), first.Data...), ']')
		if len(withCopy) <= MaxBodyBytes {
			var ps2 Parser
			p2, problems := ps2.Parse(withCopy, testMeta)
			if problems != nil || p2.Duplicates != 1 || len(p2.Records) != len(p.Records) {
				t.Fatalf("a copy of record 0 appended: problems %+v, %d duplicates, %d records; want none, 1, %d", problems, p2.Duplicates, len(p2.Records), len(p.Records))
			}
		}
		q, _ := json.Marshal(first.ID)
		probe := fmt.Appendf(nil, `{"id":%s,"fuzz-probe":%d}`, q, len(first.Data))
		withConflict := append(append(append(bytes.Clone(arr[:len(arr)-1]), ','), probe...), ']')
		if len(withConflict) > MaxBodyBytes {
			return
		}
		var ps3 Parser
		p3, problems := ps3.Parse(withConflict, testMeta)
		if sameContent(first.Data, probe) { // the body's first record was the probe itself
			if problems != nil || p3.Duplicates != 1 {
				t.Fatalf("probe %s identical to record 0: problems %+v, want a duplicate", probe, problems)
			}
			return
		}
		if p3 != nil || len(problems) != 1 || problems[0].Index == nil || *problems[0].Index != len(p.Records) ||
			problems[0].Status != StatusConflict || !strings.Contains(problems[0].Reason, "record 0,") {
			t.Fatalf("record %s with record 0's id %q appended: problems %+v, want one conflict for record %d", probe, first.ID, problems, len(p.Records))
		}
	})
}

// rawID returns the "id" member of a record as its UTF-16 code units (the
// string JSON denotes, unpaired surrogates kept apart), or the whole record
// when it has none (its id is then derived from it).
func rawID(data []byte) string {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return string(data)
	}
	q, ok := m["id"]
	if !ok || string(q) == "null" || len(q) < 2 || q[0] != '"' {
		return string(data)
	}
	var units []uint16
	for s := q[1 : len(q)-1]; len(s) > 0; {
		if s[0] == '\\' && len(s) >= 2 {
			if s[1] == 'u' && len(s) >= 6 {
				n, _ := strconv.ParseUint(string(s[2:6]), 16, 16)
				units = append(units, uint16(n))
				s = s[6:]
				continue
			}
			c := map[byte]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[s[1]]
			if c == 0 {
				c = s[1]
			}
			units = append(units, uint16(c))
			s = s[2:]
			continue
		}
		r, size := utf8.DecodeRune(s)
		units = append(units, utf16.Encode([]rune{r})...)
		s = s[size:]
	}
	return fmt.Sprint(units)
}

// FuzzScanValue: the scanner accepts exactly what encoding/json accepts
// (and is valid UTF-8), never panics, and never reads past its input.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,true,false,null,"x\n\u00e9"]}`, `"12345678\"`, `[`, `-01`, "\"\xff\""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		i := skipSpace(in, 0)
		end, err := scanValue(in, i, 0)
		if end < 0 || end > len(in) {
			t.Fatalf("end %d outside [0,%d]", end, len(in))
		}
		got := err == nil && skipSpace(in, end) == len(in)
		want := json.Valid(in) && utf8.Valid(in) && i < len(in)
		if want && bytes.Count(in, []byte("["))+bytes.Count(in, []byte("{")) > maxDepth {
			return // the scanner stops deeper nesting than encoding/json does
		}
		if got != want {
			t.Fatalf("scan(%q) valid = %v (err %v), encoding/json says %v", in, got, err, want)
		}
	})
}

// FuzzParseUTC: the fast ts parser accepts only what time.Time.UnmarshalText
// accepts, giving the same Time, and takes the common form it is for.
func FuzzParseUTC(f *testing.F) {
	for _, s := range []string{
		"2026-11-25T02:00:00Z", "2026-11-25T02:00:00.5Z", "2026-11-25T02:00:00.000Z", "2026-11-25T02:00:00.50Z",
		"2026-11-25T02:00:00.123456789Z", "2026-11-25T02:00:00.1234567891Z",
		"0000-01-01T00:00:00Z", "0000-02-29T12:00:00Z", "1900-02-29T00:00:00Z",
		"2000-02-29T23:59:59.999Z", "1969-12-31T23:59:59.9Z", "9999-12-31T23:59:59.999999999Z",
		"2026-04-31T00:00:00Z", "2026-11-25T24:00:00Z", "2026-11-25T23:60:00Z", "2026-11-25T23:59:60Z",
		"2026-11-25t02:00:00z", "2026-11-25T02:00:00+00:00", "2026-11-25T02:00:00.Z", "2026-1a-25T02:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseUTC([]byte(s))
		var want time.Time
		err := want.UnmarshalText([]byte(s))
		if ok {
			if err != nil {
				t.Fatalf("parseUTC(%q) = %v, but UnmarshalText fails: %v", s, got, err)
			}
			if want = want.UTC(); got != want {
				t.Fatalf("parseUTC(%q) = %#v, want %#v", s, got, want)
			}
			// The encoder copies a canonical ts rather than format it.
			if f := got.Format(time.RFC3339Nano); canonicalUTC([]byte(s)) != (f == s) {
				t.Fatalf("canonicalUTC(%q) = %v, but it formats as %q", s, canonicalUTC([]byte(s)), f)
			}
		}
		if err == nil && len(s) >= 20 && len(s) <= 30 && s[len(s)-1] == 'Z' && !ok &&
			(len(s) == 20 || s[19] == '.') && s[10] == 'T' {
			t.Fatalf("parseUTC(%q) declines the form it is for", s)
		}
	})
}

package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/pendulum-dr/pendulum/pkg/record"
)

func sha256Prefix(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:16]
}

// FuzzParseBody: Parse never panics; it either accepts (no problems, every
// record valid, within limits, its Kinesis data decoding back to it) or
// rejects with at least one problem; and every accepted body round-trips:
// the parsed records re-encoded as a body parse to the same ids, ts and data.
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
	})
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

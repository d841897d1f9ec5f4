package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pendulum-dr/pendulum/pkg/record"
)

var testMeta = Meta{Received: testStart, Region: "eu-west-1", Producer: "header-producer"}

func mustParse(t *testing.T, body string) *Parsed {
	t.Helper()
	p, problems := Parse([]byte(body), testMeta)
	if problems != nil {
		t.Fatalf("Parse(%q): problems %+v", body, problems)
	}
	return p
}

func TestParseFormsAgree(t *testing.T) {
	objs := []string{`{"id":"a","v":1}`, `{"ts":"2026-01-02T03:04:05Z","v":2}`, `{"producer":"p2","canary":true}`}
	forms := map[string]string{
		"NDJSON":          strings.Join(objs, "\n") + "\n",
		"NDJSONNoNewline": strings.Join(objs, "\n"),
		"NDJSONCRLF":      "\r\n" + strings.Join(objs, "\r\n") + "\r\n\r\n",
		"Array":           "[" + strings.Join(objs, ",") + "]",
		"ArraySpaced":     " [\n  " + strings.Join(objs, " ,\n  ") + "\n]\n",
	}
	want := mustParse(t, forms["NDJSON"])
	for name, body := range forms {
		t.Run(name, func(t *testing.T) {
			got := mustParse(t, body)
			if g, w := len(got.Records), len(want.Records); g != w {
				t.Fatalf("%d records, want %d", g, w)
			}
			for i := range got.Records {
				g, w := got.Records[i], want.Records[i]
				if g.ID != w.ID || !g.TS.Equal(w.TS) || g.Producer != w.Producer || g.Canary != w.Canary || string(g.Data) != string(w.Data) {
					t.Fatalf("record %d = %+v, want %+v", i, g, w)
				}
				if got, want := string(got.Data[i]), string(want.Data[i]); got != want {
					t.Fatalf("kinesis data %d = %s, want %s", i, got, want)
				}
			}
		})
	}
}

func TestParseFields(t *testing.T) {
	tests := []struct {
		name         string
		body         string
		wantID       string // "derived" means DeriveID of the record's bytes
		wantTS       time.Time
		wantProducer string
		wantCanary   bool
	}{
		{"Defaults", `{"v":1}`, "derived", testStart, "header-producer", false},
		{"NullsAreAbsent", `{"id":null,"ts":null,"producer":null,"canary":null}`, "derived", testStart, "header-producer", false},
		{"RFC3339Z", `{"id":"x","ts":"2026-11-24T23:59:59Z"}`, "x", time.Date(2026, 11, 24, 23, 59, 59, 0, time.UTC), "header-producer", false},
		{"RFC3339OffsetToUTC", `{"id":"x","ts":"2026-11-25T01:00:00.250+02:00"}`, "x", time.Date(2026, 11, 24, 23, 0, 0, 250e6, time.UTC), "header-producer", false},
		{"RFC3339Nanos", `{"id":"x","ts":"2026-11-25T01:00:00.123456789Z"}`, "x", time.Date(2026, 11, 25, 1, 0, 0, 123456789, time.UTC), "header-producer", false},
		{"EpochMillis", `{"id":"x","ts":1764032400123}`, "x", time.UnixMilli(1764032400123).UTC(), "header-producer", false},
		{"EpochZero", `{"id":"x","ts":0}`, "x", time.Unix(0, 0).UTC(), "header-producer", false},
		{"EscapedTS", `{"id":"x","ts":"2026-11-25T01:00:00\u005a"}`, "x", time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC), "header-producer", false},
		{"EscapedKeyIsTheField", `{"\u0069d":"esc","v":1}`, "esc", testStart, "header-producer", false},
		{"EscapedID", `{"id":"a\"b\u00e9"}`, "a\"b\u00e9", testStart, "header-producer", false},
		{"ProducerFieldWins", `{"id":"x","producer":"own"}`, "x", testStart, "own", false},
		{"Canary", `{"id":"x","canary":true}`, "x", testStart, "header-producer", true},
		{"CanaryFalse", `{"id":"x","canary":false}`, "x", testStart, "header-producer", false},
		{"NestedFieldsIgnored", `{"inner":{"id":"no","ts":"no","canary":"no"}}`, "derived", testStart, "header-producer", false},
		{"MaxID", `{"id":"` + strings.Repeat("i", record.MaxIDBytes) + `"}`, strings.Repeat("i", record.MaxIDBytes), testStart, "header-producer", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustParse(t, tt.body)
			r := p.Records[0]
			wantID := tt.wantID
			if wantID == "derived" {
				wantID = DeriveID([]byte(tt.body))
			}
			if got, want := r.ID, wantID; got != want {
				t.Fatalf("id = %q, want %q", got, want)
			}
			if got, want := r.TS, tt.wantTS; !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("ts = %v, want %v in UTC", got, want)
			}
			if got, want := r.Producer, tt.wantProducer; got != want {
				t.Fatalf("producer = %q, want %q", got, want)
			}
			if got, want := r.Canary, tt.wantCanary; got != want {
				t.Fatalf("canary = %v, want %v", got, want)
			}
			if got, want := r.Region, "eu-west-1"; got != want {
				t.Fatalf("region = %q, want %q", got, want)
			}
			if got, want := string(r.Data), tt.body; got != want {
				t.Fatalf("data = %s, want the record as sent, %s", got, want)
			}
		})
	}
}

func TestProducerFallsBackPerRecord(t *testing.T) {
	p := mustParse(t, "{\"producer\":\"a\"}\n{\"v\":1}\n{\"producer\":\"a\",\"v\":2}\n{\"producer\":\"b\"}\n")
	var got []string
	for _, r := range p.Records {
		got = append(got, r.Producer)
	}
	if got, want := strings.Join(got, ","), "a,header-producer,a,b"; got != want {
		t.Fatalf("producers = %s, want %s", got, want)
	}
}

func TestDeriveID(t *testing.T) {
	a := mustParse(t, "  {\"v\":1}  \n")
	b := mustParse(t, `[{"v":1}]`)
	c := mustParse(t, `{"v":2}`)
	d := mustParse(t, `{ "v":1}`)
	if got, want := a.Records[0].ID, b.Records[0].ID; got != want {
		t.Fatalf("same bytes gave ids %q and %q", got, want)
	}
	if got, want := a.Records[0].ID, DeriveID([]byte(`{"v":1}`)); got != want {
		t.Fatalf("id = %q, want DeriveID of the trimmed bytes %q", got, want)
	}
	if a.Records[0].ID == c.Records[0].ID || a.Records[0].ID == d.Records[0].ID {
		t.Fatalf("different bytes share an id: %q %q %q", a.Records[0].ID, c.Records[0].ID, d.Records[0].ID)
	}
	// A fixed value: the derivation must never change, or resends across a
	// deployment would stop de-duplicating.
	if got, want := DeriveID([]byte(`{"v":1}`)), "h-"+fmt.Sprintf("%x", sha256Prefix(`{"v":1}`)); got != want {
		t.Fatalf("DeriveID = %q, want %q", got, want)
	}
	if got, want := len(a.Records[0].ID), 34; got != want {
		t.Fatalf("derived id length = %d, want %d", got, want)
	}
}

func TestBatchesWithinLimits(t *testing.T) {
	tests := []struct {
		name      string
		n, size   int
		wantSizes []int
	}{
		{"Single", 3, 10, []int{3}},
		{"ByCount", 1200, 10, []int{500, 500, 200}},
		{"ByBytes", 100, 60 << 10, []int{85, 15}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pr := &Parsed{}
			for i := range tt.n {
				id := fmt.Sprintf("id-%04d", i)
				pr.Records = append(pr.Records, record.Record{ID: id})
				pr.Data = append(pr.Data, bytes.Repeat([]byte("d"), tt.size))
			}
			calls := pr.Batches("s")
			var sizes []int
			seen := 0
			for _, c := range calls {
				if got, want := *c.StreamName, "s"; got != want {
					t.Fatalf("stream = %q, want %q", got, want)
				}
				n := 0
				for _, e := range c.Records {
					if got, want := *e.PartitionKey, fmt.Sprintf("id-%04d", seen); got != want {
						t.Fatalf("entry %d key %q, want %q (order kept)", seen, got, want)
					}
					n += len(e.Data) + len(*e.PartitionKey)
					seen++
				}
				if n > maxPutBytes || len(c.Records) > maxPutRecords {
					t.Fatalf("call of %d records, %d bytes exceeds the limits", len(c.Records), n)
				}
				sizes = append(sizes, len(c.Records))
			}
			if got, want := fmt.Sprint(sizes), fmt.Sprint(tt.wantSizes); got != want {
				t.Fatalf("calls = %s, want %s", got, want)
			}
		})
	}
}

// TestScanAgreesWithEncodingJSON checks the hand-written scanner against
// encoding/json (plus UTF-8 validity, which ingest also requires).
func TestScanAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `-0.5e+10`, `1E5`, `01`, `1.`, `.5`, `-`, `1e`, `+1`,
		`"\u00e9"`, `"\u00G9"`, `"\/"`, `"\x"`, "\"\t\"", `"é"`, "\"\xc3\"", "\"\xed\xa0\x80\"",
		`{"a":1,}`, `{"a" 1}`, `{"a":1 "b":2}`, `[1,]`, `[,1]`, `[1 2]`, `{"a":[{"b":null}]}`,
		`true`, `tru`, `falsey`, `nul`, `{"a":true,"b":false,"c":null}`, `"abcdefghijklmnopqrstuvwxyz\"0123456789"`,
		`"long ascii string that crosses several eight-byte words \\ with an escape"`, "\"12345678\xe2\x82\xac\"",
	}
	for _, in := range inputs {
		end, err := scanValue([]byte(in), 0, 0)
		got := err == nil && end == len(in)
		want := json.Valid([]byte(in)) && utf8.ValidString(in)
		if got != want {
			t.Errorf("scan(%q) valid = %v (end %d, err %v), encoding/json says %v", in, got, end, err, want)
		}
	}
}

// TestUnpairedSurrogateIDs: decoding maps every unpaired surrogate escape to
// U+FFFD, so such ids would collide; they are rejected, and proper pairs and
// look-alikes (an escaped backslash before "u") are not.
func TestUnpairedSurrogateIDs(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // "index:substring" per problem; nil means accepted
		ids  []string // the accepted ids
	}{
		{"TwoLoneHalvesCollide", "{\"id\":\"\\ud800\",\"v\":1}\n{\"id\":\"\\udc00\",\"v\":2}\n",
			[]string{"0:id contains an unpaired UTF-16 surrogate escape", "1:id contains an unpaired UTF-16 surrogate escape"}, nil},
		{"HighAtEnd", `{"id":"a\uD83D"}`, []string{"0:unpaired UTF-16 surrogate"}, nil},
		{"HighThenNonLow", `{"id":"\ud83d\u0041"}`, []string{"0:unpaired UTF-16 surrogate"}, nil},
		{"HighThenHigh", `{"id":"\ud83d\ud83d\ude00"}`, []string{"0:unpaired UTF-16 surrogate"}, nil},
		{"HighThenOtherEscape", `{"id":"\ud83d\n"}`, []string{"0:unpaired UTF-16 surrogate"}, nil},
		{"LowFirst", `{"id":"\ude00\ud83d"}`, []string{"0:unpaired UTF-16 surrogate"}, nil},
		{"Producer", `{"id":"a","producer":"p\udfff"}`, []string{"0:producer contains an unpaired UTF-16 surrogate escape"}, nil},
		{"PairIsFine", `{"id":"\ud83d\ude00"}` + "\n" + `{"id":"\uD83D\uDE00x"}`, nil, []string{"\U0001F600", "\U0001F600x"}},
		{"EscapedBackslashIsNotAnEscape", `{"id":"\\ud800"}`, nil, []string{`\ud800`}},
		{"OrdinaryEscapes", `{"id":"\u00e9\"\\\/","producer":"\u0070"}`, nil, []string{`é"\/`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, problems := Parse([]byte(tt.body), testMeta)
			if tt.want == nil {
				if problems != nil {
					t.Fatalf("problems %+v, want none", problems)
				}
				var ids []string
				for _, r := range p.Records {
					ids = append(ids, r.ID)
				}
				if got, want := fmt.Sprintf("%q", ids), fmt.Sprintf("%q", tt.ids); got != want {
					t.Fatalf("ids = %s, want %s", got, want)
				}
				return
			}
			if p != nil {
				t.Fatalf("accepted %d records, want a rejection", len(p.Records))
			}
			if got, want := len(problems), len(tt.want); got != want {
				t.Fatalf("%d problems %+v, want %d", got, problems, want)
			}
			for i, w := range tt.want {
				idx, reason, _ := strings.Cut(w, ":")
				if problems[i].Index == nil || fmt.Sprint(*problems[i].Index) != idx || !strings.Contains(problems[i].Reason, reason) {
					t.Fatalf("problem %d = %+v, want index %s and %q", i, problems[i], idx, reason)
				}
			}
		})
	}
}

// TestDataAfterBufferGrowth: records far smaller than their envelopes make
// the encoding buffer grow (and move) while a body is parsed; every record's
// Kinesis data must still be its own encoding, on a fresh and a reused
// Parser alike.
func TestDataAfterBufferGrowth(t *testing.T) {
	var sb strings.Builder
	for i := range MaxRecords {
		fmt.Fprintf(&sb, "{\"v\":%d}\n", i)
	}
	var ps Parser
	for _, name := range []string{"Fresh", "Reused"} {
		t.Run(name, func(t *testing.T) {
			p, problems := ps.Parse([]byte(sb.String()), testMeta)
			if problems != nil {
				t.Fatalf("problems %+v", problems)
			}
			if got, want := len(p.Data), MaxRecords; got != want {
				t.Fatalf("%d records, want %d", got, want)
			}
			for i := range p.Records {
				want, err := record.AppendJSON(nil, &p.Records[i])
				if err != nil {
					t.Fatal(err)
				}
				if got := p.Data[i]; string(got) != string(want)+"\n" {
					t.Fatalf("record %d data %s, want %s", i, got, want)
				}
			}
		})
	}
}

// TestDuplicateIDs: within one request an id names one record. A copy of the
// record holding it (whitespace aside) is a redelivery, accepted and kept
// once; a different record with the same id is a conflict for that record.
func TestDuplicateIDs(t *testing.T) {
	derived := DeriveID([]byte(`{"v":1}`))
	tests := []struct {
		name string
		body string
		want []string // "index:substring" per problem, each a conflict unless it says "invalid:"; nil means accepted
		ids  []string // the accepted ids, when accepted
		dups int
	}{
		{"IdenticalRedelivery", "{\"id\":\"a\",\"v\":1}\n{\"id\":\"a\",\"v\":1}\n", nil, []string{"a"}, 1},
		{"IdenticalWhitespaceAside", "{\"id\":\"a\",\"v\":[1,2]}\n{ \"id\" : \"a\", \"v\" : [ 1 , 2 ] }\n", nil, []string{"a"}, 1},
		{"IdenticalInArray", `[{"id":"a","v":1},{"id":"b"},{"id":"a","v":1},{"id":"a","v":1}]`, nil, []string{"a", "b"}, 2},
		{"IdenticalDerived", "{\"v\":1}\n{\"v\":1}\n{\"v\":2}\n", nil, []string{derived, DeriveID([]byte(`{"v":2}`))}, 1},
		{"SameContentOtherIDs", "{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":1}\n", nil, []string{"a", "b"}, 0},
		{"Conflict", "{\"id\":\"a\",\"v\":1}\n{\"id\":\"a\",\"v\":2}\n", []string{`1:id "a" is already used in this request by record 0`}, nil, 0},
		{"ConflictInArray", `[{"id":"a","v":1},{"id":"b"},{"id":"a","v":2}]`, []string{`2:id "a" is already used in this request by record 0`}, nil, 0},
		{"ConflictAgainstTheFirstOnly", "{\"id\":\"a\",\"v\":1}\n{\"id\":\"a\",\"v\":2}\n{\"id\":\"a\",\"v\":1}\n{\"id\":\"a\",\"v\":3}\n",
			[]string{"1:record 0, whose content differs", "3:record 0, whose content differs"}, nil, 0},
		{"ConflictEscapedSameID", "{\"id\":\"a\"}\n{\"id\":\"\\u0061\",\"v\":2}\n", []string{`1:id "a"`}, nil, 0},
		{"ConflictOtherEscapes", "{\"id\":\"a\",\"v\":\"\u00e9\"}\n{\"id\":\"a\",\"v\":\"\\u00e9\"}\n", []string{"1:conflict"}, nil, 0},
		{"ConflictMemberOrder", "{\"id\":\"a\",\"v\":1,\"w\":2}\n{\"id\":\"a\",\"w\":2,\"v\":1}\n", []string{"1:conflict"}, nil, 0},
		{"ConflictWithDerivedID", "{\"v\":1}\n{\"id\":\"" + derived + "\",\"v\":2}\n", []string{`1:id "` + derived + `"`}, nil, 0},
		{"ConflictOtherTS", "{\"id\":\"a\",\"ts\":1}\n{\"id\":\"a\",\"ts\":2}\n", []string{"1:conflict"}, nil, 0},
		{"ConflictLongIDClipped", "{\"id\":\"" + strings.Repeat("L", 128) + "\"}\n{\"id\":\"" + strings.Repeat("L", 128) + "\",\"v\":2}\n", []string{`1:id "` + strings.Repeat("L", 64) + `…"`}, nil, 0},
		{"InvalidFirstHoldsNoID", "{\"id\":\"a\",\"ts\":\"noon\"}\n{\"id\":\"a\",\"v\":2}\n", []string{"0:invalid:not RFC 3339"}, nil, 0},
		{"ConflictAndInvalid", "{\"id\":\"a\",\"v\":1}\n{\"id\":7}\n{\"id\":\"a\",\"v\":2}\n", []string{"1:invalid:id is not a string", "2:conflict"}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps Parser
			for _, run := range []string{"fresh", "reused"} { // a reused Parser forgets the ids it saw
				p, problems := ps.Parse([]byte(tt.body), testMeta)
				if tt.want == nil {
					if problems != nil {
						t.Fatalf("%s: problems %+v, want none", run, problems)
					}
					var ids []string
					for _, r := range p.Records {
						ids = append(ids, r.ID)
					}
					if got, want := fmt.Sprintf("%q", ids), fmt.Sprintf("%q", tt.ids); got != want {
						t.Fatalf("%s: ids = %s, want %s", run, got, want)
					}
					if got, want := p.Duplicates, tt.dups; got != want {
						t.Fatalf("%s: duplicates = %d, want %d", run, got, want)
					}
					if got, want := len(p.Data), len(p.Records); got != want {
						t.Fatalf("%s: %d data for %d records", run, got, want)
					}
					continue
				}
				if p != nil {
					t.Fatalf("%s: accepted %d records, want a rejection", run, len(p.Records))
				}
				if got, want := len(problems), len(tt.want); got != want {
					t.Fatalf("%s: %d problems %+v, want %d", run, got, problems, want)
				}
				for i, w := range tt.want {
					idx, reason, _ := strings.Cut(w, ":")
					status := StatusConflict
					if r, ok := strings.CutPrefix(reason, "invalid:"); ok {
						status, reason = "", r
					}
					pr := problems[i]
					if pr.Index == nil || fmt.Sprint(*pr.Index) != idx || !strings.Contains(pr.Reason, reason) || pr.Status != status {
						t.Fatalf("%s: problem %d = %+v, want index %s, status %q and %q", run, i, pr, idx, status, reason)
					}
					if status == StatusConflict && (!strings.HasPrefix(pr.Reason, "conflict: id ") || (pr.Line == 0) != (tt.body[0] == '[')) {
						t.Fatalf("%s: conflict problem %+v: want a reason naming the id, and the line of an NDJSON record", run, pr)
					}
				}
			}
		})
	}
}

// TestControlCharacterIDs: an id holding U+0000-U+001F or U+007F, escaped or
// (for U+007F, which JSON allows unescaped) raw, is rejected for its record.
func TestControlCharacterIDs(t *testing.T) {
	tests := []struct {
		name string
		id   string // the id's JSON text, quotes excluded
		want string // the control character named; "" means accepted
	}{
		{"NUL", `\u0000`, "U+0000"},
		{"NULInside", `a\u0000b`, "U+0000"},
		{"UnitSeparator", `\u001F`, "U+001F"},
		{"Newline", `x\n`, "U+000A"},
		{"Tab", `\tx`, "U+0009"},
		{"CarriageReturn", `\r`, "U+000D"},
		{"BackspaceAndFormFeed", `\b\f`, "U+0008"},
		{"DELEscaped", `\u007f`, "U+007F"},
		{"DELRaw", "a\x7fb", "U+007F"},
		{"DELRawAfterEscape", "\\u00e9\x7f", "U+007F"},
		{"Space", `a b`, ""},
		{"Tilde", `~`, ""},
		{"C1IsNotInTheRange", `\u0080`, ""},
		{"EscapedBackslashN", `\\n`, ""},
		{"Unicode", `é€😀`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id":"` + tt.id + `","v":1}` + "\n" + `{"id":"ok"}`
			p, problems := Parse([]byte(body), testMeta)
			if tt.want == "" {
				if problems != nil {
					t.Fatalf("problems %+v, want none", problems)
				}
				if len(p.Records) != 2 {
					t.Fatalf("%d records, want 2", len(p.Records))
				}
				return
			}
			if len(problems) != 1 || problems[0].Index == nil || *problems[0].Index != 0 || problems[0].Line != 1 || problems[0].Status != "" ||
				!strings.Contains(problems[0].Reason, "id contains the control character "+tt.want) {
				t.Fatalf("problems %+v, want one for record 0 naming %s", problems, tt.want)
			}
		})
	}
	// A derived id is hex: records free of ids are unaffected.
	mustParse(t, "{\"v\":\"\\u0000\"}\n")
}

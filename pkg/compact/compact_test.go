package compact

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

const (
	rawBucket     = "raw-bucket"
	curatedBucket = "curated-bucket"
)

var hour = Input{Table: "raw", DT: "2026-11-24", HR: "07"}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ndjson(t testing.TB, recs ...record.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	for _, r := range recs {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.Bytes()
}

var base = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)

func rec(id string, sec int, region string) record.Record {
	return record.Record{
		ID:       id,
		TS:       base.Add(time.Duration(sec) * time.Second),
		Received: base.Add(time.Duration(sec)*time.Second + 250*time.Millisecond),
		Region:   region,
		Producer: "p-" + id,
		Data:     json.RawMessage(fmt.Sprintf(`{"id":%q,"v":%d}`, id, sec)),
	}
}

func canary(id string) record.Record {
	r := rec(id, 1, "eu-west-1")
	r.Canary = true
	r.Data = json.RawMessage(`{"canary":true}`)
	return r
}

func rowOf(r record.Record) Row {
	return Row{ID: r.ID, TS: r.TS.UTC(), Received: r.Received.UTC(), Region: r.Region, Producer: r.Producer, Data: string(r.Data)}
}

func newCompactor(t testing.TB, raw, curated *memBucket) *Compactor {
	return &Compactor{Raw: raw.fake(), Curated: curated.fake(), RawBucket: raw.name, CuratedBucket: curated.name, TempDir: t.TempDir()}
}

func readRows(t testing.TB, b []byte) []Row {
	t.Helper()
	rows, err := parquet.Read[Row](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("read parquet back: %v", err)
	}
	for i := range rows {
		rows[i].TS, rows[i].Received = rows[i].TS.UTC(), rows[i].Received.UTC()
	}
	return rows
}

func TestCompactDedupesDropsCanariesReadsGzipAndPlain(t *testing.T) {
	r1, r2, r3 := rec("a-1", 1, "eu-west-1"), rec("b-2", 2, "eu-west-1"), rec("c-3", 3, "eu-central-1")
	// r2 again, later and from the other region (a failback copy): the
	// earliest-received copy must win whichever object comes first.
	r2late := r2
	r2late.Received = r2.Received.Add(time.Hour)
	r2late.Region = "eu-central-1"
	raw := newMemBucket(rawBucket, map[string][]byte{
		"dt=2026-11-24/hr=07/raw-1-2026-11-24-07-00-00.gz": gz(t, ndjson(t, r2late, r1, canary("canary-eu-west-1-1"))),
		"dt=2026-11-24/hr=07/raw-1-2026-11-24-07-05-00":    ndjson(t, r3, r2),
		"dt=2026-11-24/hr=07/raw-1-2026-11-24-07-10-00.gz": gz(t, ndjson(t, r1, canary("canary-eu-west-1-2"))),
		"dt=2026-11-24/hr=07/_SUCCESS":                     []byte("not data"),
		"dt=2026-11-24/hr=07/":                             nil,
		"dt=2026-11-24/hr=08/raw-other-hour.gz":            gz(t, ndjson(t, rec("z-9", 9, "eu-west-1"))),
	})
	raw.pageSize = 2 // the listing spans pages
	curated := newMemBucket(curatedBucket, nil)

	res, err := newCompactor(t, raw, curated).Compact(context.Background(), hour)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Table: "raw", DT: "2026-11-24", HR: "07", Objects: 3, Records: 7, Duplicates: 2, Canaries: 2, Rows: 3,
		Key: "dt=2026-11-24/hr=07/part-00000.parquet", Bytes: int64(len(curated.objects["dt=2026-11-24/hr=07/part-00000.parquet"]))}
	if res != want {
		t.Fatalf("result = %+v\nwant     %+v", res, want)
	}
	if got, want := res.Records-res.Duplicates-res.Canaries, res.Rows; got != want {
		t.Fatalf("records-duplicates-canaries = %d, rows = %d", got, want)
	}
	if got, want := len(curated.objects), 1; got != want {
		t.Fatalf("curated objects = %d, want %d", got, want)
	}
	got := readRows(t, curated.objects[want.Key])
	if wantRows := []Row{rowOf(r1), rowOf(r2), rowOf(r3)}; !reflect.DeepEqual(got, wantRows) {
		t.Fatalf("rows =\n%+v\nwant\n%+v", got, wantRows)
	}
}

func TestCompactRerunIsByteIdentical(t *testing.T) {
	var objects = map[string][]byte{}
	for o := range 5 {
		var recs []record.Record
		for i := range 2000 {
			// every id appears in two objects
			recs = append(recs, rec(fmt.Sprintf("id-%05d", (o*2000+i)%6000), i, "eu-west-1"))
		}
		objects[fmt.Sprintf("dt=2026-11-24/hr=07/obj-%d.gz", o)] = gz(t, ndjson(t, recs...))
	}
	tests := []struct {
		name   string
		sizeOf func(string) int64
	}{
		{"OneSpillFile", nil},
		{"ManySpillFiles", func(string) int64 { return 64 << 20 }}, // looks like ~2.5 GiB: 256 spill files
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := newMemBucket(rawBucket, objects)
			raw.sizeOf = tt.sizeOf
			curated := newMemBucket(curatedBucket, nil)
			c := newCompactor(t, raw, curated)
			first, err := c.Compact(context.Background(), hour)
			if err != nil {
				t.Fatal(err)
			}
			firstBytes := curated.objects[first.Key]
			second, err := c.Compact(context.Background(), hour)
			if err != nil {
				t.Fatal(err)
			}
			if first != second {
				t.Fatalf("second result %+v differs from first %+v", second, first)
			}
			if got, want := len(curated.objects), 1; got != want {
				t.Fatalf("curated objects after re-run = %d, want %d (overwrite, never add)", got, want)
			}
			if !bytes.Equal(curated.objects[first.Key], firstBytes) {
				t.Fatal("re-run wrote different bytes")
			}
			if got, want := first.Rows, int64(6000); got != want {
				t.Fatalf("rows = %d, want %d", got, want)
			}
			if got, want := first.Duplicates, int64(4000); got != want {
				t.Fatalf("duplicates = %d, want %d", got, want)
			}
			rows := readRows(t, firstBytes)
			seen := map[string]bool{}
			for _, r := range rows {
				if seen[r.ID] {
					t.Fatalf("id %s written twice", r.ID)
				}
				seen[r.ID] = true
			}
			if got, want := len(seen), 6000; got != want {
				t.Fatalf("distinct ids in file = %d, want %d", got, want)
			}
		})
	}
}

func TestCompactOutputIndependentOfObjectOrder(t *testing.T) {
	a := ndjson(t, rec("x", 1, "eu-west-1"), rec("y", 2, "eu-west-1"))
	b := ndjson(t, rec("y", 2, "eu-west-1"), rec("x", 1, "eu-west-1"), rec("w", 0, "eu-west-1"))
	run := func(first, second []byte) []byte {
		raw := newMemBucket(rawBucket, map[string][]byte{"dt=2026-11-24/hr=07/1": first, "dt=2026-11-24/hr=07/2": second})
		curated := newMemBucket(curatedBucket, nil)
		res, err := newCompactor(t, raw, curated).Compact(context.Background(), hour)
		if err != nil {
			t.Fatal(err)
		}
		return curated.objects[res.Key]
	}
	if !bytes.Equal(run(a, b), run(b, a)) {
		t.Fatal("output depends on the order objects are listed in")
	}
}

func TestCompactWritesNoFile(t *testing.T) {
	tests := []struct {
		name    string
		objects map[string][]byte
		want    Result
	}{
		{"EmptyHour", nil, Result{Table: "raw", DT: "2026-11-24", HR: "07"}},
		{"OnlyMarkers", map[string][]byte{"dt=2026-11-24/hr=07/_SUCCESS": nil}, Result{Table: "raw", DT: "2026-11-24", HR: "07"}},
		{"OnlyCanaries", map[string][]byte{"dt=2026-11-24/hr=07/o.gz": gz(t, ndjson(t, canary("canary-a"), canary("canary-b")))},
			Result{Table: "raw", DT: "2026-11-24", HR: "07", Objects: 1, Records: 2, Canaries: 2}},
		{"EmptyObject", map[string][]byte{"dt=2026-11-24/hr=07/o.gz": gz(t, nil), "dt=2026-11-24/hr=07/p": {}},
			Result{Table: "raw", DT: "2026-11-24", HR: "07", Objects: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := newMemBucket(rawBucket, tt.objects)
			curated := newMemBucket(curatedBucket, nil)
			res, err := newCompactor(t, raw, curated).Compact(context.Background(), hour)
			if err != nil {
				t.Fatal(err)
			}
			if res != tt.want {
				t.Fatalf("result = %+v, want %+v", res, tt.want)
			}
			if got := curated.puts; got != 0 {
				t.Fatalf("puts = %d, want none", got)
			}
		})
	}
}

func TestCompactLinesAndWhitespace(t *testing.T) {
	// blank lines, a line longer than the read buffer (64 KiB), and a last
	// line with no newline are all fine
	r1, r2 := rec("a", 1, "eu-west-1"), rec("b", 2, "eu-west-1")
	r1.Data = json.RawMessage(`{"pad":"` + strings.Repeat("x", 70<<10) + `"}`)
	body := ndjson(t, r1)
	body = append(body, "\n  \n"...)
	body = append(body, bytes.TrimSuffix(ndjson(t, r2), []byte("\n"))...)
	raw := newMemBucket(rawBucket, map[string][]byte{"dt=2026-11-24/hr=07/o": body})
	curated := newMemBucket(curatedBucket, nil)
	res, err := newCompactor(t, raw, curated).Compact(context.Background(), hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Rows, int64(2); got != want {
		t.Fatalf("rows = %d, want %d", got, want)
	}
	if got, want := readRows(t, curated.objects[res.Key]), []Row{rowOf(r1), rowOf(r2)}; !reflect.DeepEqual(got, want) {
		t.Fatalf("rows = %+v, want %+v", got, want)
	}
}

func TestCompactCorruptDataFailsTheHour(t *testing.T) {
	good := ndjson(t, rec("a", 1, "eu-west-1"))
	truncated := gz(t, bytes.Repeat(good, 100))
	truncated = truncated[:len(truncated)/2]
	tests := []struct {
		name     string
		body     []byte
		wantInIt []string
	}{
		{"NotJSON", append(append([]byte{}, good...), "{not json\n"...), []string{"line 2"}},
		{"NotJSONInGzip", gz(t, append(append(append([]byte{}, good...), good...), "garbage\n"...)), []string{"line 3"}},
		{"NoID", append(append([]byte{}, good...), `{"ts":"2026-11-24T07:00:00Z","data":{}}`+"\n"...), []string{"line 2", "no id"}},
		{"DataNotObject", []byte(`{"id":"x","ts":"2026-11-24T07:00:00Z","received":"2026-11-24T07:00:00Z","data":[1]}` + "\n"), []string{"line 1", "not a JSON object"}},
		{"BadTimestamp", []byte(`{"id":"x","ts":"yesterday","data":{}}` + "\n"), []string{"line 1"}},
		{"TruncatedGzip", truncated, []string{"line"}},
		{"LineTooLong", append(append([]byte(`{"id":"x","data":{"pad":"`), bytes.Repeat([]byte("x"), maxLineBytes)...), "\"}}\n"...), []string{"line 1", "longer than"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "dt=2026-11-24/hr=07/obj-" + tt.name
			raw := newMemBucket(rawBucket, map[string][]byte{key: tt.body})
			curated := newMemBucket(curatedBucket, nil)
			_, err := newCompactor(t, raw, curated).Compact(context.Background(), hour)
			if err == nil {
				t.Fatal("Compact succeeded, want an error")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v lacks ErrCorrupt", err)
			}
			if got, want := fault.Classify(err), fault.Invalid; got != want {
				t.Fatalf("kind = %v, want %v", got, want)
			}
			for _, w := range append(tt.wantInIt, "s3://"+rawBucket+"/"+key) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if curated.puts != 0 {
				t.Fatal("a corrupt hour wrote a curated file")
			}
		})
	}
}

func TestCompactS3Errors(t *testing.T) {
	raw := newMemBucket(rawBucket, map[string][]byte{"dt=2026-11-24/hr=07/o": ndjson(t, rec("a", 1, "x"))})
	fake := raw.fake()
	// listed, then gone before it was read (a lifecycle rule, a manual delete)
	fake.GetObjectFn = func(context.Context, *s3GetInput) (*s3GetOutput, error) { return nil, errNoSuchKey }
	c := &Compactor{Raw: fake, Curated: newMemBucket(curatedBucket, nil).fake(), RawBucket: rawBucket, CuratedBucket: curatedBucket, TempDir: t.TempDir()}
	_, err := c.Compact(context.Background(), hour)
	if got, want := fault.Classify(err), fault.NotFound; got != want {
		t.Fatalf("kind of %v = %v, want %v", err, got, want)
	}
	if !strings.Contains(err.Error(), "s3://raw-bucket/dt=2026-11-24/hr=07/o") {
		t.Fatalf("error %q does not name the object", err)
	}

	fake = raw.fake()
	fake.ListObjectsV2Fn = func(context.Context, *s3ListInput) (*s3ListOutput, error) { return nil, errThrottled }
	c.Raw = fake
	if _, err := c.Compact(context.Background(), hour); fault.Classify(err) != fault.Transient {
		t.Fatalf("kind of %v = %v, want transient", err, fault.Classify(err))
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.Raw = raw.fake()
	if _, err := c.Compact(ctx, hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("error with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestCompactCleansUpTempDir(t *testing.T) {
	raw := newMemBucket(rawBucket, map[string][]byte{"dt=2026-11-24/hr=07/o": ndjson(t, rec("a", 1, "x"))})
	c := newCompactor(t, raw, newMemBucket(curatedBucket, nil))
	if _, err := c.Compact(context.Background(), hour); err != nil {
		t.Fatal(err)
	}
	left, err := os.ReadDir(c.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("temp dir holds %d entries after the run, want none (a warm Lambda reuses /tmp)", len(left))
	}
}

func TestInputValidate(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		ok   bool
	}{
		{"Valid", Input{Table: "raw", DT: "2026-11-24", HR: "07"}, true},
		{"DefaultTable", Input{DT: "2024-02-29", HR: "23"}, true},
		{"Hour00", Input{DT: "2026-01-01", HR: "00"}, true},
		{"UnknownTable", Input{Table: "curated", DT: "2026-11-24", HR: "07"}, false},
		{"NoDate", Input{HR: "07"}, false},
		{"ShortDate", Input{DT: "2026-1-24", HR: "07"}, false},
		{"NoSuchDay", Input{DT: "2026-02-30", HR: "07"}, false},
		{"NotLeapYear", Input{DT: "2025-02-29", HR: "07"}, false},
		{"DateWithTime", Input{DT: "2026-11-24T00:00:00Z", HR: "07"}, false},
		{"Hour24", Input{DT: "2026-11-24", HR: "24"}, false},
		{"OneDigitHour", Input{DT: "2026-11-24", HR: "7"}, false},
		{"NoHour", Input{DT: "2026-11-24"}, false},
		{"HourWithSlash", Input{DT: "2026-11-24", HR: "0/"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			err := in.Validate()
			if got := err == nil; got != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				var ie *fault.InvalidInputError
				if !errors.As(err, &ie) {
					t.Fatalf("error %T is not an InvalidInputError", err)
				}
				// the compactor never touches S3 for bad input
				c := &Compactor{Raw: &fakeS3{}, Curated: &fakeS3{}}
				if _, err := c.Compact(context.Background(), tt.in); !errors.As(err, &ie) {
					t.Fatalf("Compact error %v is not an InvalidInputError", err)
				}
			}
		})
	}
}

func TestInputGolden(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "compact-input.json"))
	if err != nil {
		t.Fatal(err)
	}
	var in Input
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatal(err)
	}
	if err := in.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := Key(in), "dt=2026-11-24/hr=07/part-00000.parquet"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

func TestBucketsFor(t *testing.T) {
	tests := []struct {
		size int64
		want int
	}{
		{0, 1}, {1, 1}, {spillTarget / gzipRatio, 1}, {spillTarget/gzipRatio + 1, 2},
		{100 << 20, 64}, {1 << 40, maxSpillFiles},
	}
	for _, tt := range tests {
		if got := bucketsFor(tt.size); got != tt.want {
			t.Errorf("bucketsFor(%d) = %d, want %d", tt.size, got, tt.want)
		}
	}
}

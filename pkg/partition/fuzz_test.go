package partition

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseKey checks, for any prefix and key, that ParseKey never panics
// and that a parsed partition's location starts with the table's location,
// has no "//", and is the folder the object sits in.
func FuzzParseKey(f *testing.F) {
	f.Add("", "dt=2024-03-05/hr=07/part-0.json.gz", false)
	f.Add("raw/", "raw/dt=2024-02-29/hr=23/a b+c ✓.json", false)
	f.Add("/legacy", "legacy/2024/03/05/07/stream-1-2024-03-05-07-00-00-abc.gz", true)
	f.Add("raw", "raw//dt=2024-03-05/hr=07/x", false)
	f.Add("raw", "raw/dt=2024-03-05/hr=07/", false)
	f.Add("", "2024/03/05/07//x", true)
	f.Fuzz(func(t *testing.T, prefix, key string, firehose bool) {
		tb := Table{Name: "t", Bucket: "pendulum-raw", Prefix: prefix, Layout: LayoutHive}
		if firehose {
			tb.Layout = LayoutFirehose
		}
		tb, err := tb.Normalize()
		if err != nil {
			return
		}
		p, ok, err := ParseKey(tb, key)
		if err != nil {
			if ok {
				t.Fatalf("ParseKey(%q) returned ok with error %v", key, err)
			}
			if !errors.Is(err, ErrBadKey) && !errors.Is(err, ErrOutsideTable) {
				t.Fatalf("ParseKey(%q) error %v is neither ErrBadKey nor ErrOutsideTable", key, err)
			}
			return
		}
		if !ok {
			return
		}
		loc := tb.PartitionLocation(p)
		if !strings.HasPrefix(loc, tb.Location()) {
			t.Fatalf("location %q does not start with table location %q", loc, tb.Location())
		}
		if strings.Contains(strings.TrimPrefix(loc, "s3://"), "//") {
			t.Fatalf("location %q contains //", loc)
		}
		if !strings.HasSuffix(loc, "/") {
			t.Fatalf("location %q is not a folder", loc)
		}
		if obj := "s3://" + tb.Bucket + "/" + key; !strings.HasPrefix(obj, loc) {
			t.Fatalf("object %q is not under its partition's location %q", obj, loc)
		}
		if len(p.DT) != 10 || len(p.HR) != 2 || !validDate(p.DT[0:4], p.DT[5:7], p.DT[8:10]) || !validHour(p.HR) {
			t.Fatalf("partition %+v is not a valid hour", p)
		}
	})
}

// FuzzParseObjects checks that no event body makes ParseObjects panic, and
// that every error it returns is ErrBadEvent.
func FuzzParseObjects(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b-1"},"object":{"key":"dt%3D2024-01-01/hr%3D00/a+b"}}}]}`))
	f.Add([]byte(`{"Service":"Amazon S3","Event":"s3:TestEvent"}`))
	f.Add([]byte(`{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b-1"},"object":{"key":"k%20"}}}`))
	f.Add([]byte(`{"Type":"Notification","Message":"{\"Type\":\"Notification\",\"Message\":\"{}\"}"}`))
	f.Add([]byte(`{"Records":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		objs, err := ParseObjects(body)
		if err != nil {
			if !errors.Is(err, ErrBadEvent) {
				t.Fatalf("error %v is not ErrBadEvent", err)
			}
			return
		}
		for _, o := range objs {
			if o.Bucket == "" || o.Key == "" {
				t.Fatalf("object %+v lacks bucket or key", o)
			}
		}
	})
}

package dr

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// oneObject is an ObjectSource holding one object's body.
type oneObject struct {
	ObjectSource
	body []byte
}

func (o oneObject) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(o.body))}, nil
}

func TestReadRawObjectLines(t *testing.T) {
	modified := time.Date(2026, 11, 25, 10, 7, 30, 0, time.UTC)
	rec := func(id string) string {
		return `{"id":"` + id + `","producer":"p","seq":1,"ts":"2026-11-25T10:05:00Z","received":"2026-11-25T10:05:01Z","data":{}}`
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	cases := []struct {
		name                string
		body                []byte
		ok                  bool
		entries, bad, canar int
	}{
		{name: "NDJSON", body: []byte(rec("a") + "\n" + rec("b") + "\n"), ok: true, entries: 2},
		{name: "NoFinalNewline", body: []byte(rec("a") + "\n" + rec("b")), ok: true, entries: 2},
		{name: "CRLFAndBlankLines", body: []byte(rec("a") + "\r\n\r\n  \n" + rec("b") + "\r\n"), ok: true, entries: 2},
		{name: "Gzip", body: gz(rec("a") + "\n" + rec("b") + "\n" + rec("c") + "\n"), ok: true, entries: 3},
		{name: "BadLineCounted", body: []byte(rec("a") + "\nnot json\n"), ok: true, entries: 1, bad: 1},
		{name: "Canary", body: []byte(`{"id":"c1","canary":true}` + "\n" + rec("a") + "\n"), ok: true, entries: 1, canar: 1},
		{name: "LineAtTheLimit", body: []byte(rec("a") + "\n" + strings.Repeat(" ", maxRawLine) + "\n"), ok: true, entries: 1},
		{name: "LineOverTheLimit", body: []byte(rec("a") + "\n" + strings.Repeat(" ", maxRawLine+1) + "\n"), ok: false},
		{name: "BadGzip", body: append([]byte{0x1f, 0x8b}, "garbage"...), ok: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, ok, err := readRawObject(context.Background(), oneObject{body: c.body}, "b", "k", modified)
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.ok {
				t.Fatalf("ok %t, want %t", ok, c.ok)
			}
			if !ok {
				return
			}
			if len(r.entries) != c.entries || r.badRecords != int64(c.bad) || r.canaries != int64(c.canar) {
				t.Fatalf("entries %d bad %d canaries %d, want %d %d %d", len(r.entries), r.badRecords, r.canaries, c.entries, c.bad, c.canar)
			}
		})
	}
}

// readBody reads a body whole whatever its stated length: exact, short,
// long or unknown, read a byte at a time or at once, and passes a read
// error on.
func TestReadBody(t *testing.T) {
	body := []byte(strings.Repeat("0123456789", 300))
	for _, n := range []int64{int64(len(body)), 1, int64(len(body)) - 1, int64(len(body)) + 7, 0, -1} {
		for name, r := range map[string]func() io.Reader{
			"whole":   func() io.Reader { return bytes.NewReader(body) },
			"bytwise": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(body)) },
		} {
			got, err := readBody(r(), n)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("length %d, %s: read %d bytes, %v; want the body's %d", n, name, len(got), err, len(body))
			}
		}
	}
	if _, err := readBody(iotest.TimeoutReader(bytes.NewReader(body)), int64(len(body))); err == nil {
		t.Fatal("a read error was not passed on")
	}
}

package compact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/record"
)

var lineSeeds = []string{
	`{"id":"a","ts":"2026-11-24T07:00:00Z","received":"2026-11-24T07:00:00.250Z","region":"eu-west-1","producer":"p","data":{"v":1}}`,
	`{"id":"canary-eu-west-1-1764000000","ts":"2026-11-24T07:00:00Z","received":"2026-11-24T07:00:00Z","region":"eu-west-1","canary":true,"data":{"canary":true}}`,
	` { "data" : { "a" : [1, "}", {"b":"\"]"}] } , "id" : "x" } `,
	`{"ID":"upper","data":{}}`,
	`{"id":"esc\u00e9aped","data":{}}`,
	`{"id":"dup","id":"dup2","canary":true,"canary":false,"data":[1],"data":{"x":null}}`,
	`{"id":"bad utf8 ` + "\xff" + `","data":{}}`,
	`{"id":"a","ts":null,"data":{}}`,
	`{"id":"a","ts":"2026-11-24 07:00:00","data":{}}`,
	`{"id":"a","ts":1764000000000,"data":{}}`,
	`{"id":"a","data":{"unterminated":`,
	`{"id":"a","data":{}} trailing`,
	`{"id":"a","extra":[1,2,{"k":"v"}],"data":{}}`,
	`{}`,
	`[]`,
	`null`,
	`{"id":"a","data":tru}`,
	`{"id":"a","data":{"n":1e999}}`,
	`{"id":"a","canary":"yes","data":{}}`,
}

// FuzzDecodeLine checks the fast line decoder against encoding/json: the
// same records accepted, with the same fields, and no panic on any input.
func FuzzDecodeLine(f *testing.F) {
	for _, s := range lineSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want record.Record
		wantErr := json.Unmarshal(b, &want)
		var l line
		var slow record.Record
		err := decodeLine(b, &l, &slow)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decodeLine error = %v, encoding/json error = %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if string(l.id) != want.ID || string(l.region) != want.Region || string(l.producer) != want.Producer ||
			!bytes.Equal(l.data, want.Data) || !l.ts.Equal(want.TS) || !l.received.Equal(want.Received) || l.canary != want.Canary {
			t.Fatalf("decodeLine = id %q region %q producer %q data %q ts %v received %v canary %v\nencoding/json = %+v",
				l.id, l.region, l.producer, l.data, l.ts, l.received, l.canary, want)
		}
	})
}

// FuzzCompactObject feeds arbitrary bytes as a raw object (plain or, when
// they start with the gzip magic, gzip): no panic; either a corrupt-data
// error or a consistent result whose file holds exactly Rows rows.
func FuzzCompactObject(f *testing.F) {
	for _, s := range lineSeeds {
		f.Add([]byte(s + "\n" + s + "\n"))
	}
	f.Add(gz(f, []byte(lineSeeds[0]+"\n"+lineSeeds[1]+"\n")))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Fuzz(func(t *testing.T, body []byte) {
		raw := newMemBucket(rawBucket, map[string][]byte{"dt=2026-11-24/hr=07/o": body})
		curated := newMemBucket(curatedBucket, nil)
		res, err := newCompactor(t, raw, curated).Compact(context.Background(), hour)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v is not about corrupt data", err)
			}
			return
		}
		if res.Rows+res.Duplicates+res.Canaries != res.Records {
			t.Fatalf("inconsistent result %+v", res)
		}
		if res.Rows == 0 {
			if curated.puts != 0 {
				t.Fatal("no rows but a file was written")
			}
			return
		}
		if got := int64(len(readRows(t, curated.objects[res.Key]))); got != res.Rows {
			t.Fatalf("file holds %d rows, result says %d", got, res.Rows)
		}
	})
}

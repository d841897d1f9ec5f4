package record

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzAppendJSONMatchesMarshal: for any id, producer, region, times (in any
// fixed zone), canary flag and data object, AppendJSON and an Encoder write
// exactly what json.Marshal does — or, where json.Marshal refuses (a time it
// cannot write as RFC 3339), refuse too. Data is given to them as
// json.Marshal would write it (compact, HTML-escaped); given as sent, it is
// kept verbatim and decodes back byte for byte.
func FuzzAppendJSONMatchesMarshal(f *testing.F) {
	f.Add("a-1", "p-7", "eu-west-1", int64(1764036000), int64(123456789), int64(1764036001), int64(0), "", 0, false, []byte(`{"a":1}`))
	f.Add("q\"b\\s\n\r\t\b\f\x01<>&\u2028\u2029é", "", "r", int64(0), int64(0), int64(0), int64(1), "CET", 3600, true, []byte(`{"canary":true}`))
	f.Add("bad\xffbyte", "p\xc3", "", int64(-62135596800), int64(0), int64(253402300799), int64(999999999), "X", -86399, false, []byte("{ \"s\" : \"<x>\\u2028\xe2\x80\xa8\" , \"n\":[1, 2e3,{\"k\":null}] }"))
	f.Add("y", "z", "r", int64(253402300800), int64(0), int64(0), int64(0), "", 0, false, []byte(`{}`))
	f.Add("y", "z", "r", int64(0), int64(0), int64(0), int64(0), "far", 86400, false, []byte(`{}`))
	f.Fuzz(func(t *testing.T, id, producer, region string, tsSec, tsNsec, recvSec, recvNsec int64, zone string, offset int, canary bool, data []byte) {
		data = bytes.TrimSpace(data) // json whitespace; a record's data starts at '{'
		if len(data) == 0 || data[0] != '{' || !json.Valid(data) {
			return
		}
		norm, err := json.Marshal(json.RawMessage(data))
		if err != nil {
			t.Fatalf("marshal valid data %q: %v", data, err)
		}
		loc := time.FixedZone(zone, offset)
		r := Record{
			ID:       id,
			TS:       time.Unix(tsSec, tsNsec).In(loc),
			Received: time.Unix(recvSec, recvNsec).UTC(),
			Region:   region,
			Producer: producer,
			Canary:   canary,
			Data:     norm,
		}
		want, werr := json.Marshal(&r)
		got, gerr := AppendJSON(nil, &r)
		var e Encoder
		fromEnc, eerr := e.Append(nil, &r)
		if werr != nil {
			if gerr == nil || eerr == nil {
				t.Fatalf("json.Marshal fails (%v) but AppendJSON wrote %s (err %v) and Encoder %s (err %v)", werr, got, gerr, fromEnc, eerr)
			}
			return
		}
		if gerr != nil || eerr != nil {
			t.Fatalf("AppendJSON: %v, Encoder: %v; json.Marshal wrote %s", gerr, eerr, want)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
		}
		if again, _ := e.Append(nil, &r); !bytes.Equal(fromEnc, want) || !bytes.Equal(again, want) {
			t.Fatalf("Encoder:\n got %s then %s\nwant %s", fromEnc, again, want)
		}
		r.Data = data
		line, err := AppendJSON(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(line)
		if err != nil {
			t.Fatalf("decode %s: %v", line, err)
		}
		if !bytes.Equal(back.Data, data) {
			t.Fatalf("data decodes to %q, want it verbatim %q", back.Data, data)
		}
	})
}

// FuzzAppendRFC3339Nano: the direct UTC formatter writes exactly what
// time.Time.AppendFormat(time.RFC3339Nano) writes, for every instant of the
// years 0000-9999 (and any zone, which takes the general path).
func FuzzAppendRFC3339Nano(f *testing.F) {
	f.Add(int64(0), int64(0), 0)
	f.Add(int64(1764036000), int64(123456789), 0)
	f.Add(int64(1764036000), int64(100000000), 0)
	f.Add(int64(-62135596800), int64(1), 0)         // 0001-01-01
	f.Add(int64(-62167219200), int64(0), 0)         // 0000-01-01
	f.Add(int64(-62162121600), int64(0), 0)         // 0000-02-29 (year 0 is leap)
	f.Add(int64(253402300799), int64(999999999), 0) // 9999-12-31T23:59:59.999999999
	f.Add(int64(951782400), int64(0), 0)            // 2000-02-29
	f.Add(int64(-1), int64(999999999), 0)
	f.Add(int64(1764036000), int64(0), 3600)
	f.Fuzz(func(t *testing.T, sec, nsec int64, offset int) {
		tm := time.Unix(sec, nsec).UTC()
		if offset != 0 {
			tm = tm.In(time.FixedZone("Z1", offset%(24*3600)))
		}
		if !timeInRange(tm) {
			return
		}
		want := tm.AppendFormat([]byte("x"), time.RFC3339Nano)
		if got := appendRFC3339Nano([]byte("x"), tm); !bytes.Equal(got, want) {
			t.Fatalf("%d.%09d: got %s, want %s", sec, nsec, got, want)
		}
	})
}

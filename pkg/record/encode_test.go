package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestAppendJSONMatchesMarshal(t *testing.T) {
	ts := time.Date(2026, 11, 25, 2, 31, 31, 123456789, time.UTC)
	recv := time.Date(2026, 11, 25, 2, 31, 32, 0, time.UTC)
	tests := []struct {
		name string
		r    Record
	}{
		{"Plain", Record{ID: "a-1", TS: ts, Received: recv, Region: "eu-west-1", Data: json.RawMessage(`{"a":1}`)}},
		{"ProducerAndCanary", Record{ID: "c", TS: ts, Received: recv, Region: "eu-west-1", Producer: "p-7", Canary: true, Data: json.RawMessage(`{"canary":true}`)}},
		{"EscapedID", Record{ID: "q\"b\\s\n\r\t\b\f\x01<>&\u2028\u2029é", TS: ts, Received: recv, Region: "r", Data: json.RawMessage(`{}`)}},
		{"InvalidUTF8ID", Record{ID: "bad\xffbyte", TS: ts, Received: recv, Region: "r", Data: json.RawMessage(`{"x":"y"}`)}},
		{"Offset2359", Record{ID: "o", TS: ts.In(time.FixedZone("", 24*60*60-1)), Received: recv.In(time.FixedZone("", -(24*60*60 - 60))), Region: "r", Data: json.RawMessage(`{}`)}},
		{"ZeroOffsetTime", Record{ID: "z", TS: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), Received: recv, Data: json.RawMessage(`{"n":[1,2,{"k":null}]}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(&tt.r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := AppendJSON(nil, &tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendJSON:\n got %s\nwant %s", got, want)
			}
		})
	}
}

func TestEncoderReusesTimes(t *testing.T) {
	recv := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	recs := []Record{
		{ID: "a", TS: recv, Received: recv, Region: "r", Data: json.RawMessage(`{}`)},
		{ID: "b", TS: recv.Add(-time.Second), Received: recv, Region: "r", Data: json.RawMessage(`{}`)},
		{ID: "c", TS: recv.In(paris), Received: recv, Region: "r", Data: json.RawMessage(`{}`)},
		{ID: "d", TS: recv, Received: recv.Add(time.Nanosecond), Region: "r", Data: json.RawMessage(`{}`)},
	}
	var e Encoder
	for _, r := range recs {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Append(nil, &r)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("record %s:\n got %s\nwant %s", r.ID, got, want)
		}
	}
}

func TestAppendJSONKeepsDataVerbatim(t *testing.T) {
	data := json.RawMessage("{ \"a\" : [ 1 , 2 ],\n \"b\":\"<x>\" }")
	r := Record{ID: "v", TS: time.Unix(1, 0).UTC(), Received: time.Unix(2, 0).UTC(), Region: "r", Data: data}
	line, err := AppendJSON([]byte("prefix"), &r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(line[:6]), "prefix"; got != want {
		t.Fatalf("prefix = %q, want %q", got, want)
	}
	back, err := Decode(append(line[6:], '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(back.Data), string(data); got != want {
		t.Fatalf("data = %q, want %q", got, want)
	}
	if got, want := back.ID, r.ID; got != want {
		t.Fatalf("id = %q, want %q", got, want)
	}
	if !back.TS.Equal(r.TS) || !back.Received.Equal(r.Received) {
		t.Fatalf("times = %v %v, want %v %v", back.TS, back.Received, r.TS, r.Received)
	}
}

func TestAppendJSONRejects(t *testing.T) {
	ok := time.Unix(0, 0).UTC()
	tests := []struct {
		name string
		r    Record
	}{
		{"YearAbove9999", Record{ID: "a", TS: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Received: ok, Data: json.RawMessage(`{}`)}},
		{"NegativeYear", Record{ID: "a", TS: ok, Received: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), Data: json.RawMessage(`{}`)}},
		{"EmptyData", Record{ID: "a", TS: ok, Received: ok}},
		{"ZoneOffset24h", Record{ID: "a", TS: ok.In(time.FixedZone("", 24*60*60)), Received: ok, Data: json.RawMessage(`{}`)}},
		{"ZoneOffsetMinus24h", Record{ID: "a", TS: ok, Received: ok.In(time.FixedZone("", -24*60*60)), Data: json.RawMessage(`{}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendJSON(nil, &tt.r)
			if err == nil {
				t.Fatalf("AppendJSON = %s, want an error", got)
			}
			if tt.name != "EmptyData" && !errors.Is(err, ErrTimeRange) {
				t.Fatalf("err = %v, want ErrTimeRange", err)
			}
		})
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	data := bytes.Repeat([]byte("x"), 2000)
	data = append(append([]byte(`{"payload":"`), data...), `"}`...)
	r := Record{ID: "producer-1-0000000001", TS: time.Now().UTC(), Received: time.Now().UTC(), Region: "eu-west-1", Producer: "producer-1", Data: data}
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		var err error
		buf, err = AppendJSON(buf[:0], &r)
		if err != nil {
			b.Fatal(err)
		}
	}
}

func TestAppendWithTSText(t *testing.T) {
	recv := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	for _, ts := range []time.Time{recv, recv.Add(-1500 * time.Millisecond), recv.Add(time.Nanosecond)} {
		r := Record{ID: "a", TS: ts, Received: recv, Region: "r", Data: json.RawMessage(`{}`)}
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		var e Encoder
		got, err := e.AppendWithTSText(nil, &r, []byte(ts.Format(time.RFC3339Nano)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("ts %v:\n got %s\nwant %s", ts, got, want)
		}
		if _, err := e.AppendWithTSText(nil, &Record{ID: "a", TS: ts, Received: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Data: r.Data}, []byte("x")); err != ErrTimeRange {
			t.Fatalf("received beyond 9999: err %v, want ErrTimeRange", err)
		}
	}
}

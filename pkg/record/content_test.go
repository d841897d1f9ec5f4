package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// compactHash is ContentHash's definition written the slow way: SHA-256
// of json.Compact's output.
func compactHash(t *testing.T, data []byte) string {
	t.Helper()
	var c bytes.Buffer
	if err := json.Compact(&c, data); err != nil {
		t.Fatalf("compact %q: %v", data, err)
	}
	sum := sha256.Sum256(c.Bytes())
	return hex.EncodeToString(sum[:])
}

func TestContentHash(t *testing.T) {
	same := []string{
		`{"id":"a","v":[1,2,{"k":"x y"}]}`,
		"{ \"id\" : \"a\" ,\n\t\"v\" : [ 1 , 2 , { \"k\" : \"x y\" } ] }\r\n",
	}
	want := compactHash(t, []byte(same[0]))
	for _, s := range same {
		if got := ContentHash([]byte(s)); got != want {
			t.Errorf("ContentHash(%q) = %s, want %s (whitespace between tokens does not count)", s, got, want)
		}
	}
	if got := string(AppendContentHash([]byte("h="), []byte(same[1]))); got != "h="+want {
		t.Errorf("AppendContentHash = %s", got)
	}
	if len(want) != ContentHashLen {
		t.Errorf("hash %q has %d characters, want %d", want, len(want), ContentHashLen)
	}
	// Each of these is other content than same[0].
	for _, s := range []string{
		`{"id":"a","v":[1,2,{"k":"xy"}]}`,       // whitespace inside a string counts
		`{"id":"a","v":[1,2,{"k":"x\u0020y"}]}`, // another escape of the same text
		`{"v":[1,2,{"k":"x y"}],"id":"a"}`,      // member order
		`{"id":"a","v":[1,2.0,{"k":"x y"}]}`,    // another spelling of a number
		`{"id":"a","v":[1,2,{"k":"x y\""}]}`,    // an escaped quote does not end the string
	} {
		if got := ContentHash([]byte(s)); got == want {
			t.Errorf("ContentHash(%q) equals that of %q", s, same[0])
		}
	}
}

// FuzzContentHash: for any valid JSON, ContentHash is the SHA-256 of
// json.Compact's output, and two texts have the same hash exactly when
// they compact to the same bytes.
func FuzzContentHash(f *testing.F) {
	f.Add([]byte(`{"a":1}`), []byte(`{ "a" : 1 }`))
	f.Add([]byte(`{"s":"a \" \\ b"}`), []byte(`{"s":"a \"\\ b"}`))
	f.Add([]byte("{\"s\":\"\\\\\" , \"t\":\"\\\"\"}"), []byte(`{"s":"\\","t":"\""}`))
	f.Add([]byte(`{"u":"\u00e9","e":"é"}`), []byte(`{"u":"é","e":"é"}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if !json.Valid(a) || !json.Valid(b) {
			return
		}
		ha, hb := ContentHash(a), ContentHash(b)
		if want := compactHash(t, a); ha != want {
			t.Fatalf("ContentHash(%q) = %s, want %s", a, ha, want)
		}
		var ca, cb bytes.Buffer
		_ = json.Compact(&ca, a)
		_ = json.Compact(&cb, b)
		if eq := bytes.Equal(ca.Bytes(), cb.Bytes()); (ha == hb) != eq {
			t.Fatalf("%q and %q: hashes equal %v, compact forms equal %v", a, b, ha == hb, eq)
		}
	})
}

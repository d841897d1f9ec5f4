package sim

import (
	"reflect"
	"strconv"
	"strings"
	"testing"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestDynamoDBPackRoundTrip(t *testing.T) {
	items := []ddbItem{
		{"pk": ddbS("R#a"), "sk": ddbS("R")},
		{
			"s":     ddbS("héllo"),
			"empty": ddbS(""),
			"n":     ddbN("-12.5e3"),
			"b":     &ddbtypes.AttributeValueMemberB{Value: []byte{0, 1, 0xff}},
			"t":     &ddbtypes.AttributeValueMemberBOOL{Value: true},
			"f":     &ddbtypes.AttributeValueMemberBOOL{Value: false},
			"null":  &ddbtypes.AttributeValueMemberNULL{Value: true},
			"ss":    &ddbtypes.AttributeValueMemberSS{Value: []string{"a", "b"}},
			"ns":    &ddbtypes.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
			"bs":    &ddbtypes.AttributeValueMemberBS{Value: [][]byte{{1}, {2, 3}}},
			"l": &ddbtypes.AttributeValueMemberL{Value: []ddbAV{ddbS("x"), ddbN("1"),
				&ddbtypes.AttributeValueMemberL{Value: []ddbAV{}},
				&ddbtypes.AttributeValueMemberM{Value: map[string]ddbAV{"k": ddbS("v")}}}},
			"m": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbAV{
				"inner": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbAV{}},
				"z":     ddbN("0"), "a": &ddbtypes.AttributeValueMemberBOOL{Value: true}}},
			// A name longer than a one-byte length.
			string(make([]byte, 300)): ddbS(string(make([]byte, 70000))),
		},
	}
	for i, item := range items {
		p := ddbPack(item, "")
		got := ddbUnpack(p)
		if !reflect.DeepEqual(got, item) {
			t.Fatalf("item %d: unpacked %#v, want %#v", i, got, item)
		}
		if ddbPack(got, "") != p {
			t.Fatalf("item %d: packing is not deterministic", i)
		}
		for name, want := range item {
			v, ok := ddbUnpackAttr(p, name)
			if !ok || !reflect.DeepEqual(v, want) {
				t.Fatalf("item %d: attribute %.10q = %#v, %t; want %#v", i, name, v, ok, want)
			}
		}
		if _, ok := ddbUnpackAttr(p, "absent"); ok {
			t.Fatalf("item %d: an absent attribute was found", i)
		}
	}
	if ddbUnpack("") != nil {
		t.Fatal(`ddbUnpack("") is not nil (a deleted item)`)
	}
}

// A reader's copy is its own: changing it changes nothing stored.
func TestDynamoDBPackCopiesAreIndependent(t *testing.T) {
	item := ddbItem{"b": &ddbtypes.AttributeValueMemberB{Value: []byte("abc")},
		"l": &ddbtypes.AttributeValueMemberL{Value: []ddbAV{ddbS("x")}}}
	p := ddbPack(item, "")
	a := ddbUnpack(p)
	a["b"].(*ddbtypes.AttributeValueMemberB).Value[0] = 'z'
	a["l"].(*ddbtypes.AttributeValueMemberL).Value[0] = ddbS("changed")
	a["new"] = ddbS("added")
	if got := ddbUnpack(p); !reflect.DeepEqual(got, item) {
		t.Fatalf("after changing a copy, the packed item reads %#v", got)
	}
}

// A record marker packs into well under half its attributes' text: names
// and recurring short values by reference, its content hash as bytes; its
// partition key, different for every marker, stays inline.
func TestDynamoDBPackMarkerIsCompact(t *testing.T) {
	marker := func(id string) ddbItem {
		return ddbItem{
			"pk": ddbS("R#" + id), "sk": ddbS("R"), "window": ddbS("2026-12-07T10:15Z"), "bytes": ddbN("117"),
			"region": ddbS("us-west-2"), "origin": ddbS("us-east-1"), "producer": ddbS("scale"),
			"at": ddbS("2026-12-07T10:15:42Z"), "expires": ddbN("1796037342"),
			"h": ddbS("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
		}
	}
	text := 0
	for k, v := range marker("scale-0000001") {
		text += len(k) + ddbAVSize(v)
	}
	p := ddbPack(marker("scale-0000001"), "pk")
	if len(p) > 110 || 2*len(p) > text {
		t.Fatalf("a marker of %d bytes of text packs into %d bytes", text, len(p))
	}
	if got := ddbUnpack(p); !reflect.DeepEqual(got, marker("scale-0000001")) {
		t.Fatalf("unpacked %#v", got)
	}
	// The partition key is not added to the dictionary.
	if packValues.holds("R#scale-0000001") {
		t.Fatal("the partition key was added to the dictionary")
	}
	// Strings that look almost hexadecimal stay text.
	for _, s := range []string{"9F86D081884C7D659A2FEAA0C55AD015", "9f86d081884c7d6", "9f86d081884c7d659", "9f86d081884c7d6g"} {
		item := ddbItem{"v": ddbS(s)}
		if got := ddbUnpack(ddbPack(item, "")); !reflect.DeepEqual(got, item) {
			t.Fatalf("%q unpacked as %#v", s, got)
		}
	}
}

// A full dictionary takes no more: values and names are then kept inline,
// and those it holds keep their indexes.
func TestDynamoDBPackDictionaryBound(t *testing.T) {
	d := &packDict{max: 100}
	for i := range 98 {
		d.lookup(strconv.Itoa(i))
	}
	a, okA := d.lookup("a")
	b, okB := d.lookup("b")
	if !okA || !okB || a == b {
		t.Fatalf("lookup a = %d, %t; b = %d, %t", a, okA, b, okB)
	}
	if _, ok := d.lookup("c"); ok {
		t.Fatal("a full dictionary took another string")
	}
	if i, ok := d.lookup("a"); !ok || i != a || d.at(a) != "a" || d.at(b) != "b" {
		t.Fatalf("after filling, lookup a = %d, %t; at(a) = %q", i, ok, d.at(a))
	}
	for i := range 98 {
		if j, ok := d.lookup(strconv.Itoa(i)); !ok || d.at(j) != strconv.Itoa(i) {
			t.Fatalf("lookup %d = %d, %t", i, j, ok)
		}
	}
}

// holds reports whether s is in d.
func (d *packDict) holds(s string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.frozen.Load(); m != nil {
		if _, ok := (*m)[s]; ok {
			return true
		}
	}
	_, ok := d.recent[s]
	return ok
}

// FuzzDynamoDBPack packs items of arbitrary names and string values, at
// the top level (where values may be kept by reference or as hex bytes)
// and nested in a map and a list, and reads them back unchanged.
func FuzzDynamoDBPack(f *testing.F) {
	f.Add("window", "2026-12-07T10:15Z", "pk")
	f.Add("h", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "")
	f.Add("h", "9F86D081884C7D659A2FEAA0C55AD015", "h")
	f.Add("", "", "")
	f.Add(string(make([]byte, 100)), "\x00\xff", "x")
	f.Fuzz(func(t *testing.T, name, value, unique string) {
		item := ddbItem{
			name: ddbS(value), "n": ddbN("12"),
			"m": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbAV{name: ddbS(value), "k": ddbN("1")}},
			"l": &ddbtypes.AttributeValueMemberL{Value: []ddbAV{ddbS(value), ddbN("2")}},
		}
		p := ddbPack(item, unique)
		got := ddbUnpack(p)
		if !reflect.DeepEqual(got, item) {
			t.Fatalf("unpacked %#v, want %#v", got, item)
		}
		if ddbPack(got, unique) != p {
			t.Fatal("packing the unpacked item gives another encoding")
		}
		if v, ok := ddbUnpackAttr(p, name); !ok || !reflect.DeepEqual(v, item[name]) {
			t.Fatalf("attribute %q = %#v, %t", name, v, ok)
		}
	})
}

// A page that reads only the attributes its projection and filter name
// selects and returns exactly what reading whole items does; a projection
// of a nested path, or an index's view, reads whole items.
func TestDynamoDBPageReadsOnlyWhatItNeeds(t *testing.T) {
	items := []ddbItem{
		{"pk": ddbS("R#a"), "sk": ddbN("1"), "a": ddbS("apple"), "b": ddbN("5"),
			"m": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{"x": ddbS("in")}},
			"l": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{ddbN("1"), ddbS("two")}},
			"h": ddbS("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")},
		{"pk": ddbS("R#b"), "sk": ddbN("2"), "a": ddbS("banana"), "b": ddbN("50")},
		{"pk": ddbS("W#c"), "sk": ddbN("3"), "b": ddbN("7"), "ss": &ddbtypes.AttributeValueMemberSS{Value: []string{"x", "y"}}},
		{"pk": ddbS("R#d"), "sk": ddbN("4")},
	}
	var packed []string
	for _, it := range items {
		packed = append(packed, ddbPack(it, "pk"))
	}
	vals := map[string]ddbAV{":p": ddbS("R#"), ":n": ddbN("6"), ":lo": ddbN("4"), ":hi": ddbN("8"), ":s": ddbS("apple"), ":t": ddbS("kiwi")}
	cases := []struct {
		proj, filter string
		only         bool
	}{
		{"pk, a", "", true},
		{"pk, a", "b > :n", true},
		{"pk, sk, #a", "begins_with(pk, :p) AND attribute_exists(m)", true},
		{"pk", "size(a) > :n OR a IN (:s, :t)", true},
		{"a, b", "NOT (b BETWEEN :lo AND :hi)", true},
		{"pk, h, ss", "attribute_not_exists(a)", true},
		{"pk, m.x", "", false},
		{"pk, l[1]", "b < :n", false},
		{"pk, nothing", "contains(a, :s)", true},
	}
	for _, tc := range cases {
		names := map[string]string{}
		if strings.Contains(tc.proj, "#a") {
			names["#a"] = "a"
		}
		var filter *string
		if tc.filter != "" {
			filter = &tc.filter
		}
		used := map[string]ddbAV{}
		for k, v := range vals {
			if strings.Contains(tc.filter, k) {
				used[k] = v
			}
		}
		page, _, err := ddbReadOpts(names, used, filter, &tc.proj, "", nil)
		if err != nil {
			t.Fatalf("%s / %s: %v", tc.proj, tc.filter, err)
		}
		if (page.only != nil) != tc.only {
			t.Fatalf("%s / %s: reads only %v, want only=%t", tc.proj, tc.filter, page.only, tc.only)
		}
		whole := *page
		whole.only, whole.own = nil, false
		page.picked, whole.picked = packed, packed
		page.read()
		whole.read()
		if page.selected != whole.selected || !reflect.DeepEqual(page.items, whole.items) {
			t.Fatalf("%s / %s: read %d items %v, reading whole items %d %v", tc.proj, tc.filter, page.selected, page.items, whole.selected, whole.items)
		}
	}
}

package sim

import (
	"reflect"
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
		p := ddbPack(item)
		got := ddbUnpack(p)
		if !reflect.DeepEqual(got, item) {
			t.Fatalf("item %d: unpacked %#v, want %#v", i, got, item)
		}
		if ddbPack(got) != p {
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
	p := ddbPack(item)
	a := ddbUnpack(p)
	a["b"].(*ddbtypes.AttributeValueMemberB).Value[0] = 'z'
	a["l"].(*ddbtypes.AttributeValueMemberL).Value[0] = ddbS("changed")
	a["new"] = ddbS("added")
	if got := ddbUnpack(p); !reflect.DeepEqual(got, item) {
		t.Fatalf("after changing a copy, the packed item reads %#v", got)
	}
}

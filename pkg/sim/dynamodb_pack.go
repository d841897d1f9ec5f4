package sim

import (
	"encoding/binary"
	"fmt"
	"sort"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A stored item is kept packed: its attributes, sorted by name, encoded
// into one string. An item map of attribute values costs some 80 bytes of
// map and pointers per attribute beside its data, and every pointer is
// work for the garbage collector; a table of a million record markers
// would hold most of a gigabyte that way. Packed, it holds about its data.
// Reads unpack a fresh copy, which callers may keep: stored items are
// never shared with them.
//
// The encoding: for each attribute, uvarint name length, name, then the
// value: a type byte, and for S, N and B uvarint length and bytes; BOOL one
// byte; NULL nothing; SS, NS and BS uvarint count and each as S, N, B; L
// uvarint count and each value; M uvarint count and each name and value.

const (
	packS byte = iota + 1
	packN
	packB
	packBOOL
	packNULL
	packSS
	packNS
	packBS
	packL
	packM
)

// ddbPack encodes item.
func ddbPack(item ddbItem) string {
	names := make([]string, 0, len(item))
	for k := range item {
		names = append(names, k)
	}
	sort.Strings(names)
	b := make([]byte, 0, 16*len(item)+ddbItemSize(item))
	for _, k := range names {
		b = packString(b, k)
		b = packValue(b, item[k])
	}
	return string(b)
}

func packString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func packBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func packValue(b []byte, v ddbAV) []byte {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return packString(append(b, packS), v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return packString(append(b, packN), v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return packBytes(append(b, packB), v.Value)
	case *ddbtypes.AttributeValueMemberBOOL:
		if v.Value {
			return append(b, packBOOL, 1)
		}
		return append(b, packBOOL, 0)
	case *ddbtypes.AttributeValueMemberNULL:
		return append(b, packNULL)
	case *ddbtypes.AttributeValueMemberSS:
		b = binary.AppendUvarint(append(b, packSS), uint64(len(v.Value)))
		for _, s := range v.Value {
			b = packString(b, s)
		}
		return b
	case *ddbtypes.AttributeValueMemberNS:
		b = binary.AppendUvarint(append(b, packNS), uint64(len(v.Value)))
		for _, s := range v.Value {
			b = packString(b, s)
		}
		return b
	case *ddbtypes.AttributeValueMemberBS:
		b = binary.AppendUvarint(append(b, packBS), uint64(len(v.Value)))
		for _, e := range v.Value {
			b = packBytes(b, e)
		}
		return b
	case *ddbtypes.AttributeValueMemberL:
		b = binary.AppendUvarint(append(b, packL), uint64(len(v.Value)))
		for _, e := range v.Value {
			b = packValue(b, e)
		}
		return b
	case *ddbtypes.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = binary.AppendUvarint(append(b, packM), uint64(len(keys)))
		for _, k := range keys {
			b = packValue(packString(b, k), v.Value[k])
		}
		return b
	}
	// Validation refuses any other value before an item is stored.
	panic(fmt.Sprintf("sim: cannot pack attribute value %T", v))
}

// ddbUnpack decodes a packed item into a fresh map.
func ddbUnpack(p string) ddbItem {
	if p == "" {
		return nil
	}
	u := unpacker{s: p}
	item := make(ddbItem, 12)
	for u.i < len(u.s) {
		k := u.str()
		item[k] = u.value()
	}
	return item
}

// ddbUnpackAttr decodes one attribute of a packed item, without the rest.
func ddbUnpackAttr(p, name string) (ddbAV, bool) {
	u := unpacker{s: p}
	for u.i < len(u.s) {
		k := u.str()
		if k == name {
			return u.value(), true
		}
		u.skip()
	}
	return nil, false
}

type unpacker struct {
	s string
	i int
}

func (u *unpacker) uvarint() int {
	var x uint64
	var shift uint
	for {
		c := u.s[u.i]
		u.i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return int(x)
		}
		shift += 7
	}
}

func (u *unpacker) str() string {
	n := u.uvarint()
	s := u.s[u.i : u.i+n]
	u.i += n
	return s
}

func (u *unpacker) value() ddbAV {
	t := u.s[u.i]
	u.i++
	switch t {
	case packS:
		return &ddbtypes.AttributeValueMemberS{Value: u.str()}
	case packN:
		return &ddbtypes.AttributeValueMemberN{Value: u.str()}
	case packB:
		return &ddbtypes.AttributeValueMemberB{Value: []byte(u.str())}
	case packBOOL:
		v := u.s[u.i] == 1
		u.i++
		return &ddbtypes.AttributeValueMemberBOOL{Value: v}
	case packNULL:
		return &ddbtypes.AttributeValueMemberNULL{Value: true}
	case packSS, packNS:
		n := u.uvarint()
		out := make([]string, n)
		for i := range out {
			out[i] = u.str()
		}
		if t == packSS {
			return &ddbtypes.AttributeValueMemberSS{Value: out}
		}
		return &ddbtypes.AttributeValueMemberNS{Value: out}
	case packBS:
		n := u.uvarint()
		out := make([][]byte, n)
		for i := range out {
			out[i] = []byte(u.str())
		}
		return &ddbtypes.AttributeValueMemberBS{Value: out}
	case packL:
		n := u.uvarint()
		out := make([]ddbAV, n)
		for i := range out {
			out[i] = u.value()
		}
		return &ddbtypes.AttributeValueMemberL{Value: out}
	case packM:
		n := u.uvarint()
		out := make(map[string]ddbAV, n)
		for range n {
			k := u.str()
			out[k] = u.value()
		}
		return &ddbtypes.AttributeValueMemberM{Value: out}
	}
	panic(fmt.Sprintf("sim: corrupt packed item: type byte %d", t))
}

// skip passes over one value.
func (u *unpacker) skip() {
	t := u.s[u.i]
	u.i++
	switch t {
	case packS, packN, packB:
		u.i += u.uvarint()
	case packBOOL:
		u.i++
	case packNULL:
	case packSS, packNS, packBS:
		for range u.uvarint() {
			u.i += u.uvarint()
		}
	case packL:
		for range u.uvarint() {
			u.skip()
		}
	case packM:
		for range u.uvarint() {
			u.i += u.uvarint()
			u.skip()
		}
	default:
		panic(fmt.Sprintf("sim: corrupt packed item: type byte %d", t))
	}
}

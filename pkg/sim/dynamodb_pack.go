package sim

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A stored item is kept packed: its attributes, sorted by name, encoded
// into one string. An item map of attribute values costs some 80 bytes of
// map and pointers per attribute beside its data, and every pointer is
// work for the garbage collector; a table of a million record markers
// would hold most of a gigabyte that way. Packed, it holds less than its
// data: attribute names and short string values that recur (a marker's
// region, window, producer, sort key) are kept once, in a process-wide
// dictionary, and referred to by number, and a hexadecimal string (a
// content hash) is kept as its bytes. A marker packs into under 100 bytes
// where its attributes' text is 230. Reads unpack a fresh copy, which
// callers may keep: stored items are never shared with them.
//
// The encoding: for each attribute, its name, then the value: a type
// byte, and for S, N and B uvarint length and bytes; for an S in the
// dictionary (packSRef) uvarint index; for an S of lowercase hexadecimal
// digits (packSHex) uvarint byte count and the bytes they spell; BOOL one
// byte; NULL nothing; SS, NS and BS uvarint count and each as S, N, B; L
// uvarint count and each value; M uvarint count and each name and value.
// A name is uvarint 2×length+0 and its bytes, or uvarint 2×index+1 for a
// name in the dictionary.
//
// The dictionary only grows, to packDictMax entries; a value packed
// inline because the dictionary was full stays inline ever after, so an
// item packs to the same string every time.

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
	packSRef
	packSHex
)

// packDictMax bounds each dictionary; packDictLen is the longest string
// value and packNameLen the longest name a dictionary keeps (longer ones
// rarely recur).
const (
	packDictMax = 1 << 16
	packDictLen = 24
	packNameLen = 64
)

// packDict is an append-only dictionary of strings, safe for concurrent
// use. Readers of a string take no lock (at reads the published slice,
// whose entries never change); a lookup reads a published map and takes
// the lock only for strings added since it was published, which join it
// in batches (each a quarter of the map or more, so copying stays linear
// in the dictionary's size).
type packDict struct {
	max    int
	vals   atomic.Pointer[[]string]
	frozen atomic.Pointer[map[string]int]
	full   atomic.Bool // every string is in frozen, and no more are taken

	mu     sync.Mutex
	recent map[string]int // added since frozen was published
}

// packNames holds attribute names, packValues short string values.
var packNames, packValues = &packDict{max: packDictMax}, &packDict{max: packDictMax}

// lookup returns s's index, adding s while there is room.
func (d *packDict) lookup(s string) (int, bool) {
	frozen := d.frozen.Load()
	if frozen != nil {
		if i, ok := (*frozen)[s]; ok {
			return i, true
		}
	}
	if d.full.Load() {
		return 0, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if i, ok := d.recent[s]; ok {
		return i, true
	}
	var vals []string
	if p := d.vals.Load(); p != nil {
		vals = *p
	}
	if len(vals) >= d.max {
		return 0, false
	}
	s = strings.Clone(s) // not a slice of a caller's larger string
	vals = append(vals, s)
	d.vals.Store(&vals)
	if d.recent == nil {
		d.recent = map[string]int{}
	}
	d.recent[s] = len(vals) - 1
	if len(vals) == d.max || 4*len(d.recent) >= len(vals) {
		m := make(map[string]int, len(vals))
		if frozen := d.frozen.Load(); frozen != nil {
			maps.Copy(m, *frozen)
		}
		maps.Copy(m, d.recent)
		d.frozen.Store(&m)
		d.recent = nil
		d.full.Store(len(vals) == d.max)
	}
	return len(vals) - 1, true
}

// at returns the string of index i.
func (d *packDict) at(i int) string {
	vals := *d.vals.Load()
	if i >= len(vals) {
		panic(fmt.Sprintf("sim: corrupt packed item: dictionary index %d of %d", i, len(vals)))
	}
	return vals[i]
}

// ddbPack encodes item. Values of attribute unique (a table's partition
// key, different for every item) are kept inline, not in the dictionary.
func ddbPack(item ddbItem, unique string) string {
	var nameArr [16]string
	names := nameArr[:0]
	for k := range item {
		names = append(names, k)
	}
	slices.Sort(names)
	buf := packBufs.Get().(*[]byte)
	b := (*buf)[:0]
	for _, k := range names {
		b = packName(b, k)
		if sv, ok := item[k].(*ddbtypes.AttributeValueMemberS); ok {
			b = packStringValue(b, sv.Value, k != unique)
			continue
		}
		b = packValue(b, item[k])
	}
	p := string(b)
	if cap(b) <= 64<<10 { // a rare large item's buffer is not kept
		*buf = b
		packBufs.Put(buf)
	}
	return p
}

// packBufs are ddbPack's scratch buffers: an item is encoded in one and
// copied out, one allocation of its packed size.
var packBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func packName(b []byte, name string) []byte {
	if len(name) <= packNameLen {
		if i, ok := packNames.lookup(name); ok {
			return binary.AppendUvarint(b, uint64(i)<<1|1)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(name))<<1)
	return append(b, name...)
}

// packStringValue encodes a top-level string value: by reference when share and it
// is short, as bytes when it is hexadecimal, else inline.
func packStringValue(b []byte, v string, share bool) []byte {
	if isLowerHex(v) {
		b = binary.AppendUvarint(append(b, packSHex), uint64(len(v)/2))
		for i := 0; i < len(v); i += 2 {
			b = append(b, unhex(v[i])<<4|unhex(v[i+1]))
		}
		return b
	}
	if share && len(v) <= packDictLen {
		if i, ok := packValues.lookup(v); ok {
			return binary.AppendUvarint(append(b, packSRef), uint64(i))
		}
	}
	return packString(append(b, packS), v)
}

const hexDigits = "0123456789abcdef"

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

// isLowerHex reports whether s is at least 16 lowercase hexadecimal
// digits, of even count: a hash or an identifier kept as text.
func isLowerHex(s string) bool {
	if len(s) < 16 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
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
			b = packValue(packName(b, k), v.Value[k])
		}
		return b
	}
	// Validation refuses any other value before an item is stored.
	panic(fmt.Sprintf("sim: cannot pack attribute value %T", v))
}

// ddbUnpack decodes a packed item into a fresh map.
func ddbUnpack(p string) ddbItem { return ddbUnpackOnly(p, nil) }

// ddbUnpackOnly decodes the attributes of a packed item that are in only
// (all of them when only is nil) into a fresh map, skipping the rest.
func ddbUnpackOnly(p string, only map[string]bool) ddbItem {
	if p == "" {
		return nil
	}
	// A first pass counts the attributes, and the strings and numbers
	// among them, whose values are then made in one block each: an item
	// costs three allocations and its map, not one per attribute.
	var n, ns, nn int
	for c := (unpacker{s: p}); c.i < len(c.s); {
		if k := c.name(); only == nil || only[k] {
			n++
			switch c.s[c.i] {
			case packS, packSRef, packSHex:
				ns++
			case packN:
				nn++
			}
		}
		c.skip()
	}
	u := unpacker{s: p}
	if ns > 0 {
		u.ss = make([]ddbtypes.AttributeValueMemberS, ns)
	}
	if nn > 0 {
		u.ns = make([]ddbtypes.AttributeValueMemberN, nn)
	}
	item := make(ddbItem, n)
	for u.i < len(u.s) {
		k := u.name()
		if only != nil && !only[k] {
			u.skip()
			continue
		}
		item[k] = u.value()
	}
	return item
}

// ddbUnpackAttr decodes one attribute of a packed item, without the rest.
func ddbUnpackAttr(p, name string) (ddbAV, bool) {
	u := unpacker{s: p}
	for u.i < len(u.s) {
		k := u.name()
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
	// ss and ns, when set, hold the string and number values to come
	// (ddbUnpack); values are taken from their fronts.
	ss []ddbtypes.AttributeValueMemberS
	ns []ddbtypes.AttributeValueMemberN
}

func (u *unpacker) newS(v string) *ddbtypes.AttributeValueMemberS {
	if a := takeFront(&u.ss); a != nil {
		a.Value = v
		return a
	}
	return &ddbtypes.AttributeValueMemberS{Value: v}
}

func (u *unpacker) newN(v string) *ddbtypes.AttributeValueMemberN {
	if a := takeFront(&u.ns); a != nil {
		a.Value = v
		return a
	}
	return &ddbtypes.AttributeValueMemberN{Value: v}
}

// takeFront removes the first element of *block and returns it, nil when
// *block is empty.
func takeFront[T any](block *[]T) *T {
	if len(*block) == 0 {
		return nil
	}
	a := &(*block)[0]
	*block = (*block)[1:]
	return a
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

func (u *unpacker) name() string {
	n := u.uvarint()
	if n&1 == 1 {
		return packNames.at(n >> 1)
	}
	l := n >> 1
	s := u.s[u.i : u.i+l]
	u.i += l
	return s
}

func (u *unpacker) value() ddbAV {
	t := u.s[u.i]
	u.i++
	switch t {
	case packS:
		return u.newS(u.str())
	case packSRef:
		return u.newS(packValues.at(u.uvarint()))
	case packSHex:
		n := u.uvarint()
		var v strings.Builder
		v.Grow(2 * n)
		for _, c := range []byte(u.s[u.i : u.i+n]) {
			v.WriteByte(hexDigits[c>>4])
			v.WriteByte(hexDigits[c&15])
		}
		u.i += n
		return u.newS(v.String())
	case packN:
		return u.newN(u.str())
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
			k := u.name()
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
	case packS, packN, packB, packSHex:
		u.i += u.uvarint()
	case packSRef:
		u.uvarint()
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
			u.name()
			u.skip()
		}
	default:
		panic(fmt.Sprintf("sim: corrupt packed item: type byte %d", t))
	}
}

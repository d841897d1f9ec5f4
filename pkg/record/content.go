package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
)

// ContentHashLen is the length of a ContentHash: 64 lowercase hex digits.
const ContentHashLen = 2 * sha256.Size

// ContentHash returns what identifies a record's content across requests,
// regions and stages: the SHA-256 of Data, the producer's JSON object as
// sent, with the whitespace between its tokens left out (space, tab, CR and
// LF outside strings: exactly what encoding/json.Compact removes), in
// lowercase hex.
//
// Two records have the same hash exactly when ingest's same-request test
// calls them the same content: the same JSON text, whitespace between tokens
// aside. Anything else — another value, another member order, another
// escape of the same character, another ts — is other content. What ingest
// adds around Data (the arrival time, the region, a producer named only by
// the request's header) is not hashed: it is not the producer's record.
//
// Ingest keeps the hash in its idempotency table under the record's id, and
// the aggregate consumer keeps it in the record's marker, so a later record
// with the same id is told apart as a redelivery (same hash) or a conflict
// (another hash). Data must be valid JSON for the hash to mean that; ingest
// has validated it.
func ContentHash(data []byte) string {
	var sum [sha256.Size]byte
	contentSum(data, &sum)
	return hex.EncodeToString(sum[:])
}

// AppendContentHash appends ContentHash(data) to dst.
func AppendContentHash(dst, data []byte) []byte {
	var sum [sha256.Size]byte
	contentSum(data, &sum)
	return hex.AppendEncode(dst, sum[:])
}

// contentSum hashes data without its insignificant whitespace, a run of
// significant bytes at a time, without copying data. Strings, where most
// of a record's bytes are, are crossed with bytes.IndexByte.
func contentSum(data []byte, sum *[sha256.Size]byte) {
	h := sha256.New()
	start := 0 // of the current run of significant bytes
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			i = stringEnd(data, i+1)
		case ' ', '\t', '\n', '\r':
			if start < i {
				h.Write(data[start:i])
			}
			start = i + 1
		}
	}
	if start < len(data) {
		h.Write(data[start:])
	}
	h.Sum(sum[:0])
}

// stringEnd returns the index of the quote that ends the string whose
// contents start at data[i] (len(data) if none does).
func stringEnd(data []byte, i int) int {
	for {
		q := bytes.IndexByte(data[i:], '"')
		if q < 0 {
			return len(data)
		}
		b := bytes.IndexByte(data[i:i+q], '\\')
		if b < 0 {
			return i + q
		}
		i += b + 2 // past the escape and the byte it escapes
		if i >= len(data) {
			return len(data)
		}
	}
}

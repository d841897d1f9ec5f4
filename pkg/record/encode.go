package record

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrTimeRange is returned by AppendJSON for a time RFC 3339 (and so
// encoding/json) cannot represent: outside the years 0000–9999, or in a zone
// offset of 24 hours or more.
var ErrTimeRange = errors.New("record: time outside years 0000-9999 or zone offset beyond ±23:59")

// AppendJSON appends the JSON encoding of r to dst, the bytes ingest writes
// to Kinesis (followed there by a newline, so that Firehose writes NDJSON).
//
// It produces exactly what json.Marshal(r) does — same member order, same
// string escaping, same time format — with one exception that exists for
// speed: Data is copied verbatim rather than re-compacted, so whitespace
// inside the producer's object is kept. Data must be valid JSON (ingest has
// validated it); json.Unmarshal of the result gives back r, Data byte for
// byte. It allocates nothing when dst has room.
func AppendJSON(dst []byte, r *Record) ([]byte, error) {
	var e *Encoder // no memory: format every time
	return e.Append(dst, r)
}

// Encoder is AppendJSON with a memory of the last TS and the last Received
// it formatted: the records of one ingest request share their Received time,
// and often their TS, so such a time is formatted once. The zero value is ready; an
// Encoder is not safe for concurrent use.
type Encoder struct {
	// Two memories, one per member: a record's TS and Received usually
	// differ, and one shared memory would format both on every record.
	ts, received timeMemory
}

// timeMemory is a time and its RFC 3339 form.
type timeMemory struct {
	t   time.Time
	rfc []byte
}

// Append is AppendJSON. A nil Encoder formats every time.
func (e *Encoder) Append(dst []byte, r *Record) ([]byte, error) {
	return e.AppendWithTSText(dst, r, nil)
}

// AppendWithTSText is Append writing tsText as r.TS when it is not empty,
// rather than formatting r.TS: ingest passes the producer's own ts when it
// has checked that the text is already exactly
// r.TS.Format(time.RFC3339Nano), which spares formatting a time per record.
// Any other text would make the output wrong; the caller vouches for it.
func (e *Encoder) AppendWithTSText(dst []byte, r *Record, tsText []byte) ([]byte, error) {
	if !timeInRange(r.TS) || !timeInRange(r.Received) {
		return dst, ErrTimeRange
	}
	if len(r.Data) == 0 {
		return dst, fmt.Errorf("record %q: empty data", r.ID)
	}
	dst = append(dst, `{"id":`...)
	dst = appendString(dst, r.ID)
	dst = append(dst, `,"ts":"`...)
	if len(tsText) > 0 {
		dst = append(dst, tsText...)
	} else {
		dst = e.appendTime(dst, r.TS, false)
	}
	dst = append(dst, `","received":"`...)
	dst = e.appendTime(dst, r.Received, true)
	dst = append(dst, `","region":`...)
	dst = appendString(dst, r.Region)
	if r.Producer != "" {
		dst = append(dst, `,"producer":`...)
		dst = appendString(dst, r.Producer)
	}
	if r.Canary {
		dst = append(dst, `,"canary":true`...)
	}
	dst = append(dst, `,"data":`...)
	dst = append(dst, r.Data...)
	dst = append(dst, '}')
	return dst, nil
}

func (e *Encoder) appendTime(dst []byte, t time.Time, received bool) []byte {
	if e == nil {
		return appendRFC3339Nano(dst, t)
	}
	m := &e.ts
	if received {
		m = &e.received
	}
	// == rather than Equal: the same instant in another location formats
	// differently.
	if t != m.t || m.rfc == nil {
		m.t = t
		m.rfc = appendRFC3339Nano(m.rfc[:0], t)
	}
	return append(dst, m.rfc...)
}

// appendRFC3339Nano is t.AppendFormat(dst, time.RFC3339Nano) for a time
// timeInRange accepts. UTC times, all ingest writes, take a direct path that
// is several times faster than the general formatter; others use it.
func appendRFC3339Nano(dst []byte, t time.Time) []byte {
	if t.Location() != time.UTC {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	dst = append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+hh/10), byte('0'+hh%10), ':',
		byte('0'+mm/10), byte('0'+mm%10), ':',
		byte('0'+ss/10), byte('0'+ss%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i > 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' { // RFC3339Nano drops trailing zeros
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	return append(dst, 'Z')
}

// Decode parses one encoded record (one NDJSON line; a trailing newline is
// allowed) as written by AppendJSON or json.Marshal.
func Decode(line []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return Record{}, fmt.Errorf("decode record: %w", err)
	}
	return r, nil
}

// timeInRange reports whether json.Marshal can write t: its year, in its own
// zone, has four digits and its offset's hours two (encoding/json refuses
// "+24:00" and beyond).
func timeInRange(t time.Time) bool {
	if t.Location() == time.UTC {
		// Cheaper than splitting out the year: the seconds of
		// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
		s := t.Unix()
		return s >= -62167219200 && s <= 253402300799
	}
	y := t.Year()
	_, off := t.Zone()
	return y >= 0 && y <= 9999 && off > -24*60*60 && off < 24*60*60
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string escaped as encoding/json escapes
// it (HTML-safe, invalid UTF-8 as U+FFFD, U+2028/U+2029 escaped).
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a closer look: ids,
		// regions and producer names are mostly plain ASCII.
		for i+8 <= len(s) && plainWord(s[i:i+8]) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		b := s[i]
		if b < utf8.RuneSelf {
			if htmlSafe(b) {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainWord reports whether the eight bytes of w are all bytes encoding/json
// writes as they are (htmlSafe). A byte below 0x20 sets its high bit in
// x-0x20, one at or above 0x80 in x, and one equal to c in (x^c)-0x01...;
// borrows between bytes only ever follow such a byte, so the test is exact.
func plainWord(w string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	m := (x - lo*0x20) | x |
		((x ^ lo*'"') - lo) | ((x ^ lo*'\\') - lo) |
		((x ^ lo*'<') - lo) | ((x ^ lo*'>') - lo) | ((x ^ lo*'&') - lo)
	return m&hi == 0
}

// htmlSafe reports whether encoding/json writes the ASCII byte b unescaped.
func htmlSafe(b byte) bool {
	return b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&'
}

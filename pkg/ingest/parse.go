package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/pendulum-dr/pendulum/pkg/record"
)

// Limits on a request to POST /records.
const (
	MaxBodyBytes     = 1 << 20 // a larger body is rejected whole
	MaxRecords       = 500     // records per request
	MaxProducerBytes = 128     // a producer name longer than this is rejected
	// MaxProblems bounds the problems listed in a 400 answer, so the answer
	// stays within the ALB's 1 MB response limit; a last entry counts the rest.
	MaxProblems = 500
)

// Kinesis PutRecords limits (per call), from the API reference.
const (
	maxPutRecords = 500
	maxPutBytes   = 5 << 20 // data plus partition keys
)

// maxEpochMillis is 9999-12-31T23:59:59.999Z, the last instant RFC 3339
// (and so the record encoding) can represent.
const maxEpochMillis = 253402300799999

// Meta is what ingest knows about a request besides its body.
type Meta struct {
	// Received is the arrival time (UTC): every record's Received, and its TS
	// when the record has no ts.
	Received time.Time
	// Region is the region of this ingest.
	Region string
	// Producer is the X-Pendulum-Producer header; a record's own "producer"
	// field wins over it.
	Producer string
}

// Problem is one reason a request was rejected.
type Problem struct {
	// Index is the 0-based position of the record in the body; absent for a
	// problem with the body as a whole.
	Index *int `json:"index,omitempty"`
	// Line is the 1-based line of an NDJSON record.
	Line int `json:"line,omitempty"`
	// Reason says what is wrong, for a human.
	Reason string `json:"reason"`
	// Status is StatusConflict for a record whose id is already held with
	// different content, by an earlier record of the same request or by a
	// record this region accepted earlier; absent for every other problem
	// (the record, or the body, is invalid).
	Status string `json:"status,omitempty"`
}

// StatusConflict is the Problem.Status of a conflicting record: its id was
// already taken by a record with different content, earlier in the same
// request (found by Parse) or by an earlier request this region accepted
// (found in the idempotency table). Resending it cannot succeed (every stage
// downstream keeps one record per id), so a producer sets it aside for a
// person, as it does an invalid record, rather than retry it.
const StatusConflict = "conflict"

// Parsed is a validated request body, ready for Kinesis.
type Parsed struct {
	// Records are the accepted records, in body order, each id once: a
	// record identical to an earlier one with its id (a redelivery within
	// the request) is not repeated.
	Records []record.Record
	// Data[i] is the Kinesis data of Records[i]: its JSON encoding and "\n".
	Data [][]byte
	// Duplicates counts the records of the body left out of Records as
	// identical copies of an earlier one: accepted, but written once.
	Duplicates int

	// pos[i] is where Records[i] is in the body; copies are the identical
	// copies left out, each with the record it copies. A literal Parsed
	// has neither, and a problem found later names none of its records.
	pos    []bodyPos
	copies []copyPos

	p *Parser // owner of reusable batch memory; nil for a literal Parsed
}

// bodyPos is a record's place in the body: its 0-based index and, in
// NDJSON, its 1-based line (0 in an array).
type bodyPos struct{ index, line int32 }

// copyPos is an identical copy left out of Parsed.Records: its place, and
// the index in Records of the record it copies.
type copyPos struct {
	bodyPos
	rec int32
}

// Parser parses request bodies, reusing its memory from one request to the
// next: a warm Lambda container serves one request at a time, so a pooled
// Parser spares the garbage collector a megabyte per request. The zero value
// is ready to use; a Parser is not safe for concurrent use.
type Parser struct {
	meta     Meta
	body     []byte
	recs     []record.Record
	problems []Problem
	dropped  int // problems beyond MaxProblems
	count    int // records seen, valid or not
	producer string
	enc      record.Encoder
	buf      []byte              // the encoded records
	data     [][]byte            // per-record slices of buf
	moved    bool                // buf moved while growing: data must be re-pointed
	unfit    []unfit             // records that cannot be encoded, reported last
	ids      strings.Builder     // this request's record ids; see keepID
	seen     map[string]firstUse // the ids accepted so far; see admit
	dups     int                 // identical redeliveries left out
	pos      []bodyPos           // where each of recs is in the body
	copies   []copyPos           // the identical redeliveries left out
	entries  []types.PutRecordsRequestEntry
	batches  []*kinesis.PutRecordsInput
	parsed   Parsed
}

// parser is the internal name of Parser's state.
type parser = Parser

// Parse parses and validates the body of POST /records: NDJSON (one JSON
// object per line, blank lines ignored) or one JSON array of objects. It
// returns the records ready for Kinesis, or every problem found (and no
// records): a request is accepted whole or not at all.
//
// Ids are unique among the records returned. A record whose id an earlier
// valid record of the body holds is, when the two are the same JSON text
// (whitespace aside), a redelivery: accepted, counted in Duplicates, not
// returned again. Otherwise it is a conflict, a problem with Status
// StatusConflict. Ids accepted by earlier requests are not known here; the
// Handler finds those in its idempotency table.
//
// Record i's Data aliases body, which must not change while the result is in
// use.
func Parse(body []byte, m Meta) (*Parsed, []Problem) {
	var p Parser
	return p.Parse(body, m)
}

// Parse is the package's Parse reusing p's memory. The result is valid until
// the next call.
func (p *Parser) Parse(body []byte, m Meta) (*Parsed, []Problem) {
	pr, problems, _ := p.parse(body, m)
	return pr, problems
}

// parse is Parse that also returns the number of records seen.
func (p *Parser) parse(body []byte, m Meta) (*Parsed, []Problem, int) {
	if len(body) > MaxBodyBytes {
		return nil, []Problem{{Reason: fmt.Sprintf("body is %d bytes; the limit is %d", len(body), MaxBodyBytes)}}, 0
	}
	p.reset(body, m)
	if len(m.Producer) > MaxProducerBytes {
		p.problem(-1, 0, fmt.Sprintf("producer header is %d bytes; the limit is %d", len(m.Producer), MaxProducerBytes))
	}
	i := skipSpace(body, 0)
	switch {
	case i == len(body):
		p.problem(-1, 0, "empty body: send NDJSON or a JSON array of records")
	case body[i] == '[':
		p.parseArray(i)
	default:
		p.parseLines()
	}
	if p.count > MaxRecords {
		p.problem(-1, 0, fmt.Sprintf("%d records; the limit is %d per request", p.count, MaxRecords))
	}
	p.finishEncoding()
	if len(p.problems) > 0 {
		if p.dropped > 0 {
			p.problems = append(p.problems, Problem{Reason: fmt.Sprintf("and %d more problems", p.dropped)})
		}
		return nil, p.problems, p.count
	}
	if p.count == 0 {
		return nil, []Problem{{Reason: "no records in body"}}, 0
	}
	p.parsed = Parsed{Records: p.recs, Data: p.data, Duplicates: p.dups, pos: p.pos, copies: p.copies, p: p}
	return &p.parsed, nil, p.count
}

func (p *Parser) reset(body []byte, m Meta) {
	p.meta, p.body, p.producer = m, body, m.Producer
	p.problems, p.dropped, p.count = nil, 0, 0
	clear(p.recs[:cap(p.recs)]) // drop references to the previous body
	if cap(p.recs) <= MaxRecords {
		// Size for this body; a warm Parser has room for any and skips this.
		if n := min(bytes.Count(body, []byte{'\n'})+1, MaxRecords+1); cap(p.recs) < n {
			p.recs = make([]record.Record, 0, n)
			p.data = make([][]byte, 0, n)
			p.pos = make([]bodyPos, 0, n)
		}
	}
	p.recs = p.recs[:0]
	// Room for the records and their envelopes, most often; encodeLast
	// grows the buffer when it is short.
	if size := len(body) + len(body)/4 + 1024; cap(p.buf) < size {
		p.buf = make([]byte, 0, size)
	}
	p.buf, p.data, p.moved, p.unfit = p.buf[:0], p.data[:0], false, p.unfit[:0]
	p.ids = strings.Builder{} // never reused: records may keep their ids
	clear(p.seen)             // keeps its room; drops the previous ids
	p.dups = 0
	p.pos, p.copies = p.pos[:0], p.copies[:0]
}

func (p *parser) problem(index, line int, reason string) {
	p.report(index, line, reason, "")
}

// report is problem with a Problem.Status.
func (p *parser) report(index, line int, reason, status string) {
	if len(p.problems) >= MaxProblems {
		p.dropped++
		return
	}
	pr := Problem{Line: line, Reason: reason, Status: status}
	if index >= 0 {
		pr.Index = &index
	}
	p.problems = append(p.problems, pr)
}

// firstUse is where an id was first accepted: the record's position in recs
// and in the body.
type firstUse struct{ rec, index int32 }

// admit decides what becomes of the valid record r (body position idx) given
// the records accepted before it: a new id is admitted (true); a copy of the
// record already holding its id is an idempotent redelivery, accepted but
// left out so that it is written once; a different record with a taken id is
// a conflict, reported and not written. Only ids within this request are
// known here: the handler checks ids accepted by earlier requests in the
// idempotency table (Handler.claims).
func (p *parser) admit(r *record.Record, idx, line int) bool {
	first, taken := p.seen[r.ID]
	if !taken {
		return true
	}
	if sameContent(p.recs[first.rec].Data, r.Data) {
		p.dups++
		p.copies = append(p.copies, copyPos{bodyPos: bodyPos{int32(idx), int32(line)}, rec: first.rec})
		return false
	}
	p.report(idx, line, fmt.Sprintf("conflict: id %q is already used in this request by record %d, whose content differs; this record was not written (every stage keeps one record per id)", clip(r.ID), first.index), StatusConflict)
	return false
}

// noteID records that the record just appended to recs (body position idx)
// holds its id.
func (p *parser) noteID(idx int) {
	if p.seen == nil {
		p.seen = make(map[string]firstUse)
	}
	p.seen[p.recs[len(p.recs)-1].ID] = firstUse{rec: int32(len(p.recs) - 1), index: int32(idx)}
}

// sameContent reports whether two records are the same JSON text, whitespace
// between tokens aside (a pretty-printed copy is still a copy). Anything else
// — other members, another order, other escapes — counts as different: a
// conflict is set aside for a person, where a wrong "same" would lose data.
func sameContent(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return false
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// controlChar returns the first control character (U+0000-U+001F, U+007F)
// in id, and whether there is one. The id becomes a Kinesis partition key
// and is logged and stored downstream, where an invisible character is
// trouble.
func controlChar(id string) (byte, bool) {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c == 0x7f {
			return c, true
		}
	}
	return 0, false
}

// controlReason is the problem of an id holding control character c.
func controlReason(c byte) string {
	return fmt.Sprintf("id contains the control character U+%04X; ids must not contain U+0000-U+001F or U+007F", c)
}

// parseLines parses NDJSON: each non-blank line is one record.
func (p *parser) parseLines() {
	b := p.body
	line := 0
	for pos := 0; pos < len(b); {
		line++
		end := pos + bytes.IndexByte(b[pos:], '\n')
		next := end + 1
		if end < pos {
			end, next = len(b), len(b)
		}
		raw := b[pos:end]
		for len(raw) > 0 && isSpace(raw[len(raw)-1]) {
			raw = raw[:len(raw)-1]
		}
		raw = raw[skipSpace(raw, 0):]
		pos = next
		if len(raw) == 0 {
			continue
		}
		idx := p.count
		p.count++
		if raw[0] != '{' {
			p.problem(idx, line, "record is not a JSON object")
			continue
		}
		n, err := p.record(raw, idx, line)
		if err == nil && n != len(raw) {
			err = errAt(n, "unexpected data after the record (one record per line)")
		}
		if err != nil {
			p.problem(idx, line, err.reason())
		}
	}
}

// parseArray parses a JSON array of records starting at body[i] == '['. A
// syntax error outside a record ends the scan: nothing after it can be
// located reliably.
func (p *parser) parseArray(i int) {
	b := p.body
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		i++
	} else {
		for {
			idx := p.count
			p.count++
			start := i
			var (
				end int
				err *syntaxError
			)
			if i < len(b) && b[i] == '{' {
				end, err = p.record(b[i:], idx, 0)
				end += start
				if err != nil {
					err.off += start
				}
			} else {
				end, err = scanValue(b, i, 0)
				if err == nil {
					p.problem(idx, 0, "record is not a JSON object")
				}
			}
			if err != nil {
				p.problem(idx, 0, err.reason())
				if !err.member {
					return
				}
			}
			i = skipSpace(b, end)
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == ']' {
				i++
				break
			}
			p.problem(-1, 0, errAt(i, "expected ',' or ']' after record %d", idx).Error())
			return
		}
	}
	if i = skipSpace(b, i); i != len(b) {
		p.problem(-1, 0, errAt(i, "unexpected data after the array").Error())
	}
}

// span is a byte range of a record; a zero end means absent.
type span struct{ start, end int }

// fields are the record members ingest interprets.
type fields struct {
	id, ts, producer, canary span
	idEscaped, tsEscaped     bool
	producerEscaped          bool
}

// record scans the object at raw[0] == '{' and, if it is valid JSON and its
// members are acceptable, appends it to p.recs. It returns the offset just
// past the object. A JSON syntax error is returned; a problem with a valid
// object's members is reported directly.
func (p *parser) record(raw []byte, idx, line int) (int, *syntaxError) {
	end, f, err := scanRecord(raw)
	if err != nil {
		return end, err
	}
	raw = raw[:end:end]
	r := record.Record{
		TS:       p.meta.Received,
		Received: p.meta.Received,
		Region:   p.meta.Region,
		Producer: p.meta.Producer,
		Data:     raw,
	}
	ok := true
	bad := func(reason string) {
		p.problem(idx, line, reason)
		ok = false
	}
	if len(raw) > record.MaxRecordBytes {
		bad(fmt.Sprintf("record is %d bytes; the limit is %d", len(raw), record.MaxRecordBytes))
	}
	if f.id.end > 0 && !isNull(raw, f.id) {
		if v := raw[f.id.start:f.id.end]; !f.idEscaped && v[0] == '"' {
			// The common case, an id without escapes: its bytes are the id.
			switch id := v[1 : len(v)-1]; {
			case len(id) == 0:
				bad("id is empty")
			case len(id) > record.MaxIDBytes:
				bad(fmt.Sprintf("id is %d bytes; the limit is %d", len(id), record.MaxIDBytes))
			case bytes.IndexByte(id, 0x7f) >= 0:
				// The scanner has refused raw bytes below 0x20 already.
				bad(controlReason(0x7f))
			default:
				r.ID = p.keepID(id)
			}
		} else if id, isStr := stringValue(raw, f.id, f.idEscaped); !isStr {
			bad("id is not a string")
		} else if f.idEscaped && unpairedSurrogate(raw[f.id.start:f.id.end]) {
			bad("id contains an unpaired UTF-16 surrogate escape")
		} else if id == "" {
			bad("id is empty")
		} else if len(id) > record.MaxIDBytes {
			bad(fmt.Sprintf("id is %d bytes; the limit is %d", len(id), record.MaxIDBytes))
		} else if c, has := controlChar(id); has {
			bad(controlReason(c))
		} else {
			r.ID = id
		}
	} else {
		var text [derivedIDLen]byte
		r.ID = p.keepID(appendDerivedID(text[:0], raw))
	}
	var tsText []byte // the ts as sent, when it is the encoding's own form
	if f.ts.end > 0 && !isNull(raw, f.ts) {
		if ts, text, reason := parseTS(raw, f.ts, f.tsEscaped); reason != "" {
			bad(reason)
		} else {
			r.TS, tsText = ts, text
		}
	}
	if f.producer.end > 0 && !isNull(raw, f.producer) {
		v := raw[f.producer.start:f.producer.end]
		switch {
		case !f.producerEscaped && len(v) >= 2 && v[0] == '"' && string(v[1:len(v)-1]) == p.producer:
			// The common case, a producer naming itself on every record:
			// share one string rather than allocate one per record.
			r.Producer = p.producer
		default:
			if prod, isStr := stringValue(raw, f.producer, f.producerEscaped); !isStr {
				bad("producer is not a string")
			} else if f.producerEscaped && unpairedSurrogate(raw[f.producer.start:f.producer.end]) {
				bad("producer contains an unpaired UTF-16 surrogate escape")
			} else if len(prod) > MaxProducerBytes {
				bad(fmt.Sprintf("producer is %d bytes; the limit is %d", len(prod), MaxProducerBytes))
			} else {
				p.producer = prod // for the next record's comparison
				r.Producer = prod
			}
		}
	}
	if f.canary.end > 0 && !isNull(raw, f.canary) {
		switch string(raw[f.canary.start:f.canary.end]) {
		case "true":
			r.Canary = true
		case "false":
		default:
			bad("canary is not a boolean")
		}
	}
	if ok && p.admit(&r, idx, line) {
		p.recs = append(p.recs, r)
		p.pos = append(p.pos, bodyPos{int32(idx), int32(line)})
		unfit := len(p.unfit)
		p.encodeLast(idx, line, tsText)
		if len(p.unfit) == unfit {
			p.noteID(idx)
		}
	}
	return end, nil
}

// encodeLast encodes the record just accepted into the shared buffer and
// sets its Kinesis data. Encoding it now, rather than in a pass after the
// whole body, copies its bytes while they are still in the CPU's cache. A
// record too large once encoded is noted for finishEncoding, which reports
// it where a separate pass would have: after every other problem.
func (p *Parser) encodeLast(idx, line int, tsText []byte) {
	buf := p.buf
	start := len(buf)
	buf, err := p.enc.AppendWithTSText(buf, &p.recs[len(p.recs)-1], tsText)
	if err != nil {
		p.unfit = append(p.unfit, unfit{idx, line, "cannot encode record: " + err.Error()})
		buf = buf[:start]
	} else if n := len(buf) + 1 - start; n > record.MaxRecordBytes {
		p.unfit = append(p.unfit, unfit{idx, line, fmt.Sprintf("record is %d bytes once encoded; the limit is %d", n, record.MaxRecordBytes)})
		buf = buf[:start]
	} else {
		buf = append(buf, '\n')
	}
	if cap(buf) != cap(p.buf) {
		p.moved = true
	}
	p.buf = buf
	p.data = append(p.data, buf[start:len(buf):len(buf)])
}

// unfit is a record that cannot be encoded: its body position and why.
type unfit struct {
	index, line int
	reason      string
}

// finishEncoding reports the records that could not be encoded and, when
// the buffer moved while growing, points every record's data at the final
// buffer (same offsets: the records lie back to back).
func (p *Parser) finishEncoding() {
	for _, u := range p.unfit {
		p.problem(u.index, u.line, u.reason)
	}
	if len(p.problems) > 0 || !p.moved {
		return
	}
	off := 0
	for i := range p.data {
		n := len(p.data[i])
		p.data[i] = p.buf[off : off+n : off+n]
		off += n
	}
}

// Batches splits the records into PutRecords calls within the API limits,
// each record's partition key being its id (so a resent record lands on the
// same shard as its first copy).
func (pr *Parsed) Batches(stream string) []*kinesis.PutRecordsInput {
	var entries []types.PutRecordsRequestEntry
	var out []*kinesis.PutRecordsInput
	if pr.p != nil {
		entries, out = pr.p.entries[:0], pr.p.batches[:0]
	}
	if cap(entries) < len(pr.Records) {
		entries = make([]types.PutRecordsRequestEntry, 0, len(pr.Records))
	}
	var (
		cur   *kinesis.PutRecordsInput
		start int
		bytes int
	)
	for i := range pr.Records {
		n := len(pr.Data[i]) + len(pr.Records[i].ID)
		if cur == nil || len(entries)-start == maxPutRecords || bytes+n > maxPutBytes {
			if cur != nil {
				cur.Records = entries[start:len(entries):len(entries)]
			}
			cur = &kinesis.PutRecordsInput{StreamName: &stream}
			out = append(out, cur)
			start, bytes = len(entries), 0
		}
		entries = append(entries, types.PutRecordsRequestEntry{Data: pr.Data[i], PartitionKey: &pr.Records[i].ID})
		bytes += n
	}
	if cur != nil {
		cur.Records = entries[start:len(entries):len(entries)]
	}
	if pr.p != nil {
		pr.p.entries, pr.p.batches = entries, out
	}
	return out
}

// DeriveID returns the id of a record sent without one: a hash of its bytes
// exactly as sent (surrounding whitespace aside), so a resent copy gets the
// same id and is de-duplicated downstream. Two records with identical bytes
// are, by this definition, the same record.
func DeriveID(raw []byte) string {
	var buf [derivedIDLen]byte
	return string(appendDerivedID(buf[:0], raw))
}

// derivedIDLen is the length of a derived id: "h-" and 32 hex digits.
const derivedIDLen = 2 + 32

// appendDerivedID appends DeriveID(raw) to dst.
func appendDerivedID(dst, raw []byte) []byte {
	sum := sha256.Sum256(raw)
	dst = append(dst, "h-"...)
	return hex.AppendEncode(dst, sum[:16])
}

// keepID returns id as a string held in the request's block of ids: one
// allocation for the ids of a whole request rather than one per record. A
// strings.Builder only ever appends, so the strings it has handed out stay
// unchanged; a new Builder per request (reset) keeps one request's ids from
// sharing memory with the next, whose Parser outlives them.
func (p *Parser) keepID(id []byte) string {
	if p.ids.Cap() == 0 {
		// Room for a full request's derived ids, or less for a small body.
		p.ids.Grow(min(len(p.body), (MaxRecords+1)*derivedIDLen))
	}
	start := p.ids.Len()
	p.ids.Write(id)
	return p.ids.String()[start:]
}

// clip shortens a value quoted in a problem, so that 500 problems stay far
// below the ALB's 1 MB answer limit whatever the records hold.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isNull(raw []byte, s span) bool { return string(raw[s.start:s.end]) == "null" }

// stringValue returns the JSON string at s, unescaped, and whether it is a
// string at all.
func stringValue(raw []byte, s span, escaped bool) (string, bool) {
	v := raw[s.start:s.end]
	if v[0] != '"' {
		return "", false
	}
	if !escaped {
		return string(v[1 : len(v)-1]), true
	}
	var out string
	if err := json.Unmarshal(v, &out); err != nil {
		return "", false
	}
	return out, true
}

// unpairedSurrogate reports whether the JSON string v (quotes included, its
// escapes already checked by the scanner) holds a \uD800-\uDFFF escape that
// is not half of a high-low pair. Decoding turns each such escape into
// U+FFFD, so "\ud800" and "\udc00" would become the same id and idempotent
// stages downstream would drop one of the two records.
func unpairedSurrogate(v []byte) bool {
	for i := 1; i < len(v)-1; i++ {
		if v[i] != '\\' {
			continue
		}
		if v[i+1] != 'u' {
			i++ // skip the escaped character, which may be a backslash
			continue
		}
		r := hex4(v[i+2 : i+6])
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true // a low half with no high half before it
		case r >= 0xD800 && r <= 0xDBFF:
			if i+12 > len(v) || v[i+6] != '\\' || v[i+7] != 'u' {
				return true
			}
			if lo := hex4(v[i+8 : i+12]); lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11 // the pair
		default:
			i += 5
		}
	}
	return false
}

// hex4 decodes four hex digits (checked by the scanner).
func hex4(h []byte) rune {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// parseTS parses ts: an RFC 3339 string or an integer of epoch milliseconds.
// It returns a reason when the value is not acceptable, and the ts text when
// it is exactly what the record encoding writes for the time (see
// canonicalUTC), so that the encoder can copy it rather than format it.
func parseTS(raw []byte, s span, escaped bool) (time.Time, []byte, string) {
	v := raw[s.start:s.end]
	if v[0] == '"' {
		if !escaped {
			if t, ok := parseUTC(v[1 : len(v)-1]); ok {
				if canonicalUTC(v[1 : len(v)-1]) {
					return t, v[1 : len(v)-1], ""
				}
				return t, nil, ""
			}
		}
		var t time.Time
		// UnmarshalText parses RFC 3339 strictly and, unlike time.Parse,
		// without copying the bytes into a string.
		if escaped || t.UnmarshalText(v[1:len(v)-1]) != nil {
			str, _ := stringValue(raw, s, escaped)
			var err error
			if t, err = time.Parse(time.RFC3339Nano, str); err != nil {
				return time.Time{}, nil, fmt.Sprintf("ts %q is not RFC 3339", clip(str))
			}
		}
		t = t.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return time.Time{}, nil, fmt.Sprintf("ts %s is outside years 0000-9999", clip(string(v)))
		}
		return t, nil, ""
	}
	var ms int64
	for _, c := range v {
		if !isDigit(c) {
			return time.Time{}, nil, fmt.Sprintf("ts %s is neither RFC 3339 nor non-negative integer epoch milliseconds", clip(string(v)))
		}
		ms = ms*10 + int64(c-'0')
		if ms > maxEpochMillis {
			return time.Time{}, nil, fmt.Sprintf("ts %s is beyond year 9999 in epoch milliseconds", clip(string(v)))
		}
	}
	return time.UnixMilli(ms).UTC(), nil, ""
}

// parseUTC parses the common form of ts, "YYYY-MM-DDTHH:MM:SS[.F]Z" with one
// to nine fraction digits, as time.Time.UnmarshalText does (the same
// acceptance, the same Time), several times faster. It reports false for
// anything else, which parseTS then leaves to UnmarshalText.
func parseUTC(s []byte) (time.Time, bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[len(s)-1] != 'Z' ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	ok := true
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if !isDigit(c) {
				ok = false
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(s[0:4]), num(s[5:7]), num(s[8:10])
	hour, minute, sec := num(s[11:13]), num(s[14:16]), num(s[17:19])
	nsec := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if len(frac) < 2 || len(frac) > 10 || frac[0] != '.' {
			return time.Time{}, false
		}
		nsec = num(frac[1:])
		for range 10 - len(frac) {
			nsec *= 10
		}
	}
	if !ok || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // time.Date carried a day past the month's end
		return time.Time{}, false
	}
	return t, true
}

// canonicalUTC reports whether s, a ts parseUTC accepts, is already the
// RFC3339Nano form of its time, byte for byte: parseUTC takes only
// "YYYY-MM-DDTHH:MM:SS[.F]Z" with fields in range, which RFC3339Nano writes
// the same way, zero-padded; it writes the fraction with its trailing zeros
// dropped (and none at all when it is zero), so s is canonical when its
// fraction is absent or ends in a non-zero digit.
func canonicalUTC(s []byte) bool {
	return len(s) == len("2006-01-02T15:04:05Z") || s[len(s)-2] != '0'
}

// scanRecord scans the object at raw[0] == '{', noting the members ingest
// interprets. A duplicate of one of them is an error (which copy counts
// would otherwise depend on the reader), returned with the object's true end
// so that the records after it can still be checked.
func scanRecord(raw []byte) (int, fields, *syntaxError) {
	var (
		f   fields
		dup *syntaxError // a duplicate: valid JSON, so scanning goes on
	)
	i := skipSpace(raw, 1)
	if i < len(raw) && raw[i] == '}' {
		return i + 1, f, nil
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return i, f, errAt(i, "expected a member name")
		}
		keyStart := i
		end, keyEscaped, err := scanString(raw, i)
		if err != nil {
			return end, f, err
		}
		key := raw[keyStart+1 : end-1]
		if keyEscaped {
			var k string
			if json.Unmarshal(raw[keyStart:end], &k) == nil {
				key = []byte(k)
			}
		}
		i = skipSpace(raw, end)
		if i >= len(raw) || raw[i] != ':' {
			return i, f, errAt(i, "expected ':'")
		}
		i = skipSpace(raw, i+1)
		valStart := i
		var valEscaped bool
		if i < len(raw) && raw[i] == '"' {
			i, valEscaped, err = scanString(raw, i)
		} else {
			i, err = scanValue(raw, i, 1)
		}
		if err != nil {
			return i, f, err
		}
		var dst *span
		switch string(key) {
		case "id":
			dst, f.idEscaped = &f.id, valEscaped
		case "ts":
			dst, f.tsEscaped = &f.ts, valEscaped
		case "producer":
			dst, f.producerEscaped = &f.producer, valEscaped
		case "canary":
			dst = &f.canary
		}
		if dst != nil {
			if dst.end > 0 {
				if dup == nil { // reported once the object is scanned
					dup = errAt(keyStart, "duplicate member %q", key)
					dup.member = true
				}
			} else {
				*dst = span{valStart, i}
			}
		}
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return i, f, errAt(i, "unterminated object")
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case '}':
			if dup != nil {
				return i + 1, f, dup
			}
			return i + 1, f, nil
		default:
			return i, f, errAt(i, "expected ',' or '}'")
		}
	}
}

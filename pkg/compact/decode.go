package compact

import (
	"encoding/json"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/pendulum-dr/pendulum/pkg/record"
)

// line is one decoded raw record. Its byte slices point into the line they
// were decoded from (or into a record the slow path decoded), so they are
// valid only until the next line is read.
type line struct {
	id, region, producer, data []byte
	ts, received               time.Time
	canary                     bool
}

// errSlowPath sends a line the fast decoder does not handle to
// encoding/json.
var errSlowPath = errors.New("needs the general decoder")

// decodeLine decodes one NDJSON line into l with exactly encoding/json's
// result for record.Record. Lines in the shape ingest writes (lower-case
// keys, strings without escapes, valid UTF-8) take a fast path that copies
// nothing; anything else, including every malformed line, goes through
// json.Unmarshal, whose error then describes the problem. FuzzDecodeLine
// checks the two paths agree.
func decodeLine(b []byte, l *line, slow *record.Record) error {
	*l = line{}
	if err := decodeFast(b, l); err == nil {
		return nil
	}
	*slow = record.Record{}
	if err := json.Unmarshal(b, slow); err != nil {
		return err
	}
	*l = line{
		id: []byte(slow.ID), region: []byte(slow.Region), producer: []byte(slow.Producer), data: slow.Data,
		ts: slow.TS, received: slow.Received, canary: slow.Canary,
	}
	return nil
}

func decodeFast(b []byte, l *line) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errSlowPath
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return finishObject(b, i+1)
	}
	for {
		key, j, ok := plainString(b, i)
		if !ok {
			return errSlowPath
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return errSlowPath
		}
		i = skipWS(b, i+1)
		var err error
		switch string(key) {
		case "id":
			l.id, i, ok = plainString(b, i)
		case "region":
			l.region, i, ok = plainString(b, i)
		case "producer":
			l.producer, i, ok = plainString(b, i)
		case "ts":
			i, err = timeValue(b, i, &l.ts)
			ok = err == nil
		case "received":
			i, err = timeValue(b, i, &l.received)
			ok = err == nil
		case "canary":
			l.canary, i, ok = boolValue(b, i)
		case "data":
			var end int
			end, ok = valueEnd(b, i)
			if ok && json.Valid(b[i:end]) {
				l.data, i = b[i:end], end
			} else {
				ok = false
			}
		default:
			// Another key might match a field case-insensitively, as
			// encoding/json does: leave it to encoding/json.
			ok = false
		}
		if !ok {
			return errSlowPath
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return errSlowPath
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			return finishObject(b, i+1)
		default:
			return errSlowPath
		}
	}
}

func finishObject(b []byte, i int) error {
	if skipWS(b, i) != len(b) {
		return errSlowPath
	}
	return nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// plainString reads a JSON string with no escapes and no control
// characters, in valid UTF-8 (encoding/json would replace invalid bytes),
// returning its contents and the index after the closing quote.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	ascii := true
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		switch {
		case c == '"':
			s := b[i+1 : j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, 0, false
}

// timeValue decodes a JSON string with time.Time's own UnmarshalJSON, the
// one encoding/json calls.
func timeValue(b []byte, i int, t *time.Time) (int, error) {
	_, end, ok := plainString(b, i)
	if !ok {
		return 0, errSlowPath
	}
	if err := t.UnmarshalJSON(b[i:end]); err != nil {
		return 0, err
	}
	return end, nil
}

func boolValue(b []byte, i int) (bool, int, bool) {
	switch {
	case len(b)-i >= 4 && string(b[i:i+4]) == "true":
		return true, i + 4, true
	case len(b)-i >= 5 && string(b[i:i+5]) == "false":
		return false, i + 5, true
	}
	return false, 0, false
}

// valueEnd finds the end of the JSON value starting at i by matching
// brackets outside strings. It does not validate: the caller runs
// json.Valid over the span.
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			case '"':
				k, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = k - 1
			}
		}
		return 0, false
	case '"':
		return stringEnd(b, i)
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
			j++
		}
		return j, j > i
	}
}

// stringEnd returns the index after the string starting at b[i] == '"'.
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

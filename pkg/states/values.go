package states

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/pendulum-dr/pendulum/pkg/states/internal/jsonvalue"
)

// marshal encodes a JSON value (what a UseNumber decoder produces, plus
// float64 and int) exactly as encoding/json.Marshal does, but without
// reflection: every state transition encodes its output for the history
// and the payload limit, so this is on the hot path. Anything unusual is
// handed to encoding/json.
func marshal(v any) ([]byte, error) {
	return appendJSON(make([]byte, 0, 64), v)
}

func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case string:
		return appendString(b, x), nil
	case json.Number:
		// The strict grammar first: json.Valid runs a whole scanner (and
		// also takes white space around a number, which is kept as it was).
		if !jsonvalue.IsNumberLiteral(string(x)) && (x == "" || !json.Valid([]byte(x)) || x[0] == '"') {
			return appendFallback(b, v)
		}
		return append(b, x...), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		// Small objects, the usual case, sort their keys on the stack.
		var small [8]string
		keys := small[:0]
		if len(x) > len(small) {
			keys = make([]string, 0, len(x))
		}
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	}
	return appendFallback(b, v)
}

func appendFallback(b []byte, v any) ([]byte, error) {
	e, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, e...), nil
}

// appendString quotes s; strings with anything encoding/json would escape
// (quotes, backslashes, control characters, <, >, &, non-ASCII) go through
// encoding/json so the bytes are identical.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			e, _ := json.Marshal(s)
			return append(b, e...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

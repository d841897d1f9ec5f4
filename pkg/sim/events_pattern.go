package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ebPattern is a parsed EventBridge event pattern: a JSON object whose
// members are nested patterns or arrays of alternatives (OR); an event
// matches when every member matches (AND).
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
// The operators modelled are exact values, prefix, suffix,
// equals-ignore-case, wildcard, anything-but (values, prefix, suffix),
// exists and numeric; cidr and $or are refused as not modelled.
type ebPattern map[string]any

// parseEventPattern parses and validates a pattern; the error is the
// reason of the InvalidEventPatternException.
func parseEventPattern(s string) (ebPattern, error) {
	var p map[string]any
	if err := json.Unmarshal([]byte(s), &p); err != nil || p == nil {
		return nil, errors.New("Filter is not an object")
	}
	return p, ebCheckPattern(p, "")
}

func ebCheckPattern(p map[string]any, at string) error {
	for k, v := range p {
		path := strings.TrimPrefix(at+"."+k, ".")
		switch v := v.(type) {
		case map[string]any:
			if err := ebCheckPattern(v, path); err != nil {
				return err
			}
		case []any:
			if len(v) == 0 {
				return fmt.Errorf("Empty arrays are not allowed at %s", path)
			}
			for _, alt := range v {
				if err := ebCheckMatcher(alt, path); err != nil {
					return err
				}
			}
		default:
			return fmt.Errorf("Match value must be String, number, true, false, or null at %s", path)
		}
	}
	return nil
}

func ebCheckMatcher(alt any, path string) error {
	m, ok := alt.(map[string]any)
	if !ok {
		if _, isArr := alt.([]any); isArr {
			return fmt.Errorf("Match value must be String, number, true, false, or null at %s", path)
		}
		return nil // a literal
	}
	if len(m) != 1 {
		return fmt.Errorf("Only one key allowed in match expression at %s", path)
	}
	for op, arg := range m {
		_, isStr := arg.(string)
		switch op {
		case "prefix", "suffix", "equals-ignore-case", "wildcard":
			if !isStr {
				return fmt.Errorf("%s match pattern must be a string at %s", op, path)
			}
		case "exists":
			if _, ok := arg.(bool); !ok {
				return fmt.Errorf("exists match pattern must be either true or false at %s", path)
			}
		case "numeric":
			if _, err := ebNumericRange(arg); err != nil {
				return fmt.Errorf("%v at %s", err, path)
			}
		case "anything-but":
			switch a := arg.(type) {
			case map[string]any:
				if len(a) != 1 {
					return fmt.Errorf("anything-but takes one of prefix or suffix at %s", path)
				}
				for k, v := range a {
					if _, ok := v.(string); !ok || (k != "prefix" && k != "suffix" && k != "equals-ignore-case") {
						return fmt.Errorf("Unsupported anything-but pattern at %s", path)
					}
				}
			case []any:
				for _, v := range a {
					if _, ok := v.(map[string]any); ok {
						return fmt.Errorf("Inside anything-but list, only strings and numbers are allowed at %s", path)
					}
				}
			}
		default:
			return fmt.Errorf("Unrecognized match type %s at %s (the simulator does not model it)", op, path)
		}
	}
	return nil
}

type ebComparison struct {
	op string
	v  float64
}

// ebNumericRange parses ["<", 10, ">=", 0]-style comparisons.
func ebNumericRange(arg any) ([]ebComparison, error) {
	a, ok := arg.([]any)
	if !ok || len(a) == 0 || len(a)%2 != 0 || len(a) > 4 {
		return nil, errors.New("Value of numeric must be an array of one or two comparisons")
	}
	var out []ebComparison
	for i := 0; i < len(a); i += 2 {
		op, ok1 := a[i].(string)
		v, ok2 := a[i+1].(float64)
		switch op {
		case "<", "<=", "=", ">", ">=":
		default:
			ok1 = false
		}
		if !ok1 || !ok2 {
			return nil, errors.New("Unrecognized numeric range operator")
		}
		out = append(out, ebComparison{op, v})
	}
	return out, nil
}

// matches reports whether the event (decoded JSON) matches the pattern.
func (p ebPattern) matches(event map[string]any) bool {
	return ebMatchObject(p, event)
}

func ebMatchObject(p map[string]any, ev map[string]any) bool {
	for k, pv := range p {
		v, present := ev[k]
		switch pv := pv.(type) {
		case map[string]any:
			sub, ok := v.(map[string]any)
			if !ok || !ebMatchObject(pv, sub) {
				return false
			}
		case []any:
			if !ebMatchAlternatives(pv, v, present) {
				return false
			}
		}
	}
	return true
}

// ebMatchAlternatives applies a member's alternatives to the event's value;
// an array in the event matches when any of its elements does.
func ebMatchAlternatives(alts []any, v any, present bool) bool {
	for _, alt := range alts {
		if m, ok := alt.(map[string]any); ok {
			if e, ok := m["exists"].(bool); ok {
				if e == present {
					return true
				}
				continue
			}
		}
		if !present {
			continue
		}
		if arr, ok := v.([]any); ok {
			for _, el := range arr {
				if ebMatchOne(alt, el) {
					return true
				}
			}
			continue
		}
		if ebMatchOne(alt, v) {
			return true
		}
	}
	return false
}

func ebMatchOne(alt, v any) bool {
	m, ok := alt.(map[string]any)
	if !ok {
		return ebEqual(alt, v)
	}
	s, isStr := v.(string)
	for op, arg := range m {
		switch op {
		case "prefix":
			return isStr && strings.HasPrefix(s, arg.(string))
		case "suffix":
			return isStr && strings.HasSuffix(s, arg.(string))
		case "equals-ignore-case":
			return isStr && strings.EqualFold(s, arg.(string))
		case "wildcard":
			return isStr && ebWildcard(arg.(string), s)
		case "numeric":
			n, ok := v.(float64)
			if !ok {
				return false
			}
			cmps, _ := ebNumericRange(arg)
			for _, c := range cmps {
				if !ebCompare(n, c) {
					return false
				}
			}
			return true
		case "anything-but":
			switch a := arg.(type) {
			case map[string]any:
				if !isStr {
					return false
				}
				for k, x := range a {
					switch k {
					case "prefix":
						return !strings.HasPrefix(s, x.(string))
					case "suffix":
						return !strings.HasSuffix(s, x.(string))
					case "equals-ignore-case":
						return !strings.EqualFold(s, x.(string))
					}
				}
			case []any:
				for _, x := range a {
					if ebEqual(x, v) {
						return false
					}
				}
				return true
			default:
				return !ebEqual(a, v)
			}
		}
	}
	return false
}

func ebEqual(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case map[string]any, []any:
		return false
	default:
		return a == b
	}
}

func ebCompare(n float64, c ebComparison) bool {
	switch c.op {
	case "<":
		return n < c.v
	case "<=":
		return n <= c.v
	case "=":
		return n == c.v
	case ">":
		return n > c.v
	}
	return n >= c.v
}

// ebWildcard matches s against a pattern where * stands for any run.
func ebWildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// ebPath evaluates the JSON path subset EventBridge supports in InputPath
// and InputPathsMap: $ then .member or [index] steps.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
func ebPath(v any, path string) (any, bool) {
	if !strings.HasPrefix(path, "$") {
		return nil, false
	}
	rest := path[1:]
	for rest != "" {
		switch rest[0] {
		case '.':
			rest = rest[1:]
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			if v, ok = m[rest[:end]]; !ok {
				return nil, false
			}
			rest = rest[end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, false
			}
			i, err := strconv.Atoi(rest[1:end])
			arr, ok := v.([]any)
			if err != nil || !ok || i < 0 || i >= len(arr) {
				return nil, false
			}
			v, rest = arr[i], rest[end+1:]
		default:
			return nil, false
		}
	}
	return v, true
}

// ebValidPath checks a path's syntax for PutTargets: $ then .member
// (alphanumerics, dashes, underscores, slashes) or [index] steps.
func ebValidPath(path string) bool {
	return ebPathSyntax.MatchString(path)
}

var ebPathSyntax = regexp.MustCompile(`^\$(\.[A-Za-z0-9_\-/*]+|\[[0-9]+\])*$`)

// ebRenderTemplate renders an InputTransformer's InputTemplate as
// EventBridge does: where a placeholder stands in a JSON string of the
// template its value goes in as string content; elsewhere in a JSON
// template a string value goes in quoted as a JSON string and any other
// value as its JSON; in a template that is not JSON (plain text) every
// value goes in as its text. A path that the event does not have renders
// as null (as an empty string inside a JSON string).
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_InputTransformer.html
func ebRenderTemplate(tmpl string, values map[string]any) string {
	trimmed := strings.TrimSpace(tmpl)
	isJSON := trimmed != "" && strings.ContainsRune("{[\"", rune(trimmed[0]))
	var b strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(tmpl); i++ {
		c := tmpl[i]
		if c == '<' {
			if end := strings.IndexByte(tmpl[i+1:], '>'); end >= 0 {
				name := tmpl[i+1 : i+1+end]
				if v, known := values[name]; known {
					b.WriteString(ebRenderValue(v, isJSON, inString))
					i += end + 1
					continue
				}
			}
		}
		b.WriteByte(c)
		if !isJSON {
			continue
		}
		switch {
		case escaped:
			escaped = false
		case c == '\\' && inString:
			escaped = true
		case c == '"':
			inString = !inString
		}
	}
	return b.String()
}

// ebMissing marks a placeholder whose path the event does not have.
type ebMissing struct{}

func ebRenderValue(v any, isJSON, inString bool) string {
	if _, missing := v.(ebMissing); missing {
		if inString || !isJSON {
			return ""
		}
		return "null"
	}
	if raw, ok := v.(json.RawMessage); ok { // a predefined variable's JSON
		return string(raw)
	}
	s, isStr := v.(string)
	switch {
	case isStr && (!isJSON || inString):
		if !isJSON {
			return s
		}
		q, _ := json.Marshal(s)
		return string(q[1 : len(q)-1])
	case isStr:
		q, _ := json.Marshal(s)
		return string(q)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	text := strings.TrimSuffix(buf.String(), "\n")
	if inString {
		q, _ := json.Marshal(text)
		return string(q[1 : len(q)-1])
	}
	return text
}

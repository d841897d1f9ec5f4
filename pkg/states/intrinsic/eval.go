package intrinsic

import (
	"bytes"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	randv2 "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/pendulum-dr/pendulum/pkg/states/internal/jsonvalue"
)

// maxStringInput is the documented limit, in characters, of the string given to
// States.Base64Encode, States.Base64Decode and States.Hash.
const maxStringInput = 10000

// maxRangeItems is the most items States.ArrayRange may produce.
const maxRangeItems = 1000

// evalError is an evaluation failure of one function. It wraps ErrIntrinsicFailure and, for a
// failed path argument, the resolver's error.
type evalError struct {
	fn    string
	msg   string
	cause error
}

func (e *evalError) Error() string {
	if e.cause != nil {
		return e.fn + ": " + e.msg + ": " + e.cause.Error()
	}
	return e.fn + ": " + e.msg
}

func (e *evalError) Unwrap() []error {
	if e.cause != nil {
		return []error{ErrIntrinsicFailure, e.cause}
	}
	return []error{ErrIntrinsicFailure}
}

func (c *Call) fail(format string, args ...any) error {
	return &evalError{fn: c.name, msg: fmt.Sprintf(format, args...)}
}

// function describes one intrinsic: its arity, a definition-time check of literal arguments
// and its evaluation.
type function struct {
	minArgs, maxArgs int // maxArgs < 0: unbounded
	checkLit         func(c *Call) error
	eval             func(c *Call, env Env, args []any) (any, error)
}

func (f *function) check(c *Call) error {
	n := len(c.args)
	switch {
	case f.maxArgs < 0 && n < f.minArgs:
		return fmt.Errorf("%s takes at least %d argument(s), got %d", c.name, f.minArgs, n)
	case f.maxArgs >= 0 && (n < f.minArgs || n > f.maxArgs):
		if f.minArgs == f.maxArgs {
			return fmt.Errorf("%s takes %d argument(s), got %d", c.name, f.minArgs, n)
		}
		return fmt.Errorf("%s takes %d to %d arguments, got %d", c.name, f.minArgs, f.maxArgs, n)
	}
	if f.checkLit != nil {
		return f.checkLit(c)
	}
	return nil
}

var functions map[string]*function

func init() {
	functions = map[string]*function{
		"States.Format":         {minArgs: 1, maxArgs: -1, checkLit: checkFormat, eval: evalFormat},
		"States.StringToJson":   {minArgs: 1, maxArgs: 1, eval: evalStringToJSON},
		"States.JsonToString":   {minArgs: 1, maxArgs: 1, eval: evalJSONToString},
		"States.Array":          {minArgs: 0, maxArgs: -1, eval: evalArray},
		"States.ArrayPartition": {minArgs: 2, maxArgs: 2, eval: evalArrayPartition},
		"States.ArrayContains":  {minArgs: 2, maxArgs: 2, eval: evalArrayContains},
		"States.ArrayRange":     {minArgs: 3, maxArgs: 3, eval: evalArrayRange},
		"States.ArrayGetItem":   {minArgs: 2, maxArgs: 2, eval: evalArrayGetItem},
		"States.ArrayLength":    {minArgs: 1, maxArgs: 1, eval: evalArrayLength},
		"States.ArrayUnique":    {minArgs: 1, maxArgs: 1, eval: evalArrayUnique},
		"States.Base64Encode":   {minArgs: 1, maxArgs: 1, eval: evalBase64Encode},
		"States.Base64Decode":   {minArgs: 1, maxArgs: 1, eval: evalBase64Decode},
		"States.Hash":           {minArgs: 2, maxArgs: 2, checkLit: checkHash, eval: evalHash},
		"States.JsonMerge":      {minArgs: 3, maxArgs: 3, checkLit: checkJSONMerge, eval: evalJSONMerge},
		"States.MathRandom":     {minArgs: 2, maxArgs: 3, eval: evalMathRandom},
		"States.MathAdd":        {minArgs: 2, maxArgs: 2, eval: evalMathAdd},
		"States.StringSplit":    {minArgs: 2, maxArgs: 2, eval: evalStringSplit},
		"States.UUID":           {minArgs: 0, maxArgs: 0, eval: evalUUID},
	}
}

func (c *Call) eval(env Env) (any, error) {
	args := make([]any, len(c.args))
	for i := range c.args {
		a := &c.args[i]
		switch a.kind {
		case argString, argNumber, argBool:
			args[i] = a.lit
		case argNull:
			args[i] = nil
		case argPath:
			if env.Resolve == nil {
				return nil, c.fail("argument %d (%s): no resolver for path arguments", i+1, a.str)
			}
			v, err := env.Resolve(a.str)
			if err != nil {
				return nil, &evalError{fn: c.name, msg: fmt.Sprintf("argument %d (%s)", i+1, a.str), cause: err}
			}
			args[i] = v
		case argCall:
			v, err := a.call.eval(env)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
	}
	return c.fn.eval(c, env, args)
}

// ---- argument helpers ----

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	if _, ok := numberText(v); ok {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

func numberText(v any) (string, bool) { return jsonvalue.NumberText(v) }

func toFloat(v any) (float64, bool) {
	t, ok := numberText(v)
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// integerArg returns argument i as an integer. Step Functions rounds a non-integer to the
// nearest integer, halves up as Java's Math.round does.
func (c *Call) integerArg(args []any, i int, what string) (int64, error) {
	f, ok := toFloat(args[i])
	if !ok {
		return 0, c.fail("the %s (argument %d) must be an integer, got %s", what, i+1, kindOf(args[i]))
	}
	r := math.Floor(f + 0.5)
	if math.IsNaN(r) || math.Abs(r) > 1<<53 {
		return 0, c.fail("the %s (argument %d) is out of range: %v", what, i+1, args[i])
	}
	return int64(r), nil
}

func (c *Call) arrayArg(args []any, i int) ([]any, error) {
	a, ok := args[i].([]any)
	if !ok {
		return nil, c.fail("argument %d must be an array, got %s", i+1, kindOf(args[i]))
	}
	return a, nil
}

func (c *Call) stringArg(args []any, i int) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", c.fail("argument %d must be a string, got %s", i+1, kindOf(args[i]))
	}
	return s, nil
}

// javaLen is the length of s in UTF-16 code units, which is how Step Functions counts
// characters.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func number(n int64) json.Number { return json.Number(strconv.FormatInt(n, 10)) }

// deepEqual is the engine's one JSON equality, shared with JSONPath filters so that
// ArrayContains and a filter agree on every pair of values.
func deepEqual(a, b any) bool { return jsonvalue.Equal(a, b) }

// ---- the functions ----

func checkFormat(c *Call) error {
	// A placeholder count that does not match the arguments is reported when the call runs,
	// not here: the developer guide's own nine-level example has three placeholders and two
	// values, so Step Functions cannot be rejecting such definitions.
	switch c.args[0].kind {
	case argString, argPath, argCall:
	default:
		return fmt.Errorf("the first argument of States.Format must be a string")
	}
	return nil
}

func evalFormat(c *Call, _ Env, args []any) (any, error) {
	tmpl, ok := args[0].(string)
	if !ok {
		return nil, c.fail("the template (argument 1) must be a string, got %s", kindOf(args[0]))
	}
	var holes []int
	if c.args[0].kind == argString {
		holes = c.args[0].holes
	} else {
		// A template from the input has no escapes: every "{}" is a placeholder.
		for i := 0; i+1 < len(tmpl); i++ {
			if tmpl[i] == '{' && tmpl[i+1] == '}' {
				holes = append(holes, i)
				i++
			}
		}
	}
	if len(holes) != len(args)-1 {
		return nil, c.fail("the template has %d placeholder(s) {} but %d value argument(s) were given", len(holes), len(args)-1)
	}
	var b strings.Builder
	b.Grow(len(tmpl) + 16*len(holes))
	last := 0
	for i, h := range holes {
		b.WriteString(tmpl[last:h])
		formatValue(&b, args[i+1])
		last = h + 2
	}
	b.WriteString(tmpl[last:])
	return b.String(), nil
}

// formatValue renders a value into a States.Format result: strings as they are, other scalars
// as JSON, arrays and objects as Step Functions prints them ("[a, b]", "{k=v}").
func formatValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case string:
		b.WriteString(v)
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			formatValue(b, x)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			formatValue(b, v[k])
		}
		b.WriteByte('}')
	default:
		if t, ok := numberText(v); ok {
			b.WriteString(t)
			return
		}
		fmt.Fprint(b, v)
	}
}

func evalStringToJSON(c *Call, _ Env, args []any) (any, error) {
	s, err := c.stringArg(args, 0)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, c.fail("the string is not JSON: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, c.fail("the string holds more than one JSON value")
	}
	return v, nil
}

func evalJSONToString(c *Call, _ Env, args []any) (any, error) {
	s, err := marshal(args[0])
	if err != nil {
		return nil, c.fail("cannot encode the value as JSON: %v", err)
	}
	return s, nil
}

// marshal encodes compactly without HTML escaping, as Step Functions prints JSON.
func marshal(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func evalArray(_ *Call, _ Env, args []any) (any, error) {
	return slices.Clone(args), nil
}

func evalArrayPartition(c *Call, _ Env, args []any) (any, error) {
	a, err := c.arrayArg(args, 0)
	if err != nil {
		return nil, err
	}
	size, err := c.integerArg(args, 1, "chunk size")
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, c.fail("the chunk size (argument 2) must be a positive integer, got %v", args[1])
	}
	out := make([]any, 0, (int64(len(a))+size-1)/size)
	for i := 0; i < len(a); {
		end := len(a)
		if int64(end-i) > size {
			end = i + int(size)
		}
		out = append(out, slices.Clone(a[i:end]))
		i = end
	}
	return out, nil
}

func evalArrayContains(c *Call, _ Env, args []any) (any, error) {
	a, err := c.arrayArg(args, 0)
	if err != nil {
		return nil, err
	}
	for _, x := range a {
		if deepEqual(x, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func evalArrayRange(c *Call, _ Env, args []any) (any, error) {
	first, err := c.integerArg(args, 0, "first element")
	if err != nil {
		return nil, err
	}
	last, err := c.integerArg(args, 1, "last element")
	if err != nil {
		return nil, err
	}
	step, err := c.integerArg(args, 2, "step")
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, c.fail("the step (argument 3) must not be zero")
	}
	var count int64
	if (step > 0 && last >= first) || (step < 0 && last <= first) {
		count = (last-first)/step + 1
	}
	if count > maxRangeItems {
		return nil, c.fail("the range has %d items; at most %d are allowed", count, maxRangeItems)
	}
	out := make([]any, 0, count)
	for i := int64(0); i < count; i++ {
		out = append(out, number(first+i*step))
	}
	return out, nil
}

func evalArrayGetItem(c *Call, _ Env, args []any) (any, error) {
	a, err := c.arrayArg(args, 0)
	if err != nil {
		return nil, err
	}
	f, ok := toFloat(args[1])
	if !ok || f != math.Trunc(f) {
		return nil, c.fail("the index (argument 2) must be an integer, got %v", args[1])
	}
	if f < 0 || f >= float64(len(a)) {
		return nil, c.fail("index %v is out of bounds for an array of length %d", args[1], len(a))
	}
	return a[int(f)], nil
}

func evalArrayLength(c *Call, _ Env, args []any) (any, error) {
	a, err := c.arrayArg(args, 0)
	if err != nil {
		return nil, err
	}
	return number(int64(len(a))), nil
}

func evalArrayUnique(c *Call, _ Env, args []any) (any, error) {
	a, err := c.arrayArg(args, 0)
	if err != nil {
		return nil, err
	}
	// Keys make this linear: an array near the payload limit may hold 100,000 items.
	out := make([]any, 0, len(a))
	seen := make(map[string]struct{}, len(a))
	var key []byte
	for _, x := range a {
		key = appendKey(key[:0], x)
		if _, dup := seen[string(key)]; !dup {
			seen[string(key)] = struct{}{}
			out = append(out, x)
		}
	}
	return out, nil
}

// appendKey appends a text that is equal exactly for values deepEqual considers equal.
func appendKey(b []byte, v any) []byte { return jsonvalue.AppendKey(b, v) }

func (c *Call) limitedString(args []any, i int) (string, error) {
	s, err := c.stringArg(args, i)
	if err != nil {
		return "", err
	}
	if n := javaLen(s); n > maxStringInput {
		return "", c.fail("the input has %d characters; at most %d are allowed", n, maxStringInput)
	}
	return s, nil
}

func evalBase64Encode(c *Call, _ Env, args []any) (any, error) {
	s, err := c.limitedString(args, 0)
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func evalBase64Decode(c *Call, _ Env, args []any) (any, error) {
	s, err := c.limitedString(args, 0)
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		// Padding is optional, as for Java's decoder.
		var err2 error
		data, err2 = base64.RawStdEncoding.DecodeString(s)
		if err2 != nil {
			return nil, c.fail("the input is not Base64: %v", err)
		}
	}
	if !utf8.Valid(data) {
		// Java decodes the bytes as UTF-8, replacing malformed sequences.
		return strings.ToValidUTF8(string(data), "\uFFFD"), nil
	}
	return string(data), nil
}

var hashes = map[string]func() hash.Hash{
	"MD5":     md5.New,
	"SHA-1":   sha1.New,
	"SHA-256": sha256.New,
	"SHA-384": sha512.New384,
	"SHA-512": sha512.New,
}

func checkHash(c *Call) error {
	if a := &c.args[1]; a.kind == argString {
		if _, ok := hashes[a.str]; !ok {
			return fmt.Errorf("States.Hash algorithm %q is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", a.str)
		}
	} else if a.kind != argPath && a.kind != argCall {
		return fmt.Errorf("the algorithm of States.Hash must be a string")
	}
	return nil
}

func evalHash(c *Call, _ Env, args []any) (any, error) {
	s, err := c.limitedString(args, 0)
	if err != nil {
		return nil, err
	}
	alg, err := c.stringArg(args, 1)
	if err != nil {
		return nil, err
	}
	newHash, ok := hashes[alg]
	if !ok {
		return nil, c.fail("algorithm %q is not one of MD5, SHA-1, SHA-256, SHA-384, SHA-512", alg)
	}
	h := newHash()
	h.Write([]byte(s))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func checkJSONMerge(c *Call) error {
	switch a := &c.args[2]; a.kind {
	case argBool:
		if a.b {
			return fmt.Errorf("States.JsonMerge supports only the shallow mode: the third argument must be false")
		}
	case argPath, argCall:
	default:
		return fmt.Errorf("the third argument of States.JsonMerge must be the boolean false")
	}
	return nil
}

func evalJSONMerge(c *Call, _ Env, args []any) (any, error) {
	a, ok1 := args[0].(map[string]any)
	b, ok2 := args[1].(map[string]any)
	if !ok1 || !ok2 {
		return nil, c.fail("both values to merge must be objects, got %s and %s", kindOf(args[0]), kindOf(args[1]))
	}
	if deep, ok := args[2].(bool); !ok || deep {
		return nil, c.fail("only the shallow mode is supported: the third argument must be false, got %v", args[2])
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

func evalMathRandom(c *Call, env Env, args []any) (any, error) {
	start, err := c.integerArg(args, 0, "start")
	if err != nil {
		return nil, err
	}
	end, err := c.integerArg(args, 1, "end")
	if err != nil {
		return nil, err
	}
	if start >= end {
		return nil, c.fail("the start (%d) must be less than the end (%d)", start, end)
	}
	var f float64
	switch {
	case len(args) == 3:
		seed, err := c.integerArg(args, 2, "seed")
		if err != nil {
			return nil, err
		}
		f = randv2.New(randv2.NewPCG(uint64(seed), 0)).Float64()
	case env.Random != nil:
		f = env.Random()
	default:
		f = randv2.Float64()
	}
	n := start + int64(f*float64(end-start))
	if n >= end { // guards float rounding at the top of the range
		n = end - 1
	}
	return number(n), nil
}

func evalMathAdd(c *Call, _ Env, args []any) (any, error) {
	var sum int64
	for i := range 2 {
		n, err := c.integerArg(args, i, "value")
		if err != nil {
			return nil, err
		}
		if n < math.MinInt32 || n > math.MaxInt32 {
			return nil, c.fail("argument %d (%d) is outside the integer range -2147483648..2147483647", i+1, n)
		}
		sum += n
	}
	if sum < math.MinInt32 || sum > math.MaxInt32 {
		return nil, c.fail("the sum %d overflows the integer range -2147483648..2147483647", sum)
	}
	return number(sum), nil
}

func evalStringSplit(c *Call, _ Env, args []any) (any, error) {
	s, err := c.stringArg(args, 0)
	if err != nil {
		return nil, err
	}
	delims, err := c.stringArg(args, 1)
	if err != nil {
		return nil, err
	}
	// Every character of the second argument is a delimiter; empty pieces are dropped.
	parts := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) })
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out, nil
}

func evalUUID(_ *Call, env Env, _ []any) (any, error) {
	if env.UUID != nil {
		return env.UUID(), nil
	}
	return newUUID(), nil
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic(errors.New("crypto/rand failed: " + err.Error()))
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

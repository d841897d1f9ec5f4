package states

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/pendulum-dr/pendulum/pkg/states/intrinsic"
	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

// tmpl is a compiled payload template: Parameters, ResultSelector or
// ItemSelector. Keys ending in ".$" take their value from a path or an
// intrinsic function; everything else is copied as is.
type tmpl struct {
	static bool // no dynamic part below: lit is the value
	lit    any
	// litJSON is lit encoded, for appendEval.
	litJSON []byte
	// streams says appendEval can write this template's JSON while
	// evaluating it: every object below lists its fields in the order
	// marshal writes them (sorted output keys), so evaluating in the usual
	// order yields the bytes in the right order.
	streams bool
	fields  []tfield // object
	isObj   bool
	items   []*tmpl // array
	isArr   bool
	expr    *expr // a ".$" value
	key     string
}

type tfield struct {
	key string // output key, without ".$"
	val *tmpl
}

func (p *parser) template(stateName, field string, v any) *tmpl {
	t := p.tmplValue(stateName, field, v)
	t.prepareStream()
	return t
}

// prepareStream sets litJSON and streams for t and what is below it.
func (t *tmpl) prepareStream() bool {
	switch {
	case t.static:
		b, err := marshal(t.lit)
		if err != nil {
			return false
		}
		t.litJSON = b
		t.streams = true
	case t.expr != nil:
		t.streams = true
	case t.isArr:
		t.streams = true
		for _, it := range t.items {
			if !it.prepareStream() {
				t.streams = false
			}
		}
	default:
		t.streams = true
		for i, fl := range t.fields {
			if !fl.val.prepareStream() || i > 0 && t.fields[i-1].key >= fl.key {
				t.streams = false
			}
		}
	}
	return t.streams
}

// appendEval appends the JSON encoding of what eval returns, byte for byte
// what marshal would write, without building the value: a Task whose
// handler reads only the JSON needs no maps for its Parameters. It
// evaluates in eval's order, so the first failure is the same one. ok is
// false when a value does not encode (marshal's error is then the caller's
// to produce, from eval and marshal).
func (t *tmpl) appendEval(b []byte, env *evalEnv) (_ []byte, ok bool, f *failure) {
	if t.static {
		return append(b, t.litJSON...), true, nil
	}
	if t.expr != nil {
		v, f := t.expr.eval(env, t.key)
		if f != nil {
			return nil, true, f
		}
		b, err := appendJSON(b, v)
		return b, err == nil, nil
	}
	if t.isArr {
		b = append(b, '[')
		for i, it := range t.items {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok, f = it.appendEval(b, env); !ok || f != nil {
				return nil, ok, f
			}
		}
		return append(b, ']'), true, nil
	}
	b = append(b, '{')
	for i, fl := range t.fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, fl.key)
		b = append(b, ':')
		if b, ok, f = fl.val.appendEval(b, env); !ok || f != nil {
			return nil, ok, f
		}
	}
	return append(b, '}'), true, nil
}

func (p *parser) tmplValue(stateName, field string, v any) *tmpl {
	switch x := v.(type) {
	case map[string]any:
		t := &tmpl{isObj: true, static: true}
		keys := sortedKeys(x)
		seen := map[string]bool{}
		for _, k := range keys {
			val := x[k]
			f := field + "." + k
			if base, ok := strings.CutSuffix(k, ".$"); ok {
				if seen[base] {
					p.add(stateName, f, "key %q appears both with and without \".$\"", base)
				}
				seen[base] = true
				e := p.expr(stateName, f, val)
				if e == nil {
					continue
				}
				t.static = false
				t.fields = append(t.fields, tfield{key: base, val: &tmpl{expr: e, key: k}})
				continue
			}
			if seen[k] {
				p.add(stateName, f, "key %q appears both with and without \".$\"", k)
			}
			seen[k] = true
			c := p.tmplValue(stateName, f, val)
			if !c.static {
				t.static = false
			}
			t.fields = append(t.fields, tfield{key: k, val: c})
		}
		if t.static {
			t.lit = x
		}
		return t
	case []any:
		// AWS applies ".$" keys in objects nested inside arrays as well.
		t := &tmpl{isArr: true, static: true}
		for i, e := range x {
			c := p.tmplValue(stateName, fmt.Sprintf("%s[%d]", field, i), e)
			if !c.static {
				t.static = false
			}
			t.items = append(t.items, c)
		}
		if t.static {
			t.lit = x
		}
		return t
	default:
		return &tmpl{static: true, lit: v}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// evalEnv is what a template or expression needs at run time.
type evalEnv struct {
	input any
	t     *thread
	sr    *stateRun
	c     any // the context object, built on first use
}

// ctx returns the context object ($$), building it once.
func (env *evalEnv) ctx() any {
	if env.c == nil {
		env.c = env.t.contextObject(env.sr)
	}
	return env.c
}

func (t *tmpl) eval(env *evalEnv) (any, *failure) {
	if t.static {
		return t.lit, nil
	}
	if t.expr != nil {
		return t.expr.eval(env, t.key)
	}
	if t.isArr {
		out := make([]any, len(t.items))
		for i, it := range t.items {
			v, f := it.eval(env)
			if f != nil {
				return nil, f
			}
			out[i] = v
		}
		return out, nil
	}
	out := make(map[string]any, len(t.fields))
	for _, fl := range t.fields {
		v, f := fl.val.eval(env)
		if f != nil {
			return nil, f
		}
		out[fl.key] = v
	}
	return out, nil
}

// eval computes the expression; field names the definition field in messages.
func (e *expr) eval(env *evalEnv, field string) (any, *failure) {
	if e.call != nil {
		v, err := e.call.Eval(intrinsic.Env{
			Resolve: env.resolve,
			Random:  env.t.x.eng.opts.Random,
			UUID:    env.t.x.eng.opts.UUID,
		})
		if err != nil {
			return nil, fail(ErrorIntrinsicFailure, fmt.Sprintf("the intrinsic function %s specified for the field '%s' failed: %v", e.src, field, err))
		}
		return v, nil
	}
	v, err := e.path.get(env)
	if err != nil {
		doc := env.input
		if e.path.ctx {
			doc = env.ctx()
		}
		return nil, fail(ErrorRuntime, fmt.Sprintf("The JSONPath '%s' specified for the field '%s' could not be found in the input '%s'", e.src, field, compactJSON(doc)))
	}
	return v, nil
}

func (vp *valuePath) get(env *evalEnv) (any, error) {
	if vp.item != itemNone && env.t.item != nil {
		// What the context object's Map.Item holds (see contextObject).
		switch vp.item {
		case itemValue:
			return env.t.item.value, nil
		case itemInValue:
			return vp.inValue.Get(env.t.item.value)
		}
		return env.t.item.index, nil
	}
	if vp.ctx {
		return vp.p.Get(env.ctx())
	}
	return vp.p.Get(env.input)
}

var pathCache sync.Map // string → *valuePath, for intrinsic arguments

func (env *evalEnv) resolve(path string) (any, error) {
	var vp *valuePath
	if c, ok := pathCache.Load(path); ok {
		vp = c.(*valuePath)
	} else {
		var err error
		vp, err = compileValuePath(path)
		if err != nil {
			return nil, err
		}
		pathCache.Store(path, vp)
	}
	return vp.get(env)
}

func isNotFound(err error) bool { return errors.Is(err, jsonpath.ErrNotFound) }

func compactJSON(v any) string {
	b, err := marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	// marshal's buffer is fresh and never written again: no copy needed.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

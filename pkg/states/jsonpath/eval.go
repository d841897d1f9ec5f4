package jsonpath

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

func (p *Path) get(doc any) (any, error) {
	if p.IsDefinite() {
		v, at, why := p.walkDefinite(p.segs, doc)
		if why != "" {
			return nil, fmt.Errorf("jsonpath %s: %s at %s: %w", p.src, why, at, ErrNotFound)
		}
		return v, nil
	}
	return p.getAll(doc, doc), nil
}

// definite walks a path of definite steps. On failure it returns the canonical prefix where
// the walk stopped and why.
func (p *Path) walkDefinite(segs []segment, doc any) (any, string, string) {
	node := doc
	for i := range segs {
		s := &segs[i]
		switch s.kind {
		case stepName:
			m, ok := node.(map[string]any)
			if !ok {
				return nil, p.prefix(i), "expected an object, found " + kindOf(node)
			}
			if len(s.names) > 1 {
				node = mergeNames(m, s.names)
				continue
			}
			v, ok := m[s.names[0]]
			if !ok {
				return nil, p.prefix(i), "no member " + strconv.Quote(s.names[0])
			}
			node = v
		case stepIndex:
			a, ok := node.([]any)
			if !ok {
				return nil, p.prefix(i), "expected an array, found " + kindOf(node)
			}
			idx := s.indexes[0]
			if idx < 0 {
				idx += len(a)
			}
			if idx < 0 || idx >= len(a) {
				return nil, p.prefix(i), fmt.Sprintf("index %d out of range for array of length %d", s.indexes[0], len(a))
			}
			node = a[idx]
		default:
			return nil, p.prefix(i), "internal error: indefinite step in definite path"
		}
	}
	return node, "", ""
}

// getOne evaluates a definite path without building error messages (filters call it per item).
func (p *Path) getOne(doc, root any) (any, bool) {
	v, _, why := p.walkDefinite(p.segs, doc)
	return v, why == ""
}

func mergeNames(m map[string]any, names []string) map[string]any {
	out := make(map[string]any, len(names))
	for _, n := range names {
		if v, ok := m[n]; ok {
			out[n] = v
		}
	}
	return out
}

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
	if isNumber(v) {
		return "a number"
	}
	return fmt.Sprintf("%T", v)
}

// prefix renders the first n steps canonically, for error messages.
func (p *Path) prefix(n int) string {
	var b strings.Builder
	q := &Path{root: p.root, segs: p.segs[:n]}
	q.canon(&b)
	return b.String()
}

// getAll returns every match of the path (Jayway's indefinite evaluation: steps that do not
// apply to a node skip it).
func (p *Path) getAll(doc, root any) []any {
	out := []any{}
	p.walk(p.segs, doc, root, &out)
	return out
}

func (p *Path) walk(segs []segment, node, root any, out *[]any) {
	if len(segs) == 0 {
		*out = append(*out, node)
		return
	}
	if segs[0].deep {
		p.deepWalk(segs, node, root, out)
		return
	}
	p.applyStep(segs, node, root, false, out)
}

// deepWalk applies segs[0] to node and every container below it, depth first, object members
// in key order. Scalars are not visited: no step applies to them.
func (p *Path) deepWalk(segs []segment, node, root any, out *[]any) {
	switch n := node.(type) {
	case map[string]any:
		p.applyStep(segs, n, root, true, out)
		for _, k := range sortedKeys(n) {
			p.deepWalk(segs, n[k], root, out)
		}
	case []any:
		p.applyStep(segs, n, root, true, out)
		for _, v := range n {
			p.deepWalk(segs, v, root, out)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// applyStep applies segs[0] to node and continues with the rest of the path on each match.
func (p *Path) applyStep(segs []segment, node, root any, deep bool, out *[]any) {
	s, rest := &segs[0], segs[1:]
	switch s.kind {
	case stepName:
		m, ok := node.(map[string]any)
		if !ok {
			return
		}
		if len(s.names) == 1 {
			if v, ok := m[s.names[0]]; ok {
				p.walk(rest, v, root, out)
			}
			return
		}
		if s.leaf {
			if deep {
				for _, n := range s.names {
					if _, ok := m[n]; !ok {
						return
					}
				}
			}
			p.walk(rest, mergeNames(m, s.names), root, out)
			return
		}
		for _, n := range s.names {
			if v, ok := m[n]; ok {
				p.walk(rest, v, root, out)
			}
		}
	case stepIndex:
		a, ok := node.([]any)
		if !ok {
			return
		}
		for _, idx := range s.indexes {
			if idx < 0 {
				idx += len(a)
			}
			if idx >= 0 && idx < len(a) {
				p.walk(rest, a[idx], root, out)
			}
		}
	case stepWildcard:
		switch n := node.(type) {
		case map[string]any:
			for _, k := range sortedKeys(n) {
				p.walk(rest, n[k], root, out)
			}
		case []any:
			for _, v := range n {
				p.walk(rest, v, root, out)
			}
		}
	case stepSlice:
		a, ok := node.([]any)
		if !ok {
			return
		}
		from, to := sliceBounds(s, len(a))
		for i := from; i < to; i++ {
			p.walk(rest, a[i], root, out)
		}
	case stepFilter:
		switch n := node.(type) {
		case []any:
			if deep && !s.filter.eval(n, root) {
				// In a deep scan Jayway tests an array itself first; its elements are
				// visited on their own.
				return
			}
			for _, v := range n {
				// Step Functions documents that "@" does not match scalar values, only
				// objects: other items are never selected.
				if _, isObject := v.(map[string]any); isObject && s.filter.eval(v, root) {
					p.walk(rest, v, root, out)
				}
			}
		case map[string]any:
			if s.filter.eval(n, root) {
				p.walk(rest, n, root, out)
			}
		}
	}
}

// sliceBounds clamps [from:to] to the array like Jayway (negative bounds count from the end).
func sliceBounds(s *segment, n int) (int, int) {
	from, to := 0, n
	if s.hasFrom {
		from = s.from
		if from < 0 {
			from = max(0, n+from)
		}
	}
	if s.hasTo {
		to = s.to
		if to < 0 {
			to = max(0, n+to)
		}
	}
	from = min(from, n)
	to = min(to, n)
	if from > to {
		from = to
	}
	return from, to
}

// ---- canonical form ----

// canonical renders the path in Jayway's bracket notation; Compile(canonical) selects the same
// values as the original.
func (p *Path) canonical() string {
	var b strings.Builder
	p.canon(&b)
	return b.String()
}

func (p *Path) canon(b *strings.Builder) {
	b.WriteByte(p.root)
	for i := range p.segs {
		s := &p.segs[i]
		if s.deep {
			b.WriteString("..")
		}
		switch s.kind {
		case stepName:
			b.WriteByte('[')
			for j, n := range s.names {
				if j > 0 {
					b.WriteByte(',')
				}
				writeQuoted(b, n)
			}
			b.WriteByte(']')
		case stepIndex:
			b.WriteByte('[')
			for j, n := range s.indexes {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(strconv.Itoa(n))
			}
			b.WriteByte(']')
		case stepWildcard:
			b.WriteString("[*]")
		case stepSlice:
			b.WriteByte('[')
			if s.hasFrom {
				b.WriteString(strconv.Itoa(s.from))
			}
			b.WriteByte(':')
			if s.hasTo {
				b.WriteString(strconv.Itoa(s.to))
			}
			b.WriteByte(']')
		case stepFilter:
			b.WriteString("[?(")
			s.filter.canon(b)
			b.WriteString(")]")
		}
	}
}

// writeQuoted writes s as a single-quoted path string.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(b, "\\u%04x", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}

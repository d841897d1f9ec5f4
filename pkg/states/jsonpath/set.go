package jsonpath

import (
	"fmt"
	"maps"
	"slices"
)

func set(doc any, ref *Path, value any) (any, error) {
	if ref == nil || ref.root != '$' || !ref.IsReference() {
		s := "<nil>"
		if ref != nil {
			s = ref.src
		}
		return nil, fmt.Errorf("jsonpath %s: only a Reference Path can be set: %w", s, ErrCannotSet)
	}
	return ref.setAt(doc, 0, value)
}

// setAt returns a copy of node with value placed at segs[i:]. Only the containers on the path
// are copied; everything else is shared with the input.
func (p *Path) setAt(node any, i int, value any) (any, error) {
	if i == len(p.segs) {
		return value, nil
	}
	s := &p.segs[i]
	switch s.kind {
	case stepName:
		n, ok := node.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("jsonpath %s: %s is %s, not an object: %w", p.src, p.prefix(i), kindOf(node), ErrCannotSet)
		}
		child, exists := n[s.names[0]]
		if !exists {
			child = map[string]any{}
		}
		v, err := p.setAt(child, i+1, value)
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if exists {
			m = maps.Clone(n)
		} else {
			// Size the copy for the new member so the insert does not grow it.
			m = make(map[string]any, len(n)+1)
			maps.Copy(m, n)
		}
		m[s.names[0]] = v
		return m, nil
	case stepIndex:
		a, ok := node.([]any)
		if !ok {
			return nil, fmt.Errorf("jsonpath %s: %s is %s, not an array: %w", p.src, p.prefix(i), kindOf(node), ErrCannotSet)
		}
		idx := s.indexes[0]
		if idx < 0 {
			idx += len(a)
		}
		if idx < 0 || idx >= len(a) {
			return nil, fmt.Errorf("jsonpath %s: index %d out of range for array of length %d at %s: %w", p.src, s.indexes[0], len(a), p.prefix(i), ErrCannotSet)
		}
		v, err := p.setAt(a[idx], i+1, value)
		if err != nil {
			return nil, err
		}
		c := slices.Clone(a)
		c[idx] = v
		return c, nil
	}
	return nil, fmt.Errorf("jsonpath %s: only a Reference Path can be set: %w", p.src, ErrCannotSet)
}

package jsonpath

import (
	"errors"
	"testing"
)

// FuzzCompile compiles arbitrary expressions. Compile must never panic; a path that compiles
// must keep its source text, its canonical form must compile to the same canonical form and
// select the same values from a fixed document, and Set must either succeed with the value
// readable at the path or fail with ErrCannotSet.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"$", "$.foo", "$.bar[1]", "$.bar[-1]", "$['def ghi']", `$['a\'b']`, "$.名前",
		"$.store.book[*].author", "$..author", "$.store..price", "$..book[2]", "$.bar[0,2]",
		"$.bar[1:]", "$.bar[:1]", "$.bar[-2:]", "$['foo','bar']", "$.*", "$..*",
		"$.store.book[?(@.isbn)]", "$.store.book[?(!@.isbn)]", "$.store.book[?(@.price < 10)]",
		"$.store.book[?(@.price <= $.expensive)]", "$.store.book[?(@.category == 'fiction' && @.price < 20)]",
		"$.store.book[?(@.price < 9 || @.price > 20)]", "$.store.book[?(@.author =~ /.*REES/i)]",
		"$.store.book[?(@.category in ['reference'])]", "$.items[?(@.tags subsetof ['x','y'])]",
		"$.items[?(@.n == null)]", "$.items[?(@.tags.length() == 2)]", "$..[?(@.price > 19)]",
		"$.store.book.length()", "$.store.book[*].price.sum()", "$.car.keys()",
		"$[?(@.a in [1,{\"b\":[2]}])]", "$[?((@.a))]", "$[1:2:3]", "$[", "$[?(", "$.a b",
	} {
		f.Add(s)
	}
	doc := loadStore(f)
	f.Fuzz(func(t *testing.T, expr string) {
		p, err := Compile(expr)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Compile(%q) error %T is not a *SyntaxError", expr, err)
			}
			if se.Offset < 0 || se.Offset > len(expr) {
				t.Fatalf("Compile(%q) error offset %d outside the expression", expr, se.Offset)
			}
			return
		}
		if got := p.String(); got != expr {
			t.Fatalf("String() = %q, want %q", got, expr)
		}
		c := p.canonical()
		q, err := Compile(c)
		if err != nil {
			t.Fatalf("canonical %q of %q does not compile: %v", c, expr, err)
		}
		if got := q.canonical(); got != c {
			t.Fatalf("canonical %q of %q recompiles to %q", c, expr, got)
		}
		if p.IsDefinite() != q.IsDefinite() || p.IsReference() != q.IsReference() {
			t.Fatalf("%q and its canonical %q classify differently", expr, c)
		}
		if p.IsReference() && !p.IsDefinite() {
			t.Fatalf("%q is a reference path but not definite", expr)
		}
		v1, err1 := p.Get(doc)
		v2, err2 := q.Get(doc)
		if (err1 == nil) != (err2 == nil) || canonJSON(t, v1) != canonJSON(t, v2) {
			t.Fatalf("%q and its canonical %q disagree: %v/%v, %v/%v", expr, c, v1, err1, v2, err2)
		}
		if !p.IsDefinite() {
			if _, ok := v1.([]any); !ok {
				t.Fatalf("indefinite %q returned %T, want []any", expr, v1)
			}
		}
		out, err := Set(doc, p, "marker")
		if err != nil {
			if !errors.Is(err, ErrCannotSet) {
				t.Fatalf("Set(%q) error %v does not wrap ErrCannotSet", expr, err)
			}
			return
		}
		got, err := p.Get(out)
		if err != nil || got != "marker" {
			t.Fatalf("after Set(%q), Get = %v, %v", expr, got, err)
		}
	})
}

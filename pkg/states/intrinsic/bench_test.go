package intrinsic

import "testing"

func BenchmarkParseEvalFormat(b *testing.B) {
	input := decode(b, `{"name":"Arnav","id":42}`)
	env := envFor(b, input, nil)
	b.ReportAllocs()
	for b.Loop() {
		c, err := Parse(`States.Format('Hello, my name is {} ({}).', $.name, $.id)`)
		if err != nil {
			b.Fatal(err)
		}
		v, err := c.Eval(env)
		if err != nil || v != "Hello, my name is Arnav (42)." {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkEvalFormat(b *testing.B) {
	input := decode(b, `{"name":"Arnav","id":42}`)
	env := envFor(b, input, nil)
	c, err := Parse(`States.Format('Hello, my name is {} ({}).', $.name, $.id)`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkArrayUnique10k(b *testing.B) {
	items := make([]any, 10000)
	for i := range items {
		items[i] = map[string]any{"id": float64(i % 5000), "tags": []any{"a", "b"}}
	}
	env := Env{Resolve: func(string) (any, error) { return items, nil }}
	c, err := Parse(`States.ArrayUnique($.items)`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := c.Eval(env)
		if err != nil || len(v.([]any)) != 5000 {
			b.Fatal(err)
		}
	}
}

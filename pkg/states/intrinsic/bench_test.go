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

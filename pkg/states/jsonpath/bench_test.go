package jsonpath

import "testing"

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile("$.store.book[?(@.price < 10 && @.category == 'fiction')].title"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetReference(b *testing.B) {
	doc := loadStore(b)
	p, err := Compile("$.store.book[2].author")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Get(doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetFilter(b *testing.B) {
	doc := loadStore(b)
	p, err := Compile("$.store.book[?(@.price < 10)].title")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, err := p.Get(doc)
		if err != nil || len(v.([]any)) != 2 {
			b.Fatal(v, err)
		}
	}
}

func BenchmarkSet(b *testing.B) {
	doc := loadStore(b)
	p, err := Compile("$.store.bicycle.result")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Set(doc, p, "x"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSetSmall is ResultPath on the small payloads of a Pass chain.
func BenchmarkSetSmall(b *testing.B) {
	doc := map[string]any{"id": "a1", "n": 1, "ok": true}
	p, err := Compile("$.result")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Set(doc, p, "x"); err != nil {
			b.Fatal(err)
		}
	}
}

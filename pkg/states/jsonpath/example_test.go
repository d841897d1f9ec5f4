package jsonpath_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

func mustDecode(text string) any {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		panic(err)
	}
	return v
}

func Example() {
	input := mustDecode(`{"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}}`)
	for _, expr := range []string{"$.foo", "$.bar[-1]", "$.car.cdr", "$.bar[0:2]", "$.nope"} {
		p, err := jsonpath.Compile(expr)
		if err != nil {
			fmt.Println(err)
			continue
		}
		v, err := p.Get(input)
		switch {
		case errors.Is(err, jsonpath.ErrNotFound):
			fmt.Printf("%s: not found\n", expr)
		case err != nil:
			fmt.Println(err)
		default:
			out, _ := json.Marshal(v)
			fmt.Printf("%s => %s (reference path: %v)\n", expr, out, p.IsReference())
		}
	}
	// Output:
	// $.foo => 123 (reference path: true)
	// $.bar[-1] => "c" (reference path: true)
	// $.car.cdr => true (reference path: true)
	// $.bar[0:2] => ["a","b"] (reference path: false)
	// $.nope: not found
}

func ExampleSet() {
	input := mustDecode(`{"who": "AWS Step Functions"}`)
	ref, err := jsonpath.Compile("$.result.greeting")
	if err != nil {
		panic(err)
	}
	out, err := jsonpath.Set(input, ref, "Hello")
	if err != nil {
		panic(err)
	}
	after, _ := json.Marshal(out)
	before, _ := json.Marshal(input)
	fmt.Println(string(after))
	fmt.Println(string(before))
	// Output:
	// {"result":{"greeting":"Hello"},"who":"AWS Step Functions"}
	// {"who":"AWS Step Functions"}
}

func ExamplePath_Get_filter() {
	input := mustDecode(`{"items": [{"id": 1, "price": 8}, {"id": 2, "price": 12}, {"id": 3}]}`)
	p, err := jsonpath.Compile("$.items[?(@.price < 10 || !@.price)].id")
	if err != nil {
		panic(err)
	}
	v, err := p.Get(input)
	if err != nil {
		panic(err)
	}
	out, _ := json.Marshal(v)
	fmt.Println(string(out), p.IsDefinite())
	// Output: [1,3] false
}

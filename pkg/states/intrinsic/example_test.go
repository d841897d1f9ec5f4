package intrinsic_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/states/intrinsic"
	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

// resolver returns an Env.Resolve that reads "$…" paths from input; a real engine also
// resolves "$$…" against the context object.
func resolver(input any) func(string) (any, error) {
	return func(path string) (any, error) {
		p, err := jsonpath.Compile(path)
		if err != nil {
			return nil, err
		}
		return p.Get(input)
	}
}

func Example() {
	dec := json.NewDecoder(strings.NewReader(`{"name": "Arnav", "items": [1, 2, 2, 3]}`))
	dec.UseNumber()
	var input any
	if err := dec.Decode(&input); err != nil {
		panic(err)
	}
	call, err := intrinsic.Parse(`States.Format('{} has {} distinct items', $.name, States.ArrayLength(States.ArrayUnique($.items)))`)
	if err != nil {
		panic(err)
	}
	v, err := call.Eval(intrinsic.Env{Resolve: resolver(input)})
	if err != nil {
		panic(err)
	}
	fmt.Println(v)

	bad, err := intrinsic.Parse(`States.ArrayGetItem($.items, 9)`)
	if err != nil {
		panic(err)
	}
	_, err = bad.Eval(intrinsic.Env{Resolve: resolver(input)})
	fmt.Println(errors.Is(err, intrinsic.ErrIntrinsicFailure), err)
	// Output:
	// Arnav has 3 distinct items
	// true States.ArrayGetItem: index 9 is out of bounds for an array of length 4
}

func ExampleParse_error() {
	_, err := intrinsic.Parse(`States.Format('it\'s {}', $.name`)
	fmt.Println(err)
	// Output: invalid intrinsic function "States.Format('it\\'s {}', $.name": expected ',' or ')' in the arguments of States.Format, found end of input at position 32
}

package intrinsic

type arg struct{}

func parse(expr string) (*Call, error)    { return nil, ErrIntrinsicFailure }
func (c *Call) string() string            { return "" }
func (c *Call) eval(env Env) (any, error) { return nil, ErrIntrinsicFailure }

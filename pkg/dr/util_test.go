package dr

import (
	"errors"
	"strconv"
)

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

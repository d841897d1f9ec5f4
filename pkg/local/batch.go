package local

import "github.com/pendulum-dr/pendulum/pkg/states"

// wireBatch registers the nightly batch's functions (compact-plan,
// compact) on P's buckets.
func (l *Local) wireBatch(reg *states.Registry) error {
	return nil
}

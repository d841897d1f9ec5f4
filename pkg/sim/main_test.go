package sim

import (
	"os"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// TestMain makes every virtual clock of the package's tests check that
// only goroutines it accounts for wait on it: with every call taking
// virtual time, a call from any other goroutine would stop time or move it
// early.
func TestMain(m *testing.M) {
	clock.CheckAccounting(true)
	os.Exit(m.Run())
}

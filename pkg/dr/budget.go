package dr

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// Budget bounds one invocation of a long step (copy-back, merge,
// reconcile): at most MaxItems items and MaxDuration of work, and never
// closer than Margin to the context's deadline (the Lambda's), so a call
// always returns its cursor well within Lambda's 15 minutes and the state
// machine loops.
type Budget struct {
	MaxItems    int
	MaxDuration time.Duration
	Margin      time.Duration
}

// DefaultBudget is 1,000 items or 10 minutes, stopping 2 minutes before
// the deadline.
var DefaultBudget = Budget{MaxItems: 1000, MaxDuration: 10 * time.Minute, Margin: 2 * time.Minute}

// meter tracks one invocation's use of its budget.
type meter struct {
	b     Budget
	clk   clock.Clock
	start time.Time
	items int
}

func (b Budget) start(clk clock.Clock) *meter {
	if b.MaxItems <= 0 {
		b.MaxItems = DefaultBudget.MaxItems
	}
	if b.MaxDuration <= 0 {
		b.MaxDuration = DefaultBudget.MaxDuration
	}
	return &meter{b: b, clk: clk, start: clk.Now()}
}

// spent reports whether the invocation must stop and return its cursor;
// a cancelled context is an error (the work done so far is kept by the
// caller's cursor only if it returns one, so it returns the error and the
// state machine retries from the last cursor).
func (m *meter) spent(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return true, err
	}
	now := m.clk.Now()
	if m.items >= m.b.MaxItems || now.Sub(m.start) >= m.b.MaxDuration {
		return true, nil
	}
	if dl, ok := ctx.Deadline(); ok && dl.Sub(now) < m.b.Margin {
		return true, nil
	}
	return false, nil
}

// encodeCursor and decodeCursor make a step's resume point an opaque
// string for the state machine to pass back.
func encodeCursor(v any) *string {
	b, _ := json.Marshal(v)
	s := base64.RawURLEncoding.EncodeToString(b)
	return &s
}

func decodeCursor(s *string, v any) error {
	if s == nil || *s == "" {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*s)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return invalidf("cursor %q: not a cursor this step returned", *s)
	}
	return nil
}

// parseSince parses the since input (the failover's start).
func parseSince(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("since %q: want RFC 3339 (the failover's start, $.begin.since)", s)
	}
	return t, nil
}

// Package schedule evaluates the schedule expressions AWS services take:
// rate(...) and cron(...) as EventBridge rules, AWS Backup plans and
// EventBridge Scheduler accept them, and Scheduler's at(...). The
// simulator (pkg/sim) fires rules, schedules and backup plans with it, and
// the CDK app (infra) reads a deployed schedule's longest gap from it, so
// both read an expression the same way.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed schedule expression, as EventBridge rules
// (rate, cron) and EventBridge Scheduler schedules (rate, cron, at) take
// them. One evaluator serves both services, since both document the same
// six-field cron syntax:
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-scheduled-rule-pattern.html
// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
//
// Times are evaluated at minute precision, the finest either service
// offers. A cron expression is evaluated on the wall clock of the location
// next is given (UTC for EventBridge rules, the schedule's
// ScheduleExpressionTimezone for Scheduler); a wall time that a daylight
// saving change skips is skipped too, and one it repeats fires once.
type Expr struct {
	kind  string        // "rate", "cron" or "at"
	every time.Duration // rate
	at    [6]int        // at: year, month, day, hour, minute, second of the wall clock
	cron  *cronSpec
	text  string
}

// cronSpec is a parsed cron expression. Each set has bit v for value v.
type cronSpec struct {
	minutes, hours, months uint64
	years                  [4]uint64 // bit y-1970
	dom, dow               uint64
	domAny, dowAny         bool // "?" or "*": the field does not restrict
	domLast                bool // L: the last day of the month
	domLastWeekday         bool // LW: the last weekday of the month
	domWeekday             int  // nW: the weekday nearest day n; 0 if unused
	dowLast                int  // nL: the last day n of the month; 0 if unused
	dowNth, dowNthDay      int  // d#n: the nth day d of the month; 0 if unused
}

// Schedule expression dialects: EventBridge rules take rate and cron;
// Scheduler adds at() for one-time schedules.
const (
	Rule      = false
	Scheduler = true
)

// Parse parses a schedule expression; withAt (Scheduler) accepts at(...).
// The error names the problem, for the ValidationException of the caller.
func Parse(expr string, withAt bool) (Expr, error) {
	open, close := strings.IndexByte(expr, '('), strings.LastIndexByte(expr, ')')
	if open < 0 || close != len(expr)-1 {
		return Expr{}, errors.New("an expression is rate(...), cron(...) or at(...)")
	}
	body := expr[open+1 : close]
	switch expr[:open] {
	case "rate":
		d, err := parseRate(body)
		return Expr{kind: "rate", every: d, text: expr}, err
	case "cron":
		c, err := parseCron(body)
		return Expr{kind: "cron", cron: c, text: expr}, err
	case "at":
		if !withAt {
			break
		}
		t, err := time.Parse("2006-01-02T15:04:05", body)
		if err != nil {
			return Expr{}, errors.New("an at expression is at(yyyy-mm-ddThh:mm:ss)")
		}
		return Expr{kind: "at", at: [6]int{t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second()}, text: expr}, nil
	}
	if withAt {
		return Expr{}, fmt.Errorf("unknown expression type %q: want rate, cron or at", expr[:open])
	}
	return Expr{}, fmt.Errorf("unknown expression type %q: want rate or cron", expr[:open])
}

// parseRate parses "value unit". The value is a positive whole number and
// the unit minute(s), hour(s) or day(s), singular exactly when the value is
// 1, as the EventBridge user guide requires.
func parseRate(body string) (time.Duration, error) {
	f := strings.Fields(body)
	if len(f) != 2 {
		return 0, errors.New("a rate expression is rate(value unit)")
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 0 || n > 1_000_000 {
		return 0, fmt.Errorf("rate value %q must be a positive whole number", f[0])
	}
	unit := f[1]
	plural := strings.HasSuffix(unit, "s")
	var d time.Duration
	switch strings.TrimSuffix(unit, "s") {
	case "minute":
		d = time.Minute
	case "hour":
		d = time.Hour
	case "day":
		d = 24 * time.Hour
	default:
		return 0, fmt.Errorf("rate unit %q must be minute(s), hour(s) or day(s)", unit)
	}
	if (n == 1) == plural {
		if n == 1 {
			return 0, fmt.Errorf("rate unit must be singular for the value 1, not %q", unit)
		}
		return 0, fmt.Errorf("rate unit must be plural for the value %d, not %q", n, unit)
	}
	return time.Duration(n) * d, nil
}

var (
	cronMonthNames = map[string]int{"JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6, "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12}
	cronDayNames   = map[string]int{"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
)

// parseCron parses the six fields Minutes Hours Day-of-month Month
// Day-of-week Year. Day-of-month and Day-of-week cannot both restrict: one
// of them must be ?, as the cron expression reference requires
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html).
func parseCron(body string) (*cronSpec, error) {
	f := strings.Fields(body)
	if len(f) != 6 {
		return nil, fmt.Errorf("a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), not %d", len(f))
	}
	c := &cronSpec{}
	var err error
	if c.minutes, err = cronField(f[0], "minutes", 0, 59, nil); err != nil {
		return nil, err
	}
	if c.hours, err = cronField(f[1], "hours", 0, 23, nil); err != nil {
		return nil, err
	}
	if c.months, err = cronField(f[3], "month", 1, 12, cronMonthNames); err != nil {
		return nil, err
	}
	for _, part := range strings.Split(f[5], ",") {
		lo, hi, step, err := cronRange(part, "year", 1970, 2199, nil)
		if err != nil {
			return nil, err
		}
		for y := lo; y <= hi; y += step {
			c.years[(y-1970)/64] |= 1 << ((y - 1970) % 64)
		}
	}
	dom, dow := f[2], f[4]
	switch {
	case dom == "?" && dow == "?":
		return nil, errors.New("day-of-month and day-of-week cannot both be ?: one of them must be a value or *")
	case dom != "?" && dow != "?":
		return nil, fmt.Errorf("day-of-month %q and day-of-week %q cannot both be specified: one of them must be ?", dom, dow)
	}
	if err := c.parseDOM(dom); err != nil {
		return nil, err
	}
	if err := c.parseDOW(dow); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *cronSpec) parseDOM(s string) error {
	switch {
	case s == "?" || s == "*":
		c.domAny = true
		return nil
	case s == "L":
		c.domLast = true
		return nil
	case s == "LW":
		c.domLastWeekday = true
		return nil
	case strings.HasSuffix(s, "W"):
		n, err := strconv.Atoi(strings.TrimSuffix(s, "W"))
		if err != nil || n < 1 || n > 31 {
			return fmt.Errorf("day-of-month %q: W follows a single day 1-31", s)
		}
		c.domWeekday = n
		return nil
	case strings.ContainsAny(s, "LW?"):
		return fmt.Errorf("day-of-month %q: L, W and ? stand alone (L, LW, nW, ?)", s)
	}
	var err error
	c.dom, err = cronField(s, "day-of-month", 1, 31, nil)
	return err
}

func (c *cronSpec) parseDOW(s string) error {
	switch {
	case s == "?" || s == "*":
		c.dowAny = true
		return nil
	case s == "L":
		c.dow = 1 << 7 // the last day of the week: Saturday
		return nil
	case strings.Contains(s, "#"):
		d, n, ok := strings.Cut(s, "#")
		day, err := cronValue(d, 1, 7, cronDayNames)
		k, err2 := strconv.Atoi(n)
		if !ok || err != nil || err2 != nil || k < 1 || k > 5 || strings.Contains(n, ",") {
			return fmt.Errorf("day-of-week %q: # takes one day 1-7 or SUN-SAT and an occurrence 1-5, in a single expression", s)
		}
		c.dowNthDay, c.dowNth = day, k
		return nil
	case strings.HasSuffix(s, "L"):
		day, err := cronValue(strings.TrimSuffix(s, "L"), 1, 7, cronDayNames)
		if err != nil {
			return fmt.Errorf("day-of-week %q: L follows a single day 1-7 or SUN-SAT", s)
		}
		c.dowLast = day
		return nil
	case strings.ContainsAny(s, "L?"):
		return fmt.Errorf("day-of-week %q: L and ? stand alone (L, nL, ?)", s)
	}
	var err error
	c.dow, err = cronField(s, "day-of-week", 1, 7, cronDayNames)
	return err
}

// cronField parses a list of values, ranges and increments into a set.
func cronField(s, name string, min, max int, names map[string]int) (uint64, error) {
	var set uint64
	for _, part := range strings.Split(s, ",") {
		lo, hi, step, err := cronRange(part, name, min, max, names)
		if err != nil {
			return 0, err
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

// cronRange parses *, v, a-b, */n, v/n or a-b/n.
func cronRange(part, name string, min, max int, names map[string]int) (lo, hi, step int, err error) {
	rng, inc, hasStep := strings.Cut(part, "/")
	step = 1
	if hasStep {
		step, err = strconv.Atoi(inc)
		if err != nil || step < 1 || step > max {
			return 0, 0, 0, fmt.Errorf("%s %q: the increment after / must be a whole number 1-%d", name, part, max)
		}
	}
	switch a, b, isRange := strings.Cut(rng, "-"); {
	case rng == "*":
		lo, hi = min, max
	case isRange:
		if lo, err = cronValue(a, min, max, names); err == nil {
			hi, err = cronValue(b, min, max, names)
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%s %q: %w", name, part, err)
		}
		if lo > hi {
			return 0, 0, 0, fmt.Errorf("%s %q: the range start is after its end", name, part)
		}
	default:
		if lo, err = cronValue(rng, min, max, names); err != nil {
			return 0, 0, 0, fmt.Errorf("%s %q: %w", name, part, err)
		}
		hi = lo
		if hasStep { // v/n: from v to the end of the field
			hi = max
		}
	}
	return lo, hi, step, nil
}

func cronValue(s string, min, max int, names map[string]int) (int, error) {
	if v, ok := names[strings.ToUpper(s)]; ok {
		return v, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < min || v > max || s == "" || s[0] == '+' || s[0] == '-' {
		return 0, fmt.Errorf("%q is not a value %d-%d", s, min, max)
	}
	return v, nil
}

// Kind is "rate", "cron" or "at".
func (e Expr) Kind() string { return e.kind }

// String is the expression as it was parsed.
func (e Expr) String() string { return e.text }

// Next returns the first time strictly after after at which the expression
// fires; false when it never fires again. A rate fires every interval from
// anchor (the time the rule or schedule started); cron and at fire on the
// wall clock of loc.
func (e Expr) Next(after, anchor time.Time, loc *time.Location) (time.Time, bool) {
	switch e.kind {
	case "rate":
		if after.Before(anchor) {
			return anchor.Add(e.every), true
		}
		k := after.Sub(anchor)/e.every + 1
		return anchor.Add(k * e.every), true
	case "at":
		t := time.Date(e.at[0], time.Month(e.at[1]), e.at[2], e.at[3], e.at[4], e.at[5], 0, loc)
		return t, t.After(after)
	}
	return e.cron.next(after, loc)
}

// next is the first minute strictly after after that the cron matches.
func (c *cronSpec) next(after time.Time, loc *time.Location) (time.Time, bool) {
	t := after.In(loc)
	y, m, d := t.Date()
	h, mi := t.Hour(), t.Minute()+1 // the first candidate minute of day d
	for y <= 2199 {
		switch {
		case y < 1970 || c.years[(y-1970)/64]&(1<<((y-1970)%64)) == 0:
			y, m, d, h, mi = y+1, 1, 1, 0, 0
			continue
		case c.months&(1<<uint(m)) == 0:
			y, m, d, h, mi = cronNextMonth(y, m)
			continue
		case d > cronDaysIn(y, m):
			y, m, d, h, mi = cronNextMonth(y, m)
			continue
		case c.dayMatches(y, m, d):
			for ; h < 24; h, mi = h+1, 0 {
				if c.hours&(1<<uint(h)) == 0 {
					continue
				}
				for ; mi < 60; mi++ {
					if c.minutes&(1<<uint(mi)) == 0 {
						continue
					}
					cand := time.Date(y, m, d, h, mi, 0, 0, loc)
					if cand.Hour() == h && cand.Minute() == mi && cand.After(after) {
						return cand, true
					}
				}
			}
		}
		d, h, mi = d+1, 0, 0
	}
	return time.Time{}, false
}

func cronNextMonth(y int, m time.Month) (int, time.Month, int, int, int) {
	if m == 12 {
		return y + 1, 1, 1, 0, 0
	}
	return y, m + 1, 1, 0, 0
}

func cronDaysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dayMatches applies day-of-month and day-of-week to a date.
func (c *cronSpec) dayMatches(y int, m time.Month, d int) bool {
	last := cronDaysIn(y, m)
	wd := int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Weekday()) + 1 // SUN=1
	switch {
	case c.domLast:
		return d == last
	case c.domLastWeekday:
		return d == cronNearestWeekday(y, m, last)
	case c.domWeekday > 0:
		return c.domWeekday <= last && d == cronNearestWeekday(y, m, c.domWeekday)
	case c.dowLast > 0:
		return wd == c.dowLast && d+7 > last
	case c.dowNth > 0:
		return wd == c.dowNthDay && (d-1)/7+1 == c.dowNth
	case !c.domAny:
		return c.dom&(1<<uint(d)) != 0
	case !c.dowAny:
		return c.dow&(1<<uint(wd)) != 0
	}
	return true
}

// cronNearestWeekday is the weekday nearest day n of the month, not
// crossing into another month (Quartz's W, which EventBridge's follows).
func cronNearestWeekday(y int, m time.Month, n int) int {
	last := cronDaysIn(y, m)
	switch time.Date(y, m, n, 0, 0, 0, 0, time.UTC).Weekday() {
	case time.Saturday:
		if n == 1 {
			return 3 // Monday the 3rd
		}
		return n - 1
	case time.Sunday:
		if n == last {
			return n - 2 // Friday
		}
		return n + 1
	}
	return n
}

// matches reports whether the cron fires at minute t (on loc's wall clock).
func (c *cronSpec) matches(t time.Time, loc *time.Location) bool {
	t = t.In(loc)
	y, m, d := t.Date()
	return y >= 1970 && y <= 2199 && c.years[(y-1970)/64]&(1<<((y-1970)%64)) != 0 &&
		c.months&(1<<uint(m)) != 0 && c.dayMatches(y, m, d) &&
		c.hours&(1<<uint(t.Hour())) != 0 && c.minutes&(1<<uint(t.Minute())) != 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// maxIntervalHorizon is how far MaxInterval looks ahead: a year and a
// month, so every month, weekday and day-of-month pattern of a cron
// expression recurs in it.
const maxIntervalHorizon = 396 * 24 * time.Hour

// MaxInterval is the longest time between two consecutive firings of a
// recurring expression from from on, over the next year (cron on loc's wall
// clock; a rate's interval is its own). ok is false for at(...) and for an
// expression that fires fewer than twice in that year, which has no
// interval to speak of.
func (e Expr) MaxInterval(from time.Time, loc *time.Location) (longest time.Duration, ok bool) {
	switch e.kind {
	case "rate":
		return e.every, true
	case "at":
		return 0, false
	}
	end := from.Add(maxIntervalHorizon)
	prev, ok := e.Next(from, from, loc)
	if !ok || prev.After(end) {
		return 0, false
	}
	n := 1
	for {
		next, more := e.Next(prev, from, loc)
		if !more || next.After(end) {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev, n = next, n+1
	}
	return longest, n >= 2
}

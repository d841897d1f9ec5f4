package schedule

import (
	"testing"
	"time"
)

// scheduleTestStart is a Wednesday.
var scheduleTestStart = time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)

func TestScheduleNext(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, expr string
		after      time.Time
		loc        *time.Location
		want       []string // the next firings, RFC 3339 in UTC
	}{
		{"RateMinute", "rate(1 minute)", scheduleTestStart, time.UTC, []string{"2026-11-25T12:01:30Z", "2026-11-25T12:02:30Z"}},
		{"RateHours", "rate(2 hours)", scheduleTestStart, time.UTC, []string{"2026-11-25T14:00:30Z", "2026-11-25T16:00:30Z"}},
		{"WeeklyTuesday", "cron(0 10 ? * TUE *)", scheduleTestStart, time.UTC, []string{"2026-12-01T10:00:00Z", "2026-12-08T10:00:00Z"}},
		{"Nightly", "cron(30 1 * * ? *)", scheduleTestStart, time.UTC, []string{"2026-11-26T01:30:00Z", "2026-11-27T01:30:00Z"}},
		{"Increments", "cron(0/20 12-13 ? * WED *)", scheduleTestStart, time.UTC, []string{"2026-11-25T12:20:00Z", "2026-11-25T12:40:00Z", "2026-11-25T13:00:00Z"}},
		{"LastDayOfMonth", "cron(0 0 L * ? *)", scheduleTestStart, time.UTC, []string{"2026-11-30T00:00:00Z", "2026-12-31T00:00:00Z", "2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z"}},
		// 2027-05-15 is a Saturday, 2027-08-15 a Sunday: the weekday before and after.
		{"NearestWeekday", "cron(0 9 15W 5,8 ? *)", scheduleTestStart, time.UTC, []string{"2027-05-14T09:00:00Z", "2027-08-16T09:00:00Z"}},
		{"LastWeekday", "cron(0 9 LW * ? *)", scheduleTestStart, time.UTC, []string{"2026-11-30T09:00:00Z", "2026-12-31T09:00:00Z", "2027-01-29T09:00:00Z"}},
		{"ThirdFriday", "cron(0 12 ? * 6#3 *)", scheduleTestStart, time.UTC, []string{"2026-12-18T12:00:00Z", "2027-01-15T12:00:00Z"}},
		{"LastFriday", "cron(0 12 ? * 6L *)", scheduleTestStart, time.UTC, []string{"2026-11-27T12:00:00Z", "2026-12-25T12:00:00Z"}},
		{"LeapDay", "cron(0 0 29 FEB ? *)", scheduleTestStart, time.UTC, []string{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
		{"YearRange", "cron(0 0 1 1 ? 2027-2028)", scheduleTestStart, time.UTC, []string{"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
		{"AtOnce", "at(2026-12-01T09:30:00)", scheduleTestStart, time.UTC, []string{"2026-12-01T09:30:00Z"}},
		{"AtInZone", "at(2026-12-01T09:30:00)", scheduleTestStart, ny, []string{"2026-12-01T14:30:00Z"}},
		// New York leaves daylight saving time on 2026-11-01.
		{"CronInZone", "cron(0 9 ? * MON *)", time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), ny, []string{"2026-10-26T13:00:00Z", "2026-11-02T14:00:00Z"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.expr, Scheduler)
			if err != nil {
				t.Fatal(err)
			}
			after := tc.after
			for _, want := range tc.want {
				got, ok := e.Next(after, tc.after, tc.loc)
				if !ok {
					t.Fatalf("next(%s) = never, want %s", after, want)
				}
				if got.UTC().Format(time.RFC3339) != want {
					t.Fatalf("next(%s) = %s, want %s", after, got.UTC().Format(time.RFC3339), want)
				}
				after = got
			}
			if e.kind == "at" {
				if _, ok := e.Next(after, tc.after, tc.loc); ok {
					t.Fatal("an at() schedule fired twice")
				}
			}
		})
	}
}

func TestScheduleInvalid(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		withAt     bool
	}{
		{"FiveFields", "cron(0 10 * * ?)", Scheduler},
		{"BothDays", "cron(0 10 * * MON *)", Scheduler},
		{"NeitherDay", "cron(0 10 ? * ? *)", Scheduler},
		{"MinuteRange", "cron(60 10 * * ? *)", Scheduler},
		{"BackwardRange", "cron(0 10 ? * FRI-MON *)", Scheduler},
		{"YearTooLate", "cron(0 10 * * ? 2200)", Scheduler},
		{"QuestionInHours", "cron(0 ? * * ? *)", Scheduler},
		{"TwoNth", "cron(0 10 ? * 3#1,6#3 *)", Scheduler},
		{"ZeroIncrement", "cron(0/0 10 * * ? *)", Scheduler},
		{"RatePlural", "rate(1 minutes)", Rule},
		{"RateSingular", "rate(5 minute)", Rule},
		{"RateZero", "rate(0 hours)", Rule},
		{"RateSeconds", "rate(30 seconds)", Rule},
		{"AtForRule", "at(2026-12-01T09:30:00)", Rule},
		{"AtBadTime", "at(2026-12-01 09:30)", Scheduler},
		{"NoParens", "daily", Scheduler},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.expr, tc.withAt); err == nil {
				t.Fatalf("Parse(%q) = nil error, want one", tc.expr)
			}
		})
	}
}

// FuzzScheduleExpression checks that a parsed expression's next firing is
// after the given time, on a whole minute (cron), matched by the cron, and
// that no earlier minute in between matches.
func FuzzScheduleExpression(f *testing.F) {
	f.Add("cron(0 10 ? * TUE *)")
	f.Add("rate(7 minutes)")
	f.Fuzz(func(t *testing.T, expr string) {
		e, err := Parse(expr, Scheduler)
		if err != nil {
			return
		}
		got, ok := e.Next(scheduleTestStart, scheduleTestStart, time.UTC)
		if !ok {
			if e.kind == "rate" {
				t.Fatalf("%s never fires", expr)
			}
			return
		}
		if !got.After(scheduleTestStart) {
			t.Fatalf("%s: next = %s, not after %s", expr, got, scheduleTestStart)
		}
		if e.kind != "cron" {
			return
		}
		if !e.cron.matches(got, time.UTC) {
			t.Fatalf("%s: next = %s, which it does not match", expr, got)
		}
		start := scheduleTestStart.Truncate(time.Minute).Add(time.Minute)
		for m, n := start, 0; m.Before(got) && n < 5000; m, n = m.Add(time.Minute), n+1 {
			if e.cron.matches(m, time.UTC) {
				t.Fatalf("%s: next = %s, but %s matches first", expr, got, m)
			}
		}
	})
}

func TestMaxInterval(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want time.Duration
		ok   bool
	}{
		{"rate(1 hour)", time.Hour, true},
		{"rate(15 minutes)", 15 * time.Minute, true},
		{"cron(0 3 * * ? *)", 24 * time.Hour, true},
		{"cron(0 3,15 * * ? *)", 12 * time.Hour, true},
		{"cron(0 1,7 * * ? *)", 18 * time.Hour, true},
		// Weekdays only: Friday 03:00 to Monday 03:00.
		{"cron(0 3 ? * MON-FRI *)", 72 * time.Hour, true},
		// The first of the month: January 31 days is the longest gap.
		{"cron(0 0 1 * ? *)", 31 * 24 * time.Hour, true},
		{"cron(0 3 * * ? 2026)", 24 * time.Hour, true},
		{"cron(0 3 * * ? 2020)", 0, false},
		{"at(2027-01-01T00:00:00)", 0, false},
	} {
		e, err := Parse(tc.expr, Scheduler)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.expr, err)
		}
		got, ok := e.MaxInterval(scheduleTestStart, time.UTC)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: MaxInterval = %v, %v; want %v, %v", tc.expr, got, ok, tc.want, tc.ok)
		}
	}
}

package sim

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

func schedTestInput(name, expr, target string) *scheduler.CreateScheduleInput {
	return &scheduler.CreateScheduleInput{Name: aws.String(name), ScheduleExpression: aws.String(expr), ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target:             &schedtypes.Target{Arn: aws.String(target), RoleArn: aws.String("arn:aws:iam::111122223333:role/sched"), Input: aws.String(`{"mode":"isolated"}`)}}
}

// TestSchedulerStartsStateMachine replays the template's nightly schedule:
// cron(30 1 * * ? *) in UTC starts the state machine at 01:30 each day.
func TestSchedulerStartsStateMachine(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1")
	var mu sync.Mutex
	var starts []string
	w.SetStateMachineStarter(func(ctx context.Context, role, machine, input string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		starts = append(starts, w.Clock.Now().Format(time.RFC3339)+" "+role+" "+input)
		return machine + ":e", nil
	})
	s := w.Region("us-east-1").Scheduler()
	machine := "arn:aws:states:us-east-1:111122223333:stateMachine:NightlyBatch"
	if _, err := s.CreateSchedule(ctx, schedTestInput("pendulum-nightly-batch", "cron(30 1 * * ? *)", machine)); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, 50*time.Hour)
	if _, err := s.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("pendulum-nightly-batch")}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		`2026-11-25T01:30:00Z arn:aws:iam::111122223333:role/sched {"mode":"isolated"}`,
		`2026-11-26T01:30:00Z arn:aws:iam::111122223333:role/sched {"mode":"isolated"}`,
		`2026-11-27T01:30:00Z arn:aws:iam::111122223333:role/sched {"mode":"isolated"}`,
	}
	if got := strings.Join(starts, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("starts:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

// TestSchedulerInvokesLambda checks a one-time at() schedule invoking a
// function, deleted after completion, and a disabled schedule that does
// not fire.
func TestSchedulerInvokesLambda(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []string
	var w *World
	w, clk, l := lambdaTestWorld(t, map[string]LambdaHandler{"drill": func(ctx context.Context, p []byte) ([]byte, error) {
		mu.Lock()
		got = append(got, w.Clock.Now().Format(time.RFC3339)+" "+string(p))
		mu.Unlock()
		return nil, nil
	}})
	lambdaTestCreate(t, l, "drill", 10)
	s := w.Region("us-east-1").Scheduler()
	once := schedTestInput("once", "at(2026-11-25T09:00:00)", l.FunctionARN("drill"))
	once.ScheduleExpressionTimezone = aws.String("America/New_York")
	once.ActionAfterCompletion = schedtypes.ActionAfterCompletionDelete
	if _, err := s.CreateSchedule(ctx, once); err != nil {
		t.Fatal(err)
	}
	off := schedTestInput("off", "rate(1 minute)", l.FunctionARN("drill"))
	off.State = schedtypes.ScheduleStateDisabled
	if _, err := s.CreateSchedule(ctx, off); err != nil {
		t.Fatal(err)
	}
	clk.Sleep(ctx, 24*time.Hour)
	mu.Lock()
	defer mu.Unlock()
	if want := `2026-11-25T14:00:00Z {"mode":"isolated"}`; strings.Join(got, "\n") != want {
		t.Fatalf("invocations %v, want [%s]", got, want)
	}
	if _, err := s.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("once")}); ssmErrorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("GetSchedule after completion = %v, want ResourceNotFoundException (ActionAfterCompletion DELETE)", err)
	}
	g, err := s.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("off")})
	if err != nil {
		t.Fatal(err)
	}
	if g.State != schedtypes.ScheduleStateDisabled || aws.ToString(g.ScheduleExpressionTimezone) != "UTC" {
		t.Fatalf("GetSchedule = %s %s", g.State, aws.ToString(g.ScheduleExpressionTimezone))
	}
}

func TestSchedulerErrors(t *testing.T) {
	ctx := context.Background()
	w := NewWorld(clock.NewVirtual(glueTestStart), "111122223333", "us-east-1")
	s := w.Region("us-east-1").Scheduler()
	const target = "arn:aws:states:us-east-1:111122223333:stateMachine:M"
	if _, err := s.CreateSchedule(ctx, schedTestInput("exists", "rate(5 minutes)", target)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   *scheduler.CreateScheduleInput
		want string
	}{
		{"Exists", schedTestInput("exists", "rate(5 minutes)", target), "ConflictException"},
		{"CronFiveFields", schedTestInput("a", "cron(0 10 * * ?)", target), "ValidationException"},
		{"CronBothDays", schedTestInput("b", "cron(0 10 * * TUE *)", target), "ValidationException"},
		{"UnknownZone", func() *scheduler.CreateScheduleInput {
			in := schedTestInput("c", "rate(1 hour)", target)
			in.ScheduleExpressionTimezone = aws.String("Mars/Olympus_Mons")
			return in
		}(), "ValidationException"},
		{"NoTimeWindow", func() *scheduler.CreateScheduleInput {
			in := schedTestInput("d", "rate(1 hour)", target)
			in.FlexibleTimeWindow = nil
			return in
		}(), "ValidationException"},
		{"NoRole", func() *scheduler.CreateScheduleInput {
			in := schedTestInput("e", "rate(1 hour)", target)
			in.Target.RoleArn = nil
			return in
		}(), "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateSchedule(ctx, tc.in)
			if got := ssmErrorCode(err); got != tc.want {
				t.Fatalf("error code = %q, want %q (%v)", got, tc.want, err)
			}
		})
	}
	_, err := s.CreateSchedule(ctx, schedTestInput("f", "cron(0 10 * * TUE *)", target))
	if err == nil || !strings.Contains(err.Error(), "one of them must be ?") {
		t.Fatalf("cron error %v does not name the problem", err)
	}
	if _, err := s.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String("nope")}); ssmErrorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("DeleteSchedule of a missing schedule = %v, want ResourceNotFoundException", err)
	}
}

package sim

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
)

// Scheduler is one region's simulated EventBridge Scheduler: schedules
// with rate, cron and at expressions evaluated in their
// ScheduleExpressionTimezone on the world's clock (the shared evaluator of
// schedule.go), between StartDate and EndDate, invoking templated targets:
// a Lambda function (asynchronously, as Scheduler's Invoke template does),
// a Step Functions state machine (World.SetStateMachineStarter, with the
// target's RoleArn), an SQS queue or SNS topic. A rate schedule fires every
// interval from its StartDate, or from its creation.
// https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html
//
// Not modelled: flexible time windows (FLEXIBLE is accepted and fires at
// the window's start), the retry policy and dead-letter queue (a failed
// invocation is recorded in Invocations), schedule groups other than
// default, universal targets. Time zones other than UTC come from the
// system's time zone database.
type Scheduler struct {
	r *Region

	mu          sync.Mutex
	schedules   map[string]*schedule // by name, in the default group
	invocations []ScheduleInvocation
}

type schedule struct {
	in       scheduler.CreateScheduleInput
	expr     scheduleExpr
	loc      *time.Location
	arn      string
	created  time.Time
	modified time.Time
	stop     func() bool
	gen      int
}

// ScheduleInvocation is one invocation of a schedule's target.
type ScheduleInvocation struct {
	Schedule, TargetARN, Input string
	Time                       time.Time
	Err                        string // "" when it succeeded
}

// Scheduler returns the region's EventBridge Scheduler.
func (r *Region) Scheduler() *Scheduler {
	return r.service(scheduler.ServiceID, func() any { return &Scheduler{r: r, schedules: make(map[string]*schedule)} }).(*Scheduler)
}

func schedValidation(format string, args ...any) error {
	return &schedtypes.ValidationException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func schedNotFound(name string) error {
	return &schedtypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Schedule %s does not exist.", name))}
}

func schedCheckGroup(g *string) error {
	if n := aws.ToString(g); n != "" && n != "default" {
		return &schedtypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Schedule group %s does not exist.", n))}
	}
	return nil
}

// schedParse validates a schedule's input, as CreateSchedule and
// UpdateSchedule take it.
func schedParse(in *scheduler.CreateScheduleInput) (scheduleExpr, *time.Location, error) {
	name := aws.ToString(in.Name)
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(c rune) bool {
		return !(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
	}) {
		return scheduleExpr{}, nil, schedValidation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+", name)
	}
	expr, err := parseSchedule(aws.ToString(in.ScheduleExpression), scheduleScheduler)
	if err != nil {
		return scheduleExpr{}, nil, schedValidation("Invalid Schedule Expression %s: %v.", aws.ToString(in.ScheduleExpression), err)
	}
	loc := time.UTC
	if tz := aws.ToString(in.ScheduleExpressionTimezone); tz != "" && tz != "UTC" {
		if loc, err = time.LoadLocation(tz); err != nil || tz == "Local" {
			return scheduleExpr{}, nil, schedValidation("Invalid timezone: %s.", tz)
		}
	}
	switch w := in.FlexibleTimeWindow; {
	case w == nil:
		return scheduleExpr{}, nil, schedValidation("1 validation error detected: Value null at 'flexibleTimeWindow' failed to satisfy constraint: Member must not be null")
	case w.Mode == schedtypes.FlexibleTimeWindowModeOff && w.MaximumWindowInMinutes != nil:
		return scheduleExpr{}, nil, schedValidation("MaximumWindowInMinutes must not be set when Mode is OFF.")
	case w.Mode == schedtypes.FlexibleTimeWindowModeFlexible && (w.MaximumWindowInMinutes == nil || *w.MaximumWindowInMinutes < 1 || *w.MaximumWindowInMinutes > 1440):
		return scheduleExpr{}, nil, schedValidation("MaximumWindowInMinutes must be between 1 and 1440 when Mode is FLEXIBLE.")
	case w.Mode != schedtypes.FlexibleTimeWindowModeOff && w.Mode != schedtypes.FlexibleTimeWindowModeFlexible:
		return scheduleExpr{}, nil, schedValidation("1 validation error detected: Value '%s' at 'flexibleTimeWindow.mode' failed to satisfy constraint: Member must satisfy enum value set: [OFF, FLEXIBLE]", w.Mode)
	}
	switch t := in.Target; {
	case t == nil || aws.ToString(t.Arn) == "" || aws.ToString(t.RoleArn) == "":
		return scheduleExpr{}, nil, schedValidation("1 validation error detected: Value null at 'target.arn' or 'target.roleArn' failed to satisfy constraint: Member must not be null")
	case !strings.HasPrefix(aws.ToString(t.Arn), "arn:"):
		return scheduleExpr{}, nil, schedValidation("Invalid target ARN %s.", aws.ToString(t.Arn))
	}
	switch in.State {
	case "", schedtypes.ScheduleStateEnabled, schedtypes.ScheduleStateDisabled:
	default:
		return scheduleExpr{}, nil, schedValidation("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", in.State)
	}
	if in.StartDate != nil && in.EndDate != nil && !in.EndDate.After(*in.StartDate) {
		return scheduleExpr{}, nil, schedValidation("The EndDate must be after the StartDate.")
	}
	return expr, loc, nil
}

// CreateSchedule creates a schedule in the default group, ENABLED unless
// State says DISABLED; a name in use is ConflictException.
func (s *Scheduler) CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	const op = "CreateSchedule"
	if err := s.r.call(ctx, scheduler.ServiceID, op, in); err != nil {
		return nil, err
	}
	if err := schedCheckGroup(in.GroupName); err != nil {
		return nil, opErr(scheduler.ServiceID, op, err)
	}
	expr, loc, err := schedParse(in)
	if err != nil {
		return nil, opErr(scheduler.ServiceID, op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	name := aws.ToString(in.Name)
	if _, ok := s.schedules[name]; ok {
		return nil, opErr(scheduler.ServiceID, op, &schedtypes.ConflictException{Message: aws.String(fmt.Sprintf("Schedule %s already exists.", name))})
	}
	now := s.r.world.Clock.Now()
	sc := &schedule{in: *in, expr: expr, loc: loc, created: now, modified: now,
		arn: fmt.Sprintf("arn:aws:scheduler:%s:%s:schedule/default/%s", s.r.Name, s.r.world.Account, name)}
	s.schedules[name] = sc
	s.armLocked(sc)
	return &scheduler.CreateScheduleOutput{ScheduleArn: aws.String(sc.arn)}, nil
}

// UpdateSchedule replaces a schedule's definition (every field, as the API
// does: what is not given is reset to its default).
func (s *Scheduler) UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	const op = "UpdateSchedule"
	if err := s.r.call(ctx, scheduler.ServiceID, op, in); err != nil {
		return nil, err
	}
	if err := schedCheckGroup(in.GroupName); err != nil {
		return nil, opErr(scheduler.ServiceID, op, err)
	}
	def := scheduler.CreateScheduleInput{Name: in.Name, ScheduleExpression: in.ScheduleExpression, ScheduleExpressionTimezone: in.ScheduleExpressionTimezone,
		FlexibleTimeWindow: in.FlexibleTimeWindow, Target: in.Target, State: in.State, Description: in.Description,
		StartDate: in.StartDate, EndDate: in.EndDate, ActionAfterCompletion: in.ActionAfterCompletion, GroupName: in.GroupName}
	expr, loc, err := schedParse(&def)
	if err != nil {
		return nil, opErr(scheduler.ServiceID, op, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[aws.ToString(in.Name)]
	if !ok {
		return nil, opErr(scheduler.ServiceID, op, schedNotFound(aws.ToString(in.Name)))
	}
	s.stopLocked(sc)
	sc.in, sc.expr, sc.loc, sc.modified = def, expr, loc, s.r.world.Clock.Now()
	s.armLocked(sc)
	return &scheduler.UpdateScheduleOutput{ScheduleArn: aws.String(sc.arn)}, nil
}

// DeleteSchedule deletes a schedule.
func (s *Scheduler) DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error) {
	const op = "DeleteSchedule"
	if err := s.r.call(ctx, scheduler.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[aws.ToString(in.Name)]
	if !ok || schedCheckGroup(in.GroupName) != nil {
		return nil, opErr(scheduler.ServiceID, op, schedNotFound(aws.ToString(in.Name)))
	}
	s.stopLocked(sc)
	delete(s.schedules, aws.ToString(in.Name))
	return &scheduler.DeleteScheduleOutput{}, nil
}

// GetSchedule describes a schedule.
func (s *Scheduler) GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	const op = "GetSchedule"
	if err := s.r.call(ctx, scheduler.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sc, ok := s.schedules[aws.ToString(in.Name)]
	if !ok || schedCheckGroup(in.GroupName) != nil {
		return nil, opErr(scheduler.ServiceID, op, schedNotFound(aws.ToString(in.Name)))
	}
	in2 := sc.in
	state := in2.State
	if state == "" {
		state = schedtypes.ScheduleStateEnabled
	}
	tz := aws.ToString(in2.ScheduleExpressionTimezone)
	if tz == "" {
		tz = "UTC"
	}
	action := in2.ActionAfterCompletion
	if action == "" {
		action = schedtypes.ActionAfterCompletionNone
	}
	created, modified := sc.created, sc.modified
	return &scheduler.GetScheduleOutput{Arn: aws.String(sc.arn), Name: in2.Name, GroupName: aws.String("default"),
		ScheduleExpression: in2.ScheduleExpression, ScheduleExpressionTimezone: aws.String(tz), State: state,
		FlexibleTimeWindow: in2.FlexibleTimeWindow, Target: in2.Target, Description: in2.Description,
		StartDate: in2.StartDate, EndDate: in2.EndDate, ActionAfterCompletion: action,
		CreationDate: &created, LastModificationDate: &modified}, nil
}

func (s *Scheduler) stopLocked(sc *schedule) {
	if sc.stop != nil {
		sc.stop()
		sc.stop = nil
	}
	sc.gen++
}

// armLocked sets the timer of an enabled schedule's next invocation within
// its StartDate and EndDate; s.mu must be held.
func (s *Scheduler) armLocked(sc *schedule) {
	if sc.in.State == schedtypes.ScheduleStateDisabled {
		return
	}
	clk := s.r.world.Clock
	anchor := sc.modified
	if sc.in.StartDate != nil {
		anchor = *sc.in.StartDate
	}
	gen := sc.gen
	var arm func(after time.Time)
	arm = func(after time.Time) {
		if sc.in.StartDate != nil && after.Before(*sc.in.StartDate) && sc.expr.Kind() != "rate" {
			after = sc.in.StartDate.Add(-time.Nanosecond)
		}
		next, ok := sc.expr.Next(after, anchor, sc.loc)
		if sc.expr.Kind() == "rate" && sc.in.StartDate != nil && after.Before(*sc.in.StartDate) {
			next = *sc.in.StartDate // a rate schedule first fires at its StartDate
		}
		if !ok || (sc.in.EndDate != nil && sc.expr.Kind() != "at" && !next.Before(*sc.in.EndDate)) {
			return
		}
		sc.stop = clk.AfterFunc(next.Sub(clk.Now()), func() {
			s.mu.Lock()
			if sc.gen != gen || s.schedules[aws.ToString(sc.in.Name)] != sc {
				s.mu.Unlock()
				return
			}
			target := *sc.in.Target
			name := aws.ToString(sc.in.Name)
			arm(next)
			if sc.expr.Kind() == "at" && sc.in.ActionAfterCompletion == schedtypes.ActionAfterCompletionDelete {
				delete(s.schedules, name)
			}
			s.mu.Unlock()
			if s.r.world.Down(s.r.Name) {
				return
			}
			input := aws.ToString(target.Input)
			err := s.r.deliverTarget(serviceCall{Role: aws.ToString(target.RoleArn), Via: "scheduler.amazonaws.com", Service: scheduler.ServiceID}, aws.ToString(target.Arn), input)
			inv := ScheduleInvocation{Schedule: name, TargetARN: aws.ToString(target.Arn), Input: input, Time: clk.Now()}
			if err != nil {
				inv.Err = err.Error()
			}
			s.mu.Lock()
			s.invocations = append(s.invocations, inv)
			s.mu.Unlock()
		})
	}
	arm(clk.Now())
}

// Invocations returns the schedules' target invocations so far, oldest
// first, without counting an API call.
func (s *Scheduler) Invocations() []ScheduleInvocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]ScheduleInvocation(nil), s.invocations...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

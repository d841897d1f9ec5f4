package sim

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

const (
	targetTestMachine = "arn:aws:states:us-east-1:111122223333:stateMachine:Failover"
	targetTestRole    = "arn:aws:iam::111122223333:role/target"
)

// targetTestWorld is a world with IAM enforced whose state machine starter
// records the roles it starts executions with.
func targetTestWorld(t *testing.T) (*World, *clock.Virtual, func() []string) {
	t.Helper()
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1")
	w.EnforceIAM(true)
	var mu sync.Mutex
	var started []string
	w.SetStateMachineStarter(func(ctx context.Context, role, machine, input string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, role+" "+machine)
		return machine + ":exec", nil
	})
	return w, clk, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), started...)
	}
}

// TestEventTargetRoleIsAuthorized: a rule's state machine target starts
// the execution as the target's RoleArn, which needs states:StartExecution
// on the machine; without it the delivery fails and the denial is
// recorded.
func TestEventTargetRoleIsAuthorized(t *testing.T) {
	ctx := context.Background()
	fire := func(t *testing.T, actions ...string) (*World, []EventDelivery, []string) {
		w, clk, started := targetTestWorld(t)
		svcRole(t, w, targetTestRole, "events.amazonaws.com", actions...)
		eb := w.Region("us-east-1").EventBridge()
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("failover"), EventPattern: aws.String(`{"source":["pendulum.health"]}`)}); err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("failover"), Targets: []ebtypes.Target{{
			Id: aws.String("Target0"), Arn: aws.String(targetTestMachine), RoleArn: aws.String(targetTestRole)}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{{
			Source: aws.String("pendulum.health"), DetailType: aws.String("Unhealthy"), Detail: aws.String(`{}`)}}}); err != nil {
			t.Fatal(err)
		}
		clk.Sleep(ctx, time.Second)
		return w, eb.Deliveries(), started()
	}
	t.Run("allowed", func(t *testing.T) {
		w, d, started := fire(t, "states:StartExecution")
		if len(d) != 1 || d[0].Err != "" {
			t.Fatalf("deliveries %+v, want one that succeeded", d)
		}
		if want := targetTestRole + " " + targetTestMachine; len(started) != 1 || started[0] != want {
			t.Fatalf("started %v, want [%s]", started, want)
		}
		if got := w.Denied(); len(got) != 0 {
			t.Fatalf("denials %+v, want none", got)
		}
	})
	t.Run("no states:StartExecution", func(t *testing.T) {
		w, d, started := fire(t, "states:DescribeExecution")
		if len(d) != 1 || !strings.Contains(d[0].Err, "is not authorized to perform: states:StartExecution on resource: "+targetTestMachine) {
			t.Fatalf("deliveries %+v, want one failed for states:StartExecution", d)
		}
		if len(started) != 0 {
			t.Fatalf("started %v without states:StartExecution", started)
		}
		wantOneDenial(t, w, targetTestRole, "events.amazonaws.com", "EventBridge", "StartExecution", "states:StartExecution", targetTestMachine)
	})
	t.Run("untrusted", func(t *testing.T) {
		w, clk, started := targetTestWorld(t)
		svcRole(t, w, targetTestRole, "scheduler.amazonaws.com", "states:StartExecution")
		eb := w.Region("us-east-1").EventBridge()
		if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("tick"), ScheduleExpression: aws.String("rate(1 minute)")}); err != nil {
			t.Fatal(err)
		}
		if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("tick"), Targets: []ebtypes.Target{{
			Id: aws.String("Target0"), Arn: aws.String(targetTestMachine), RoleArn: aws.String(targetTestRole)}}}); err != nil {
			t.Fatal(err)
		}
		clk.Sleep(ctx, 90*time.Second)
		if d := eb.Deliveries(); len(d) != 1 || d[0].Err == "" || len(started()) != 0 {
			t.Fatalf("deliveries %+v, started %v: want one failed delivery", d, started())
		}
		wantOneDenial(t, w, targetTestRole, "events.amazonaws.com", "EventBridge", "StartExecution", "sts:AssumeRole", targetTestRole)
	})
}

// TestScheduleTargetRoleIsAuthorized: a schedule invokes its target as its
// role: states:StartExecution for a state machine, lambda:InvokeFunction
// for a function.
func TestScheduleTargetRoleIsAuthorized(t *testing.T) {
	ctx := context.Background()
	run := func(t *testing.T, w *World, clk *clock.Virtual, target string) []ScheduleInvocation {
		s := w.Region("us-east-1").Scheduler()
		in := schedTestInput("once", "at(2026-11-25T12:00:00)", target)
		in.Target.RoleArn = aws.String(targetTestRole)
		if _, err := s.CreateSchedule(ctx, in); err != nil {
			t.Fatal(err)
		}
		clk.Sleep(ctx, 48*time.Hour)
		return s.Invocations()
	}
	t.Run("state machine allowed", func(t *testing.T) {
		w, clk, started := targetTestWorld(t)
		svcRole(t, w, targetTestRole, "scheduler.amazonaws.com", "states:StartExecution")
		if inv := run(t, w, clk, targetTestMachine); len(inv) != 1 || inv[0].Err != "" || len(started()) != 1 {
			t.Fatalf("invocations %+v, started %v: want one that succeeded", inv, started())
		}
		if got := w.Denied(); len(got) != 0 {
			t.Fatalf("denials %+v, want none", got)
		}
	})
	t.Run("no states:StartExecution", func(t *testing.T) {
		w, clk, started := targetTestWorld(t)
		svcRole(t, w, targetTestRole, "scheduler.amazonaws.com", "lambda:InvokeFunction")
		inv := run(t, w, clk, targetTestMachine)
		if len(inv) != 1 || !strings.Contains(inv[0].Err, "not authorized to perform: states:StartExecution") || len(started()) != 0 {
			t.Fatalf("invocations %+v, started %v: want one failed for states:StartExecution", inv, started())
		}
		wantOneDenial(t, w, targetTestRole, "scheduler.amazonaws.com", "Scheduler", "StartExecution", "states:StartExecution", targetTestMachine)
	})
	t.Run("no lambda:InvokeFunction", func(t *testing.T) {
		ran := 0
		w, clk, l := lambdaTestWorld(t, map[string]LambdaHandler{"drill": func(context.Context, []byte) ([]byte, error) { ran++; return nil, nil }})
		lambdaTestCreate(t, l, "drill", 10)
		w.EnforceIAM(true)
		svcRole(t, w, targetTestRole, "scheduler.amazonaws.com", "states:StartExecution")
		inv := run(t, w, clk, l.FunctionARN("drill"))
		if len(inv) != 1 || !strings.Contains(inv[0].Err, "not authorized to perform: lambda:InvokeFunction") || ran != 0 {
			t.Fatalf("invocations %+v, ran %d: want one failed for lambda:InvokeFunction", inv, ran)
		}
		wantOneDenial(t, w, targetTestRole, "scheduler.amazonaws.com", "Scheduler", "Invoke", "lambda:InvokeFunction", l.FunctionARN("drill"))
	})
}

// TestLambdaInvokeNeedsInvokeFunction: Invoke is authorized as
// lambda:InvokeFunction on the function's ARN, the qualified ARN when a
// qualifier is given.
func TestLambdaInvokeNeedsInvokeFunction(t *testing.T) {
	const caller = "arn:aws:iam::111122223333:role/caller"
	w, _, l := lambdaTestWorld(t, map[string]LambdaHandler{"echo": func(_ context.Context, p []byte) ([]byte, error) { return p, nil }})
	lambdaTestCreate(t, l, "echo", 10)
	w.EnforceIAM(true)
	if err := w.CreateRole(caller); err != nil {
		t.Fatal(err)
	}
	ctx := WithPrincipal(context.Background(), caller)
	arn := l.FunctionARN("echo")
	invoke := func(qualifier string) error {
		in := &lambda.InvokeInput{FunctionName: aws.String("echo"), Payload: []byte(`{}`)}
		if qualifier != "" {
			in.Qualifier = aws.String(qualifier)
		}
		_, err := l.Invoke(ctx, in)
		return err
	}
	wantDenied := func(err error, resource string) {
		t.Helper()
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "AccessDeniedException" {
			t.Fatalf("Invoke: %v, want AccessDeniedException", err)
		}
		if want := "is not authorized to perform: lambda:InvokeFunction on resource: " + resource + " because"; !strings.Contains(api.ErrorMessage(), want) {
			t.Fatalf("message %q, want it to contain %q", api.ErrorMessage(), want)
		}
		d := w.Denied()
		if got := d[len(d)-1]; got.Action != "lambda:InvokeFunction" || got.Resource != resource || got.Operation != "Invoke" || got.Principal != caller {
			t.Fatalf("denial %+v", got)
		}
	}
	wantDenied(invoke(""), arn)
	// The unqualified ARN does not grant the qualified one.
	if err := w.PutRolePolicy(caller, "invoke", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"`+arn+`"}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := invoke(""); err != nil {
		t.Fatalf("Invoke with lambda:InvokeFunction: %v", err)
	}
	wantDenied(invoke("$LATEST"), arn+":$LATEST")
	if err := w.PutRolePolicy(caller, "invoke", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":["`+arn+`","`+arn+`:*"]}]}`)); err != nil {
		t.Fatal(err)
	}
	if err := invoke("$LATEST"); err != nil {
		t.Fatalf("Invoke of $LATEST with lambda:InvokeFunction on %s:*: %v", arn, err)
	}
}

package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// TestInjectedFaultSurvivesOutage checks that a call failing because its
// region is down (or its context is cancelled) does not spend a fault.
func TestInjectedFaultSurvivesOutage(t *testing.T) {
	w := NewWorld(clock.NewVirtual(time.Unix(0, 0)), "111111111111", "us-east-1")
	boom := errors.New("injected")
	w.Inject(&Fault{Region: "us-east-1", Service: sns.ServiceID, Operation: "CreateTopic", Err: boom, Times: 1})
	topics := w.Region("us-east-1").SNS()
	in := &sns.CreateTopicInput{Name: aws.String("t")}

	w.SetDown("us-east-1", true)
	if _, err := topics.CreateTopic(context.Background(), in); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("while down: %v, want ErrUnreachable", err)
	}
	w.SetDown("us-east-1", false)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := topics.CreateTopic(cancelled, in); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
	if _, err := topics.CreateTopic(context.Background(), in); !errors.Is(err, boom) {
		t.Fatalf("first reachable call: %v, want the injected fault", err)
	}
	if _, err := topics.CreateTopic(context.Background(), in); err != nil {
		t.Fatalf("after the fault is spent: %v", err)
	}
	if got, want := w.CallCount(CallKey{Operation: "CreateTopic"}), 4; got != want {
		t.Fatalf("calls counted = %d, want %d (failed calls count too)", got, want)
	}
}

// TestRemoveFault removes one fault and keeps the others.
func TestRemoveFault(t *testing.T) {
	w := NewWorld(clock.NewVirtual(time.Unix(0, 0)), "111111111111", "us-east-1")
	first, second := errors.New("first"), errors.New("second")
	f1 := &Fault{Service: sns.ServiceID, Operation: "CreateTopic", Err: first}
	w.Inject(f1)
	w.Inject(&Fault{Service: sns.ServiceID, Operation: "CreateTopic", Err: second})
	topics := w.Region("us-east-1").SNS()
	in := &sns.CreateTopicInput{Name: aws.String("t")}
	if _, err := topics.CreateTopic(context.Background(), in); !errors.Is(err, first) {
		t.Fatalf("with both faults: %v, want the first", err)
	}
	w.RemoveFault(f1)
	w.RemoveFault(f1) // removing it again changes nothing
	if _, err := topics.CreateTopic(context.Background(), in); !errors.Is(err, second) {
		t.Fatalf("after removing the first: %v, want the second", err)
	}
}

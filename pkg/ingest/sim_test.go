package ingest

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// TestWithSimulatedRegions runs the handler against pkg/sim's Kinesis: the
// same code path as in the cloud, against AWS's own error codes.
func TestWithSimulatedRegions(t *testing.T) {
	const stream = "pendulum-ingest"
	clk := clock.NewVirtual(testStart)
	world := sim.NewWorld(clk, "123456789012", "eu-west-1", "us-east-1")
	primary := world.Region("eu-west-1").Kinesis()
	if _, err := primary.CreateStream(t.Context(), &kinesis.CreateStreamInput{StreamName: aws.String(stream)}); err != nil {
		t.Fatal(err)
	}
	if err := clk.Sleep(t.Context(), time.Minute+primary.CreateDelay); err != nil {
		t.Fatal(err)
	}
	handler := func(region string, k Putter) *Handler {
		h, _ := newTestHandler(k, clk)
		h.Region = region
		return h
	}

	t.Run("ThrottledRecordsRetried", func(t *testing.T) {
		primary.ThrottleRecords(stream, 7)
		resp, _ := handler("eu-west-1", primary).Handle(t.Context(), postNDJSON(ndjson(20)))
		if got, want := resp.StatusCode, http.StatusOK; got != want {
			t.Fatalf("status = %d, want %d (%s)", got, want, resp.Body)
		}
		if got, want := primary.RecordCount(stream), 20; got != want {
			t.Fatalf("stream holds %d records, want %d: each exactly once", got, want)
		}
	})
	t.Run("DormantRegionHasNoStream", func(t *testing.T) {
		backup := world.Region("us-east-1").Kinesis()
		resp, _ := handler("us-east-1", backup).Handle(t.Context(), postNDJSON(ndjson(2)))
		if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if got, want := resp.Headers["Retry-After"], "5"; got != want {
			t.Fatalf("Retry-After = %q, want %q", got, want)
		}
	})
	t.Run("RegionDown", func(t *testing.T) {
		world.SetDown("eu-west-1", true)
		defer world.SetDown("eu-west-1", false)
		before := primary.RecordCount(stream)
		start := clk.Now()
		resp, _ := handler("eu-west-1", primary).Handle(t.Context(), postNDJSON(ndjson(2)))
		if got, want := resp.StatusCode, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status = %d, want %d", got, want)
		}
		if spent := clk.Now().Sub(start); spent == 0 || spent > DefaultBudget {
			t.Fatalf("spent %v retrying an unreachable endpoint; want within (0, %v]", spent, DefaultBudget)
		}
		if got := primary.RecordCount(stream); got != before {
			t.Fatalf("stream grew from %d to %d while down", before, got)
		}
	})
}

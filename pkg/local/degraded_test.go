package local

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/producer"
	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// steady runs a producer through the accelerator, one record a second,
// until the returned stop is called (stop waits for it and sends what is
// spooled).
func steady(t *testing.T, l *Local, name string) (*producer.Producer, func()) {
	t.Helper()
	ctx := context.Background()
	p, err := producer.Open(producer.Config{Dir: t.TempDir(), Endpoint: "http://" + l.AcceleratorDNS, Client: l.HTTPClient(),
		Clock: l.Clock, Name: name, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	pctx, cancel := context.WithCancel(ctx)
	run := l.Clock.Go(func() { _ = p.Run(pctx) })
	gen := l.Clock.Go(func() {
		for i := 0; pctx.Err() == nil; i++ {
			if _, err := p.Produce(pctx, fmt.Appendf(nil, `{"n":%d}`, i)); err != nil {
				return
			}
			if l.Clock.Sleep(pctx, time.Second) != nil {
				return
			}
		}
	})
	stopped := false
	return p, func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		_ = l.Clock.Await(ctx, gen, 0)
		_ = l.Clock.Await(ctx, run, 0)
		if err := p.Send(ctx); err != nil {
			t.Fatalf("send %s: %v", name, err)
		}
	}
}

// controlRecord reads the DR control record as dr-control does.
func controlRecord(t *testing.T, l *Local) dr.ControlRecord {
	t.Helper()
	r, _, err := (&dr.Control{DB: l.World.Region(l.Regions.Backup).DynamoDB(), Table: l.Names.ControlTable()}).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// markerIDs returns the record ids with a marker in region's aggregates.
func markerIDs(t *testing.T, l *Local, region string) map[string]bool {
	t.Helper()
	db := l.World.Region(region).DynamoDB()
	ids := map[string]bool{}
	var start map[string]ddbtypes.AttributeValue
	for {
		out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(l.Names.AggregatesTable()), ExclusiveStartKey: start})
		if err != nil {
			t.Fatalf("scan %s: %v", region, err)
		}
		for _, it := range out.Items {
			if pk, ok := it["pk"].(*ddbtypes.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "R#") {
				ids[pk.Value[2:]] = true
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return ids
		}
		start = out.LastEvaluatedKey
	}
}

// subjects are the DR topic's notification subjects, in order.
func subjects(l *Local) []string {
	var out []string
	for _, m := range l.World.Region(l.Regions.Backup).SNS().Published(l.Names.TopicARN(l.Regions.Backup)) {
		out = append(out, m.Subject)
	}
	return out
}

// TestFailoverDegradedThenRetryRestore: the aggregates restore fails
// (with P down and no recovery point yet in B's vault, or with both
// restore paths failing): producers are still moved to and served by B,
// the failover ends RestoreDegraded with the mode FAILED_OVER and the
// restore pending, the DR topic hears that it is degraded and why, B's
// consumer is not started (B's stream keeps the records), failback is
// refused. Once the cause is gone, {"retryRestore":true} restores, replays,
// starts the consumer and completes; B's aggregates then count every
// record, and failback brings them to P exactly once.
func TestFailoverDegradedThenRetryRestore(t *testing.T) {
	denied := func(op string) error {
		return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized to perform: " + op}
	}
	for _, tt := range []struct {
		name, wantReason string
		opts             Options
		breakIt, fixIt   func(l *Local)
	}{
		{
			name: "NoRecoveryPoint", wantReason: "no recovery point of the aggregates table",
			// Deployed at 09:00: the daily 03:00 backup has not run yet.
			breakIt: func(l *Local) { l.World.SetDown(l.Regions.Primary, true) },
			fixIt:   func(l *Local) { l.World.SetDown(l.Regions.Primary, false) },
		},
		{
			name: "BothRestoresFail", wantReason: "aggregates restore failed: Backup.AccessDeniedE...",
			opts: Options{EditTemplate: withBackupSchedule("cron(0/10 * * * ? *)")},
			breakIt: func(l *Local) {
				l.World.Inject(&sim.Fault{Region: l.Regions.Backup, Service: "DynamoDB", Operation: "RestoreTableToPointInTime", Err: denied("dynamodb:RestoreTableToPointInTime")})
				l.World.Inject(&sim.Fault{Region: l.Regions.Backup, Service: "Backup", Operation: "StartRestoreJob", Err: denied("backup:StartRestoreJob")})
			},
			fixIt: func(l *Local) { l.World.ClearFaults() },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			opts := tt.opts
			opts.NoAutoFailover, opts.NoCanary = true, true
			l := newLocal(t, opts)
			P, B := l.Regions.Primary, l.Regions.Backup
			first := produce(t, l, "before", 20)
			if err := l.Sleep(ctx, 40*time.Minute); err != nil { // counted in P, replicated, a backup copied (10-minute plan)
				t.Fatal(err)
			}
			tt.breakIt(l)
			p, stop := steady(t, l, "steady")
			defer stop()
			x, res := run(t, l, "failover", `{}`)
			mustStatus(t, x, res, states.StatusFailed, "RestoreDegraded")
			if !strings.Contains(res.Cause, `{"retryRestore":true}`) {
				t.Fatalf("cause %q does not say how to retry", res.Cause)
			}
			rec := controlRecord(t, l)
			if rec.Mode != dr.ModeFailedOver || !rec.RestorePending || rec.DegradedReason != tt.wantReason {
				t.Fatalf("control record %+v, want FAILED_OVER, restore pending, reason %q", rec, tt.wantReason)
			}
			var facts map[string]json.RawMessage
			if err := json.Unmarshal(rec.FailoverFacts, &facts); err != nil || string(facts[dr.FactOutcome]) != `"degraded"` || string(facts[dr.FactRestorePending]) != "true" {
				t.Fatalf("facts %s, want outcome degraded and restorePending", rec.FailoverFacts)
			}
			subs := subjects(l)
			if want := "Pendulum: failover to " + B + " DEGRADED: " + tt.wantReason; len(subs) == 0 || subs[len(subs)-1] != want {
				t.Fatalf("notifications %q, want the last %q", subs, want)
			}
			// Ingest moved: B serves and acknowledges, its consumer is off
			// and there is no table in B for it to write to.
			if err := l.Sleep(ctx, 2*time.Minute); err != nil {
				t.Fatal(err)
			}
			if got := servedBy(t, l); got != B {
				t.Fatalf("served by %q, want %s", got, B)
			}
			st := l.RegionStats(B)
			if st.FirstAck.IsZero() || st.FirstAck.After(res.StopDate) {
				t.Fatalf("B first acknowledged at %v, the failover ended %v: want producers served before the end", st.FirstAck, res.StopDate)
			}
			if l.ConsumerRunning(B) {
				t.Fatal("B's consumer runs although its table was not restored")
			}
			if _, err := l.World.Region(B).DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.Names.AggregatesTable())}); err == nil {
				t.Fatal("an aggregates table exists in B after a failed restore")
			}
			// A plain failover changes nothing; failback is refused.
			x2, res2 := run(t, l, "failover", `{}`)
			mustStatus(t, x2, res2, states.StatusSucceeded, "")
			if !strings.Contains(string(res2.Output), "retryRestore") {
				t.Fatalf("plain re-run output %s, want a no-op pointing at retryRestore", res2.Output)
			}
			fb, fbres := run(t, l, "failback", `{"minHealthyMinutes":0}`)
			mustStatus(t, fb, fbres, states.StatusFailed, "Refused")
			if !strings.Contains(fbres.Cause, "degraded") {
				t.Fatalf("failback refusal %q does not say why", fbres.Cause)
			}

			// The cause goes away; the restore is retried alone.
			tt.fixIt(l)
			if err := l.Sleep(ctx, 10*time.Minute); err != nil {
				t.Fatal(err)
			}
			weights := l.World.CallCount(sim.CallKey{Service: "Global Accelerator", Operation: "UpdateEndpointGroup"})
			rx, rres := run(t, l, "failover", `{"retryRestore":true}`)
			mustStatus(t, rx, rres, states.StatusSucceeded, "")
			if got := l.World.CallCount(sim.CallKey{Service: "Global Accelerator", Operation: "UpdateEndpointGroup"}); got != weights {
				t.Fatalf("the restore retry changed endpoint weights (%d → %d calls)", weights, got)
			}
			rec = controlRecord(t, l)
			if rec.Mode != dr.ModeFailedOver || rec.RestorePending {
				t.Fatalf("record after the retry %+v", rec)
			}
			if !l.ConsumerRunning(B) {
				t.Fatal("B's consumer is not running after the retry")
			}
			stop()
			if err := l.Sleep(ctx, 5*time.Minute); err != nil { // B's consumer reads its stream's backlog
				t.Fatal(err)
			}
			inB := markerIDs(t, l, B)
			acked := append(first.AckedIDs(), p.AckedIDs()...)
			missing := 0
			for _, id := range acked {
				if !inB[id] {
					missing++
				}
			}
			if missing != 0 || len(inB) != len(acked) {
				t.Fatalf("B's aggregates: %d of %d acknowledged records missing, %d markers", missing, len(acked), len(inB))
			}

			// Failback now proceeds (no canary runs here: no healthy window
			// is asked for) and P counts every record once.
			bx, bres := run(t, l, "failback", `{"minHealthyMinutes":0}`)
			mustStatus(t, bx, bres, states.StatusSucceeded, "")
			if err := l.Sleep(ctx, 5*time.Minute); err != nil {
				t.Fatal(err)
			}
			inP := markerIDs(t, l, P)
			for _, id := range acked {
				if !inP[id] {
					missing++
				}
			}
			if missing != 0 {
				t.Fatalf("%d acknowledged records missing from P's aggregates after failback", missing)
			}
			if summed := summedRecords(t, l, P); summed != int64(len(inP)) {
				t.Fatalf("P's summaries count %d records for %d markers: double counted", summed, len(inP))
			}
		})
	}
}

// summedRecords adds up the records region's window summaries count.
func summedRecords(t *testing.T, l *Local, region string) int64 {
	t.Helper()
	db := l.World.Region(region).DynamoDB()
	var n int64
	var start map[string]ddbtypes.AttributeValue
	for {
		out, err := db.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(l.Names.AggregatesTable()), ExclusiveStartKey: start})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			if pk, ok := it["pk"].(*ddbtypes.AttributeValueMemberS); ok && strings.HasPrefix(pk.Value, "W#") {
				var v int64
				fmt.Sscan(it["records"].(*ddbtypes.AttributeValueMemberN).Value, &v)
				n += v
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return n
		}
		start = out.LastEvaluatedKey
	}
}

// TestFailoverReplayWithDailyBackup: with the deployed daily backup plan
// (03:00 UTC) the recovery point a failover with P down restores holds
// none of the records P took after it; the replay of the replicated raw
// objects brings B's aggregates current: every record P acknowledged up to
// Firehose's buffer interval and the replication lag before the outage is
// counted in B before B's consumer starts, and the facts say so.
func TestFailoverReplayWithDailyBackup(t *testing.T) {
	ctx := context.Background()
	// Deployed just before the daily backup, as the drill is: the copy in
	// B's vault is of a table holding nothing yet.
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true, Start: time.Date(2026, 11, 25, 2, 55, 0, 0, time.UTC)})
	B := l.Regions.Backup
	p, stop := steady(t, l, "steady")
	defer stop()
	if err := l.Sleep(ctx, 20*time.Minute); err != nil {
		t.Fatal(err)
	}
	// What P acknowledged two minutes before the outage has left Firehose's
	// 60 s buffer and replicated (RTC: seconds).
	settled := p.AckedIDs()
	if err := l.Sleep(ctx, 2*time.Minute); err != nil {
		t.Fatal(err)
	}
	outage := l.Now()
	l.World.SetDown(l.Regions.Primary, true)
	ackedBefore := len(p.AckedIDs())
	x, res := run(t, l, "failover", `{}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	var facts struct {
		Restore struct {
			Source          string
			RestoreDateTime time.Time
		}
		Replay dr.ReplayTotals
	}
	if err := json.Unmarshal(controlRecord(t, l).FailoverFacts, &facts); err != nil {
		t.Fatal(err)
	}
	t.Logf("restore %+v, replay %+v; %d acknowledged before the outage, %d settled", facts.Restore, facts.Replay, ackedBefore, len(settled))
	if facts.Restore.Source != "backup" {
		t.Fatalf("restored from %q, want the daily backup's copy (P is down)", facts.Restore.Source)
	}
	if facts.Replay.Already != 0 {
		t.Fatalf("the daily recovery point held %d of the records replayed, want none (it predates them)", facts.Replay.Already)
	}
	inB := markerIDs(t, l, B)
	for _, id := range settled {
		if !inB[id] {
			t.Fatalf("record %s, acknowledged by P 2 minutes before the outage, is not counted in B after failover", id)
		}
	}
	if facts.Replay.Applied < int64(len(settled)) || facts.Replay.Applied > int64(ackedBefore) {
		t.Fatalf("replay applied %d, want between the %d settled and the %d acknowledged before the outage", facts.Replay.Applied, len(settled), ackedBefore)
	}
	hw, err := time.Parse(time.RFC3339Nano, facts.Replay.HighWaterMark)
	if err != nil || outage.Sub(hw) > 2*time.Minute || hw.After(outage) {
		t.Fatalf("high-water mark %q, outage %v: want within Firehose's buffer and the replication lag of the outage", facts.Replay.HighWaterMark, outage)
	}
}

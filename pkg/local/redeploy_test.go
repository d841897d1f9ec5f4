package local

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// newPrimarySnapshot is the app synthesized with B as the primary and a
// new backup region (pkg/assembly's snapshot of `make synth`).
var newPrimarySnapshot = sync.OnceValues(func() (*assembly.Assembly, error) {
	return assembly.Read("../assembly/testdata/cdk.out" + assembly.NewPrimarySuffix)
})

// TestRedeployNewPrimary: P is lost, B has failed over; the operator
// bootstraps N, imports B's restored aggregates table into B's data stack,
// deploys the new assembly and deletes B's old recovery stack. B's stacks
// are updated in place (its load balancer is the same one, and serves
// throughout), the table is the stack's with every item it had, B
// replicates to N, N holds the recovery stack, and the installation follows
// the new topology.
func TestRedeployNewPrimary(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true, Start: time.Date(2026, 11, 25, 2, 55, 0, 0, time.UTC)})
	P, B := l.Regions.Primary, l.Regions.Backup
	_, stop := steady(t, l, "steady")
	defer stop()
	if err := l.Sleep(ctx, 20*time.Minute); err != nil {
		t.Fatal(err)
	}
	l.World.SetDown(P, true)
	x, res := run(t, l, "failover", `{}`)
	mustStatus(t, x, res, states.StatusSucceeded, "")
	if err := l.Sleep(ctx, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	a, err := newPrimarySnapshot()
	if err != nil {
		t.Fatal(err)
	}
	_, regions, err := a.Topology()
	if err != nil {
		t.Fatal(err)
	}
	if regions.Primary != B {
		t.Fatalf("the new assembly's primary is %s, want %s", regions.Primary, B)
	}
	N := regions.Backup
	albBefore := l.LoadBalancerDNS(B)
	itemsBefore := countMarkers(t, l, B)

	// Refused: deploying into a region nobody bootstrapped.
	if _, err := l.Redeploy(ctx, a); err == nil || !strings.Contains(err.Error(), "not bootstrapped") {
		t.Fatalf("redeploy before bootstrapping %s: %v", N, err)
	}
	if err := l.Bootstrap(ctx, N); err != nil {
		t.Fatal(err)
	}
	data := l.Names.Stack("data", B)
	ds, _ := a.Stack(data)
	id, err := TableLogicalID(ds, l.Names.AggregatesTable())
	if err != nil {
		t.Fatal(err)
	}
	// Refused: a resource the app does not add.
	if err := l.Import(ctx, a, data, ResourceMapping{"Raw72517081": {"BucketName": l.Names.Bucket("raw", B)}}); err == nil {
		t.Fatal("an import of a deployed resource was accepted")
	}
	if err := l.Import(ctx, a, data, ResourceMapping{id: {"TableName": l.Names.AggregatesTable()}}); err != nil {
		t.Fatal(err)
	}
	changes, err := l.Redeploy(ctx, a)
	if err != nil {
		t.Fatalf("redeploy: %v (changes so far %+v)", err, changes)
	}
	t.Logf("changes: %+v", changes)
	if err := l.DeleteStack(ctx, B, l.Names.Stack("recovery", B)); err != nil {
		t.Fatal(err)
	}
	if err := l.DeleteStack(ctx, P, l.Names.Stack("workload", P)); err == nil {
		t.Fatal("a stack of the region that is down was deleted")
	}

	if l.Regions != regions || l.Engine != l.engineFor(N) {
		t.Fatalf("the installation follows %+v, want %+v with N's engine", l.Regions, regions)
	}
	if got := l.LoadBalancerDNS(B); got != albBefore {
		t.Fatalf("B's load balancer is %q after the redeployment, %q before: it was replaced", got, albBefore)
	}
	if got := servedBy(t, l); got != B {
		t.Fatalf("the accelerator is served by %q, want %s", got, B)
	}
	if got := countMarkers(t, l, B); got < itemsBefore {
		t.Fatalf("B's aggregates hold %d markers, %d before the import", got, itemsBefore)
	}
	owned := false
	res2, _ := l.World.Region(B).CloudFormation().StackResources(data)
	for _, r := range res2 {
		owned = owned || (r.LogicalID == id && r.PhysicalID == l.Names.AggregatesTable())
	}
	if !owned {
		t.Fatalf("%s does not own the aggregates table", data)
	}
	rc, err := l.World.Region(B).S3().GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: aws.String(l.Names.Bucket("raw", B))})
	if err != nil || aws.ToString(rc.ReplicationConfiguration.Rules[0].Destination.Bucket) != l.Names.BucketARN("raw", N) {
		t.Fatalf("B's raw bucket replication: %+v %v, want to %s", rc, err, N)
	}
	// N's functions run their handlers (the region joined the world after
	// its code was set).
	out, err := l.World.Region(N).Lambda().Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(l.Names.Function("dr-control")), Payload: []byte(`{}`)})
	if err != nil || out.FunctionError != nil && strings.Contains(string(out.Payload), "Runtime.InitError") {
		t.Fatalf("N's dr-control: %v %s", err, out.Payload)
	}
	if _, ok := l.Engine.StateMachine(l.Names.StateMachineARN(N, "drill")); !ok {
		t.Fatalf("no drill state machine in %s", N)
	}
	if _, err := l.World.Region(B).DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(l.Names.ControlTable())}); err != nil {
		t.Fatalf("B's control table (retained by the deleted recovery stack): %v", err)
	}
	if _, ok := l.engineFor(B).StateMachine(l.Names.StateMachineARN(B, "failover")); ok {
		t.Fatalf("B's failover state machine is still deployed after its stack's deletion")
	}
	if d := l.Denied(); len(d) > 0 {
		t.Fatalf("%d calls denied, the first %+v", len(d), d[0])
	}
}

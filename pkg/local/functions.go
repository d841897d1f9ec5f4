package local

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
	"github.com/pendulum-dr/pendulum/pkg/wiring"
	"github.com/pendulum-dr/pendulum/pkg/wiring/simclients"
)

// ProbeTimeoutMs is the health canary's PROBE_TIMEOUT_MS: cdk.json's
// probeTimeoutMs.
const ProbeTimeoutMs = 3000

// functionEnv is the environment of function name in region, as infra sets
// it (infra/workload.go, data.go, recovery.go, drfunctions.go), with AWS_REGION
// as Lambda sets it.
//
// FOR NOW it is built here from the installation's names (pkg/topology)
// and the variable names the functions read; a later change replaces it
// with the environment the synthesized CloudFormation template sets, so
// that a variable infra forgets fails the drill too. Keep every function's
// environment in this one function until then.
func (l *Local) functionEnv(name, region string) map[string]string {
	n, P, B := l.Names, l.Regions.Primary, l.Regions.Backup
	env := map[string]string{"AWS_REGION": region}
	switch name {
	case "ingest":
		env["STREAM_NAME"] = n.Stream()
	case "aggregate":
		env["TABLE_NAME"] = n.AggregatesTable()
	case "partitions":
		type table struct {
			Table  string `json:"table"`
			Bucket string `json:"bucket"`
			Prefix string `json:"prefix"`
			Layout string `json:"layout"`
		}
		var tables []table
		for _, kind := range DataKinds {
			tables = append(tables, table{Table: kind, Bucket: n.Bucket(kind, region), Layout: "hive"})
		}
		b, _ := json.Marshal(tables)
		env["GLUE_DATABASE"], env["TABLES"] = n.GlueDatabase(), string(b)
	case "compact":
		env["RAW_BUCKET"], env["CURATED_BUCKET"] = n.Bucket("raw", region), n.Bucket("curated", region)
	case "compact-plan":
		env["RAW_BUCKET"] = n.Bucket("raw", region)
	case "health":
		// P's ALB directly and the accelerator, URLs as infra writes them.
		targets := []struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		}{
			{HealthTargetPrimary, "http://" + l.regions[P].albDNS + "/"},
			{HealthTargetAccelerator, "http://" + l.AcceleratorDNS + "/"},
		}
		b, _ := json.Marshal(targets)
		env["TARGETS"], env["PROBE_TIMEOUT_MS"] = string(b), strconv.Itoa(ProbeTimeoutMs)
	default: // the dr-* functions: the common DR environment
		for k, v := range map[string]string{
			"PRIMARY_REGION": P, "BACKUP_REGION": B, "GLOBAL_REGION": topology.GlobalRegion,
			"NAME_PREFIX": n.Prefix, "CONTROL_TABLE": n.ControlTable(), "AGGREGATES_TABLE": n.AggregatesTable(),
			"GLUE_DATABASE":      n.GlueDatabase(),
			"PRIMARY_RAW_BUCKET": n.Bucket("raw", P), "PRIMARY_CURATED_BUCKET": n.Bucket("curated", P),
			"BACKUP_RAW_BUCKET": n.Bucket("raw", B), "BACKUP_CURATED_BUCKET": n.Bucket("curated", B),
			"ACCELERATOR_ARN": l.AcceleratorARN, "PRIMARY_ENDPOINT_GROUP_ARN": l.PrimaryGroupARN,
			"BACKUP_ENDPOINT_GROUP_ARN": l.BackupGroupARN, "LOAD_BALANCER_NAME": n.LoadBalancer(), "TOPIC_ARN": n.TopicARN(B),
		} {
			env[k] = v
		}
	}
	return env
}

// runtime is the wiring.Runtime of function name in region: its
// environment, the simulated regions' clients (B's Step Functions being
// the engine), the virtual clock, the installation's HTTP client, and its
// region's CloudWatch for its Embedded Metric Format lines.
func (l *Local) runtime(name, region string) wiring.Runtime {
	env := l.functionEnv(name, region)
	return wiring.Runtime{
		Getenv:  func(k string) string { return env[k] },
		Clients: simclients.Clients{World: l.World, SFN: states.SFN{Engine: l.Engine}},
		Clock:   l.Clock,
		HTTP:    l.HTTPClient(),
		Stdout:  emfWriter{l.World.Region(region).CloudWatch()},
		Log:     l.log.With("function", name, "region", region),
	}
}

// build builds function name in region with its constructor, the one its
// main.go calls.
func (l *Local) build(name, region string, constructor func(wiring.Runtime) (lambda.Handler, error)) (lambda.Handler, error) {
	h, err := constructor(l.runtime(name, region))
	if err != nil {
		return nil, fmt.Errorf("%s in %s: configuration: %w", name, region, err)
	}
	return h, nil
}

// lambdaHandler is h as the engine invokes a Lambda function: JSON in,
// JSON out, the error (already of the pkg/fault type the ASL Retry and
// Catch match) named by its type.
func lambdaHandler(h lambda.Handler) states.LambdaHandler {
	return func(ctx context.Context, payload json.RawMessage) (json.RawMessage, error) {
		return h.Invoke(ctx, payload)
	}
}

// typed is h as an event source of the simulation calls it (the ALB round
// tripper, the Kinesis event-source mapping, the SQS poller): the event
// goes in as JSON and the answer comes back from JSON, as with Lambda.
func typed[I, O any](h lambda.Handler) func(context.Context, I) (O, error) {
	return func(ctx context.Context, in I) (O, error) {
		var out O
		payload, err := json.Marshal(in)
		if err != nil {
			return out, fmt.Errorf("encode event: %w", err)
		}
		answer, err := h.Invoke(ctx, payload)
		if err != nil {
			return out, err
		}
		if err := json.Unmarshal(answer, &out); err != nil {
			return out, fmt.Errorf("decode answer: %w", err)
		}
		return out, nil
	}
}

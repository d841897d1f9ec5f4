package topology

import "testing"

func TestNames(t *testing.T) {
	n := Names{Prefix: "pendulum", Account: "111111111111"}
	tests := []struct{ got, want string }{
		{n.Bucket("raw", "us-east-1"), "pendulum-raw-111111111111-us-east-1"},
		{n.TableARN("us-east-2", n.AggregatesTable()), "arn:aws:dynamodb:us-east-2:111111111111:table/pendulum-aggregates"},
		{n.Stack("workload", "us-east-2"), "pendulum-workload-us-east-2"},
		{n.Stack("global", "us-west-2"), "pendulum-global"},
		{n.StateMachineARN("us-east-2", "failover"), "arn:aws:states:us-east-2:111111111111:stateMachine:pendulum-failover"},
		{n.GlueDatabase(), "pendulum_analytics"},
		{n.TopicARN("us-east-2"), "arn:aws:sns:us-east-2:111111111111:pendulum-dr"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestSubstitutions(t *testing.T) {
	n := Names{Prefix: "pendulum", Account: "111111111111"}
	m := Substitutions(n, Regions{Primary: "us-east-1", Backup: "us-east-2"}, Deployed{
		StateMachines:  []string{"failover", "failback"},
		AcceleratorURL: "https://a1.awsglobalaccelerator.com",
		Functions:      map[string]string{"dr-control": "arn:aws:lambda:us-east-2:111111111111:function:pendulum-dr-control"},
	})
	for key, want := range map[string]string{
		"PrimaryAggregatesTableArn": "arn:aws:dynamodb:us-east-1:111111111111:table/pendulum-aggregates",
		"BackupWorkloadStackName":   "pendulum-workload-us-east-2",
		"FailoverStateMachineArn":   "arn:aws:states:us-east-2:111111111111:stateMachine:pendulum-failover",
		"DrControlFunctionArn":      "arn:aws:lambda:us-east-2:111111111111:function:pendulum-dr-control",
		"FailoverApproval":          "false",
		"ConsumerParameter":         "ConsumerEnabled",
		"AcceleratorUrl":            "https://a1.awsglobalaccelerator.com",
	} {
		if got := m[key]; got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{"compact-plan": "CompactPlan", "dr-traffic": "DrTraffic", "failover": "Failover", "nightly-batch": "NightlyBatch", "-x--y-": "XY", "a_b-c": "ABC"} {
		if got := Camel(in); got != want {
			t.Errorf("Camel(%q) = %q, want %q", in, got, want)
		}
	}
}

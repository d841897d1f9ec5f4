package local

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/pendulum-dr/pendulum/pkg/integration"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
	"github.com/pendulum-dr/pendulum/statemachines"
)

// Approval is a workflow's request for an operator's decision, published
// by its sns:publish.waitForTaskToken task.
type Approval struct {
	// Execution is the waiting execution's ARN.
	Execution string
	// State is the waiting Task state's name.
	State string
	// Token is the task token to answer with.
	Token string
	// Subject and Message are what was published to the DR topic.
	Subject, Message string
}

// Approvals returns every approval requested so far, oldest first.
func (l *Local) Approvals() []Approval {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Approval(nil), l.approvals...)
}

// Approve answers an approval request with success, as states:SendTaskSuccess.
func (l *Local) Approve(token string) error {
	return l.Engine.SendTaskSuccess(token, json.RawMessage(`{"approved":true}`))
}

// Deny answers an approval request with the ApprovalDenied error, as
// states:SendTaskFailure.
func (l *Local) Deny(token, cause string) error {
	return l.Engine.SendTaskFailure(token, "ApprovalDenied", cause)
}

// Definition returns the named state machine's ASL as deployed (with its
// ${Name} placeholders), from package statemachines: the very files the
// CDK app deploys.
func (l *Local) Definition(name string) ([]byte, error) {
	return statemachines.Definition(name)
}

// MachineNames returns every state machine the installation runs.
func (l *Local) MachineNames() []string {
	return statemachines.Names()
}

// placeholder matches a DefinitionSubstitutions key, as CloudFormation
// reads it (and package statemachines renders it).
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Render substitutes the installation's DefinitionSubstitutions into def,
// failing with every placeholder that has no value.
func Render(def []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	seen := map[string]bool{}
	for _, m := range placeholder.FindAllSubmatch(def, -1) {
		k := string(m[1])
		if _, ok := subs[k]; !ok && !seen[k] {
			missing = append(missing, k)
		}
		seen[k] = true
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("no value for placeholder(s) %s", strings.Join(missing, ", "))
	}
	return placeholder.ReplaceAllFunc(def, func(m []byte) []byte { return []byte(subs[string(m[2:len(m)-1])]) }), nil
}

// sdkResource matches an aws-sdk integration Resource: service, action.
var sdkResource = regexp.MustCompile(`arn:aws:states:::aws-sdk:([a-z0-9]+):([A-Za-z0-9]+)`)

// functionNames are the Lambda functions the state machines invoke.
var functionNames = []string{"compact", "compact-plan", "dr-control", "dr-copyback", "dr-drain", "dr-merge", "dr-probe",
	"dr-reconcile", "dr-report", "dr-restore", "dr-stack", "dr-traffic", "dr-verify"}

// wireEngine builds B's Step Functions: every state machine rendered and
// registered under its topology ARN, the Lambda functions, the aws-sdk
// integrations on B's simulated clients and the approval channel.
func (l *Local) wireEngine() error {
	B := l.Regions.Backup
	reg := states.NewRegistry()
	l.Engine = states.New(states.Options{Clock: l.Clock, Registry: reg, AccountID: l.Names.Account, Region: B,
		RoleARN: fmt.Sprintf("arn:aws:iam::%s:role/%s-states", l.Names.Account, l.Names.Prefix), Logger: l.log})
	l.Functions = map[string]string{}
	for _, f := range functionNames {
		l.Functions[f] = l.Names.FunctionARN(B, f)
	}
	l.Substitutions = topology.Substitutions(l.Names, l.Regions, topology.Deployed{
		AcceleratorARN: l.AcceleratorARN, AcceleratorDNSName: l.AcceleratorDNS,
		PrimaryEndpointGroupARN: l.PrimaryGroupARN, BackupEndpointGroupARN: l.BackupGroupARN,
		BackupRestoreRoleARN: fmt.Sprintf("arn:aws:iam::%s:role/%s-backup-restore", l.Names.Account, l.Names.Prefix),
		NotificationTopicARN: l.Names.TopicARN(B),
		HealthFunctionARN:    l.Names.FunctionARN(B, "health"),
		FailoverApproval:     l.opts.FailoverApproval,
		StateMachines:        l.MachineNames(),
		Functions:            l.Functions,
	})
	actions := map[string][]string{}
	for service, list := range sdkActions {
		actions[service] = append(actions[service], list...)
	}
	for _, name := range l.MachineNames() {
		def, err := l.Definition(name)
		if err != nil {
			return err
		}
		rendered, err := Render(def, l.Substitutions)
		if err != nil {
			return fmt.Errorf("render %s: %w", name, err)
		}
		// Every aws-sdk action a definition calls is served, not only the
		// listed ones.
		for _, m := range sdkResource.FindAllSubmatch(rendered, -1) {
			actions[string(m[1])] = append(actions[string(m[1])], string(m[2]))
		}
		m, err := states.Parse(rendered)
		if err != nil {
			return fmt.Errorf("parse %s: %w", name, err)
		}
		if got, want := l.Engine.Register(l.Names.StateMachine(name), m), l.Names.StateMachineARN(B, name); got != want {
			return fmt.Errorf("state machine %s registered as %s, want %s", name, got, want)
		}
	}
	// aws-sdk integrations, on B's clients (Step Functions runs in B).
	rb := l.World.Region(B)
	for service, client := range map[string]any{
		"dynamodb": rb.DynamoDB(), "backup": rb.Backup(), "sns": rb.SNS(), "cloudformation": rb.CloudFormation(),
		"cloudwatch": rb.CloudWatch(), "s3": rb.S3(), "glue": rb.Glue(), "sqs": rb.SQS(), "kinesis": rb.Kinesis(),
	} {
		for _, action := range actions[service] {
			reg.HandleSDK(service, action, func(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
				return integration.Call(ctx, service, client, action, params)
			})
		}
	}
	// sns:publish (optimized integration), with and without a task token.
	topic := rb.SNS()
	reg.Handle("arn:aws:states:::sns:publish", states.TaskHandlerFunc(func(ctx context.Context, t *states.Task) (json.RawMessage, error) {
		var in struct{ TopicArn, Subject, Message string }
		if err := json.Unmarshal(t.Input, &in); err != nil {
			return nil, fmt.Errorf("sns:publish parameters: %w", err)
		}
		out, err := topic.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(in.TopicArn), Subject: aws.String(in.Subject), Message: aws.String(in.Message)})
		if err != nil {
			return nil, &integration.Error{Name: states.SDKErrorName("sns", err), Cause: err.Error(), Err: err}
		}
		if t.Token != "" {
			a := Approval{Execution: t.ExecutionARN, State: t.StateName, Token: t.Token, Subject: in.Subject, Message: in.Message}
			l.mu.Lock()
			l.approvals = append(l.approvals, a)
			approver := l.opts.Approver
			l.mu.Unlock()
			if approver != nil {
				l.goLoop(func(ctx context.Context) { approver(ctx, a) })
			}
		}
		return json.Marshal(map[string]string{"MessageId": aws.ToString(out.MessageId)})
	}))
	if err := l.wireBatch(reg); err != nil {
		return err
	}
	return l.wireDR(reg)
}

// sdkActions are the aws-sdk actions the state machines call, per service.
// TestErrorNames and TestRenderAll check the definitions use no other.
var sdkActions = map[string][]string{
	"dynamodb": {"restoreTableToPointInTime", "describeTable", "updateContinuousBackups", "updateTable", "updateTimeToLive",
		"tagResource", "deleteTable", "describeContinuousBackups", "getItem", "putItem", "scan"},
	"backup":         {"startRestoreJob", "describeRestoreJob", "listRecoveryPointsByBackupVault", "describeRecoveryPoint"},
	"sns":            {"publish"},
	"cloudformation": {"describeStacks", "updateStack"},
	"cloudwatch":     {"putMetricData", "getMetricStatistics", "setAlarmState", "describeAlarms"},
	"s3":             {"listObjectsV2", "headObject", "copyObject"},
	"glue":           {"getPartitions", "batchCreatePartition", "getTable"},
	"sqs":            {"sendMessage"},
	"kinesis":        {"describeStreamSummary"},
}

// StartExecution starts the named state machine (a name from
// MachineNames) with input ("" for {}), as states:StartExecution, and
// returns the execution ARN.
func (l *Local) StartExecution(ctx context.Context, machine, name, input string) (string, error) {
	if input == "" {
		input = "{}"
	}
	out, err := states.SFN{Engine: l.Engine}.StartExecution(ctx, sfnStart(l.Names.StateMachineARN(l.Regions.Backup, machine), name, input))
	if err != nil {
		return "", fmt.Errorf("start %s: %w", machine, err)
	}
	return aws.ToString(out.ExecutionArn), nil
}

// Run starts the named state machine and waits, in virtual time, for the
// execution to end.
func (l *Local) Run(ctx context.Context, machine, input string) (*states.Execution, states.Result, error) {
	arn, err := l.StartExecution(ctx, machine, "", input)
	if err != nil {
		return nil, states.Result{}, err
	}
	x, _ := l.Engine.Execution(arn)
	res, err := x.Wait(ctx)
	return x, res, err
}

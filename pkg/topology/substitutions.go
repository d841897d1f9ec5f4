package topology

import (
	"strconv"
	"strings"
)

// TopicPlaceholder is the DefinitionSubstitutions key of the DR
// notification topic's ARN in the DR state machines.
const TopicPlaceholder = "NotificationTopicArn"

// Deployed holds the values an installation learns only when it is deployed
// (AWS picks them) or that come from its configuration: CDK tokens in the
// app, simulated values in the local runner.
type Deployed struct {
	AcceleratorARN, AcceleratorDNSName string
	// AcceleratorURL is how producers and probes reach the accelerator:
	// the listener's scheme (https with certificates, else http) and its
	// DNS name.
	AcceleratorURL                                  string
	PrimaryEndpointGroupARN, BackupEndpointGroupARN string
	BackupRestoreRoleARN, NotificationTopicARN      string
	HealthFunctionARN                               string
	FailoverApproval                                bool
	// StateMachines are the DR state machine names (file names in
	// statemachines/ without .asl.json); each gets <Camel>StateMachineArn.
	StateMachines []string
	// Functions maps a function name (e.g. "dr-control") to its ARN; each gets
	// <Camel>FunctionArn.
	Functions map[string]string
}

// Substitutions returns the DefinitionSubstitutions the DR state machines are
// deployed with: every ${Name} a DR state machine may use.
func Substitutions(n Names, r Regions, d Deployed) map[string]string {
	P, B := r.Primary, r.Backup
	m := map[string]string{
		"Account":                   n.Account,
		"NamePrefix":                n.Prefix,
		"PrimaryRegion":             P,
		"BackupRegion":              B,
		"GlobalRegion":              GlobalRegion,
		"AggregatesTableName":       n.AggregatesTable(),
		"PrimaryAggregatesTableArn": n.TableARN(P, n.AggregatesTable()),
		"BackupAggregatesTableArn":  n.TableARN(B, n.AggregatesTable()),
		"ControlTableName":          n.ControlTable(),
		"ControlTableArn":           n.TableARN(B, n.ControlTable()),
		"PrimaryRawBucket":          n.Bucket("raw", P),
		"PrimaryCuratedBucket":      n.Bucket("curated", P),
		"BackupRawBucket":           n.Bucket("raw", B),
		"BackupCuratedBucket":       n.Bucket("curated", B),
		"FailbackBucket":            n.FailbackBucket(B),
		"GlueDatabase":              n.GlueDatabase(),
		"PrimaryWorkloadStackName":  n.Stack("workload", P),
		"BackupWorkloadStackName":   n.Stack("workload", B),
		"ActiveParameter":           ActiveParameter,
		"ConsumerParameter":         ConsumerParameter,
		"BackupVaultName":           n.BackupVault(),
		"BackupVaultArn":            n.BackupVaultARN(B),
		"BackupRestoreRoleArn":      d.BackupRestoreRoleARN,
		"AcceleratorArn":            d.AcceleratorARN,
		"AcceleratorDnsName":        d.AcceleratorDNSName,
		"AcceleratorUrl":            d.AcceleratorURL,
		"PrimaryEndpointGroupArn":   d.PrimaryEndpointGroupARN,
		"BackupEndpointGroupArn":    d.BackupEndpointGroupARN,
		"LoadBalancerName":          n.LoadBalancer(),
		"StreamName":                n.Stream(),
		"AggregateFunctionName":     n.Function("aggregate"),
		TopicPlaceholder:            d.NotificationTopicARN,
		"AlarmName":                 n.AlarmName(),
		"FailoverApproval":          strconv.FormatBool(d.FailoverApproval),
		"HealthFunctionArn":         d.HealthFunctionARN,
	}
	for _, sm := range d.StateMachines {
		m[Camel(sm)+"StateMachineArn"] = n.StateMachineARN(B, sm)
	}
	for name, arn := range d.Functions {
		m[Camel(name)+"FunctionArn"] = arn
	}
	return m
}

// Camel turns a kebab- or snake-case name into the CamelCase used in
// placeholder names and construct ids: "dr-control" → "DrControl",
// "compact-plan" → "CompactPlan".
func Camel(s string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == '-' || r == '_' }) {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
)

// The providers of load balancers, state machines and backup plans.

// An ALB takes a few minutes to provision (docs/aws-facts.md, "ALB"): 3
// minutes here, the middle of the 2–4 minutes commonly seen.
const cfnALB = 3 * time.Minute

// StateMachineHost runs the state machines a template deploys. The
// simulator does not interpret ASL; the embedding program (pkg/local, with
// pkg/states) does, with the definition exactly as CloudFormation renders
// it: DefinitionString with DefinitionSubstitutions applied.
type StateMachineHost interface {
	// CreateStateMachine registers a state machine in region and returns
	// its ARN.
	CreateStateMachine(ctx context.Context, region string, m StateMachineDefinition) (string, error)
	// UpdateStateMachine replaces a state machine's definition or role.
	UpdateStateMachine(ctx context.Context, arn string, m StateMachineDefinition) error
	// DeleteStateMachine removes a state machine.
	DeleteStateMachine(ctx context.Context, arn string) error
}

// StateMachineDefinition is a state machine as a template deploys it.
type StateMachineDefinition struct {
	// Name is the state machine's name; Type STANDARD or EXPRESS.
	Name, Type string
	// Definition is the ASL document, substitutions applied.
	Definition string
	// RoleARN is the execution role.
	RoleARN string
	// LogLevel and IncludeExecutionData are the logging configuration.
	LogLevel             string
	IncludeExecutionData bool
}

// SetStateMachineHost sets the host of the state machines templates
// deploy. Without one, deploying a state machine fails.
func (w *World) SetStateMachineHost(h StateMachineHost) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.machines = h
}

func (w *World) stateMachineHost() StateMachineHost {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.machines
}

// cfnSubstitute applies DefinitionSubstitutions to a definition as
// CloudFormation does: each ${Key} of the map is replaced by its value; a
// ${...} whose key is not in the map is left as it is.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-stepfunctions-statemachine.html
func cfnSubstitute(def string, subs map[string]any) string {
	return cfnSubVar.ReplaceAllStringFunc(def, func(m string) string {
		if v, ok := subs[m[2:len(m)-1]]; ok {
			return cfnScalarString(v)
		}
		return m
	})
}

func cfnStateMachine(r *cfnLive) (StateMachineDefinition, error) {
	m := StateMachineDefinition{Name: cfnString(r.props, "StateMachineName"), Type: cfnString(r.props, "StateMachineType"), RoleARN: cfnString(r.props, "RoleArn")}
	if m.Type == "" {
		m.Type = "STANDARD"
	}
	subs, _ := r.props["DefinitionSubstitutions"].(map[string]any)
	def := cfnString(r.props, "DefinitionString")
	if def == "" {
		return m, fmt.Errorf("state machine %s: DefinitionString is required (Definition and DefinitionS3Location are %w)", r.id, errNotModelled)
	}
	m.Definition = cfnSubstitute(def, subs)
	if lc, ok := r.props["LoggingConfiguration"].(map[string]any); ok {
		m.LogLevel = cfnScalarString(lc["Level"])
		m.IncludeExecutionData = cfnTruthy(lc["IncludeExecutionData"])
	}
	return m, nil
}

func init() {
	registerCFN("AWS::StepFunctions::StateMachine", &cfnProvider{
		properties: []string{"StateMachineName", "StateMachineType", "DefinitionString", "DefinitionSubstitutions", "RoleArn", "LoggingConfiguration", "TracingConfiguration", "Tags"},
		required:   []string{"RoleArn"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			h := op.world().stateMachineHost()
			if h == nil {
				return fmt.Errorf("state machine %s: no Step Functions host is set (World.SetStateMachineHost)", r.id)
			}
			m, err := cfnStateMachine(r)
			if err != nil {
				return err
			}
			if m.Name == "" {
				m.Name = op.physicalName(r.id, 80)
			}
			arn, err := h.CreateStateMachine(ctx, op.r.Name, m)
			if err != nil {
				return err
			}
			r.physicalID, r.ref = arn, arn
			r.attrs = map[string]any{"Arn": arn, "Name": m.Name}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			m, err := cfnStateMachine(r)
			if err != nil {
				return err
			}
			m.Name = cfnScalarString(r.attrs["Name"])
			return op.world().stateMachineHost().UpdateStateMachine(ctx, r.physicalID, m)
		},
		replaceOn:    []string{"StateMachineName", "StateMachineType"},
		nameProperty: "StateMachineName",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			return op.world().stateMachineHost().DeleteStateMachine(ctx, r.physicalID)
		},
		createTime: 5 * time.Second, updateTime: 5 * time.Second, deleteTime: 5 * time.Second,
	})

	registerCFN("AWS::Backup::BackupPlan", &cfnProvider{
		properties: []string{"BackupPlan", "BackupPlanTags"},
		required:   []string{"BackupPlan"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			plan, err := cfnBackupPlan(r.props["BackupPlan"])
			if err != nil {
				return err
			}
			out, err := op.r.Backup().CreateBackupPlan(ctx, &backup.CreateBackupPlanInput{BackupPlan: plan, BackupPlanTags: cfnTags(r.props["BackupPlanTags"])})
			if err != nil {
				return err
			}
			id := aws.ToString(out.BackupPlanId)
			r.physicalID, r.ref = id, id
			r.attrs = map[string]any{"BackupPlanId": id, "BackupPlanArn": aws.ToString(out.BackupPlanArn), "VersionId": "1"}
			return nil
		},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Backup().DeleteBackupPlan(ctx, &backup.DeleteBackupPlanInput{BackupPlanId: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, deleteTime: cfnQuick,
	})
	registerCFN("AWS::Backup::BackupSelection", &cfnProvider{
		properties: []string{"BackupPlanId", "BackupSelection"},
		required:   []string{"BackupPlanId", "BackupSelection"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			var sel backuptypes.BackupSelection
			if err := cfnInto(r.props["BackupSelection"], &sel); err != nil {
				return err
			}
			out, err := op.r.Backup().CreateBackupSelection(ctx, &backup.CreateBackupSelectionInput{BackupPlanId: aws.String(cfnString(r.props, "BackupPlanId")), BackupSelection: &sel})
			if err != nil {
				return err
			}
			id := aws.ToString(out.SelectionId)
			r.physicalID, r.ref = id, id
			r.attrs = map[string]any{"SelectionId": id, "BackupPlanId": cfnString(r.props, "BackupPlanId")}
			return nil
		},
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Backup().DeleteBackupSelection(ctx, &backup.DeleteBackupSelectionInput{BackupPlanId: aws.String(cfnString(r.props, "BackupPlanId")), SelectionId: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, deleteTime: cfnQuick,
	})

	registerCFN("AWS::ElasticLoadBalancingV2::LoadBalancer", &cfnProvider{
		properties: []string{"Name", "Scheme", "Type", "Subnets", "SecurityGroups", "LoadBalancerAttributes", "IpAddressType", "Tags"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			if t := cfnString(r.props, "Type"); t != "" && t != "application" {
				return fmt.Errorf("load balancer type %s is %w", t, errNotModelled)
			}
			name := cfnString(r.props, "Name")
			if name == "" {
				name = op.physicalName(r.id, 32)
			}
			attrs := map[string]string{}
			for _, a := range cfnAnyList(r.props["LoadBalancerAttributes"]) {
				m, _ := a.(map[string]any)
				attrs[cfnScalarString(m["Key"])] = cfnScalarString(m["Value"])
			}
			lb := op.r.ELB().createLoadBalancer(name, cfnString(r.props, "Scheme"), attrs)
			r.physicalID, r.ref = lb.arn, lb.arn
			r.attrs = map[string]any{"DNSName": lb.dns, "LoadBalancerName": name, "LoadBalancerFullName": strings.TrimPrefix(lb.arn[strings.Index(lb.arn, "loadbalancer/")+len("loadbalancer/"):], ""),
				"CanonicalHostedZoneID": "Z35SXDOTRQ7X7K", "SecurityGroups": r.props["SecurityGroups"]}
			return nil
		},
		delete: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			op.r.ELB().deleteLoadBalancer(r.physicalID)
			return nil
		},
		createTime: cfnALB, deleteTime: time.Minute,
	})
	registerCFN("AWS::ElasticLoadBalancingV2::TargetGroup", &cfnProvider{
		properties: []string{"Name", "TargetType", "Targets", "HealthCheckEnabled", "HealthCheckIntervalSeconds", "HealthCheckPath", "HealthCheckTimeoutSeconds",
			"HealthyThresholdCount", "UnhealthyThresholdCount", "Matcher", "TargetGroupAttributes", "Tags"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			if t := cfnString(r.props, "TargetType"); t != "lambda" {
				return fmt.Errorf("target type %q is %w (only Lambda targets are)", t, errNotModelled)
			}
			name := cfnString(r.props, "Name")
			if name == "" {
				name = op.physicalName(r.id, 32)
			}
			g := &elbTargetGroup{name: name, targetType: "lambda", healthPath: cfnString(r.props, "HealthCheckPath"),
				arn: op.arn("elasticloadbalancing", fmt.Sprintf("targetgroup/%s/%016x", name, fnvString(op.stack.id+r.id)))}
			for _, t := range cfnAnyList(r.props["Targets"]) {
				m, _ := t.(map[string]any)
				g.targets = append(g.targets, cfnScalarString(m["Id"]))
			}
			op.r.ELB().putTargetGroup(g)
			r.physicalID, r.ref = g.arn, g.arn
			r.attrs = map[string]any{"TargetGroupName": name, "TargetGroupFullName": strings.TrimPrefix(g.arn[strings.Index(g.arn, "targetgroup/"):], "")}
			return nil
		},
		delete: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			op.r.ELB().deleteTargetGroup(r.physicalID)
			return nil
		},
		createTime: 10 * time.Second, deleteTime: 5 * time.Second,
	})
	registerCFN("AWS::ElasticLoadBalancingV2::Listener", &cfnProvider{
		properties: []string{"LoadBalancerArn", "Port", "Protocol", "Certificates", "SslPolicy", "DefaultActions", "Tags"},
		required:   []string{"LoadBalancerArn", "DefaultActions"},
		create: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			port, _ := cfnInt(r.props["Port"])
			l := &elbListener{lb: cfnString(r.props, "LoadBalancerArn"), protocol: cfnString(r.props, "Protocol"), port: int(port),
				arn: op.arn("elasticloadbalancing", fmt.Sprintf("listener/app/%016x", fnvString(op.stack.id+r.id)))}
			switch l.protocol {
			case "HTTPS":
				for _, c := range cfnAnyList(r.props["Certificates"]) {
					m, _ := c.(map[string]any)
					l.certificates = append(l.certificates, cfnScalarString(m["CertificateArn"]))
				}
				if len(l.certificates) == 0 {
					return apiErr("ValidationError", "A certificate must be specified for HTTPS listeners")
				}
			case "HTTP":
				if len(cfnAnyList(r.props["Certificates"])) > 0 {
					return apiErr("ValidationError", "Certificates are not supported for HTTP listeners")
				}
			default:
				return fmt.Errorf("listener protocol %q is %w", l.protocol, errNotModelled)
			}
			// The certificate is ACM's, in the listener's region: ELB
			// refuses one it cannot find or that is not ISSUED.
			for i, c := range l.certificates {
				if err := op.r.ACM().use(c, l.lb); err != nil {
					for _, used := range l.certificates[:i] {
						op.r.ACM().release(used, l.lb)
					}
					return err
				}
			}
			acts := cfnAnyList(r.props["DefaultActions"])
			if len(acts) != 1 {
				return fmt.Errorf("listener %s: exactly one forward action is %s", r.id, "modelled")
			}
			a, _ := acts[0].(map[string]any)
			if cfnScalarString(a["Type"]) != "forward" {
				return fmt.Errorf("listener action %s is %w", cfnScalarString(a["Type"]), errNotModelled)
			}
			l.targetGroup = cfnScalarString(a["TargetGroupArn"])
			op.r.ELB().putListener(l)
			r.physicalID, r.ref = l.arn, l.arn
			r.attrs = map[string]any{"ListenerArn": l.arn}
			return nil
		},
		delete: func(_ context.Context, op *cfnOp, r *cfnLive) error {
			if l := op.r.ELB().deleteListener(r.physicalID); l != nil {
				for _, c := range l.certificates {
					op.r.ACM().release(c, l.lb)
				}
			}
			return nil
		},
		createTime: 5 * time.Second, deleteTime: 5 * time.Second,
	})
}

// cfnBackupPlan converts AWS::Backup::BackupPlan's BackupPlan property
// (BackupPlanRule with TargetBackupVault) into the API's input shape.
func cfnBackupPlan(v any) (*backuptypes.BackupPlanInput, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("BackupPlan must be an object")
	}
	plan := &backuptypes.BackupPlanInput{BackupPlanName: aws.String(cfnScalarString(m["BackupPlanName"]))}
	for k := range m {
		if k != "BackupPlanName" && k != "BackupPlanRule" {
			return nil, fmt.Errorf("backup plan member %s is %w", k, errNotModelled)
		}
	}
	for _, e := range cfnAnyList(m["BackupPlanRule"]) {
		rm, _ := e.(map[string]any)
		rule := backuptypes.BackupRuleInput{}
		fields := map[string]any{}
		for k, val := range rm {
			switch k {
			case "TargetBackupVault":
				rule.TargetBackupVaultName = aws.String(cfnScalarString(val))
			default:
				fields[k] = val
			}
		}
		if err := cfnInto(fields, &rule); err != nil {
			return nil, err
		}
		plan.Rules = append(plan.Rules, rule)
	}
	return plan, nil
}

package readiness

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// stackRead is one workload stack as DescribeStacks and GetTemplate show
// it, or why it could not be read.
type stackRead struct {
	name     string
	stack    *cftypes.Stack
	template map[string]any
	err      error
}

// stacksRead are both regions' workload stacks, by region.
type stacksRead map[string]stackRead

func (s stacksRead) output(region, key string) string {
	st := s[region]
	if st.stack == nil {
		return ""
	}
	for _, o := range st.stack.Outputs {
		if aws.ToString(o.OutputKey) == key {
			return aws.ToString(o.OutputValue)
		}
	}
	return ""
}

func (s stacksRead) problem(region string) string {
	if st := s[region]; st.err != nil {
		return st.err.Error()
	}
	return "no such output"
}

func (s stacksRead) parameter(region, key string) string {
	st := s[region]
	if st.stack == nil {
		return ""
	}
	for _, p := range st.stack.Parameters {
		if aws.ToString(p.ParameterKey) == key {
			return aws.ToString(p.ParameterValue)
		}
	}
	return ""
}

// readStacks describes both workload stacks and reads their templates.
func (r *Readiness) readStacks(ctx context.Context) stacksRead {
	out := stacksRead{}
	for _, region := range []string{r.Config.PrimaryRegion, r.Config.BackupRegion} {
		name := r.Config.WorkloadStack(region)
		s := stackRead{name: name}
		func() {
			cf, err := r.Stacks(region)
			if err != nil {
				s.err = err
				return
			}
			d, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
			if err != nil {
				s.err = fmt.Errorf("describe %s in %s: %w", name, region, err)
				return
			}
			if len(d.Stacks) != 1 {
				s.err = fmt.Errorf("describe %s in %s: %d stacks", name, region, len(d.Stacks))
				return
			}
			s.stack = &d.Stacks[0]
			t, err := cf.GetTemplate(ctx, &cloudformation.GetTemplateInput{StackName: aws.String(name)})
			if err != nil {
				s.err = fmt.Errorf("template of %s in %s: %w", name, region, err)
				return
			}
			if err := json.Unmarshal([]byte(aws.ToString(t.TemplateBody)), &s.template); err != nil {
				s.err = fmt.Errorf("template of %s in %s is not JSON: %w", name, region, err)
			}
		}()
		out[region] = s
	}
	return out
}

// stableStatus reports whether a stack status is a settled one whose
// template is the deployed one.
func stableStatus(s cftypes.StackStatus) bool {
	switch s {
	case cftypes.StackStatusCreateComplete, cftypes.StackStatusUpdateComplete, cftypes.StackStatusUpdateRollbackComplete, cftypes.StackStatusImportComplete:
		return true
	}
	return false
}

// compared are the workload resources B's dormant stack must share with P's
// stack: the resource types whose configuration decides what an activation
// runs, each matched across the two templates by its name property, and
// the properties not compared because they differ by design (a dormant
// consumer's Enabled follows ConsumerEnabled). Everything else a
// template holds differs by design or does not decide the workload's
// behaviour: conditions (B's costly resources follow Active), the logical
// IDs of the scoped resources, the forwarding rules and alarms of regions
// other than B, the VPC's records.
var compared = map[string]struct {
	key    string
	ignore []string
}{
	"AWS::Lambda::Function":                {key: "FunctionName"},
	"AWS::StepFunctions::StateMachine":     {key: "StateMachineName"},
	"AWS::Kinesis::Stream":                 {key: "Name"},
	"AWS::KinesisFirehose::DeliveryStream": {key: "DeliveryStreamName"},
	"AWS::Lambda::EventSourceMapping":      {key: "EventSourceArn", ignore: []string{"Enabled"}},
}

// workloadResources extracts the compared resources of a template, keyed by
// type and name, as JSON with region written as ${Region} and the
// references to the scoped resources' logical IDs (Always…, WhenActive…)
// as the ID without the scope, so P's and B's templates compare equal when
// they deploy the same workload.
func workloadResources(tmpl map[string]any, region string) (map[string]string, error) {
	res, _ := tmpl["Resources"].(map[string]any)
	ids := map[string]string{}
	for id := range res {
		for _, scope := range []string{"Always", "WhenActive"} {
			if rest, ok := strings.CutPrefix(id, scope); ok && len(rest) > 8 {
				ids[id] = rest[:len(rest)-8] // the scoped ID's hash suffix differs by path
			}
		}
	}
	out := map[string]string{}
	for _, v := range res {
		r, _ := v.(map[string]any)
		typ, _ := r["Type"].(string)
		c, ok := compared[typ]
		if !ok {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		cp := map[string]any{}
		for k, v := range props {
			cp[k] = v
		}
		for _, k := range c.ignore {
			delete(cp, k)
		}
		b, err := json.Marshal(cp)
		if err != nil {
			return nil, err
		}
		s := strings.ReplaceAll(string(b), region, "${Region}")
		for id, base := range ids {
			s = strings.ReplaceAll(s, `"`+id+`"`, `"`+base+`"`)
		}
		name, _ := json.Marshal(props[c.key])
		key := typ + " " + strings.ReplaceAll(string(name), region, "${Region}")
		out[key] = s
	}
	return out, nil
}

// dormantStack compares B's workload stack with P's and checks B's
// parameters against the DR mode.
func (r *Readiness) dormantStack(ctx context.Context, rec dr.ControlRecord, recErr error, st stacksRead) Result {
	res := Result{Name: CheckDormantStack}
	P, B := r.Config.PrimaryRegion, r.Config.BackupRegion
	o := map[string]any{}
	res.Observed = o
	for _, region := range []string{P, B} {
		s := st[region]
		if s.err != nil {
			res.Detail = s.err.Error()
			return res
		}
		o[region] = string(s.stack.StackStatus)
		if !stableStatus(s.stack.StackStatus) {
			res.Detail = fmt.Sprintf("%s is %s: its template is not the deployed one until the operation settles", s.name, s.stack.StackStatus)
			return res
		}
	}
	active, consumer := st.parameter(B, topology.ActiveParameter), st.parameter(B, topology.ConsumerParameter)
	o[topology.ActiveParameter], o[topology.ConsumerParameter] = active, consumer
	var problems []string
	if recErr != nil {
		problems = append(problems, "cannot read the DR mode: "+recErr.Error())
	} else {
		want := map[string][2]string{dr.ModePrimary: {"false", "false"}, dr.ModeFailedOver: {"true", "true"}}
		w, ok := want[rec.Mode]
		if ok && rec.Mode == dr.ModeFailedOver && rec.RestorePending {
			w[1] = "false" // a degraded failover keeps the consumer off
		}
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("a DR workflow is in progress (mode %s): B's stack is changing", rec.Mode))
		case active != w[0] || consumer != w[1]:
			problems = append(problems, fmt.Sprintf("mode %s wants %s=%s %s=%s in %s, the stack has %s and %s", rec.Mode,
				topology.ActiveParameter, w[0], topology.ConsumerParameter, w[1], st[B].name, active, consumer))
		}
	}
	pw, err := workloadResources(st[P].template, P)
	if err != nil {
		problems = append(problems, err.Error())
	}
	bw, err := workloadResources(st[B].template, B)
	if err != nil {
		problems = append(problems, err.Error())
	}
	keys := map[string]bool{}
	for k := range pw {
		keys[k] = true
	}
	for k := range bw {
		keys[k] = true
	}
	var differ []string
	for k := range keys {
		switch p, inP := pw[k]; {
		case !inP:
			differ = append(differ, k+" only in "+B)
		case bw[k] == "":
			differ = append(differ, k+" only in "+P)
		case p != bw[k]:
			differ = append(differ, k+" differs")
		}
	}
	sort.Strings(differ)
	o["compared"], o["differences"] = len(keys), differ
	if len(differ) > 0 {
		problems = append(problems, fmt.Sprintf("B's dormant workload is not P's (%s): deploy both workload stacks from one build (make deploy)", strings.Join(differ, ", ")))
	}
	if len(problems) > 0 {
		res.Detail = strings.Join(problems, "; ")
		return res
	}
	res.OK = true
	res.Detail = fmt.Sprintf("%s matches %s (%d resources compared: functions, state machine, stream, delivery stream, consumer), %s=%s %s=%s as mode %s wants",
		st[B].name, st[P].name, len(keys), topology.ActiveParameter, active, topology.ConsumerParameter, consumer, rec.Mode)
	return res
}

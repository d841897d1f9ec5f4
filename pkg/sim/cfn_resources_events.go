package sim

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
)

// The providers of EventBridge rules and EventBridge Scheduler schedules:
// the health canary's minute, the alarm that starts failover, the drill's
// and the nightly batch's schedules, as the templates set them.

func init() {
	registerCFN("AWS::Events::Rule", &cfnProvider{
		properties: []string{"Name", "Description", "EventPattern", "ScheduleExpression", "State", "Targets", "EventBusName", "RoleArn", "Tags"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "Name")
			if name == "" {
				name = op.physicalName(r.id, 64)
			}
			if err := cfnPutRule(ctx, op, name, r.props, nil); err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": op.r.EventBridge().RuleARN(name)}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, old, r *cfnLive) error {
			return cfnPutRule(ctx, op, r.physicalID, r.props, old.props)
		},
		replaceOn:    []string{"Name", "EventBusName"},
		nameProperty: "Name",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			e := op.r.EventBridge()
			var ids []string
			for _, t := range cfnAnyList(r.props["Targets"]) {
				m, _ := t.(map[string]any)
				ids = append(ids, cfnScalarString(m["Id"]))
			}
			if len(ids) > 0 {
				if _, err := e.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(r.physicalID), Ids: ids}); err != nil {
					return err
				}
			}
			_, err := e.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})

	registerCFN("AWS::Scheduler::Schedule", &cfnProvider{
		properties: []string{"Name", "Description", "GroupName", "ScheduleExpression", "ScheduleExpressionTimezone", "FlexibleTimeWindow", "State",
			"Target", "StartDate", "EndDate", "KmsKeyArn"},
		required: []string{"ScheduleExpression", "FlexibleTimeWindow", "Target"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "Name")
			if name == "" {
				name = op.physicalName(r.id, 64)
			}
			in := &scheduler.CreateScheduleInput{}
			if err := cfnInto(cfnWithout(r.props, "Name"), in); err != nil {
				return err
			}
			in.Name = aws.String(name)
			out, err := op.r.Scheduler().CreateSchedule(ctx, in)
			if err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Arn": aws.ToString(out.ScheduleArn)}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			in := &scheduler.UpdateScheduleInput{}
			if err := cfnInto(cfnWithout(r.props, "Name"), in); err != nil {
				return err
			}
			in.Name = aws.String(r.physicalID)
			_, err := op.r.Scheduler().UpdateSchedule(ctx, in)
			return err
		},
		replaceOn:    []string{"Name", "GroupName"},
		nameProperty: "Name",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.Scheduler().DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(r.physicalID)})
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})
}

// cfnPutRule creates or updates a rule and its targets; targets the old
// properties had and the new ones lack are removed.
func cfnPutRule(ctx context.Context, op *cfnOp, name string, props, old map[string]any) error {
	e := op.r.EventBridge()
	in := &eventbridge.PutRuleInput{Name: aws.String(name)}
	if v := cfnString(props, "Description"); v != "" {
		in.Description = aws.String(v)
	}
	if v := cfnString(props, "ScheduleExpression"); v != "" {
		in.ScheduleExpression = aws.String(v)
	}
	if v, ok := props["EventPattern"]; ok {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		in.EventPattern = aws.String(string(b))
	}
	if v := cfnString(props, "State"); v != "" {
		in.State = ebtypes.RuleState(v)
	}
	if v := cfnString(props, "EventBusName"); v != "" {
		in.EventBusName = aws.String(v)
	}
	if v := cfnString(props, "RoleArn"); v != "" {
		in.RoleArn = aws.String(v)
	}
	if _, err := e.PutRule(ctx, in); err != nil {
		return err
	}
	var targets []ebtypes.Target
	keep := map[string]bool{}
	for _, t := range cfnAnyList(props["Targets"]) {
		var target ebtypes.Target
		if err := cfnInto(t, &target); err != nil {
			return fmt.Errorf("rule %s target: %w", name, err)
		}
		keep[aws.ToString(target.Id)] = true
		targets = append(targets, target)
	}
	if len(targets) > 0 {
		if _, err := e.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String(name), Targets: targets}); err != nil {
			return err
		}
	}
	var gone []string
	for _, t := range cfnAnyList(old["Targets"]) {
		m, _ := t.(map[string]any)
		if id := cfnScalarString(m["Id"]); !keep[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		if _, err := e.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(name), Ids: gone}); err != nil {
			return err
		}
	}
	return nil
}

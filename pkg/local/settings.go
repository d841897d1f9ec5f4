package local

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/pendulum-dr/pendulum/pkg/sim"
)

// Settings returns the deployment decisions that shape a drill's figures,
// as the deployed templates set them: the backup plan's schedule and
// retention, the health alarms' periods, failover approval, the stream's
// retention, how long the aggregate consumer retries. Keys are "<stack>: <setting>" so a report can print them.
func (l *Local) Settings() map[string]string {
	out := map[string]string{}
	for _, s := range l.opts.Assembly.Stacks {
		body := s.Template
		if l.opts.EditTemplate != nil {
			body = l.opts.EditTemplate(s.Name, body)
		}
		var t struct {
			Resources map[string]struct {
				Type       string
				Properties map[string]json.RawMessage
			}
		}
		if json.Unmarshal(body, &t) != nil {
			continue
		}
		ids := make([]string, 0, len(t.Resources))
		for id := range t.Resources {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			r := t.Resources[id]
			p := r.Properties
			switch r.Type {
			case "AWS::Backup::BackupPlan":
				var plan struct {
					BackupPlanRule []struct {
						RuleName, ScheduleExpression string
						Lifecycle                    struct{ DeleteAfterDays int }
						CopyActions                  []struct{ DestinationBackupVaultArn string }
					}
				}
				_ = json.Unmarshal(p["BackupPlan"], &plan)
				for _, rule := range plan.BackupPlanRule {
					copies := make([]string, 0, len(rule.CopyActions))
					for _, c := range rule.CopyActions {
						copies = append(copies, regionOfARN(c.DestinationBackupVaultArn))
					}
					out[s.Name+": backup "+rule.RuleName] = fmt.Sprintf("%s, kept %d days, copied to %s", rule.ScheduleExpression, rule.Lifecycle.DeleteAfterDays, strings.Join(copies, ", "))
				}
			case "AWS::CloudWatch::Alarm":
				var name string
				var periods, datapoints, period int
				_ = json.Unmarshal(p["AlarmName"], &name)
				_ = json.Unmarshal(p["EvaluationPeriods"], &periods)
				_ = json.Unmarshal(p["DatapointsToAlarm"], &datapoints)
				_ = json.Unmarshal(p["Period"], &period)
				out[s.Name+": alarm "+name] = fmt.Sprintf("%d of %d periods of %ds", datapoints, periods, period)
			case "AWS::Lambda::EventSourceMapping":
				if _, kinesis := p["StartingPosition"]; !kinesis {
					continue // an SQS mapping: the queue's redrive policy decides
				}
				retries, age := -1, -1
				if raw, ok := p["MaximumRetryAttempts"]; ok {
					_ = json.Unmarshal(raw, &retries)
				}
				if raw, ok := p["MaximumRecordAgeInSeconds"]; ok {
					_ = json.Unmarshal(raw, &age)
				}
				until := "until the stream's retention drops the records"
				switch {
				case age > 0 && age%3600 == 0:
					until = fmt.Sprintf("until records are %d h old", age/3600)
				case age > 0:
					until = fmt.Sprintf("until records are %d s old", age)
				}
				if retries >= 0 {
					until = fmt.Sprintf("%d times at most, %s", retries, until)
				}
				out[s.Name+": consumer retries"] = until + ", then the failure queue"
			case "AWS::Kinesis::Stream":
				var hours int
				_ = json.Unmarshal(p["RetentionPeriodHours"], &hours)
				out[s.Name+": stream retention"] = fmt.Sprintf("%d h", hours)
			case "AWS::StepFunctions::StateMachine":
				var subs map[string]json.RawMessage
				_ = json.Unmarshal(p["DefinitionSubstitutions"], &subs)
				var approval string
				if json.Unmarshal(subs["FailoverApproval"], &approval) == nil && approval != "" {
					out[s.Name+": failover approval"] = approval
				}
			}
		}
	}
	return out
}

// Invocations returns how often each deployed Go function was invoked so
// far, by "region/function" (the AWS/Lambda Invocations metric the
// simulated Lambda publishes); functions never invoked are listed with 0.
func (l *Local) Invocations() map[string]int {
	out := map[string]int{}
	ctx := sim.Unmetered(context.Background()) // an observer's read, outside the timeline
	for _, s := range l.opts.Assembly.Stacks {
		res, err := l.World.Region(s.Region).CloudFormation().StackResources(s.Name)
		if err != nil {
			continue
		}
		for _, r := range res {
			if r.Type != "AWS::Lambda::Function" {
				continue
			}
			if _, ok := constructors[strings.TrimPrefix(r.PhysicalID, l.Names.Prefix+"-")]; !ok {
				continue // the CDK's custom-resource provider: no Go code
			}
			stats, err := l.World.Region(s.Region).CloudWatch().GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
				Namespace: aws.String("AWS/Lambda"), MetricName: aws.String("Invocations"),
				Dimensions: []cwtypes.Dimension{{Name: aws.String("FunctionName"), Value: aws.String(r.PhysicalID)}},
				StartTime:  aws.Time(l.opts.Start), EndTime: aws.Time(l.Clock.Now().Add(time.Minute)), Period: aws.Int32(86400),
				Statistics: []cwtypes.Statistic{cwtypes.StatisticSum}})
			n := 0
			if err == nil {
				for _, d := range stats.Datapoints {
					n += int(aws.ToFloat64(d.Sum))
				}
			}
			out[s.Region+"/"+r.PhysicalID] += n
		}
	}
	return out
}

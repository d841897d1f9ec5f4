package sim

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
)

// Backup plans: rules that start backup jobs on a schedule for the
// resources their selections name, and copy each completed recovery point
// to the vaults of the rule's copy actions. The deployed plan decides the
// cadence of the recovery points a failover can restore from, so the
// rehearsal runs the plan as deployed instead of a cadence of its own.
// https://docs.aws.amazon.com/aws-backup/latest/devguide/creating-a-backup-plan.html

type backupPlan struct {
	id, arn, name string
	rules         []backuptypes.BackupRuleInput
	selections    map[string]*backuptypes.BackupSelection // by selection ID
	stop          []func()
}

// backupPlans returns the region's plans, created on first use; c.mu held.
func (c *Backup) plansLocked() map[string]*backupPlan {
	if c.plans == nil {
		c.plans = map[string]*backupPlan{}
	}
	return c.plans
}

// CreateBackupPlan creates a plan and starts running its rules.
func (c *Backup) CreateBackupPlan(ctx context.Context, in *backup.CreateBackupPlanInput, optFns ...func(*backup.Options)) (*backup.CreateBackupPlanOutput, error) {
	const op = "CreateBackupPlan"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	if in.BackupPlan == nil || aws.ToString(in.BackupPlan.BackupPlanName) == "" || len(in.BackupPlan.Rules) == 0 {
		return nil, opErr(backupServiceID, op, backupInvalid("BackupPlan needs a BackupPlanName and at least one rule"))
	}
	var exprs []scheduleExpr
	for _, r := range in.BackupPlan.Rules {
		e, err := parseSchedule(aws.ToString(r.ScheduleExpression), scheduleRule)
		if err != nil || e.Kind() != "cron" {
			return nil, opErr(backupServiceID, op, backupInvalid("Invalid schedule expression %q for rule %s: a cron expression is required", aws.ToString(r.ScheduleExpression), aws.ToString(r.RuleName)))
		}
		exprs = append(exprs, e)
	}
	c.mu.Lock()
	c.seq++
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", fnvString(c.r.Name+aws.ToString(in.BackupPlan.BackupPlanName)), c.seq)
	p := &backupPlan{id: id, arn: fmt.Sprintf("arn:aws:backup:%s:%s:backup-plan:%s", c.r.Name, c.r.world.Account, id),
		name: aws.ToString(in.BackupPlan.BackupPlanName), rules: in.BackupPlan.Rules, selections: map[string]*backuptypes.BackupSelection{}}
	c.plansLocked()[id] = p
	c.mu.Unlock()
	for i := range p.rules {
		rule, e := p.rules[i], exprs[i]
		p.stop = append(p.stop, c.r.world.goBackground(func(ctx context.Context) { c.runRule(ctx, p, rule, e) }))
	}
	return &backup.CreateBackupPlanOutput{BackupPlanId: aws.String(id), BackupPlanArn: aws.String(p.arn), CreationDate: aws.Time(c.now())}, nil
}

// DeleteBackupPlan deletes a plan with no selections and stops its rules.
func (c *Backup) DeleteBackupPlan(ctx context.Context, in *backup.DeleteBackupPlanInput, optFns ...func(*backup.Options)) (*backup.DeleteBackupPlanOutput, error) {
	const op = "DeleteBackupPlan"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	p := c.plansLocked()[aws.ToString(in.BackupPlanId)]
	if p == nil {
		c.mu.Unlock()
		return nil, opErr(backupServiceID, op, backupNotFound("Backup plan %s not found", aws.ToString(in.BackupPlanId)))
	}
	if len(p.selections) > 0 {
		c.mu.Unlock()
		return nil, opErr(backupServiceID, op, backupInvalid("Related backup plan selections must be deleted prior to backup plan deletion"))
	}
	delete(c.plans, p.id)
	c.mu.Unlock()
	for _, stop := range p.stop {
		stop()
	}
	return &backup.DeleteBackupPlanOutput{BackupPlanId: aws.String(p.id), BackupPlanArn: aws.String(p.arn)}, nil
}

// CreateBackupSelection assigns resources to a plan.
func (c *Backup) CreateBackupSelection(ctx context.Context, in *backup.CreateBackupSelectionInput, optFns ...func(*backup.Options)) (*backup.CreateBackupSelectionOutput, error) {
	const op = "CreateBackupSelection"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	s := in.BackupSelection
	if s == nil || aws.ToString(s.SelectionName) == "" || aws.ToString(s.IamRoleArn) == "" {
		return nil, opErr(backupServiceID, op, &backuptypes.MissingParameterValueException{Message: aws.String("BackupSelection needs SelectionName and IamRoleArn")})
	}
	if len(s.ListOfTags) > 0 || s.Conditions != nil || len(s.NotResources) > 0 {
		return nil, opErr(backupServiceID, op, backupInvalid("selection by tags, conditions or NotResources is %v", errNotModelled))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.plansLocked()[aws.ToString(in.BackupPlanId)]
	if p == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Backup plan %s not found", aws.ToString(in.BackupPlanId)))
	}
	c.seq++
	id := fmt.Sprintf("%08x-0000-4000-8000-%012x", fnvString(p.id+aws.ToString(s.SelectionName)), c.seq)
	p.selections[id] = s
	return &backup.CreateBackupSelectionOutput{BackupPlanId: aws.String(p.id), SelectionId: aws.String(id), CreationDate: aws.Time(c.now())}, nil
}

// DeleteBackupSelection removes a selection from its plan.
func (c *Backup) DeleteBackupSelection(ctx context.Context, in *backup.DeleteBackupSelectionInput, optFns ...func(*backup.Options)) (*backup.DeleteBackupSelectionOutput, error) {
	const op = "DeleteBackupSelection"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.plansLocked()[aws.ToString(in.BackupPlanId)]
	if p == nil || p.selections[aws.ToString(in.SelectionId)] == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Backup selection %s not found", aws.ToString(in.SelectionId)))
	}
	delete(p.selections, aws.ToString(in.SelectionId))
	return &backup.DeleteBackupSelectionOutput{}, nil
}

// runRule starts the rule's jobs at each time its schedule fires (UTC, as
// AWS Backup evaluates plan schedules by default), until ctx is done.
func (c *Backup) runRule(ctx context.Context, p *backupPlan, rule backuptypes.BackupRuleInput, e scheduleExpr) {
	clk := c.r.world.Clock
	for {
		next, ok := e.Next(clk.Now(), clk.Now(), time.UTC)
		if !ok {
			return
		}
		if err := clk.Sleep(ctx, next.Sub(clk.Now())); err != nil {
			return
		}
		c.mu.Lock()
		var sels []*backuptypes.BackupSelection
		ids := make([]string, 0, len(p.selections))
		for id := range p.selections {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			sels = append(sels, p.selections[id])
		}
		c.mu.Unlock()
		for _, s := range sels {
			for _, res := range s.Resources {
				c.runJob(ctx, rule, aws.ToString(s.IamRoleArn), res)
			}
		}
	}
}

// runJob backs one resource up and, once the recovery point is complete,
// starts the rule's copy jobs. A job that cannot start (the region is down,
// the table is gone) is skipped, as AWS Backup records a failed job and
// waits for the next window.
func (c *Backup) runJob(ctx context.Context, rule backuptypes.BackupRuleInput, role, resource string) {
	job, err := c.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: rule.TargetBackupVaultName, ResourceArn: aws.String(resource),
		IamRoleArn: aws.String(role), Lifecycle: rule.Lifecycle})
	if err != nil || len(rule.CopyActions) == 0 {
		return
	}
	jobID, point := aws.ToString(job.BackupJobId), aws.ToString(job.RecoveryPointArn)
	c.r.world.goBackground(func(ctx context.Context) {
		for {
			if err := c.r.world.Clock.Sleep(ctx, time.Minute); err != nil {
				return
			}
			out, err := c.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: aws.String(jobID)})
			if err != nil {
				continue // the region is down: the job's state is unknown until it is back
			}
			switch out.State {
			case backuptypes.BackupJobStateCompleted:
				for _, a := range rule.CopyActions {
					_, _ = c.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: rule.TargetBackupVaultName, RecoveryPointArn: aws.String(point),
						DestinationBackupVaultArn: a.DestinationBackupVaultArn, IamRoleArn: aws.String(role), Lifecycle: a.Lifecycle})
				}
				return
			case backuptypes.BackupJobStateFailed, backuptypes.BackupJobStateAborted, backuptypes.BackupJobStateExpired:
				return
			}
		}
	})
}

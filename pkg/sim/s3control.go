package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"
)

// S3Control is one region's S3 Batch Operations, as far as S3 Batch
// Replication goes: a CreateJob with the S3ReplicateObject operation and
// a manifest S3 generates from the source bucket (S3JobManifestGenerator)
// replicates, with the bucket's replication configuration and its role,
// the existing object versions live replication never replicates —
// objects older than the rule, replicas of another source, FAILED ones —
// as the filter selects them (docs/aws-facts.md "S3 Batch Replication").
//
// The job runs as its role (trusted by batchoperations.s3.amazonaws.com):
// generating the manifest needs s3:GetReplicationConfiguration and
// s3:PutInventoryConfiguration on the source bucket (denied: the job
// fails), each object s3:InitiateReplication (denied: that task fails).
// Each version is then replicated as live replication does, with the
// rule's lag, so the job completes when the last of them is. A version
// that is a replica stays REPLICA in its own bucket (our reading: the
// status says what the object is there). A manifest given as a file,
// a stored manifest, a completion report and a job that waits for
// confirmation are not modelled and refused as such.
type S3Control struct {
	r *Region

	mu   sync.Mutex
	jobs map[string]*s3Job // by job ID
	seq  int
}

type s3Job struct {
	d       s3ctypes.JobDescriptor
	token   string
	bucket  string
	filter  s3ctypes.JobManifestGeneratorFilter
	ok, bad int64
}

// S3BatchPrepareTime is how long a Batch Replication job takes to
// generate its manifest before its tasks run (our modelling choice: AWS
// publishes no figure; a manifest is a listing of the bucket).
const S3BatchPrepareTime = time.Minute

// S3Control returns the region's S3 Batch Operations.
func (r *Region) S3Control() *S3Control {
	return r.service(s3control.ServiceID, func() any {
		return &S3Control{r: r, jobs: map[string]*s3Job{}}
	}).(*S3Control)
}

func s3cBadRequest(format string, args ...any) error {
	return &s3ctypes.BadRequestException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// CreateJob creates a Batch Replication job (see S3Control). It returns
// the job's ID at once; the job runs on the clock (DescribeJob).
func (c *S3Control) CreateJob(ctx context.Context, in *s3control.CreateJobInput, optFns ...func(*s3control.Options)) (*s3control.CreateJobOutput, error) {
	const op = "CreateJob"
	if err := c.r.call(ctx, s3control.ServiceID, op, in); err != nil {
		return nil, err
	}
	fail := func(err error) (*s3control.CreateJobOutput, error) { return nil, opErr(s3control.ServiceID, op, err) }
	switch {
	case aws.ToString(in.AccountId) != c.r.world.Account:
		return fail(s3cBadRequest("AccountId %q is not this account", aws.ToString(in.AccountId)))
	case in.Operation == nil || in.Priority == nil || in.Report == nil || aws.ToString(in.RoleArn) == "" || aws.ToString(in.ClientRequestToken) == "":
		return fail(s3cBadRequest("Operation, Priority, Report, RoleArn and ClientRequestToken are required"))
	case in.Operation.S3ReplicateObject == nil:
		return fail(s3cBadRequest("the simulator models Batch Replication only (Operation S3ReplicateObject): %v", errNotModelled))
	case in.Manifest != nil:
		return fail(s3cBadRequest("a manifest file is %v: give a ManifestGenerator", errNotModelled))
	case in.Report.Enabled:
		return fail(s3cBadRequest("a completion report is %v: give Report {Enabled: false}", errNotModelled))
	case aws.ToBool(in.ConfirmationRequired):
		return fail(s3cBadRequest("a job that waits for confirmation is %v", errNotModelled))
	}
	gen, ok := in.ManifestGenerator.(*s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator)
	if !ok {
		return fail(s3cBadRequest("a Batch Replication job needs a Manifest or a ManifestGenerator (S3JobManifestGenerator)"))
	}
	if gen.Value.EnableManifestOutput {
		return fail(s3cBadRequest("a stored manifest (EnableManifestOutput) is %v", errNotModelled))
	}
	bucket, found := strings.CutPrefix(aws.ToString(gen.Value.SourceBucket), "arn:aws:s3:::")
	if !found || bucket == "" {
		return fail(s3cBadRequest("SourceBucket must be a bucket ARN, arn:aws:s3:::NAME"))
	}
	if r := c.r.world.s3FindBucket(bucket); r != c.r {
		return fail(s3cBadRequest("the source bucket %s is not in %s: a Batch Operations job runs in its bucket's region", bucket, c.r.Name))
	}
	var filter s3ctypes.JobManifestGeneratorFilter
	if gen.Value.Filter != nil {
		filter = *gen.Value.Filter
	}
	for _, st := range filter.ObjectReplicationStatuses {
		if !slices.Contains(s3ctypes.ReplicationStatusNone.Values(), st) {
			return fail(s3cBadRequest("ObjectReplicationStatuses: %q is not a replication status", st))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, j := range c.jobs {
		if j.token == aws.ToString(in.ClientRequestToken) {
			return &s3control.CreateJobOutput{JobId: j.d.JobId}, nil
		}
	}
	c.seq++
	id := fmt.Sprintf("%08x-%04x-4000-8000-%012x", fnvString(c.r.Name)>>32, c.seq, c.seq)
	now := c.r.world.Clock.Now()
	j := &s3Job{token: aws.ToString(in.ClientRequestToken), bucket: bucket, filter: filter, d: s3ctypes.JobDescriptor{
		JobId: aws.String(id), JobArn: aws.String(fmt.Sprintf("arn:aws:s3:%s:%s:job/%s", c.r.Name, c.r.world.Account, id)),
		Status: s3ctypes.JobStatusNew, Priority: aws.ToInt32(in.Priority), RoleArn: in.RoleArn, Operation: in.Operation,
		ManifestGenerator: in.ManifestGenerator, Report: in.Report, Description: in.Description, CreationTime: &now,
		ConfirmationRequired: aws.Bool(false), ProgressSummary: &s3ctypes.JobProgressSummary{TotalNumberOfTasks: aws.Int64(0),
			NumberOfTasksSucceeded: aws.Int64(0), NumberOfTasksFailed: aws.Int64(0)},
	}}
	c.jobs[id] = j
	c.r.world.Clock.AfterFunc(S3BatchPrepareTime, func() { c.prepare(j) })
	return &s3control.CreateJobOutput{JobId: aws.String(id)}, nil
}

// finishLocked ends the job; c.mu must be held.
func (c *S3Control) finishLocked(j *s3Job, status s3ctypes.JobStatus, reason string, failures ...s3ctypes.JobFailure) {
	now := c.r.world.Clock.Now()
	j.d.Status, j.d.TerminationDate, j.d.FailureReasons = status, &now, failures
	if reason != "" {
		j.d.StatusUpdateReason = aws.String(reason)
	}
}

// prepare generates the job's manifest as the job's role and starts its
// tasks.
func (c *S3Control) prepare(j *s3Job) {
	w := c.r.world
	role := aws.ToString(j.d.RoleArn)
	sc := serviceCall{Region: c.r.Name, Role: role, Via: "batchoperations.s3.amazonaws.com", Service: s3control.ServiceID, Operation: "CreateJob"}
	denied := w.serviceAuthorize(sc,
		iamCheck{action: "s3:GetReplicationConfiguration", resource: s3BucketARN(j.bucket)},
		iamCheck{action: "s3:PutInventoryConfiguration", resource: s3BucketARN(j.bucket)})
	s := c.r.S3()
	down := w.Down(c.r.Name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if denied != nil {
		c.finishLocked(j, s3ctypes.JobStatusFailed, "Job failed: the manifest could not be generated",
			s3ctypes.JobFailure{FailureCode: aws.String("AccessDenied"), FailureReason: aws.String(denied.Error())})
		return
	}
	s.mu.Lock()
	b := s.buckets[j.bucket]
	if b == nil || b.replication == nil || down {
		s.mu.Unlock()
		why := "the source bucket has no replication configuration"
		switch {
		case down:
			why = "the region is unavailable"
		case b == nil:
			why = "the source bucket does not exist"
		}
		c.finishLocked(j, s3ctypes.JobStatusFailed, "Job failed: "+why,
			s3ctypes.JobFailure{FailureCode: aws.String("InvalidManifest"), FailureReason: aws.String(why)})
		return
	}
	type task struct {
		v    *s3Version
		rule *s3types.ReplicationRule
	}
	var tasks []task
	for _, key := range b.keysLocked() {
		for _, v := range b.objects[key] {
			if v.deleteMarker || !j.selects(v) {
				continue
			}
			rule := s3MatchRule(b, key)
			if rule == nil && aws.ToBool(j.filter.EligibleForReplication) {
				continue
			}
			tasks = append(tasks, task{v, rule})
		}
	}
	j.d.Status = s3ctypes.JobStatusActive
	j.d.ProgressSummary.TotalNumberOfTasks = aws.Int64(int64(len(tasks)))
	if len(tasks) == 0 {
		s.mu.Unlock()
		c.finishLocked(j, s3ctypes.JobStatusComplete, "Job complete")
		return
	}
	for _, t := range tasks {
		v := t.v
		if t.rule == nil {
			j.bad++
			continue
		}
		if err := w.serviceAuthorize(sc, iamCheck{action: "s3:InitiateReplication", resource: s3ObjectARN(j.bucket, v.key)}); err != nil {
			j.bad++
			continue
		}
		replica := v.replication == s3types.ReplicationStatusReplica
		if !replica {
			v.replication = s3types.ReplicationStatusPending
		}
		rtc := t.rule.Destination.ReplicationTime != nil && t.rule.Destination.ReplicationTime.Status == s3types.ReplicationTimeStatusEnabled
		dest := strings.TrimPrefix(aws.ToString(t.rule.Destination.Bucket), "arn:aws:s3:::")
		s.enqueueLocked(s3Repl{due: s.now().Add(s.lag(v.key, rtc)), bucket: j.bucket, v: v, dest: dest, keepReplica: replica,
			done: func(st s3types.ReplicationStatus) { c.taskDone(j, st == s3types.ReplicationStatusCompleted) }})
	}
	s.mu.Unlock()
	c.progressLocked(j)
}

// selects reports whether the filter selects version v.
func (j *s3Job) selects(v *s3Version) bool {
	f := j.filter
	if f.CreatedBefore != nil && !v.lastModified().Before(*f.CreatedBefore) {
		return false
	}
	if f.CreatedAfter != nil && !v.lastModified().After(*f.CreatedAfter) {
		return false
	}
	if len(f.ObjectReplicationStatuses) == 0 {
		return true
	}
	st := s3ctypes.ReplicationStatusNone
	switch v.replication {
	case s3types.ReplicationStatusCompleted, s3types.ReplicationStatusComplete:
		st = s3ctypes.ReplicationStatusCompleted
	case s3types.ReplicationStatusFailed:
		st = s3ctypes.ReplicationStatusFailed
	case s3types.ReplicationStatusReplica:
		st = s3ctypes.ReplicationStatusReplica
	case s3types.ReplicationStatusPending:
		return false // being replicated already
	}
	return slices.Contains(f.ObjectReplicationStatuses, st)
}

// taskDone counts one replicated (or failed) version.
func (c *S3Control) taskDone(j *s3Job, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		j.ok++
	} else {
		j.bad++
	}
	c.progressLocked(j)
}

// progressLocked updates the job's progress and completes it when every
// task is done; c.mu must be held.
func (c *S3Control) progressLocked(j *s3Job) {
	p := j.d.ProgressSummary
	p.NumberOfTasksSucceeded, p.NumberOfTasksFailed = aws.Int64(j.ok), aws.Int64(j.bad)
	if j.d.Status == s3ctypes.JobStatusActive && j.ok+j.bad == aws.ToInt64(p.TotalNumberOfTasks) {
		c.finishLocked(j, s3ctypes.JobStatusComplete, "Job complete")
	}
}

// DescribeJob describes a job: its status and progress.
func (c *S3Control) DescribeJob(ctx context.Context, in *s3control.DescribeJobInput, optFns ...func(*s3control.Options)) (*s3control.DescribeJobOutput, error) {
	const op = "DescribeJob"
	if err := c.r.call(ctx, s3control.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j, ok := c.jobs[aws.ToString(in.JobId)]
	if !ok || aws.ToString(in.AccountId) != c.r.world.Account {
		return nil, opErr(s3control.ServiceID, op, &s3ctypes.NotFoundException{Message: aws.String("Job " + aws.ToString(in.JobId) + " not found")})
	}
	d := j.d
	p := *d.ProgressSummary
	d.ProgressSummary = &p
	d.FailureReasons = append([]s3ctypes.JobFailure(nil), d.FailureReasons...)
	return &s3control.DescribeJobOutput{Job: &d}, nil
}

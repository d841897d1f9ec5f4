package sim

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// batchJob starts a Batch Replication job of bucket in region as role,
// for the versions of the given replication statuses.
func batchJob(ctx context.Context, w *World, region, bucket, role, token string, statuses ...s3ctypes.ReplicationStatus) (*s3control.CreateJobOutput, error) {
	return w.Region(region).S3Control().CreateJob(ctx, &s3control.CreateJobInput{
		AccountId: aws.String(w.Account), ClientRequestToken: aws.String(token), Priority: aws.Int32(10), RoleArn: aws.String(role),
		Operation: &s3ctypes.JobOperation{S3ReplicateObject: &s3ctypes.S3ReplicateObjectOperation{}},
		Report:    &s3ctypes.JobReport{Enabled: false},
		ManifestGenerator: &s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator{Value: s3ctypes.S3JobManifestGenerator{
			SourceBucket: aws.String("arn:aws:s3:::" + bucket), EnableManifestOutput: false,
			Filter: &s3ctypes.JobManifestGeneratorFilter{EligibleForReplication: aws.Bool(true), ObjectReplicationStatuses: statuses}}},
	})
}

func waitJob(t *testing.T, clk *clock.Virtual, c *S3Control, id string) *s3ctypes.JobDescriptor {
	t.Helper()
	ctx := context.Background()
	for range 100 {
		out, err := c.DescribeJob(ctx, &s3control.DescribeJobInput{AccountId: aws.String(c.r.world.Account), JobId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		switch out.Job.Status {
		case s3ctypes.JobStatusComplete, s3ctypes.JobStatusFailed:
			return out.Job
		}
		if err := clk.Sleep(ctx, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("job %s never ended", id)
	return nil
}

// TestS3BatchReplicationOfExistingObjects: a rule added to a bucket
// replicates only what is written after it; a Batch Replication job then
// replicates the bucket's older objects and the replicas it holds of
// another source (which stay REPLICA), and a second job finds nothing
// left.
func TestS3BatchReplicationOfExistingObjects(t *testing.T) {
	clk := clock.NewVirtual(s3TestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2", "us-west-1")
	t.Cleanup(w.Close)
	ctx := context.Background()
	p, b, n := w.Region("us-east-1").S3(), w.Region("us-east-2").S3(), w.Region("us-west-1").S3()
	s3MustBucket(t, p, "src", true)
	s3MustBucket(t, b, "mid", true)
	s3MustBucket(t, n, "dst", true)
	s3Replicate(t, p, "src", "mid", true)
	s3MustPut(t, p, "src", "from-p", "p's object")
	s3MustPut(t, b, "mid", "own-before", "written before mid replicates")
	if err := clk.Sleep(ctx, time.Minute); err != nil { // p's object replicated into mid
		t.Fatal(err)
	}
	if st, _ := s3Status(t, b, "mid", "from-p"); st != s3types.ReplicationStatusReplica {
		t.Fatalf("mid/from-p is %s, want REPLICA", st)
	}
	s3Replicate(t, b, "mid", "dst", true)
	s3MustPut(t, b, "mid", "own-after", "written after")
	if err := clk.Sleep(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	has := func(key string) bool {
		_, err := n.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String(key)})
		return err == nil
	}
	if !has("own-after") || has("own-before") || has("from-p") {
		t.Fatalf("live replication: own-after %t, own-before %t, from-p %t; want only own-after", has("own-after"), has("own-before"), has("from-p"))
	}
	all := []s3ctypes.ReplicationStatus{s3ctypes.ReplicationStatusNone, s3ctypes.ReplicationStatusFailed, s3ctypes.ReplicationStatusReplica}
	out, err := batchJob(ctx, w, "us-east-2", "mid", "arn:aws:iam::111122223333:role/batch", "first", all...)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := batchJob(ctx, w, "us-east-2", "mid", "arn:aws:iam::111122223333:role/batch", "first", all...); err != nil || aws.ToString(again.JobId) != aws.ToString(out.JobId) {
		t.Fatalf("the same ClientRequestToken: %v %v, want job %s", err, again, aws.ToString(out.JobId))
	}
	job := waitJob(t, clk, w.Region("us-east-2").S3Control(), aws.ToString(out.JobId))
	if job.Status != s3ctypes.JobStatusComplete || aws.ToInt64(job.ProgressSummary.TotalNumberOfTasks) != 2 || aws.ToInt64(job.ProgressSummary.NumberOfTasksSucceeded) != 2 {
		t.Fatalf("job: %s, progress %+v, want Complete with 2 of 2 tasks", job.Status, *job.ProgressSummary)
	}
	if !has("own-before") || !has("from-p") {
		t.Fatalf("after the job: own-before %t, from-p %t", has("own-before"), has("from-p"))
	}
	if st, _ := s3Status(t, b, "mid", "from-p"); st != s3types.ReplicationStatusReplica {
		t.Errorf("mid/from-p after its batch replication is %s, want REPLICA", st)
	}
	if st, _ := s3Status(t, b, "mid", "own-before"); st != s3types.ReplicationStatusCompleted {
		t.Errorf("mid/own-before after its batch replication is %s, want COMPLETED", st)
	}
	out, err = batchJob(ctx, w, "us-east-2", "mid", "arn:aws:iam::111122223333:role/batch", "second", s3ctypes.ReplicationStatusNone, s3ctypes.ReplicationStatusFailed)
	if err != nil {
		t.Fatal(err)
	}
	if job := waitJob(t, clk, w.Region("us-east-2").S3Control(), aws.ToString(out.JobId)); aws.ToInt64(job.ProgressSummary.TotalNumberOfTasks) != 0 {
		t.Errorf("a second job over NONE and FAILED has %d tasks, want 0", aws.ToInt64(job.ProgressSummary.TotalNumberOfTasks))
	}
}

// TestS3BatchReplicationAsItsRole: with IAM enforced the job's role must be
// trusted by Batch Operations and allowed to generate the manifest, or
// the job fails, replicating nothing; requests out of the model are
// refused as such.
func TestS3BatchReplicationAsItsRole(t *testing.T) {
	clk := clock.NewVirtual(s3TestStart)
	w := NewWorld(clk, "111122223333", "us-east-2", "us-west-1")
	t.Cleanup(w.Close)
	w.EnforceIAM(true)
	ctx := context.Background()
	b := w.Region("us-east-2").S3()
	s3MustBucket(t, b, "mid", true)
	s3MustBucket(t, w.Region("us-west-1").S3(), "dst", true)
	s3MustPut(t, b, "mid", "old", "x")
	s3Replicate(t, b, "mid", "dst", true)
	const role = "arn:aws:iam::111122223333:role/batch"
	if err := w.CreateRole(role, []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"batchoperations.s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)); err != nil {
		t.Fatal(err)
	}
	out, err := batchJob(ctx, w, "us-east-2", "mid", role, "t1", s3ctypes.ReplicationStatusNone)
	if err != nil {
		t.Fatal(err)
	}
	job := waitJob(t, clk, w.Region("us-east-2").S3Control(), aws.ToString(out.JobId))
	if job.Status != s3ctypes.JobStatusFailed || len(job.FailureReasons) != 1 || aws.ToString(job.FailureReasons[0].FailureCode) != "AccessDenied" {
		t.Fatalf("job as a role without permissions: %s %+v", job.Status, job.FailureReasons)
	}
	if d := w.Denied(); len(d) == 0 || d[len(d)-1].Action != "s3:GetReplicationConfiguration" {
		t.Fatalf("denials: %+v", d)
	}
	for name, change := range map[string]func(*s3control.CreateJobInput){
		"report": func(in *s3control.CreateJobInput) { in.Report.Enabled = true },
		"other-op": func(in *s3control.CreateJobInput) {
			in.Operation = &s3ctypes.JobOperation{S3PutObjectTagging: &s3ctypes.S3SetObjectTaggingOperation{}}
		},
		"other-region": func(in *s3control.CreateJobInput) {},
		"stored": func(in *s3control.CreateJobInput) {
			in.ManifestGenerator.(*s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator).Value.EnableManifestOutput = true
		},
	} {
		region := "us-east-2"
		if name == "other-region" {
			region = "us-west-1"
		}
		in := &s3control.CreateJobInput{AccountId: aws.String(w.Account), ClientRequestToken: aws.String(name), Priority: aws.Int32(1), RoleArn: aws.String(role),
			Operation: &s3ctypes.JobOperation{S3ReplicateObject: &s3ctypes.S3ReplicateObjectOperation{}}, Report: &s3ctypes.JobReport{},
			ManifestGenerator: &s3ctypes.JobManifestGeneratorMemberS3JobManifestGenerator{Value: s3ctypes.S3JobManifestGenerator{SourceBucket: aws.String("arn:aws:s3:::mid")}}}
		change(in)
		if _, err := w.Region(region).S3Control().CreateJob(ctx, in); errorCode(err) != "BadRequestException" {
			t.Errorf("%s: %v, want BadRequestException", name, err)
		}
	}
}

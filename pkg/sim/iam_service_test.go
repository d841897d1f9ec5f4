package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/firehose"
	firehosetypes "github.com/aws/aws-sdk-go-v2/service/firehose/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// svcTrust is a trust policy letting service assume the role.
func svcTrust(service string) []byte {
	return []byte(fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":%q},"Action":"sts:AssumeRole"}]}`, service))
}

// svcRole creates a role trusted by service with an inline policy allowing
// actions on every resource.
func svcRole(t *testing.T, w *World, role, service string, actions ...string) {
	t.Helper()
	if err := w.CreateRole(role, svcTrust(service)); err != nil {
		t.Fatal(err)
	}
	if len(actions) > 0 {
		svcAllow(t, w, role, actions...)
	}
}

// svcAllow replaces the role's inline policy with one allowing actions.
func svcAllow(t *testing.T, w *World, role string, actions ...string) {
	t.Helper()
	a, _ := json.Marshal(actions)
	doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%s,"Resource":"*"}]}`, a)
	if err := w.PutRolePolicy(role, "work", []byte(doc)); err != nil {
		t.Fatal(err)
	}
}

// without returns list less one element.
func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

// wantOneDenial checks that Denied holds exactly one denial, of action
// by the service via the role.
func wantOneDenial(t *testing.T, w *World, role, via, service, operation, action, resource string) {
	t.Helper()
	d := w.Denied()
	if len(d) == 0 {
		t.Fatalf("no denial recorded, want %s", action)
	}
	got := d[0]
	got.Time = time.Time{}
	want := DeniedCall{Principal: role, Action: action, Resource: resource, Region: got.Region, Service: service, Operation: operation, Via: via}
	if got != want {
		t.Fatalf("denial = %+v, want %+v", got, want)
	}
}

var s3ReplicationActions = []string{"s3:GetReplicationConfiguration", "s3:ListBucket", "s3:GetObjectVersionForReplication",
	"s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging", "s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}

func TestS3ReplicationRoleIsAuthorized(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/replication" // s3Replicate's
	setup := func(t *testing.T) (*World, *S3, *S3, func()) {
		w, clk := s3TestWorld(t)
		p, b := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
		s3MustBucket(t, p, "src", true)
		s3MustBucket(t, b, "dst", true)
		s3Replicate(t, p, "src", "dst", true)
		p.SetReplicationLag(func(string, bool) time.Duration { return time.Second })
		return w, p, b, func() { _ = clk.Sleep(context.Background(), 2*time.Second) }
	}
	replicaExists := func(b *S3) bool {
		_, err := b.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("dst"), Key: aws.String("k")})
		return err == nil
	}
	t.Run("not enforced", func(t *testing.T) {
		w, p, b, wait := setup(t) // the role does not even exist
		s3MustPut(t, p, "src", "k", "v")
		wait()
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusCompleted || !replicaExists(b) {
			t.Fatalf("status %q, replica %v; want COMPLETED and a replica", st, replicaExists(b))
		}
		if got := len(w.Denied()); got != 0 {
			t.Fatalf("%d denials, want none", got)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		w, p, b, wait := setup(t)
		w.EnforceIAM(true)
		svcRole(t, w, role, "s3.amazonaws.com", s3ReplicationActions...)
		s3MustPut(t, p, "src", "k", "v")
		wait()
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusCompleted || !replicaExists(b) {
			t.Fatalf("status %q, replica %v; want COMPLETED and a replica", st, replicaExists(b))
		}
		if got := len(w.Denied()); got != 0 {
			t.Fatalf("denials %+v, want none", w.Denied())
		}
	})
	t.Run("no s3:ReplicateObject", func(t *testing.T) {
		w, p, b, wait := setup(t)
		w.EnforceIAM(true)
		svcRole(t, w, role, "s3.amazonaws.com", without(s3ReplicationActions, "s3:ReplicateObject")...)
		s3MustPut(t, p, "src", "k", "v")
		wait()
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusFailed || replicaExists(b) {
			t.Fatalf("status %q, replica %v; want FAILED and no replica", st, replicaExists(b))
		}
		wantOneDenial(t, w, role, "s3.amazonaws.com", "S3", "ReplicateObject", "s3:ReplicateObject", "arn:aws:s3:::dst/k")
		// S3 does not retry a FAILED replication, even once allowed.
		svcAllow(t, w, role, s3ReplicationActions...)
		wait()
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusFailed {
			t.Fatalf("status %q after granting, want FAILED still", st)
		}
	})
	t.Run("no s3:ReplicateDelete", func(t *testing.T) {
		w, p, b, wait := setup(t)
		w.EnforceIAM(true)
		svcRole(t, w, role, "s3.amazonaws.com", without(s3ReplicationActions, "s3:ReplicateDelete")...)
		s3MustPut(t, p, "src", "k", "v")
		wait()
		if _, err := p.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String("src"), Key: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		wait()
		if !replicaExists(b) {
			t.Fatal("the delete marker replicated without s3:ReplicateDelete")
		}
		wantOneDenial(t, w, role, "s3.amazonaws.com", "S3", "ReplicateDelete", "s3:ReplicateDelete", "arn:aws:s3:::dst/k")
	})
	t.Run("untrusted", func(t *testing.T) {
		w, p, _, wait := setup(t)
		w.EnforceIAM(true)
		svcRole(t, w, role, "lambda.amazonaws.com", s3ReplicationActions...)
		s3MustPut(t, p, "src", "k", "v")
		wait()
		if st, _ := s3Status(t, p, "src", "k"); st != s3types.ReplicationStatusFailed {
			t.Fatalf("status %q, want FAILED", st)
		}
		wantOneDenial(t, w, role, "s3.amazonaws.com", "S3", "ReplicateObject", "sts:AssumeRole", role)
	})
}

var firehoseS3Actions = []string{"s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"}

func TestFirehoseDestinationRoleIsAuthorized(t *testing.T) {
	const role = "arn:aws:iam::111122223333:role/firehose-delivery"
	setup := func(t *testing.T, enforce bool, actions ...string) (*World, *Firehose, func(time.Duration)) {
		ctx := context.Background()
		w, clk, _ := kinesisTestStream(t)
		if _, err := w.Region("us-east-1").S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw-bucket")}); err != nil {
			t.Fatal(err)
		}
		w.EnforceIAM(enforce)
		svcRole(t, w, role, "firehose.amazonaws.com", actions...)
		f := w.Region("us-east-1").Firehose()
		d := firehoseTestS3Dest("direct/", 5, 0, false)
		d.RoleARN = aws.String(role)
		firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{DeliveryStreamName: aws.String("direct"), ExtendedS3DestinationConfiguration: d})
		if _, err := f.PutRecordBatch(ctx, &firehose.PutRecordBatchInput{DeliveryStreamName: aws.String("direct"),
			Records: []firehosetypes.Record{{Data: []byte("{\"a\":1}\n")}, {Data: []byte("{\"a\":2}\n")}}}); err != nil {
			t.Fatal(err)
		}
		return w, f, func(d time.Duration) { _ = clk.Sleep(ctx, d) }
	}
	t.Run("not enforced", func(t *testing.T) {
		w, f, sleep := setup(t, false)
		sleep(time.Minute)
		if got, want := f.Stats("direct"), (FirehoseStats{Objects: 1, Records: 2}); got != want {
			t.Fatalf("stats %+v, want %+v", got, want)
		}
		if got := len(w.Denied()); got != 0 {
			t.Fatalf("%d denials, want none", got)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		w, f, sleep := setup(t, true, firehoseS3Actions...)
		sleep(time.Minute)
		if got, want := f.Stats("direct"), (FirehoseStats{Objects: 1, Records: 2}); got != want {
			t.Fatalf("stats %+v, want %+v", got, want)
		}
		if got := len(w.Denied()); got != 0 {
			t.Fatalf("denials %+v, want none", w.Denied())
		}
	})
	t.Run("no s3:PutObject", func(t *testing.T) {
		w, f, sleep := setup(t, true, without(firehoseS3Actions, "s3:PutObject")...)
		sleep(time.Minute)
		if got, want := f.Stats("direct"), (FirehoseStats{Pending: 1}); got != want {
			t.Fatalf("stats %+v, want %+v", got, want)
		}
		d := w.Denied()
		if len(d) < 2 || d[0].Action != "s3:PutObject" || d[0].Principal != role || d[0].Via != "firehose.amazonaws.com" ||
			d[0].Service != "Firehose" || d[0].Operation != "DeliverToS3" || !strings.HasPrefix(d[0].Resource, "arn:aws:s3:::raw-bucket/direct/") {
			t.Fatalf("denials %+v, want retried s3:PutObject denials", d)
		}
		// Granted within the 24 h, the retry delivers.
		svcAllow(t, w, role, firehoseS3Actions...)
		sleep(10 * time.Second)
		if got, want := f.Stats("direct"), (FirehoseStats{Objects: 1, Records: 2}); got != want {
			t.Fatalf("after granting: stats %+v, want %+v", got, want)
		}
	})
	t.Run("denied for 24 h", func(t *testing.T) {
		_, f, sleep := setup(t, true, without(firehoseS3Actions, "s3:GetBucketLocation")...)
		sleep(24*time.Hour + 10*time.Second)
		if got, want := f.Stats("direct"), (FirehoseStats{Dropped: 1, DroppedRecords: 2}); got != want {
			t.Fatalf("stats %+v, want %+v", got, want)
		}
	})
}

func TestFirehoseSourceRoleIsAuthorized(t *testing.T) {
	const (
		src  = "arn:aws:iam::111122223333:role/firehose-source"
		dest = "arn:aws:iam::111122223333:role/firehose-delivery"
	)
	read := []string{"kinesis:DescribeStream", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"}
	ctx := context.Background()
	w, clk, k := kinesisTestStream(t)
	if _, err := w.Region("us-east-1").S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("raw-bucket")}); err != nil {
		t.Fatal(err)
	}
	w.EnforceIAM(true)
	svcRole(t, w, src, "firehose.amazonaws.com", without(read, "kinesis:GetRecords")...)
	svcRole(t, w, dest, "firehose.amazonaws.com", firehoseS3Actions...)
	f := w.Region("us-east-1").Firehose()
	d := firehoseTestS3Dest("raw/", 1, 60, false)
	d.RoleARN = aws.String(dest)
	firehoseTestCreate(t, f, &firehose.CreateDeliveryStreamInput{
		DeliveryStreamName: aws.String("raw"), DeliveryStreamType: firehosetypes.DeliveryStreamTypeKinesisStreamAsSource,
		KinesisStreamSourceConfiguration:   &firehosetypes.KinesisStreamSourceConfiguration{KinesisStreamARN: aws.String(k.StreamARN("ingest")), RoleARN: aws.String(src)},
		ExtendedS3DestinationConfiguration: d,
	})
	if _, err := k.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("ingest"),
		Records: []kinesistypes.PutRecordsRequestEntry{{PartitionKey: aws.String("a"), Data: []byte("{\"a\":1}\n")}}}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 2*time.Minute)
	if got, want := f.Stats("raw"), (FirehoseStats{}); got != want {
		t.Fatalf("stats %+v, want nothing read", got)
	}
	wantOneDenial(t, w, src, "firehose.amazonaws.com", "Firehose", "ReadFromKinesis", "kinesis:GetRecords", k.StreamARN("ingest"))
	// Granted, the retried read takes the records still in the stream.
	svcAllow(t, w, src, read...)
	_ = clk.Sleep(ctx, 2*time.Minute)
	if got, want := f.Stats("raw"), (FirehoseStats{Objects: 1, Records: 1}); got != want {
		t.Fatalf("after granting: stats %+v, want %+v", got, want)
	}
}

const (
	awsBackupPolicy  = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"
	awsRestorePolicy = "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores"
)

func TestAWSManagedPoliciesParse(t *testing.T) {
	for arn := range awsManagedPolicyDocs {
		if awsManagedPolicy(arn) == nil {
			t.Fatalf("%s did not parse", arn)
		}
	}
	// Every AWS managed policy the templates attach is known.
	w := NewWorld(nil, "111122223333", "us-east-1")
	if err := w.CreateRole(backupRole); err != nil {
		t.Fatal(err)
	}
	for _, arn := range []string{awsBackupPolicy, awsRestorePolicy, "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"} {
		if err := w.AttachRolePolicy(backupRole, arn); err != nil {
			t.Fatalf("attach %s: %v", arn, err)
		}
	}
}

func TestBackupJobRoleIsAuthorized(t *testing.T) {
	const restoreRole = "arn:aws:iam::111122223333:role/restore"
	type fixture struct {
		w      *World
		bp, bb *Backup
		dest   string
		table  string
		sleep  func(time.Duration)
	}
	setup := func(t *testing.T, enforce bool) *fixture {
		f := ddbPITRSetup(t)
		fx := &fixture{w: f.w, bp: f.w.Region(s3TestP).Backup(), bb: f.w.Region(s3TestB).Backup(), table: f.tableARN,
			sleep: func(d time.Duration) { _ = f.w.Clock.Sleep(context.Background(), d) }}
		backupVaultIn(t, fx.bp, "pendulum")
		fx.dest = backupVaultIn(t, fx.bb, "pendulum")
		f.w.EnforceIAM(enforce)
		for role, policy := range map[string]string{backupRole: awsBackupPolicy, restoreRole: awsRestorePolicy} {
			if err := f.w.CreateRole(role, svcTrust("backup.amazonaws.com")); err != nil {
				t.Fatal(err)
			}
			if err := f.w.AttachRolePolicy(role, policy); err != nil {
				t.Fatal(err)
			}
		}
		return fx
	}
	ctx := context.Background()
	backupJob := func(t *testing.T, fx *fixture, role string) (*backup.DescribeBackupJobOutput, *string) {
		t.Helper()
		job, err := fx.bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("pendulum"), ResourceArn: aws.String(fx.table), IamRoleArn: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		fx.sleep(2 * time.Minute)
		out, err := fx.bp.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: job.BackupJobId})
		if err != nil {
			t.Fatal(err)
		}
		return out, job.RecoveryPointArn
	}
	copyJob := func(t *testing.T, fx *fixture, point *string, role string) *backuptypes.CopyJob {
		t.Helper()
		cp, err := fx.bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String("pendulum"), RecoveryPointArn: point,
			DestinationBackupVaultArn: aws.String(fx.dest), IamRoleArn: aws.String(role)})
		if err != nil {
			t.Fatal(err)
		}
		fx.sleep(11 * time.Minute)
		out, err := fx.bp.DescribeCopyJob(ctx, &backup.DescribeCopyJobInput{CopyJobId: cp.CopyJobId})
		if err != nil {
			t.Fatal(err)
		}
		return out.CopyJob
	}
	restoreJob := func(t *testing.T, fx *fixture, point *string, role string) *backup.DescribeRestoreJobOutput {
		t.Helper()
		rj, err := fx.bb.StartRestoreJob(ctx, &backup.StartRestoreJobInput{RecoveryPointArn: point, IamRoleArn: aws.String(role),
			ResourceType: aws.String("DynamoDB"), Metadata: map[string]string{"TargetTableName": "restored"}})
		if err != nil {
			t.Fatal(err)
		}
		fx.sleep(25 * time.Minute)
		out, err := fx.bb.DescribeRestoreJob(ctx, &backup.DescribeRestoreJobInput{RestoreJobId: rj.RestoreJobId})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	restoredTable := func(fx *fixture) bool {
		_, err := fx.w.Region(s3TestB).DynamoDB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("restored")})
		return err == nil
	}
	chain := func(t *testing.T, fx *fixture) {
		t.Helper()
		bj, point := backupJob(t, fx, backupRole)
		if bj.State != backuptypes.BackupJobStateCompleted {
			t.Fatalf("backup job %s %q, want COMPLETED", bj.State, aws.ToString(bj.StatusMessage))
		}
		cj := copyJob(t, fx, point, backupRole)
		if cj.State != backuptypes.CopyJobStateCompleted {
			t.Fatalf("copy job %s %q, want COMPLETED", cj.State, aws.ToString(cj.StatusMessage))
		}
		rj := restoreJob(t, fx, cj.DestinationRecoveryPointArn, restoreRole)
		if rj.Status != backuptypes.RestoreJobStatusCompleted || !restoredTable(fx) {
			t.Fatalf("restore job %s %q, table %v; want COMPLETED and the table", rj.Status, aws.ToString(rj.StatusMessage), restoredTable(fx))
		}
		if got := len(fx.w.Denied()); got != 0 {
			t.Fatalf("denials %+v, want none", fx.w.Denied())
		}
	}
	t.Run("not enforced", func(t *testing.T) { chain(t, setup(t, false)) })
	t.Run("managed policies", func(t *testing.T) { chain(t, setup(t, true)) })

	t.Run("backup job without dynamodb:StartAwsBackupJob", func(t *testing.T) {
		fx := setup(t, true)
		const role = "arn:aws:iam::111122223333:role/backup-narrow"
		svcRole(t, fx.w, role, "backup.amazonaws.com", "dynamodb:DescribeTable", "dynamodb:CreateBackup")
		bj, _ := backupJob(t, fx, role)
		if bj.State != backuptypes.BackupJobStateFailed || !strings.Contains(aws.ToString(bj.StatusMessage), "dynamodb:StartAwsBackupJob") {
			t.Fatalf("backup job %s %q, want FAILED naming dynamodb:StartAwsBackupJob", bj.State, aws.ToString(bj.StatusMessage))
		}
		wantOneDenial(t, fx.w, role, "backup.amazonaws.com", "Backup", "BackupJob", "dynamodb:StartAwsBackupJob", fx.table)
		pts, err := fx.bp.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("pendulum")})
		if err != nil || len(pts.RecoveryPoints) != 0 {
			t.Fatalf("recovery points %+v, %v; want none", pts, err)
		}
	})
	t.Run("copy job without backup:CopyIntoBackupVault", func(t *testing.T) {
		fx := setup(t, true)
		const role = "arn:aws:iam::111122223333:role/copy-narrow"
		svcRole(t, fx.w, role, "backup.amazonaws.com", "backup:CopyFromBackupVault")
		_, point := backupJob(t, fx, backupRole)
		cj := copyJob(t, fx, point, role)
		if cj.State != backuptypes.CopyJobStateFailed || !strings.Contains(aws.ToString(cj.StatusMessage), "backup:CopyIntoBackupVault") {
			t.Fatalf("copy job %s %q, want FAILED naming backup:CopyIntoBackupVault", cj.State, aws.ToString(cj.StatusMessage))
		}
		wantOneDenial(t, fx.w, role, "backup.amazonaws.com", "Backup", "CopyJob", "backup:CopyIntoBackupVault", fx.dest)
	})
	t.Run("restore job with the backup policy only", func(t *testing.T) {
		fx := setup(t, true)
		_, point := backupJob(t, fx, backupRole)
		cj := copyJob(t, fx, point, backupRole)
		rj := restoreJob(t, fx, cj.DestinationRecoveryPointArn, backupRole)
		if rj.Status != backuptypes.RestoreJobStatusFailed || !strings.Contains(aws.ToString(rj.StatusMessage), "dynamodb:RestoreTableFromAwsBackup") || restoredTable(fx) {
			t.Fatalf("restore job %s %q, table %v; want FAILED naming dynamodb:RestoreTableFromAwsBackup, no table", rj.Status, aws.ToString(rj.StatusMessage), restoredTable(fx))
		}
		wantOneDenial(t, fx.w, backupRole, "backup.amazonaws.com", "Backup", "RestoreJob", "dynamodb:RestoreTableFromAwsBackup",
			"arn:aws:dynamodb:us-west-2:111122223333:table/restored")
	})
	t.Run("deleted role", func(t *testing.T) {
		fx := setup(t, true)
		fx.w.DeleteRole(backupRole)
		bj, _ := backupJob(t, fx, backupRole)
		if bj.State != backuptypes.BackupJobStateFailed {
			t.Fatalf("backup job %s, want FAILED", bj.State)
		}
		wantOneDenial(t, fx.w, backupRole, "backup.amazonaws.com", "Backup", "BackupJob", "sts:AssumeRole", backupRole)
	})
}

func TestTrustPolicy(t *testing.T) {
	for _, c := range []struct {
		doc     string
		service string
		want    bool
	}{
		{`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}}`, "s3.amazonaws.com", true},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","s3.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}]}`, "s3.amazonaws.com", true},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, "s3.amazonaws.com", false},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`, "s3.amazonaws.com", false},
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:*"},{"Effect":"Deny","Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole"}]}`, "s3.amazonaws.com", false},
	} {
		p, err := parseTrustPolicy([]byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", c.doc, err)
		}
		if got := p.allowsService(c.service); got != c.want {
			t.Errorf("%s allows %s = %v, want %v", c.doc, c.service, got, c.want)
		}
	}
	for _, bad := range []string{`{}`, `{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`, `{"Statement":[{"Effect":"Maybe","Principal":"*","Action":"sts:AssumeRole"}]}`} {
		if _, err := parseTrustPolicy([]byte(bad)); err == nil {
			t.Errorf("%s parsed, want an error", bad)
		}
	}
	w := NewWorld(nil, "111122223333", "us-east-1")
	if err := w.CreateRole(backupRole, []byte(`{"Statement":[]}`)); s3ErrCode(err) != "MalformedPolicyDocument" {
		t.Fatalf("CreateRole with a bad trust policy: %v, want MalformedPolicyDocument", err)
	}
}

package sim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// backupAPI is the consumer-style interface of the AWS Backup methods the
// simulator implements, with the SDK's exact signatures.
type backupAPI interface {
	CreateBackupVault(ctx context.Context, in *backup.CreateBackupVaultInput, optFns ...func(*backup.Options)) (*backup.CreateBackupVaultOutput, error)
	DescribeBackupVault(ctx context.Context, in *backup.DescribeBackupVaultInput, optFns ...func(*backup.Options)) (*backup.DescribeBackupVaultOutput, error)
	StartBackupJob(ctx context.Context, in *backup.StartBackupJobInput, optFns ...func(*backup.Options)) (*backup.StartBackupJobOutput, error)
	DescribeBackupJob(ctx context.Context, in *backup.DescribeBackupJobInput, optFns ...func(*backup.Options)) (*backup.DescribeBackupJobOutput, error)
	StartCopyJob(ctx context.Context, in *backup.StartCopyJobInput, optFns ...func(*backup.Options)) (*backup.StartCopyJobOutput, error)
	DescribeCopyJob(ctx context.Context, in *backup.DescribeCopyJobInput, optFns ...func(*backup.Options)) (*backup.DescribeCopyJobOutput, error)
	ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, optFns ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error)
	DescribeRecoveryPoint(ctx context.Context, in *backup.DescribeRecoveryPointInput, optFns ...func(*backup.Options)) (*backup.DescribeRecoveryPointOutput, error)
	StartRestoreJob(ctx context.Context, in *backup.StartRestoreJobInput, optFns ...func(*backup.Options)) (*backup.StartRestoreJobOutput, error)
	DescribeRestoreJob(ctx context.Context, in *backup.DescribeRestoreJobInput, optFns ...func(*backup.Options)) (*backup.DescribeRestoreJobOutput, error)
}

var (
	_ backupAPI = (*Backup)(nil)
	_ backupAPI = (*backup.Client)(nil)
)

const backupRole = "arn:aws:iam::111122223333:role/backup"

func backupVaultIn(t *testing.T, b *Backup, name string) string {
	t.Helper()
	out, err := b.CreateBackupVault(context.Background(), &backup.CreateBackupVaultInput{BackupVaultName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.BackupVaultArn)
}

func TestBackupCopyAndRestoreWhileSourceDown(t *testing.T) {
	f := ddbPITRSetup(t) // items 1..5 in P's "aggregates"
	ctx := context.Background()
	clk := f.w.Clock
	bp, bb := f.w.Region(s3TestP).Backup(), f.w.Region(s3TestB).Backup()
	backupVaultIn(t, bp, "pendulum")
	destVault := backupVaultIn(t, bb, "pendulum")
	job, err := bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("pendulum"), ResourceArn: aws.String(f.tableARN), IamRoleArn: aws.String(backupRole)})
	if err != nil {
		t.Fatal(err)
	}
	// Writes after the backup are not in the recovery point.
	if _, err := f.p.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("aggregates"), Item: ddbItem{"pk": ddbS("p"), "sk": ddbN("99")}}); err != nil {
		t.Fatal(err)
	}
	_, err = bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String("pendulum"), RecoveryPointArn: job.RecoveryPointArn,
		DestinationBackupVaultArn: aws.String(destVault), IamRoleArn: aws.String(backupRole)})
	var ire *backuptypes.InvalidRequestException
	if !errors.As(err, &ire) {
		t.Fatalf("copy of a CREATING recovery point: %v, want InvalidRequestException", err)
	}
	_ = clk.Sleep(ctx, 2*time.Minute)
	bj, err := bp.DescribeBackupJob(ctx, &backup.DescribeBackupJobInput{BackupJobId: job.BackupJobId})
	if err != nil || bj.State != backuptypes.BackupJobStateCompleted {
		t.Fatalf("backup job = %+v, %v; want COMPLETED", bj, err)
	}
	cp, err := bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String("pendulum"), RecoveryPointArn: job.RecoveryPointArn,
		DestinationBackupVaultArn: aws.String(destVault), IamRoleArn: aws.String(backupRole)})
	if err != nil {
		t.Fatal(err)
	}
	list := func() []backuptypes.RecoveryPointByBackupVault {
		out, err := bb.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("pendulum"), ByResourceArn: aws.String(f.tableARN)})
		if err != nil {
			t.Fatal(err)
		}
		return out.RecoveryPoints
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("copy visible in B before the copy finished: %d points", len(got))
	}
	_ = clk.Sleep(ctx, 11*time.Minute)
	cj, err := bp.DescribeCopyJob(ctx, &backup.DescribeCopyJobInput{CopyJobId: cp.CopyJobId})
	if err != nil || cj.CopyJob.State != backuptypes.CopyJobStateCompleted {
		t.Fatalf("copy job = %+v, %v; want COMPLETED", cj, err)
	}
	pts := list()
	if len(pts) != 1 || pts[0].Status != backuptypes.RecoveryPointStatusCompleted || aws.ToString(pts[0].RecoveryPointArn) != aws.ToString(cj.CopyJob.DestinationRecoveryPointArn) {
		t.Fatalf("B's vault = %+v, want the completed copy", pts)
	}
	if !strings.HasPrefix(aws.ToString(pts[0].RecoveryPointArn), "arn:aws:backup:us-west-2:") {
		t.Fatalf("copy ARN %s is not in us-west-2", aws.ToString(pts[0].RecoveryPointArn))
	}

	// P goes down: its Backup API is unreachable, B's copy is the fallback.
	f.w.SetDown(s3TestP, true)
	if _, err := bp.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("pendulum")}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("backup call to a down region: %v, want ErrUnreachable", err)
	}
	rj, err := bb.StartRestoreJob(ctx, &backup.StartRestoreJobInput{RecoveryPointArn: pts[0].RecoveryPointArn, IamRoleArn: aws.String(backupRole),
		ResourceType: aws.String("DynamoDB"), Metadata: map[string]string{"TargetTableName": "aggregates"}})
	if err != nil {
		t.Fatal(err)
	}
	desc := func() *backup.DescribeRestoreJobOutput {
		out, err := bb.DescribeRestoreJob(ctx, &backup.DescribeRestoreJobInput{RestoreJobId: rj.RestoreJobId})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := desc(); got.Status != backuptypes.RestoreJobStatusRunning || got.CreatedResourceArn != nil {
		t.Fatalf("restore job right away: %s (created %v), want RUNNING", got.Status, got.CreatedResourceArn)
	}
	_ = clk.Sleep(ctx, 21*time.Minute)
	got := desc()
	if got.Status != backuptypes.RestoreJobStatusCompleted || aws.ToString(got.CreatedResourceArn) != "arn:aws:dynamodb:us-west-2:111122223333:table/aggregates" {
		t.Fatalf("restore job later: %s created %s", got.Status, aws.ToString(got.CreatedResourceArn))
	}
	d := f.w.Region(s3TestB).DynamoDB()
	scan, err := d.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("aggregates")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ddbSKs(scan.Items), ","), "1,2,3,4,5"; got != want {
		t.Fatalf("restored from the copy: %s, want the backup's state %s", got, want)
	}
	dt, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("aggregates")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToBool(dt.Table.DeletionProtectionEnabled) || aws.ToString(dt.Table.RestoreSummary.SourceBackupArn) != aws.ToString(pts[0].RecoveryPointArn) {
		t.Fatalf("restored table: protection %v, source backup %s", aws.ToBool(dt.Table.DeletionProtectionEnabled), aws.ToString(dt.Table.RestoreSummary.SourceBackupArn))
	}
	cb, err := d.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("aggregates")})
	if err != nil || cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusDisabled {
		t.Fatalf("restored table PITR = %+v, %v; want DISABLED", cb, err)
	}

	// A second restore onto the same name fails the job, not the call.
	rj2, err := bb.StartRestoreJob(ctx, &backup.StartRestoreJobInput{RecoveryPointArn: pts[0].RecoveryPointArn, IamRoleArn: aws.String(backupRole),
		Metadata: map[string]string{"TargetTableName": "aggregates"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := bb.DescribeRestoreJob(ctx, &backup.DescribeRestoreJobInput{RestoreJobId: rj2.RestoreJobId})
	if err != nil || out.Status != backuptypes.RestoreJobStatusFailed || !strings.Contains(aws.ToString(out.StatusMessage), "Table already exists") {
		t.Fatalf("restore onto an existing table: %+v, %v; want FAILED", out, err)
	}
}

func TestBackupErrors(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	bp, bb := f.w.Region(s3TestP).Backup(), f.w.Region(s3TestB).Backup()
	backupVaultIn(t, bp, "pendulum")
	destVault := backupVaultIn(t, bb, "pendulum")
	_, err := bp.CreateBackupVault(ctx, &backup.CreateBackupVaultInput{BackupVaultName: aws.String("pendulum")})
	var ae *backuptypes.AlreadyExistsException
	if !errors.As(err, &ae) {
		t.Fatalf("vault twice: %v, want AlreadyExistsException", err)
	}
	_, err = bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("nope"), ResourceArn: aws.String(f.tableARN), IamRoleArn: aws.String(backupRole)})
	var rnf *backuptypes.ResourceNotFoundException
	if !errors.As(err, &rnf) {
		t.Fatalf("backup to a missing vault: %v, want ResourceNotFoundException", err)
	}
	_, err = bb.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("pendulum"), ResourceArn: aws.String(f.tableARN), IamRoleArn: aws.String(backupRole)})
	var ipv *backuptypes.InvalidParameterValueException
	if !errors.As(err, &ipv) {
		t.Fatalf("backup of another region's table: %v, want InvalidParameterValueException", err)
	}
	_, err = bb.StartRestoreJob(ctx, &backup.StartRestoreJobInput{RecoveryPointArn: aws.String("arn:aws:backup:us-west-2:111122223333:recovery-point:nope"),
		IamRoleArn: aws.String(backupRole), Metadata: map[string]string{"TargetTableName": "x-restored"}})
	if !errors.As(err, &rnf) {
		t.Fatalf("restore of a missing point: %v, want ResourceNotFoundException", err)
	}
	job, err := bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("pendulum"), ResourceArn: aws.String(f.tableARN), IamRoleArn: aws.String(backupRole)})
	if err != nil {
		t.Fatal(err)
	}
	_ = f.w.Clock.Sleep(ctx, 5*time.Minute)
	f.w.SetDown(s3TestB, true)
	cp, err := bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String("pendulum"), RecoveryPointArn: job.RecoveryPointArn,
		DestinationBackupVaultArn: aws.String(destVault), IamRoleArn: aws.String(backupRole)})
	if err != nil {
		t.Fatal(err)
	}
	cj, err := bp.DescribeCopyJob(ctx, &backup.DescribeCopyJobInput{CopyJobId: cp.CopyJobId})
	if err != nil || cj.CopyJob.State != backuptypes.CopyJobStateFailed {
		t.Fatalf("copy to a down region: %+v, %v; want FAILED", cj, err)
	}
}

func TestBackupListPagination(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	bp := f.w.Region(s3TestP).Backup()
	backupVaultIn(t, bp, "pendulum")
	want := map[string]bool{}
	for i := 0; i < 5; i++ {
		job, err := bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("pendulum"), ResourceArn: aws.String(f.tableARN), IamRoleArn: aws.String(backupRole)})
		if err != nil {
			t.Fatal(err)
		}
		want[aws.ToString(job.RecoveryPointArn)] = true
		_ = f.w.Clock.Sleep(ctx, time.Hour)
	}
	got := map[string]bool{}
	pages := 0
	p := backup.NewListRecoveryPointsByBackupVaultPaginator(bp, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("pendulum"), MaxResults: aws.Int32(2)})
	var prev time.Time
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, rp := range out.RecoveryPoints {
			if !prev.IsZero() && aws.ToTime(rp.CreationDate).After(prev) {
				t.Fatal("recovery points not newest first")
			}
			prev = aws.ToTime(rp.CreationDate)
			got[aws.ToString(rp.RecoveryPointArn)] = true
		}
	}
	if fmt.Sprint(len(got), pages) != "5 3" {
		t.Fatalf("listed %d points in %d pages, want 5 in 3", len(got), pages)
	}
	for arn := range want {
		if !got[arn] {
			t.Fatalf("recovery point %s not listed", arn)
		}
	}
	other, err := bp.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("pendulum"), ByResourceArn: aws.String("arn:aws:dynamodb:us-east-1:111122223333:table/other")})
	if err != nil || len(other.RecoveryPoints) != 0 {
		t.Fatalf("ByResourceArn of another table: %d points, %v; want none", len(other.RecoveryPoints), err)
	}
}

// TestRegionalOutageScenario walks the recovery path the drill exercises:
// data in P replicating to B, P goes down, the cross-region PITR restore
// cannot reach P, the AWS Backup copy in B restores the table, objects not yet
// replicated are the RPO and replicate once P is back.
func TestRegionalOutageScenario(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	sp, sb := w.Region(s3TestP).S3(), w.Region(s3TestB).S3()
	s3MustBucket(t, sp, "raw-p", true)
	s3MustBucket(t, sb, "raw-b", true)
	s3Replicate(t, sp, "raw-p", "raw-b", true)
	sp.SetReplicationLag(func(string, bool) time.Duration { return 30 * time.Second })

	dp := ddbTestTable(t, w, clk, "state")
	if _, err := dp.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("state"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	ddbFill(t, dp, "state", "p", 10)
	bp, bb := w.Region(s3TestP).Backup(), w.Region(s3TestB).Backup()
	backupVaultIn(t, bp, "dr")
	dest := backupVaultIn(t, bb, "dr")
	job, err := bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("dr"),
		ResourceArn: aws.String("arn:aws:dynamodb:us-east-1:111122223333:table/state"), IamRoleArn: aws.String(backupRole)})
	if err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 2*time.Minute)
	if _, err := bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String("dr"), RecoveryPointArn: job.RecoveryPointArn,
		DestinationBackupVaultArn: aws.String(dest), IamRoleArn: aws.String(backupRole)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		s3MustPut(t, sp, "raw-p", fmt.Sprintf("raw/old-%d.json", i), "x")
	}
	_ = clk.Sleep(ctx, 15*time.Minute) // copies land, old objects replicate
	for i := 0; i < 3; i++ {
		s3MustPut(t, sp, "raw-p", fmt.Sprintf("raw/new-%d.json", i), "y")
	}
	w.SetDown(s3TestP, true) // before the new objects replicate

	db := w.Region(s3TestB).DynamoDB()
	_, err = db.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{
		SourceTableArn: aws.String("arn:aws:dynamodb:us-east-1:111122223333:table/state"), TargetTableName: aws.String("state"), UseLatestRestorableTime: aws.Bool(true)})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("PITR restore from a down region: %v, want ErrUnreachable", err)
	}
	pts, err := bb.ListRecoveryPointsByBackupVault(ctx, &backup.ListRecoveryPointsByBackupVaultInput{BackupVaultName: aws.String("dr"),
		ByResourceArn: aws.String("arn:aws:dynamodb:us-east-1:111122223333:table/state")})
	if err != nil || len(pts.RecoveryPoints) != 1 {
		t.Fatalf("recovery points in B = %v, %v; want the copy", pts, err)
	}
	rj, err := bb.StartRestoreJob(ctx, &backup.StartRestoreJobInput{RecoveryPointArn: pts.RecoveryPoints[0].RecoveryPointArn,
		IamRoleArn: aws.String(backupRole), Metadata: map[string]string{"TargetTableName": "state"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 25*time.Minute)
	if out, err := bb.DescribeRestoreJob(ctx, &backup.DescribeRestoreJobInput{RestoreJobId: rj.RestoreJobId}); err != nil || out.Status != backuptypes.RestoreJobStatusCompleted {
		t.Fatalf("restore job = %+v, %v", out, err)
	}
	scan, err := db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("state"), Select: ddbtypes.SelectCount})
	if err != nil || scan.Count != 10 {
		t.Fatalf("restored table holds %d items, %v; want 10", scan.Count, err)
	}
	if got, want := sb.CountByReplicationStatus("raw-b")[s3types.ReplicationStatusReplica], 5; got != want {
		t.Fatalf("replicas in B during the outage = %d, want %d (the RPO is the other 3)", got, want)
	}
	w.SetDown(s3TestP, false)
	_ = clk.Sleep(ctx, 5*time.Minute)
	if got, want := sb.CountByReplicationStatus("raw-b")[s3types.ReplicationStatusReplica], 8; got != want {
		t.Fatalf("replicas in B after P came back = %d, want %d", got, want)
	}
	if ops, _ := sp.ReplicationBacklog("raw-p"); ops != 0 {
		t.Fatalf("backlog after recovery = %d, want 0", ops)
	}
}

// TestBackupJobMetrics: an ended backup or copy job counts once in AWS/Backup
// in the job's region, by vault and by resource type, completed or failed,
// at the time it ended.
func TestBackupJobMetrics(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	clk := f.w.Clock
	bp := f.w.Region(s3TestP).Backup()
	backupVaultIn(t, bp, "pendulum")
	start := clk.Now()
	job, err := bp.StartBackupJob(ctx, &backup.StartBackupJobInput{BackupVaultName: aws.String("pendulum"), ResourceArn: aws.String(f.tableARN), IamRoleArn: aws.String(backupRole)})
	if err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 2*time.Minute)
	if _, err := bp.StartCopyJob(ctx, &backup.StartCopyJobInput{SourceBackupVaultName: aws.String("pendulum"), RecoveryPointArn: job.RecoveryPointArn,
		DestinationBackupVaultArn: aws.String("arn:aws:backup:us-west-2:111122223333:backup-vault:missing"), IamRoleArn: aws.String(backupRole)}); err != nil {
		t.Fatal(err)
	}
	sum := func(name string, dim cwtypes.Dimension) float64 {
		t.Helper()
		out, err := f.w.Region(s3TestP).CloudWatch().GetMetricStatistics(Unmetered(ctx), &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("AWS/Backup"), MetricName: aws.String(name), Dimensions: []cwtypes.Dimension{dim},
			StartTime: aws.Time(start.Truncate(time.Hour)), EndTime: aws.Time(start.Truncate(time.Hour).Add(time.Hour)), Period: aws.Int32(3600),
			Statistics: []cwtypes.Statistic{cwtypes.StatisticSum},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Datapoints) == 0 {
			return 0
		}
		return aws.ToFloat64(out.Datapoints[0].Sum)
	}
	vault := cwtypes.Dimension{Name: aws.String("BackupVaultName"), Value: aws.String("pendulum")}
	kind := cwtypes.Dimension{Name: aws.String("ResourceType"), Value: aws.String("DynamoDB")}
	for _, tc := range []struct {
		name string
		dim  cwtypes.Dimension
		want float64
	}{
		{"NumberOfBackupJobsCompleted", vault, 1}, {"NumberOfBackupJobsCompleted", kind, 1}, {BackupMetricBackupJobsFailed, vault, 0},
		{BackupMetricCopyJobsFailed, vault, 1}, {BackupMetricCopyJobsFailed, kind, 1}, {"NumberOfCopyJobsCompleted", vault, 0},
	} {
		if got := sum(tc.name, tc.dim); got != tc.want {
			t.Errorf("%s by %s = %v, want %v", tc.name, aws.ToString(tc.dim.Name), got, tc.want)
		}
	}
}

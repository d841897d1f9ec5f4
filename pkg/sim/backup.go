package sim

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/backup"
	backuptypes "github.com/aws/aws-sdk-go-v2/service/backup/types"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// backupServiceID is the SDK's ServiceID for AWS Backup.
const backupServiceID = "Backup"

// Backup is one region's simulated AWS Backup for DynamoDB tables: vaults,
// backup jobs that snapshot a table, copy jobs that carry a recovery point to
// a vault in another region, and restore jobs that create a new table from
// one. A recovery point copied to another region stays usable while the
// source region is down: that is the fallback when a cross-region PITR
// restore cannot reach the source (docs/aws-facts.md "AWS Backup cross-Region copy").
//
// Job states are derived from the clock (each job completes at a modelled
// instant), so nothing runs in the background.
type Backup struct {
	r *Region

	mu         sync.Mutex
	vaults     map[string]*backupVault
	backupJobs map[string]*backupJob
	copyJobs   map[string]*backupCopyJob
	restores   map[string]*backupRestoreJob
	seq        int
	backupDur  time.Duration
	copyDur    time.Duration
	restoreDur time.Duration
	plans      map[string]*backupPlan // backup_plan.go
}

type backupVault struct {
	name, arn string
	created   time.Time
	points    []*backupPoint
}

// backupPoint is a recovery point: a table snapshot in a vault. It is listed
// from availableAt on (a copy appears in its vault when the copy completes).
type backupPoint struct {
	arn, vaultName, vaultArn string
	resourceArn, resource    string
	sourceVaultArn, iamRole  string
	created, availableAt     time.Time
	completed                time.Time
	snap                     *ddbSnapshot
}

type backupJob struct {
	id, vaultName, vaultArn, pointArn, resourceArn, iamRole string
	failure                                                 string // StatusMessage of a FAILED job
	created, done                                           time.Time
	bytes                                                   int64
}

type backupCopyJob struct {
	id, sourceVaultArn, destVaultArn, sourcePoint, destPoint string
	resourceArn, iamRole, failure                            string
	created, done                                            time.Time
	bytes                                                    int64
}

type backupRestoreJob struct {
	id, pointArn, vaultArn, createdArn, resourceArn, iamRole, failure string
	created, done, pointCreated                                       time.Time
	bytes                                                             int64
}

// Backup returns the region's AWS Backup service.
func (r *Region) Backup() *Backup {
	return r.service("backup", func() any {
		return &Backup{r: r, vaults: map[string]*backupVault{}, backupJobs: map[string]*backupJob{},
			copyJobs: map[string]*backupCopyJob{}, restores: map[string]*backupRestoreJob{},
			backupDur: time.Minute, copyDur: 10 * time.Minute, restoreDur: 20 * time.Minute}
	}).(*Backup)
}

// SetDurations sets how long backup, copy and restore jobs take (defaults 1,
// 10 and 20 minutes; a DynamoDB restore takes at least about 20 minutes,
// docs/aws-facts.md "DynamoDB PITR"). Zero leaves a duration unchanged.
func (c *Backup) SetDurations(backupJob, copyJob, restoreJob time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if backupJob > 0 {
		c.backupDur = backupJob
	}
	if copyJob > 0 {
		c.copyDur = copyJob
	}
	if restoreJob > 0 {
		c.restoreDur = restoreJob
	}
}

func (c *Backup) now() time.Time { return c.r.world.Clock.Now().UTC() }

func (c *Backup) copyDuration() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.copyDur
}

// nextIDLocked returns a deterministic UUID-shaped identifier.
func (c *Backup) nextIDLocked() string {
	c.seq++
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", c.r.Name, c.seq)
	s := h.Sum64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(s>>32), uint16(s>>16), uint16(s)&0xfff, c.seq&0xfff, s&0xffffffffffff)
}

func backupNotFound(format string, args ...any) error {
	return &backuptypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func backupInvalid(format string, args ...any) error {
	return &backuptypes.InvalidParameterValueException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// CreateBackupVault creates a vault in this region.
func (c *Backup) CreateBackupVault(ctx context.Context, in *backup.CreateBackupVaultInput, optFns ...func(*backup.Options)) (*backup.CreateBackupVaultOutput, error) {
	const op = "CreateBackupVault"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.BackupVaultName)
	if name == "" || len(name) > 50 {
		return nil, opErr(backupServiceID, op, backupInvalid("Invalid backup vault name: %q", name))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v := c.vaults[name]; v != nil {
		return nil, opErr(backupServiceID, op, &backuptypes.AlreadyExistsException{Message: aws.String("Backup vault with the same name already exists"), Arn: aws.String(v.arn)})
	}
	v := &backupVault{name: name, arn: fmt.Sprintf("arn:aws:backup:%s:%s:backup-vault:%s", c.r.Name, c.r.world.Account, name), created: c.now()}
	c.vaults[name] = v
	return &backup.CreateBackupVaultOutput{BackupVaultArn: aws.String(v.arn), BackupVaultName: aws.String(name), CreationDate: aws.Time(v.created)}, nil
}

// DescribeBackupVault describes a vault.
func (c *Backup) DescribeBackupVault(ctx context.Context, in *backup.DescribeBackupVaultInput, optFns ...func(*backup.Options)) (*backup.DescribeBackupVaultOutput, error) {
	const op = "DescribeBackupVault"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.vaults[aws.ToString(in.BackupVaultName)]
	if v == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Backup vault %s does not exist", aws.ToString(in.BackupVaultName)))
	}
	return &backup.DescribeBackupVaultOutput{BackupVaultArn: aws.String(v.arn), BackupVaultName: aws.String(v.name), CreationDate: aws.Time(v.created),
		NumberOfRecoveryPoints: int64(len(c.visibleLocked(v)))}, nil
}

// visibleLocked returns the vault's recovery points that exist by now.
func (c *Backup) visibleLocked(v *backupVault) []*backupPoint {
	now := c.now()
	var out []*backupPoint
	for _, p := range v.points {
		if !now.Before(p.availableAt) {
			out = append(out, p)
		}
	}
	return out
}

// StartBackupJob snapshots a DynamoDB table of this region into a vault. The
// recovery point holds the table as of the call; it is CREATING for the
// modelled backup duration, then COMPLETED.
func (c *Backup) StartBackupJob(ctx context.Context, in *backup.StartBackupJobInput, optFns ...func(*backup.Options)) (*backup.StartBackupJobOutput, error) {
	const op = "StartBackupJob"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	res := aws.ToString(in.ResourceArn)
	prefix := fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/", c.r.Name, c.r.world.Account)
	if !strings.HasPrefix(res, prefix) {
		return nil, opErr(backupServiceID, op, backupInvalid("Invalid ARN: %s. The resource must be a DynamoDB table in %s", res, c.r.Name))
	}
	if aws.ToString(in.IamRoleArn) == "" {
		return nil, opErr(backupServiceID, op, &backuptypes.MissingParameterValueException{Message: aws.String("IamRoleArn is required")})
	}
	snap, err := c.r.DynamoDB().ddbSnapshotOf(res)
	if err != nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Resource %s not found: %v", res, err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.vaults[aws.ToString(in.BackupVaultName)]
	if v == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Backup vault %s does not exist", aws.ToString(in.BackupVaultName)))
	}
	now := c.now()
	id := c.nextIDLocked()
	p := &backupPoint{
		arn:      fmt.Sprintf("arn:aws:backup:%s:%s:recovery-point:%s", c.r.Name, c.r.world.Account, c.nextIDLocked()),
		vaultArn: v.arn, vaultName: v.name, resourceArn: res, resource: strings.TrimPrefix(res, prefix),
		iamRole: aws.ToString(in.IamRoleArn), created: now, availableAt: now, completed: now.Add(c.backupDur), snap: snap,
	}
	job := &backupJob{id: id, vaultName: v.name, vaultArn: v.arn, pointArn: p.arn, resourceArn: res, iamRole: p.iamRole,
		created: now, done: p.completed, bytes: snap.bytes}
	// The job runs as its role: a denied job is FAILED and makes no
	// recovery point.
	if err := c.jobAuthorize(p.iamRole, "BackupJob", backupJobChecks(res)); err != nil {
		job.failure, job.done = err.Error(), now
	} else {
		v.points = append(v.points, p)
	}
	c.backupJobs[id] = job
	c.publishJobMetric("BackupJobs", v.name, job.failure != "", job.done)
	return &backup.StartBackupJobOutput{BackupJobId: aws.String(id), RecoveryPointArn: aws.String(p.arn), CreationDate: aws.Time(now)}, nil
}

// DescribeBackupJob describes a backup job.
func (c *Backup) DescribeBackupJob(ctx context.Context, in *backup.DescribeBackupJobInput, optFns ...func(*backup.Options)) (*backup.DescribeBackupJobOutput, error) {
	const op = "DescribeBackupJob"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j := c.backupJobs[aws.ToString(in.BackupJobId)]
	if j == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Backup job %s not found", aws.ToString(in.BackupJobId)))
	}
	out := &backup.DescribeBackupJobOutput{BackupJobId: aws.String(j.id), BackupVaultName: aws.String(j.vaultName), BackupVaultArn: aws.String(j.vaultArn),
		RecoveryPointArn: aws.String(j.pointArn), ResourceArn: aws.String(j.resourceArn), ResourceType: aws.String("DynamoDB"),
		IamRoleArn: aws.String(j.iamRole), CreationDate: aws.Time(j.created), BackupSizeInBytes: aws.Int64(j.bytes),
		AccountId: aws.String(c.r.world.Account), State: backuptypes.BackupJobStateRunning, PercentDone: aws.String(backupPercent(j.created, j.done, c.now()))}
	switch {
	case j.failure != "":
		out.State, out.StatusMessage, out.CompletionDate = backuptypes.BackupJobStateFailed, aws.String(j.failure), aws.Time(j.done)
	case !c.now().Before(j.done):
		out.State, out.CompletionDate = backuptypes.BackupJobStateCompleted, aws.Time(j.done)
	}
	return out, nil
}

func backupPercent(start, done, now time.Time) string {
	if !now.Before(done) || !done.After(start) {
		return "100.0"
	}
	return strconv.FormatFloat(100*float64(now.Sub(start))/float64(done.Sub(start)), 'f', 1, 64)
}

// backupParseVaultARN splits arn:aws:backup:REGION:ACCOUNT:backup-vault:NAME.
func backupParseVaultARN(arn string) (region, account, name string, ok bool) {
	parts := strings.SplitN(arn, ":", 7)
	if len(parts) != 7 || parts[0] != "arn" || parts[2] != "backup" || parts[5] != "backup-vault" {
		return "", "", "", false
	}
	return parts[3], parts[4], parts[6], true
}

func (c *Backup) pointLocked(arn string) *backupPoint {
	for _, v := range c.vaults {
		for _, p := range c.visibleLocked(v) {
			if p.arn == arn {
				return p
			}
		}
	}
	return nil
}

// StartCopyJob copies a completed recovery point of a vault in this region to
// a vault in another region. The copy lands when the copy duration has
// passed; a destination that is down or missing fails the job.
func (c *Backup) StartCopyJob(ctx context.Context, in *backup.StartCopyJobInput, optFns ...func(*backup.Options)) (*backup.StartCopyJobOutput, error) {
	const op = "StartCopyJob"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	region, account, destName, ok := backupParseVaultARN(aws.ToString(in.DestinationBackupVaultArn))
	if !ok {
		return nil, opErr(backupServiceID, op, backupInvalid("Invalid destination backup vault ARN: %s", aws.ToString(in.DestinationBackupVaultArn)))
	}
	if aws.ToString(in.IamRoleArn) == "" {
		return nil, opErr(backupServiceID, op, &backuptypes.MissingParameterValueException{Message: aws.String("IamRoleArn is required")})
	}
	c.mu.Lock()
	v := c.vaults[aws.ToString(in.SourceBackupVaultName)]
	if v == nil {
		c.mu.Unlock()
		return nil, opErr(backupServiceID, op, backupNotFound("Backup vault %s does not exist", aws.ToString(in.SourceBackupVaultName)))
	}
	var src *backupPoint
	for _, p := range c.visibleLocked(v) {
		if p.arn == aws.ToString(in.RecoveryPointArn) {
			src = p
		}
	}
	if src == nil {
		c.mu.Unlock()
		return nil, opErr(backupServiceID, op, backupNotFound("Recovery point %s not found in vault %s", aws.ToString(in.RecoveryPointArn), v.name))
	}
	now := c.now()
	if now.Before(src.completed) {
		c.mu.Unlock()
		return nil, opErr(backupServiceID, op, &backuptypes.InvalidRequestException{Message: aws.String("Recovery point is not in COMPLETED state")})
	}
	srcVaultArn := v.arn
	c.mu.Unlock()

	// Place the copy in the destination vault (under that region's lock only).
	var failure, destPoint string
	done := now.Add(c.copyDuration())
	known := false
	for _, r := range c.r.world.Regions() {
		known = known || r == region
	}
	denied := c.jobAuthorize(aws.ToString(in.IamRoleArn), "CopyJob", backupCopyChecks(src.arn, aws.ToString(in.DestinationBackupVaultArn)))
	switch {
	case denied != nil:
		failure = denied.Error()
	case !known || account != c.r.world.Account:
		failure = "Destination backup vault does not exist"
	case c.r.world.Down(region):
		failure = "Destination region " + region + " is unreachable"
	default:
		dst := c.r.world.Region(region).Backup()
		dst.mu.Lock()
		if dv := dst.vaults[destName]; dv == nil {
			failure = "Destination backup vault does not exist"
		} else {
			p := &backupPoint{arn: fmt.Sprintf("arn:aws:backup:%s:%s:recovery-point:%s", region, c.r.world.Account, dst.nextIDLocked()),
				vaultArn: dv.arn, vaultName: dv.name, resourceArn: src.resourceArn, resource: src.resource, sourceVaultArn: srcVaultArn,
				iamRole: aws.ToString(in.IamRoleArn), created: done, availableAt: done, completed: done, snap: src.snap}
			dv.points = append(dv.points, p)
			destPoint = p.arn
		}
		dst.mu.Unlock()
	}
	if failure != "" {
		done = now
	}
	c.mu.Lock()
	job := &backupCopyJob{id: c.nextIDLocked(), sourceVaultArn: srcVaultArn, destVaultArn: aws.ToString(in.DestinationBackupVaultArn), sourcePoint: src.arn,
		destPoint: destPoint, failure: failure, resourceArn: src.resourceArn, iamRole: aws.ToString(in.IamRoleArn), created: now, done: done, bytes: src.snap.bytes}
	c.copyJobs[job.id] = job
	c.mu.Unlock()
	c.publishJobMetric("CopyJobs", v.name, failure != "", done)
	return &backup.StartCopyJobOutput{CopyJobId: aws.String(job.id), CreationDate: aws.Time(now)}, nil
}

// DescribeCopyJob describes a copy job.
func (c *Backup) DescribeCopyJob(ctx context.Context, in *backup.DescribeCopyJobInput, optFns ...func(*backup.Options)) (*backup.DescribeCopyJobOutput, error) {
	const op = "DescribeCopyJob"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j := c.copyJobs[aws.ToString(in.CopyJobId)]
	if j == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Copy job %s not found", aws.ToString(in.CopyJobId)))
	}
	cj := &backuptypes.CopyJob{CopyJobId: aws.String(j.id), SourceBackupVaultArn: aws.String(j.sourceVaultArn), DestinationBackupVaultArn: aws.String(j.destVaultArn),
		SourceRecoveryPointArn: aws.String(j.sourcePoint), ResourceArn: aws.String(j.resourceArn), ResourceType: aws.String("DynamoDB"),
		IamRoleArn: aws.String(j.iamRole), CreationDate: aws.Time(j.created), BackupSizeInBytes: aws.Int64(j.bytes),
		AccountId: aws.String(c.r.world.Account), State: backuptypes.CopyJobStateRunning}
	switch {
	case j.failure != "":
		cj.State, cj.StatusMessage, cj.CompletionDate = backuptypes.CopyJobStateFailed, aws.String(j.failure), aws.Time(j.done)
	case !c.now().Before(j.done):
		cj.State, cj.CompletionDate, cj.DestinationRecoveryPointArn = backuptypes.CopyJobStateCompleted, aws.Time(j.done), aws.String(j.destPoint)
	}
	return &backup.DescribeCopyJobOutput{CopyJob: cj}, nil
}

func (c *Backup) pointStatus(p *backupPoint) backuptypes.RecoveryPointStatus {
	if c.now().Before(p.completed) {
		return backuptypes.RecoveryPointStatusCreating
	}
	return backuptypes.RecoveryPointStatusCompleted
}

// ListRecoveryPointsByBackupVault lists a vault's recovery points, newest
// first, with the ByResourceArn, ByResourceType and creation-date filters and
// MaxResults/NextToken pagination.
func (c *Backup) ListRecoveryPointsByBackupVault(ctx context.Context, in *backup.ListRecoveryPointsByBackupVaultInput, optFns ...func(*backup.Options)) (*backup.ListRecoveryPointsByBackupVaultOutput, error) {
	const op = "ListRecoveryPointsByBackupVault"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	max := int(aws.ToInt32(in.MaxResults))
	if max <= 0 || max > 1000 {
		max = 1000
	}
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, perr := strconv.Atoi(string(raw))
		if err != nil || perr != nil || n < 0 {
			return nil, opErr(backupServiceID, op, backupInvalid("Invalid NextToken"))
		}
		start = n
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.vaults[aws.ToString(in.BackupVaultName)]
	if v == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Backup vault %s does not exist", aws.ToString(in.BackupVaultName)))
	}
	var pts []*backupPoint
	for _, p := range c.visibleLocked(v) {
		if in.ByResourceArn != nil && p.resourceArn != *in.ByResourceArn ||
			in.ByResourceType != nil && *in.ByResourceType != "DynamoDB" ||
			in.ByCreatedAfter != nil && !p.created.After(*in.ByCreatedAfter) ||
			in.ByCreatedBefore != nil && !p.created.Before(*in.ByCreatedBefore) {
			continue
		}
		pts = append(pts, p)
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].created.After(pts[j].created) })
	out := &backup.ListRecoveryPointsByBackupVaultOutput{}
	for i := start; i < len(pts); i++ {
		if len(out.RecoveryPoints) == max {
			out.NextToken = aws.String(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(i))))
			break
		}
		p := pts[i]
		rp := backuptypes.RecoveryPointByBackupVault{RecoveryPointArn: aws.String(p.arn), BackupVaultName: aws.String(p.vaultName),
			BackupVaultArn: aws.String(p.vaultArn), ResourceArn: aws.String(p.resourceArn), ResourceName: aws.String(p.resource),
			ResourceType: aws.String("DynamoDB"), IamRoleArn: aws.String(p.iamRole), CreationDate: aws.Time(p.created),
			BackupSizeInBytes: aws.Int64(p.snap.bytes), Status: c.pointStatus(p)}
		if p.sourceVaultArn != "" {
			rp.SourceBackupVaultArn = aws.String(p.sourceVaultArn)
		}
		if rp.Status == backuptypes.RecoveryPointStatusCompleted {
			rp.CompletionDate = aws.Time(p.completed)
		}
		out.RecoveryPoints = append(out.RecoveryPoints, rp)
	}
	return out, nil
}

// DescribeRecoveryPoint describes one recovery point of a vault.
func (c *Backup) DescribeRecoveryPoint(ctx context.Context, in *backup.DescribeRecoveryPointInput, optFns ...func(*backup.Options)) (*backup.DescribeRecoveryPointOutput, error) {
	const op = "DescribeRecoveryPoint"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.vaults[aws.ToString(in.BackupVaultName)]
	if v == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Backup vault %s does not exist", aws.ToString(in.BackupVaultName)))
	}
	for _, p := range c.visibleLocked(v) {
		if p.arn != aws.ToString(in.RecoveryPointArn) {
			continue
		}
		out := &backup.DescribeRecoveryPointOutput{RecoveryPointArn: aws.String(p.arn), BackupVaultName: aws.String(p.vaultName),
			BackupVaultArn: aws.String(p.vaultArn), ResourceArn: aws.String(p.resourceArn), ResourceName: aws.String(p.resource),
			ResourceType: aws.String("DynamoDB"), IamRoleArn: aws.String(p.iamRole), CreationDate: aws.Time(p.created),
			BackupSizeInBytes: aws.Int64(p.snap.bytes), Status: c.pointStatus(p)}
		if p.sourceVaultArn != "" {
			out.SourceBackupVaultArn = aws.String(p.sourceVaultArn)
		}
		if out.Status == backuptypes.RecoveryPointStatusCompleted {
			out.CompletionDate = aws.Time(p.completed)
		}
		return out, nil
	}
	return nil, opErr(backupServiceID, op, backupNotFound("Recovery point %s not found in vault %s", aws.ToString(in.RecoveryPointArn), v.name))
}

// StartRestoreJob restores a DynamoDB recovery point of a vault in this
// region to a new table named by Metadata["TargetTableName"]. The table is
// CREATING for the restore duration and, like every DynamoDB restore, lacks
// PITR, tags, TTL, streams and deletion protection. A target that exists
// fails the job (DescribeRestoreJob reports FAILED), as AWS Backup does.
func (c *Backup) StartRestoreJob(ctx context.Context, in *backup.StartRestoreJobInput, optFns ...func(*backup.Options)) (*backup.StartRestoreJobOutput, error) {
	const op = "StartRestoreJob"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	target := in.Metadata["TargetTableName"]
	if target == "" {
		return nil, opErr(backupServiceID, op, backupInvalid("Metadata TargetTableName is required to restore a DynamoDB recovery point"))
	}
	if rt := aws.ToString(in.ResourceType); rt != "" && rt != "DynamoDB" {
		return nil, opErr(backupServiceID, op, backupInvalid("Unsupported resource type %s", rt))
	}
	if aws.ToString(in.IamRoleArn) == "" {
		return nil, opErr(backupServiceID, op, &backuptypes.MissingParameterValueException{Message: aws.String("IamRoleArn is required")})
	}
	c.mu.Lock()
	p := c.pointLocked(aws.ToString(in.RecoveryPointArn))
	if p == nil {
		c.mu.Unlock()
		return nil, opErr(backupServiceID, op, backupNotFound("Recovery point %s not found", aws.ToString(in.RecoveryPointArn)))
	}
	now := c.now()
	if now.Before(p.completed) {
		c.mu.Unlock()
		return nil, opErr(backupServiceID, op, &backuptypes.InvalidRequestException{Message: aws.String("Recovery point is not in COMPLETED state")})
	}
	job := &backupRestoreJob{id: c.nextIDLocked(), pointArn: p.arn, vaultArn: p.vaultArn, resourceArn: p.resourceArn, iamRole: aws.ToString(in.IamRoleArn),
		created: now, done: now.Add(c.restoreDur), pointCreated: p.created, bytes: p.snap.bytes}
	c.restores[job.id] = job
	snap, dur := p.snap, c.restoreDur
	c.mu.Unlock()

	// The restore runs as the job's role: denied, it is FAILED and creates
	// no table.
	if err := c.jobAuthorize(job.iamRole, "RestoreJob", backupRestoreChecks(ddbARN(c.r, target))); err != nil {
		c.mu.Lock()
		job.failure, job.done = err.Error(), now
		c.mu.Unlock()
		return &backup.StartRestoreJobOutput{RestoreJobId: aws.String(job.id)}, nil
	}
	d := c.r.DynamoDB()
	d.mu.Lock()
	t, err := d.restoreLocked(target, snap, &ddbtypes.RestoreSummary{SourceBackupArn: aws.String(p.arn), SourceTableArn: aws.String(p.resourceArn),
		RestoreDateTime: aws.Time(p.created)}, dur)
	d.mu.Unlock()
	c.mu.Lock()
	if err != nil {
		job.failure, job.done = err.Error(), now
	} else {
		job.createdArn = t.arn
	}
	c.mu.Unlock()
	return &backup.StartRestoreJobOutput{RestoreJobId: aws.String(job.id)}, nil
}

// jobAuthorize evaluates a job's role for the job's checks (see
// serviceAuthorize): nil, or the denial whose message the FAILED job
// reports as its StatusMessage.
func (c *Backup) jobAuthorize(role, op string, checks []iamCheck) error {
	return c.r.world.serviceAuthorize(serviceCall{Region: c.r.Name, Role: role, Via: "backup.amazonaws.com", Service: backupServiceID, Operation: op}, checks...)
}

// backupJobChecks are what a backup job of a DynamoDB table does as its
// role: describe the table and back it up, with AWS Backup's advanced
// DynamoDB features, whose recovery points have AWS Backup ARNs as the
// simulator's do and which cross-Region copy needs (dynamodb:StartAwsBackupJob;
// "Usage notes", Amazon DynamoDB Developer Guide,
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/UsageNotesAWS.html;
// AWSBackupServiceRolePolicyForBackup grants all three on every table).
func backupJobChecks(table string) []iamCheck {
	return []iamCheck{
		{action: "dynamodb:DescribeTable", resource: table},
		{action: "dynamodb:CreateBackup", resource: table},
		{action: "dynamodb:StartAwsBackupJob", resource: table},
	}
}

// backupCopyChecks are what a copy job does as its role: copy out of the
// source vault and into the destination vault (the BackupVaultPermissions
// and BackupVaultCopyPermissions of AWSBackupServiceRolePolicyForBackup).
func backupCopyChecks(sourcePoint, destVault string) []iamCheck {
	return []iamCheck{
		{action: "backup:CopyFromBackupVault", resource: sourcePoint},
		{action: "backup:CopyIntoBackupVault", resource: destVault},
	}
}

// backupRestoreChecks are what a restore job of a DynamoDB recovery point
// does as its role on the target table: restore it from the AWS Backup
// backup (dynamodb:RestoreTableFromAwsBackup, "Usage notes" above) and
// read and write it ("DynamoDB read and write permissions on the target
// table are necessary for restore functionality", "Using IAM with
// DynamoDB backup and restore", Amazon DynamoDB Developer Guide; the
// DynamoDBPermissions of AWSBackupServiceRolePolicyForRestores).
func backupRestoreChecks(target string) []iamCheck {
	out := []iamCheck{{action: "dynamodb:RestoreTableFromAwsBackup", resource: target}}
	for _, a := range []string{"DescribeTable", "PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchWriteItem"} {
		out = append(out, iamCheck{action: "dynamodb:" + a, resource: target})
	}
	return out
}

// DescribeRestoreJob describes a restore job: RUNNING until the table is
// ACTIVE, then COMPLETED with CreatedResourceArn, or FAILED.
func (c *Backup) DescribeRestoreJob(ctx context.Context, in *backup.DescribeRestoreJobInput, optFns ...func(*backup.Options)) (*backup.DescribeRestoreJobOutput, error) {
	const op = "DescribeRestoreJob"
	if err := c.r.call(ctx, backupServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	j := c.restores[aws.ToString(in.RestoreJobId)]
	if j == nil {
		return nil, opErr(backupServiceID, op, backupNotFound("Restore job %s not found", aws.ToString(in.RestoreJobId)))
	}
	now := c.now()
	out := &backup.DescribeRestoreJobOutput{RestoreJobId: aws.String(j.id), RecoveryPointArn: aws.String(j.pointArn), BackupVaultArn: aws.String(j.vaultArn),
		SourceResourceArn: aws.String(j.resourceArn), ResourceType: aws.String("DynamoDB"), IamRoleArn: aws.String(j.iamRole),
		CreationDate: aws.Time(j.created), RecoveryPointCreationDate: aws.Time(j.pointCreated), BackupSizeInBytes: aws.Int64(j.bytes),
		AccountId: aws.String(c.r.world.Account), Status: backuptypes.RestoreJobStatusRunning,
		ExpectedCompletionTimeMinutes: aws.Int64(int64(j.done.Sub(j.created) / time.Minute)), PercentDone: aws.String(backupPercent(j.created, j.done, now))}
	switch {
	case j.failure != "":
		out.Status, out.StatusMessage, out.CompletionDate = backuptypes.RestoreJobStatusFailed, aws.String(j.failure), aws.Time(j.done)
	case !now.Before(j.done):
		out.Status, out.CompletionDate, out.CreatedResourceArn = backuptypes.RestoreJobStatusCompleted, aws.Time(j.done), aws.String(j.createdArn)
	}
	return out, nil
}

// Backup job metrics (docs/aws-facts.md "AWS Backup cross-Region copy"):
// AWS Backup publishes to CloudWatch, namespace AWS/Backup, in the job's
// region, how many backup and copy jobs completed and failed
// (NumberOfBackupJobsCompleted, NumberOfBackupJobsFailed,
// NumberOfCopyJobsCompleted, NumberOfCopyJobsFailed), by vault
// (BackupVaultName) and by resource type (ResourceType), each its own
// series. A job's outcome is decided when it starts here, so its datapoint
// (1) is stamped with the time it completes or fails; a copy job counts in
// its source vault's region.
const (
	BackupMetricBackupJobsFailed = "NumberOfBackupJobsFailed"
	BackupMetricCopyJobsFailed   = "NumberOfCopyJobsFailed"
)

// publishJobMetric records one ended job of kind "BackupJobs" or "CopyJobs".
func (c *Backup) publishJobMetric(kind, vault string, failed bool, at time.Time) {
	name := "NumberOf" + kind + "Completed"
	if failed {
		name = "NumberOf" + kind + "Failed"
	}
	cw := c.r.CloudWatch()
	for _, d := range []cwtypes.Dimension{
		{Name: aws.String("BackupVaultName"), Value: aws.String(vault)},
		{Name: aws.String("ResourceType"), Value: aws.String("DynamoDB")},
	} {
		cw.publishServiceMetric("AWS/Backup", name, []cwtypes.Dimension{d}, at, 1)
	}
}

package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ddbPITRFixture is a protected, tagged table with PITR and TTL in region
// P, written to at known instants: items sk 0..2 before mark, sk 3..5
// after it.
type ddbPITRFixture struct {
	w        *World
	p        *DynamoDB
	enabled  time.Time
	mark     time.Time
	tableARN string
}

func ddbPITRSetup(t *testing.T) *ddbPITRFixture {
	t.Helper()
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p := ddbTestTable(t, w, clk, "aggregates")
	arn := "arn:aws:dynamodb:us-east-1:111122223333:table/aggregates"
	if _, err := p.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("aggregates"), DeletionProtectionEnabled: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: []ddbtypes.Tag{{Key: aws.String("app"), Value: aws.String("pendulum")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("aggregates"),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expires"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	f := &ddbPITRFixture{w: w, p: p, tableARN: arn}
	if _, err := p.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("aggregates"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	// DynamoDB acts on the request once its latency has passed: PITR is on
	// from the moment the call returns.
	f.enabled = w.Clock.Now()
	put := func(sk int) {
		if _, err := p.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("aggregates"), Item: ddbItem{"pk": ddbS("p"), "sk": ddbN(fmt.Sprint(sk))}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 3; i++ {
		_ = clk.Sleep(ctx, time.Minute)
		put(i)
	}
	_ = clk.Sleep(ctx, 10*time.Minute)
	f.mark = w.Clock.Now()
	_ = clk.Sleep(ctx, 10*time.Minute)
	for i := 3; i < 6; i++ {
		put(i)
	}
	// Item 0 deleted after the mark: a restore to the mark still has it.
	if _, err := p.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("aggregates"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("0")}}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, time.Hour)
	return f
}

func TestDynamoDBPITRWindow(t *testing.T) {
	f := ddbPITRSetup(t)
	out, err := f.p.DescribeContinuousBackups(context.Background(), &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("aggregates")})
	if err != nil {
		t.Fatal(err)
	}
	d := out.ContinuousBackupsDescription.PointInTimeRecoveryDescription
	if got, want := d.PointInTimeRecoveryStatus, ddbtypes.PointInTimeRecoveryStatusEnabled; got != want {
		t.Fatalf("PITR status %s, want %s", got, want)
	}
	if got, want := aws.ToTime(d.EarliestRestorableDateTime), f.enabled; !got.Equal(want) {
		t.Fatalf("earliest = %v, want when PITR was enabled (%v)", got, want)
	}
	if got, want := aws.ToTime(d.LatestRestorableDateTime), f.w.Clock.Now().Add(-5*time.Minute); !got.Equal(want) {
		t.Fatalf("latest = %v, want now − 5 min (%v)", got, want)
	}
	if got, want := aws.ToInt32(d.RecoveryPeriodInDays), int32(35); got != want {
		t.Fatalf("recovery period %d, want %d", got, want)
	}
}

func TestDynamoDBRestoreToPointInTime(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	clk := f.w.Clock
	out, err := f.p.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"),
		TargetTableName: aws.String("aggregates-restored"), RestoreDateTime: aws.Time(f.mark)})
	if err != nil {
		t.Fatal(err)
	}
	td := out.TableDescription
	if got, want := td.TableStatus, ddbtypes.TableStatusCreating; got != want {
		t.Fatalf("restored table status %s, want %s", got, want)
	}
	if rs := td.RestoreSummary; rs == nil || !aws.ToBool(rs.RestoreInProgress) || aws.ToString(rs.SourceTableArn) != f.tableARN || !aws.ToTime(rs.RestoreDateTime).Equal(f.mark) {
		t.Fatalf("RestoreSummary = %+v", rs)
	}
	_ = clk.Sleep(ctx, 19*time.Minute)
	if _, err := f.p.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("aggregates-restored")}); err == nil {
		t.Fatal("restored table readable before the modelled restore time")
	}
	_ = clk.Sleep(ctx, 2*time.Minute)
	d, err := f.p.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("aggregates-restored")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.TableStatus != ddbtypes.TableStatusActive || aws.ToBool(d.Table.RestoreSummary.RestoreInProgress) {
		t.Fatalf("after 21 min: status %s, restore in progress %v", d.Table.TableStatus, aws.ToBool(d.Table.RestoreSummary.RestoreInProgress))
	}
	scan, err := f.p.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("aggregates-restored")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ddbSKs(scan.Items), ","), "0,1,2"; got != want {
		t.Fatalf("restored items %s, want the state at the mark %s", got, want)
	}
	// What a restore does not carry over.
	if aws.ToBool(d.Table.DeletionProtectionEnabled) {
		t.Fatal("restored table has deletion protection")
	}
	tags, err := f.p.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: d.Table.TableArn})
	if err != nil || len(tags.Tags) != 0 {
		t.Fatalf("restored table tags = %v, %v; want none", tags.Tags, err)
	}
	cb, err := f.p.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("aggregates-restored")})
	if err != nil || cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != ddbtypes.PointInTimeRecoveryStatusDisabled {
		t.Fatalf("restored table PITR = %+v, %v; want DISABLED", cb, err)
	}
	ttl, err := f.p.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("aggregates-restored")})
	if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != ddbtypes.TimeToLiveStatusDisabled {
		t.Fatalf("restored table TTL = %+v, %v; want DISABLED", ttl, err)
	}
}

func TestDynamoDBRestoreErrors(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	now := f.w.Clock.Now()
	if _, err := f.p.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("no-pitr"),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: "S"}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: "HASH"}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   dynamodb.RestoreTableToPointInTimeInput
		want any
	}{
		{"BeforeEarliest", dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"), TargetTableName: aws.String("t1y"),
			RestoreDateTime: aws.Time(f.enabled.Add(-time.Second))}, new(*ddbtypes.InvalidRestoreTimeException)},
		{"AfterLatest", dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"), TargetTableName: aws.String("t1x"),
			RestoreDateTime: aws.Time(now.Add(-time.Minute))}, new(*ddbtypes.InvalidRestoreTimeException)},
		{"PITROff", dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("no-pitr"), TargetTableName: aws.String("t2x"),
			UseLatestRestorableTime: aws.Bool(true)}, new(*ddbtypes.PointInTimeRecoveryUnavailableException)},
		{"TargetExists", dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"), TargetTableName: aws.String("no-pitr"),
			UseLatestRestorableTime: aws.Bool(true)}, new(*ddbtypes.TableAlreadyExistsException)},
		{"NoSource", dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("nope"), TargetTableName: aws.String("t3x"),
			UseLatestRestorableTime: aws.Bool(true)}, new(*ddbtypes.TableNotFoundException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.p.RestoreTableToPointInTime(ctx, &tt.in)
			var ok bool
			switch target := tt.want.(type) {
			case **ddbtypes.InvalidRestoreTimeException:
				ok = errors.As(err, target)
			case **ddbtypes.PointInTimeRecoveryUnavailableException:
				ok = errors.As(err, target)
			case **ddbtypes.TableAlreadyExistsException:
				ok = errors.As(err, target)
			case **ddbtypes.TableNotFoundException:
				ok = errors.As(err, target)
			}
			if !ok {
				t.Fatalf("restore: %v, want %T", err, tt.want)
			}
		})
	}
	t.Run("ConcurrentLimit", func(t *testing.T) {
		for i := 0; i < ddbMaxConcurrentRestores; i++ {
			if _, err := f.p.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"),
				TargetTableName: aws.String(fmt.Sprintf("r%02d", i)), UseLatestRestorableTime: aws.Bool(true)}); err != nil {
				t.Fatalf("restore %d: %v", i, err)
			}
		}
		_, err := f.p.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"),
			TargetTableName: aws.String("one-too-many"), UseLatestRestorableTime: aws.Bool(true)})
		var le *ddbtypes.LimitExceededException
		if !errors.As(err, &le) {
			t.Fatalf("restore 51: %v, want LimitExceededException", err)
		}
	})
}

func TestDynamoDBCrossRegionRestore(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	b := f.w.Region(s3TestB).DynamoDB()
	out, err := b.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableArn: aws.String(f.tableARN),
		TargetTableName: aws.String("aggregates"), UseLatestRestorableTime: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(out.TableDescription.TableArn), "arn:aws:dynamodb:us-west-2:111122223333:table/aggregates"; got != want {
		t.Fatalf("restored into %s, want %s", got, want)
	}
	_ = f.w.Clock.Sleep(ctx, 30*time.Minute)
	scan, err := b.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("aggregates")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ddbSKs(scan.Items), ","), "1,2,3,4,5"; got != want {
		t.Fatalf("latest restorable state in B = %s, want %s", got, want)
	}
	f.w.SetDown(s3TestP, true)
	_, err = b.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableArn: aws.String(f.tableARN),
		TargetTableName: aws.String("aggregates-2"), UseLatestRestorableTime: aws.Bool(true)})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("restore from a down region: %v, want ErrUnreachable", err)
	}
	if n := f.w.CallCount(CallKey{Region: s3TestP, Operation: "RestoreTableToPointInTime"}); n != 0 {
		t.Fatalf("the restore was counted as %d calls to the source region; it is a call to B", n)
	}
}

func TestDynamoDBPITRWindowLimits(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	window := func() (time.Time, time.Time) {
		out, err := f.p.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("aggregates")})
		if err != nil {
			t.Fatal(err)
		}
		d := out.ContinuousBackupsDescription.PointInTimeRecoveryDescription
		return aws.ToTime(d.EarliestRestorableDateTime), aws.ToTime(d.LatestRestorableDateTime)
	}
	_ = f.w.Clock.Sleep(ctx, 40*24*time.Hour)
	if got, want := func() time.Time { e, _ := window(); return e }(), f.w.Clock.Now().AddDate(0, 0, -35); !got.Equal(want) {
		t.Fatalf("earliest after 40 days = %v, want now − 35 days (%v)", got, want)
	}
	// Turning PITR off and on again restarts the window.
	for _, on := range []bool{false, true} {
		if _, err := f.p.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("aggregates"),
			PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(on)}}); err != nil {
			t.Fatal(err)
		}
	}
	reenabled := f.w.Clock.Now()
	e, l := window()
	if !e.Equal(reenabled) || !l.Equal(reenabled) {
		t.Fatalf("window right after re-enabling = [%v, %v], want both %v", e, l, reenabled)
	}
	_, err := f.p.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("nope"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}})
	var tnf *ddbtypes.TableNotFoundException
	if !errors.As(err, &tnf) {
		t.Fatalf("PITR on a missing table: %v, want TableNotFoundException", err)
	}
}

// A restore is to a whole second: the restored table holds each item as it
// was at the end of that second, whatever its writes within it.
func TestDynamoDBRestoreToTheSecond(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p := ddbTestTable(t, w, clk, "aggregates")
	if _, err := p.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("aggregates"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	put := func(v string) time.Time {
		if _, err := p.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("aggregates"), Item: ddbItem{"pk": ddbS("p"), "sk": ddbN("1"), "v": ddbS(v)}}); err != nil {
			t.Fatal(err)
		}
		return clk.Now()
	}
	_ = clk.Sleep(ctx, time.Minute)
	_ = clk.Sleep(ctx, clk.Now().Truncate(time.Second).Add(time.Second+100*time.Millisecond).Sub(clk.Now()))
	t1 := put("first")
	t2 := put("second")
	if sec := t1.Truncate(time.Second); !t2.Truncate(time.Second).Equal(sec) {
		t.Fatalf("writes at %s and %s are not in one second", t1, t2)
	}
	sec := t1.Truncate(time.Second)
	_ = clk.Sleep(ctx, sec.Add(2*time.Second+100*time.Millisecond).Sub(clk.Now()))
	t3 := put("third")
	_ = clk.Sleep(ctx, time.Hour)
	for i, c := range []struct {
		at   time.Time
		want string // "" for no item
	}{
		{sec.Add(-time.Second), ""},
		{sec, "second"},
		{sec.Add(900 * time.Millisecond), "second"},
		{sec.Add(time.Second), "second"},
		{t3, "third"},
	} {
		target := fmt.Sprintf("restored-%d", i)
		if _, err := p.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"),
			TargetTableName: aws.String(target), RestoreDateTime: aws.Time(c.at)}); err != nil {
			t.Fatal(err)
		}
		_ = clk.Sleep(ctx, 21*time.Minute)
		scan, err := p.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(target)})
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if len(scan.Items) == 1 {
			got = scan.Items[0]["v"].(*ddbtypes.AttributeValueMemberS).Value
		}
		if len(scan.Items) > 1 || got != c.want {
			t.Fatalf("restore to %s (writes at %s, %s, %s): %d items, v %q; want %q", c.at, t1, t2, t3, len(scan.Items), got, c.want)
		}
	}
}

// PITR turned on after items were written restores them as they were when
// it was turned on and after; turned off and on again, the history starts
// anew. A table without PITR is snapshotted as it is (AWS Backup).
func TestDynamoDBPITRTurnedOnLater(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p := ddbTestTable(t, w, clk, "late")
	put := func(sk int) {
		t.Helper()
		if _, err := p.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("late"), Item: ddbItem{"pk": ddbS("p"), "sk": ddbN(fmt.Sprint(sk))}}); err != nil {
			t.Fatal(err)
		}
	}
	pitr := func(on bool) time.Time {
		t.Helper()
		if _, err := p.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("late"),
			PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(on)}}); err != nil {
			t.Fatal(err)
		}
		return clk.Now()
	}
	restored := func(target string, at time.Time) string {
		t.Helper()
		if _, err := p.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("late"),
			TargetTableName: aws.String(target), RestoreDateTime: aws.Time(at)}); err != nil {
			t.Fatal(err)
		}
		_ = clk.Sleep(ctx, 21*time.Minute)
		scan, err := p.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(target)})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(ddbSKs(scan.Items), ",")
	}
	put(0)
	put(1)
	snap, err := p.ddbSnapshotOf("late")
	if err != nil || len(snap.items) != 2 || snap.bytes == 0 {
		t.Fatalf("snapshot of the table without PITR: %d items of %d bytes, %v; want its 2 items", len(snap.items), snap.bytes, err)
	}
	_ = clk.Sleep(ctx, time.Minute)
	on := pitr(true)
	_ = clk.Sleep(ctx, time.Minute)
	put(2)
	if _, err := p.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("late"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("0")}}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 10*time.Minute)
	if got, want := restored("late-at-on", on), "0,1"; got != want {
		t.Fatalf("restored to when PITR was turned on: items %s, want %s", got, want)
	}
	off := pitr(false)
	_ = clk.Sleep(ctx, time.Minute)
	put(3)
	_ = clk.Sleep(ctx, time.Minute)
	again := pitr(true)
	_ = clk.Sleep(ctx, 10*time.Minute)
	_, err = p.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("late"),
		TargetTableName: aws.String("late-before"), RestoreDateTime: aws.Time(off)})
	if ddbCode(err) != "InvalidRestoreTimeException" {
		t.Fatalf("restore to before PITR was turned on again: %v, want InvalidRestoreTimeException", err)
	}
	if got, want := restored("late-again", again), "1,2,3"; got != want {
		t.Fatalf("restored to when PITR was turned on again: items %s, want %s", got, want)
	}
}

// TestDynamoDBSnapshotMatchesLogReplay checks the snapshot a restore reads
// (the current items, less the keys changed since, plus those keys' states
// then) against a plain replay of the change log, at every second of a
// random history of puts, updates and deletes over a few partitions.
func TestDynamoDBSnapshotMatchesLogReplay(t *testing.T) {
	w, clk := s3TestWorld(t)
	ctx := context.Background()
	p := ddbTestTable(t, w, clk, "aggregates")
	if _, err := p.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("aggregates"),
		PointInTimeRecoverySpecification: &ddbtypes.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	start := clk.Now()
	for i := range 600 {
		key := ddbItem{"pk": ddbS(fmt.Sprint("p", rng.IntN(4))), "sk": ddbN(fmt.Sprint(rng.IntN(12)))}
		var err error
		if rng.IntN(4) == 0 {
			_, err = p.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("aggregates"), Key: key})
		} else {
			key["v"] = ddbN(fmt.Sprint(i))
			_, err = p.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("aggregates"), Item: key})
		}
		if err != nil {
			t.Fatal(err)
		}
		_ = clk.Sleep(ctx, time.Duration(rng.IntN(1500))*time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tb := p.tables["aggregates"]
	checked := 0
	for at := start; !at.After(clk.Now()); at = at.Add(time.Second) {
		end := at.Truncate(time.Second).Add(time.Second).UnixNano()
		want := map[string]string{}
		for i := range tb.log.len() {
			ch := tb.log.at(i)
			if ch.at >= end {
				break
			}
			if ch.s.packed == "" {
				delete(want, ch.s.key)
			} else {
				want[ch.s.key] = ch.s.packed
			}
		}
		s := tb.snapshotLocked(at)
		keys := ddbKeys(want)
		if len(s.items) != len(keys) {
			t.Fatalf("at %s: snapshot of %d items; the log's replay has %d", at, len(s.items), len(keys))
		}
		var bytes int64
		for i, k := range keys {
			if s.items[i].key != k || s.items[i].packed != want[k] {
				t.Fatalf("at %s: item %d is %q %q, want %q %q", at, i, s.items[i].key, s.items[i].packed, k, want[k])
			}
			if size := int32(ddbItemSize(ddbUnpack(want[k]))); s.items[i].size != size {
				t.Fatalf("at %s: item %q size %d, want %d", at, k, s.items[i].size, size)
			}
			bytes += int64(s.items[i].size)
		}
		if s.bytes != bytes {
			t.Fatalf("at %s: snapshot bytes %d, want %d", at, s.bytes, bytes)
		}
		checked++
	}
	if checked < 300 {
		t.Fatalf("checked %d instants, want the whole history's", checked)
	}
}

// A change log keeps its changes in order and by index across its chunks,
// and a change taken by index is the logged one, for updating in place.
func TestDynamoDBLogChunks(t *testing.T) {
	var l ddbLog
	n := 3*ddbLogChunk + 5
	for i := range n {
		if got := l.add(ddbChange{at: int64(i), s: &ddbStored{key: fmt.Sprint(i)}}); got != i {
			t.Fatalf("change %d added at index %d", i, got)
		}
	}
	l.at(ddbLogChunk).s = &ddbStored{key: fmt.Sprint(ddbLogChunk), packed: "updated"}
	if l.len() != n || len(l.chunks) != 4 {
		t.Fatalf("len %d in %d chunks, want %d in 4", l.len(), len(l.chunks), n)
	}
	for i := range n {
		if ch := l.at(i); ch.at != int64(i) || ch.s.key != fmt.Sprint(i) || (ch.s.packed == "updated") != (i == ddbLogChunk) {
			t.Fatalf("change %d is %+v", i, *ch)
		}
	}
}

// A restored table shares the stored items it has in common with its
// source, and the two stay independent: the source's updates and deletes
// after the restore are the source's only, the restored table's writes
// its own, and a scan of each (whose order is kept across updates) reads
// its own items. The restored table, built with its scan order only, reads
// by key and by partition as any other.
func TestDynamoDBRestoreSharesItemsAndStaysIndependent(t *testing.T) {
	f := ddbPITRSetup(t)
	ctx := context.Background()
	clk := f.w.Clock
	put := func(table string, sk int, v string) {
		item := ddbItem{"pk": ddbS("p"), "sk": ddbN(fmt.Sprint(sk))}
		if v != "" {
			item["v"] = ddbS(v)
		}
		if _, err := f.p.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	// Sort keys whose numeric order is not their text's.
	put("aggregates", 10, "")
	put("aggregates", 200, "")
	_ = clk.Sleep(ctx, 10*time.Minute)
	if _, err := f.p.RestoreTableToPointInTime(ctx, &dynamodb.RestoreTableToPointInTimeInput{SourceTableName: aws.String("aggregates"),
		TargetTableName: aws.String("copy"), UseLatestRestorableTime: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 21*time.Minute)
	f.p.mu.Lock()
	src, dst := f.p.tables["aggregates"], f.p.tables["copy"]
	shared := 0
	src.eachLocked(func(s *ddbStored) {
		if dst.getLocked(s.key, s.hash()) == s {
			shared++
		}
	})
	f.p.mu.Unlock()
	if shared != 7 { // items 1..5, 10 and 200: item 0 was deleted before the restore point
		t.Fatalf("%d stored items shared by the restored table, want its 7", shared)
	}
	scanAll := func(table string) string {
		out, err := f.p.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range out.Items {
			v := "-"
			if x, ok := it["v"].(*ddbtypes.AttributeValueMemberS); ok {
				v = x.Value
			}
			got = append(got, it["sk"].(*ddbtypes.AttributeValueMemberN).Value+"="+v)
		}
		return strings.Join(got, ",")
	}
	// A scan first, so that both tables have their scan order cached.
	if a, b := scanAll("aggregates"), scanAll("copy"); a != "1=-,2=-,3=-,4=-,5=-,10=-,200=-" || b != a {
		t.Fatalf("before: source %s, restored %s", a, b)
	}
	q, err := f.p.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("copy"), KeyConditionExpression: aws.String("pk = :p AND sk > :s"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":p": ddbS("p"), ":s": ddbN("4")}, ScanIndexForward: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(ddbSKs(q.Items), ","), "200,10,5"; got != want {
		t.Fatalf("query of the restored table: %s, want %s", got, want)
	}
	g, err := f.p.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("copy"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("10")}})
	if err != nil || g.Item == nil {
		t.Fatalf("get of the restored table's item 10: %v, %v", g, err)
	}
	put("aggregates", 2, "source")
	put("copy", 4, "copy")
	if _, err := f.p.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("aggregates"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("3")},
		UpdateExpression: aws.String("SET v = :v"), ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":v": ddbS("updated")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.p.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("aggregates"), Key: ddbItem{"pk": ddbS("p"), "sk": ddbN("5")}}); err != nil {
		t.Fatal(err)
	}
	if got, want := scanAll("aggregates"), "1=-,2=source,3=updated,4=-,10=-,200=-"; got != want {
		t.Fatalf("source after its writes: %s, want %s", got, want)
	}
	if got, want := scanAll("copy"), "1=-,2=-,3=-,4=copy,5=-,10=-,200=-"; got != want {
		t.Fatalf("restored table after the source's writes and its own: %s, want %s", got, want)
	}
}

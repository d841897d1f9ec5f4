package dr

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/aggregate"
	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// Scanner reads B's aggregates table.
type Scanner interface {
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// MergeTotals are the merge's counts, accumulated across calls. Scanned
// counts record markers read from B; each is Merged (counted in P now),
// Already (P had counted it) or Skipped (P's own, restored into B by the
// failover, and older than since).
type MergeTotals struct {
	Scanned int64 `json:"scanned"`
	Merged  int64 `json:"merged"`
	Already int64 `json:"already"`
	Skipped int64 `json:"skipped"`
	// Conflicts are B's markers whose id P counted with other content (a
	// record B accepted under an id P had accepted): not merged, each
	// recorded as a conflict item in P's table (pkg/aggregate).
	Conflicts int64 `json:"conflicts,omitempty"`
	// ConflictItems are the conflict items of B's table (conflicts B's
	// consumer met), copied to P's as they are: failback deletes B's table.
	ConflictItems int64 `json:"conflictItems,omitempty"`
}

// MergeInput is dr-merge's input.
type MergeInput struct {
	Since  string      `json:"since"`
	Pass   int         `json:"pass"`
	Cursor *string     `json:"cursor"`
	Totals MergeTotals `json:"totals"`
}

// MergeOutput is dr-merge's output: a nil cursor means the pass is done.
type MergeOutput struct {
	Cursor *string     `json:"cursor"`
	Totals MergeTotals `json:"totals"`
}

// MergeScanPage is how many items one Scan call reads.
const MergeScanPage = 500

// Merge is the dr-merge step: it applies to P's aggregates table every
// record marker B's table gained since the failover, with pkg/aggregate's
// idempotent transaction (marker put on attribute_not_exists + summary
// ADD). Records P already counted are dropped by their markers (a marker
// with another content hash is a conflict, recorded in P); P's own items
// are never overwritten, summaries are never copied, nothing is deleted.
// B's conflict items are copied to P as they are. A re-run reports every
// marker as Already (or a conflict again).
type Merge struct {
	B Scanner
	// P applies entries to P's table (aggregate.New over a DynamoDB client
	// for P's region).
	P *aggregate.Aggregator
	// Table is the aggregates table name, the same in both regions.
	Table string
	// BackupRegion marks markers counted in B.
	BackupRegion string
	Clock        clock.Clock
	Budget       Budget
}

type mergeCursor struct {
	PK string `json:"pk"`
	SK string `json:"sk"`
}

// Handle merges one bounded slice of B's table.
func (m *Merge) Handle(ctx context.Context, in MergeInput) (MergeOutput, error) {
	since, err := parseSince(in.Since)
	var problems []string
	if err != nil {
		problems = append(problems, err.Error())
	}
	if in.Pass < 1 {
		problems = append(problems, fmt.Sprintf("pass %d: want 1 or 2", in.Pass))
	}
	var cur mergeCursor
	if err := decodeCursor(in.Cursor, &cur); err != nil {
		problems = append(problems, err.Error())
	}
	if err := invalidAll("merge input", problems); err != nil {
		return MergeOutput{}, err
	}
	var start map[string]ddbtypes.AttributeValue
	if cur.PK != "" {
		start = map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: cur.PK}, "sk": &ddbtypes.AttributeValueMemberS{Value: cur.SK}}
	}
	totals := in.Totals
	meter := m.Budget.start(m.Clock)
	for {
		stop, err := meter.spent(ctx)
		if err != nil {
			return MergeOutput{}, fmt.Errorf("merge %s: %w", m.Table, err)
		}
		if stop {
			return MergeOutput{Cursor: encodeCursor(cur), Totals: totals}, nil
		}
		page, err := m.B.Scan(ctx, &dynamodb.ScanInput{
			TableName:        aws.String(m.Table),
			ConsistentRead:   aws.Bool(true),
			FilterExpression: aws.String("begins_with(pk, :marker) OR begins_with(pk, :conflict)"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
				":marker":   &ddbtypes.AttributeValueMemberS{Value: "R#"},
				":conflict": &ddbtypes.AttributeValueMemberS{Value: aggregate.ConflictPrefix},
			},
			ExclusiveStartKey: start,
			Limit:             aws.Int32(int32(min(MergeScanPage, meter.b.MaxItems-meter.items))),
		})
		if err != nil {
			return MergeOutput{}, fmt.Errorf("scan %s in the backup region: %w", m.Table, err)
		}
		var entries []aggregate.Entry
		for _, item := range page.Items {
			if strings.HasPrefix(attrS(item["pk"]), aggregate.ConflictPrefix) {
				if err := m.P.CopyConflict(ctx, item); err != nil {
					return MergeOutput{}, fmt.Errorf("merge %s: %w", m.Table, err)
				}
				totals.ConflictItems++
				continue
			}
			e, err := aggregate.MarkerEntry(item)
			if err != nil {
				return MergeOutput{}, fmt.Errorf("merge %s: %w", m.Table, err)
			}
			if e.Region == m.BackupRegion || !e.At.Before(since) {
				entries = append(entries, e)
			} else {
				totals.Skipped++
			}
		}
		// The page's markers are applied before the cursor moves past them:
		// a failure returns an error, the retry re-applies the page, and the
		// markers already applied come back as Already.
		for i, r := range m.P.ApplyAll(ctx, entries) {
			switch r.Outcome {
			case aggregate.Counted:
				totals.Merged++
			case aggregate.Duplicate:
				totals.Already++
			case aggregate.Conflict:
				totals.Conflicts++
			default:
				return MergeOutput{}, fmt.Errorf("merge record %s into %s: %w", entries[i].ID, m.Table, r.Err)
			}
		}
		totals.Scanned += int64(len(page.Items))
		meter.items += len(page.Items)
		if len(page.LastEvaluatedKey) == 0 {
			return MergeOutput{Cursor: nil, Totals: totals}, nil
		}
		start = page.LastEvaluatedKey
		cur = mergeCursor{PK: attrS(start["pk"]), SK: attrS(start["sk"])}
	}
}

func attrS(v ddbtypes.AttributeValue) string {
	if s, ok := v.(*ddbtypes.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

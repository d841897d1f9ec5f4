package drapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DR modes kept in the control record.
const (
	ModePrimary     = "PRIMARY"
	ModeFailingOver = "FAILING_OVER"
	ModeFailedOver  = "FAILED_OVER"
	ModeFailingBack = "FAILING_BACK"
)

// ControlKey is the partition key ("pk") of the control item.
const ControlKey = "dr"

// ControlReader is the part of DynamoDB that reads the control record.
type ControlReader interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// ControlRecord is the DR control item (pk "dr") in the control table. A
// missing item is PRIMARY at version 0.
type ControlRecord struct {
	Mode      string `json:"mode"`
	Workflow  string `json:"workflow,omitempty"`
	Execution string `json:"execution,omitempty"`
	// Since is when the current or last failover started: copy-back and
	// merge select what B wrote from then on.
	Since   string `json:"since,omitempty"`
	Updated string `json:"updated,omitempty"`
	Version int64  `json:"version"`
	// Failed marks a lock whose holder ran its Catch path (op fail): a
	// re-run takes over without waiting for that execution to end.
	Failed bool `json:"failed,omitempty"`
	// Committed marks a lock whose holder (or a run it resumed) passed its
	// Commit state (op commit): from there on it changes the installation,
	// so an abandoned run can be resumed but not rolled back.
	Committed bool   `json:"committed,omitempty"`
	LastError string `json:"lastError,omitempty"`
	// FailoverFacts and FailbackFacts are the facts the last completed
	// failover and failback recorded (RPO, restore source, counts).
	FailoverFacts json.RawMessage `json:"failoverFacts,omitempty"`
	FailbackFacts json.RawMessage `json:"failbackFacts,omitempty"`
	// LastAbort is the execution that last released the lock by abort, so
	// a retried abort is recognised.
	LastAbort string `json:"lastAbort,omitempty"`
	// RestorePending marks a degraded failover (op degrade): traffic is in
	// B but B's aggregates table could not be restored, so the consumer is
	// off. It stays set through a restore retry's lock (failover input
	// retryRestore) until a failover completes; failback is refused while
	// it is set. DegradedReason says why, in a few words.
	RestorePending bool   `json:"restorePending,omitempty"`
	DegradedReason string `json:"degradedReason,omitempty"`
}

// ReadControl returns the control record of table (a consistent read);
// a missing item is PRIMARY at version 0 with exists false.
func ReadControl(ctx context.Context, db ControlReader, table string) (ControlRecord, bool, error) {
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(table),
		Key:            map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: ControlKey}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ControlRecord{}, false, fmt.Errorf("read control record from %s: %w", table, err)
	}
	if len(out.Item) == 0 {
		return ControlRecord{Mode: ModePrimary}, false, nil
	}
	r, err := DecodeControlRecord(out.Item)
	if err != nil {
		return ControlRecord{}, false, fmt.Errorf("control record in %s: %w", table, err)
	}
	return r, true, nil
}

// EncodeControlRecord is the control item of r.
func EncodeControlRecord(r ControlRecord) map[string]ddbtypes.AttributeValue {
	item := map[string]ddbtypes.AttributeValue{
		"pk":             &ddbtypes.AttributeValueMemberS{Value: ControlKey},
		"mode":           &ddbtypes.AttributeValueMemberS{Value: r.Mode},
		"version":        &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(r.Version, 10)},
		"failed":         &ddbtypes.AttributeValueMemberBOOL{Value: r.Failed},
		"restorePending": &ddbtypes.AttributeValueMemberBOOL{Value: r.RestorePending},
	}
	if r.Committed {
		item["committed"] = &ddbtypes.AttributeValueMemberBOOL{Value: true}
	}
	for name, v := range map[string]string{
		"workflow": r.Workflow, "execution": r.Execution, "since": r.Since, "updated": r.Updated,
		"lastError": r.LastError, "failoverFacts": string(r.FailoverFacts), "failbackFacts": string(r.FailbackFacts),
		"lastAbort": r.LastAbort, "degradedReason": r.DegradedReason,
	} {
		if v != "" {
			item[name] = &ddbtypes.AttributeValueMemberS{Value: v}
		}
	}
	return item
}

// DecodeControlRecord reads a control item; it fails on a missing version
// or an unknown mode.
func DecodeControlRecord(item map[string]ddbtypes.AttributeValue) (ControlRecord, error) {
	s := func(name string) string {
		if v, ok := item[name].(*ddbtypes.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	r := ControlRecord{
		Mode: s("mode"), Workflow: s("workflow"), Execution: s("execution"), Since: s("since"), Updated: s("updated"),
		LastError: s("lastError"), LastAbort: s("lastAbort"), DegradedReason: s("degradedReason"),
	}
	if f := s("failoverFacts"); f != "" {
		r.FailoverFacts = json.RawMessage(f)
	}
	if f := s("failbackFacts"); f != "" {
		r.FailbackFacts = json.RawMessage(f)
	}
	if b, ok := item["failed"].(*ddbtypes.AttributeValueMemberBOOL); ok {
		r.Failed = b.Value
	}
	if b, ok := item["restorePending"].(*ddbtypes.AttributeValueMemberBOOL); ok {
		r.RestorePending = b.Value
	}
	if b, ok := item["committed"].(*ddbtypes.AttributeValueMemberBOOL); ok {
		r.Committed = b.Value
	}
	v, ok := item["version"].(*ddbtypes.AttributeValueMemberN)
	if !ok {
		return r, errors.New("version missing")
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		return r, fmt.Errorf("version %q: %w", v.Value, err)
	}
	r.Version = n
	switch r.Mode {
	case ModePrimary, ModeFailingOver, ModeFailedOver, ModeFailingBack:
	default:
		return r, fmt.Errorf("unknown mode %q", r.Mode)
	}
	return r, nil
}

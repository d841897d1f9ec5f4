package aggregate

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// # Canary heartbeat
//
// Canary records are never counted, but the consumer proves with them that
// it is keeping up: once it has got past a canary in its shard — every
// record before it applied — it raises the table's one heartbeat item to
// that canary's ingest time. The health canary reads it (pkg/health's
// pipeline check) to tell how far behind the primary's pipeline is:
// now − received is the pipeline's lag as the canary sees it.
//
//	canary heartbeat  pk "C#heartbeat"  sk "C"  received (N, epoch ms: when ingest accepted the canary),
//	                                            id (S, the canary's id), region (S, the ingest's region),
//	                                            at (S, RFC 3339: when the consumer got past it)
//
// The update is conditional on a newer received time, so shards that get
// past canaries out of order never move it back. The item is no record
// marker and no window summary: merges, restores' checks and the drill's
// accounting read neither (they select "R#" and "W#").

// Key values and attribute names of the heartbeat item.
const (
	heartbeatPK       = "C#heartbeat"
	heartbeatSK       = "C"
	heartbeatReceived = "received"
)

// HeartbeatKey returns the key of the canary heartbeat item, for reading it.
func HeartbeatKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: heartbeatPK},
		"sk": &types.AttributeValueMemberS{Value: heartbeatSK},
	}
}

// Heartbeat is the newest canary the consumer has got past.
type Heartbeat struct {
	// ID is the canary record's id.
	ID string
	// Received is when ingest accepted the canary (millisecond precision).
	Received time.Time
	// Region is the region whose ingest accepted it.
	Region string
	// At is when the consumer got past it.
	At time.Time
}

// ErrBadHeartbeat reports an item that is not a well-formed heartbeat.
var ErrBadHeartbeat = errors.New("not a canary heartbeat")

// ParseHeartbeat reads the heartbeat item GetItem returned.
func ParseHeartbeat(item map[string]types.AttributeValue) (Heartbeat, error) {
	pk, _ := item["pk"].(*types.AttributeValueMemberS)
	sk, _ := item["sk"].(*types.AttributeValueMemberS)
	if pk == nil || sk == nil || pk.Value != heartbeatPK || sk.Value != heartbeatSK {
		return Heartbeat{}, fmt.Errorf("item is not the heartbeat (pk %s sk %s): %w", heartbeatPK, heartbeatSK, ErrBadHeartbeat)
	}
	n, ok := item[heartbeatReceived].(*types.AttributeValueMemberN)
	if !ok {
		return Heartbeat{}, fmt.Errorf("heartbeat has no numeric %s: %w", heartbeatReceived, ErrBadHeartbeat)
	}
	ms, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return Heartbeat{}, fmt.Errorf("heartbeat %s %q: %w", heartbeatReceived, n.Value, ErrBadHeartbeat)
	}
	hb := Heartbeat{Received: time.UnixMilli(ms).UTC()}
	if v, ok := item["id"].(*types.AttributeValueMemberS); ok {
		hb.ID = v.Value
	}
	if v, ok := item["region"].(*types.AttributeValueMemberS); ok {
		hb.Region = v.Value
	}
	if v, ok := item["at"].(*types.AttributeValueMemberS); ok {
		hb.At, _ = time.Parse(time.RFC3339, v.Value)
	}
	return hb, nil
}

// HeartbeatDB is the part of the DynamoDB API the Handler records the
// heartbeat with. *dynamodb.Client and the simulator satisfy it.
type HeartbeatDB interface {
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

// WithHeartbeat makes the Handler record, through db, the newest canary of
// each batch it got past in the aggregates table's heartbeat item. Without
// it canaries are only skipped.
func (h *Handler) WithHeartbeat(db HeartbeatDB) *Handler {
	h.beats = db
	return h
}

// beat raises the heartbeat to hb unless it already records a canary
// accepted at or after hb.Received. It reports whether it moved.
func (h *Handler) beat(ctx context.Context, hb Heartbeat) (bool, error) {
	_, err := h.beats.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(h.agg.opt.Table),
		Key:                 HeartbeatKey(),
		UpdateExpression:    aws.String("SET #r = :r, #id = :id, #region = :region, #at = :at"),
		ConditionExpression: aws.String("attribute_not_exists(#r) OR #r < :r"),
		ExpressionAttributeNames: map[string]string{
			"#r": heartbeatReceived, "#id": "id", "#region": "region", "#at": "at",
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":r":      &types.AttributeValueMemberN{Value: strconv.FormatInt(hb.Received.UnixMilli(), 10)},
			":id":     &types.AttributeValueMemberS{Value: hb.ID},
			":region": &types.AttributeValueMemberS{Value: hb.Region},
			":at":     &types.AttributeValueMemberS{Value: hb.At.UTC().Format(time.RFC3339)},
		},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil // a newer canary is already recorded
	}
	if err != nil {
		return false, fmt.Errorf("record canary heartbeat %s in %s: %w", hb.ID, h.agg.opt.Table, err)
	}
	return true, nil
}

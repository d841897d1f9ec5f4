package ingest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/record"
)

// IdempotencyDB is the DynamoDB API ingest records accepted ids with;
// *dynamodb.Client and the simulator satisfy it.
type IdempotencyDB interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var _ IdempotencyDB = (*dynamodb.Client)(nil)

// EnvIdempotencyTable names the variable holding the region's idempotency
// table (Config.IdempotencyTable); infra sets it on the ingest function.
const EnvIdempotencyTable = "IDEMPOTENCY_TABLE"

// The idempotency table: one item per record id this region's ingest
// accepted, holding the content that id was accepted with. infra creates
// the table from these names.
const (
	// IdempotencyKey is the partition key (S): the record id.
	IdempotencyKey = "pk"
	// IdempotencyHash (S) is the record's record.ContentHash.
	IdempotencyHash = "h"
	// IdempotencyExpires (N, epoch seconds) is the table's TTL attribute:
	// Config.TTL after the id was last accepted.
	IdempotencyExpires = "expires"
)

// claimCondition admits a record whose id is new, or whose id holds the
// same content (a redelivery, which refreshes the item's expiry); anything
// else fails the condition, and ReturnValuesOnConditionCheckFailure ALL_OLD
// hands back the item holding the id, so no second read is needed to say
// what the id holds.
const claimCondition = "attribute_not_exists(" + IdempotencyKey + ") OR " + IdempotencyHash + " = :h"

// DefaultClaimConcurrency bounds the conditional writes one request has in
// flight: the AWS SDK's HTTP client keeps 10 idle connections per host, so
// more would open and close connections on every request.
const DefaultClaimConcurrency = 10

// claimState is what the idempotency table said of one record.
type claimState uint8

const (
	// claimed: the table now holds the record's content under its id (the
	// id was new, or held the same content).
	claimed claimState = iota
	// claimConflict: the id holds other content.
	claimConflict
	// claimFailed: nothing is known (throttled, unreachable, refused); the
	// record must not be accepted.
	claimFailed
)

// claim is the outcome of recording one record.
type claim struct {
	state claimState
	// hash is the record's content hash; held, for a conflict, the hash the
	// id holds ("" when the item has none).
	hash, held string
	// err and retryAfter say why a claim failed.
	err        error
	retryAfter int
	retries    int
}

// claims records every record of pr in the idempotency table, at most
// ClaimConcurrency at a time, retrying throttled and failed writes until
// end, and returns one claim per record of pr.Records.
func (h *Handler) claims(ctx context.Context, pr *Parsed, end time.Time) []claim {
	res := make([]claim, len(pr.Records))
	if len(res) == 0 {
		return res
	}
	expires := strconv.FormatInt(h.Clock.Now().Add(h.ttl()).Unix(), 10)
	var next atomic.Int64
	work := func() {
		for {
			i := int(next.Add(1) - 1)
			if i >= len(res) {
				return
			}
			res[i] = h.claim(ctx, &pr.Records[i], expires, end)
		}
	}
	n := h.ClaimConcurrency
	if n <= 0 {
		n = DefaultClaimConcurrency
	}
	// Workers are the clock's goroutines, and waited for through it: on a
	// virtual clock, time moves on only while every one of them waits.
	var done []*clock.Signal
	for range min(n, len(res)) - 1 {
		done = append(done, h.Clock.Go(work))
	}
	work()
	for _, s := range done {
		// Not ctx: the workers write res, so every one must have returned
		// (a cancelled ctx ends their calls and sleeps promptly).
		_ = h.Clock.Await(context.Background(), s, 0)
	}
	return res
}

// ttl is how long an accepted id holds its content.
func (h *Handler) ttl() time.Duration {
	if h.TTL > 0 {
		return h.TTL
	}
	return DefaultTTL
}

// claim records one record: a conditional PutItem, retried with backoff
// while it fails for a reason that can pass (throttling, a 5xx, an
// unreachable endpoint) and the budget allows.
func (h *Handler) claim(ctx context.Context, r *record.Record, expires string, end time.Time) claim {
	c := claim{hash: record.ContentHash(r.Data)}
	hash := &ddbtypes.AttributeValueMemberS{Value: c.hash}
	in := &dynamodb.PutItemInput{
		TableName: aws.String(h.IdempotencyTable),
		Item: map[string]ddbtypes.AttributeValue{
			IdempotencyKey:     &ddbtypes.AttributeValueMemberS{Value: r.ID},
			IdempotencyHash:    hash,
			IdempotencyExpires: &ddbtypes.AttributeValueMemberN{Value: expires},
		},
		ConditionExpression:                 aws.String(claimCondition),
		ExpressionAttributeValues:           map[string]ddbtypes.AttributeValue{":h": hash},
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	}
	for attempt := 1; ; attempt++ {
		_, err := h.Idempotency.PutItem(ctx, in)
		if err == nil {
			c.state = claimed
			return c
		}
		var ccf *ddbtypes.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			// The condition failed: the id exists with another hash (or
			// none). That is a conflict whatever the hash it holds.
			c.state = claimConflict
			if v, ok := ccf.Item[IdempotencyHash].(*ddbtypes.AttributeValueMemberS); ok {
				c.held = v.Value
			}
			return c
		}
		c.state, c.err = claimFailed, fmt.Errorf("record id %q in %s: %w", clip(r.ID), h.IdempotencyTable, err)
		if fault.Classify(err) != fault.Transient || ctx.Err() != nil {
			c.retryAfter = RetryAfterUnavailable
			return c
		}
		c.retryAfter = RetryAfterThrottled
		wait := h.backoff(attempt)
		if h.Clock.Now().Add(wait).After(end) {
			return c
		}
		if h.Clock.Sleep(ctx, wait) != nil {
			return c
		}
		c.retries++
	}
}

// conflictProblems returns the problems of the records whose claim is a
// conflict, and of their identical copies, in body order.
func conflictProblems(pr *Parsed, cs []claim) []Problem {
	var out []Problem
	add := func(p bodyPos, i int) {
		idx := int(p.index)
		reason := fmt.Sprintf("conflict: id %q was accepted earlier by this region with other content (content sha256 %s…, this record's %s…); this record was not written (every stage keeps one record per id)",
			clip(pr.Records[i].ID), short(cs[i].held), short(cs[i].hash))
		out = append(out, Problem{Index: &idx, Line: int(p.line), Reason: reason, Status: StatusConflict})
	}
	copies := pr.copies
	for i, c := range cs {
		if i >= len(pr.pos) {
			break
		}
		if c.state != claimConflict {
			continue
		}
		add(pr.pos[i], i)
		for _, cp := range copies {
			if int(cp.rec) == i {
				add(cp.bodyPos, i)
			}
		}
	}
	sortProblems(out)
	return out
}

// short is the first 12 hex digits of a hash, for a person to compare; "none"
// for an item without one.
func short(h string) string {
	if h == "" {
		return "none"
	}
	return h[:min(12, len(h))]
}

// sortProblems orders problems by record index (insertion sort: a request
// has at most MaxRecords).
func sortProblems(ps []Problem) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && *ps[j].Index < *ps[j-1].Index; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

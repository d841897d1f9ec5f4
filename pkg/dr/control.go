package dr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/pendulum-dr/pendulum/pkg/clock"
	"github.com/pendulum-dr/pendulum/pkg/dr/drapi"
)

// DR modes kept in the control record (drapi).
const (
	ModePrimary      = drapi.ModePrimary
	ModeFailingOver  = drapi.ModeFailingOver
	ModeFailedOver   = drapi.ModeFailedOver
	ModeFailingBack  = drapi.ModeFailingBack
	maxControlWrites = 5 // conditional-write attempts before giving up as transient
)

// ControlDB is the part of DynamoDB the control step uses.
type ControlDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// ExecutionDescriber tells whether the execution holding the lock still runs.
type ExecutionDescriber interface {
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// ControlRecord is the DR control item (drapi).
type ControlRecord = drapi.ControlRecord

// ControlInput is dr-control's input; which fields apply depends on Op.
type ControlInput struct {
	Op        string          `json:"op"`
	Workflow  string          `json:"workflow,omitempty"`
	Execution string          `json:"execution"`
	StartTime string          `json:"startTime,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	Defaults  struct {
		Approval string `json:"approval"`
	} `json:"defaults"`
	Error json.RawMessage `json:"error,omitempty"`
	Facts json.RawMessage `json:"facts,omitempty"`
	// Stage is op degrade's failed stage (StageRestore, StageTable,
	// StageReplay).
	Stage string `json:"stage,omitempty"`
}

// ControlOutput is dr-control's output; which fields are set depends on Op.
type ControlOutput struct {
	Proceed    *bool           `json:"proceed,omitempty"`
	Resumed    *bool           `json:"resumed,omitempty"`
	Message    string          `json:"message,omitempty"`
	Since      string          `json:"since,omitempty"`
	Config     *WorkflowConfig `json:"config,omitempty"`
	Mode       string          `json:"mode,omitempty"`
	DrillTable string          `json:"drillTable,omitempty"`
	// Reason is op degrade's short why (at most MaxDegradedReasonChars
	// ASCII characters: it goes into the notification's subject).
	Reason string `json:"reason,omitempty"`
}

// Control is the dr-control step: the control record with conditional
// writes, so one DR workflow runs at a time and a re-run is a no-op or a
// resume, never a second restore.
type Control struct {
	DB              ControlDB
	SFN             ExecutionDescriber
	Table           string // CONTROL_TABLE
	AggregatesTable string // AGGREGATES_TABLE, the base of drill table names
	Clock           clock.Clock
}

// Handle runs one control operation.
func (c *Control) Handle(ctx context.Context, in ControlInput) (ControlOutput, error) {
	if !strings.HasPrefix(in.Execution, "arn:") {
		return ControlOutput{}, invalidf("execution: want the execution ARN ($$.Execution.Id), got %q", in.Execution)
	}
	switch in.Op {
	case "begin":
		return c.begin(ctx, in)
	case "abort":
		return c.abort(ctx, in)
	case "fail":
		return c.fail(ctx, in)
	case "commit":
		return c.commit(ctx, in)
	case "complete":
		return c.complete(ctx, in)
	case "degrade":
		return c.degrade(ctx, in)
	case "drill":
		return c.drill(ctx, in)
	}
	return ControlOutput{}, invalidf("op %q: want begin, commit, abort, fail, complete, degrade or drill", in.Op)
}

func (c *Control) now() string { return c.Clock.Now().UTC().Format(time.RFC3339) }

// decision is what an operation decided from the record it read: write
// next (nil: no write), and answer out or err.
type decision struct {
	next *ControlRecord
	out  ControlOutput
	err  error
}

// update reads the record, decides, and writes conditionally on the
// version read; a lost race re-reads and decides again.
func (c *Control) update(ctx context.Context, decide func(cur ControlRecord, exists bool) (decision, error)) (ControlOutput, error) {
	for attempt := 0; attempt < maxControlWrites; attempt++ {
		cur, exists, err := c.Read(ctx)
		if err != nil {
			return ControlOutput{}, err
		}
		d, err := decide(cur, exists)
		if err != nil {
			return ControlOutput{}, err
		}
		if d.err != nil || d.next == nil {
			return d.out, d.err
		}
		err = c.write(ctx, *d.next, cur.Version, exists)
		var ccf *ddbtypes.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			continue // another writer won: decide again on what it wrote
		}
		if err != nil {
			return ControlOutput{}, err
		}
		return d.out, nil
	}
	return ControlOutput{}, transientf("control record %s: %d conditional writes lost to concurrent writers", c.Table, maxControlWrites)
}

// Read returns the control record (consistent read); a missing item is
// PRIMARY at version 0 with exists false.
func (c *Control) Read(ctx context.Context) (ControlRecord, bool, error) {
	return drapi.ReadControl(ctx, c.DB, c.Table)
}

func (c *Control) write(ctx context.Context, r ControlRecord, prevVersion int64, exists bool) error {
	r.Version = prevVersion + 1
	r.Updated = c.now()
	in := &dynamodb.PutItemInput{TableName: aws.String(c.Table), Item: drapi.EncodeControlRecord(r)}
	if exists {
		in.ConditionExpression = aws.String("#v = :v")
		in.ExpressionAttributeNames = map[string]string{"#v": "version"}
		in.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(prevVersion, 10)}}
	} else {
		in.ConditionExpression = aws.String("attribute_not_exists(pk)")
	}
	if _, err := c.DB.PutItem(ctx, in); err != nil {
		return fmt.Errorf("write control record (mode %s) to %s: %w", r.Mode, c.Table, err)
	}
	return nil
}

// workflowModes maps a workflow to the mode it starts from, the mode it
// holds the lock in, and the mode it ends in.
var workflowModes = map[string]struct{ from, during, to string }{
	WorkflowFailover: {ModePrimary, ModeFailingOver, ModeFailedOver},
	WorkflowFailback: {ModeFailedOver, ModeFailingBack, ModePrimary},
}

func (c *Control) begin(ctx context.Context, in ControlInput) (ControlOutput, error) {
	modes, ok := workflowModes[in.Workflow]
	if !ok {
		return ControlOutput{}, invalidf("workflow %q: want failover or failback", in.Workflow)
	}
	start, err := time.Parse(time.RFC3339Nano, in.StartTime)
	if err != nil {
		return ControlOutput{}, invalidf("startTime %q: want RFC 3339 ($$.Execution.StartTime)", in.StartTime)
	}
	defApproval := false
	switch in.Defaults.Approval {
	case "", "false":
	case "true":
		defApproval = true
	default:
		return ControlOutput{}, invalidf("defaults.approval %q: want \"true\" or \"false\"", in.Defaults.Approval)
	}
	cfg, err := ParseWorkflowInput(in.Workflow, in.Input, defApproval)
	if err != nil {
		return ControlOutput{}, err
	}
	return c.update(ctx, func(cur ControlRecord, exists bool) (decision, error) {
		proceed := func(next ControlRecord, resumed bool, msg string) decision {
			return decision{next: &next, out: ControlOutput{Proceed: ptr(true), Resumed: ptr(resumed), Message: msg, Since: next.Since, Config: &cfg}}
		}
		take := func(resumed bool, since, msg string) decision {
			next := cur
			next.Mode, next.Workflow, next.Execution, next.Since = modes.during, in.Workflow, in.Execution, since
			next.Failed, next.LastError = false, ""
			if !resumed {
				next.Committed = false
			}
			return proceed(next, resumed, msg)
		}
		retry := cfg.RetryRestore != nil && *cfg.RetryRestore
		noop := func(msg string) decision {
			return decision{out: ControlOutput{Proceed: ptr(false), Resumed: ptr(false), Message: msg, Since: cur.Since, Config: &cfg}}
		}
		switch {
		case cur.Mode == modes.during && cur.Execution == in.Execution:
			// This execution already holds the lock (a retried Begin).
			return decision{out: ControlOutput{Proceed: ptr(true), Resumed: ptr(false), Message: in.Workflow + " lock held by this execution", Since: cur.Since, Config: &cfg}}, nil
		case cur.Mode == modes.from:
			if retry {
				return decision{err: conflictf("retryRestore refused: the DR mode is %s, so there is no degraded failover whose aggregates restore to retry; start failover without retryRestore", cur.Mode)}, nil
			}
			if in.Workflow == WorkflowFailback && cur.RestorePending {
				return decision{err: conflictf("failback refused: the failover since %s is degraded (%s): the failover never completed: the backup region's aggregates table was not restored and its consumer is off. Retry the restore first (start the failover state machine with {\"retryRestore\":true}), then fail back", cur.Since, cur.DegradedReason)}, nil
			}
			switch cfg.Abandoned {
			case AbandonedRollback:
				return noop(fmt.Sprintf("nothing to roll back: the DR mode is %s and no %s holds the lock; nothing to do", cur.Mode, in.Workflow)), nil
			case AbandonedResume:
				return decision{err: conflictf("%s refused: \"abandoned\":\"resume\" was given but no abandoned %s holds the DR lock (the mode is %s); start %s without \"abandoned\" to run a new one", in.Workflow, in.Workflow, cur.Mode, in.Workflow)}, nil
			}
			since := cur.Since
			if in.Workflow == WorkflowFailover {
				since = start.UTC().Format(time.RFC3339)
			} else if since == "" {
				return decision{err: conflictf("failback: the control record (mode %s) has no failover start time (since); it was not written by a failover; fix the record in %s", cur.Mode, c.Table)}, nil
			}
			return take(false, since, in.Workflow+" started"), nil
		case cur.Mode == modes.to:
			msg := "already failed over to the backup region (since " + cur.Since + "); nothing to do: run failback to return to the primary"
			switch {
			case in.Workflow == WorkflowFailback:
				msg = "already primary: no failover to undo; nothing to do"
			case cur.RestorePending && retry:
				return take(false, cur.Since, fmt.Sprintf("retrying the aggregates restore of the degraded failover since %s (%s); traffic stays in the backup region", cur.Since, cur.DegradedReason)), nil
			case cur.RestorePending:
				msg = "already failed over to the backup region (since " + cur.Since + "), degraded: the aggregates restore is pending (" + cur.DegradedReason + "); start failover with {\"retryRestore\":true} to retry it"
			case retry:
				msg = "the failover since " + cur.Since + " restored the aggregates: no restore to retry; nothing to do"
			}
			return noop(msg), nil
		case cur.Mode == modes.during:
			running, status, err := c.holderRunning(ctx, cur)
			if err != nil {
				return decision{}, err
			}
			if running {
				return decision{err: conflictf("%s refused: execution %s holds the DR lock (%s) and is still RUNNING; wait for it to end or stop it, then start again", in.Workflow, cur.Execution, cur.Mode)}, nil
			}
			if retry && !cur.RestorePending {
				return decision{err: conflictf("retryRestore refused: the failover of execution %s (%s) ended before it had moved traffic and degraded; start failover without retryRestore to resume it", cur.Execution, status)}, nil
			}
			switch {
			case cfg.Abandoned == AbandonedRollback && cur.Committed:
				return decision{err: conflictf("%s rollback refused: execution %s (%s), which holds the DR lock (%s), had already started changing the installation, so the mode cannot simply return to %s; start %s with {\"abandoned\":\"resume\"} to finish it%s", in.Workflow, cur.Execution, status, cur.Mode, modes.from, in.Workflow, undoHint(in.Workflow))}, nil
			case cfg.Abandoned == AbandonedRollback:
				// A stopped restore retry goes back to the degraded
				// FAILED_OVER it took the lock from.
				back := modes.from
				if in.Workflow == WorkflowFailover && cur.RestorePending {
					back = ModeFailedOver
				}
				next := cur
				next.Mode, next.Execution, next.Failed, next.Committed = back, "", false, false
				next.LastError = fmt.Sprintf("rolled back by %s: %s ended (%s) before changing anything", in.Execution, cur.Execution, status)
				return decision{next: &next, out: ControlOutput{Proceed: ptr(false), Resumed: ptr(false), Since: cur.Since, Config: &cfg,
					Message: fmt.Sprintf("rolled back the %s of execution %s (%s): it had changed nothing; the DR mode is %s again", in.Workflow, cur.Execution, status, back)}}, nil
			case cfg.Abandoned == AbandonedResume || cur.Failed:
				// A holder that ran its Catch path (Failed) notified the
				// operator that a re-run resumes; a plain re-run does.
				return take(true, cur.Since, fmt.Sprintf("resumed the %s of execution %s (%s): every step is idempotent", in.Workflow, cur.Execution, status)), nil
			}
			return decision{err: conflictf("%s", abandonedCause(in.Workflow, cur, status, modes.from))}, nil
		case in.Workflow == WorkflowFailover && cur.Mode == ModeFailingBack && cur.Execution != in.Execution && !retry:
			// The primary failed again during failback: once that failback
			// has ended (its Catch path, or stopped), failover takes the
			// lock back and returns everything to B; the failover start
			// (since) stands, so the next failback copies back all B wrote.
			running, status, err := c.holderRunning(ctx, cur)
			if err != nil {
				return decision{}, err
			}
			if running {
				return decision{err: conflictf("failover refused: failback execution %s holds the DR lock (%s) and is still RUNNING; if the primary is failing again, stop that failback (states:StopExecution) and start failover again", cur.Execution, cur.Mode)}, nil
			}
			next := cur
			next.Mode, next.Workflow, next.Execution = ModeFailingOver, in.Workflow, in.Execution
			next.Failed, next.LastError = false, ""
			return proceed(next, true, fmt.Sprintf("failover after the failback of execution %s ended (%s): back to the backup region; the failover since %s stands", cur.Execution, status, cur.Since)), nil
		default:
			return decision{err: conflictf("%s refused: the DR mode is %s (execution %s); finish that %s first by starting it again (if that execution ended without finishing, with \"abandoned\" set: see docs/dr.md \"When a workflow stops\")", in.Workflow, cur.Mode, cur.Execution, cur.Workflow)}, nil
		}
	})
}

// undoHint is what follows a resumed workflow to undo its effect.
func undoHint(workflow string) string {
	if workflow == WorkflowFailover {
		return ", then run failback to return to the primary"
	}
	return ""
}

// abandonedCause is the refusal of a plain run while the lock is held by an
// execution that ended without its Catch path: it names the holder and the
// operator's choices.
func abandonedCause(workflow string, cur ControlRecord, status, from string) string {
	if cur.Committed {
		return fmt.Sprintf("%s refused: execution %s holds the DR lock (%s) but ended (%s) after it had started changing the installation; "+
			"start %s with {\"abandoned\":\"resume\"} to finish it%s (a rollback is not possible)", workflow, cur.Execution, cur.Mode, status, workflow, undoHint(workflow))
	}
	return fmt.Sprintf("%s refused: execution %s holds the DR lock (%s) but ended (%s) before changing anything; "+
		"start %s with {\"abandoned\":\"rollback\"} to return the DR mode to %s, or with {\"abandoned\":\"resume\"} to carry on with the %s", workflow, cur.Execution, cur.Mode, status, workflow, from, workflow)
}

// holderRunning reports whether the lock holder still runs. A holder that
// noted its own failure, or that Step Functions no longer knows, does not.
func (c *Control) holderRunning(ctx context.Context, cur ControlRecord) (bool, string, error) {
	if cur.Failed {
		return false, "failed: " + cur.LastError, nil
	}
	if cur.Execution == "" {
		return false, "no holder", nil
	}
	out, err := c.SFN.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(cur.Execution)})
	var gone *sfntypes.ExecutionDoesNotExist
	if errors.As(err, &gone) {
		return false, "no longer exists", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("describe lock holder %s: %w", cur.Execution, err)
	}
	return out.Status == sfntypes.ExecutionStatusRunning, string(out.Status), nil
}

func errorText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "unknown error"
	}
	var e struct{ Error, Cause string }
	if json.Unmarshal(raw, &e) == nil && (e.Error != "" || e.Cause != "") {
		if e.Cause == "" {
			return e.Error
		}
		return e.Error + ": " + e.Cause
	}
	return string(raw)
}

func (c *Control) abort(ctx context.Context, in ControlInput) (ControlOutput, error) {
	modes, ok := workflowModes[in.Workflow]
	if !ok {
		return ControlOutput{}, invalidf("workflow %q: want failover or failback", in.Workflow)
	}
	return c.update(ctx, func(cur ControlRecord, _ bool) (decision, error) {
		switch {
		case cur.Mode == modes.during && cur.Execution == in.Execution:
			// A restore retry took the lock from FAILED_OVER (degraded):
			// aborted, it goes back there.
			back := modes.from
			if in.Workflow == WorkflowFailover && cur.RestorePending {
				back = ModeFailedOver
			}
			next := cur
			next.Mode, next.Failed, next.LastError, next.LastAbort = back, false, "aborted: "+errorText(in.Error), in.Execution
			next.Execution, next.Committed = "", false
			return decision{next: &next, out: ControlOutput{Mode: back, Message: in.Workflow + " aborted; lock released; the DR mode is " + back + " again"}}, nil
		case cur.LastAbort == in.Execution && (cur.Mode == modes.from || in.Workflow == WorkflowFailover && cur.RestorePending && cur.Mode == ModeFailedOver):
			return decision{out: ControlOutput{Mode: cur.Mode, Message: in.Workflow + " already aborted; the DR mode is " + cur.Mode}}, nil
		}
		return decision{err: conflictf("abort %s: execution %s does not hold the DR lock (mode %s, holder %q)", in.Workflow, in.Execution, cur.Mode, cur.Execution)}, nil
	})
}

func (c *Control) fail(ctx context.Context, in ControlInput) (ControlOutput, error) {
	modes, ok := workflowModes[in.Workflow]
	if !ok {
		return ControlOutput{}, invalidf("workflow %q: want failover or failback", in.Workflow)
	}
	return c.update(ctx, func(cur ControlRecord, _ bool) (decision, error) {
		if cur.Mode != modes.during || cur.Execution != in.Execution {
			return decision{err: conflictf("record failure of %s: execution %s does not hold the DR lock (mode %s, holder %q)", in.Workflow, in.Execution, cur.Mode, cur.Execution)}, nil
		}
		out := ControlOutput{Mode: cur.Mode, Message: fmt.Sprintf("%s failed; the mode stays %s and a re-run resumes", in.Workflow, cur.Mode)}
		if cur.Failed && cur.LastError == errorText(in.Error) {
			return decision{out: out}, nil
		}
		next := cur
		next.Failed, next.LastError = true, errorText(in.Error)
		return decision{next: &next, out: out}, nil
	})
}

// commit records that the holder is about to change the installation (its
// Commit state, after approval): from then on an abandoned run can only be
// resumed. Only the holder may commit; a retried commit writes nothing.
func (c *Control) commit(ctx context.Context, in ControlInput) (ControlOutput, error) {
	modes, ok := workflowModes[in.Workflow]
	if !ok {
		return ControlOutput{}, invalidf("workflow %q: want failover or failback", in.Workflow)
	}
	return c.update(ctx, func(cur ControlRecord, _ bool) (decision, error) {
		if cur.Mode != modes.during || cur.Execution != in.Execution {
			return decision{err: conflictf("commit %s: execution %s does not hold the DR lock (mode %s, holder %q); it changes nothing", in.Workflow, in.Execution, cur.Mode, cur.Execution)}, nil
		}
		out := ControlOutput{Mode: cur.Mode, Since: cur.Since, Message: in.Workflow + " committed: from here on a stopped run can be resumed, not rolled back"}
		if cur.Committed {
			return decision{out: out}, nil
		}
		next := cur
		next.Committed = true
		return decision{next: &next, out: out}, nil
	})
}

func (c *Control) complete(ctx context.Context, in ControlInput) (ControlOutput, error) {
	modes, ok := workflowModes[in.Workflow]
	if !ok {
		return ControlOutput{}, invalidf("workflow %q: want failover or failback", in.Workflow)
	}
	if len(in.Facts) > 0 && !json.Valid(in.Facts) {
		return ControlOutput{}, invalidf("facts: not JSON")
	}
	return c.update(ctx, func(cur ControlRecord, _ bool) (decision, error) {
		switch {
		case cur.Mode == modes.during && cur.Execution == in.Execution:
			next := cur
			next.Mode, next.Failed, next.LastError, next.Committed = modes.to, false, "", false
			if in.Workflow == WorkflowFailover {
				facts, err := failoverFacts(cur, in.Facts, in.Execution, OutcomeComplete, nil)
				if err != nil {
					return decision{}, err
				}
				next.FailoverFacts, next.RestorePending, next.DegradedReason = facts, false, ""
			} else {
				next.FailbackFacts = in.Facts
			}
			return decision{next: &next, out: ControlOutput{Mode: modes.to, Since: cur.Since}}, nil
		case cur.Mode == modes.to && cur.Execution == in.Execution:
			return decision{out: ControlOutput{Mode: modes.to, Since: cur.Since}}, nil // a retried complete
		}
		return decision{err: conflictf("complete %s: execution %s does not hold the DR lock (mode %s, holder %q)", in.Workflow, in.Execution, cur.Mode, cur.Execution)}, nil
	})
}

func (c *Control) drill(ctx context.Context, in ControlInput) (ControlOutput, error) {
	cfg, err := ParseWorkflowInput(WorkflowDrill, in.Input, false)
	if err != nil {
		return ControlOutput{}, err
	}
	cur, _, err := c.Read(ctx)
	if err != nil {
		return ControlOutput{}, err
	}
	out := ControlOutput{Config: &cfg, DrillTable: DrillTable(c.AggregatesTable, in.Execution)}
	if cur.Mode == ModePrimary {
		return out, nil
	}
	if cur.Mode != ModeFailingOver && cur.Mode != ModeFailingBack {
		return ControlOutput{}, conflictf("drill refused: the DR mode is %s (execution %s); drills run only while the primary serves", cur.Mode, cur.Execution)
	}
	running, status, err := c.holderRunning(ctx, cur)
	if err != nil {
		return ControlOutput{}, err
	}
	if running {
		return ControlOutput{}, conflictf("drill refused: execution %s holds the DR lock (%s) and is still RUNNING; drills run only while no DR workflow is in progress", cur.Execution, cur.Mode)
	}
	// The holder ended without releasing the lock. A failover that changed
	// nothing left production as it was: the isolated drill, which never
	// touches production, runs (and says so). Anything else needs the
	// operator's recovery first, which the refusal names.
	if cfg.Mode == "isolated" && cur.Mode == ModeFailingOver && !cur.Committed {
		out.Message = fmt.Sprintf("the DR lock (%s) is held by execution %s, which ended (%s) before changing anything; the isolated drill runs, production is untouched. Recover the lock: start failover with {\"abandoned\":\"rollback\"} or {\"abandoned\":\"resume\"}", cur.Mode, cur.Execution, status)
		return out, nil
	}
	return ControlOutput{}, conflictf("drill refused: %s; run the drill again once the DR mode is %s", abandonedCause(cur.Workflow, cur, status, workflowModes[cur.Workflow].from), ModePrimary)
}

// DrillTable is the table an isolated drill restores into: the aggregates
// table's name plus a short id derived from the execution name, so a retried
// step names the same table and two drills never share one.
func DrillTable(aggregates, execution string) string {
	name := execution[strings.LastIndexByte(execution, ':')+1:]
	h := fnv.New64a()
	h.Write([]byte(name))
	return fmt.Sprintf("%s-drill-%010x", aggregates, h.Sum64()&0xffffffffff)
}

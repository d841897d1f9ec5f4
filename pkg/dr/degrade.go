package dr

import (
	"context"
	"encoding/json"
	"fmt"
)

// The failover facts' keys the control step writes itself (the state
// machine passes the others: restore, replay, fence, reconcile, probe).
// docs/dr.md "Failover facts" lists them all.
const (
	// FactOutcome is "complete" (aggregates restored and brought current,
	// consumer on) or "degraded" (traffic in B, restore pending).
	FactOutcome = "outcome"
	// FactRestorePending is true while the failover is degraded.
	FactRestorePending = "restorePending"
	// FactDegraded is what degraded the failover: stage, reason, error.
	FactDegraded = "degraded"
	// FactRestoreRetriedBy is the execution whose restore retry completed
	// a degraded failover.
	FactRestoreRetriedBy = "restoreRetriedBy"
	// FactRestore and FactReplay are the facts a restore retry replaces;
	// the first run's others (fence, reconcile, probe) are kept.
	FactRestore = "restore"
	FactReplay  = "replay"
)

// The values of FactOutcome.
const (
	OutcomeComplete = "complete"
	OutcomeDegraded = "degraded"
)

// The stages of the failover's aggregates branch a degraded outcome names.
const (
	// StageRestore: neither a point-in-time restore nor a restore of the
	// newest AWS Backup copy produced the table.
	StageRestore = "restore"
	// StageTable: the restored table could not be made ACTIVE or given back
	// what a restore does not carry over (PITR, deletion protection, TTL,
	// tags).
	StageTable = "table"
	// StageReplay: replaying the replicated raw objects into the table
	// failed.
	StageReplay = "replay"
)

// MaxDegradedReasonChars bounds ControlOutput.Reason: the state machine
// puts it in the notification's subject after "Pendulum: failover to
// <region> DEGRADED: ", and SNS subjects are at most 100 ASCII characters.
const MaxDegradedReasonChars = 50

// DegradedFacts is FactDegraded's value.
type DegradedFacts struct {
	Stage  string `json:"stage"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
	// Execution is the execution that degraded (the first failover, or a
	// restore retry that failed again).
	Execution string `json:"execution"`
	At        string `json:"at"`
}

// degradedReason is the few words an operator reads in the subject.
func degradedReason(stage string, errRaw json.RawMessage) string {
	var e struct{ Error, Cause string }
	_ = json.Unmarshal(errRaw, &e)
	name := e.Error
	if name == "" {
		name = "unknown error"
	}
	var r string
	switch {
	case stage == StageRestore && name == "NotFoundError":
		r = "no recovery point of the aggregates table"
	case stage == StageRestore:
		r = "aggregates restore failed: " + name
	case stage == StageTable:
		r = "restored table setup failed: " + name
	default:
		r = "aggregates replay failed: " + name
	}
	return subjectSafe(r, MaxDegradedReasonChars)
}

// subjectSafe keeps s printable ASCII (an SNS subject's characters) and at
// most max characters.
func subjectSafe(s string, max int) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b = append(b, c)
	}
	if len(b) > max {
		b = append(b[:max-3], "..."...)
	}
	return string(b)
}

// degradedHint says what to fix before retrying.
func degradedHint(stage string, errRaw json.RawMessage) string {
	var e struct{ Error string }
	_ = json.Unmarshal(errRaw, &e)
	switch {
	case stage == StageRestore && e.Error == "NotFoundError":
		return "a retry succeeds once the primary's DynamoDB answers a point-in-time restore again, or once a copy of the table's backup is COMPLETED in the backup region's vault"
	case stage == StageRestore:
		return "see the restore's error; a retry restores from PITR if the primary answers, else from the newest backup copy"
	case stage == StageTable:
		return "the table exists: a retry resumes with it"
	}
	return "the table is restored: a retry resumes with it and replays again (idempotent)"
}

// degrade records a degraded failover: FAILING_OVER → FAILED_OVER with the
// restore pending. Traffic is in B; the state machine did not start the
// consumer.
func (c *Control) degrade(ctx context.Context, in ControlInput) (ControlOutput, error) {
	if in.Workflow != WorkflowFailover {
		return ControlOutput{}, invalidf("degrade: workflow %q: only a failover degrades", in.Workflow)
	}
	switch in.Stage {
	case StageRestore, StageTable, StageReplay:
	default:
		return ControlOutput{}, invalidf("degrade: stage %q: want %s, %s or %s", in.Stage, StageRestore, StageTable, StageReplay)
	}
	if len(in.Facts) > 0 && !json.Valid(in.Facts) {
		return ControlOutput{}, invalidf("facts: not JSON")
	}
	reason := degradedReason(in.Stage, in.Error)
	out := func(since string) ControlOutput {
		return ControlOutput{Mode: ModeFailedOver, Since: since, Reason: reason, Message: fmt.Sprintf(
			"Failover execution %s moved traffic to the backup region, but its aggregates table is not restored (%s: %s). "+
				"The DR mode is FAILED_OVER, degraded: the aggregate consumer is off and the backup region's stream keeps the records it accepts for the stream's retention. "+
				"Fix the cause (%s), then retry the restore alone by starting the failover state machine with {\"retryRestore\":true}; failback is refused until a retry completes.",
			in.Execution, in.Stage, errorText(in.Error), degradedHint(in.Stage, in.Error))}
	}
	return c.update(ctx, func(cur ControlRecord, _ bool) (decision, error) {
		switch {
		case cur.Mode == ModeFailingOver && cur.Execution == in.Execution:
			info := DegradedFacts{Stage: in.Stage, Reason: reason, Error: errorText(in.Error), Execution: in.Execution, At: c.now()}
			facts, err := failoverFacts(cur, in.Facts, in.Execution, OutcomeDegraded, &info)
			if err != nil {
				return decision{}, err
			}
			next := cur
			next.Mode, next.Failed, next.LastError = ModeFailedOver, false, "degraded: "+errorText(in.Error)
			next.RestorePending, next.DegradedReason, next.FailoverFacts = true, reason, facts
			return decision{next: &next, out: out(cur.Since)}, nil
		case cur.Mode == ModeFailedOver && cur.Execution == in.Execution && cur.RestorePending:
			return decision{out: out(cur.Since)}, nil // a retried degrade
		}
		return decision{err: conflictf("degrade failover: execution %s does not hold the DR lock (mode %s, holder %q)", in.Execution, cur.Mode, cur.Execution)}, nil
	})
}

// failoverFacts are the facts a failover records as it ends with outcome.
// A first run records the state machine's facts; a restore retry (the
// record's restore is pending) keeps the first run's and replaces only
// restore and replay. degraded, when set, marks the restore pending.
func failoverFacts(cur ControlRecord, given json.RawMessage, execution, outcome string, degraded *DegradedFacts) (json.RawMessage, error) {
	parse := func(raw json.RawMessage, what string) (map[string]json.RawMessage, error) {
		m := map[string]json.RawMessage{}
		if len(raw) == 0 || string(raw) == "null" {
			return m, nil
		}
		if err := json.Unmarshal(raw, &m); err != nil || m == nil {
			return nil, invalidf("%s: want a JSON object", what)
		}
		return m, nil
	}
	facts, err := parse(given, "facts")
	if err != nil {
		return nil, err
	}
	if cur.RestorePending {
		base, err := parse(cur.FailoverFacts, "recorded failover facts")
		if err != nil {
			base = map[string]json.RawMessage{} // unreadable: keep what this run knows
		}
		for _, k := range []string{FactRestore, FactReplay} {
			if v, ok := facts[k]; ok {
				base[k] = v
			}
		}
		if degraded == nil {
			base[FactRestoreRetriedBy], _ = json.Marshal(execution)
		}
		facts = base
	}
	facts[FactOutcome], _ = json.Marshal(outcome)
	if degraded != nil {
		facts[FactRestorePending] = json.RawMessage("true")
		facts[FactDegraded], _ = json.Marshal(degraded)
	} else {
		delete(facts, FactRestorePending)
		delete(facts, FactDegraded)
	}
	return json.Marshal(facts)
}

package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
)

// EventBridge is one region's simulated EventBridge default event bus:
// rules with an event pattern or a schedule (rate or cron, in UTC, on the
// world's clock), their targets, and PutEvents. The region's CloudWatch
// alarm state changes arrive on the bus as "CloudWatch Alarm State Change"
// events, and Step Functions execution status changes
// (PutStatesExecutionStatusChange) as "Step Functions Execution Status
// Change" events. Targets are Lambda functions (invoked asynchronously),
// Step Functions state machines (through World.SetStateMachineStarter,
// with the target's RoleArn), SQS queues, SNS topics (under the topic's
// and its KMS key's policies) and the default bus of a region (as the
// target's RoleArn); the input is the event, Input, InputPath or an
// InputTransformer's rendering.
//
// Not modelled: custom event buses, archives and replays, a target's retry
// policy (a delivery that fails is recorded, not retried) and dead-letter
// queue, cross-account delivery, the resource policies of queues and
// functions.
type EventBridge struct {
	r *Region

	hookOnce sync.Once

	mu         sync.Mutex
	rules      map[string]*ebRule // by name
	seq        int
	deliveries []EventDelivery
	alarms     map[string]ebAlarmState // last state of each alarm, by ARN
}

type ebRule struct {
	name, arn, desc, roleARN string
	pattern                  ebPattern
	patternText              string
	schedule                 *scheduleExpr
	scheduleText             string
	enabled                  bool
	targets                  []ebtypes.Target
	stopTimer                func() bool
	gen                      int // distinguishes the timers of successive configurations
}

type ebAlarmState struct {
	reason string
	at     time.Time
}

// EventDelivery is one delivery of an event to a rule's target, for tests
// and a drill's report.
type EventDelivery struct {
	Rule, TargetID, TargetARN string
	Input                     string
	Time                      time.Time
	// Err is why the delivery failed ("" when it succeeded).
	Err string
}

// SetStateMachineStarter sets how EventBridge rule targets and Scheduler
// schedules start Step Functions executions: start is called with the
// target's role, the state machine's ARN and the input, and returns the
// execution's ARN.
func (w *World) SetStateMachineStarter(start func(ctx context.Context, roleARN, machineARN, input string) (string, error)) {
	for _, name := range w.Regions() {
		h := w.Region(name).hooks()
		h.mu.Lock()
		h.startMachine = start
		h.mu.Unlock()
	}
}

// EventBridge returns the region's EventBridge.
func (r *Region) EventBridge() *EventBridge {
	e := r.service(eventbridge.ServiceID, func() any {
		return &EventBridge{r: r, rules: make(map[string]*ebRule), alarms: make(map[string]ebAlarmState)}
	}).(*EventBridge)
	// CloudWatch sends every alarm state change to the default bus
	// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html);
	// a bus that has no rules yet would drop them, so subscribing when the
	// bus is first used loses nothing.
	e.hookOnce.Do(func() { r.CloudWatch().OnStateChange(e.alarmStateChanged) })
	return e
}

// RuleARN returns the ARN a default-bus rule of that name has.
func (e *EventBridge) RuleARN(name string) string {
	return fmt.Sprintf("arn:aws:events:%s:%s:rule/%s", e.r.Name, e.r.world.Account, name)
}

func ebValidation(format string, args ...any) error {
	return apiErr("ValidationException", format, args...)
}

func ebNoRule(name string) error {
	return &ebtypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Rule %s does not exist on EventBus default.", name))}
}

// ebCheckBus accepts the default bus, by name or ARN, only.
func (e *EventBridge) ebCheckBus(bus *string) error {
	b := aws.ToString(bus)
	if b == "" || b == "default" || b == fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", e.r.Name, e.r.world.Account) {
		return nil
	}
	return &ebtypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Event bus %s does not exist.", b))}
}

// PutRule creates or updates a rule with an EventPattern or a
// ScheduleExpression, ENABLED unless State says DISABLED.
func (e *EventBridge) PutRule(ctx context.Context, in *eventbridge.PutRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutRuleOutput, error) {
	const op = "PutRule"
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return nil, err
	}
	if err := e.ebCheckBus(in.EventBusName); err != nil {
		return nil, opErr(eventbridge.ServiceID, op, err)
	}
	name := aws.ToString(in.Name)
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(c rune) bool {
		return !(c == '.' || c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
	}) {
		return nil, opErr(eventbridge.ServiceID, op, ebValidation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+", name))
	}
	rule := &ebRule{name: name, arn: e.RuleARN(name), desc: aws.ToString(in.Description), roleARN: aws.ToString(in.RoleArn)}
	switch in.State {
	case "", ebtypes.RuleStateEnabled:
		rule.enabled = true
	case ebtypes.RuleStateDisabled:
	default:
		return nil, opErr(eventbridge.ServiceID, op, ebValidation("1 validation error detected: Value '%s' at 'state' failed to satisfy constraint: Member must satisfy enum value set: [ENABLED, DISABLED]", in.State))
	}
	if in.EventPattern == nil && in.ScheduleExpression == nil {
		return nil, opErr(eventbridge.ServiceID, op, ebValidation("Parameter(s) EventPattern or ScheduleExpression must be specified."))
	}
	if in.EventPattern != nil {
		p, err := parseEventPattern(*in.EventPattern)
		if err != nil {
			return nil, opErr(eventbridge.ServiceID, op, &ebtypes.InvalidEventPatternException{Message: aws.String("Event pattern is not valid. Reason: " + err.Error())})
		}
		rule.pattern, rule.patternText = p, *in.EventPattern
	}
	if in.ScheduleExpression != nil {
		s, err := parseSchedule(*in.ScheduleExpression, scheduleRule)
		if err != nil {
			return nil, opErr(eventbridge.ServiceID, op, ebValidation("Parameter ScheduleExpression is not valid: %v.", err))
		}
		rule.schedule, rule.scheduleText = &s, *in.ScheduleExpression
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if old, ok := e.rules[name]; ok {
		rule.targets, rule.gen = old.targets, old.gen
		e.stopLocked(old)
	}
	e.rules[name] = rule
	e.armLocked(rule)
	return &eventbridge.PutRuleOutput{RuleArn: aws.String(rule.arn)}, nil
}

// stopLocked cancels a rule's schedule timer; e.mu must be held.
func (e *EventBridge) stopLocked(rule *ebRule) {
	if rule.stopTimer != nil {
		rule.stopTimer()
		rule.stopTimer = nil
	}
	rule.gen++
}

// armLocked sets the timer of an enabled scheduled rule's next firing; a
// rate counts from now (the rule's creation or enabling). e.mu must be held.
func (e *EventBridge) armLocked(rule *ebRule) {
	if rule.schedule == nil || !rule.enabled {
		return
	}
	clk := e.r.world.Clock
	anchor := clk.Now()
	gen := rule.gen
	var arm func(after time.Time)
	arm = func(after time.Time) {
		next, ok := rule.schedule.Next(after, anchor, time.UTC)
		if !ok {
			return
		}
		rule.stopTimer = clk.AfterFunc(next.Sub(clk.Now()), func() {
			e.mu.Lock()
			if rule.gen != gen || e.rules[rule.name] != rule {
				e.mu.Unlock()
				return
			}
			arm(next)
			targets := append([]ebtypes.Target(nil), rule.targets...)
			e.mu.Unlock()
			if e.r.world.Down(e.r.Name) {
				return // the region's scheduler is down with it
			}
			ev := e.newEvent("aws.events", "Scheduled Event", []string{rule.arn}, json.RawMessage("{}"), next)
			e.dispatch(rule, targets, ev)
		})
	}
	arm(clk.Now())
}

// PutTargets adds or replaces targets of a rule (at most 5 per rule).
func (e *EventBridge) PutTargets(ctx context.Context, in *eventbridge.PutTargetsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutTargetsOutput, error) {
	const op = "PutTargets"
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return nil, err
	}
	if err := e.ebCheckBus(in.EventBusName); err != nil {
		return nil, opErr(eventbridge.ServiceID, op, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rule, ok := e.rules[aws.ToString(in.Rule)]
	if !ok {
		return nil, opErr(eventbridge.ServiceID, op, ebNoRule(aws.ToString(in.Rule)))
	}
	out := &eventbridge.PutTargetsOutput{}
	targets := append([]ebtypes.Target(nil), rule.targets...)
	for _, t := range in.Targets {
		id := aws.ToString(t.Id)
		fail := func(code, msg string) {
			out.FailedEntries = append(out.FailedEntries, ebtypes.PutTargetsResultEntry{TargetId: t.Id, ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)})
		}
		switch {
		case id == "" || aws.ToString(t.Arn) == "":
			return nil, opErr(eventbridge.ServiceID, op, ebValidation("1 validation error detected: Value null at 'targets.member.id' or 'targets.member.arn' failed to satisfy constraint: Member must not be null"))
		case (t.Input != nil && (t.InputPath != nil || t.InputTransformer != nil)) || (t.InputPath != nil && t.InputTransformer != nil):
			return nil, opErr(eventbridge.ServiceID, op, ebValidation("Only one of Input, InputPath, or InputTransformer must be provided for target %s.", id))
		case t.Input != nil && !json.Valid([]byte(*t.Input)):
			return nil, opErr(eventbridge.ServiceID, op, ebValidation("Input is not valid JSON for target %s.", id))
		case t.InputPath != nil && !ebValidPath(*t.InputPath):
			return nil, opErr(eventbridge.ServiceID, op, ebValidation("InputPath is not a valid JSON path for target %s.", id))
		case strings.HasPrefix(aws.ToString(t.Arn), "arn:aws:states:") && t.RoleArn == nil:
			fail("ValidationException", "RoleArn is required for target "+aws.ToString(t.Arn)+".")
			continue
		}
		if tr := t.InputTransformer; tr != nil {
			if aws.ToString(tr.InputTemplate) == "" {
				return nil, opErr(eventbridge.ServiceID, op, ebValidation("InputTemplate is required for target %s.", id))
			}
			for k, p := range tr.InputPathsMap {
				if strings.HasPrefix(k, "aws.events.") || !ebValidPath(p) {
					return nil, opErr(eventbridge.ServiceID, op, ebValidation("InputPathsMap has an invalid key or path %s: %s for target %s.", k, p, id))
				}
			}
		}
		replaced := false
		for i := range targets {
			if aws.ToString(targets[i].Id) == id {
				targets[i], replaced = t, true
			}
		}
		if !replaced {
			targets = append(targets, t)
		}
	}
	if len(targets) > 5 {
		return nil, opErr(eventbridge.ServiceID, op, &ebtypes.LimitExceededException{Message: aws.String("The requested resource exceeds the maximum number allowed.")})
	}
	rule.targets = targets
	out.FailedEntryCount = int32(len(out.FailedEntries))
	return out, nil
}

// RemoveTargets removes targets from a rule by id.
func (e *EventBridge) RemoveTargets(ctx context.Context, in *eventbridge.RemoveTargetsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.RemoveTargetsOutput, error) {
	const op = "RemoveTargets"
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rule, ok := e.rules[aws.ToString(in.Rule)]
	if !ok {
		return nil, opErr(eventbridge.ServiceID, op, ebNoRule(aws.ToString(in.Rule)))
	}
	kept := rule.targets[:0:0]
	for _, t := range rule.targets {
		gone := false
		for _, id := range in.Ids {
			gone = gone || id == aws.ToString(t.Id)
		}
		if !gone {
			kept = append(kept, t)
		}
	}
	rule.targets = kept
	return &eventbridge.RemoveTargetsOutput{}, nil
}

// DeleteRule deletes a rule that has no targets left; deleting a rule that
// does not exist succeeds.
func (e *EventBridge) DeleteRule(ctx context.Context, in *eventbridge.DeleteRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DeleteRuleOutput, error) {
	const op = "DeleteRule"
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rule, ok := e.rules[aws.ToString(in.Name)]
	if !ok {
		return &eventbridge.DeleteRuleOutput{}, nil
	}
	if len(rule.targets) > 0 {
		return nil, opErr(eventbridge.ServiceID, op, ebValidation("Rule can't be deleted since it has targets."))
	}
	e.stopLocked(rule)
	delete(e.rules, rule.name)
	return &eventbridge.DeleteRuleOutput{}, nil
}

// DescribeRule describes a rule.
func (e *EventBridge) DescribeRule(ctx context.Context, in *eventbridge.DescribeRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error) {
	const op = "DescribeRule"
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rule, ok := e.rules[aws.ToString(in.Name)]
	if !ok {
		return nil, opErr(eventbridge.ServiceID, op, ebNoRule(aws.ToString(in.Name)))
	}
	out := &eventbridge.DescribeRuleOutput{Name: aws.String(rule.name), Arn: aws.String(rule.arn), EventBusName: aws.String("default"),
		CreatedBy: aws.String(e.r.world.Account), State: ebtypes.RuleStateDisabled}
	if rule.enabled {
		out.State = ebtypes.RuleStateEnabled
	}
	if rule.desc != "" {
		out.Description = aws.String(rule.desc)
	}
	if rule.roleARN != "" {
		out.RoleArn = aws.String(rule.roleARN)
	}
	if rule.patternText != "" {
		out.EventPattern = aws.String(rule.patternText)
	}
	if rule.scheduleText != "" {
		out.ScheduleExpression = aws.String(rule.scheduleText)
	}
	return out, nil
}

// ListTargetsByRule lists a rule's targets, by target ID, in pages of
// Limit (1–100, default 100).
func (e *EventBridge) ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error) {
	const op = "ListTargetsByRule"
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return nil, err
	}
	if err := e.ebCheckBus(in.EventBusName); err != nil {
		return nil, opErr(eventbridge.ServiceID, op, err)
	}
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, opErr(eventbridge.ServiceID, op, apiErr("ValidationException", "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value between 1 and 100"))
		}
		limit = int(*in.Limit)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rule, ok := e.rules[aws.ToString(in.Rule)]
	if !ok {
		return nil, opErr(eventbridge.ServiceID, op, ebNoRule(aws.ToString(in.Rule)))
	}
	targets := append([]ebtypes.Target(nil), rule.targets...)
	sort.Slice(targets, func(i, j int) bool { return aws.ToString(targets[i].Id) < aws.ToString(targets[j].Id) })
	start := 0
	if tok := aws.ToString(in.NextToken); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(targets) {
			return nil, opErr(eventbridge.ServiceID, op, apiErr("ValidationException", "The NextToken provided is invalid."))
		}
		start = n
	}
	end := min(start+limit, len(targets))
	out := &eventbridge.ListTargetsByRuleOutput{Targets: targets[start:end]}
	if end < len(targets) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

// EnableRule enables a rule (a scheduled rule's rate counts from now).
func (e *EventBridge) EnableRule(ctx context.Context, in *eventbridge.EnableRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.EnableRuleOutput, error) {
	if err := e.setEnabled(ctx, "EnableRule", in, aws.ToString(in.Name), true); err != nil {
		return nil, err
	}
	return &eventbridge.EnableRuleOutput{}, nil
}

// DisableRule disables a rule: it matches and fires nothing until enabled.
func (e *EventBridge) DisableRule(ctx context.Context, in *eventbridge.DisableRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DisableRuleOutput, error) {
	if err := e.setEnabled(ctx, "DisableRule", in, aws.ToString(in.Name), false); err != nil {
		return nil, err
	}
	return &eventbridge.DisableRuleOutput{}, nil
}

func (e *EventBridge) setEnabled(ctx context.Context, op string, in any, name string, on bool) error {
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	rule, ok := e.rules[name]
	if !ok {
		return opErr(eventbridge.ServiceID, op, ebNoRule(name))
	}
	if rule.enabled == on {
		return nil
	}
	e.stopLocked(rule)
	rule.enabled = on
	e.armLocked(rule)
	return nil
}

// PutEvents puts up to 10 events on the default bus. An entry without
// Source, DetailType or Detail, with a Detail that is not a JSON object,
// or with an aws. source fails alone, in the entry's ErrorCode.
func (e *EventBridge) PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	const op = "PutEvents"
	if err := e.r.call(ctx, eventbridge.ServiceID, op, in); err != nil {
		return nil, err
	}
	if n := len(in.Entries); n < 1 || n > 10 {
		return nil, opErr(eventbridge.ServiceID, op, ebValidation("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10"))
	}
	out := &eventbridge.PutEventsOutput{Entries: make([]ebtypes.PutEventsResultEntry, len(in.Entries))}
	for i, en := range in.Entries {
		fail := func(code, msg string) {
			out.Entries[i] = ebtypes.PutEventsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String(msg)}
			out.FailedEntryCount++
		}
		src, dt, detail := aws.ToString(en.Source), aws.ToString(en.DetailType), aws.ToString(en.Detail)
		var obj map[string]any
		switch {
		case src == "" || dt == "" || detail == "":
			fail("InvalidArgument", "Parameters Source, DetailType, and Detail must be specified.")
			continue
		case json.Unmarshal([]byte(detail), &obj) != nil || obj == nil:
			fail("MalformedDetail", "Detail is malformed.")
			continue
		case strings.HasPrefix(src, "aws."):
			fail("NotAuthorizedForSourceException", "Not authorized for the source.")
			continue
		case e.ebCheckBus(en.EventBusName) != nil:
			fail("InvalidArgument", "Event bus "+aws.ToString(en.EventBusName)+" does not exist.")
			continue
		}
		t := e.r.world.Clock.Now()
		if en.Time != nil {
			t = *en.Time
		}
		ev := e.newEvent(src, dt, en.Resources, json.RawMessage(detail), t)
		out.Entries[i] = ebtypes.PutEventsResultEntry{EventId: aws.String(ev.id)}
		e.route(ev)
	}
	return out, nil
}

// ebEvent is an event on the bus: its envelope as JSON and decoded.
type ebEvent struct {
	id      string
	raw     []byte
	decoded map[string]any
	at      time.Time // ingestion time
}

// newEvent builds the envelope EventBridge delivers
// (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
func (e *EventBridge) newEvent(source, detailType string, resources []string, detail json.RawMessage, t time.Time) ebEvent {
	e.mu.Lock()
	e.seq++
	id := fmt.Sprintf("%08x-4444-4000-8000-%012x", e.seq, e.seq)
	e.mu.Unlock()
	if resources == nil {
		resources = []string{}
	}
	env := struct {
		Version    string          `json:"version"`
		ID         string          `json:"id"`
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Account    string          `json:"account"`
		Time       string          `json:"time"`
		Region     string          `json:"region"`
		Resources  []string        `json:"resources"`
		Detail     json.RawMessage `json:"detail"`
	}{"0", id, detailType, source, e.r.world.Account, t.UTC().Format(time.RFC3339), e.r.Name, resources, detail}
	raw, _ := json.Marshal(env)
	var decoded map[string]any
	json.Unmarshal(raw, &decoded)
	return ebEvent{id: id, raw: raw, decoded: decoded, at: e.r.world.Clock.Now()}
}

// route delivers an event to the targets of every enabled rule whose
// pattern matches it.
func (e *EventBridge) route(ev ebEvent) {
	e.mu.Lock()
	names := make([]string, 0, len(e.rules))
	for n, rule := range e.rules {
		if rule.enabled && rule.pattern != nil && rule.pattern.matches(ev.decoded) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	type match struct {
		rule    *ebRule
		targets []ebtypes.Target
	}
	var ms []match
	for _, n := range names {
		ms = append(ms, match{e.rules[n], append([]ebtypes.Target(nil), e.rules[n].targets...)})
	}
	e.mu.Unlock()
	for _, m := range ms {
		e.dispatch(m.rule, m.targets, ev)
	}
}

// routeForwarded routes an event another bus's rule sent here: its
// envelope (source, account, region, time) stays as it was.
func (e *EventBridge) routeForwarded(raw []byte) error {
	var decoded map[string]any
	if err := json.Unmarshal(raw, &decoded); err != nil || decoded == nil {
		return fmt.Errorf("forwarded event is not a JSON object")
	}
	id, _ := decoded["id"].(string)
	e.route(ebEvent{id: id, raw: append([]byte(nil), raw...), decoded: decoded, at: e.r.world.Clock.Now()})
	return nil
}

// dispatch delivers an event to targets, each in its own goroutine on the
// clock: EventBridge delivers asynchronously.
func (e *EventBridge) dispatch(rule *ebRule, targets []ebtypes.Target, ev ebEvent) {
	for _, t := range targets {
		input, err := ebTargetInput(t, rule, ev)
		e.r.world.Clock.Go(func() {
			if err == nil {
				err = e.r.deliverTarget(serviceCall{Role: aws.ToString(t.RoleArn), Via: "events.amazonaws.com", Service: eventbridge.ServiceID, SourceARN: rule.arn}, aws.ToString(t.Arn), input)
			}
			d := EventDelivery{Rule: rule.name, TargetID: aws.ToString(t.Id), TargetARN: aws.ToString(t.Arn), Input: input, Time: e.r.world.Clock.Now()}
			if err != nil {
				d.Err = err.Error()
			}
			e.mu.Lock()
			e.deliveries = append(e.deliveries, d)
			e.mu.Unlock()
		})
	}
}

// Deliveries returns the deliveries to targets so far, oldest first,
// without counting an API call.
func (e *EventBridge) Deliveries() []EventDelivery {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]EventDelivery(nil), e.deliveries...)
}

// ebTargetInput is what a target receives: Input as it is, the InputPath's
// value, the InputTransformer's rendering, or else the whole event.
func ebTargetInput(t ebtypes.Target, rule *ebRule, ev ebEvent) (string, error) {
	switch {
	case t.Input != nil:
		return *t.Input, nil
	case t.InputPath != nil:
		v, ok := ebPath(map[string]any(ev.decoded), *t.InputPath)
		if !ok {
			return "null", nil
		}
		b, _ := json.Marshal(v)
		return string(b), nil
	case t.InputTransformer != nil:
		values := map[string]any{
			"aws.events.rule-arn": rule.arn, "aws.events.rule-name": rule.name,
			"aws.events.event.ingestion-time": ev.at.UTC().Format("2006-01-02T15:04:05.000Z"),
			"aws.events.event.json":           json.RawMessage(ev.raw),
		}
		noDetail := make(map[string]any, len(ev.decoded))
		for k, v := range ev.decoded {
			if k != "detail" {
				noDetail[k] = v
			}
		}
		b, _ := json.Marshal(noDetail)
		values["aws.events.event"] = json.RawMessage(b)
		for k, p := range t.InputTransformer.InputPathsMap {
			v, ok := ebPath(map[string]any(ev.decoded), p)
			if !ok {
				values[k] = ebMissing{}
				continue
			}
			values[k] = v
		}
		return ebRenderTemplate(aws.ToString(t.InputTransformer.InputTemplate), values), nil
	}
	return string(ev.raw), nil
}

// deliverTarget invokes a target ARN with an input, as EventBridge and
// Scheduler do for their templated targets: a Lambda function
// asynchronously, a state machine through the starter hook with the role,
// a queue or topic through the world's sinks. as names the acting service
// and the target's role (as.Role); the region and operation are set here.
func (r *Region) deliverTarget(as serviceCall, arn, input string) error {
	f := strings.Split(arn, ":")
	if len(f) < 6 {
		return fmt.Errorf("target %s is not an ARN", arn)
	}
	switch f[2] {
	case "lambda":
		// EventBridge invokes a function as itself, authorized by the
		// function's resource-based policy (the AWS::Lambda::Permission
		// naming events.amazonaws.com and the rule's ARN), not by a role
		// ("Using resource-based policies for Amazon EventBridge"). The
		// simulator does not model resource policies yet, so a rule's
		// Lambda target is not authorized. Scheduler invokes it as the
		// schedule's role, which needs lambda:InvokeFunction ("Set up the
		// execution role", EventBridge Scheduler User Guide).
		if err := r.authorizeTargetRole(as, f[3], "Invoke", "lambda:InvokeFunction", arn); err != nil {
			return err
		}
		l := r.world.Region(f[3]).Lambda()
		name, err := l.functionName(arn, "")
		if err == nil {
			l.mu.Lock()
			_, err = l.function(name, "")
			l.mu.Unlock()
		}
		if err != nil {
			return err
		}
		l.invokeAsync(name, []byte(input))
		return nil
	case "states":
		h := r.hooks()
		h.mu.Lock()
		start := h.startMachine
		h.mu.Unlock()
		if start == nil {
			return fmt.Errorf("no state machine starter for %s: the embedding program sets it with World.SetStateMachineStarter", arn)
		}
		// Both services start the execution as the target's role, which
		// needs states:StartExecution on the state machine
		// ("Permissions for targets", EventBridge User Guide; "Set up the
		// execution role", EventBridge Scheduler User Guide). A denial
		// fails the invocation, as AWS reports a failed invocation.
		as.Region, as.Operation = f[3], "StartExecution"
		if err := r.world.serviceAuthorize(as, iamCheck{action: "states:StartExecution", resource: arn}); err != nil {
			return err
		}
		_, err := start(context.Background(), as.Role, arn, input)
		return err
	case "sqs", "sns":
		// EventBridge sends to a topic under the topic's resource policy
		// (and the policy of the topic's KMS key: see
		// authorizeEventsToTopic), to a queue under the queue's (not
		// modelled); Scheduler as the schedule's role, which needs
		// sqs:SendMessage or sns:Publish.
		op, action := "SendMessage", "sqs:SendMessage"
		if f[2] == "sns" {
			op, action = "Publish", "sns:Publish"
		}
		if err := r.authorizeTargetRole(as, f[3], op, action, arn); err != nil {
			return err
		}
		if f[2] == "sns" && as.Via == "events.amazonaws.com" {
			if err := r.authorizeEventsToTopic(as, f[3], arn); err != nil {
				return err
			}
		}
		if !r.world.deliver(f[3], arn, input) {
			return fmt.Errorf("target %s does not exist", arn)
		}
		return nil
	case "events":
		// An event bus in another region (or this one): the event goes on
		// that bus as it is, put as the target's role, which needs
		// events:PutEvents on the bus ("Sending and receiving events
		// between AWS Regions", EventBridge User Guide). Only default
		// buses of this account are modelled.
		bus := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/default", f[3], r.world.Account)
		if arn != bus {
			return fmt.Errorf("target %s: the simulator models only the default event bus of each region of account %s", arn, r.world.Account)
		}
		if as.Role == "" && r.world.IAMEnforced() {
			return fmt.Errorf("target %s: an event bus target needs a RoleArn", arn)
		}
		as.Region, as.Operation = f[3], "PutEvents"
		if err := r.world.serviceAuthorize(as, iamCheck{action: "events:PutEvents", resource: arn}); err != nil {
			return err
		}
		if r.world.Down(f[3]) {
			return fmt.Errorf("target %s: %s is unavailable", arn, f[3])
		}
		return r.world.Region(f[3]).EventBridge().routeForwarded([]byte(input))
	}
	return fmt.Errorf("target %s: the simulator delivers to Lambda, Step Functions, SQS, SNS and event buses only", arn)
}

// authorizeEventsToTopic authorizes EventBridge publishing to a topic on a
// rule's behalf: the topic's policy must allow events.amazonaws.com
// sns:Publish and, for a topic encrypted with a KMS key, the key's policy
// must allow it kms:GenerateDataKey and kms:Decrypt; the AWS managed key
// (alias/aws/sns) allows no service principal
// (https://repost.aws/knowledge-center/sns-not-getting-eventbridge-notification).
func (r *Region) authorizeEventsToTopic(as serviceCall, region, topicARN string) error {
	rc := resourceCall{Principal: as.Via, Region: region, Service: as.Service, Operation: "Publish",
		Context: map[string][]string{"aws:SourceAccount": {r.world.Account}}}
	if as.SourceARN != "" {
		rc.Context["aws:SourceArn"] = []string{as.SourceARN}
	}
	checks := []iamCheck{{action: "sns:Publish", resource: topicARN}}
	if key := r.world.Region(region).SNS().topicKMSKey(topicARN); key != "" {
		keyARN := key
		switch {
		case strings.HasPrefix(key, "arn:aws:kms:"):
		case strings.HasPrefix(key, "alias/"):
			keyARN = fmt.Sprintf("arn:aws:kms:%s:%s:%s", region, r.world.Account, key)
		default:
			keyARN = fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, r.world.Account, key)
		}
		checks = append(checks, iamCheck{action: "kms:GenerateDataKey", resource: keyARN}, iamCheck{action: "kms:Decrypt", resource: keyARN})
	}
	return r.world.resourceAuthorize(rc, checks...)
}

// authorizeTargetRole authorizes what a Scheduler schedule's role does to
// invoke a Lambda, SQS or SNS target. EventBridge reaches those targets
// under their resource policies, which the simulator does not model, so
// an EventBridge delivery is not checked here.
func (r *Region) authorizeTargetRole(as serviceCall, region, op, action, arn string) error {
	if as.Via != "scheduler.amazonaws.com" {
		return nil
	}
	as.Region, as.Operation = region, op
	return r.world.serviceAuthorize(as, iamCheck{action: action, resource: arn})
}

// alarmStateChanged puts a CloudWatch alarm's state change on the bus as
// the event CloudWatch sends
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html).
func (e *EventBridge) alarmStateChanged(ctx context.Context, ch AlarmStateChange) {
	const ts = "2006-01-02T15:04:05.000-0700"
	c := e.r.CloudWatch()
	c.mu.Lock()
	var config map[string]any
	var created time.Time
	if a, ok := c.alarms[ch.AlarmName]; ok {
		config = cwAlarmConfiguration(a.a)
		created = aws.ToTime(a.a.AlarmConfigurationUpdatedTimestamp)
	}
	c.mu.Unlock()
	e.mu.Lock()
	prev, ok := e.alarms[ch.AlarmARN]
	if !ok {
		prev = ebAlarmState{reason: "Unchecked: Initial alarm creation", at: created}
	}
	e.alarms[ch.AlarmARN] = ebAlarmState{reason: ch.Reason, at: ch.Time}
	e.mu.Unlock()
	detail := map[string]any{
		"alarmName":     ch.AlarmName,
		"state":         map[string]any{"value": string(ch.Current), "reason": ch.Reason, "timestamp": ch.Time.UTC().Format(ts)},
		"previousState": map[string]any{"value": string(ch.Previous), "reason": prev.reason, "timestamp": prev.at.UTC().Format(ts)},
	}
	if config != nil {
		detail["configuration"] = config
	}
	b, _ := json.Marshal(detail)
	e.route(e.newEvent("aws.cloudwatch", "CloudWatch Alarm State Change", []string{ch.AlarmARN}, b, ch.Time))
}

// cwAlarmConfiguration is the configuration member of an alarm state
// change event for a single-metric alarm.
func cwAlarmConfiguration(a cwtypes.MetricAlarm) map[string]any {
	dims := map[string]string{}
	for _, d := range a.Dimensions {
		dims[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	cfg := map[string]any{"metrics": []any{map[string]any{
		"id": "m1", "returnData": true,
		"metricStat": map[string]any{
			"metric": map[string]any{"namespace": aws.ToString(a.Namespace), "name": aws.ToString(a.MetricName), "dimensions": dims},
			"period": aws.ToInt32(a.Period), "stat": string(a.Statistic),
		},
	}}}
	if a.AlarmDescription != nil {
		cfg["description"] = *a.AlarmDescription
	}
	return cfg
}

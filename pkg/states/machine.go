package states

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/states/internal/jsonvalue"
	"github.com/pendulum-dr/pendulum/pkg/states/intrinsic"
	"github.com/pendulum-dr/pendulum/pkg/states/jsonpath"
)

// Machine is a parsed and validated state machine definition. It is
// immutable and safe to run in many executions at once.
type Machine struct {
	// Comment is the definition's top-level Comment.
	Comment string
	// TimeoutSeconds is the execution-level timeout; 0 means none.
	TimeoutSeconds int
	root           *graph
	def            []byte
}

// Definition returns the JSON document the Machine was parsed from.
func (m *Machine) Definition() []byte { return bytes.Clone(m.def) }

// StateNames returns the names of every state, nested ones included, sorted.
func (m *Machine) StateNames() []string {
	var names []string
	var walk func(g *graph)
	walk = func(g *graph) {
		for n, s := range g.states {
			names = append(names, n)
			for _, b := range s.branches {
				walk(b)
			}
			if s.processor != nil {
				walk(s.processor)
			}
		}
	}
	walk(m.root)
	sort.Strings(names)
	return names
}

// Problem is one thing wrong with a definition.
type Problem struct {
	// State is the name of the state at fault; empty for the top level.
	State string
	// Field is the field at fault, e.g. "Next" or "Retry[1].ErrorEquals".
	Field string
	// Message says what is wrong and what is expected.
	Message string
}

// String formats the problem for a person: `state "X": Field: message`.
func (p Problem) String() string {
	var b strings.Builder
	if p.State != "" {
		fmt.Fprintf(&b, "state %q: ", p.State)
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError is the error Parse returns for an invalid definition; it
// lists every problem found, not just the first.
type ValidationError struct {
	Problems []Problem
}

// Error lists the problems, one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "invalid state machine definition:\n  " + strings.Join(lines, "\n  ")
}

// Parse parses and validates an Amazon States Language definition (JSONPath
// query language). An invalid definition yields a *ValidationError listing
// every problem.
func Parse(def []byte) (*Machine, error) {
	m, problems := parse(def)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return m, nil
}

// Validate returns every problem in the definition; none means it is valid.
func Validate(def []byte) []Problem {
	_, problems := parse(def)
	return problems
}

// graph is a StartAt plus States: the top level, a Parallel branch or a Map
// item processor.
type graph struct {
	startAt string
	start   *state
	states  map[string]*state
}

// valuePath is a compiled path that reads either the effective input ("$…")
// or the context object ("$$…").
type valuePath struct {
	p   *jsonpath.Path
	ctx bool
	src string
	// item is set for "$$.Map.Item.Value", "$$.Map.Item.Index" and paths
	// into the value ("$$.Map.Item.Value.Key"), which an ItemSelector reads
	// once per item: they are answered from the iteration itself without
	// building the whole context object. inValue is such a path's part
	// after "$$.Map.Item.Value", as a path of the value ("$.Key").
	item    itemField
	inValue *jsonpath.Path
}

type itemField uint8

const (
	itemNone itemField = iota
	itemValue
	itemIndex
	itemInValue
)

// ioPath is an InputPath or OutputPath: absent means "$", null means {}.
type ioPath struct {
	null bool
	path *valuePath // nil: "$"
}

// resultPath is a ResultPath: absent means "$", null discards the result.
type resultPath struct {
	null bool
	path *jsonpath.Path // nil: "$"
}

type state struct {
	name, typ string
	// enteredType and exitedType are the state's history event types.
	enteredType, exitedType string
	nextName                string
	next                    *state
	end                     bool

	inputPath, outputPath ioPath
	resultPath            resultPath
	parameters            *tmpl
	resultSelector        *tmpl
	result                any
	hasResult             bool

	// Task
	resource          *resource
	timeoutSeconds    int
	timeoutPath       *valuePath
	heartbeatSeconds  int
	heartbeatPath     *valuePath
	retry             []*retrier
	catch             []*catcher
	hasTimeoutSeconds bool

	// Choice
	choices     []*rule
	defaultName string
	deflt       *state

	// Wait
	seconds       int
	hasSeconds    bool
	secondsPath   *valuePath
	timestamp     time.Time
	hasTimestamp  bool
	timestampPath *valuePath

	// Fail
	errorName, cause string
	errorExpr        *expr
	causeExpr        *expr

	// Parallel
	branches []*graph

	// Map
	itemsPath      *valuePath
	itemSelector   *tmpl
	processor      *graph
	maxConcurrency int
	maxConcPath    *valuePath
	tolCount       int
	tolCountPath   *valuePath
	tolPercent     float64
	hasTolPercent  bool
	tolPercentPath *valuePath
	// dist is set for a Distributed Map (ProcessorConfig.Mode DISTRIBUTED).
	dist *distributed
}

type retrier struct {
	errorEquals []string
	interval    int
	maxAttempts int
	backoff     float64
	maxDelay    int
	jitter      string
}

type catcher struct {
	errorEquals []string
	resultPath  resultPath
	nextName    string
	next        *state
}

// expr is a string value computed at run time: a path or an intrinsic call.
type expr struct {
	path *valuePath
	call *intrinsic.Call
	src  string
}

// field sets per state type (JSONPath query language). Anything else is an
// error, as in the AWS validator.
var stateFields = map[string][]string{
	"Pass":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultPath", "Result"},
	"Task":     {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Resource", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds", "HeartbeatSecondsPath", "Credentials"},
	"Choice":   {"InputPath", "OutputPath", "Choices", "Default"},
	"Wait":     {"Next", "End", "InputPath", "OutputPath", "Seconds", "SecondsPath", "Timestamp", "TimestampPath"},
	"Succeed":  {"InputPath", "OutputPath"},
	"Fail":     {"Error", "ErrorPath", "Cause", "CausePath"},
	"Parallel": {"Next", "End", "InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Branches"},
	"Map":      {"Next", "End", "InputPath", "OutputPath", "Parameters", "ItemSelector", "ResultSelector", "ResultPath", "Retry", "Catch", "ItemsPath", "ItemProcessor", "Iterator", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailureCount", "ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "ItemReader", "ResultWriter", "ItemBatcher", "Label"},
}

// maxIntervalSeconds bounds IntervalSeconds and MaxDelaySeconds as AWS does.
const maxIntervalSeconds = 99999999

type parser struct {
	problems []Problem
	names    map[string]bool // every state name in the machine: AWS wants them unique
}

func (p *parser) add(state, field, format string, args ...any) {
	p.problems = append(p.problems, Problem{State: state, Field: field, Message: fmt.Sprintf(format, args...)})
}

// decode parses one JSON document (definitions, execution input, task
// results) into the values a UseNumber decoder produces. jsonvalue.Parse
// takes every ordinary document; whatever it declines, invalid JSON
// included, goes to encoding/json, which keeps the values and the error
// messages (they reach causes and API errors) exactly as they were.
func decode(def []byte) (any, error) {
	if v, ok := jsonvalue.Parse(def); ok {
		return v, nil
	}
	return decodeStd(def)
}

// decodeCompact is decode, and also returns the document itself when it is
// already what marshal writes for the value (compact, keys sorted, nothing
// to escape), "" when that is not known: a task result usually is, and its
// history event then needs no second encoding.
func decodeCompact(b []byte) (any, string, error) {
	if v, text, canonical, ok := jsonvalue.ParseCanonical(b); ok {
		if !canonical {
			text = ""
		}
		return v, text, nil
	}
	v, err := decodeStd(b)
	return v, "", err
}

// decodeStd is decode with encoding/json only.
func decodeStd(def []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(def))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the top-level value")
	}
	return v, nil
}

func parse(def []byte) (*Machine, []Problem) {
	p := &parser{names: map[string]bool{}}
	v, err := decode(def)
	if err != nil {
		return nil, []Problem{{Message: "not valid JSON: " + err.Error()}}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, []Problem{{Message: "the definition must be a JSON object"}}
	}
	m := &Machine{def: bytes.Clone(def)}
	for k, val := range top {
		switch k {
		case "Comment":
			if s, ok := val.(string); ok {
				m.Comment = s
			} else {
				p.add("", k, "must be a string")
			}
		case "Version":
			if val != "1.0" {
				p.add("", k, `must be "1.0"`)
			}
		case "QueryLanguage":
			if val != "JSONPath" {
				p.add("", k, `only "JSONPath" is supported (JSONata is not)`)
			}
		case "TimeoutSeconds":
			n, ok := intValue(val)
			if !ok || n <= 0 {
				p.add("", k, "must be a positive integer")
			}
			m.TimeoutSeconds = n
		case "StartAt", "States":
		default:
			p.add("", k, "unknown top-level field")
		}
	}
	m.root = p.graph("", top)
	if len(p.problems) > 0 {
		sortProblems(p.problems)
		return nil, p.problems
	}
	return m, nil
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].State != ps[j].State {
			return ps[i].State < ps[j].State
		}
		return ps[i].Field < ps[j].Field
	})
}

// graph parses StartAt and States of obj; owner names the enclosing state
// for messages (empty at the top level).
func (p *parser) graph(owner string, obj map[string]any) *graph {
	g := &graph{states: map[string]*state{}}
	prefix := ""
	if owner != "" {
		prefix = owner + "."
	}
	startAt, ok := obj["StartAt"].(string)
	if !ok || startAt == "" {
		p.add(owner, prefix+"StartAt", "missing, empty or not a string")
	}
	g.startAt = startAt
	raw, ok := obj["States"].(map[string]any)
	if !ok || len(raw) == 0 {
		p.add(owner, prefix+"States", "missing, empty or not an object")
		return g
	}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if p.names[n] {
			p.add(n, "", "state name used more than once in the state machine (Step Functions requires unique names, nested states included)")
		}
		p.names[n] = true
		if len(n) == 0 || len(n) > 80 {
			p.add(n, "", "state names must be 1 to 80 characters long")
		}
		so, ok := raw[n].(map[string]any)
		if !ok {
			p.add(n, "", "state must be a JSON object")
			continue
		}
		g.states[n] = p.state(n, so)
	}
	if startAt != "" {
		g.start = g.states[startAt]
		if g.start == nil {
			p.add(owner, prefix+"StartAt", "%q is not a state in this scope%s", startAt, suggest(startAt, names))
		}
	}
	p.link(g, names)
	return g
}

// link resolves Next/Default/Catch targets within g and checks reachability
// and termination.
func (p *parser) link(g *graph, names []string) {
	broken := false // an unknown target already explains a dead end
	resolve := func(from, field, target string) *state {
		s := g.states[target]
		if s == nil {
			broken = true
			p.add(from, field, "%q is not a state in this scope%s", target, suggest(target, names))
		}
		return s
	}
	for _, n := range names {
		s := g.states[n]
		if s == nil {
			continue
		}
		if s.nextName != "" {
			s.next = resolve(n, "Next", s.nextName)
		}
		if s.defaultName != "" {
			s.deflt = resolve(n, "Default", s.defaultName)
		}
		for i, r := range s.choices {
			if r.nextName != "" {
				r.next = resolve(n, fmt.Sprintf("Choices[%d].Next", i), r.nextName)
			}
		}
		for i, c := range s.catch {
			if c.nextName != "" {
				c.next = resolve(n, fmt.Sprintf("Catch[%d].Next", i), c.nextName)
			}
		}
	}
	if g.start == nil {
		return
	}
	// Reachability from StartAt.
	seen := map[*state]bool{}
	stack := []*state{g.start}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if s == nil || seen[s] {
			continue
		}
		seen[s] = true
		stack = append(stack, successors(s)...)
	}
	terminal := false
	for _, n := range names {
		s := g.states[n]
		if s == nil {
			continue
		}
		if !seen[s] {
			p.add(n, "", "unreachable: no path from StartAt %q leads here", g.startAt)
		}
		if s.terminal() {
			terminal = true
		}
	}
	if !terminal {
		p.add(g.startAt, "", "no terminal state in this scope: add a Succeed or Fail state, or \"End\": true")
		return
	}
	// Every reachable state must be able to reach a terminal state: walk
	// the transitions backwards from the terminal states.
	preds := map[*state][]*state{}
	var queue []*state
	for _, s := range g.states {
		for _, t := range successors(s) {
			preds[t] = append(preds[t], s)
		}
		if s.terminal() {
			queue = append(queue, s)
		}
	}
	canEnd := map[*state]bool{}
	for _, s := range queue {
		canEnd[s] = true
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, p := range preds[s] {
			if !canEnd[p] {
				canEnd[p] = true
				queue = append(queue, p)
			}
		}
	}
	for _, n := range names {
		if s := g.states[n]; s != nil && seen[s] && !canEnd[s] && !broken {
			p.add(n, "", "no path from here reaches a terminal state (endless loop)")
		}
	}
}

func (s *state) terminal() bool {
	return s.end || s.typ == "Succeed" || s.typ == "Fail"
}

func successors(s *state) []*state {
	var out []*state
	if s.next != nil {
		out = append(out, s.next)
	}
	if s.deflt != nil {
		out = append(out, s.deflt)
	}
	for _, r := range s.choices {
		if r.next != nil {
			out = append(out, r.next)
		}
	}
	for _, c := range s.catch {
		if c.next != nil {
			out = append(out, c.next)
		}
	}
	return out
}

// suggest names a close match for a mistyped state name.
func suggest(name string, names []string) string {
	best, bestD := "", 4
	for _, n := range names {
		if d := editDistance(strings.ToLower(name), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func intValue(v any) (int, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil || i > 1<<31 || i < -(1<<31) {
			return 0, false
		}
		return int(i), true
	case float64:
		if n != float64(int(n)) {
			return 0, false
		}
		return int(n), true
	case int:
		return n, true
	}
	return 0, false
}

func floatValue(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	}
	return 0, false
}

func has(o map[string]any, k string) bool { _, ok := o[k]; return ok }

func (p *parser) state(name string, o map[string]any) *state {
	s := &state{name: name}
	typ, _ := o["Type"].(string)
	s.typ = typ
	s.enteredType, s.exitedType = typ+"StateEntered", typ+"StateExited"
	allowed, ok := stateFields[typ]
	if !ok {
		p.add(name, "Type", "must be one of Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map (got %v)", jsonText(o["Type"]))
		return s
	}
	for k := range o {
		if k == "Type" || k == "Comment" || k == "QueryLanguage" {
			continue
		}
		known := false
		for _, a := range allowed {
			if a == k {
				known = true
			}
		}
		if !known {
			switch k {
			case "Assign", "Arguments", "Output", "Items":
				p.add(name, k, "not supported by this engine (variables and JSONata fields)")
			default:
				p.add(name, k, "field not allowed in a %s state", typ)
			}
		}
	}
	if c, ok := o["Comment"]; ok {
		if _, ok := c.(string); !ok {
			p.add(name, "Comment", "must be a string")
		}
	}
	if ql, ok := o["QueryLanguage"]; ok && ql != "JSONPath" {
		p.add(name, "QueryLanguage", `only "JSONPath" is supported`)
	}

	// Next / End.
	if slicesContains(allowed, "Next") {
		next, hasNext := o["Next"]
		end, hasEnd := o["End"]
		if hasNext {
			if n, ok := next.(string); ok && n != "" {
				s.nextName = n
			} else {
				p.add(name, "Next", "must be a non-empty string")
			}
		}
		if hasEnd {
			if b, ok := end.(bool); ok {
				s.end = b
			} else {
				p.add(name, "End", "must be a boolean")
			}
		}
		switch {
		case hasNext && s.end:
			p.add(name, "", `has both "Next" and "End": true; keep exactly one`)
		case !hasNext && !s.end:
			p.add(name, "", `needs either "Next" or "End": true`)
		}
	}

	if has(o, "InputPath") {
		s.inputPath = p.ioPath(name, "InputPath", o["InputPath"])
	}
	if has(o, "OutputPath") {
		s.outputPath = p.ioPath(name, "OutputPath", o["OutputPath"])
	}
	if has(o, "ResultPath") {
		s.resultPath = p.resultPath(name, "ResultPath", o["ResultPath"])
	}
	if v, ok := o["Parameters"]; ok && typ != "Map" {
		s.parameters = p.template(name, "Parameters", v)
	}
	if v, ok := o["ResultSelector"]; ok {
		if _, isObj := v.(map[string]any); !isObj {
			p.add(name, "ResultSelector", "must be a JSON object")
		}
		s.resultSelector = p.template(name, "ResultSelector", v)
	}
	if v, ok := o["Retry"]; ok {
		s.retry = p.retriers(name, v)
	}
	if v, ok := o["Catch"]; ok {
		s.catch = p.catchers(name, v)
	}

	switch typ {
	case "Pass":
		if v, ok := o["Result"]; ok {
			s.result, s.hasResult = v, true
		}
	case "Task":
		p.task(s, o)
	case "Choice":
		p.choice(s, o)
	case "Wait":
		p.wait(s, o)
	case "Fail":
		p.failState(s, o)
	case "Parallel":
		br, ok := o["Branches"].([]any)
		if !ok || len(br) == 0 {
			p.add(name, "Branches", "must be a non-empty array of {StartAt, States}")
		}
		for i, b := range br {
			bo, ok := b.(map[string]any)
			if !ok {
				p.add(name, fmt.Sprintf("Branches[%d]", i), "must be an object with StartAt and States")
				continue
			}
			for k := range bo {
				if k != "StartAt" && k != "States" && k != "Comment" && k != "QueryLanguage" {
					p.add(name, fmt.Sprintf("Branches[%d].%s", i, k), "unknown field")
				}
			}
			s.branches = append(s.branches, p.graph(name, bo))
		}
	case "Map":
		p.mapState(s, o)
	}
	return s
}

func slicesContains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// path compiles a "$…" or "$$…" path; reference demands a Reference Path.
func (p *parser) path(stateName, field string, v any, reference, allowCtx bool) *valuePath {
	str, ok := v.(string)
	if !ok {
		p.add(stateName, field, "must be a JSONPath string starting with \"$\"")
		return nil
	}
	vp, err := compileValuePath(str)
	if err != nil {
		p.add(stateName, field, "bad JSONPath %q: %v", str, err)
		return nil
	}
	if vp.ctx && !allowCtx {
		p.add(stateName, field, "context object paths ($$) are not allowed here")
		return nil
	}
	if reference && !vp.p.IsReference() {
		p.add(stateName, field, "%q must be a Reference Path (only .name, ['name'] and [n] steps)", str)
		return nil
	}
	return vp
}

func compileValuePath(s string) (*valuePath, error) {
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("must start with \"$\"")
	}
	vp := &valuePath{src: s}
	expr := s
	if strings.HasPrefix(s, "$$") {
		vp.ctx = true
		expr = s[1:]
	}
	pp, err := jsonpath.Compile(expr)
	if err != nil {
		return nil, err
	}
	vp.p = pp
	const value = "$$.Map.Item.Value"
	switch {
	case s == value:
		vp.item = itemValue
	case s == "$$.Map.Item.Index":
		vp.item = itemIndex
	case strings.HasPrefix(s, value) && (s[len(value)] == '.' || s[len(value)] == '['):
		if in, err := jsonpath.Compile("$" + s[len(value):]); err == nil {
			vp.item, vp.inValue = itemInValue, in
		}
	}
	return vp, nil
}

func (p *parser) ioPath(stateName, field string, v any) ioPath {
	if v == nil {
		return ioPath{null: true}
	}
	vp := p.path(stateName, field, v, false, true)
	if vp != nil && vp.src == "$" {
		return ioPath{}
	}
	return ioPath{path: vp}
}

func (p *parser) resultPath(stateName, field string, v any) resultPath {
	if v == nil {
		return resultPath{null: true}
	}
	vp := p.path(stateName, field, v, true, false)
	if vp == nil || vp.src == "$" {
		return resultPath{}
	}
	return resultPath{path: vp.p}
}

// errorEquals checks an ErrorEquals list: non-empty strings, States.ALL alone.
func (p *parser) errorEquals(stateName, field string, v any) []string {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		p.add(stateName, field, "must be a non-empty array of error names")
		return nil
	}
	var out []string
	for _, e := range arr {
		s, ok := e.(string)
		if !ok || s == "" {
			p.add(stateName, field, "error names must be non-empty strings")
			continue
		}
		if isStatesName(s) && !predefined(s) {
			p.add(stateName, field, "%q is not a predefined States.* error name", s)
		}
		out = append(out, s)
	}
	if slicesContains(out, ErrorAll) && len(out) > 1 {
		p.add(stateName, field, "States.ALL must appear alone in ErrorEquals")
	}
	return out
}

func (p *parser) retriers(name string, v any) []*retrier {
	arr, ok := v.([]any)
	if !ok {
		p.add(name, "Retry", "must be an array of retriers")
		return nil
	}
	var out []*retrier
	for i, e := range arr {
		f := fmt.Sprintf("Retry[%d]", i)
		o, ok := e.(map[string]any)
		if !ok {
			p.add(name, f, "must be an object")
			continue
		}
		r := &retrier{interval: 1, maxAttempts: 3, backoff: 2, jitter: "NONE"}
		r.errorEquals = p.errorEquals(name, f+".ErrorEquals", o["ErrorEquals"])
		if slicesContains(r.errorEquals, ErrorAll) && i != len(arr)-1 {
			p.add(name, f, "a retrier with States.ALL must be the last retrier")
		}
		for k, val := range o {
			switch k {
			case "ErrorEquals", "Comment":
			case "IntervalSeconds":
				n, ok := intValue(val)
				if !ok || n < 1 || n > maxIntervalSeconds {
					p.add(name, f+"."+k, "must be an integer from 1 to %d", maxIntervalSeconds)
				}
				r.interval = n
			case "MaxAttempts":
				n, ok := intValue(val)
				if !ok || n < 0 || n > maxIntervalSeconds {
					p.add(name, f+"."+k, "must be a non-negative integer")
				}
				r.maxAttempts = n
			case "BackoffRate":
				x, ok := floatValue(val)
				if !ok || x < 1 {
					p.add(name, f+"."+k, "must be a number >= 1.0")
				}
				r.backoff = x
			case "MaxDelaySeconds":
				n, ok := intValue(val)
				if !ok || n < 1 || n > maxIntervalSeconds {
					p.add(name, f+"."+k, "must be an integer from 1 to %d", maxIntervalSeconds)
				}
				r.maxDelay = n
			case "JitterStrategy":
				if val != "FULL" && val != "NONE" {
					p.add(name, f+"."+k, `must be "FULL" or "NONE"`)
				} else {
					r.jitter = val.(string)
				}
			default:
				p.add(name, f+"."+k, "unknown retrier field")
			}
		}
		out = append(out, r)
	}
	return out
}

func (p *parser) catchers(name string, v any) []*catcher {
	arr, ok := v.([]any)
	if !ok {
		p.add(name, "Catch", "must be an array of catchers")
		return nil
	}
	var out []*catcher
	for i, e := range arr {
		f := fmt.Sprintf("Catch[%d]", i)
		o, ok := e.(map[string]any)
		if !ok {
			p.add(name, f, "must be an object")
			continue
		}
		c := &catcher{}
		c.errorEquals = p.errorEquals(name, f+".ErrorEquals", o["ErrorEquals"])
		if slicesContains(c.errorEquals, ErrorAll) && i != len(arr)-1 {
			p.add(name, f, "a catcher with States.ALL must be the last catcher")
		}
		for k, val := range o {
			switch k {
			case "ErrorEquals", "Comment":
			case "Next":
				if s, ok := val.(string); ok && s != "" {
					c.nextName = s
				} else {
					p.add(name, f+".Next", "must be a non-empty string")
				}
			case "ResultPath":
				c.resultPath = p.resultPath(name, f+".ResultPath", val)
			default:
				p.add(name, f+"."+k, "unknown catcher field")
			}
		}
		if !has(o, "Next") {
			p.add(name, f, `needs "Next"`)
		}
		out = append(out, c)
	}
	return out
}

// positive reads an optional positive integer field and its …Path twin.
func (p *parser) intOrPath(s *state, o map[string]any, field string, min int) (int, bool, *valuePath) {
	v, hasV := o[field]
	pv, hasP := o[field+"Path"]
	if hasV && hasP {
		p.add(s.name, field, "%s and %sPath are mutually exclusive", field, field)
	}
	var n int
	if hasV {
		var ok bool
		n, ok = intValue(v)
		if !ok || n < min {
			p.add(s.name, field, "must be an integer >= %d", min)
		}
	}
	var vp *valuePath
	if hasP {
		vp = p.path(s.name, field+"Path", pv, true, true)
	}
	return n, hasV, vp
}

func (p *parser) task(s *state, o map[string]any) {
	res, ok := o["Resource"].(string)
	switch {
	case !ok || res == "":
		p.add(s.name, "Resource", "must be a non-empty string (an ARN)")
	case !strings.HasPrefix(res, "arn:") && !strings.Contains(res, "${"):
		p.add(s.name, "Resource", "%q is not an ARN (arn:aws:states:::lambda:invoke, arn:aws:lambda:…:function:name, …) nor a ${Placeholder}", res)
		s.resource = parseResource(res)
	default:
		s.resource = parseResource(res)
	}
	s.timeoutSeconds, s.hasTimeoutSeconds, s.timeoutPath = p.intOrPath(s, o, "TimeoutSeconds", 1)
	var hasHB bool
	s.heartbeatSeconds, hasHB, s.heartbeatPath = p.intOrPath(s, o, "HeartbeatSeconds", 1)
	if hasHB && s.hasTimeoutSeconds && s.heartbeatSeconds >= s.timeoutSeconds {
		p.add(s.name, "HeartbeatSeconds", "must be smaller than TimeoutSeconds (%d)", s.timeoutSeconds)
	}
	if c, ok := o["Credentials"]; ok {
		if _, ok := c.(map[string]any); !ok {
			p.add(s.name, "Credentials", "must be an object")
		}
	}
}

func (p *parser) wait(s *state, o map[string]any) {
	n := 0
	for _, k := range []string{"Seconds", "SecondsPath", "Timestamp", "TimestampPath"} {
		if has(o, k) {
			n++
		}
	}
	if n != 1 {
		p.add(s.name, "", "needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath")
	}
	if v, ok := o["Seconds"]; ok {
		x, ok := intValue(v)
		if !ok || x < 0 || x > maxIntervalSeconds {
			p.add(s.name, "Seconds", "must be an integer from 0 to %d", maxIntervalSeconds)
		}
		s.seconds, s.hasSeconds = x, true
	}
	if v, ok := o["Timestamp"]; ok {
		str, _ := v.(string)
		t, err := parseTimestamp(str)
		if err != nil {
			p.add(s.name, "Timestamp", "must be an RFC 3339 timestamp such as 2026-03-14T01:59:00Z (got %s)", jsonText(v))
		}
		s.timestamp, s.hasTimestamp = t, true
	}
	if v, ok := o["SecondsPath"]; ok {
		s.secondsPath = p.path(s.name, "SecondsPath", v, true, true)
	}
	if v, ok := o["TimestampPath"]; ok {
		s.timestampPath = p.path(s.name, "TimestampPath", v, true, true)
	}
}

func (p *parser) failState(s *state, o map[string]any) {
	pair := func(field string, lit *string, ex **expr) {
		v, hasV := o[field]
		pv, hasP := o[field+"Path"]
		if hasV && hasP {
			p.add(s.name, field, "%s and %sPath are mutually exclusive", field, field)
		}
		if hasV {
			str, ok := v.(string)
			if !ok {
				p.add(s.name, field, "must be a string")
			}
			*lit = str
		}
		if hasP {
			*ex = p.expr(s.name, field+"Path", pv)
		}
	}
	pair("Error", &s.errorName, &s.errorExpr)
	pair("Cause", &s.cause, &s.causeExpr)
}

// expr parses a value that is a path or an intrinsic function call.
func (p *parser) expr(stateName, field string, v any) *expr {
	str, ok := v.(string)
	if !ok {
		p.add(stateName, field, "must be a string: a JSONPath or an intrinsic function")
		return nil
	}
	if strings.HasPrefix(str, "States.") {
		c, err := intrinsic.Parse(str)
		if err != nil {
			p.add(stateName, field, "malformed intrinsic function %q: %v", str, err)
			return nil
		}
		return &expr{call: c, src: str}
	}
	vp := p.path(stateName, field, str, false, true)
	if vp == nil {
		return nil
	}
	return &expr{path: vp, src: str}
}

func (p *parser) mapState(s *state, o map[string]any) {
	if v, ok := o["ItemsPath"]; ok {
		s.itemsPath = p.path(s.name, "ItemsPath", v, true, true)
	}
	_, hasSel := o["ItemSelector"]
	_, hasParams := o["Parameters"]
	switch {
	case hasSel && hasParams:
		p.add(s.name, "Parameters", "ItemSelector and the legacy Parameters are mutually exclusive")
	case hasSel:
		s.itemSelector = p.template(s.name, "ItemSelector", o["ItemSelector"])
	case hasParams:
		s.itemSelector = p.template(s.name, "Parameters", o["Parameters"])
	}
	proc, hasProc := o["ItemProcessor"]
	it, hasIt := o["Iterator"]
	field := "ItemProcessor"
	switch {
	case hasProc && hasIt:
		p.add(s.name, "Iterator", "ItemProcessor and the legacy Iterator are mutually exclusive")
	case hasIt:
		proc, field = it, "Iterator"
	case !hasProc:
		p.add(s.name, "ItemProcessor", "missing: a Map state needs ItemProcessor {StartAt, States}")
	}
	mode, execType := "INLINE", ""
	if po, ok := proc.(map[string]any); ok {
		for k, v := range po {
			switch k {
			case "StartAt", "States", "Comment", "QueryLanguage":
			case "ProcessorConfig":
				pc, ok := v.(map[string]any)
				if !ok {
					p.add(s.name, field+".ProcessorConfig", "must be an object")
					break
				}
				for ck, cv := range pc {
					switch ck {
					case "Mode":
						if cv != "INLINE" && cv != "DISTRIBUTED" {
							p.add(s.name, field+".ProcessorConfig.Mode", `must be "INLINE" or "DISTRIBUTED"`)
						} else {
							mode = cv.(string)
						}
					case "ExecutionType":
						if cv != TypeStandard && cv != TypeExpress {
							p.add(s.name, field+".ProcessorConfig.ExecutionType", `must be "STANDARD" or "EXPRESS"`)
						} else {
							execType = cv.(string)
						}
					default:
						p.add(s.name, field+".ProcessorConfig."+ck, "unknown field")
					}
				}
			default:
				p.add(s.name, field+"."+k, "unknown field")
			}
		}
		s.processor = p.graph(s.name, po)
	} else if hasProc || hasIt {
		p.add(s.name, field, "must be an object with StartAt and States")
	}
	p.distributedFields(s, o, field, mode, execType)
	s.maxConcurrency, _, s.maxConcPath = p.intOrPath(s, o, "MaxConcurrency", 0)
	s.tolCount, _, s.tolCountPath = p.intOrPath(s, o, "ToleratedFailureCount", 0)
	if v, ok := o["ToleratedFailurePercentage"]; ok {
		x, ok := floatValue(v)
		if !ok || x < 0 || x > 100 {
			p.add(s.name, "ToleratedFailurePercentage", "must be a number from 0 to 100")
		}
		s.tolPercent, s.hasTolPercent = x, true
		if has(o, "ToleratedFailurePercentagePath") {
			p.add(s.name, "ToleratedFailurePercentage", "ToleratedFailurePercentage and ToleratedFailurePercentagePath are mutually exclusive")
		}
	}
	if v, ok := o["ToleratedFailurePercentagePath"]; ok {
		s.tolPercentPath = p.path(s.name, "ToleratedFailurePercentagePath", v, true, true)
	}
}

// States returns the Type of every state by name, nested states included.
func (m *Machine) States() map[string]string {
	out := map[string]string{}
	var walk func(g *graph)
	walk = func(g *graph) {
		for n, s := range g.states {
			out[n] = s.typ
			for _, b := range s.branches {
				walk(b)
			}
			if s.processor != nil {
				walk(s.processor)
			}
		}
	}
	walk(m.root)
	return out
}

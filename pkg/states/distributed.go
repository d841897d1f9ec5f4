package states

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A Distributed Map runs each item, or each batch of items, as a child
// workflow execution of its own: its own history (and, for a STANDARD child,
// its own 25,000-event limit), its own ARN under the Map Run. The parent's
// history records the Map Run (MapRunStarted, MapRunSucceeded, MapRunFailed,
// MapRunAborted), not the children's events. A child is not kept by the
// engine once it ends: only its outcome is, so a Map Run over many items
// holds the histories of the children running at the moment, no more. See
// docs/aws-facts.md "Step Functions Distributed Map".

// expressChildLimit is how long an Express child workflow execution may run:
// the five minutes of any Express workflow.
const expressChildLimit = 5 * time.Minute

// Causes of the Map Run's own failures.
const (
	causeToleratedExceeded = "The specified tolerated failure threshold was exceeded"
)

// mapRun is one run of a Distributed Map state.
type mapRun struct {
	t   *thread
	s   *state
	d   *distributed
	sr  *stateRun
	eff any // the effective input, for ItemSelector and BatchInput
	arn string
	id  string // the Map Run ARN's last part, the ResultWriter's folder
	// childMachineARN is the children's state machine ARN: the parent's,
	// "/" and the label.
	childMachineARN string

	// The source of the children's inputs, taken in order under mu.
	mu         sync.Mutex
	items      []any
	next       int // the next item to put in a child's input
	seq        int // the next child's index
	maxItems   int // per child: 1 without an ItemBatcher
	maxBytes   int // per child's input: 0 for no limit
	batchInput any
	batched    bool
	selectErr  *failure

	// The outcome, under mu.
	results  []any         // by child, without a ResultWriter
	records  []childRecord // by child, with a ResultWriter
	failed   int           // items in failed, timed-out or aborted children
	first    *failure      // what ended the Map Run early
	total    int
	tolCount int     // -1: no count threshold
	tolPct   float64 // -1: no percentage threshold
}

// childRecord is what the ResultWriter writes of one child workflow
// execution (or, for a child never started, only its input).
type childRecord struct {
	started           bool
	arn, name         string
	input, output     string
	status            Status
	errName, cause    string
	startDate, stopDa time.Time
}

// storeContext is the context the ObjectStore and Authorize get: the Map
// state's TaskInfo, the role the calls are made as.
func (t *thread) storeContext(ctx context.Context, s *state) context.Context {
	x := t.x
	return &infoContext{Context: ctx, info: TaskInfo{RoleARN: x.roleARN, StateMachineARN: x.machineARN, ExecutionARN: x.arn, StateName: s.name}}
}

func (t *thread) runDistributed(ctx context.Context, s *state, sr *stateRun, eff any) (any, *failure) {
	d := s.dist
	x := t.x
	e := x.eng
	env := t.env(sr, eff)
	sctx := t.storeContext(ctx, s)

	var items []any
	if d.reader != nil {
		var f *failure
		if items, f = t.readItems(sctx, d.reader, env); f != nil {
			return nil, f
		}
	} else {
		itemsV := eff
		if s.itemsPath != nil {
			v, err := s.itemsPath.get(env)
			if err != nil {
				return nil, fail(ErrorRuntime, fmt.Sprintf("Invalid path '%s': The ItemsPath field references a missing value", s.itemsPath.src))
			}
			itemsV = v
		}
		arr, ok := itemsV.([]any)
		if !ok {
			return nil, fail(ErrorRuntime, fmt.Sprintf("Invalid path '%s' : Expected an array, but found %s", pathSrc(s.itemsPath), compactJSON(itemsV)))
		}
		items = arr
	}

	run := &mapRun{t: t, s: s, d: d, sr: sr, eff: eff, items: append([]any(nil), items...), maxItems: 1, total: len(items), tolCount: -1, tolPct: -1}
	maxConc := s.maxConcurrency
	if s.maxConcPath != nil {
		n, f := intFromPath(env, s.maxConcPath, "MaxConcurrencyPath")
		if f != nil {
			return nil, f
		}
		maxConc = n
	}
	if maxConc <= 0 || maxConc > MaxDistributedConcurrency {
		maxConc = MaxDistributedConcurrency
	}
	if f := run.tolerance(env); f != nil {
		return nil, f
	}
	if f := run.batching(env); f != nil {
		return nil, f
	}

	label := d.label
	if label == "" {
		label = e.opts.UUID()
	}
	run.id = e.opts.UUID()
	run.arn = fmt.Sprintf("arn:aws:states:%s:%s:mapRun:%s/%s:%s", e.opts.Region, e.opts.AccountID, x.machineName, label, run.id)
	childMachineName := x.machineName + "/" + label
	childMachineARN := x.machineARN + "/" + label
	run.childMachineARN = childMachineARN
	run.results = make([]any, 0, run.estimateChildren())

	t.emit("MapStateStarted", &MapStateStartedEventDetails{Length: len(items)})
	t.emit("MapRunStarted", &MapRunStartedEventDetails{MapRunArn: run.arn})
	// Set until the Map Run ends here; left set when the run is aborted,
	// for the execution's closing events.
	atomic.StoreUint32(&sr.mapRun, 1)
	runFailed := func(f *failure) (any, *failure) {
		t.emit("MapRunFailed", &FailureEventDetails{Error: f.name, Cause: f.cause})
		atomic.StoreUint32(&sr.mapRun, 0)
		t.emit("MapStateFailed", nil)
		return nil, f
	}
	if a := e.opts.Authorize; a != nil {
		if err := a(sctx, "states:StartExecution", x.machineARN); err != nil {
			return runFailed(fail(ErrorPermissions, fmt.Sprintf("The Map Run cannot start its child workflow executions: %v", err)))
		}
	}

	workers := min(run.estimateChildren(), maxConc)
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	clk := e.clk
	kind := "execution"
	if d.executionType == TypeExpress {
		kind = "express"
	}
	runChild := func(seq, nItems int, name string, in any, inJSON string) {
		child := &Execution{
			eng: e, m: d.child, name: name, machineName: childMachineName, machineARN: childMachineARN,
			arn:     fmt.Sprintf("arn:aws:states:%s:%s:%s:%s:%s", e.opts.Region, e.opts.AccountID, kind, childMachineName, name),
			roleARN: x.roleARN, input: in, inputJSON: inJSON, start: clk.Now(),
			done: clk.NewSignal(), finish: clk.NewSignal(), maxEvents: e.opts.MaxHistoryEvents, child: true,
		}
		child.history.first = 8
		if d.executionType == TypeExpress {
			// Express workflows keep no Step Functions history, so they
			// have no event limit; they run for five minutes at most.
			child.maxEvents, child.timeout = -1, expressChildLimit
		}
		child.ctx, child.cancel = context.WithCancel(context.WithoutCancel(ctx))
		var r Result
		if max := e.opts.MaxPayloadBytes; max > 0 && len(inJSON) > max {
			r = Result{Status: StatusFailed, Error: ErrorDataLimitExceeded, StartDate: child.start, StopDate: child.start,
				Cause: fmt.Sprintf("The child workflow execution's input of %d bytes exceeds the limit of %d bytes", len(inJSON), max)}
		} else {
			child.launch()
			if err := clk.Await(mctx, child.done, 0); err != nil {
				child.Stop("", "")
				_ = clk.Await(context.Background(), child.done, 0)
			}
			r = child.Result()
		}
		run.finish(seq, nItems, child, r, cancel)
	}
	waits := make([]func() error, 0, workers)
	for range workers {
		sig := clk.Go(func() {
			for mctx.Err() == nil {
				seq, n, name, in, inJSON, ok := run.take()
				if !ok {
					return
				}
				runChild(seq, n, name, in, inJSON)
			}
		})
		waits = append(waits, func() error { return clk.Await(ctx, sig, 0) })
	}
	for _, w := range waits {
		if err := w(); err != nil {
			return nil, errAborted
		}
	}
	if ctx.Err() != nil {
		return nil, errAborted
	}
	run.mu.Lock()
	first := run.first
	if first == nil {
		first = run.selectErr
	}
	run.mu.Unlock()

	var out any
	if d.writer != nil {
		v, f := run.writeResults(sctx, env)
		if f != nil && first == nil {
			return runFailed(f)
		}
		out = v
	} else {
		out = run.results
	}
	if first != nil {
		return runFailed(first)
	}
	t.emit("MapRunSucceeded", nil)
	atomic.StoreUint32(&sr.mapRun, 0)
	t.emit("MapStateSucceeded", nil)
	return out, nil
}

// tolerance reads the tolerated failure threshold. Without one the
// threshold is zero: any failed item fails the Map Run.
func (run *mapRun) tolerance(env *evalEnv) *failure {
	s := run.s
	switch {
	case s.tolCountPath != nil:
		n, f := intFromPath(env, s.tolCountPath, "ToleratedFailureCountPath")
		if f != nil {
			return f
		}
		run.tolCount = n
	case s.tolCount > 0:
		run.tolCount = s.tolCount
	}
	switch {
	case s.tolPercentPath != nil:
		v, err := s.tolPercentPath.get(env)
		x, ok := floatValue(v)
		if err != nil || !ok || x < 0 || x > 100 {
			return fail(ErrorRuntime, fmt.Sprintf("The ToleratedFailurePercentagePath field references %s, which is not a number from 0 to 100", s.tolPercentPath.src))
		}
		run.tolPct = x
	case s.hasTolPercent:
		run.tolPct = s.tolPercent
	}
	if run.tolCount < 0 && run.tolPct < 0 {
		run.tolCount = 0
	}
	return nil
}

// exceeded reports whether the failed items pass the threshold; run.mu is
// held.
func (run *mapRun) exceeded() bool {
	if run.tolCount >= 0 && run.failed > run.tolCount {
		return true
	}
	return run.tolPct >= 0 && run.total > 0 && float64(run.failed)*100/float64(run.total) > run.tolPct
}

// batching reads the ItemBatcher's limits and evaluates its BatchInput.
func (run *mapRun) batching(env *evalEnv) *failure {
	b := run.d.batcher
	if b == nil {
		return nil
	}
	run.batched = true
	run.maxItems, run.maxBytes = b.maxItems, b.maxBytes
	if b.maxItemsPath != nil {
		v, err := b.maxItemsPath.get(env)
		n, ok := intValue(v)
		if err != nil || !ok || n < 1 {
			return fail(ErrorRuntime, fmt.Sprintf("The MaxItemsPerBatchPath field references %s, which is not an integer >= 1", b.maxItemsPath.src))
		}
		run.maxItems = n
	}
	if b.maxBytesPath != nil {
		v, err := b.maxBytesPath.get(env)
		n, ok := intValue(v)
		if err != nil || !ok || n < 1 || n > DefaultMaxPayloadBytes {
			return fail(ErrorRuntime, fmt.Sprintf("The MaxInputBytesPerBatchPath field references %s, which is not an integer from 1 to %d", b.maxBytesPath.src, DefaultMaxPayloadBytes))
		}
		run.maxBytes = n
	}
	if b.batchInput != nil {
		v, f := b.batchInput.eval(env)
		if f != nil {
			return f
		}
		run.batchInput = v
	}
	return nil
}

// estimateChildren is how many children the Map Run will start, at most.
func (run *mapRun) estimateChildren() int {
	n := len(run.items)
	if run.maxItems > 1 {
		n = (n + run.maxItems - 1) / run.maxItems
	}
	return n
}

// selected returns item i after the ItemSelector, which sees it as
// $$.Map.Item.Value and its index as $$.Map.Item.Index.
func (run *mapRun) selected(i int) (any, *failure) {
	v := run.items[run.next]
	if run.s.itemSelector == nil {
		return v, nil
	}
	a := &struct {
		it   thread
		item mapItem
		isr  stateRun
	}{item: mapItem{index: i, value: v}}
	a.it = thread{x: run.t.x, item: &a.item}
	a.isr = *run.sr
	a.isr.mapRun = 0
	return run.s.itemSelector.eval(a.it.env(&a.isr, run.eff))
}

// take returns the next child's index, item count, execution name and
// input, false when every item has been handed out (or the Map Run is
// ending). Items are released as they are handed out; names are given in
// the children's order, whichever worker runs them.
func (run *mapRun) take() (seq, n int, name string, in any, inJSON string, ok bool) {
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.next >= len(run.items) || run.first != nil || run.selectErr != nil {
		return 0, 0, "", nil, "", false
	}
	name = run.t.x.eng.opts.UUID()
	if !run.batched {
		v, f := run.selected(run.next)
		if f != nil {
			run.selectErr = f
			return 0, 0, "", nil, "", false
		}
		run.items[run.next] = nil
		run.next++
		seq = run.seq
		run.seq++
		return seq, 1, name, v, compactJSON(v), true
	}
	// A batch: {"BatchInput": …, "Items": […]}, as many items as the limits
	// allow; the size counted is that of the child's input as JSON.
	var batch []any
	var b []byte
	b = append(b, '{')
	if run.batchInput != nil {
		b = append(b, `"BatchInput":`...)
		b, _ = appendJSON(b, run.batchInput)
		b = append(b, ',')
	}
	b = append(b, `"Items":[`...)
	for run.next < len(run.items) && (run.maxItems <= 0 || len(batch) < run.maxItems) {
		v, f := run.selected(run.next)
		if f != nil {
			run.selectErr = f
			return 0, 0, "", nil, "", false
		}
		mark := len(b)
		if len(batch) > 0 {
			b = append(b, ',')
		}
		b, _ = appendJSON(b, v)
		if run.maxBytes > 0 && len(b)+2 > run.maxBytes {
			if len(batch) == 0 {
				run.selectErr = fail(ErrorRuntime, fmt.Sprintf("Item %d is too big for a batch: with it the batch's input is %d bytes, more than MaxInputBytesPerBatch (%d)", run.next, len(b)+2, run.maxBytes))
				return 0, 0, "", nil, "", false
			}
			b = b[:mark]
			break
		}
		batch = append(batch, v)
		run.items[run.next] = nil
		run.next++
	}
	b = append(b, "]}"...)
	input := map[string]any{"Items": batch}
	if run.batchInput != nil {
		input["BatchInput"] = run.batchInput
	}
	seq = run.seq
	run.seq++
	return seq, len(batch), name, input, string(b), true
}

// finish records a child's outcome and, past the tolerated failure
// threshold, ends the Map Run.
func (run *mapRun) finish(seq, nItems int, child *Execution, r Result, cancel func()) {
	var out any
	if r.Status == StatusSucceeded && run.d.writer == nil {
		v, err := decode(r.Output)
		if err != nil {
			v = string(r.Output)
		}
		out = v
	}
	rec := childRecord{started: true, arn: child.arn, name: child.name, input: child.inputJSON, status: r.Status,
		errName: r.Error, cause: r.Cause, startDate: r.StartDate, stopDa: r.StopDate}
	if r.Status == StatusSucceeded {
		rec.output = string(r.Output)
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	if run.d.writer != nil {
		for len(run.records) <= seq {
			run.records = append(run.records, childRecord{})
		}
		run.records[seq] = rec
	} else {
		for len(run.results) <= seq {
			run.results = append(run.results, nil)
		}
		if r.Status == StatusSucceeded {
			run.results[seq] = out
		} else {
			// A failed child's entry is its execution result as it is, as
			// the COMPACT transformation leaves failures.
			run.results[seq] = rec.value(child.machineARN)
		}
	}
	if r.Status == StatusSucceeded {
		return
	}
	run.failed += nItems
	if run.first == nil && run.exceeded() {
		run.first = fail(ErrorExceedToleratedFailureThreshold, causeToleratedExceeded)
		cancel()
	}
}

// value is the record as a result file (and a failed child's entry in the
// results) holds it.
func (c childRecord) value(machineARN string) map[string]any {
	v := map[string]any{
		"Input":        c.input,
		"InputDetails": map[string]any{"Included": true},
	}
	if !c.started {
		return v
	}
	v["ExecutionArn"] = c.arn
	v["Name"] = c.name
	v["StateMachineArn"] = machineARN
	v["Status"] = string(c.status)
	v["StartDate"] = formatTime(c.startDate)
	v["StopDate"] = formatTime(c.stopDa)
	if c.status == StatusSucceeded {
		v["Output"] = c.output
		v["OutputDetails"] = map[string]any{"Included": true}
	} else {
		if c.errName != "" {
			v["Error"] = c.errName
		}
		if c.cause != "" {
			v["Cause"] = c.cause
		}
	}
	return v
}

// writeResults writes the ResultWriter's files: <Prefix>/<Map Run id>/
// manifest.json and the SUCCEEDED_0.json, FAILED_0.json and PENDING_0.json
// result files that have entries. It returns the state's result.
func (run *mapRun) writeResults(ctx context.Context, env *evalEnv) (any, *failure) {
	store := run.t.x.eng.opts.ObjectStore
	pv, f := run.d.writer.eval(env)
	if f != nil {
		return nil, f
	}
	params, _ := pv.(map[string]any)
	bucket, _ := params["Bucket"].(string)
	prefix, okPrefix := params["Prefix"].(string)
	if bucket == "" {
		return nil, fail(ErrorResultWriterFailed, fmt.Sprintf("ResultWriter.Parameters.Bucket must be a non-empty string, got %s", compactJSON(params["Bucket"])))
	}
	if _, has := params["Prefix"]; has && !okPrefix {
		return nil, fail(ErrorResultWriterFailed, fmt.Sprintf("ResultWriter.Parameters.Prefix must be a string, got %s", compactJSON(params["Prefix"])))
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	dir := prefix + run.id + "/"
	if store == nil {
		return nil, fail(ErrorResultWriterFailed, fmt.Sprintf("cannot write s3://%s/%smanifest.json: the engine has no S3 (Options.ObjectStore; pendulum states run --s3 DIR)", bucket, dir))
	}
	machineARN := run.childMachineARN
	groups := map[string][]any{}
	run.mu.Lock()
	for _, rec := range run.records {
		switch {
		case !rec.started:
			// A child that lost its place in the records (none does): skip.
		case rec.status == StatusSucceeded:
			groups["SUCCEEDED"] = append(groups["SUCCEEDED"], rec.value(machineARN))
		default:
			groups["FAILED"] = append(groups["FAILED"], rec.value(machineARN))
		}
	}
	// The items no child got are pending.
	for i := run.next; i < len(run.items); i++ {
		groups["PENDING"] = append(groups["PENDING"], childRecord{input: compactJSON(run.items[i])}.value(""))
	}
	run.mu.Unlock()
	files := map[string][]any{"SUCCEEDED": {}, "FAILED": {}, "PENDING": {}}
	for _, status := range []string{"SUCCEEDED", "FAILED", "PENDING"} {
		if len(groups[status]) == 0 {
			continue
		}
		key := dir + status + "_0.json"
		body, err := json.Marshal(groups[status])
		if err != nil {
			return nil, fail(ErrorResultWriterFailed, err.Error())
		}
		if err := store.PutObject(ctx, bucket, key, body); err != nil {
			return nil, fail(ErrorResultWriterFailed, fmt.Sprintf("writing s3://%s/%s: %v", bucket, key, err))
		}
		files[status] = append(files[status], map[string]any{"Key": key, "Size": len(body)})
	}
	manifest := map[string]any{"DestinationBucket": bucket, "MapRunArn": run.arn, "ResultFiles": files}
	body, err := json.MarshalIndent(manifest, "", "  ")
	if err != nil {
		return nil, fail(ErrorResultWriterFailed, err.Error())
	}
	key := dir + "manifest.json"
	if err := store.PutObject(ctx, bucket, key, body); err != nil {
		return nil, fail(ErrorResultWriterFailed, fmt.Sprintf("writing s3://%s/%s: %v", bucket, key, err))
	}
	return map[string]any{"MapRunArn": run.arn, "ResultWriterDetails": map[string]any{"Bucket": bucket, "Key": key}}, nil
}

// readItems reads the dataset an ItemReader names.
func (t *thread) readItems(ctx context.Context, r *itemReader, env *evalEnv) ([]any, *failure) {
	store := t.x.eng.opts.ObjectStore
	pv, f := r.params.eval(env)
	if f != nil {
		return nil, f
	}
	params, _ := pv.(map[string]any)
	bucket, _ := params["Bucket"].(string)
	if bucket == "" {
		return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("ItemReader.Parameters.Bucket must be a non-empty string, got %s", compactJSON(params["Bucket"])))
	}
	max := r.maxItems
	if r.maxItemsPath != nil {
		n, f := intFromPath(env, r.maxItemsPath, "MaxItemsPath")
		if f != nil {
			return nil, f
		}
		if n > MaxReaderItems {
			return nil, fail(ErrorRuntime, fmt.Sprintf("The MaxItemsPath field references %s, whose value %d is more than %d", r.maxItemsPath.src, n, MaxReaderItems))
		}
		max = n
	}
	if r.list {
		prefix, ok := params["Prefix"].(string)
		if _, has := params["Prefix"]; has && !ok {
			return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("ItemReader.Parameters.Prefix must be a string, got %s", compactJSON(params["Prefix"])))
		}
		where := "s3://" + bucket + "/" + prefix
		if store == nil {
			return nil, noStore(where)
		}
		objs, err := store.ListObjects(ctx, bucket, prefix)
		if err != nil {
			return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("listing %s: %v", where, err))
		}
		if max > 0 && len(objs) > max {
			objs = objs[:max]
		}
		items := make([]any, len(objs))
		for i, o := range objs {
			sc := o.StorageClass
			if sc == "" {
				sc = "STANDARD"
			}
			items[i] = map[string]any{"Etag": o.ETag, "Key": o.Key, "LastModified": o.LastModified.Unix(), "Size": o.Size, "StorageClass": sc}
		}
		return items, nil
	}
	key, _ := params["Key"].(string)
	if key == "" {
		return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("ItemReader.Parameters.Key must be a non-empty string, got %s", compactJSON(params["Key"])))
	}
	if _, has := params["VersionId"]; has {
		return nil, fail(ErrorItemReaderFailed, "ItemReader.Parameters.VersionId is not supported by this engine: read the current version")
	}
	where := "s3://" + bucket + "/" + key
	if store == nil {
		return nil, noStore(where)
	}
	body, err := store.GetObject(ctx, bucket, key)
	if err != nil {
		return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("reading %s: %v", where, err))
	}
	var items []any
	switch r.inputType {
	case InputTypeJSON:
		items, err = parseJSONItems(body, max)
	case InputTypeJSONL:
		items, err = parseJSONLItems(body, max)
	case InputTypeCSV:
		var headers []string
		if r.csvGiven {
			headers = r.csvHeaders
		}
		items, err = parseCSVItems(body, headers, r.csvDelimiter, max)
	case InputTypeManifest:
		return t.readManifest(ctx, store, where, body, max)
	}
	if err != nil {
		return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("%s (InputType %s): %v", where, r.inputType, err))
	}
	return items, nil
}

// readManifest reads the CSV data files an S3 Inventory manifest lists.
func (t *thread) readManifest(ctx context.Context, store ObjectStore, where string, body []byte, max int) ([]any, *failure) {
	m, err := parseManifest(body)
	if err != nil {
		return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("%s (InputType MANIFEST): %v", where, err))
	}
	var items []any
	for _, key := range m.keys {
		file := "s3://" + m.bucket + "/" + key
		b, err := store.GetObject(ctx, m.bucket, key)
		if err != nil {
			return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("reading %s, listed by %s: %v", file, where, err))
		}
		if b, err = gunzipped(b); err != nil {
			return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("%s, listed by %s: %v", file, where, err))
		}
		left := 0
		if max > 0 {
			left = max - len(items)
		}
		got, err := parseCSVItems(b, m.schema, ',', left)
		if err != nil {
			return nil, fail(ErrorItemReaderFailed, fmt.Sprintf("%s, listed by %s: %v", file, where, err))
		}
		items = append(items, got...)
		if max > 0 && len(items) >= max {
			break
		}
	}
	return items, nil
}

func noStore(where string) *failure {
	return fail(ErrorItemReaderFailed, fmt.Sprintf("cannot read %s: the engine has no S3 (Options.ObjectStore; pendulum states run --s3 DIR)", where))
}

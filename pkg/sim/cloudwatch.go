package sim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatch is one region's simulated CloudWatch: metrics (from
// PutMetricData or Embedded Metric Format log lines) and metric alarms
// evaluated on the world's clock at each period boundary, with M-of-N
// datapoints and the four TreatMissingData behaviours. State changes go to
// registered callbacks (the drill routes ALARM to the failover state
// machine, as an EventBridge rule on "CloudWatch Alarm State Change" does)
// and to the alarm's SNS actions.
type CloudWatch struct {
	r *Region

	mu      sync.Mutex
	metrics map[string]*cwSeries
	alarms  map[string]*cwAlarm
	// dashboards are the account's dashboards, by name; dashboards are
	// global, but each is kept by the region it was put through.
	dashboards map[string]cwDashboard
	callbacks  []func(ctx context.Context, ch AlarmStateChange)
	// evaluating is set once the service's own alarm evaluation runs in
	// the world's background (EvaluateContinuously).
	evaluating bool
}

// EvaluateContinuously runs the region's alarm evaluation in the world's
// background until the world is closed, as CloudWatch evaluates every
// alarm it holds; a deployed alarm starts it. Calling it again does
// nothing.
func (c *CloudWatch) EvaluateContinuously() {
	c.mu.Lock()
	if c.evaluating {
		c.mu.Unlock()
		return
	}
	c.evaluating = true
	c.mu.Unlock()
	c.r.world.goBackground(func(ctx context.Context) { _ = c.RunAlarmEvaluation(ctx) })
}

type cwSeries struct {
	namespace, name string
	dims            []cwtypes.Dimension
	samples         []cwSample // sorted by time
}

type cwSample struct {
	t                  time.Time
	count, sum, lo, hi float64
}

type cwAlarm struct {
	a cwtypes.MetricAlarm
}

// AlarmStateChange describes an alarm's transition, as the EventBridge
// event "CloudWatch Alarm State Change" does.
type AlarmStateChange struct {
	AlarmName, AlarmARN, Region string
	Previous, Current           cwtypes.StateValue
	Reason                      string
	Time                        time.Time
}

// CloudWatch returns the region's CloudWatch.
func (r *Region) CloudWatch() *CloudWatch {
	return r.service(cloudwatch.ServiceID, func() any {
		return &CloudWatch{r: r, metrics: make(map[string]*cwSeries), alarms: make(map[string]*cwAlarm)}
	}).(*CloudWatch)
}

func cwInvalid(format string, args ...any) error {
	return &cwtypes.InvalidParameterValueException{Message: aws.String(fmt.Sprintf(format, args...))}
}

// cwKey identifies a metric: namespace, name and the sorted dimensions.
func cwKey(namespace, name string, dims []cwtypes.Dimension) string {
	parts := make([]string, 0, len(dims))
	for _, d := range dims {
		parts = append(parts, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
	}
	sort.Strings(parts)
	return namespace + "\x00" + name + "\x00" + strings.Join(parts, "\x00")
}

// OnStateChange registers fn to be called after every alarm state change in
// the region. It runs in the evaluating goroutine: start long work with the
// world clock's Go.
func (c *CloudWatch) OnStateChange(fn func(ctx context.Context, ch AlarmStateChange)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.callbacks = append(c.callbacks, fn)
}

// addLocked stores samples; c.mu must be held.
func (c *CloudWatch) addLocked(namespace, name string, dims []cwtypes.Dimension, s cwSample) {
	key := cwKey(namespace, name, dims)
	ser, ok := c.metrics[key]
	if !ok {
		ser = &cwSeries{namespace: namespace, name: name, dims: append([]cwtypes.Dimension(nil), dims...)}
		c.metrics[key] = ser
	}
	i := sort.Search(len(ser.samples), func(i int) bool { return ser.samples[i].t.After(s.t) })
	if i > 0 && ser.samples[i-1].t.Equal(s.t) {
		// Samples of one instant aggregate into one: every statistic is
		// of counts, sums and extremes, which merge exactly, so a series
		// grows with the instants it has data at, not with the calls.
		p := &ser.samples[i-1]
		p.count += s.count
		p.sum += s.sum
		p.lo, p.hi = math.Min(p.lo, s.lo), math.Max(p.hi, s.hi)
		return
	}
	ser.samples = append(ser.samples, cwSample{})
	copy(ser.samples[i+1:], ser.samples[i:])
	ser.samples[i] = s
}

func cwValueSample(t time.Time, v, count float64) cwSample {
	return cwSample{t: t, count: count, sum: v * count, lo: v, hi: v}
}

// PutMetricData stores datapoints (Value, Values/Counts or StatisticValues).
func (c *CloudWatch) PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	const op = "PutMetricData"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	ns := aws.ToString(in.Namespace)
	if ns == "" || strings.HasPrefix(ns, "AWS/") {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The value %s for parameter Namespace is invalid.", ns))
	}
	if len(in.MetricData) > 1000 {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The collection MetricData must not have a size greater than 1000."))
	}
	now := c.r.world.Clock.Now()
	var samples []func()
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, d := range in.MetricData {
		name := aws.ToString(d.MetricName)
		if name == "" || len(d.Dimensions) > 30 {
			return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The parameter MetricData.member.%d is invalid.", i+1))
		}
		t := now
		if d.Timestamp != nil {
			t = *d.Timestamp
		}
		switch {
		case d.Value != nil:
			if math.IsNaN(*d.Value) || math.IsInf(*d.Value, 0) {
				return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The value %v for parameter MetricData.member.%d.Value is invalid.", *d.Value, i+1))
			}
			s := cwValueSample(t, *d.Value, 1)
			samples = append(samples, func() { c.addLocked(ns, name, d.Dimensions, s) })
		case len(d.Values) > 0:
			if len(d.Counts) > 0 && len(d.Counts) != len(d.Values) {
				return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.InvalidParameterCombinationException{Message: aws.String("The parameters MetricData.member.Values and MetricData.member.Counts must be of the same size.")})
			}
			for j, v := range d.Values {
				n := 1.0
				if len(d.Counts) > 0 {
					n = d.Counts[j]
				}
				s := cwValueSample(t, v, n)
				samples = append(samples, func() { c.addLocked(ns, name, d.Dimensions, s) })
			}
		case d.StatisticValues != nil:
			sv := d.StatisticValues
			s := cwSample{t: t, count: aws.ToFloat64(sv.SampleCount), sum: aws.ToFloat64(sv.Sum), lo: aws.ToFloat64(sv.Minimum), hi: aws.ToFloat64(sv.Maximum)}
			samples = append(samples, func() { c.addLocked(ns, name, d.Dimensions, s) })
		default:
			return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.MissingRequiredParameterException{Message: aws.String(fmt.Sprintf("The parameter MetricData.member.%d.Value is required.", i+1))})
		}
	}
	for _, add := range samples { // all or nothing: validated before stored
		add()
	}
	return &cloudwatch.PutMetricDataOutput{}, nil
}

// EMF is the parsed metric content of an Embedded Metric Format log line.
type EMF struct {
	Timestamp time.Time
	Metrics   []EMFMetric
}

// EMFMetric is one metric value extracted from an EMF line.
type EMFMetric struct {
	Namespace  string
	Name       string
	Unit       string
	Dimensions []cwtypes.Dimension
	Values     []float64
}

// ParseEMF parses an Embedded Metric Format log line as CloudWatch Logs
// extracts it: the _aws member with a Timestamp in epoch milliseconds and
// CloudWatchMetrics directives (Namespace, Dimensions as sets of member
// names, Metrics by Name), values taken from the root members (a number or
// an array of up to 100 numbers), dimension values from root string
// members. A line that breaks the specification is an error, which
// CloudWatch would report by not extracting the metrics.
func ParseEMF(line []byte) (EMF, error) {
	var root map[string]json.RawMessage
	if err := json.Unmarshal(line, &root); err != nil {
		return EMF{}, fmt.Errorf("emf: not a JSON object: %w", err)
	}
	rawAWS, ok := root["_aws"]
	if !ok {
		return EMF{}, errors.New("emf: no _aws member")
	}
	var meta struct {
		Timestamp         *json.Number
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct {
				Name string
				Unit string
			}
		}
	}
	if err := json.Unmarshal(rawAWS, &meta); err != nil {
		return EMF{}, fmt.Errorf("emf: bad _aws member: %w", err)
	}
	if meta.Timestamp == nil {
		return EMF{}, errors.New("emf: _aws.Timestamp is required")
	}
	ms, err := meta.Timestamp.Int64()
	if err != nil || ms < 0 {
		return EMF{}, fmt.Errorf("emf: _aws.Timestamp %q is not epoch milliseconds", meta.Timestamp.String())
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return EMF{}, errors.New("emf: _aws.CloudWatchMetrics is empty")
	}
	out := EMF{Timestamp: time.UnixMilli(ms).UTC()}
	for _, dir := range meta.CloudWatchMetrics {
		if dir.Namespace == "" || len(dir.Namespace) > 255 || strings.HasPrefix(dir.Namespace, "AWS/") {
			return EMF{}, fmt.Errorf("emf: invalid namespace %q", dir.Namespace)
		}
		if len(dir.Metrics) > 100 {
			return EMF{}, fmt.Errorf("emf: %d metrics in a directive, at most 100", len(dir.Metrics))
		}
		sets := dir.Dimensions
		if len(sets) == 0 {
			sets = [][]string{{}}
		}
		for _, m := range dir.Metrics {
			if m.Name == "" || len(m.Name) > 1024 {
				return EMF{}, fmt.Errorf("emf: invalid metric name %q", m.Name)
			}
			raw, ok := root[m.Name]
			if !ok {
				return EMF{}, fmt.Errorf("emf: no value member for metric %q", m.Name)
			}
			values, err := emfValues(raw)
			if err != nil {
				return EMF{}, fmt.Errorf("emf: metric %q: %w", m.Name, err)
			}
			for _, set := range sets {
				if len(set) > 30 {
					return EMF{}, fmt.Errorf("emf: a dimension set has %d dimensions, at most 30", len(set))
				}
				var dims []cwtypes.Dimension
				for _, dn := range set {
					rv, ok := root[dn]
					var v string
					if !ok || json.Unmarshal(rv, &v) != nil || v == "" {
						return EMF{}, fmt.Errorf("emf: dimension %q needs a non-empty string member", dn)
					}
					dims = append(dims, cwtypes.Dimension{Name: aws.String(dn), Value: aws.String(v)})
				}
				out.Metrics = append(out.Metrics, EMFMetric{Namespace: dir.Namespace, Name: m.Name, Unit: m.Unit, Dimensions: dims, Values: values})
			}
		}
	}
	return out, nil
}

func emfValues(raw json.RawMessage) ([]float64, error) {
	var one float64
	if err := json.Unmarshal(raw, &one); err == nil {
		return []float64{one}, nil
	}
	var many []float64
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("value is not a number or an array of numbers")
	}
	if len(many) == 0 || len(many) > 100 {
		return nil, fmt.Errorf("%d values, want 1 to 100", len(many))
	}
	return many, nil
}

// IngestEMF extracts the metrics of an Embedded Metric Format log line into
// the region, as CloudWatch Logs does for a Lambda's log output. It is not
// an API call; it fails when the region is down (the function could not
// have run there) or the line is not valid EMF.
func (c *CloudWatch) IngestEMF(line []byte) error {
	if c.r.world.Down(c.r.Name) {
		return fmt.Errorf("ingest emf in %s: %w", c.r.Name, ErrUnreachable)
	}
	emf, err := ParseEMF(line)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range emf.Metrics {
		for _, v := range m.Values {
			c.addLocked(m.Namespace, m.Name, m.Dimensions, cwValueSample(emf.Timestamp, v, 1))
		}
	}
	return nil
}

// publishServiceMetric records one datapoint of a metric AWS publishes for
// its own services (AWS/ namespaces, which PutMetricData and EMF refuse to
// customers): Lambda's IteratorAge for a stream event-source mapping, say.
// A region that is down records nothing.
func (c *CloudWatch) publishServiceMetric(namespace, name string, dims []cwtypes.Dimension, t time.Time, v float64) {
	if c.r.world.Down(c.r.Name) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(namespace, name, dims, cwValueSample(t, v, 1))
}

// aggregateLocked computes stat over the metric's samples in [from, to);
// ok is false when there are none. c.mu must be held.
func (c *CloudWatch) aggregateLocked(key string, from, to time.Time) (cwSample, bool) {
	ser, ok := c.metrics[key]
	if !ok {
		return cwSample{}, false
	}
	i := sort.Search(len(ser.samples), func(i int) bool { return !ser.samples[i].t.Before(from) })
	agg := cwSample{lo: math.Inf(1), hi: math.Inf(-1)}
	n := 0
	for ; i < len(ser.samples) && ser.samples[i].t.Before(to); i++ {
		s := ser.samples[i]
		agg.count += s.count
		agg.sum += s.sum
		agg.lo = math.Min(agg.lo, s.lo)
		agg.hi = math.Max(agg.hi, s.hi)
		n++
	}
	return agg, n > 0
}

func cwStat(s cwSample, stat string) (float64, error) {
	switch stat {
	case "SampleCount":
		return s.count, nil
	case "Sum":
		return s.sum, nil
	case "Average":
		if s.count == 0 {
			return 0, nil
		}
		return s.sum / s.count, nil
	case "Minimum":
		return s.lo, nil
	case "Maximum":
		return s.hi, nil
	}
	return 0, cwInvalid("The value %s for parameter Statistic is invalid.", stat)
}

func cwCheckPeriod(p int32) error {
	if p != 1 && p != 5 && p != 10 && p != 20 && p != 30 && (p <= 0 || p%60 != 0) {
		return cwInvalid("The parameter Period must be 1, 5, 10, 20, 30 or a multiple of 60.")
	}
	return nil
}

// GetMetricStatistics returns per-period statistics, oldest first.
func (c *CloudWatch) GetMetricStatistics(ctx context.Context, in *cloudwatch.GetMetricStatisticsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricStatisticsOutput, error) {
	const op = "GetMetricStatistics"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil || in.Period == nil || len(in.Statistics) == 0 {
		return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.MissingRequiredParameterException{Message: aws.String("StartTime, EndTime, Period and Statistics are required.")})
	}
	if err := cwCheckPeriod(*in.Period); err != nil {
		return nil, opErr(cloudwatch.ServiceID, op, err)
	}
	if !in.StartTime.Before(*in.EndTime) {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The parameter StartTime must be less than the parameter EndTime."))
	}
	period := time.Duration(*in.Period) * time.Second
	key := cwKey(aws.ToString(in.Namespace), aws.ToString(in.MetricName), in.Dimensions)
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &cloudwatch.GetMetricStatisticsOutput{Label: in.MetricName}
	for t := in.StartTime.Truncate(period); t.Before(*in.EndTime); t = t.Add(period) {
		agg, ok := c.aggregateLocked(key, t, t.Add(period))
		if !ok {
			continue
		}
		ts := t
		dp := cwtypes.Datapoint{Timestamp: &ts, Unit: in.Unit}
		for _, st := range in.Statistics {
			v, err := cwStat(agg, string(st))
			if err != nil {
				return nil, opErr(cloudwatch.ServiceID, op, err)
			}
			switch st {
			case cwtypes.StatisticSampleCount:
				dp.SampleCount = aws.Float64(v)
			case cwtypes.StatisticSum:
				dp.Sum = aws.Float64(v)
			case cwtypes.StatisticAverage:
				dp.Average = aws.Float64(v)
			case cwtypes.StatisticMinimum:
				dp.Minimum = aws.Float64(v)
			case cwtypes.StatisticMaximum:
				dp.Maximum = aws.Float64(v)
			}
		}
		out.Datapoints = append(out.Datapoints, dp)
	}
	return out, nil
}

// cwListMetricsPage is how many metrics ListMetrics returns a call.
const cwListMetricsPage = 500

// cwListedFor is how long a metric without new datapoints is still listed:
// ListMetrics leaves out metrics that reported no data in the past two
// weeks (docs/aws-facts.md "CloudWatch alarms and Embedded Metric Format").
const cwListedFor = 14 * 24 * time.Hour

// ListMetrics lists the region's metrics that match the namespace, name and
// dimension filters (a filter without a value matches any value of that
// dimension), 500 a page in a stable order, NextToken continuing. A metric
// is listed while it has a datapoint in the past two weeks (RecentlyActive
// PT3H: the past three hours).
func (c *CloudWatch) ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error) {
	const op = "ListMetrics"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	window := cwListedFor
	switch in.RecentlyActive {
	case "":
	case cwtypes.RecentlyActivePt3h:
		window = 3 * time.Hour
	default:
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The value %s for parameter RecentlyActive is invalid.", in.RecentlyActive))
	}
	for _, f := range in.Dimensions {
		if aws.ToString(f.Name) == "" {
			return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.MissingRequiredParameterException{Message: aws.String("The parameter Dimensions.member.Name is required.")})
		}
	}
	since := c.r.world.Clock.Now().Add(-window)
	c.mu.Lock()
	keys := make([]string, 0, len(c.metrics))
	for k, ser := range c.metrics {
		if in.Namespace != nil && ser.namespace != *in.Namespace || in.MetricName != nil && ser.name != *in.MetricName {
			continue
		}
		if len(ser.samples) == 0 || ser.samples[len(ser.samples)-1].t.Before(since) || !cwDimensionsMatch(ser.dims, in.Dimensions) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	from := 0
	if t := aws.ToString(in.NextToken); t != "" {
		k, err := base64.RawURLEncoding.DecodeString(t)
		i := sort.SearchStrings(keys, string(k))
		if err != nil || i == len(keys) || keys[i] != string(k) {
			c.mu.Unlock()
			return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.InvalidNextToken{Message: aws.String("The service couldn't process your request because the next token is not valid.")})
		}
		from = i
	}
	out := &cloudwatch.ListMetricsOutput{Metrics: []cwtypes.Metric{}}
	for _, k := range keys[from:min(from+cwListMetricsPage, len(keys))] {
		ser := c.metrics[k]
		out.Metrics = append(out.Metrics, cwtypes.Metric{Namespace: aws.String(ser.namespace), MetricName: aws.String(ser.name), Dimensions: append([]cwtypes.Dimension(nil), ser.dims...)})
	}
	if next := from + cwListMetricsPage; next < len(keys) {
		out.NextToken = aws.String(base64.RawURLEncoding.EncodeToString([]byte(keys[next])))
	}
	c.mu.Unlock()
	return out, nil
}

// cwDimensionsMatch reports whether a metric's dimensions pass every
// filter: the dimension is present, with the filter's value if it has one.
func cwDimensionsMatch(dims []cwtypes.Dimension, filters []cwtypes.DimensionFilter) bool {
	for _, f := range filters {
		found := false
		for _, d := range dims {
			if aws.ToString(d.Name) == aws.ToString(f.Name) && (f.Value == nil || aws.ToString(d.Value) == *f.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// GetMetricData answers MetricStat queries (no metric math), newest
// datapoint first as with the default ScanBy TimestampDescending.
func (c *CloudWatch) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	const op = "GetMetricData"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	if in.StartTime == nil || in.EndTime == nil || len(in.MetricDataQueries) == 0 {
		return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.MissingRequiredParameterException{Message: aws.String("StartTime, EndTime and MetricDataQueries are required.")})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		if q.MetricStat == nil || q.MetricStat.Metric == nil || q.MetricStat.Period == nil || q.MetricStat.Stat == nil {
			return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The simulator answers only MetricStat queries (query %s).", aws.ToString(q.Id)))
		}
		if err := cwCheckPeriod(*q.MetricStat.Period); err != nil {
			return nil, opErr(cloudwatch.ServiceID, op, err)
		}
		m := q.MetricStat.Metric
		key := cwKey(aws.ToString(m.Namespace), aws.ToString(m.MetricName), m.Dimensions)
		period := time.Duration(*q.MetricStat.Period) * time.Second
		res := cwtypes.MetricDataResult{Id: q.Id, Label: m.MetricName, StatusCode: cwtypes.StatusCodeComplete}
		if q.Label != nil {
			res.Label = q.Label
		}
		for t := in.EndTime.Truncate(period); !t.Before(in.StartTime.Truncate(period)); t = t.Add(-period) {
			if !t.Before(*in.EndTime) {
				continue
			}
			agg, ok := c.aggregateLocked(key, t, t.Add(period))
			if !ok {
				continue
			}
			v, err := cwStat(agg, *q.MetricStat.Stat)
			if err != nil {
				return nil, opErr(cloudwatch.ServiceID, op, err)
			}
			res.Timestamps = append(res.Timestamps, t)
			res.Values = append(res.Values, v)
		}
		if q.ReturnData == nil || *q.ReturnData {
			out.MetricDataResults = append(out.MetricDataResults, res)
		}
	}
	return out, nil
}

// PutMetricAlarm creates or updates a metric alarm (single metric, standard
// statistic). A new alarm starts INSUFFICIENT_DATA; an updated one keeps its
// state until the next evaluation.
func (c *CloudWatch) PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	const op = "PutMetricAlarm"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.AlarmName)
	switch {
	case name == "" || in.EvaluationPeriods == nil || in.Threshold == nil || in.ComparisonOperator == "":
		return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.MissingRequiredParameterException{Message: aws.String("AlarmName, EvaluationPeriods, Threshold and ComparisonOperator are required.")})
	case len(in.Metrics) > 0 || in.ExtendedStatistic != nil:
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The simulator supports single-metric alarms on a standard statistic."))
	case aws.ToString(in.Namespace) == "" || aws.ToString(in.MetricName) == "" || in.Period == nil || in.Statistic == "":
		return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.MissingRequiredParameterException{Message: aws.String("Namespace, MetricName, Period and Statistic are required for a metric alarm.")})
	}
	if err := cwCheckPeriod(*in.Period); err != nil || *in.Period < 10 {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The parameter Period must be 10, 20, 30 or a multiple of 60 for an alarm."))
	}
	if _, err := cwStat(cwSample{}, string(in.Statistic)); err != nil {
		return nil, opErr(cloudwatch.ServiceID, op, err)
	}
	n := *in.EvaluationPeriods
	m := n
	if in.DatapointsToAlarm != nil {
		m = *in.DatapointsToAlarm
	}
	if n < 1 || m < 1 || m > n {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("DatapointsToAlarm must be between 1 and EvaluationPeriods."))
	}
	if int64(n)*int64(*in.Period) > 86400 {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The evaluation period (Period × EvaluationPeriods) must not exceed one day."))
	}
	switch in.ComparisonOperator {
	case cwtypes.ComparisonOperatorGreaterThanThreshold, cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
		cwtypes.ComparisonOperatorLessThanThreshold, cwtypes.ComparisonOperatorLessThanOrEqualToThreshold:
	default:
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The value %s for parameter ComparisonOperator is invalid.", in.ComparisonOperator))
	}
	// An alarm's SNS actions must be topics of its own region
	// (docs/aws-facts.md "CloudWatch alarms and Embedded Metric Format").
	for _, list := range [][]string{in.AlarmActions, in.OKActions, in.InsufficientDataActions} {
		for _, action := range list {
			if f := strings.SplitN(action, ":", 6); len(f) == 6 && f[2] == "sns" && f[3] != c.r.Name {
				return nil, opErr(cloudwatch.ServiceID, op, apiErr("ValidationError", "Invalid region %s specified. Only %s is supported.", f[3], c.r.Name))
			}
		}
	}
	treat := aws.ToString(in.TreatMissingData)
	switch treat {
	case "":
		treat = "missing"
	case "missing", "breaching", "notBreaching", "ignore":
	default:
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The value %s for parameter TreatMissingData is invalid.", treat))
	}
	now := c.r.world.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	a := cwtypes.MetricAlarm{
		AlarmName: aws.String(name), AlarmArn: aws.String(fmt.Sprintf("arn:aws:cloudwatch:%s:%s:alarm:%s", c.r.Name, c.r.world.Account, name)),
		AlarmDescription: in.AlarmDescription, ActionsEnabled: aws.Bool(in.ActionsEnabled == nil || *in.ActionsEnabled),
		AlarmActions: in.AlarmActions, OKActions: in.OKActions, InsufficientDataActions: in.InsufficientDataActions,
		Namespace: in.Namespace, MetricName: in.MetricName, Dimensions: append([]cwtypes.Dimension(nil), in.Dimensions...),
		Statistic: in.Statistic, Period: in.Period, EvaluationPeriods: aws.Int32(n), DatapointsToAlarm: aws.Int32(m),
		Threshold: in.Threshold, ComparisonOperator: in.ComparisonOperator, TreatMissingData: aws.String(treat), Unit: in.Unit,
		AlarmConfigurationUpdatedTimestamp: &now,
		StateValue:                         cwtypes.StateValueInsufficientData, StateReason: aws.String("Unchecked: Initial alarm creation"),
		StateUpdatedTimestamp: &now, StateTransitionedTimestamp: &now,
	}
	if old, ok := c.alarms[name]; ok {
		a.StateValue, a.StateReason = old.a.StateValue, old.a.StateReason
		a.StateUpdatedTimestamp, a.StateTransitionedTimestamp = old.a.StateUpdatedTimestamp, old.a.StateTransitionedTimestamp
	}
	c.alarms[name] = &cwAlarm{a: a}
	return &cloudwatch.PutMetricAlarmOutput{}, nil
}

// DeleteAlarms deletes alarms: they are no longer evaluated and take no
// more actions. A name that is no alarm fails the call (ResourceNotFound)
// and deletes nothing, as CloudWatch does.
func (c *CloudWatch) DeleteAlarms(ctx context.Context, in *cloudwatch.DeleteAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error) {
	const op = "DeleteAlarms"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range in.AlarmNames {
		if _, ok := c.alarms[n]; !ok {
			return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.ResourceNotFound{Message: aws.String("Alarm " + n + " does not exist")})
		}
	}
	for _, n := range in.AlarmNames {
		delete(c.alarms, n)
	}
	return &cloudwatch.DeleteAlarmsOutput{}, nil
}

// DescribeAlarms lists metric alarms by name, prefix or state.
func (c *CloudWatch) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	const op = "DescribeAlarms"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.alarms))
	for n := range c.alarms {
		names = append(names, n)
	}
	sort.Strings(names)
	want := map[string]bool{}
	for _, n := range in.AlarmNames {
		want[n] = true
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	for _, n := range names {
		a := c.alarms[n].a
		if (len(want) > 0 && !want[n]) || !strings.HasPrefix(n, aws.ToString(in.AlarmNamePrefix)) || (in.StateValue != "" && a.StateValue != in.StateValue) {
			continue
		}
		a.Dimensions = append([]cwtypes.Dimension(nil), a.Dimensions...)
		out.MetricAlarms = append(out.MetricAlarms, a)
	}
	return out, nil
}

// SetAlarmState sets an alarm's state until its next evaluation, firing the
// state-change callbacks and actions as a real transition does: the way to
// test what an alarm triggers.
func (c *CloudWatch) SetAlarmState(ctx context.Context, in *cloudwatch.SetAlarmStateInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.SetAlarmStateOutput, error) {
	const op = "SetAlarmState"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	switch in.StateValue {
	case cwtypes.StateValueOk, cwtypes.StateValueAlarm, cwtypes.StateValueInsufficientData:
	default:
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The value %s for parameter StateValue is invalid.", in.StateValue))
	}
	if aws.ToString(in.StateReason) == "" {
		return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.MissingRequiredParameterException{Message: aws.String("StateReason is required.")})
	}
	c.mu.Lock()
	a, ok := c.alarms[aws.ToString(in.AlarmName)]
	if !ok {
		c.mu.Unlock()
		return nil, opErr(cloudwatch.ServiceID, op, &cwtypes.ResourceNotFound{Message: aws.String(fmt.Sprintf("Alarm %s not found", aws.ToString(in.AlarmName)))})
	}
	ch := c.transitionLocked(a, in.StateValue, aws.ToString(in.StateReason))
	c.mu.Unlock()
	if ch != nil {
		c.notify(ctx, a, *ch)
	}
	return &cloudwatch.SetAlarmStateOutput{}, nil
}

// transitionLocked sets an alarm's state; it returns the change, or nil when
// the state is unchanged. c.mu must be held.
func (c *CloudWatch) transitionLocked(a *cwAlarm, state cwtypes.StateValue, reason string) *AlarmStateChange {
	now := c.r.world.Clock.Now()
	a.a.StateUpdatedTimestamp = &now
	if a.a.StateValue == state {
		return nil
	}
	ch := &AlarmStateChange{AlarmName: aws.ToString(a.a.AlarmName), AlarmARN: aws.ToString(a.a.AlarmArn), Region: c.r.Name,
		Previous: a.a.StateValue, Current: state, Reason: reason, Time: now}
	a.a.StateValue, a.a.StateReason, a.a.StateTransitionedTimestamp = state, aws.String(reason), &now
	return ch
}

// notify runs the callbacks and the alarm's actions for a change. SNS
// actions get the JSON message CloudWatch sends to a topic.
func (c *CloudWatch) notify(ctx context.Context, a *cwAlarm, ch AlarmStateChange) {
	c.mu.Lock()
	cbs := append(([]func(context.Context, AlarmStateChange))(nil), c.callbacks...)
	var actions []string
	if aws.ToBool(a.a.ActionsEnabled) {
		switch ch.Current {
		case cwtypes.StateValueAlarm:
			actions = a.a.AlarmActions
		case cwtypes.StateValueOk:
			actions = a.a.OKActions
		case cwtypes.StateValueInsufficientData:
			actions = a.a.InsufficientDataActions
		}
	}
	c.mu.Unlock()
	for _, arn := range actions {
		if f := strings.Split(arn, ":"); len(f) > 3 && f[2] == "sns" {
			msg, _ := json.Marshal(map[string]any{
				"AlarmName": ch.AlarmName, "AlarmArn": ch.AlarmARN, "NewStateValue": ch.Current, "OldStateValue": ch.Previous,
				"NewStateReason": ch.Reason, "StateChangeTime": ch.Time.UTC().Format("2006-01-02T15:04:05.000+0000"), "Region": ch.Region,
			})
			c.r.world.deliver(f[3], arn, string(msg))
		}
	}
	for _, cb := range cbs {
		cb(ctx, ch)
	}
}

// EvaluateAlarms evaluates every alarm whose period ends at the current
// time (all alarms when all is true) over its last EvaluationPeriods
// complete periods, and reports the state changes after running the
// callbacks and actions.
func (c *CloudWatch) EvaluateAlarms(ctx context.Context, all bool) []AlarmStateChange {
	now := c.r.world.Clock.Now()
	type change struct {
		a  *cwAlarm
		ch AlarmStateChange
	}
	var changes []change
	c.mu.Lock()
	names := make([]string, 0, len(c.alarms))
	for n := range c.alarms {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		a := c.alarms[n]
		period := time.Duration(*a.a.Period) * time.Second
		if !all && !now.Truncate(period).Equal(now) {
			continue
		}
		state, reason := c.evaluateLocked(&a.a, now)
		if state == "" {
			continue // TreatMissingData ignore with no data: keep the state
		}
		if ch := c.transitionLocked(a, state, reason); ch != nil {
			changes = append(changes, change{a, *ch})
		}
	}
	c.mu.Unlock()
	out := make([]AlarmStateChange, 0, len(changes))
	for _, ch := range changes {
		c.notify(ctx, ch.a, ch.ch)
		out = append(out, ch.ch)
	}
	return out
}

// evaluateLocked decides an alarm's state at now, following CloudWatch's
// rules: the last N complete periods; ALARM when at least M of them breach;
// missing periods per TreatMissingData (missing: left out, all missing is
// INSUFFICIENT_DATA; breaching / notBreaching: counted as such; ignore: the
// state is kept, returned as ""). c.mu must be held.
func (c *CloudWatch) evaluateLocked(a *cwtypes.MetricAlarm, now time.Time) (cwtypes.StateValue, string) {
	period := time.Duration(*a.Period) * time.Second
	end := now.Truncate(period)
	n, m := int(*a.EvaluationPeriods), int(*a.DatapointsToAlarm)
	key := cwKey(*a.Namespace, *a.MetricName, a.Dimensions)
	treat := aws.ToString(a.TreatMissingData)
	var values []string
	present, breaching := 0, 0
	for i := n - 1; i >= 0; i-- {
		from := end.Add(-time.Duration(i+1) * period)
		agg, ok := c.aggregateLocked(key, from, from.Add(period))
		if !ok {
			values = append(values, "missing")
			switch treat {
			case "breaching":
				breaching++
				present++
			case "notBreaching":
				present++
			}
			continue
		}
		v, _ := cwStat(agg, string(a.Statistic))
		values = append(values, fmt.Sprintf("%g", v))
		present++
		if cwBreaches(a.ComparisonOperator, v, *a.Threshold) {
			breaching++
		}
	}
	reason := fmt.Sprintf("Threshold Crossed: %d out of the last %d datapoints [%s] %s the threshold (%g) (minimum %d datapoints for ALARM transition).",
		breaching, n, strings.Join(values, ", "), cwOperatorWords(a.ComparisonOperator), *a.Threshold, m)
	switch {
	case breaching >= m:
		return cwtypes.StateValueAlarm, reason
	case present == 0 && treat == "ignore":
		return "", ""
	case present == 0:
		return cwtypes.StateValueInsufficientData, fmt.Sprintf("Insufficient Data: %d datapoints were unknown.", n)
	}
	return cwtypes.StateValueOk, reason
}

func cwBreaches(op cwtypes.ComparisonOperator, v, threshold float64) bool {
	switch op {
	case cwtypes.ComparisonOperatorGreaterThanThreshold:
		return v > threshold
	case cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold:
		return v >= threshold
	case cwtypes.ComparisonOperatorLessThanThreshold:
		return v < threshold
	case cwtypes.ComparisonOperatorLessThanOrEqualToThreshold:
		return v <= threshold
	}
	return false
}

func cwOperatorWords(op cwtypes.ComparisonOperator) string {
	switch op {
	case cwtypes.ComparisonOperatorGreaterThanThreshold:
		return "were greater than"
	case cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold:
		return "were greater than or equal to"
	case cwtypes.ComparisonOperatorLessThanThreshold:
		return "were less than"
	}
	return "were less than or equal to"
}

// RunAlarmEvaluation evaluates alarms at each of their period boundaries on
// the world's clock until ctx is done, as CloudWatch does continuously. The
// drill starts it with the world clock's Go and cancels it at the end (a
// forever-running evaluator would keep a virtual clock moving). It
// evaluates nothing while the region is down. It returns ctx's error.
func (c *CloudWatch) RunAlarmEvaluation(ctx context.Context) error {
	clk := c.r.world.Clock
	for {
		now := clk.Now()
		next := now.Truncate(time.Minute).Add(time.Minute)
		c.mu.Lock()
		for _, a := range c.alarms {
			p := time.Duration(*a.a.Period) * time.Second
			if nb := now.Truncate(p).Add(p); nb.Before(next) {
				next = nb
			}
		}
		c.mu.Unlock()
		if err := clk.Sleep(ctx, next.Sub(now)); err != nil {
			return err
		}
		if !c.r.world.Down(c.r.Name) {
			c.EvaluateAlarms(ctx, false)
		}
	}
}

package main

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/dr"
	"github.com/pendulum-dr/pendulum/pkg/readiness"
	"github.com/pendulum-dr/pendulum/pkg/schedule"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// GlobalRegion is where Global Accelerator's CloudFormation resources and
// control-plane API live: AWS offers them in us-west-2 only.
const GlobalRegion = topology.GlobalRegion

// ContextPrefix namespaces every configuration key in cdk.json's context, so
// `-c pendulum:backupRegion=us-west-1` cannot collide with CDK's own flags.
const ContextPrefix = "pendulum:"

// Config is the whole deployment's configuration, read from the CDK context
// (cdk.json, overridable with `-c pendulum:key=value`). Every field is
// validated by Validate; synth fails on the first key that is wrong.
type Config struct {
	// Account is the 12-digit AWS account every stack deploys to.
	Account string
	// PrimaryRegion (P) runs the workload; BackupRegion (B) keeps it dormant.
	PrimaryRegion, BackupRegion string
	// NamePrefix starts every physical name, so names are deterministic and
	// no stack needs a cross-region reference to find another's resources.
	NamePrefix string
	// ProducerCIDRs are the client networks allowed to POST records.
	ProducerCIDRs []string
	// PrimaryCertificateARN and BackupCertificateARN are the defaults of
	// each workload stack's CertificateArn parameter, the ACM certificate of
	// its ALB (ACM certificates are regional): both empty, HTTP on port 80;
	// both set, HTTPS on 443. `cdk deploy --parameters` overrides them.
	PrimaryCertificateARN, BackupCertificateARN string
	// AlarmEvaluationPeriods and AlarmDatapointsToAlarm shape the one-minute
	// EndpointHealthy alarm that starts failover ("M of N" minutes unhealthy).
	AlarmEvaluationPeriods, AlarmDatapointsToAlarm int
	// ProbeTimeoutMs bounds each health probe.
	ProbeTimeoutMs int
	// FailoverApproval makes failover wait for a human (waitForTaskToken).
	FailoverApproval bool
	// DrillSchedule is the EventBridge Scheduler expression of the isolated
	// drill; empty disables the scheduled drill.
	DrillSchedule string
	// NightlyBatchSchedule is the Scheduler expression of the nightly batch.
	NightlyBatchSchedule string
	// NoncurrentVersionDays is how long noncurrent S3 object versions live.
	NoncurrentVersionDays int
	// LogRetentionDays applies to every log group and access-log bucket.
	LogRetentionDays int
	// BackupRetentionDays is how long AWS Backup keeps recovery points (in
	// both vaults).
	BackupRetentionDays int
	// StreamRetentionHours is the Kinesis retention: the backlog a late
	// consumer (B's aggregate Lambda after a restore) can still read.
	StreamRetentionHours int
	// FailbackBatchItems is how many objects one child execution of
	// failback's Distributed Maps copies or merges (MaxItemsPerBatch);
	// FailbackMaxConcurrency how many child executions run at once — the
	// Lambda concurrency failback needs (docs/deploy.md).
	FailbackBatchItems, FailbackMaxConcurrency int
	// AssetDir holds the built Lambdas (dist/<name>/bootstrap).
	AssetDir string
	// FunctionsDir holds the Lambda sources; dr-* functions found here are
	// deployed in the Recovery stack.
	FunctionsDir string
	// BackupSchedule is the AWS Backup plan's cron expression (UTC): the
	// daily backup of P's aggregates table and its copy to B. Its longest
	// interval bounds the recovery point's age the readiness check and the
	// isolated drill accept.
	BackupSchedule string
	// ReadinessSchedule is the readiness check's rate expression; the
	// not-ready alarm's period is its interval.
	ReadinessSchedule string
	// NotifyEmails and NotifyHTTPSEndpoints subscribe to the DR topic
	// (each confirms its subscription, see docs/deploy.md).
	NotifyEmails, NotifyHTTPSEndpoints []string
	// NotifyTopicARN, when set, is an existing topic in B used as the DR
	// topic instead of the one the Recovery stack would create;
	// NotifyTopicKeyARN is its KMS key, when it has a customer managed one.
	NotifyTopicARN, NotifyTopicKeyARN string
	// Machines provides the ASL documents; LoadConfig sets the embedded
	// statemachines package (not a context key: tests substitute fixtures).
	Machines MachineSource
}

// Defaults of the optional keys.
const (
	// DefaultBackupSchedule is daily at 03:00 UTC.
	DefaultBackupSchedule = "cron(0 3 * * ? *)"
	// DefaultReadinessSchedule is hourly.
	DefaultReadinessSchedule = "rate(1 hour)"
)

// The readiness schedule's bounds: at least every 5 minutes (the check
// reads 15 minutes of replication metrics), at most daily (the not-ready
// alarm's period is the interval, and a CloudWatch alarm's period is at
// most a day).
const (
	minReadinessInterval = 5 * time.Minute
	maxReadinessInterval = 24 * time.Hour
)

// scheduleFrom is where a schedule's longest interval is read from: a fixed
// instant, so synth is deterministic.
var scheduleFrom = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BackupInterval is the backup plan's longest interval between two
// backups.
func (c Config) BackupInterval() time.Duration {
	e, _ := schedule.Parse(c.BackupSchedule, schedule.Rule)
	d, _ := e.MaxInterval(scheduleFrom, time.UTC)
	return d
}

// RecoveryPointMaxAge is the oldest the newest backup copy in B may be:
// the plan's longest interval plus readiness.RecoveryPointMargin.
func (c Config) RecoveryPointMaxAge() time.Duration {
	return c.BackupInterval() + readiness.RecoveryPointMargin
}

// ReadinessInterval is the readiness check's interval.
func (c Config) ReadinessInterval() time.Duration {
	e, _ := schedule.Parse(c.ReadinessSchedule, schedule.Rule)
	d, _ := e.MaxInterval(scheduleFrom, time.UTC)
	return d
}

// Regions returns P and B.
func (c Config) Regions() []string { return []string{c.PrimaryRegion, c.BackupRegion} }

// CertificateARN returns the default ALB certificate of region, or "".
func (c Config) CertificateARN(region string) string {
	if region == c.PrimaryRegion {
		return c.PrimaryCertificateARN
	}
	return c.BackupCertificateARN
}

// ContextGetter is the one method of a construct node Config needs, so tests
// can feed maps.
type ContextGetter interface {
	TryGetContext(key *string) interface{}
}

// ConfigError names the context key that is missing or invalid.
type ConfigError struct {
	Key    string
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("config %s%s: %s", ContextPrefix, e.Key, e.Reason)
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]$`)
	// prefixRE keeps names valid for S3 (lowercase, hyphens), short enough
	// for ALB names (32 chars) and bucket names (63 chars).
	prefixRE   = regexp.MustCompile(`^[a-z][a-z0-9-]{1,14}[a-z0-9]$`)
	acmARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):([0-9]{12}):certificate/[0-9a-f-]+$`)
	scheduleRE = regexp.MustCompile(`^(cron\([^()]+\)|rate\([0-9]+ (minute|minutes|hour|hours|day|days)\))$`)
	snsARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:sns:([a-z0-9-]+):([0-9]{12}):([A-Za-z0-9_-]{1,251}(\.fifo)?)$`)
	kmsARNRE   = regexp.MustCompile(`^arn:aws[a-z-]*:kms:([a-z0-9-]+):([0-9]{12}):key/[A-Za-z0-9-]+$`)
)

// logRetentionDays are the values CloudWatch Logs accepts.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// ConfigKeys lists every key Config reads, for docs and error messages.
var ConfigKeys = []string{
	"account", "primaryRegion", "backupRegion", "namePrefix", "producerCidrs",
	"primaryCertificateArn", "backupCertificateArn", "alarmEvaluationPeriods",
	"alarmDatapointsToAlarm", "probeTimeoutMs", "failoverApproval", "drillSchedule",
	"nightlyBatchSchedule", "noncurrentVersionDays", "logRetentionDays",
	"backupRetentionDays", "streamRetentionHours", "failbackBatchItems", "failbackMaxConcurrency",
	"assetDir", "functionsDir", "backupSchedule", "readinessSchedule", "notifyEmails",
	"notifyHttpsEndpoints", "notifyTopicArn", "notifyTopicKeyArn",
}

// LoadConfig reads and validates the configuration from the CDK context.
// Values may be JSON-typed (cdk.json) or strings (`-c key=value`).
func LoadConfig(ctx ContextGetter) (Config, error) {
	r := reader{ctx: ctx}
	c := Config{
		Account:                r.str("account", true),
		PrimaryRegion:          r.str("primaryRegion", true),
		BackupRegion:           r.str("backupRegion", true),
		NamePrefix:             r.str("namePrefix", true),
		ProducerCIDRs:          r.list("producerCidrs"),
		PrimaryCertificateARN:  r.str("primaryCertificateArn", false),
		BackupCertificateARN:   r.str("backupCertificateArn", false),
		AlarmEvaluationPeriods: r.integer("alarmEvaluationPeriods"),
		AlarmDatapointsToAlarm: r.integer("alarmDatapointsToAlarm"),
		ProbeTimeoutMs:         r.integer("probeTimeoutMs"),
		FailoverApproval:       r.boolean("failoverApproval"),
		DrillSchedule:          r.str("drillSchedule", false),
		NightlyBatchSchedule:   r.str("nightlyBatchSchedule", true),
		NoncurrentVersionDays:  r.integer("noncurrentVersionDays"),
		LogRetentionDays:       r.integer("logRetentionDays"),
		BackupRetentionDays:    r.integer("backupRetentionDays"),
		StreamRetentionHours:   r.integer("streamRetentionHours"),
		FailbackBatchItems:     r.integer("failbackBatchItems"),
		FailbackMaxConcurrency: r.integer("failbackMaxConcurrency"),
		AssetDir:               r.str("assetDir", true),
		FunctionsDir:           r.str("functionsDir", true),
		BackupSchedule:         r.strOr("backupSchedule", DefaultBackupSchedule),
		ReadinessSchedule:      r.strOr("readinessSchedule", DefaultReadinessSchedule),
		NotifyEmails:           r.optionalList("notifyEmails"),
		NotifyHTTPSEndpoints:   r.optionalList("notifyHttpsEndpoints"),
		NotifyTopicARN:         r.str("notifyTopicArn", false),
		NotifyTopicKeyARN:      r.str("notifyTopicKeyArn", false),
		Machines:               EmbeddedMachines,
	}
	if r.err != nil {
		return Config{}, r.err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate checks every field and returns a *ConfigError naming the first
// key that is wrong.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return &ConfigError{Key: key, Reason: fmt.Sprintf(format, args...)}
	}
	if !accountRE.MatchString(c.Account) {
		return bad("account", "%q is not a 12-digit AWS account id", c.Account)
	}
	for key, r := range map[string]string{"primaryRegion": c.PrimaryRegion, "backupRegion": c.BackupRegion} {
		if !regionRE.MatchString(r) {
			return bad(key, "%q is not an AWS region name", r)
		}
	}
	if c.PrimaryRegion == c.BackupRegion {
		return bad("backupRegion", "must differ from primaryRegion (%s)", c.PrimaryRegion)
	}
	if !prefixRE.MatchString(c.NamePrefix) {
		return bad("namePrefix", "%q must be 3-16 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'", c.NamePrefix)
	}
	if len(c.ProducerCIDRs) == 0 {
		return bad("producerCidrs", "at least one CIDR is required (0.0.0.0/0 to accept any producer)")
	}
	for _, s := range c.ProducerCIDRs {
		p, err := netip.ParsePrefix(s)
		if err != nil || !p.Addr().Is4() || p.Masked() != p {
			return bad("producerCidrs", "%q is not an IPv4 CIDR with its host bits zero", s)
		}
	}
	if (c.PrimaryCertificateARN == "") != (c.BackupCertificateARN == "") {
		return bad("backupCertificateArn", "set both primaryCertificateArn and backupCertificateArn (HTTPS in both regions) or neither")
	}
	for key, cert := range map[string][2]string{
		"primaryCertificateArn": {c.PrimaryCertificateARN, c.PrimaryRegion},
		"backupCertificateArn":  {c.BackupCertificateARN, c.BackupRegion},
	} {
		if cert[0] == "" {
			continue
		}
		m := acmARNRE.FindStringSubmatch(cert[0])
		if m == nil {
			return bad(key, "%q is not an ACM certificate ARN", cert[0])
		}
		if m[1] != cert[1] || m[2] != c.Account {
			return bad(key, "%q must be in account %s and region %s", cert[0], c.Account, cert[1])
		}
	}
	if c.AlarmEvaluationPeriods < 1 || c.AlarmEvaluationPeriods > 60 {
		return bad("alarmEvaluationPeriods", "%d is outside 1..60 (minutes)", c.AlarmEvaluationPeriods)
	}
	if c.AlarmDatapointsToAlarm < 1 || c.AlarmDatapointsToAlarm > c.AlarmEvaluationPeriods {
		return bad("alarmDatapointsToAlarm", "%d is outside 1..alarmEvaluationPeriods (%d)", c.AlarmDatapointsToAlarm, c.AlarmEvaluationPeriods)
	}
	// The health Lambda probes every minute; a probe must end well within it.
	if c.ProbeTimeoutMs < 100 || c.ProbeTimeoutMs > 20000 {
		return bad("probeTimeoutMs", "%d is outside 100..20000", c.ProbeTimeoutMs)
	}
	if c.DrillSchedule != "" && !scheduleRE.MatchString(c.DrillSchedule) {
		return bad("drillSchedule", "%q is not a cron(...) or rate(...) expression (empty disables the drill)", c.DrillSchedule)
	}
	if !scheduleRE.MatchString(c.NightlyBatchSchedule) {
		return bad("nightlyBatchSchedule", "%q is not a cron(...) or rate(...) expression", c.NightlyBatchSchedule)
	}
	if c.NoncurrentVersionDays < 1 || c.NoncurrentVersionDays > 3650 {
		return bad("noncurrentVersionDays", "%d is outside 1..3650", c.NoncurrentVersionDays)
	}
	if !contains(logRetentionDays, c.LogRetentionDays) {
		return bad("logRetentionDays", "%d is not a CloudWatch Logs retention (%v)", c.LogRetentionDays, logRetentionDays)
	}
	if c.BackupRetentionDays < 1 || c.BackupRetentionDays > 36500 {
		return bad("backupRetentionDays", "%d is outside 1..36500", c.BackupRetentionDays)
	}
	if c.StreamRetentionHours < 24 || c.StreamRetentionHours > 8760 {
		return bad("streamRetentionHours", "%d is outside 24..8760 (Kinesis limits)", c.StreamRetentionHours)
	}
	if c.FailbackBatchItems < dr.MinFailbackBatchItems || c.FailbackBatchItems > dr.MaxFailbackBatchItems {
		return bad("failbackBatchItems", "%d is outside %d..%d (objects per child execution of failback's Distributed Maps)", c.FailbackBatchItems, dr.MinFailbackBatchItems, dr.MaxFailbackBatchItems)
	}
	if c.FailbackMaxConcurrency < dr.MinFailbackMaxConcurrency || c.FailbackMaxConcurrency > dr.MaxFailbackMaxConcurrency {
		return bad("failbackMaxConcurrency", "%d is outside %d..%d (child executions at once, the Lambda concurrency failback needs)", c.FailbackMaxConcurrency, dr.MinFailbackMaxConcurrency, dr.MaxFailbackMaxConcurrency)
	}
	if c.AssetDir == "" {
		return bad("assetDir", "must not be empty")
	}
	if c.FunctionsDir == "" {
		return bad("functionsDir", "must not be empty")
	}
	if e, err := schedule.Parse(c.BackupSchedule, schedule.Rule); err != nil || e.Kind() != "cron" {
		why := "AWS Backup plans take cron(...) expressions"
		if err != nil {
			why = err.Error()
		}
		return bad("backupSchedule", "%q is not a cron(minutes hours day-of-month month day-of-week year) expression: %s", c.BackupSchedule, why)
	} else if _, ok := e.MaxInterval(scheduleFrom, time.UTC); !ok {
		return bad("backupSchedule", "%q does not recur: it must fire at least twice a year", c.BackupSchedule)
	}
	if e, err := schedule.Parse(c.ReadinessSchedule, schedule.Rule); err != nil || e.Kind() != "rate" {
		return bad("readinessSchedule", "%q is not a rate(value unit) expression, e.g. rate(1 hour)", c.ReadinessSchedule)
	} else if d, _ := e.MaxInterval(scheduleFrom, time.UTC); d < minReadinessInterval || d > maxReadinessInterval {
		return bad("readinessSchedule", "%q runs every %s: it must be between %s and %s", c.ReadinessSchedule, d, minReadinessInterval, maxReadinessInterval)
	}
	for key, list := range map[string][]string{"notifyEmails": c.NotifyEmails, "notifyHttpsEndpoints": c.NotifyHTTPSEndpoints} {
		for i := 1; i < len(list); i++ {
			if list[i] == list[i-1] {
				return bad(key, "%q is listed twice", list[i])
			}
		}
	}
	for _, e := range c.NotifyEmails {
		if a, err := mail.ParseAddress(e); err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
			return bad("notifyEmails", "%q is not an email address (name@example.com, nothing else)", e)
		}
	}
	for _, e := range c.NotifyHTTPSEndpoints {
		u, err := url.Parse(e)
		switch {
		case err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "":
			return bad("notifyHttpsEndpoints", "%q is not an https:// URL: approval requests carry a task token, which only TLS may carry", e)
		case u.User != nil:
			return bad("notifyHttpsEndpoints", "%q carries credentials: they would be stored in the template; authenticate the endpoint otherwise", e)
		}
	}
	if c.NotifyTopicARN != "" {
		m := snsARNRE.FindStringSubmatch(c.NotifyTopicARN)
		if m == nil {
			return bad("notifyTopicArn", "%q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", c.NotifyTopicARN)
		}
		if m[1] != c.BackupRegion || m[2] != c.Account {
			return bad("notifyTopicArn", "%q must be in account %s and the backup region %s, where the DR state machines and alarms publish", c.NotifyTopicARN, c.Account, c.BackupRegion)
		}
		if strings.HasSuffix(m[3], ".fifo") {
			return bad("notifyTopicArn", "%q is a FIFO topic: CloudWatch alarms cannot publish to one; use a standard topic", c.NotifyTopicARN)
		}
	}
	if c.NotifyTopicKeyARN != "" {
		m := kmsARNRE.FindStringSubmatch(c.NotifyTopicKeyARN)
		switch {
		case c.NotifyTopicARN == "":
			return bad("notifyTopicKeyArn", "is the key of notifyTopicArn's topic: set notifyTopicArn too, or leave it empty (the created topic has its own key)")
		case m == nil:
			return bad("notifyTopicKeyArn", "%q is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)", c.NotifyTopicKeyARN)
		case m[1] != c.BackupRegion || m[2] != c.Account:
			return bad("notifyTopicKeyArn", "%q must be in account %s and the backup region %s, as its topic", c.NotifyTopicKeyARN, c.Account, c.BackupRegion)
		}
	}
	return nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// reader converts context values, keeping the first error so LoadConfig
// reports one key at a time in declaration order.
type reader struct {
	ctx ContextGetter
	err error
}

func (r *reader) fail(key, format string, args ...any) {
	if r.err == nil {
		r.err = &ConfigError{Key: key, Reason: fmt.Sprintf(format, args...)}
	}
}

func (r *reader) get(key string) (interface{}, bool) {
	k := ContextPrefix + key
	v := r.ctx.TryGetContext(&k)
	return v, v != nil
}

func (r *reader) str(key string, required bool) string {
	v, ok := r.get(key)
	if !ok {
		if required {
			r.fail(key, "missing (set it in cdk.json context or with -c %s%s=…)", ContextPrefix, key)
		}
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		r.fail(key, "must be a string, got %T", v)
		return ""
	}
	s = strings.TrimSpace(s)
	if required && s == "" {
		r.fail(key, "must not be empty")
	}
	return s
}

// strOr is an optional string key with a default.
func (r *reader) strOr(key, def string) string {
	if _, ok := r.get(key); !ok {
		return def
	}
	return r.str(key, true)
}

// optionalList is list for a key that may be absent (no elements).
func (r *reader) optionalList(key string) []string {
	if _, ok := r.get(key); !ok {
		return nil
	}
	return r.list(key)
}

func (r *reader) integer(key string) int {
	v, ok := r.get(key)
	if !ok {
		r.fail(key, "missing (set it in cdk.json context or with -c %s%s=…)", ContextPrefix, key)
		return 0
	}
	switch x := v.(type) {
	case float64:
		if x != float64(int(x)) {
			r.fail(key, "must be a whole number, got %v", x)
		}
		return int(x)
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		if err != nil {
			r.fail(key, "must be a whole number, got %q", x)
		}
		return n
	default:
		r.fail(key, "must be a whole number, got %T", v)
		return 0
	}
}

func (r *reader) boolean(key string) bool {
	v, ok := r.get(key)
	if !ok {
		r.fail(key, "missing (true or false)")
		return false
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			r.fail(key, "must be true or false, got %q", x)
		}
		return b
	default:
		r.fail(key, "must be true or false, got %T", v)
		return false
	}
}

// list accepts a JSON array (cdk.json), a JSON array in a string, or a
// comma-separated string (`-c pendulum:producerCidrs=10.0.0.0/8,192.0.2.0/24`).
func (r *reader) list(key string) []string {
	v, ok := r.get(key)
	if !ok {
		r.fail(key, "missing (a list of CIDRs)")
		return nil
	}
	var out []string
	switch x := v.(type) {
	case []interface{}:
		for _, e := range x {
			s, isStr := e.(string)
			if !isStr {
				r.fail(key, "every element must be a string, got %T", e)
				return nil
			}
			out = append(out, strings.TrimSpace(s))
		}
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				r.fail(key, "is not a JSON array of strings: %v", err)
				return nil
			}
		} else if s != "" {
			for _, p := range strings.Split(s, ",") {
				out = append(out, strings.TrimSpace(p))
			}
		}
	default:
		r.fail(key, "must be a list of strings, got %T", v)
		return nil
	}
	sort.Strings(out)
	return out
}

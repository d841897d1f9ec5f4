package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// mapContext is a ContextGetter over a map, as cdk.json would give it.
type mapContext map[string]interface{}

func (m mapContext) TryGetContext(key *string) interface{} { return m[*key] }

// validContext is cdk.json's example configuration.
func validContext() mapContext {
	return mapContext{
		"pendulum:account":                "111111111111",
		"pendulum:primaryRegion":          "us-east-1",
		"pendulum:backupRegion":           "us-east-2",
		"pendulum:namePrefix":             "pendulum",
		"pendulum:producerCidrs":          []interface{}{"203.0.113.0/24", "198.51.100.0/24"},
		"pendulum:primaryCertificateArn":  "",
		"pendulum:backupCertificateArn":   "",
		"pendulum:alarmEvaluationPeriods": float64(3),
		"pendulum:alarmDatapointsToAlarm": float64(3),
		"pendulum:probeTimeoutMs":         float64(3000),
		"pendulum:failoverApproval":       false,
		"pendulum:drillSchedule":          "cron(0 10 ? * TUE *)",
		"pendulum:nightlyBatchSchedule":   "cron(30 1 * * ? *)",
		"pendulum:noncurrentVersionDays":  float64(30),
		"pendulum:logRetentionDays":       float64(30),
		"pendulum:backupRetentionDays":    float64(35),
		"pendulum:streamRetentionHours":   float64(168),
		"pendulum:failbackBatchItems":     float64(1000),
		"pendulum:failbackMaxConcurrency": float64(100),
		"pendulum:assetDir":               "dist",
		"pendulum:functionsDir":           "functions",
	}
}

func TestLoadConfigValid(t *testing.T) {
	cfg, err := LoadConfig(validContext())
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if got, want := cfg.PrimaryRegion+"/"+cfg.BackupRegion, "us-east-1/us-east-2"; got != want {
		t.Fatalf("regions = %s, want %s", got, want)
	}
	if got, want := strings.Join(cfg.ProducerCIDRs, ","), "198.51.100.0/24,203.0.113.0/24"; got != want {
		t.Fatalf("ProducerCIDRs = %s, want %s", got, want)
	}
	if got := cfg.CertificateARN(cfg.PrimaryRegion) + cfg.CertificateARN(cfg.BackupRegion); got != "" {
		t.Fatalf("default certificates %q, want none (HTTP)", got)
	}
	if cfg.Machines == nil {
		t.Fatal("Machines is nil, want the embedded state machines")
	}
}

// TestLoadConfigStrings checks the `-c key=value` forms: every value a string.
func TestLoadConfigStrings(t *testing.T) {
	ctx := validContext()
	ctx["pendulum:producerCidrs"] = "10.0.0.0/8, 192.0.2.0/24"
	ctx["pendulum:alarmEvaluationPeriods"] = "5"
	ctx["pendulum:alarmDatapointsToAlarm"] = "2"
	ctx["pendulum:failoverApproval"] = "true"
	ctx["pendulum:primaryCertificateArn"] = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d-0000-1111-2222-333344445555"
	ctx["pendulum:backupCertificateArn"] = "arn:aws:acm:us-east-2:111111111111:certificate/0a1b2c3d-0000-1111-2222-333344445556"
	cfg, err := LoadConfig(ctx)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if got, want := len(cfg.ProducerCIDRs), 2; got != want {
		t.Fatalf("len(ProducerCIDRs) = %d, want %d", got, want)
	}
	if got, want := cfg.AlarmEvaluationPeriods*10+cfg.AlarmDatapointsToAlarm, 52; got != want {
		t.Fatalf("alarm periods/datapoints = %d, want %d", got, want)
	}
	if !cfg.FailoverApproval || cfg.CertificateARN(cfg.BackupRegion) != ctx["pendulum:backupCertificateArn"] {
		t.Fatalf("approval=%v backup certificate=%q, want true and the context's", cfg.FailoverApproval, cfg.CertificateARN(cfg.BackupRegion))
	}
}

func TestLoadConfigInvalid(t *testing.T) {
	tests := []struct {
		name string
		key  string
		val  interface{} // nil deletes the key
		want string      // in the message
	}{
		{"MissingAccount", "account", nil, "missing"},
		{"ShortAccount", "account", "12345", "12-digit"},
		{"BadPrimaryRegion", "primaryRegion", "Mars-1", "region"},
		{"SameRegions", "backupRegion", "us-east-1", "must differ"},
		{"MissingPrefix", "namePrefix", nil, "missing"},
		{"UppercasePrefix", "namePrefix", "Pendulum", "3-16"},
		{"LongPrefix", "namePrefix", "a-very-long-prefix-name", "3-16"},
		{"NoCIDRs", "producerCidrs", []interface{}{}, "at least one"},
		{"HostBitsCIDR", "producerCidrs", []interface{}{"10.0.0.1/8"}, "host bits"},
		{"NotCIDR", "producerCidrs", "not-a-cidr", "IPv4 CIDR"},
		{"CIDRNumber", "producerCidrs", float64(3), "list of strings"},
		{"OneCertificate", "primaryCertificateArn", "arn:aws:acm:us-east-1:111111111111:certificate/abc", "both"},
		{"ZeroPeriods", "alarmEvaluationPeriods", float64(0), "1..60"},
		{"FractionPeriods", "alarmEvaluationPeriods", 2.5, "whole number"},
		{"TooManyDatapoints", "alarmDatapointsToAlarm", float64(4), "1..alarmEvaluationPeriods"},
		{"ProbeTimeout", "probeTimeoutMs", float64(60000), "100..20000"},
		{"ApprovalNotBool", "failoverApproval", "maybe", "true or false"},
		{"MissingApproval", "failoverApproval", nil, "missing"},
		{"DrillSchedule", "drillSchedule", "every tuesday", "cron"},
		{"NightlySchedule", "nightlyBatchSchedule", "rate(1 fortnight)", "cron"},
		{"LogRetention", "logRetentionDays", float64(31), "CloudWatch Logs retention"},
		{"NoncurrentDays", "noncurrentVersionDays", float64(0), "1..3650"},
		{"BackupRetention", "backupRetentionDays", "x", "whole number"},
		{"StreamRetention", "streamRetentionHours", float64(12), "24..8760"},
		{"FailbackBatch", "failbackBatchItems", float64(1001), "1..1000"},
		{"FailbackConcurrency", "failbackMaxConcurrency", float64(0), "1..10000"},
		{"EmptyAssetDir", "assetDir", "", "must not be empty"},
		{"BackupScheduleRate", "backupSchedule", "rate(1 day)", "AWS Backup plans take cron"},
		{"BackupScheduleFields", "backupSchedule", "cron(0 3 * * *)", "6 fields"},
		{"BackupScheduleOnce", "backupSchedule", "cron(0 3 1 1 ? 2020)", "does not recur"},
		{"EmptyBackupSchedule", "backupSchedule", "", "must not be empty"},
		{"ReadinessCron", "readinessSchedule", "cron(0 * * * ? *)", "rate(value unit)"},
		{"ReadinessTooOften", "readinessSchedule", "rate(1 minute)", "between 5m0s and 24h0m0s"},
		{"ReadinessTooRare", "readinessSchedule", "rate(2 days)", "between 5m0s and 24h0m0s"},
		{"BadEmail", "notifyEmails", []interface{}{"not-an-email"}, "not an email address"},
		{"NamedEmail", "notifyEmails", "Ops <ops@example.com>", "nothing else"},
		{"EmailNoDomain", "notifyEmails", "ops@localhost", "not an email address"},
		{"DuplicateEmail", "notifyEmails", []interface{}{"ops@example.com", "ops@example.com"}, "listed twice"},
		{"EmailsNotList", "notifyEmails", float64(1), "list of strings"},
		{"HTTPEndpoint", "notifyHttpsEndpoints", []interface{}{"http://hooks.example.com/pendulum"}, "not an https:// URL"},
		{"NotURL", "notifyHttpsEndpoints", "hooks.example.com", "not an https:// URL"},
		{"EndpointCredentials", "notifyHttpsEndpoints", "https://user:secret@hooks.example.com/pendulum", "carries credentials"},
		{"BadTopicARN", "notifyTopicArn", "pendulum-dr", "not an SNS topic ARN"},
		{"TopicOtherRegion", "notifyTopicArn", "arn:aws:sns:us-east-1:111111111111:ops", "the backup region us-east-2"},
		{"TopicOtherAccount", "notifyTopicArn", "arn:aws:sns:us-east-2:222222222222:ops", "account 111111111111"},
		{"FIFOTopic", "notifyTopicArn", "arn:aws:sns:us-east-2:111111111111:ops.fifo", "FIFO"},
		{"KeyWithoutTopic", "notifyTopicKeyArn", "arn:aws:kms:us-east-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab", "set notifyTopicArn too"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := validContext()
			if tt.val == nil {
				delete(ctx, ContextPrefix+tt.key)
			} else {
				ctx[ContextPrefix+tt.key] = tt.val
			}
			if tt.key == "primaryCertificateArn" {
				ctx[ContextPrefix+"backupCertificateArn"] = ""
			}
			_, err := LoadConfig(ctx)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("LoadConfig error = %v, want a *ConfigError", err)
			}
			wantKey := tt.key
			if tt.key == "primaryCertificateArn" {
				wantKey = "backupCertificateArn"
			}
			if got := ce.Key; got != wantKey {
				t.Fatalf("error key = %q, want %q (%v)", got, wantKey, err)
			}
			if !strings.Contains(err.Error(), ContextPrefix+wantKey) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not name %s%s and say %q", err, ContextPrefix, wantKey, tt.want)
			}
		})
	}
}

// TestOptionalKeys: the schedules default (daily backups at 03:00 UTC,
// hourly readiness), their intervals are read from them, and the
// notification keys are optional and validated when given.
func TestOptionalKeys(t *testing.T) {
	cfg, err := LoadConfig(validContext())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BackupSchedule != DefaultBackupSchedule || cfg.BackupInterval() != 24*time.Hour || cfg.RecoveryPointMaxAge() != 36*time.Hour ||
		cfg.ReadinessSchedule != DefaultReadinessSchedule || cfg.ReadinessInterval() != time.Hour {
		t.Fatalf("defaults: backup %q (%v, max age %v), readiness %q (%v)", cfg.BackupSchedule, cfg.BackupInterval(), cfg.RecoveryPointMaxAge(), cfg.ReadinessSchedule, cfg.ReadinessInterval())
	}
	if len(cfg.NotifyEmails)+len(cfg.NotifyHTTPSEndpoints) != 0 || cfg.NotifyTopicARN != "" {
		t.Fatalf("notification defaults: %+v", cfg)
	}
	ctx := validContext()
	ctx["pendulum:backupSchedule"] = "cron(0 3,15 * * ? *)"
	ctx["pendulum:readinessSchedule"] = "rate(30 minutes)"
	ctx["pendulum:notifyEmails"] = "oncall@example.com, dr-team@example.org"
	ctx["pendulum:notifyHttpsEndpoints"] = []interface{}{"https://hooks.example.com/pendulum?team=dr"}
	ctx["pendulum:notifyTopicArn"] = "arn:aws:sns:us-east-2:111111111111:ops-alerts"
	ctx["pendulum:notifyTopicKeyArn"] = "arn:aws:kms:us-east-2:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	cfg, err = LoadConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BackupInterval() != 12*time.Hour || cfg.ReadinessInterval() != 30*time.Minute ||
		strings.Join(cfg.NotifyEmails, " ") != "dr-team@example.org oncall@example.com" || len(cfg.NotifyHTTPSEndpoints) != 1 {
		t.Fatalf("configured: %+v", cfg)
	}
}

func TestCertificateRegionMustMatch(t *testing.T) {
	ctx := validContext()
	ctx["pendulum:primaryCertificateArn"] = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3d"
	ctx["pendulum:backupCertificateArn"] = "arn:aws:acm:us-east-1:111111111111:certificate/0a1b2c3e"
	_, err := LoadConfig(ctx)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Key != "backupCertificateArn" || !strings.Contains(err.Error(), "us-east-2") {
		t.Fatalf("LoadConfig error = %v, want backupCertificateArn must be in us-east-2", err)
	}
}

func TestNamesFitLimits(t *testing.T) {
	n := Names{Prefix: "abcdefghijklmnop", Account: "111111111111"} // the longest prefix
	if got := len(n.LoadBalancer()); got > 32 {
		t.Fatalf("ALB name %q is %d characters, want ≤ 32", n.LoadBalancer(), got)
	}
	if got := len(n.Bucket("alb-logs", "ap-southeast-2")); got > 63 {
		t.Fatalf("bucket name %q is %d characters, want ≤ 63", n.Bucket("alb-logs", "ap-southeast-2"), got)
	}
	if got, want := n.GlueDatabase(), "abcdefghijklmnop_analytics"; got != want {
		t.Fatalf("GlueDatabase = %q, want %q", got, want)
	}
	if got, want := (Names{Prefix: "pd-x", Account: "1"}).GlueDatabase(), "pd_x_analytics"; got != want {
		t.Fatalf("GlueDatabase = %q, want %q", got, want)
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{"compact-plan": "CompactPlan", "dr-traffic": "DrTraffic", "failover": "Failover", "nightly-batch": "NightlyBatch"} {
		if got := topology.Camel(in); got != want {
			t.Fatalf("topology.Camel(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzLoadConfig feeds arbitrary strings (as `-c pendulum:key=value` would)
// into each key: LoadConfig never panics, and either fails with a
// *ConfigError naming a known key or returns a configuration that
// validates.
func FuzzLoadConfig(f *testing.F) {
	f.Add(0, "111111111111")
	f.Add(4, "10.0.0.0/8,192.0.2.0/24")
	f.Add(4, `["0.0.0.0/0"]`)
	f.Add(4, `[1,2]`)
	f.Add(5, "arn:aws:acm:us-east-1:111111111111:certificate/abc")
	f.Add(8, "12.5")
	f.Add(10, "yes")
	f.Add(11, "cron(0 10 ? * TUE *)")
	f.Add(13, "-1")
	f.Add(3, "pendulum-")
	f.Fuzz(func(t *testing.T, key int, value string) {
		if key < 0 {
			key = -key
		}
		ctx := validContext()
		k := ConfigKeys[key%len(ConfigKeys)]
		ctx[ContextPrefix+k] = value
		cfg, err := LoadConfig(ctx)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a *ConfigError", err)
			}
			known := false
			for _, ck := range ConfigKeys {
				known = known || ck == ce.Key
			}
			if !known {
				t.Fatalf("error names unknown key %q", ce.Key)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("LoadConfig returned a configuration that does not validate: %v", err)
		}
	})
}

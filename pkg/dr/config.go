package dr

import (
	"errors"
	"fmt"
	"github.com/pendulum-dr/pendulum/pkg/topology"
	"strings"
)

// The variables of the common DR environment (Config), each required; infra
// (drfunctions.go) sets them on every dr-* function.
const (
	// EnvPrimaryRegion names the variable holding the primary region, P.
	EnvPrimaryRegion = "PRIMARY_REGION"
	// EnvBackupRegion names the variable holding the backup region, B,
	// where the DR state machines and functions run.
	EnvBackupRegion = "BACKUP_REGION"
	// EnvGlobalRegion names the variable holding Global Accelerator's
	// control-plane region.
	EnvGlobalRegion = "GLOBAL_REGION"
	// EnvNamePrefix names the variable holding the deployment's name prefix
	// (pkg/topology Names.Prefix).
	EnvNamePrefix = "NAME_PREFIX"
	// EnvControlTable names the variable holding the DR control table in B.
	EnvControlTable = "CONTROL_TABLE"
	// EnvAggregatesTable names the variable holding the aggregates table,
	// the same name in P and B.
	EnvAggregatesTable = "AGGREGATES_TABLE"
	// EnvGlueDatabase names the variable holding the Glue catalog
	// database, the same name in both regions.
	EnvGlueDatabase = "GLUE_DATABASE"
	// EnvPrimaryRawBucket names the variable holding P's raw bucket.
	EnvPrimaryRawBucket = "PRIMARY_RAW_BUCKET"
	// EnvPrimaryCuratedBucket names the variable holding P's curated bucket.
	EnvPrimaryCuratedBucket = "PRIMARY_CURATED_BUCKET"
	// EnvBackupRawBucket names the variable holding B's raw bucket.
	EnvBackupRawBucket = "BACKUP_RAW_BUCKET"
	// EnvBackupCuratedBucket names the variable holding B's curated bucket.
	EnvBackupCuratedBucket = "BACKUP_CURATED_BUCKET"
	// EnvAcceleratorARN names the variable holding the Global Accelerator's
	// ARN.
	EnvAcceleratorARN = "ACCELERATOR_ARN"
	// EnvPrimaryEndpointGroupARN names the variable holding the
	// accelerator's endpoint group of P.
	EnvPrimaryEndpointGroupARN = "PRIMARY_ENDPOINT_GROUP_ARN"
	// EnvBackupEndpointGroupARN names the variable holding the
	// accelerator's endpoint group of B.
	EnvBackupEndpointGroupARN = "BACKUP_ENDPOINT_GROUP_ARN"
	// EnvLoadBalancerName names the variable holding the ingest ALB's name.
	EnvLoadBalancerName = "LOAD_BALANCER_NAME"
	// EnvTopicARN names the variable holding the DR notification topic's
	// ARN.
	EnvTopicARN = "TOPIC_ARN"
)

// Config is the common DR environment every dr-* Lambda reads (infra's
// drfunctions.go env()).
type Config struct {
	// PrimaryRegion (P), BackupRegion (B, where the DR state machines and
	// functions run) and GlobalRegion (us-west-2, Global Accelerator's
	// control plane).
	PrimaryRegion, BackupRegion, GlobalRegion string
	// NamePrefix is the deployment's name prefix (infra Names.Prefix).
	NamePrefix string
	// ControlTable (in B) and AggregatesTable (the same name in P and B).
	ControlTable, AggregatesTable string
	// GlueDatabase is the catalog database, the same name in both regions.
	GlueDatabase string
	// The raw and curated buckets of each region.
	PrimaryRawBucket, PrimaryCuratedBucket string
	BackupRawBucket, BackupCuratedBucket   string
	// AcceleratorARN and the endpoint group of each region.
	AcceleratorARN          string
	PrimaryEndpointGroupARN string
	BackupEndpointGroupARN  string
	// LoadBalancerName is the ingest ALB's name.
	LoadBalancerName string
	// TopicARN is the DR notification topic.
	TopicARN string
	// Region is where the function runs (AWS_REGION).
	Region string
}

// envVars lists the variables of Config with their fields, in a fixed order
// so errors list them predictably.
func (c *Config) envVars() []struct {
	name string
	dst  *string
} {
	return []struct {
		name string
		dst  *string
	}{
		{EnvPrimaryRegion, &c.PrimaryRegion}, {EnvBackupRegion, &c.BackupRegion}, {EnvGlobalRegion, &c.GlobalRegion},
		{EnvNamePrefix, &c.NamePrefix}, {EnvControlTable, &c.ControlTable}, {EnvAggregatesTable, &c.AggregatesTable},
		{EnvGlueDatabase, &c.GlueDatabase}, {EnvPrimaryRawBucket, &c.PrimaryRawBucket},
		{EnvPrimaryCuratedBucket, &c.PrimaryCuratedBucket}, {EnvBackupRawBucket, &c.BackupRawBucket},
		{EnvBackupCuratedBucket, &c.BackupCuratedBucket}, {EnvAcceleratorARN, &c.AcceleratorARN},
		{EnvPrimaryEndpointGroupARN, &c.PrimaryEndpointGroupARN}, {EnvBackupEndpointGroupARN, &c.BackupEndpointGroupARN},
		{EnvLoadBalancerName, &c.LoadBalancerName}, {EnvTopicARN, &c.TopicARN}, {"AWS_REGION", &c.Region},
	}
}

// ConfigFromEnv reads the common DR environment through getenv (os.Getenv
// in a function). Every variable is required: a DR Lambda missing one would
// fail at the worst moment, so it fails at start instead, naming each
// missing variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var missing []string
	for _, v := range c.envVars() {
		*v.dst = strings.TrimSpace(getenv(v.name))
		if *v.dst == "" {
			missing = append(missing, v.name)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("missing environment variables: %s", strings.Join(missing, ", ")))
	}
	if c.PrimaryRegion != "" && c.PrimaryRegion == c.BackupRegion {
		errs = append(errs, fmt.Errorf("%s and %s are both %s: they must differ", EnvPrimaryRegion, EnvBackupRegion, c.PrimaryRegion))
	}
	return c, errors.Join(errs...)
}

// RawBucket returns the raw bucket of region (the primary's or the backup's).
func (c Config) RawBucket(region string) (string, error) {
	switch region {
	case c.PrimaryRegion:
		return c.PrimaryRawBucket, nil
	case c.BackupRegion:
		return c.BackupRawBucket, nil
	}
	return "", c.UnknownRegion(region)
}

// CuratedBucket returns the curated bucket of region.
func (c Config) CuratedBucket(region string) (string, error) {
	switch region {
	case c.PrimaryRegion:
		return c.PrimaryCuratedBucket, nil
	case c.BackupRegion:
		return c.BackupCuratedBucket, nil
	}
	return "", c.UnknownRegion(region)
}

// EndpointGroupARN returns the accelerator endpoint group of region.
func (c Config) EndpointGroupARN(region string) (string, error) {
	switch region {
	case c.PrimaryRegion:
		return c.PrimaryEndpointGroupARN, nil
	case c.BackupRegion:
		return c.BackupEndpointGroupARN, nil
	}
	return "", c.UnknownRegion(region)
}

// WorkloadStack is the workload stack name of region, from the
// installation's naming scheme (pkg/topology), as infra deploys it.
func (c Config) WorkloadStack(region string) string {
	return topology.Names{Prefix: c.NamePrefix}.Stack("workload", region)
}

// AggregateFunction is the aggregate consumer's function name in every
// region, from the installation's naming scheme (pkg/topology).
func (c Config) AggregateFunction() string {
	return topology.Names{Prefix: c.NamePrefix}.Function("aggregate")
}

// UnknownRegion is the error for a region that is neither P nor B.
func (c Config) UnknownRegion(region string) error {
	return invalidf("region %q is neither the primary (%s) nor the backup (%s)", region, c.PrimaryRegion, c.BackupRegion)
}

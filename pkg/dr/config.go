package dr

import (
	"errors"
	"fmt"
	"github.com/pendulum-dr/pendulum/pkg/topology"
	"strings"
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
		{"PRIMARY_REGION", &c.PrimaryRegion}, {"BACKUP_REGION", &c.BackupRegion}, {"GLOBAL_REGION", &c.GlobalRegion},
		{"NAME_PREFIX", &c.NamePrefix}, {"CONTROL_TABLE", &c.ControlTable}, {"AGGREGATES_TABLE", &c.AggregatesTable},
		{"GLUE_DATABASE", &c.GlueDatabase}, {"PRIMARY_RAW_BUCKET", &c.PrimaryRawBucket},
		{"PRIMARY_CURATED_BUCKET", &c.PrimaryCuratedBucket}, {"BACKUP_RAW_BUCKET", &c.BackupRawBucket},
		{"BACKUP_CURATED_BUCKET", &c.BackupCuratedBucket}, {"ACCELERATOR_ARN", &c.AcceleratorARN},
		{"PRIMARY_ENDPOINT_GROUP_ARN", &c.PrimaryEndpointGroupARN}, {"BACKUP_ENDPOINT_GROUP_ARN", &c.BackupEndpointGroupARN},
		{"LOAD_BALANCER_NAME", &c.LoadBalancerName}, {"TOPIC_ARN", &c.TopicARN}, {"AWS_REGION", &c.Region},
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
		errs = append(errs, fmt.Errorf("PRIMARY_REGION and BACKUP_REGION are both %s: they must differ", c.PrimaryRegion))
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

package partition

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The variables Config is read from; infra sets them on the partitions
// function.
const (
	// EnvGlueDatabase names the variable holding the Glue database the
	// tables are in (Config.Database).
	EnvGlueDatabase = "GLUE_DATABASE"
	// EnvTables names the variable holding the tables to keep partitioned,
	// a JSON array of {"table","bucket","prefix","layout"} (Config.Tables).
	EnvTables = "TABLES"
)

// Config is the partitions function's configuration, read from the
// environment at start.
type Config struct {
	// Database is the Glue database (GLUE_DATABASE).
	Database string
	// Tables are the tables to keep partitioned (TABLES, a JSON array of
	// {"table","bucket","prefix","layout"}), normalized.
	Tables []Table
	// Region is the AWS region (AWS_REGION).
	Region string
}

// ConfigFromEnv reads and validates the configuration through getenv
// (os.Getenv in the function). Errors name the variable at fault.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	if c.Database = getenv(EnvGlueDatabase); c.Database == "" {
		errs = append(errs, errors.New(EnvGlueDatabase+" is required: the Glue database holding the tables"))
	}
	if c.Region = getenv("AWS_REGION"); c.Region == "" {
		errs = append(errs, errors.New("AWS_REGION is required"))
	}
	tables, err := parseTables(getenv(EnvTables))
	if err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", EnvTables, err))
	}
	c.Tables = tables
	return c, errors.Join(errs...)
}

// parseTables decodes and validates the TABLES JSON array.
func parseTables(s string) ([]Table, error) {
	if s == "" {
		return nil, errors.New(`is required: a JSON array of {"table","bucket","prefix","layout"}`)
	}
	var raw []Table
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf(`want a JSON array of {"table","bucket","prefix","layout"}: %w`, err)
	}
	if len(raw) == 0 {
		return nil, errors.New("lists no table")
	}
	names := make(map[string]bool)
	places := make(map[string]string)
	out := make([]Table, 0, len(raw))
	for i, t := range raw {
		n, err := t.Normalize()
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if names[n.Name] {
			return nil, fmt.Errorf("entry %d: table %s listed twice", i, n.Name)
		}
		names[n.Name] = true
		if other, dup := places[n.Location()]; dup {
			return nil, fmt.Errorf("entry %d: table %s has the same location %s as table %s", i, n.Name, n.Location(), other)
		}
		places[n.Location()] = n.Name
		out = append(out, n)
	}
	return out, nil
}

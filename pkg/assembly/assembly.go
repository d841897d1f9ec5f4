// Package assembly reads a CDK cloud assembly (the cdk.out directory `cdk
// synth` writes): its stacks, where each deploys, their templates and the
// order `cdk deploy --all` follows. The local rehearsal deploys exactly
// these templates into the simulator, so what it proves is about what
// `cdk deploy` would create.
//
// The cloud assembly schema (manifest.json) is documented at
// https://github.com/aws/aws-cdk-cli/tree/main/packages/%40aws-cdk/cloud-assembly-schema
package assembly

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// Stack is one CloudFormation stack of the assembly.
type Stack struct {
	// Name is the stack name (the artifact ID unless the app set one).
	Name string
	// Account and Region are where it deploys.
	Account, Region string
	// TemplateFile is the template's file name inside the assembly.
	TemplateFile string
	// Dependencies are the stacks that deploy before it.
	Dependencies []string
	// Template is the template body.
	Template []byte
	// DeployRoleARN and LookupRoleARN are the bootstrap roles `cdk deploy`
	// and `cdk diff` assume for the stack, and BootstrapVersionParameter
	// the SSM parameter holding the bootstrap version it requires, as the
	// manifest names them (the partition as the ${AWS::Partition}
	// placeholder).
	DeployRoleARN, LookupRoleARN, BootstrapVersionParameter string
	// ExecutionRoleARN is the CloudFormation execution role `cdk deploy`
	// passes for the stack (the bootstrap's cfn-exec role of its
	// environment), "" when the manifest names none.
	ExecutionRoleARN string
}

// NewPrimarySuffix ends the directory name of the app synthesized with the
// backup region as the primary and a new backup region (`make synth`
// writes cdk.out and cdk.out.new-primary): the assembly a new-primary
// drill deploys over the first one.
const NewPrimarySuffix = ".new-primary"

// Assembly is a read cloud assembly.
type Assembly struct {
	// Dir is the directory it was read from.
	Dir string
	// Stacks are in deploy order: each after every stack it depends on.
	Stacks []Stack
}

// ErrNoAssembly is returned (wrapped) by Read when dir holds no manifest.
var ErrNoAssembly = errors.New("no cloud assembly")

type manifest struct {
	Version   string `json:"version"`
	Artifacts map[string]struct {
		Type         string   `json:"type"`
		Environment  string   `json:"environment"`
		Dependencies []string `json:"dependencies"`
		Properties   struct {
			TemplateFile     string `json:"templateFile"`
			StackName        string `json:"stackName"`
			AssumeRoleARN    string `json:"assumeRoleArn"`
			BootstrapVersion string `json:"bootstrapStackVersionSsmParameter"`
			LookupRole       struct {
				ARN string `json:"arn"`
			} `json:"lookupRole"`
			CloudFormationExecutionRoleArn string `json:"cloudFormationExecutionRoleArn"`
		} `json:"properties"`
	} `json:"artifacts"`
}

// Read reads the assembly in dir.
func Read(dir string) (*Assembly, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w (run `make synth`)", dir, ErrNoAssembly)
	}
	if err != nil {
		return nil, fmt.Errorf("read assembly manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	stacks := map[string]*Stack{}
	for id, a := range m.Artifacts {
		if a.Type != "aws:cloudformation:stack" {
			continue
		}
		account, region, ok := parseEnvironment(a.Environment)
		if !ok {
			return nil, fmt.Errorf("stack %s: environment %q is not aws://ACCOUNT/REGION (every stack needs an explicit account and region)", id, a.Environment)
		}
		name := a.Properties.StackName
		if name == "" {
			name = id
		}
		if a.Properties.TemplateFile == "" || strings.Contains(a.Properties.TemplateFile, "..") {
			return nil, fmt.Errorf("stack %s: bad templateFile %q", id, a.Properties.TemplateFile)
		}
		body, err := os.ReadFile(filepath.Join(dir, a.Properties.TemplateFile))
		if err != nil {
			return nil, fmt.Errorf("stack %s: %w", id, err)
		}
		s := &Stack{Name: name, Account: account, Region: region, TemplateFile: a.Properties.TemplateFile, Template: body,
			DeployRoleARN: a.Properties.AssumeRoleARN, LookupRoleARN: a.Properties.LookupRole.ARN, BootstrapVersionParameter: a.Properties.BootstrapVersion,
			// The manifest leaves the partition to the deployment.
			ExecutionRoleARN: strings.ReplaceAll(a.Properties.CloudFormationExecutionRoleArn, "${AWS::Partition}", "aws")}
		for _, d := range a.Dependencies {
			if t, ok := m.Artifacts[d]; ok && t.Type == "aws:cloudformation:stack" {
				s.Dependencies = append(s.Dependencies, d)
			}
		}
		sort.Strings(s.Dependencies)
		stacks[id] = s
	}
	if len(stacks) == 0 {
		return nil, fmt.Errorf("read %s: the manifest lists no CloudFormation stack: %w", dir, ErrNoAssembly)
	}
	order, err := deployOrder(stacks)
	if err != nil {
		return nil, err
	}
	a := &Assembly{Dir: dir}
	for _, id := range order {
		s := *stacks[id]
		// Dependencies by stack name, as the stacks are known by.
		for i, d := range s.Dependencies {
			s.Dependencies[i] = stacks[d].Name
		}
		a.Stacks = append(a.Stacks, s)
	}
	return a, nil
}

// Topology reads the installation's account, name prefix and regions
// from the assembly's stack names (<prefix>-data-<region>, …-global,
// …-recovery-<region>: pkg/topology's scheme): B is where the recovery
// stack is, P the other workload region.
func (a *Assembly) Topology() (topology.Names, topology.Regions, error) {
	var n topology.Names
	var r topology.Regions
	for _, s := range a.Stacks {
		if i := strings.Index(s.Name, "-recovery-"); i > 0 {
			n = topology.Names{Prefix: s.Name[:i], Account: s.Account}
			r.Backup = s.Region
		}
	}
	if r.Backup == "" {
		return n, r, fmt.Errorf("the assembly in %s has no recovery stack", a.Dir)
	}
	for _, s := range a.Stacks {
		if strings.HasPrefix(s.Name, n.Prefix+"-workload-") && s.Region != r.Backup {
			r.Primary = s.Region
		}
	}
	if r.Primary == "" {
		return n, r, fmt.Errorf("the assembly in %s has no primary workload stack", a.Dir)
	}
	return n, r, nil
}

// Stack returns the named stack.
func (a *Assembly) Stack(name string) (Stack, bool) {
	for _, s := range a.Stacks {
		if s.Name == name {
			return s, true
		}
	}
	return Stack{}, false
}

var envPattern = regexp.MustCompile(`^aws://([0-9]{12})/([a-z]{2}(-[a-z]+)+-[0-9])$`)

func parseEnvironment(env string) (account, region string, ok bool) {
	m := envPattern.FindStringSubmatch(env)
	if m == nil {
		return "", "", false
	}
	return m[1], m[2], true
}

// deployOrder sorts stack IDs so each follows its dependencies (ties by
// ID), or names a cycle.
func deployOrder(stacks map[string]*Stack) ([]string, error) {
	ids := make([]string, 0, len(stacks))
	for id := range stacks {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	state := map[string]int{}
	var order []string
	var visit func(id string, path []string) error
	visit = func(id string, path []string) error {
		switch state[id] {
		case 1:
			return fmt.Errorf("stack dependency cycle: %s", strings.Join(append(path, id), " → "))
		case 2:
			return nil
		}
		state[id] = 1
		for _, d := range stacks[id].Dependencies {
			if err := visit(d, append(path, id)); err != nil {
				return err
			}
		}
		state[id] = 2
		order = append(order, id)
		return nil
	}
	for _, id := range ids {
		if err := visit(id, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

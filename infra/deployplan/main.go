// Command deployplan reads a synthesized cloud assembly (cdk.out) and
// prints what the Makefile's deployment targets act on, so they name
// exactly the app's stacks and environments, never a second list of them:
//
//	deployplan [-assembly DIR] environments     aws://ACCOUNT/REGION of every stack (what `make bootstrap` bootstraps)
//	deployplan [-assembly DIR] plan             each stack in deploy order, its region and dependencies
//	deployplan [-assembly DIR] destroy-order    the stacks in the order `make destroy` deletes them
//	deployplan [-assembly DIR] destroy-plan     that order and what deleting the stacks keeps
//	deployplan [-assembly DIR] readiness        the readiness function's name and region (make verify-deploy)
//	deployplan [-assembly DIR] deployer-policy  the least-privilege IAM policy of who runs make deploy/diff/verify-deploy
//	deployplan verify FILE                      print a readiness report (aws lambda invoke's output); exit 1 unless ready
//
// See docs/deploy.md.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/pendulum-dr/pendulum/pkg/assembly"
	"github.com/pendulum-dr/pendulum/pkg/readiness"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

func main() {
	dir := flag.String("assembly", "cdk.out", "the cloud assembly directory")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: deployplan [-assembly DIR] environments|plan|destroy-order|destroy-plan|readiness|deployer-policy, or deployplan verify FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(os.Stdout, *dir, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "deployplan:", err)
		var nr notReady
		if errors.As(err, &nr) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

// notReady is verify's error for a report that is not ready.
type notReady struct{ failing []string }

func (e notReady) Error() string {
	return "the installation is not ready: " + strings.Join(e.failing, ", ") + " failed"
}

func run(w io.Writer, dir string, args []string) error {
	if len(args) == 0 {
		return errors.New("no command (environments, plan, destroy-order, destroy-plan, readiness, deployer-policy, verify FILE)")
	}
	if args[0] == "verify" {
		if len(args) != 2 {
			return errors.New("verify takes the file aws lambda invoke wrote")
		}
		return verify(w, args[1])
	}
	if len(args) != 1 {
		return fmt.Errorf("%s takes no argument", args[0])
	}
	a, err := assembly.Read(dir)
	if err != nil {
		return err
	}
	switch args[0] {
	case "environments":
		fmt.Fprintln(w, strings.Join(environments(a), " "))
	case "plan":
		printPlan(w, a)
	case "destroy-order":
		order, err := destroyOrder(a)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, strings.Join(order, " "))
	case "destroy-plan":
		return printDestroyPlan(w, a)
	case "readiness":
		name, region, err := readinessFunction(a)
		if err != nil {
			return err
		}
		fmt.Fprintln(w, name, region)
	case "deployer-policy":
		p, err := deployerPolicy(a)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(p, "", "  ")
		fmt.Fprintln(w, string(b))
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

// environments are the stacks' aws://ACCOUNT/REGION, each once, in deploy
// order of their first stack.
func environments(a *assembly.Assembly) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range a.Stacks {
		e := "aws://" + s.Account + "/" + s.Region
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// printPlan prints each stack in deploy order with what it waits for.
func printPlan(w io.Writer, a *assembly.Assembly) {
	fmt.Fprintf(w, "cdk deploy --all deploys %d stacks of %s, each after the stacks it depends on:\n", len(a.Stacks), a.Dir)
	for i, s := range a.Stacks {
		after := "nothing"
		if len(s.Dependencies) > 0 {
			after = strings.Join(s.Dependencies, ", ")
		}
		fmt.Fprintf(w, "  %d. %-30s %-10s after %s\n", i+1, s.Name, s.Region, after)
	}
}

// retained is a resource a stack's deletion keeps.
type retained struct {
	Stack, LogicalID, Type, Name, Policy string
}

// nameProperties name a resource of each retained type.
var nameProperties = map[string]string{
	"AWS::S3::Bucket": "BucketName", "AWS::DynamoDB::Table": "TableName", "AWS::Backup::BackupVault": "BackupVaultName",
	"AWS::Logs::LogGroup": "LogGroupName", "AWS::KMS::Key": "Description", "AWS::Logs::LogStream": "LogStreamName",
}

// retainedResources are the resources whose DeletionPolicy keeps them when
// their stack is deleted, by stack in reverse deploy order.
func retainedResources(a *assembly.Assembly) ([]retained, error) {
	var out []retained
	for i := len(a.Stacks) - 1; i >= 0; i-- {
		s := a.Stacks[i]
		var t struct {
			Resources map[string]struct {
				Type           string
				DeletionPolicy string
				Properties     map[string]any
			}
		}
		if err := json.Unmarshal(s.Template, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", s.TemplateFile, err)
		}
		var ids []string
		for id, r := range t.Resources {
			if r.DeletionPolicy == "Retain" || r.DeletionPolicy == "RetainExceptOnCreate" {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		for _, id := range ids {
			r := t.Resources[id]
			name, _ := r.Properties[nameProperties[r.Type]].(string)
			out = append(out, retained{Stack: s.Name, LogicalID: id, Type: r.Type, Name: name, Policy: r.DeletionPolicy})
		}
	}
	return out, nil
}

// destroyOrder is the order `make destroy` deletes the stacks in: each
// before the stacks it depends on (the deploy order reversed), and the
// dormant workload stacks (those with the Active parameter) first of all.
// A dormant stack activated by a failover was last updated as its
// execution role, which another stack (the Recovery stack) creates, and
// CloudFormation deletes a stack as the role it was last updated with: that
// role must still exist.
func destroyOrder(a *assembly.Assembly) ([]string, error) {
	var first, rest []string
	for i := len(a.Stacks) - 1; i >= 0; i-- {
		s := a.Stacks[i]
		var t struct{ Parameters map[string]any }
		if err := json.Unmarshal(s.Template, &t); err != nil {
			return nil, fmt.Errorf("%s: %w", s.TemplateFile, err)
		}
		if _, dormant := t.Parameters[topology.ActiveParameter]; dormant {
			first = append(first, s.Name)
		} else {
			rest = append(rest, s.Name)
		}
	}
	// Nothing depends on a dormant stack, so deleting it first breaks no
	// dependency.
	for _, s := range a.Stacks {
		for _, d := range s.Dependencies {
			if slices.Contains(first, d) {
				return nil, fmt.Errorf("stack %s depends on the dormant stack %s", s.Name, d)
			}
		}
	}
	return append(first, rest...), nil
}

// printDestroyPlan prints the order `make destroy` deletes the stacks in
// and what each keeps.
func printDestroyPlan(w io.Writer, a *assembly.Assembly) error {
	rs, err := retainedResources(a)
	if err != nil {
		return err
	}
	order, err := destroyOrder(a)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "make destroy deletes, in this order (B's dormant workload first, then each stack before those it depends on):")
	for _, name := range order {
		s, _ := a.Stack(name)
		fmt.Fprintf(w, "  %s (%s)\n", s.Name, s.Region)
	}
	fmt.Fprintln(w, "and keeps (DeletionPolicy Retain; docs/deploy.md \"Teardown\" says how to remove them):")
	for _, r := range rs {
		name := r.Name
		if name == "" {
			name = r.LogicalID
		}
		fmt.Fprintf(w, "  %-30s %-26s %s\n", r.Stack, r.Type, name)
	}
	return nil
}

// readinessFunction is the readiness function's name and region: the
// Recovery stack's output readiness names (infra ReadinessOutput), which
// refers to the function whose FunctionName the template fixes.
func readinessFunction(a *assembly.Assembly) (name, region string, err error) {
	for _, s := range a.Stacks {
		var t struct {
			Outputs   map[string]struct{ Value any }
			Resources map[string]struct {
				Type       string
				Properties map[string]any
			}
		}
		if err := json.Unmarshal(s.Template, &t); err != nil {
			return "", "", fmt.Errorf("%s: %w", s.TemplateFile, err)
		}
		o, ok := t.Outputs[ReadinessOutput]
		if !ok {
			continue
		}
		ref, _ := o.Value.(map[string]any)["Ref"].(string)
		r, ok := t.Resources[ref]
		name, _ = r.Properties["FunctionName"].(string)
		if !ok || r.Type != "AWS::Lambda::Function" || name == "" {
			return "", "", fmt.Errorf("%s: output %s does not name a function by a fixed name", s.Name, ReadinessOutput)
		}
		return name, s.Region, nil
	}
	return "", "", fmt.Errorf("no stack of %s has the output %s", a.Dir, ReadinessOutput)
}

// ReadinessOutput is the Recovery stack's output naming the readiness
// function.
const ReadinessOutput = readiness.OutputFunctionName

// verify prints a readiness report and fails unless it is ready.
func verify(w io.Writer, file string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	var rep readiness.Report
	if err := json.Unmarshal(raw, &rep); err != nil || rep.At == "" {
		// The Lambda's own error answer ({"errorMessage":…}).
		return fmt.Errorf("%s is not a readiness report (%v): %s", file, err, strings.TrimSpace(string(raw)))
	}
	verdict := "READY"
	if !rep.Ready {
		verdict = "NOT READY"
	}
	fmt.Fprintf(w, "%s at %s, DR mode %s\n", verdict, rep.At, rep.Mode)
	for _, c := range rep.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %-14s %s\n", mark, c.Name, c.Detail)
	}
	if !rep.Ready {
		return notReady{failing: rep.Failing}
	}
	return nil
}

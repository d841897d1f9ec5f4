package local

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/fault"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// lambdaServiceErrors are the Lambda service's error names as Step Functions
// reports failed invocations (the function never ran or its answer was lost).
var lambdaServiceErrors = []string{"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
	"Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException", "Lambda.Unknown"}

// notSimulated are real AWS error names the definitions retry on that the
// simulator never returns, so no local run exercises those Retry entries.
// The test fails when one of them becomes produced (drop it here) and when
// a definition uses a name that is neither produced nor listed here.
var notSimulated = map[string]string{
	"DynamoDb.InternalServerErrorException":          "DynamoDB 500s: the simulator's DynamoDB has no server faults",
	"DynamoDb.ContinuousBackupsUnavailableException": "UpdateContinuousBackups right after a restore: the simulator enables PITR at once",
	"Sns.ThrottledException":                         "SNS publish throttling is not simulated",
	"Sns.InternalErrorException":                     "SNS 500s are not simulated",
}

// simCodes returns the AWS error codes pkg/sim's source returns: generic
// API errors by code and the SDK's typed errors by type name.
func simCodes(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../sim/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("read the simulator's source: %v", err)
	}
	re := regexp.MustCompile(`apiErr\("([A-Za-z]+)"|Code: +"([A-Za-z]+)"|types\.([A-Z][A-Za-z]+)\{`)
	codes := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			for _, c := range m[1:] {
				if c != "" {
					codes[strings.TrimSuffix(c, "Exception")+"Exception"] = true
				}
			}
		}
	}
	// Errors without a service response: the integration names them
	// <Prefix>.SdkClientException.
	codes["SdkClientException"] = true
	return codes
}

// errorNames walks a definition: every ErrorEquals name, and every error
// name the definition raises itself (Fail states).
func errorNames(v any, used, raised map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		if x["Type"] == "Fail" {
			if e, ok := x["Error"].(string); ok {
				raised[e] = true
			}
		}
		if names, ok := x["ErrorEquals"].([]any); ok {
			for _, n := range names {
				if s, ok := n.(string); ok {
					used[s] = true
				}
			}
		}
		for _, c := range x {
			errorNames(c, used, raised)
		}
	case []any:
		for _, c := range x {
			errorNames(c, used, raised)
		}
	}
}

// TestErrorNames: every name a Retry or Catch matches is one something can
// produce — a States.* name, a pkg/fault name a Lambda step returns, a
// Lambda service error, an aws-sdk integration error of a code the
// simulator returns, or a name a definition raises itself — so no Retry or
// Catch is dead code that merely looks safe.
func TestErrorNames(t *testing.T) {
	l := newLocal(t, Options{NoAutoFailover: true, NoCanary: true})
	codes := simCodes(t)
	allowed := map[string]bool{}
	for _, n := range fault.Names {
		allowed[n] = true
	}
	for _, n := range lambdaServiceErrors {
		allowed[n] = true
	}
	for _, service := range []string{"dynamodb", "backup", "sns", "cloudformation", "cloudwatch", "s3", "glue", "sqs", "kinesis"} {
		for code := range codes {
			allowed[states.SDKServicePrefix(service)+"."+code] = true
		}
	}
	if !allowed["DynamoDb.TableAlreadyExistsException"] || !allowed["Backup.ServiceUnavailableException"] || allowed["DynamoDb.MadeUpException"] {
		t.Fatal("the allowed names are not what the simulator produces")
	}
	used, raised := map[string]bool{}, map[string]bool{}
	for _, name := range l.MachineNames() {
		def, err := l.Definition(name)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(def, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		errorNames(doc, used, raised)
	}
	if len(used) == 0 {
		t.Fatal("no ErrorEquals found: the walk is broken")
	}
	var unknown, stale []string
	for n := range used {
		switch {
		case strings.HasPrefix(n, "States."), allowed[n], raised[n]:
			if _, listed := notSimulated[n]; listed && !strings.HasPrefix(n, "States.") {
				stale = append(stale, n)
			}
		case notSimulated[n] != "":
		default:
			unknown = append(unknown, n)
		}
	}
	sort.Strings(unknown)
	sort.Strings(stale)
	if len(unknown) > 0 {
		t.Errorf("ErrorEquals names nothing produces: %s", strings.Join(unknown, ", "))
	}
	if len(stale) > 0 {
		t.Errorf("listed as not simulated but produced now (drop them from notSimulated): %s", strings.Join(stale, ", "))
	}
}

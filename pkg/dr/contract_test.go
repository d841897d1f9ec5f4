package dr

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/pendulum-dr/pendulum/pkg/fault"
)

// stepInputs maps each ${DrXxxFunctionArn} placeholder to the input type
// of its step.
var stepInputs = map[string]any{
	"Control": ControlInput{}, "Stack": StackInput{}, "Restore": RestoreInput{}, "Reconcile": ReconcileInput{},
	"Traffic": TrafficInput{}, "Probe": ProbeInput{}, "Copyback": CopyInput{}, "Merge": MergeInput{},
	"Drain": DrainInput{}, "Verify": VerifyInput{}, "Report": ReportInput{}, "Replay": ReplayInput{},
}

func jsonFields(v any) map[string]bool {
	out := map[string]bool{}
	var add func(t reflect.Type)
	add = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.Anonymous && f.Tag.Get("json") == "" {
				add(f.Type) // an embedded struct's fields are the input's own
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out[name] = true
		}
	}
	add(reflect.TypeOf(v))
	return out
}

// TestStateMachineContract reads the DR state machines (statemachines/,
// or DR_ASL_DIR while they live elsewhere) and checks that every dr-*
// Lambda task passes only fields its step's input has, and retries or
// catches only error names the Go code produces.
func TestStateMachineContract(t *testing.T) {
	dir := os.Getenv("DR_ASL_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "statemachines")
	}
	re := regexp.MustCompile(`^\$\{Dr(\w+)FunctionArn\}$`)
	found := 0
	for _, name := range []string{"failover", "failback", "drill"} {
		raw, err := os.ReadFile(filepath.Join(dir, name+".asl.json"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var walk func(states map[string]any)
		walk = func(states map[string]any) {
			for sname, s := range states {
				st := s.(map[string]any)
				for _, b := range asSlice(st["Branches"]) {
					walk(b.(map[string]any)["States"].(map[string]any))
				}
				if proc, ok := st["ItemProcessor"].(map[string]any); ok {
					walk(proc["States"].(map[string]any))
				}
				res, _ := st["Resource"].(string)
				m := re.FindStringSubmatch(res)
				if m == nil {
					continue
				}
				found++
				in, ok := stepInputs[m[1]]
				if !ok {
					t.Errorf("%s.%s: no step for %s", name, sname, res)
					continue
				}
				fields := jsonFields(in)
				params, _ := st["Parameters"].(map[string]any)
				for k := range params {
					if !fields[strings.TrimSuffix(k, ".$")] {
						t.Errorf("%s.%s passes %q, which %T does not have", name, sname, k, in)
					}
				}
				for _, key := range []string{"Retry", "Catch"} {
					for _, r := range asSlice(st[key]) {
						for _, e := range asSlice(r.(map[string]any)["ErrorEquals"]) {
							n := e.(string)
							if !strings.HasPrefix(n, "States.") && !strings.HasPrefix(n, "Lambda.") && !contains(fault.Names, n) {
								t.Errorf("%s.%s %s on %q: no Go error has that name", name, sname, key, n)
							}
						}
					}
				}
			}
		}
		walk(doc["States"].(map[string]any))
	}
	if found == 0 {
		t.Skipf("no DR state machines in %s (set DR_ASL_DIR)", dir)
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestErrorsNameFaults checks that the steps' errors come out of
// fault.Edge, the functions' edge, as the pkg/fault type whose name the
// state machines match.
func TestErrorsNameFaults(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{invalidf("bad"), "*fault.InvalidInputError"},
		{conflictf("held"), "*fault.ConflictError"},
		{notFoundf("none"), "*fault.NotFoundError"},
		{transientf("later"), "*fault.TransientError"},
		{errors.New("other"), "*fault.InternalError"},
	}
	for _, tc := range tests {
		if got := reflect.TypeOf(fault.Edge(tc.err)).String(); got != tc.want {
			t.Errorf("fault.Edge(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{}
	for _, v := range (&Config{}).envVars() {
		env[v.name] = "x-" + strings.ToLower(v.name)
	}
	env["PRIMARY_REGION"], env["BACKUP_REGION"] = regionP, regionB
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.ControlTable != "x-control_table" || cfg.GlobalRegion != "x-global_region" {
		t.Fatalf("cfg = %+v, %v", cfg, err)
	}
	delete(env, "CONTROL_TABLE")
	delete(env, "ACCELERATOR_ARN")
	env["BACKUP_REGION"] = regionP
	_, err = ConfigFromEnv(func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "CONTROL_TABLE, ACCELERATOR_ARN") || !strings.Contains(err.Error(), "must differ") {
		t.Fatalf("err = %v", err)
	}
}

// TestFailoverDegradedStages: every stage the failover's aggregates branch
// ends degraded with is one dr-control's degrade accepts, and each is used.
func TestFailoverDegradedStages(t *testing.T) {
	dir := os.Getenv("DR_ASL_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "statemachines")
	}
	raw, err := os.ReadFile(filepath.Join(dir, "failover.asl.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("no failover.asl.json in %s (set DR_ASL_DIR)", dir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		States map[string]struct {
			Branches []struct {
				States map[string]struct {
					Type       string
					Parameters map[string]any
				}
			}
		}
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, b := range doc.States["Recover"].Branches {
		for name, st := range b.States {
			if st.Type != "Pass" || st.Parameters["degraded"] != true {
				continue
			}
			stage, _ := st.Parameters["stage"].(string)
			switch stage {
			case StageRestore, StageTable, StageReplay:
				used[stage] = true
			default:
				t.Errorf("failover state %s ends degraded with stage %q, which dr-control's degrade refuses", name, stage)
			}
		}
	}
	for _, s := range []string{StageRestore, StageTable, StageReplay} {
		if !used[s] {
			t.Errorf("no failover state ends degraded with stage %q", s)
		}
	}
}

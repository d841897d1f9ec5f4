// Package statemachines embeds the Amazon States Language documents Pendulum
// deploys, so the CDK app and the local runner use the very same bytes.
//
// The documents carry CloudFormation DefinitionSubstitutions placeholders
// (`${Name}`): the CDK app hands the raw Definition and its Placeholders to
// CloudFormation, which substitutes them at deploy time; the local runner
// calls Render with the simulated ARNs. Names starting with "$$" or "$." are
// JSONPath, not placeholders, and are never touched.
package statemachines

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
)

//go:embed *.asl.json
var files embed.FS

// suffix is the file name suffix of every embedded state machine.
const suffix = ".asl.json"

// ErrUnknown is returned for a state machine name that is not embedded.
var ErrUnknown = errors.New("unknown state machine")

// placeholder matches a DefinitionSubstitutions key as CloudFormation reads
// it: ${Name}, where Name is letters, digits and underscores. JSONPath such as
// "$.x" or "$$.Execution" has no brace after the dollar and never matches.
var placeholder = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)\}`)

// Names returns the embedded state machines' names (file names without
// ".asl.json"), sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		// The embedded FS is fixed at build time; reading its root cannot fail.
		panic(fmt.Sprintf("statemachines: read embedded files: %v", err))
	}
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), suffix); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Definition returns the raw ASL document of the named state machine, with
// its ${Name} placeholders in place.
func Definition(name string) ([]byte, error) {
	if strings.ContainsAny(name, "/\\") || name == "" {
		return nil, fmt.Errorf("state machine %q: %w", name, ErrUnknown)
	}
	b, err := files.ReadFile(name + suffix)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("state machine %q (have %s): %w", name, strings.Join(Names(), ", "), ErrUnknown)
		}
		return nil, fmt.Errorf("read state machine %q: %w", name, err)
	}
	return b, nil
}

// Placeholders returns the distinct DefinitionSubstitutions keys the named
// state machine uses, sorted.
func Placeholders(name string) ([]string, error) {
	def, err := Definition(name)
	if err != nil {
		return nil, err
	}
	return placeholdersIn(def), nil
}

func placeholdersIn(def []byte) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range placeholder.FindAllSubmatch(def, -1) {
		k := string(m[1])
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Render returns the named state machine with every ${Name} placeholder
// replaced by subs[Name], as CloudFormation's DefinitionSubstitutions would.
// It fails, naming them, if any placeholder has no value. Values are inserted
// verbatim, so they must not need JSON escaping (ARNs, names and numbers
// don't); a value that would break the JSON string it lands in is rejected.
// Extra keys in subs are ignored, as CloudFormation ignores them.
func Render(name string, subs map[string]string) ([]byte, error) {
	def, err := Definition(name)
	if err != nil {
		return nil, err
	}
	return render(name, def, subs)
}

func render(name string, def []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	for _, k := range placeholdersIn(def) {
		v, ok := subs[k]
		if !ok {
			missing = append(missing, k)
			continue
		}
		if strings.ContainsAny(v, "\"\\\n\r\t") {
			return nil, fmt.Errorf("render state machine %q: substitution %s=%q contains characters that need JSON escaping", name, k, v)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("render state machine %q: no value for placeholder(s) %s", name, "${"+strings.Join(missing, "}, ${")+"}")
	}
	return placeholder.ReplaceAllFunc(def, func(m []byte) []byte {
		return []byte(subs[string(m[2:len(m)-1])])
	}), nil
}

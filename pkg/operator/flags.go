package operator

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// errHelp is returned by parse for -h/--help: the usage is printed.
var errHelp = errors.New("help")

// invocation is one run of a command: its flags, arguments and session.
type invocation struct {
	env     Env
	fs      *flag.FlagSet
	conn    Connection
	local   bool
	args    []string // positional arguments
	forward []string // the arguments without --local, for Env.Local
	session *Session
	// the command's own flag values
	values map[string]any
	// input is a start command's execution input, built by its check.
	input []byte
}

// DefaultAssembly is the cloud assembly `make synth` writes.
const DefaultAssembly = "cdk.out"

// parse parses the command's flags: its own and the connection flags.
func (c *Command) parse(args []string, env Env) (*invocation, error) {
	inv := &invocation{env: env, values: map[string]any{}}
	fs := flag.NewFlagSet("pendulum "+c.Name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	inv.fs = fs
	fs.StringVar(&inv.conn.Assembly, "assembly", DefaultAssembly, "the cloud assembly `directory` the installation was deployed from (its names and regions)")
	fs.StringVar(&inv.conn.Profile, "profile", "", "the AWS shared config `profile` (default: AWS_PROFILE, else the default profile); SSO profiles work after `aws sso login`")
	fs.StringVar(&inv.conn.Region, "region", "", "the SDK's default `region` (default: AWS_REGION or the profile's); Pendulum calls B, P and us-west-2 by name, this region serves the credential providers")
	fs.BoolVar(&inv.local, "local", false, "run against a local installation: deploy the assembly into simulated regions (virtual time), run the command there, and exit (runs pendulum-drill local)")
	if c.flags != nil {
		c.flags(inv)
	}
	// The flag package's own messages are replaced by one line naming the
	// command; --help prints the usage.
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printUsage(inv)
			return nil, errHelp
		}
		return nil, err
	}
	inv.args = fs.Args()
	for _, a := range args {
		switch a {
		case "-local", "--local", "-local=true", "--local=true":
			continue
		}
		inv.forward = append(inv.forward, a)
	}
	return inv, nil
}

// printUsage writes the command's usage and flags to stderr.
func (c *Command) printUsage(inv *invocation) {
	w := inv.env.Stderr
	fmt.Fprintf(w, "usage: pendulum %s [flags]%s\n\n%s\n\nflags:\n", c.Name, c.usage, strings.TrimSpace(c.help))
	inv.fs.SetOutput(w)
	inv.fs.PrintDefaults()
	inv.fs.SetOutput(io.Discard)
	fmt.Fprintf(w, "\nexit status: 0 done, 1 %s, 2 bad usage, no assembly or no AWS credentials, 130 interrupted\n", c.failedMeans())
}

func (c *Command) failedMeans() string {
	switch c.Name {
	case "status":
		return "a part of the status could not be read"
	case "report":
		return "the execution did not succeed or could not be read"
	case "approve", "deny":
		return "nothing waits for approval, or the answer was refused"
	}
	return "the execution failed, was aborted or timed out"
}

// str, integer and boolean define a command's own flags; set reports
// whether the flag was given.
func (inv *invocation) str(name, def, usage string) {
	inv.values[name] = inv.fs.String(name, def, usage)
}

func (inv *invocation) boolean(name, usage string) {
	inv.values[name] = inv.fs.Bool(name, false, usage)
}

// tristate defines a boolean flag whose absence is different from false.
func (inv *invocation) tristate(name, usage string) {
	v := &tristate{}
	inv.fs.Var(v, name, usage)
	inv.values[name] = v
}

func (inv *invocation) getStr(name string) string    { return *inv.values[name].(*string) }
func (inv *invocation) getBool(name string) bool     { return *inv.values[name].(*bool) }
func (inv *invocation) getTri(name string) *tristate { return inv.values[name].(*tristate) }

// set reports whether the flag was given on the command line.
func (inv *invocation) set(name string) bool {
	given := false
	inv.fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			given = true
		}
	})
	return given
}

// tristate is a boolean flag that remembers whether it was given.
type tristate struct {
	given, value bool
}

func (t *tristate) String() string {
	if t == nil || !t.given {
		return ""
	}
	return strconv.FormatBool(t.value)
}

func (t *tristate) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	t.given, t.value = true, v
	return nil
}

func (t *tristate) IsBoolFlag() bool { return true }

// Command infra is Pendulum's CDK app: `cdk synth` / `cdk deploy` run it
// (cdk.json: "go run ./infra") from the repository root. It synthesizes the
// Data and Workload stacks of both regions (B's workload dormant), the
// Global stack in us-west-2 and the Recovery stack in B; see docs/deploy.md.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	if err := run(app); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	app.Synth(nil)
}

func run(app awscdk.App) error {
	cfg, err := LoadConfig(app.Node())
	if err != nil {
		return err
	}
	_, err = Build(app, cfg)
	return err
}

// Command dr-reconcile registers in a region's Glue catalog every hour
// partition present in that region's raw and curated buckets but missing
// from the catalog. The logic lives in pkg/dr (Reconcile) and pkg/partition.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/dr"
)

func main() {
	log := lambdacontext.NewLogger()
	slog.SetDefault(log)
	cfg, err := dr.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-reconcile: configuration: %v\n", err)
		os.Exit(2)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(cfg.Region))
	if err != nil {
		fmt.Fprintf(os.Stderr, "dr-reconcile: aws configuration: %v\n", err)
		os.Exit(2)
	}
	type pair struct {
		s3   *s3.Client
		glue *glue.Client
	}
	// The catalog has no cross-region replication: each region's is
	// reconciled with clients for that region.
	clients := map[string]pair{}
	for _, r := range []string{cfg.PrimaryRegion, cfg.BackupRegion} {
		clients[r] = pair{
			s3:   s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.Region = r }),
			glue: glue.NewFromConfig(awsCfg, func(o *glue.Options) { o.Region = r }),
		}
	}
	rc := &dr.Reconcile{Config: cfg, Database: cfg.GlueDatabase, Clients: func(region string) (dr.ObjectLister, dr.CatalogAPI, error) {
		c, ok := clients[region]
		if !ok {
			return nil, nil, cfg.UnknownRegion(region)
		}
		return c.s3, c.glue, nil
	}}
	lambda.StartHandlerFunc(dr.Edge("dr-reconcile", log, rc.Handle))
}

package dr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/partition"
)

// ObjectLister lists a bucket.
type ObjectLister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// CatalogAPI is the part of Glue the reconcile uses: pkg/partition's
// registrar and its read-only Missing.
type CatalogAPI interface {
	partition.Catalog
	partition.PartitionReader
}

// ReconcileInput is dr-reconcile's input.
type ReconcileInput struct {
	Region string `json:"region"`
}

// TableReconcile is one table's outcome: Partitions found in its bucket,
// Registered by this call, Present in the catalog already.
type TableReconcile struct {
	Table      string `json:"table"`
	Partitions int    `json:"partitions"`
	Registered int    `json:"registered"`
	Present    int    `json:"present"`
}

// ReconcileOutput is dr-reconcile's output.
type ReconcileOutput struct {
	Tables []TableReconcile `json:"tables"`
}

// Reconcile is the dr-reconcile step: it registers in a region's Glue
// catalog every hour partition present in that region's raw and curated
// buckets but missing from the catalog (notifications lost or late while P
// failed; objects replicated into B, which raise no event the catalog sees).
//
// It lists partition folders, not objects: one ListObjectsV2 per day
// folder and one small one per hour folder (to find a data key, so folders
// holding only markers or temporary files are not registered), so its cost
// follows the number of partitions, not of objects. Only top-level "dt="
// folders are considered (Firehose's "errors/" output is not a table).
type Reconcile struct {
	Clients  func(region string) (ObjectLister, CatalogAPI, error)
	Config   Config
	Database string // GLUE_DATABASE
}

// Handle reconciles the region's catalog.
func (r *Reconcile) Handle(ctx context.Context, in ReconcileInput) (ReconcileOutput, error) {
	raw, err := r.Config.RawBucket(in.Region)
	if err != nil {
		return ReconcileOutput{}, err
	}
	curated, _ := r.Config.CuratedBucket(in.Region)
	s3c, glue, err := r.Clients(in.Region)
	if err != nil {
		return ReconcileOutput{}, err
	}
	reg := partition.NewRegistrar(glue, r.Database, 0)
	out := ReconcileOutput{Tables: []TableReconcile{}}
	for _, t := range []partition.Table{{Name: "raw", Bucket: raw, Layout: partition.LayoutHive}, {Name: "curated", Bucket: curated, Layout: partition.LayoutHive}} {
		t, err := t.Normalize()
		if err != nil {
			return ReconcileOutput{}, fmt.Errorf("table %s: %w", t.Name, err)
		}
		keys, err := dataKeys(ctx, s3c, t.Bucket)
		if err != nil {
			return ReconcileOutput{}, err
		}
		var ps []partition.Partition
		var bad []error
		for _, k := range keys {
			p, ok, err := partition.ParseKey(t, k)
			switch {
			case err != nil:
				bad = append(bad, err)
			case ok:
				ps = append(ps, p)
			}
		}
		missing, err := partition.Missing(ctx, glue, r.Database, t, ps)
		if err != nil {
			return ReconcileOutput{}, fmt.Errorf("read partitions of %s.%s in %s: %w", r.Database, t.Name, in.Region, err)
		}
		st, err := reg.Register(ctx, t, missing)
		if err != nil {
			return ReconcileOutput{}, fmt.Errorf("reconcile %s.%s in %s: %w", r.Database, t.Name, in.Region, err)
		}
		if len(bad) > 0 {
			// Registered what could be; the keys an operator must look at
			// fail the step.
			return ReconcileOutput{}, invalidf("reconcile %s.%s in %s: %d keys break the layout: %v", r.Database, t.Name, in.Region, len(bad), errors.Join(bad...))
		}
		seen := map[partition.Partition]bool{}
		for _, p := range ps {
			seen[p] = true
		}
		distinct := len(seen)
		out.Tables = append(out.Tables, TableReconcile{Table: t.Name, Partitions: distinct, Registered: st.Created, Present: distinct - st.Created})
	}
	return out, nil
}

// dataKeys returns, for every dt=/hr= folder of bucket, the first keys of
// that folder: enough for ParseKey to find its partition.
func dataKeys(ctx context.Context, c ObjectLister, bucket string) ([]string, error) {
	days, err := folders(ctx, c, bucket, "")
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, day := range days {
		if !strings.HasPrefix(day, "dt=") {
			continue
		}
		hours, err := folders(ctx, c, bucket, day)
		if err != nil {
			return nil, err
		}
		for _, hr := range hours {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("list %s: %w", bucket, err)
			}
			page, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(hr), MaxKeys: aws.Int32(20)})
			if err != nil {
				return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, hr, err)
			}
			for _, o := range page.Contents {
				keys = append(keys, aws.ToString(o.Key))
			}
		}
	}
	return keys, nil
}

// folders lists the common prefixes one level below prefix.
func folders(ctx context.Context, c ObjectLister, bucket, prefix string) ([]string, error) {
	var out []string
	var token *string
	for {
		page, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), Delimiter: aws.String("/"), ContinuationToken: token})
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, p := range page.CommonPrefixes {
			out = append(out, aws.ToString(p.Prefix))
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

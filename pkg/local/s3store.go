package local

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// s3Store is the S3 of a region's Distributed Map states (their ItemReader
// and ResultWriter): the region's simulated S3, called as the execution's
// role, so the state machine's policy must allow s3:ListBucket, s3:GetObject
// and s3:PutObject on what the Map reads and writes, as in AWS.
type s3Store struct{ s3 *sim.S3 }

var _ states.ObjectStore = s3Store{}

// as returns ctx carrying the role of the Map state's execution.
func (s3Store) as(ctx context.Context) context.Context {
	if ti, ok := states.TaskInfoFrom(ctx); ok {
		return sim.WithPrincipal(ctx, ti.RoleARN)
	}
	return ctx
}

// ListObjects lists every page of ListObjectsV2.
func (s s3Store) ListObjects(ctx context.Context, bucket, prefix string) ([]states.ObjectInfo, error) {
	ctx = s.as(ctx)
	var out []states.ObjectInfo
	var token *string
	for {
		page, err := s.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), ContinuationToken: token})
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			out = append(out, states.ObjectInfo{Key: aws.ToString(o.Key), ETag: aws.ToString(o.ETag), Size: aws.ToInt64(o.Size),
				LastModified: aws.ToTime(o.LastModified), StorageClass: string(o.StorageClass)})
		}
		if !aws.ToBool(page.IsTruncated) {
			return out, nil
		}
		token = page.NextContinuationToken
	}
}

// GetObject reads the object's body.
func (s s3Store) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := s.s3.GetObject(s.as(ctx), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// PutObject writes the object.
func (s s3Store) PutObject(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.s3.PutObject(s.as(ctx), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

// authorizeAsRole is the engine's Options.Authorize: the action Step
// Functions takes itself (a Distributed Map starting its child workflow
// executions: states:StartExecution) is evaluated against the execution
// role's policies, as a call of the region's Step Functions.
func authorizeAsRole(r *sim.Region) func(ctx context.Context, action, resource string) error {
	return func(ctx context.Context, action, resource string) error {
		ti, ok := states.TaskInfoFrom(ctx)
		if !ok {
			return nil
		}
		op := action // the API operation: "StartExecution" of "states:StartExecution"
		if _, name, found := strings.Cut(action, ":"); found {
			op = name
		}
		return r.AuthorizeStepFunctions(sim.WithPrincipal(ctx, ti.RoleARN), op, action, resource)
	}
}

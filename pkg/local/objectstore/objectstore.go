// Package objectstore is the S3 of the engine's Distributed Map states (their
// ItemReader and ResultWriter) on a simulated region: what the local
// installation gives each region's engine, and what tests that run a Map
// on their own engine use.
package objectstore

import (
	"bytes"
	"context"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
)

// S3 is a region's simulated S3, called as the execution's role, so the
// state machine's policy must allow s3:ListBucket, s3:GetObject and
// s3:PutObject on what the Map reads and writes, as in AWS.
type S3 struct{ S3 *sim.S3 }

var _ states.ObjectStore = S3{}

// as returns ctx carrying the role of the Map state's execution.
func (S3) as(ctx context.Context) context.Context {
	if ti, ok := states.TaskInfoFrom(ctx); ok {
		return sim.WithPrincipal(ctx, ti.RoleARN)
	}
	return ctx
}

// ListObjects lists every page of ListObjectsV2.
func (s S3) ListObjects(ctx context.Context, bucket, prefix string) ([]states.ObjectInfo, error) {
	ctx = s.as(ctx)
	var out []states.ObjectInfo
	var token *string
	for {
		page, err := s.S3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), ContinuationToken: token})
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
func (s S3) GetObject(ctx context.Context, bucket, key string) ([]byte, error) {
	out, err := s.S3.GetObject(s.as(ctx), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// PutObject writes the object.
func (s S3) PutObject(ctx context.Context, bucket, key string, body []byte) error {
	_, err := s.S3.PutObject(s.as(ctx), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

package sim

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// s3BucketConf holds the bucket settings a deployment declares and an
// operator or a readiness check reads back (encryption, public access block,
// ownership, lifecycle, logging, policy). The simulator stores them as given;
// objects are not encrypted or expired by them.
type s3BucketConf struct {
	encryption   *s3types.ServerSideEncryptionConfiguration
	publicAccess *s3types.PublicAccessBlockConfiguration
	ownership    *s3types.OwnershipControls
	lifecycle    *s3types.BucketLifecycleConfiguration
	logging      *s3types.LoggingEnabled
	policy       *string
}

// withBucket runs f on a bucket under the lock, after the call gate.
func (c *S3) withBucket(ctx context.Context, op, bucket string, in any, f func(b *s3Bucket) error) error {
	if err := c.r.call(ctx, s3ServiceID, op, in); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	b, err := c.bucketLocked(bucket)
	if err != nil {
		return opErr(s3ServiceID, op, err)
	}
	if err := f(b); err != nil {
		return opErr(s3ServiceID, op, err)
	}
	return nil
}

func s3Malformed() error {
	return apiErr("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
}

// PutBucketEncryption sets the bucket's default encryption.
func (c *S3) PutBucketEncryption(ctx context.Context, in *s3.PutBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.PutBucketEncryptionOutput, error) {
	err := c.withBucket(ctx, "PutBucketEncryption", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if in.ServerSideEncryptionConfiguration == nil || len(in.ServerSideEncryptionConfiguration.Rules) == 0 {
			return s3Malformed()
		}
		for _, r := range in.ServerSideEncryptionConfiguration.Rules {
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				switch d.SSEAlgorithm {
				case s3types.ServerSideEncryptionAes256, s3types.ServerSideEncryptionAwsKms, s3types.ServerSideEncryptionAwsKmsDsse:
				default:
					return s3Malformed()
				}
			}
		}
		b.conf.encryption = in.ServerSideEncryptionConfiguration
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.PutBucketEncryptionOutput{}, nil
}

// GetBucketEncryption returns the bucket's default encryption: SSE-S3 when
// none was set, as every bucket has had since January 2023
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/default-encryption-faq.html).
func (c *S3) GetBucketEncryption(ctx context.Context, in *s3.GetBucketEncryptionInput, optFns ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	out := &s3.GetBucketEncryptionOutput{}
	err := c.withBucket(ctx, "GetBucketEncryption", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		out.ServerSideEncryptionConfiguration = b.conf.encryption
		if out.ServerSideEncryptionConfiguration == nil {
			out.ServerSideEncryptionConfiguration = &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{{
				ApplyServerSideEncryptionByDefault: &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryptionAes256}}}}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutPublicAccessBlock sets the bucket's public access block.
func (c *S3) PutPublicAccessBlock(ctx context.Context, in *s3.PutPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.PutPublicAccessBlockOutput, error) {
	err := c.withBucket(ctx, "PutPublicAccessBlock", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if in.PublicAccessBlockConfiguration == nil {
			return s3Malformed()
		}
		b.conf.publicAccess = in.PublicAccessBlockConfiguration
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.PutPublicAccessBlockOutput{}, nil
}

// GetPublicAccessBlock returns the bucket's public access block, or
// NoSuchPublicAccessBlockConfiguration.
func (c *S3) GetPublicAccessBlock(ctx context.Context, in *s3.GetPublicAccessBlockInput, optFns ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	out := &s3.GetPublicAccessBlockOutput{}
	err := c.withBucket(ctx, "GetPublicAccessBlock", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if b.conf.publicAccess == nil {
			return apiErr("NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
		}
		out.PublicAccessBlockConfiguration = b.conf.publicAccess
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutBucketOwnershipControls sets the bucket's object ownership.
func (c *S3) PutBucketOwnershipControls(ctx context.Context, in *s3.PutBucketOwnershipControlsInput, optFns ...func(*s3.Options)) (*s3.PutBucketOwnershipControlsOutput, error) {
	err := c.withBucket(ctx, "PutBucketOwnershipControls", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if in.OwnershipControls == nil || len(in.OwnershipControls.Rules) != 1 {
			return s3Malformed()
		}
		b.conf.ownership = in.OwnershipControls
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.PutBucketOwnershipControlsOutput{}, nil
}

// PutBucketLifecycleConfiguration sets the bucket's lifecycle rules. The
// simulator keeps them; it does not expire objects.
func (c *S3) PutBucketLifecycleConfiguration(ctx context.Context, in *s3.PutBucketLifecycleConfigurationInput, optFns ...func(*s3.Options)) (*s3.PutBucketLifecycleConfigurationOutput, error) {
	err := c.withBucket(ctx, "PutBucketLifecycleConfiguration", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if in.LifecycleConfiguration == nil {
			return s3Malformed()
		}
		for _, r := range in.LifecycleConfiguration.Rules {
			if r.Status != s3types.ExpirationStatusEnabled && r.Status != s3types.ExpirationStatusDisabled {
				return s3Malformed()
			}
		}
		b.conf.lifecycle = in.LifecycleConfiguration
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.PutBucketLifecycleConfigurationOutput{}, nil
}

// PutBucketLogging sets the bucket's server access logging. The target
// bucket must exist (S3 answers InvalidTargetBucketForLogging otherwise).
func (c *S3) PutBucketLogging(ctx context.Context, in *s3.PutBucketLoggingInput, optFns ...func(*s3.Options)) (*s3.PutBucketLoggingOutput, error) {
	err := c.withBucket(ctx, "PutBucketLogging", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if in.BucketLoggingStatus == nil {
			return s3Malformed()
		}
		if le := in.BucketLoggingStatus.LoggingEnabled; le != nil {
			if _, ok := c.buckets[aws.ToString(le.TargetBucket)]; !ok {
				return apiErr("InvalidTargetBucketForLogging", "The target bucket for logging does not exist")
			}
		}
		b.conf.logging = in.BucketLoggingStatus.LoggingEnabled
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.PutBucketLoggingOutput{}, nil
}

// PutBucketPolicy sets the bucket policy.
func (c *S3) PutBucketPolicy(ctx context.Context, in *s3.PutBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.PutBucketPolicyOutput, error) {
	err := c.withBucket(ctx, "PutBucketPolicy", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if _, err := ParseResourcePolicy([]byte(aws.ToString(in.Policy))); err != nil {
			return apiErr("MalformedPolicy", "%v", err)
		}
		b.conf.policy = aws.String(aws.ToString(in.Policy))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.PutBucketPolicyOutput{}, nil
}

// GetBucketPolicy returns the bucket policy, or NoSuchBucketPolicy.
func (c *S3) GetBucketPolicy(ctx context.Context, in *s3.GetBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	out := &s3.GetBucketPolicyOutput{}
	err := c.withBucket(ctx, "GetBucketPolicy", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		if b.conf.policy == nil {
			return apiErr("NoSuchBucketPolicy", "The bucket policy does not exist")
		}
		out.Policy = aws.String(*b.conf.policy)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteBucketPolicy removes the bucket policy.
func (c *S3) DeleteBucketPolicy(ctx context.Context, in *s3.DeleteBucketPolicyInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketPolicyOutput, error) {
	err := c.withBucket(ctx, "DeleteBucketPolicy", aws.ToString(in.Bucket), in, func(b *s3Bucket) error {
		b.conf.policy = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.DeleteBucketPolicyOutput{}, nil
}

// DeleteBucket deletes an empty bucket; one that holds any object version
// or delete marker is BucketNotEmpty, as in S3.
func (c *S3) DeleteBucket(ctx context.Context, in *s3.DeleteBucketInput, optFns ...func(*s3.Options)) (*s3.DeleteBucketOutput, error) {
	name := aws.ToString(in.Bucket)
	err := c.withBucket(ctx, "DeleteBucket", name, in, func(b *s3Bucket) error {
		if len(b.objects) > 0 {
			return apiErr("BucketNotEmpty", "The bucket you tried to delete is not empty. You must delete all versions in the bucket.")
		}
		delete(c.buckets, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s3.DeleteBucketOutput{}, nil
}

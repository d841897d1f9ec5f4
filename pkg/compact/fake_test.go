package compact

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// fakeS3 is an S3 client made of function fields, so each test states the
// behaviour it needs.
type fakeS3 struct {
	ListObjectsV2Fn func(ctx context.Context, in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error)
	GetObjectFn     func(ctx context.Context, in *s3.GetObjectInput) (*s3.GetObjectOutput, error)
	PutObjectFn     func(ctx context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error)
}

func (f *fakeS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return f.ListObjectsV2Fn(ctx, in)
}

func (f *fakeS3) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return f.GetObjectFn(ctx, in)
}

func (f *fakeS3) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	return f.PutObjectFn(ctx, in)
}

var (
	_ RawReader    = (*fakeS3)(nil)
	_ ObjectPutter = (*fakeS3)(nil)
	_ RawReader    = (*s3.Client)(nil)
	_ ObjectPutter = (*s3.Client)(nil)
)

// memBucket is an in-memory bucket behind a fakeS3: paginated listing (with
// Delimiter), gets, and puts that replace.
type memBucket struct {
	name     string
	pageSize int
	// sizeOf, if set, overrides the size listed for a key.
	sizeOf func(key string) int64

	mu      sync.Mutex
	objects map[string][]byte
	puts    int
}

func newMemBucket(name string, objects map[string][]byte) *memBucket {
	if objects == nil {
		objects = map[string][]byte{}
	}
	return &memBucket{name: name, pageSize: 1000, objects: objects}
}

var errNoSuchKey = &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}

func (m *memBucket) fake() *fakeS3 {
	return &fakeS3{
		ListObjectsV2Fn: m.list,
		GetObjectFn: func(_ context.Context, in *s3.GetObjectInput) (*s3.GetObjectOutput, error) {
			m.mu.Lock()
			defer m.mu.Unlock()
			if aws.ToString(in.Bucket) != m.name {
				return nil, errors.New("wrong bucket " + aws.ToString(in.Bucket))
			}
			b, ok := m.objects[aws.ToString(in.Key)]
			if !ok {
				return nil, errNoSuchKey
			}
			return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ContentLength: aws.Int64(int64(len(b)))}, nil
		},
		PutObjectFn: func(_ context.Context, in *s3.PutObjectInput) (*s3.PutObjectOutput, error) {
			if aws.ToString(in.Bucket) != m.name {
				return nil, errors.New("wrong bucket " + aws.ToString(in.Bucket))
			}
			b, err := io.ReadAll(in.Body)
			if err != nil {
				return nil, err
			}
			if in.ContentLength != nil && *in.ContentLength != int64(len(b)) {
				return nil, errors.New("content length does not match body")
			}
			m.mu.Lock()
			defer m.mu.Unlock()
			m.objects[aws.ToString(in.Key)] = b
			m.puts++
			return &s3.PutObjectOutput{}, nil
		},
	}
}

func (m *memBucket) list(_ context.Context, in *s3.ListObjectsV2Input) (*s3.ListObjectsV2Output, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if aws.ToString(in.Bucket) != m.name {
		return nil, errors.New("wrong bucket " + aws.ToString(in.Bucket))
	}
	prefix, delim, after := aws.ToString(in.Prefix), aws.ToString(in.Delimiter), aws.ToString(in.ContinuationToken)
	var keys []string
	for k := range m.objects {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := &s3.ListObjectsV2Output{}
	seen := map[string]bool{}
	n := 0
	for _, k := range keys {
		entry := k
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				entry = k[:len(prefix)+i+len(delim)]
			}
		}
		if entry <= after || seen[entry] {
			continue
		}
		if n == m.pageSize {
			out.IsTruncated = aws.Bool(true)
			out.NextContinuationToken = aws.String(after)
			break
		}
		seen[entry] = true
		after = entry
		n++
		if entry != k {
			out.CommonPrefixes = append(out.CommonPrefixes, types.CommonPrefix{Prefix: aws.String(entry)})
			continue
		}
		size := int64(len(m.objects[k]))
		if m.sizeOf != nil {
			size = m.sizeOf(k)
		}
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k), Size: aws.Int64(size)})
	}
	out.KeyCount = aws.Int32(int32(n))
	return out, nil
}

type (
	s3GetInput   = s3.GetObjectInput
	s3GetOutput  = s3.GetObjectOutput
	s3ListInput  = s3.ListObjectsV2Input
	s3ListOutput = s3.ListObjectsV2Output
)

var errThrottled error = &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate.", Fault: smithy.FaultServer}

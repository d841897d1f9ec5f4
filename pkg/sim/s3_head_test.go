package sim

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// sdkHeadErr is the error the real SDK client returns for a HeadObject (or,
// with bucket, a HeadBucket) that S3 answers with status and no body, as S3
// answers every failed HEAD.
func sdkHeadErr(t *testing.T, status int, bucket bool) error {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-amz-request-id", "REQ")
		w.WriteHeader(status)
	}))
	t.Cleanup(hs.Close)
	client := s3.New(s3.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	var err error
	if bucket {
		_, err = client.HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("b")})
	} else {
		_, err = client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("b"), Key: aws.String("k")})
	}
	if err == nil {
		t.Fatalf("SDK HEAD answered %d: no error", status)
	}
	return err
}

// TestS3HeadObjectErrorsAsSDK checks each failed HeadObject against what
// the SDK itself makes of S3's bodiless answer: a missing bucket is
// NotFound too, not NoSuchBucket.
func TestS3HeadObjectErrorsAsSDK(t *testing.T) {
	w, _ := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).S3()
	s3MustBucket(t, c, "raw", true)
	s3MustBucket(t, w.Region(s3TestB).S3(), "west", false)
	s3MustPut(t, c, "raw", "gone", "x")
	del, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("raw"), Key: aws.String("gone")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, bucket, key, version string
		status                     int // what S3 answers
	}{
		{"missing bucket", "nope", "k", "", http.StatusNotFound},
		{"missing key", "raw", "k", "", http.StatusNotFound},
		{"delete marker latest", "raw", "gone", "", http.StatusNotFound},
		{"missing version", "raw", "gone", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", http.StatusNotFound},
		{"delete marker version", "raw", "gone", aws.ToString(del.VersionId), http.StatusMethodNotAllowed},
		{"another region's bucket", "west", "k", "", http.StatusMovedPermanently},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &s3.HeadObjectInput{Bucket: aws.String(tc.bucket), Key: aws.String(tc.key)}
			if tc.version != "" {
				in.VersionId = aws.String(tc.version)
			}
			_, err := c.HeadObject(ctx, in)
			want := sdkHeadErr(t, tc.status, false)
			if got, want := s3ErrCode(err), s3ErrCode(want); got != want {
				t.Fatalf("HeadObject: code %q (%v), want %q as the SDK reports a %d", got, err, want, tc.status)
			}
			var nf *s3types.NotFound
			if got, want := errors.As(err, &nf), errors.As(want, &nf); got != want {
				t.Fatalf("HeadObject: *types.NotFound %v, want %v", got, want)
			}
		})
	}
}

// TestS3HeadBucketErrorsAsSDK checks HeadBucket's errors the same way.
func TestS3HeadBucketErrorsAsSDK(t *testing.T) {
	w, _ := s3TestWorld(t)
	ctx := context.Background()
	c := w.Region(s3TestP).S3()
	s3MustBucket(t, w.Region(s3TestB).S3(), "west", false)
	_, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nope")})
	var nf *s3types.NotFound
	if !errors.As(err, &nf) || !errors.As(sdkHeadErr(t, http.StatusNotFound, true), &nf) {
		t.Fatalf("HeadBucket of a missing bucket: %v, want NotFound", err)
	}
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("west")})
	if got, want := s3ErrCode(err), s3ErrCode(sdkHeadErr(t, http.StatusMovedPermanently, true)); got != want {
		t.Fatalf("HeadBucket of another region's bucket: code %q (%v), want %q", got, err, want)
	}
}

package compact

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"OK", map[string]string{"RAW_BUCKET": "raw", "CURATED_BUCKET": "cur", "AWS_REGION": "eu-west-1"}, nil},
		{"NoCurated", map[string]string{"RAW_BUCKET": "raw", "AWS_REGION": "eu-west-1"}, []string{"CURATED_BUCKET"}},
		{"NothingSet", map[string]string{}, []string{"RAW_BUCKET", "CURATED_BUCKET", "AWS_REGION"}},
		{"URLNotName", map[string]string{"RAW_BUCKET": "s3://raw/", "CURATED_BUCKET": "cur", "AWS_REGION": "eu-west-1"}, []string{"RAW_BUCKET", "not a bucket name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if got, want := c.RawBucket, tt.env["RAW_BUCKET"]; got != want {
					t.Fatalf("RawBucket = %q, want %q", got, want)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error = %v, want ErrConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
		})
	}
}

package sim

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

func ssmTest(t *testing.T) *SSM {
	t.Helper()
	w := NewWorld(clock.NewVirtual(glueTestStart), "111122223333", "us-east-1")
	return w.Region("us-east-1").SSM()
}

func ssmErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestSSMParameterVersions(t *testing.T) {
	ctx := context.Background()
	s := ssmTest(t)
	name := "/pendulum/global/accelerator-arn"
	out, err := s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("v1"), Type: ssmtypes.ParameterTypeString})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Version, int64(1); got != want {
		t.Fatalf("version = %d, want %d", got, want)
	}
	_, err = s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("v2")})
	var exists *ssmtypes.ParameterAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("PutParameter without Overwrite = %v, want ParameterAlreadyExists", err)
	}
	out, err = s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String("v2"), Overwrite: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Version, int64(2); got != want {
		t.Fatalf("version = %d, want %d", got, want)
	}
	got, err := s.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(got.Parameter.Value), "v2"; got != want {
		t.Fatalf("value = %q, want %q", got, want)
	}
	if got, want := got.Parameter.Type, ssmtypes.ParameterTypeString; got != want {
		t.Fatalf("type = %q, want %q (kept on overwrite)", got, want)
	}
	if got, want := aws.ToString(got.Parameter.ARN), "arn:aws:ssm:us-east-1:111122223333:parameter/pendulum/global/accelerator-arn"; got != want {
		t.Fatalf("ARN = %q, want %q", got, want)
	}
	old, err := s.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name + ":1")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(old.Parameter.Value), "v1"; got != want {
		t.Fatalf("version 1 value = %q, want %q", got, want)
	}
	if v, err := s.r.ssmParameterValue(ctx, name); err != nil || v != "v2" {
		t.Fatalf("ssmParameterValue = %q, %v; want v2", v, err)
	}
	if _, err := s.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	var nf *ssmtypes.ParameterNotFound
	if !errors.As(err, &nf) {
		t.Fatalf("GetParameter after delete = %v, want ParameterNotFound", err)
	}
}

func TestSSMErrors(t *testing.T) {
	ctx := context.Background()
	s := ssmTest(t)
	if _, err := s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/a/list"), Value: aws.String("x,y"), Type: ssmtypes.ParameterTypeStringList}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"DeleteMissing", func() error {
			_, err := s.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/nope")})
			return err
		}, "ParameterNotFound"},
		{"MissingVersion", func() error {
			_, err := s.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/a/list:7")})
			return err
		}, "ParameterVersionNotFound"},
		{"NewWithoutType", func() error {
			_, err := s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/a/new"), Value: aws.String("x")})
			return err
		}, "ValidationException"},
		{"NotFullyQualified", func() error {
			_, err := s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("a/b"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString})
			return err
		}, "ValidationException"},
		{"ReservedPrefix", func() error {
			_, err := s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/aws/x"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString})
			return err
		}, "ValidationException"},
		{"EmptyValue", func() error {
			_, err := s.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/a/e"), Value: aws.String(""), Type: ssmtypes.ParameterTypeString})
			return err
		}, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ssmErrorCode(tc.call()); got != tc.want {
				t.Fatalf("error code = %q, want %q", got, tc.want)
			}
		})
	}
	out, err := s.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/a/list", "/nope"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(out.Parameters), 1; got != want {
		t.Fatalf("parameters = %d, want %d", got, want)
	}
	if got, want := len(out.InvalidParameters), 1; got != want || out.InvalidParameters[0] != "/nope" {
		t.Fatalf("invalid parameters = %v, want [/nope]", out.InvalidParameters)
	}
}

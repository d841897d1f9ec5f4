package sim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// acmTestPEM makes a self-signed certificate for name valid in [from, to],
// and its key, PEM-encoded.
func acmTestPEM(t *testing.T, name string, from, to time.Time) (cert, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: from, NotAfter: to, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})
}

func TestACMImportDescribeDelete(t *testing.T) {
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1", "us-east-2")
	a := w.Region("us-east-1").ACM()
	ctx := context.Background()
	now := clk.Now()
	cert, key := acmTestPEM(t, "ingest.example.com", now.Add(-time.Hour), now.Add(48*time.Hour))
	out, err := a.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert, PrivateKey: key})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.CertificateArn)
	if !strings.HasPrefix(arn, "arn:aws:acm:us-east-1:111122223333:certificate/") {
		t.Fatalf("ARN %s", arn)
	}
	d, err := a.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Certificate
	if c.Status != acmtypes.CertificateStatusIssued || c.Type != acmtypes.CertificateTypeImported || aws.ToString(c.DomainName) != "ingest.example.com" ||
		c.KeyAlgorithm != acmtypes.KeyAlgorithmEcPrime256v1 || len(c.InUseBy) != 0 {
		t.Fatalf("detail = %+v", c)
	}
	// Regional: B's ACM does not have it.
	var nf *acmtypes.ResourceNotFoundException
	if _, err := w.Region("us-east-2").ACM().DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)}); !errors.As(err, &nf) {
		t.Fatalf("describe in another region: %v, want ResourceNotFoundException", err)
	}
	var badARN *acmtypes.InvalidArnException
	if _, err := a.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String("nope")}); !errors.As(err, &badARN) {
		t.Fatalf("describe of a malformed ARN: %v, want InvalidArnException", err)
	}
	// In use, it cannot be deleted; released, it can.
	if err := a.use(arn, "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/x/1"); err != nil {
		t.Fatal(err)
	}
	var inUse *acmtypes.ResourceInUseException
	if _, err := a.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(arn)}); !errors.As(err, &inUse) {
		t.Fatalf("delete in use: %v, want ResourceInUseException", err)
	}
	a.release(arn, "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/x/1")
	if _, err := a.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(arn)}); !errors.As(err, &nf) {
		t.Fatalf("describe after delete: %v, want ResourceNotFoundException", err)
	}
}

func TestACMImportRefusesBadInput(t *testing.T) {
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", "us-east-1")
	a := w.Region("us-east-1").ACM()
	now := clk.Now()
	cert, key := acmTestPEM(t, "a.example.com", now.Add(-time.Hour), now.Add(time.Hour))
	_, otherKey := acmTestPEM(t, "b.example.com", now.Add(-time.Hour), now.Add(time.Hour))
	expired, expiredKey := acmTestPEM(t, "c.example.com", now.Add(-48*time.Hour), now.Add(-time.Hour))
	for _, tc := range []struct {
		name      string
		cert, key []byte
		want      string
	}{
		{"NotPEM", []byte("hello"), key, "PEM-encoded certificate"},
		{"KeyMismatch", cert, otherKey, "does not match"},
		{"NoKey", cert, nil, "private key"},
		{"Expired", expired, expiredKey, "not valid at the time of import"},
	} {
		_, err := a.ImportCertificate(context.Background(), &acm.ImportCertificateInput{Certificate: tc.cert, PrivateKey: tc.key})
		var ve *acmtypes.ValidationException
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a ValidationException about %q", tc.name, err, tc.want)
		}
	}
}

// acmTestListenerTemplate is an ALB with one listener whose protocol and
// certificate follow the CertificateArn parameter, as infra's workload stack
// has it.
const acmTestListenerTemplate = `{
  "Parameters": {
    "CertificateArn": {"Type": "String", "Default": "",
      "AllowedPattern": "^(arn:aws[a-z-]*:acm:us-east-2:111122223333:certificate/[0-9a-f-]+)?$",
      "ConstraintDescription": "empty or an ACM certificate of us-east-2"}
  },
  "Conditions": {"IsHttps": {"Fn::Not": [{"Fn::Equals": [{"Ref": "CertificateArn"}, ""]}]}},
  "Resources": {
    "LoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {"Scheme": "internet-facing"}},
    "TargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"TargetType": "lambda",
      "Targets": [{"Id": "arn:aws:lambda:us-east-2:111122223333:function:ingest"}]}},
    "Listener": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
      "LoadBalancerArn": {"Ref": "LoadBalancer"},
      "Port": {"Fn::If": ["IsHttps", 443, 80]}, "Protocol": {"Fn::If": ["IsHttps", "HTTPS", "HTTP"]},
      "SslPolicy": {"Fn::If": ["IsHttps", "ELBSecurityPolicy-TLS13-1-2-2021-06", {"Ref": "AWS::NoValue"}]},
      "Certificates": {"Fn::If": ["IsHttps", [{"CertificateArn": {"Ref": "CertificateArn"}}], {"Ref": "AWS::NoValue"}]},
      "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "TargetGroup"}}]}}
  }
}`

// TestCFNListenerCertificate: the listener's certificate must be an ACM
// certificate of the stack's region (the parameter's pattern refuses
// another region before anything is created; a missing certificate fails
// the listener and rolls the stack back); with it, the ALB listens with
// HTTPS on 443 only, and the certificate is in use by the ALB until the
// stack is deleted.
func TestCFNListenerCertificate(t *testing.T) {
	w, clk, c := cfnTestWorld(t)
	ctx := context.Background()
	create := func(name, certARN string) error {
		_, err := c.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(acmTestListenerTemplate),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("CertificateArn"), ParameterValue: aws.String(certARN)}}})
		return err
	}
	// Another region's certificate: refused by the parameter's constraint.
	err := create("other-region", "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d")
	cfTestValidation(t, err, "Parameter 'CertificateArn' failed to satisfy constraint: empty or an ACM certificate of us-east-2")
	// A well-formed ARN ACM does not have: the listener fails, the stack
	// rolls back.
	if err := create("missing", "arn:aws:acm:us-east-2:111122223333:certificate/0a1b2c3d-0000-4000-8000-000000000001"); err != nil {
		t.Fatal(err)
	}
	st := cfnTestWait(t, clk, c, "missing")
	if st.StackStatus != cftypes.StackStatusRollbackComplete || !strings.Contains(aws.ToString(st.StackStatusReason), "CertificateNotFound") {
		t.Fatalf("stack with a missing certificate: %s (%s), want ROLLBACK_COMPLETE with CertificateNotFound", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	// An imported certificate: HTTPS on 443, nothing on 80.
	now := clk.Now()
	pemCert, pemKey := acmTestPEM(t, "ingest.example.com", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	a := w.Region("us-east-2").ACM()
	imp, err := a.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: pemCert, PrivateKey: pemKey})
	if err != nil {
		t.Fatal(err)
	}
	certARN := aws.ToString(imp.CertificateArn)
	if err := create("https", certARN); err != nil {
		t.Fatal(err)
	}
	if st := cfnTestWait(t, clk, c, "https"); st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("https stack %s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	e := w.Region("us-east-2").ELB()
	lbs := e.LoadBalancers()
	if len(lbs) != 1 {
		t.Fatalf("%d load balancers, want 1 (the rolled-back one deleted)", len(lbs))
	}
	dns, _ := e.DNSName(lbs[0])
	route, err := e.Route(dns, 443)
	if err != nil || route.Protocol != "HTTPS" || len(route.Certificates) != 1 || route.Certificates[0] != certARN {
		t.Fatalf("route to 443 = %+v, %v; want HTTPS with the certificate", route, err)
	}
	if _, err := e.Route(dns, 80); err == nil {
		t.Fatal("an HTTPS-only load balancer answers on port 80")
	}
	d, err := a.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(certARN)})
	if err != nil || len(d.Certificate.InUseBy) != 1 || d.Certificate.InUseBy[0] != lbs[0] {
		t.Fatalf("InUseBy = %v (%v), want the ALB", d.Certificate.InUseBy, err)
	}
	// Deleting the stack releases the certificate.
	if _, err := c.DeleteStack(ctx, &cloudformation.DeleteStackInput{StackName: aws.String("https")}); err != nil {
		t.Fatal(err)
	}
	_ = clk.Sleep(ctx, 10*time.Minute) // a deleted stack is not found by name: wait it out
	if _, err := a.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: aws.String(certARN)}); err != nil {
		t.Fatalf("delete after the stack is gone: %v", err)
	}
	// Without a certificate: HTTP on 80.
	if err := create("http", ""); err != nil {
		t.Fatal(err)
	}
	cfnTestWait(t, clk, c, "http")
	lbs = e.LoadBalancers()
	dns, _ = e.DNSName(lbs[0])
	if route, err := e.Route(dns, 80); err != nil || route.Protocol != "HTTP" {
		t.Fatalf("route to 80 = %+v, %v; want HTTP", route, err)
	}
}

// TestCFNParameterAllowedPattern: a value must match the pattern whole.
func TestCFNParameterAllowedPattern(t *testing.T) {
	_, _, c := cfnTestWorld(t)
	tmpl := `{"Parameters": {"Env": {"Type": "String", "AllowedPattern": "[a-z]+"}},
  "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Env"}}}}}`
	for _, tc := range []struct{ value, want string }{{"prod", ""}, {"prod1", "Parameter 'Env' must match pattern [a-z]+"}, {"1prod", "must match pattern"}} {
		_, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("s-" + tc.value), TemplateBody: aws.String(tmpl),
			Parameters: []cftypes.Parameter{{ParameterKey: aws.String("Env"), ParameterValue: aws.String(tc.value)}}})
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.value, err)
			}
			continue
		}
		var ae smithy.APIError
		if !errors.As(err, &ae) || !strings.Contains(ae.ErrorMessage(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.value, err, tc.want)
		}
	}
}

// TestCFNCoercesToTheDeclaredType: a property value is converted to the
// type the resource declares, as CloudFormation does — the accelerator's
// listener port read from a parameter as the string "443" is the integer
// 443.
func TestCFNCoercesToTheDeclaredType(t *testing.T) {
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", GAControlRegion)
	t.Cleanup(w.Close)
	c := w.Region(GAControlRegion).CloudFormation()
	tmpl := `{"Parameters": {"Port": {"Type": "String", "Default": "443"}},
  "Resources": {
    "Acc": {"Type": "AWS::GlobalAccelerator::Accelerator", "Properties": {"Name": "a", "Enabled": "true"}},
    "Listener": {"Type": "AWS::GlobalAccelerator::Listener", "Properties": {"AcceleratorArn": {"Ref": "Acc"}, "Protocol": "TCP",
      "PortRanges": [{"FromPort": {"Ref": "Port"}, "ToPort": {"Ref": "Port"}}]}}},
  "Outputs": {"Arn": {"Value": {"Ref": "Acc"}}}}`
	if _, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String("ga"), TemplateBody: aws.String(tmpl)}); err != nil {
		t.Fatal(err)
	}
	st := cfnTestWait(t, clk, c, "ga")
	if st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("%s: %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	ga := w.Region(GAControlRegion).GlobalAccelerator()
	arn := cfTestOutput(st, "Arn")
	if _, _, err := ga.Route(arn, 443); !errors.Is(err, ErrNoHealthyEndpoint) {
		t.Fatalf("route to 443 = %v, want a listener there (with no endpoint yet)", err)
	}
	if _, _, err := ga.Route(arn, 80); !errors.Is(err, ErrNoListener) {
		t.Fatalf("route to 80 = %v, want ErrNoListener", err)
	}
}

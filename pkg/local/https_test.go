package local

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/pendulum-dr/pendulum/pkg/sim"
	"github.com/pendulum-dr/pendulum/pkg/states"
	"github.com/pendulum-dr/pendulum/pkg/topology"
)

// inUseBy returns the load balancers ACM lists as using the region's
// imported certificate.
func inUseBy(t *testing.T, l *Local, region string) []string {
	t.Helper()
	out, err := l.World.Region(region).ACM().DescribeCertificate(sim.Unmetered(context.Background()), &acm.DescribeCertificateInput{CertificateArn: aws.String(l.Certificates[region])})
	if err != nil {
		t.Fatal(err)
	}
	return out.Certificate.InUseBy
}

// probe invokes the deployed dr-probe function as its state machine task
// would, with url, expecting region to answer.
func probe(t *testing.T, l *Local, url, region string) (ok bool, answer string) {
	t.Helper()
	in, _ := json.Marshal(map[string]string{"op": "probe", "url": url, "expectRegion": region})
	out, err := l.World.Region(l.Regions.Backup).Lambda().Invoke(sim.WithoutPrincipal(context.Background()),
		&lambda.InvokeInput{FunctionName: aws.String(l.Names.Function("dr-probe")), Payload: in})
	if err != nil {
		t.Fatal(err)
	}
	return out.FunctionError == nil, string(out.Payload)
}

// TestHTTPSFailover deploys the snapshot assembly with certificates (the
// workload stacks' CertificateArn parameters, as `cdk deploy --parameters`
// sets them): the ALBs and the accelerator listen with HTTPS on 443 only,
// the canary keeps P healthy over https, and a failover's verify step
// succeeds through https://<accelerator>; a probe of http:// fails, as it
// would against the deployed listeners.
func TestHTTPSFailover(t *testing.T) {
	ctx := context.Background()
	l := newLocal(t, Options{NoAutoFailover: true, HTTPS: true})
	P, B := l.Regions.Primary, l.Regions.Backup
	if want := "https://" + l.AcceleratorDNS; l.AcceleratorURL != want {
		t.Fatalf("AcceleratorURL = %q, want %q", l.AcceleratorURL, want)
	}
	if got := inUseBy(t, l, P); len(got) != 1 || !strings.Contains(got[0], ":loadbalancer/app/") {
		t.Fatalf("P's certificate in use by %v, want P's ALB", got)
	}
	if got := inUseBy(t, l, B); len(got) != 0 {
		t.Fatalf("B's certificate in use by %v before failover, want nothing (B is dormant)", got)
	}
	// The accelerator answers https on 443, not http on 80.
	if got := servedBy(t, l); got != P {
		t.Fatalf("https through the accelerator served by %q, want %s", got, P)
	}
	if _, err := l.HTTPClient().Get("http://" + l.AcceleratorDNS + "/health"); err == nil || !strings.Contains(err.Error(), "port 80") {
		t.Fatalf("http through the accelerator: %v, want a refused connection on port 80", err)
	}
	produce(t, l, "sensor-1", 20)
	// The canary probes P's ALB and the accelerator with https: P stays
	// healthy, so the alarm stays OK.
	if err := l.Sleep(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	alarms, err := l.World.Region(B).CloudWatch().DescribeAlarms(sim.Unmetered(ctx), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{l.Names.AlarmName()}})
	if err != nil || len(alarms.MetricAlarms) != 1 {
		t.Fatalf("alarm: %v %v", alarms, err)
	}
	if got := alarms.MetricAlarms[0].StateValue; got != cwtypes.StateValueOk {
		t.Fatalf("alarm %s with P up over https, want OK", got)
	}
	if ok, ans := probe(t, l, "http://"+l.AcceleratorDNS, P); ok {
		t.Fatalf("dr-probe of http:// succeeded against the HTTPS deployment: %s", ans)
	}
	if ok, ans := probe(t, l, l.AcceleratorURL, P); !ok {
		t.Fatalf("dr-probe of %s: %s", l.AcceleratorURL, ans)
	}

	x, res, err := l.Run(ctx, "failover", `{"reason":"https test"}`)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != states.StatusSucceeded {
		t.Fatalf("failover %s: %s: %s\n%s", res.Status, res.Error, res.Cause, strings.Join(FailureLog(x), "\n"))
	}
	// The verify step probed https://<accelerator> and B answered.
	verified := false
	for _, ev := range x.History() {
		if d := ev.LambdaFunctionScheduledEventDetails; d != nil && strings.Contains(d.Input, `"op":"probe"`) {
			if !strings.Contains(d.Input, `"url":"`+l.AcceleratorURL+`"`) {
				t.Fatalf("the verify step probed %s, want %s", d.Input, l.AcceleratorURL)
			}
			verified = true
		}
	}
	if !verified {
		t.Fatal("the failover ran no verify step")
	}
	if got := servedBy(t, l); got != B {
		t.Fatalf("https through the accelerator served by %q after failover, want %s", got, B)
	}
	if got := inUseBy(t, l, B); len(got) != 1 {
		t.Fatalf("B's certificate in use by %v after activation, want B's ALB", got)
	}
	if ok, ans := probe(t, l, "http://"+l.AcceleratorDNS, B); ok {
		t.Fatalf("dr-probe of http:// succeeded after failover: %s", ans)
	}
}

// TestHTTPSNeedsTheCertificate: the certificate is a deploy-time
// parameter the deployment checks — another region's certificate is
// refused by the parameter's pattern before anything is created, and a
// certificate ACM does not have fails the listener, so P's workload stack
// rolls back.
func TestHTTPSNeedsTheCertificate(t *testing.T) {
	a, err := snapshot()
	if err != nil {
		t.Fatal(err)
	}
	names, regions, err := a.Topology()
	if err != nil {
		t.Fatal(err)
	}
	stack := names.Stack("workload", regions.Primary)
	for _, tc := range []struct{ name, arn, want string }{
		{"OtherRegion", "arn:aws:acm:" + regions.Backup + ":" + names.Account + ":certificate/0a1b2c3d-0000-4000-8000-000000000001", "failed to satisfy constraint"},
		{"Missing", "arn:aws:acm:" + regions.Primary + ":" + names.Account + ":certificate/0a1b2c3d-0000-4000-8000-000000000001", "CertificateNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(context.Background(), Options{Assembly: a, NoAutoFailover: true, NoCanary: true,
				Parameters: map[string]map[string]string{stack: {topology.CertificateParameter: tc.arn}}})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), stack) {
				t.Fatalf("New = %v, want the deployment of %s to fail with %s", err, stack, tc.want)
			}
		})
	}
}

package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// CloudWatch dashboards: PutDashboard validates the body's structure as
// the dashboard body reference describes it
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html):
// a JSON object with a widgets array, each widget of a known type with its
// required properties (a metric widget its metrics or annotations and its
// region, a text widget its markdown, an alarm widget its alarms). The
// simulator renders nothing; it keeps the body, which GetDashboard returns.

type cwDashboard struct {
	body     string
	modified time.Time
}

// cwDashboardName is the name rule of PutDashboard: up to 255 characters
// of letters, digits, "-" and "_".
var cwDashboardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// cwDashboardWidgetTypes are the widget types of the body reference.
var cwDashboardWidgetTypes = map[string]bool{"metric": true, "text": true, "alarm": true, "log": true, "explorer": true, "custom": true}

func cwDashboardInvalid(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &cwtypes.DashboardInvalidInputError{Message: aws.String("The dashboard body is invalid, there are 1 validation errors: " + msg),
		DashboardValidationMessages: []cwtypes.DashboardValidationMessage{{DataPath: aws.String("/widgets"), Message: aws.String(msg)}}}
}

// validateDashboardBody checks body as PutDashboard does.
func validateDashboardBody(body string) error {
	var d struct {
		Widgets *[]map[string]json.RawMessage `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil {
		return cwDashboardInvalid("the body is not a JSON object: %v", err)
	}
	if d.Widgets == nil {
		return cwDashboardInvalid("should have required property 'widgets'")
	}
	for i, w := range *d.Widgets {
		var typ string
		if err := json.Unmarshal(w["type"], &typ); err != nil || !cwDashboardWidgetTypes[typ] {
			return cwDashboardInvalid("widget %d: type %s is not one of metric, text, alarm, log, explorer, custom", i, string(w["type"]))
		}
		var props map[string]json.RawMessage
		if err := json.Unmarshal(w["properties"], &props); err != nil || props == nil {
			return cwDashboardInvalid("widget %d: should have required property 'properties'", i)
		}
		switch typ {
		case "metric":
			if props["metrics"] == nil && props["annotations"] == nil {
				return cwDashboardInvalid("widget %d: a metric widget should have property 'metrics' or 'annotations'", i)
			}
			if props["region"] == nil {
				return cwDashboardInvalid("widget %d: a metric widget should have required property 'region'", i)
			}
		case "text":
			if props["markdown"] == nil {
				return cwDashboardInvalid("widget %d: a text widget should have required property 'markdown'", i)
			}
		case "alarm":
			if props["alarms"] == nil {
				return cwDashboardInvalid("widget %d: an alarm widget should have required property 'alarms'", i)
			}
		}
	}
	return nil
}

// dashboardARN is a dashboard's ARN: dashboards are global, the ARN has no
// region.
func (c *CloudWatch) dashboardARN(name string) string {
	return fmt.Sprintf("arn:aws:cloudwatch::%s:dashboard/%s", c.r.world.Account, name)
}

// PutDashboard creates or replaces a dashboard.
func (c *CloudWatch) PutDashboard(ctx context.Context, in *cloudwatch.PutDashboardInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutDashboardOutput, error) {
	const op = "PutDashboard"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.DashboardName)
	if !cwDashboardName.MatchString(name) {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The value for the parameter DashboardName is invalid: %q (1 to 255 characters of A-Z, a-z, 0-9, - and _)", name))
	}
	if in.DashboardBody == nil {
		return nil, opErr(cloudwatch.ServiceID, op, cwInvalid("The parameter DashboardBody is required."))
	}
	if err := validateDashboardBody(*in.DashboardBody); err != nil {
		return nil, opErr(cloudwatch.ServiceID, op, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dashboards == nil {
		c.dashboards = map[string]cwDashboard{}
	}
	c.dashboards[name] = cwDashboard{body: *in.DashboardBody, modified: c.r.world.Clock.Now()}
	return &cloudwatch.PutDashboardOutput{}, nil
}

func cwDashboardNotFound(name string) error {
	return &cwtypes.DashboardNotFoundError{Message: aws.String("Dashboard " + name + " does not exist")}
}

// GetDashboard returns a dashboard's body.
func (c *CloudWatch) GetDashboard(ctx context.Context, in *cloudwatch.GetDashboardInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetDashboardOutput, error) {
	const op = "GetDashboard"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.DashboardName)
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.dashboards[name]
	if !ok {
		return nil, opErr(cloudwatch.ServiceID, op, cwDashboardNotFound(name))
	}
	return &cloudwatch.GetDashboardOutput{DashboardName: aws.String(name), DashboardBody: aws.String(d.body), DashboardArn: aws.String(c.dashboardARN(name))}, nil
}

// ListDashboards lists the dashboards, by name, optionally those whose name
// starts with DashboardNamePrefix.
func (c *CloudWatch) ListDashboards(ctx context.Context, in *cloudwatch.ListDashboardsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.ListDashboardsOutput, error) {
	const op = "ListDashboards"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	prefix := aws.ToString(in.DashboardNamePrefix)
	c.mu.Lock()
	defer c.mu.Unlock()
	names := make([]string, 0, len(c.dashboards))
	for n := range c.dashboards {
		if len(n) >= len(prefix) && n[:len(prefix)] == prefix {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := &cloudwatch.ListDashboardsOutput{}
	for _, n := range names {
		d := c.dashboards[n]
		out.DashboardEntries = append(out.DashboardEntries, cwtypes.DashboardEntry{
			DashboardName: aws.String(n), DashboardArn: aws.String(c.dashboardARN(n)),
			LastModified: aws.Time(d.modified), Size: aws.Int64(int64(len(d.body))),
		})
	}
	return out, nil
}

// DeleteDashboards deletes dashboards; if any does not exist, none is
// deleted.
func (c *CloudWatch) DeleteDashboards(ctx context.Context, in *cloudwatch.DeleteDashboardsInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.DeleteDashboardsOutput, error) {
	const op = "DeleteDashboards"
	if err := c.r.call(ctx, cloudwatch.ServiceID, op, in); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range in.DashboardNames {
		if _, ok := c.dashboards[n]; !ok {
			return nil, opErr(cloudwatch.ServiceID, op, cwDashboardNotFound(n))
		}
	}
	for _, n := range in.DashboardNames {
		delete(c.dashboards, n)
	}
	return &cloudwatch.DeleteDashboardsOutput{}, nil
}

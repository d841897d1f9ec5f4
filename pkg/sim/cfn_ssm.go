package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func init() {
	registerCFN("AWS::SSM::Parameter", &cfnProvider{
		properties: []string{"Name", "Type", "Value", "Description", "Tags", "Tier", "AllowedPattern", "DataType"},
		required:   []string{"Type", "Value"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			name := cfnString(r.props, "Name")
			if name == "" {
				name = "CFN-" + op.physicalName(r.id, 128)
			}
			if err := cfnPutParameter(ctx, op, name, r.props, false); err != nil {
				return err
			}
			r.physicalID, r.ref = name, name
			r.attrs = map[string]any{"Type": cfnString(r.props, "Type"), "Value": cfnString(r.props, "Value")}
			return nil
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			r.attrs = map[string]any{"Type": cfnString(r.props, "Type"), "Value": cfnString(r.props, "Value")}
			return cfnPutParameter(ctx, op, r.physicalID, r.props, true)
		},
		replaceOn:    []string{"Name"},
		nameProperty: "Name",
		delete: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			_, err := op.r.SSM().DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(r.physicalID)})
			if isAPICode(err, "ParameterNotFound") {
				return nil
			}
			return err
		},
		createTime: cfnQuick, updateTime: cfnQuick, deleteTime: cfnQuick,
	})

	// Custom::AWS is the CDK's AwsCustomResource: its provider Lambda makes
	// one SDK call (service, action, parameters, region) on create and on
	// update, and exposes the response's fields as attributes. The app uses
	// it to read Parameter Store values of other regions at deploy time.
	// https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources.AwsCustomResource.html
	registerCFN("Custom::AWS", &cfnProvider{
		properties: []string{"ServiceToken", "Create", "Update", "Delete", "InstallLatestAwsSdk"},
		required:   []string{"ServiceToken"},
		create: func(ctx context.Context, op *cfnOp, r *cfnLive) error {
			return cfnAWSCall(ctx, op, r, cfnString(r.props, "Create"))
		},
		update: func(ctx context.Context, op *cfnOp, _ *cfnLive, r *cfnLive) error {
			return cfnAWSCall(ctx, op, r, cfnString(r.props, "Update"))
		},
		delete:     func(context.Context, *cfnOp, *cfnLive) error { return nil },
		createTime: 20 * time.Second, updateTime: 20 * time.Second, deleteTime: cfnQuick,
	})
}

func cfnPutParameter(ctx context.Context, op *cfnOp, name string, props map[string]any, overwrite bool) error {
	in := &ssm.PutParameterInput{Name: aws.String(name), Type: ssmtypes.ParameterType(cfnString(props, "Type")),
		Value: aws.String(cfnString(props, "Value")), Overwrite: aws.Bool(overwrite)}
	if d := cfnString(props, "Description"); d != "" {
		in.Description = aws.String(d)
	}
	_, err := op.r.SSM().PutParameter(ctx, in)
	return err
}

// cfnAWSCall makes an AwsCustomResource call. The simulator serves the
// calls the app makes (SSM getParameter); any other is an error naming it.
func cfnAWSCall(ctx context.Context, op *cfnOp, r *cfnLive, spec string) error {
	if spec == "" {
		return fmt.Errorf("custom resource %s has no call for this operation", r.id)
	}
	var call struct {
		Service, Action, Region string
		Parameters              map[string]any
		PhysicalResourceID      struct{ ID string } `json:"physicalResourceId"`
		OutputPaths             []string
	}
	if err := json.Unmarshal([]byte(spec), &call); err != nil {
		return fmt.Errorf("custom resource %s: call: %w", r.id, err)
	}
	region := call.Region
	if region == "" {
		region = op.r.Name
	}
	switch strings.ToLower(call.Service) + ":" + call.Action {
	case "ssm:getParameter":
		rr, err := op.world().lookupRegion(region)
		if err != nil {
			return err
		}
		name, _ := call.Parameters["Name"].(string)
		out, err := rr.SSM().GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err != nil {
			return fmt.Errorf("custom resource %s: SSM getParameter %s in %s: %w", r.id, name, region, err)
		}
		r.attrs = map[string]any{"Parameter.Value": aws.ToString(out.Parameter.Value), "Parameter.Name": name,
			"Parameter.Type": string(out.Parameter.Type), "Parameter.ARN": aws.ToString(out.Parameter.ARN)}
	default:
		return fmt.Errorf("custom resource %s: the call %s.%s is %w", r.id, call.Service, call.Action, errNotModelled)
	}
	r.physicalID = call.PhysicalResourceID.ID
	if r.physicalID == "" {
		r.physicalID = op.physicalName(r.id, 128)
	}
	r.ref = r.physicalID
	return nil
}

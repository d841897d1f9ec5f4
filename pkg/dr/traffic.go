package dr

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
)

// AcceleratorAPI is the part of the Global Accelerator control plane the
// traffic step uses. It exists only in us-west-2: the client must be
// created for GLOBAL_REGION whatever region the function runs in.
type AcceleratorAPI interface {
	DescribeEndpointGroup(ctx context.Context, in *globalaccelerator.DescribeEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.DescribeEndpointGroupOutput, error)
	UpdateEndpointGroup(ctx context.Context, in *globalaccelerator.UpdateEndpointGroupInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.UpdateEndpointGroupOutput, error)
	AddEndpoints(ctx context.Context, in *globalaccelerator.AddEndpointsInput, optFns ...func(*globalaccelerator.Options)) (*globalaccelerator.AddEndpointsOutput, error)
}

// StackDescriber reads a workload stack's outputs.
type StackDescriber interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// TrafficInput is dr-traffic's input.
type TrafficInput struct {
	Op     string `json:"op"`
	Region string `json:"region"`
}

// TrafficOutput reports each touched region's endpoint weight (the highest
// weight in its endpoint group).
type TrafficOutput struct {
	Weights map[string]int32 `json:"weights"`
}

// dr-traffic's operations (TrafficInput.Op).
const (
	// TrafficFence sets the region's endpoints to weight 0.
	TrafficFence = "fence"
	// TrafficPromote puts the region's load balancer in its endpoint group
	// at PromotedWeight and the other region's at 0: traffic moves there.
	TrafficPromote = "promote"
)

// PromotedWeight is the weight of the serving region's load balancer.
const PromotedWeight = 100

// Traffic is the dr-traffic step: it moves traffic between the regions
// with endpoint weights, never the traffic dial (which GA ignores when it
// fails over on health). Fencing sets a region's endpoints to weight 0 so
// GA sends it no new connections even if its health checks flap.
type Traffic struct {
	GA     AcceleratorAPI
	Stacks func(region string) (StackDescriber, error)
	Config Config
}

// Handle runs op fence or promote. Both are idempotent: nothing is
// written when the weights are already as asked.
func (t *Traffic) Handle(ctx context.Context, in TrafficInput) (TrafficOutput, error) {
	group, err := t.Config.EndpointGroupARN(in.Region)
	if err != nil {
		return TrafficOutput{}, err
	}
	out := TrafficOutput{Weights: map[string]int32{}}
	switch in.Op {
	case TrafficFence:
		w, err := t.setWeights(ctx, group, "", 0)
		if err != nil {
			return TrafficOutput{}, err
		}
		out.Weights[in.Region] = w
		return out, nil
	case TrafficPromote:
		lb, err := t.loadBalancer(ctx, in.Region)
		if err != nil {
			return TrafficOutput{}, err
		}
		w, err := t.setWeights(ctx, group, lb, PromotedWeight)
		if err != nil {
			return TrafficOutput{}, err
		}
		out.Weights[in.Region] = w
		for _, other := range []string{t.Config.PrimaryRegion, t.Config.BackupRegion} {
			if other == in.Region {
				continue
			}
			g, _ := t.Config.EndpointGroupARN(other)
			w, err := t.setWeights(ctx, g, "", 0)
			if err != nil {
				return TrafficOutput{}, err
			}
			out.Weights[other] = w
		}
		return out, nil
	}
	return TrafficOutput{}, invalidf("op %q: want fence or promote", in.Op)
}

// loadBalancer reads the region's load balancer ARN from its workload
// stack's outputs (present while the stack is active).
func (t *Traffic) loadBalancer(ctx context.Context, region string) (string, error) {
	cf, err := t.Stacks(region)
	if err != nil {
		return "", err
	}
	name := t.Config.WorkloadStack(region)
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("describe workload stack %s in %s: %w", name, region, err)
	}
	for _, s := range out.Stacks {
		for _, o := range s.Outputs {
			if aws.ToString(o.OutputKey) == "LoadBalancerArn" && aws.ToString(o.OutputValue) != "" {
				return aws.ToString(o.OutputValue), nil
			}
		}
	}
	return "", notFoundf("workload stack %s in %s has no LoadBalancerArn output: is it active (Active=true, UPDATE_COMPLETE)?", name, region)
}

// setWeights gives endpoint lb (when not "") weight w, adding it when
// missing, and every other endpoint of the group weight 0 when w is 0
// (fence) or leaves the others as they are (promote). It returns the
// group's highest weight afterwards.
func (t *Traffic) setWeights(ctx context.Context, group, lb string, w int32) (int32, error) {
	d, err := t.GA.DescribeEndpointGroup(ctx, &globalaccelerator.DescribeEndpointGroupInput{EndpointGroupArn: aws.String(group)})
	if err != nil {
		return 0, fmt.Errorf("describe endpoint group %s: %w", group, err)
	}
	var eps []gatypes.EndpointConfiguration
	changed, found := false, false
	var max int32
	for _, e := range d.EndpointGroup.EndpointDescriptions {
		cur := aws.ToInt32(e.Weight)
		next := cur
		switch {
		case lb != "" && aws.ToString(e.EndpointId) == lb:
			next, found = w, true
		case lb == "":
			next = w
		}
		changed = changed || next != cur
		max = maxWeight(max, next)
		eps = append(eps, gatypes.EndpointConfiguration{EndpointId: e.EndpointId, Weight: aws.Int32(next), ClientIPPreservationEnabled: e.ClientIPPreservationEnabled})
	}
	if lb != "" && !found {
		// A new endpoint starts INITIAL and takes traffic once GA's health
		// checks pass; the probe step waits for that.
		if _, err := t.GA.AddEndpoints(ctx, &globalaccelerator.AddEndpointsInput{EndpointGroupArn: aws.String(group),
			EndpointConfigurations: []gatypes.EndpointConfiguration{{EndpointId: aws.String(lb), Weight: aws.Int32(w), ClientIPPreservationEnabled: aws.Bool(true)}}}); err != nil {
			return 0, fmt.Errorf("add endpoint %s to %s: %w", lb, group, err)
		}
		return maxWeight(max, w), nil
	}
	if !changed {
		return max, nil
	}
	if _, err := t.GA.UpdateEndpointGroup(ctx, &globalaccelerator.UpdateEndpointGroupInput{EndpointGroupArn: aws.String(group), EndpointConfigurations: eps}); err != nil {
		return 0, fmt.Errorf("set weights of endpoint group %s: %w", group, err)
	}
	return max, nil
}

func maxWeight(a, b int32) int32 {
	if b > a {
		return b
	}
	return a
}

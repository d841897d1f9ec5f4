package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Resource-based policies that a service's own delivery is authorized by:
// an EventBridge rule publishing to an SNS topic needs the topic's policy
// to allow its service principal (events.amazonaws.com) sns:Publish, and,
// when the topic is encrypted with a customer managed key, the key's policy
// to allow it kms:GenerateDataKey* and kms:Decrypt ("Amazon SNS
// permissions" and "Amazon SQS and Amazon SNS encrypted targets",
// EventBridge User Guide; docs/aws-facts.md "EventBridge → SNS"). No role
// is involved, so no identity-based policy is evaluated: the resource's
// policy alone decides. A resource without a policy allows no service
// principal (an SNS topic's default policy names only the owner account).
//
// The simulator keeps the policies CloudFormation attaches
// (AWS::SNS::TopicPolicy, AWS::KMS::Key's KeyPolicy) by resource ARN.

// EvaluateResourcePolicy evaluates a resource-based policy for a request a
// service principal (such as "events.amazonaws.com") makes: a statement
// applies when its Principal names the service (or "*"; NotPrincipal when
// it does not) and its action, resource and conditions match. A matching
// Deny wins, else a matching Allow allows, else the request is implicitly
// denied.
func EvaluateResourcePolicy(p *Policy, servicePrincipal string, req AuthRequest) Decision {
	if p == nil {
		return ImplicitDeny
	}
	ctx := &condContext{raw: req.Context}
	d := ImplicitDeny
	for i := range p.Statements {
		s := &p.Statements[i]
		names := principalNamesService(s.Principal, servicePrincipal)
		if names == s.NotPrincipal {
			continue
		}
		if !s.applies(req.Action, req.Resource, ctx) {
			continue
		}
		if s.Deny {
			return ExplicitDeny
		}
		d = Allow
	}
	return d
}

// principalNamesService reports whether a Principal element names the
// service principal: "*", {"AWS":"*"} or a "Service" member listing it.
func principalNamesService(raw json.RawMessage, service string) bool {
	raw = bytes.TrimSpace(raw)
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return star == "*"
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(raw, &members) != nil {
		return false
	}
	for k, v := range members {
		vals, err := stringOrList(v)
		if err != nil {
			continue
		}
		for _, name := range vals {
			if (k == "AWS" && name == "*") || (k == "Service" && strings.EqualFold(name, service)) {
				return true
			}
		}
	}
	return false
}

// setResourcePolicy attaches (nil: detaches) the policy of a resource.
func (w *World) setResourcePolicy(arn string, p *Policy) {
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	if w.iam.resources == nil {
		w.iam.resources = map[string]*Policy{}
	}
	if p == nil {
		delete(w.iam.resources, arn)
		return
	}
	w.iam.resources[arn] = p
}

// resourceCall is a delivery a service makes under resource policies.
type resourceCall struct {
	// Principal is the acting service principal ("events.amazonaws.com").
	Principal string
	// Region is where the resources are; Service and Operation are
	// recorded in DeniedCall (the acting service and what it did).
	Region, Service, Operation string
	// Context holds the request's condition keys (aws:SourceArn,
	// aws:SourceAccount).
	Context map[string][]string
}

// resourceAuthorize checks each action on each resource against that
// resource's policy, for work rc.Principal does; the first denial is
// recorded in Denied (Principal and Via the service principal) and
// returned as a ServiceDenied. Everything is allowed when IAM is not
// enforced.
func (w *World) resourceAuthorize(rc resourceCall, checks ...iamCheck) error {
	if !w.IAMEnforced() {
		return nil
	}
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	for _, c := range checks {
		p := w.iam.resources[c.resource]
		d := EvaluateResourcePolicy(p, rc.Principal, AuthRequest{Action: c.action, Resource: c.resource, Context: rc.Context})
		if d == Allow {
			continue
		}
		den := DeniedCall{Principal: rc.Principal, Action: c.action, Resource: c.resource, Region: rc.Region,
			Service: rc.Service, Operation: rc.Operation, Via: rc.Principal, Explicit: d == ExplicitDeny, Time: w.Clock.Now()}
		w.iam.recordLocked(den)
		why := "no resource-based policy allows it"
		switch {
		case p == nil:
			why = "the resource has no policy that names " + rc.Principal
		case d == ExplicitDeny:
			why = "an explicit deny in its resource-based policy"
		}
		return &ServiceDenied{Denial: den, Message: fmt.Sprintf("%s is not authorized to perform: %s on resource: %s because %s", rc.Principal, c.action, c.resource, why)}
	}
	return nil
}

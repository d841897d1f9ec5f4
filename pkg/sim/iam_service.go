package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Work AWS services do on their own with a role the customer gives them:
// S3 replicating with the replication configuration's role, Firehose
// reading its source and writing its destination, AWS Backup running a job
// as the job's IamRoleArn, and (for the simulators of Lambda, EventBridge
// and EventBridge Scheduler) event-source mappings polling with the
// function's execution role, on-failure destinations, and rule or schedule
// targets invoked with the target's RoleArn.
//
// In AWS a missing permission there fails no API call: the work fails
// later and quietly (replication status FAILED, a delivery error retried
// for a day, a backup job FAILED). The simulator evaluates the role with
// the same evaluator as the call gate (evaluateLocked) and records each
// denial in Denied, with Via naming the service, so a rehearsal with
// EnforceIAM on shows the missing permission where production would lose
// data.
//
// How to use it from a service's own work (no API call, no principal in
// the context):
//
//	err := r.world.serviceAuthorize(serviceCall{
//		Region:    r.Name,                  // where the work runs
//		Role:      roleARN,                 // the role the customer gave
//		Via:       "lambda.amazonaws.com",  // the principal the trust policy must name
//		Service:   "Lambda",                // recorded as DeniedCall.Service
//		Operation: "EventSourceMapping",    // what the service was doing
//	},
//		iamCheck{action: "kinesis:GetRecords", resource: streamARN},
//		iamCheck{action: "kinesis:GetShardIterator", resource: streamARN},
//	)
//	if err != nil {
//		// fail the way the service fails: retry, FAILED status, drop …
//		// errors.As(err, new(*ServiceDenied)) tells a denial apart.
//	}
//
// Build the checks with the action and resource ARN helpers of
// iam_actions.go (one, kinesisARN, sqsARN, s3ObjectARN, …); an EventBridge
// target calling states:StartExecution is
// iamCheck{action: "states:StartExecution", resource: stateMachineARN}.
//
// serviceAuthorize allows everything when EnforceIAM is off or role is
// empty (a world built by hand in a test, as a call without a principal is
// in the call gate). Otherwise the role must exist and, if CreateRole was
// given its trust policy, allow sts:AssumeRole to Via; a role that cannot
// be assumed is recorded as a denial of sts:AssumeRole on the role. Then
// every check must be allowed; the first that is not is recorded and
// returned. It takes only the IAM lock, which is a leaf, so it may be
// called with a service's own lock held, but the checks must be computed
// by the caller.

// serviceCall names one piece of work a service does as a role.
type serviceCall struct {
	// Region is the region the work runs in (aws:RequestedRegion).
	Region string
	// Role is the ARN of the role the service assumes.
	Role string
	// Via is the service principal that assumes the role, as a trust
	// policy names it: "s3.amazonaws.com", "firehose.amazonaws.com".
	Via string
	// Service and Operation are recorded in DeniedCall: the acting
	// service's SDK ServiceID and what it was doing.
	Service, Operation string
	// Session is the role session name in the denial message; empty: the
	// role's name.
	Session string
	// SourceARN is the resource on whose behalf the service acts (an
	// EventBridge rule's ARN): aws:SourceArn where a resource policy
	// decides (iam_resource.go).
	SourceARN string
}

// ServiceDenied is the error serviceAuthorize returns for a denial: the
// recorded denial and AWS's message for it.
type ServiceDenied struct {
	Denial  DeniedCall
	Message string
}

func (e *ServiceDenied) Error() string { return e.Message }

// errAssumeRole is the action recorded when a service cannot assume a
// role (missing, or its trust policy does not name the service).
const errAssumeRole = "sts:AssumeRole"

// serviceAuthorize evaluates work a service does as sc.Role; see above.
func (w *World) serviceAuthorize(sc serviceCall, checks ...iamCheck) error {
	if sc.Role == "" || !w.IAMEnforced() {
		return nil
	}
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	session := sc.Session
	if session == "" {
		_, session, _ = parseRoleARN(sc.Role)
	}
	id := callerIdentity{role: sc.Role, session: session}
	role := w.iam.roles[sc.Role]
	if role == nil || role.trust != nil && !role.trust.allowsService(sc.Via) {
		d := DeniedCall{Principal: sc.Role, Action: errAssumeRole, Resource: sc.Role, Region: sc.Region,
			Service: sc.Service, Operation: sc.Operation, Via: sc.Via, Time: w.Clock.Now()}
		w.iam.recordLocked(d)
		why := "the role does not exist"
		if role != nil {
			why = "the role's trust policy does not allow " + sc.Via + " to assume it"
		}
		return &ServiceDenied{Denial: d, Message: fmt.Sprintf("%s is unable to assume role %s: %s", sc.Via, sc.Role, why)}
	}
	c, dec, _ := w.evaluateLocked(sc.Role, sc.Region, sc.Service, sc.Operation, sc.Via, checks)
	if dec == Allow {
		return nil
	}
	d := w.iam.last
	var api interface{ ErrorMessage() string }
	msg := ""
	if errors.As(iamDenial("", sc.Operation, id, c, dec == ExplicitDeny), &api) {
		msg = api.ErrorMessage()
	}
	return &ServiceDenied{Denial: d, Message: msg}
}

// trustPolicy is the part of a role's trust policy the simulator checks:
// which service principals each statement allows or denies sts:AssumeRole.
// Conditions (aws:SourceAccount, aws:SourceArn) are not evaluated.
type trustPolicy struct {
	statements []trustStatement
}

type trustStatement struct {
	deny     bool
	actions  []string
	services []string // Principal.Service; "*" for Principal "*"
}

// parseTrustPolicy reads a trust policy: a Version and statements with an
// Effect, a Principal and an Action.
func parseTrustPolicy(doc []byte) (*trustPolicy, error) {
	var raw struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, fmt.Errorf("trust policy: %v", err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw.Statement, &list); err != nil {
		list = []json.RawMessage{raw.Statement}
	}
	if len(list) == 0 || len(raw.Statement) == 0 {
		return nil, errors.New("trust policy: no statement")
	}
	t := &trustPolicy{}
	for _, m := range list {
		var st struct {
			Effect    string
			Principal json.RawMessage
			Action    json.RawMessage
		}
		if err := json.Unmarshal(m, &st); err != nil {
			return nil, fmt.Errorf("trust policy statement: %v", err)
		}
		if st.Effect != "Allow" && st.Effect != "Deny" {
			return nil, fmt.Errorf("trust policy statement: Effect %q", st.Effect)
		}
		actions, err := stringOrList(st.Action)
		if err != nil {
			return nil, fmt.Errorf("trust policy statement Action: %v", err)
		}
		s := trustStatement{deny: st.Effect == "Deny", actions: actions}
		var star string
		if json.Unmarshal(st.Principal, &star) == nil {
			if star != "*" {
				return nil, fmt.Errorf("trust policy statement: Principal %q", star)
			}
			s.services = []string{"*"}
		} else {
			var p map[string]json.RawMessage
			if err := json.Unmarshal(st.Principal, &p); err != nil || len(p) == 0 {
				return nil, errors.New("trust policy statement: a Principal is required")
			}
			if svc, ok := p["Service"]; ok {
				if s.services, err = stringOrList(svc); err != nil {
					return nil, fmt.Errorf("trust policy statement Principal.Service: %v", err)
				}
			}
		}
		t.statements = append(t.statements, s)
	}
	return t, nil
}

// allowsService reports whether the trust policy lets service assume the
// role: an Allow of sts:AssumeRole names it and no Deny does.
func (t *trustPolicy) allowsService(service string) bool {
	allowed := false
	for _, s := range t.statements {
		act := false
		for _, a := range s.actions {
			act = act || globMatchFold(a, "sts:AssumeRole")
		}
		named := false
		for _, p := range s.services {
			named = named || p == "*" || strings.EqualFold(p, service)
		}
		if !act || !named {
			continue
		}
		if s.deny {
			return false
		}
		allowed = true
	}
	return allowed
}

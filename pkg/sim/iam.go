package sim

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	gatypes "github.com/aws/aws-sdk-go-v2/service/globalaccelerator/types"
	gluetypes "github.com/aws/aws-sdk-go-v2/service/glue/types"
	kinesistypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The simulator enforces IAM identity-based policies so that a local
// rehearsal fails where production would on a missing permission.
//
// A call is evaluated only when enforcement is on (EnforceIAM) and its
// context carries a principal (WithPrincipal): a call without one is the
// simulator itself or a test and is allowed unevaluated. Each simulated
// operation maps to the IAM actions and resources the Service Authorization
// Reference lists for it (iam_actions.go); every one must be allowed.
// Resource-based policies are evaluated only for the service deliveries
// that rest on them alone (iam_resource.go: EventBridge publishing to an
// SNS topic and its KMS key); for calls made as a role they, permission
// boundaries, SCPs and session policies are not modelled.

// iamState is the world's IAM registry. Its zero value is ready to use.
type iamState struct {
	mu      sync.Mutex
	enforce bool
	roles   map[string]*iamRole // by role ARN
	managed map[string]*Policy  // customer managed policies by ARN
	// denied is the first MaxDeniedRecords denials; seq counts them all
	// (and makes denied calls' request IDs); last is the latest.
	denied []DeniedCall
	last   DeniedCall
	seq    uint64
	// resources are the resource-based policies services' deliveries are
	// authorized by (iam_resource.go), by resource ARN.
	resources map[string]*Policy
}

// iamRole is one role's permissions policies.
type iamRole struct {
	inline   map[string]*Policy // by policy name
	attached map[string]bool    // managed policy ARNs
	// trust is the role's trust policy, nil when CreateRole was given
	// none (a service may then assume the role unchecked).
	trust *trustPolicy
}

// DeniedCall is one call IAM denied, for a drill report.
type DeniedCall struct {
	// Principal is the role ARN the call was made as.
	Principal string
	// Action and Resource are the IAM action and resource that were denied.
	Action, Resource string
	// Region is the region called; Service and Operation the API called.
	// For work a service does on its own as a role (serviceAuthorize),
	// Service is the acting service and Operation what it was doing, such
	// as "S3" and "ReplicateObject".
	Region, Service, Operation string
	// Via is the service principal that acted as Principal
	// ("s3.amazonaws.com"), empty for a call the caller made itself.
	Via string
	// Explicit is true when a Deny statement matched, false for an
	// implicit deny (no statement allowed the action).
	Explicit bool
	// Time is when the call was made, on the world's clock.
	Time time.Time
}

// EnforceIAM turns evaluation of calls made with a principal on or off. It
// is off in a new world, so existing tests and drills run unchanged.
func (w *World) EnforceIAM(on bool) {
	defer w.changed() // runs after the unlock: see watch
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	w.iam.enforce = on
}

// IAMEnforced reports whether EnforceIAM is on.
func (w *World) IAMEnforced() bool {
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	return w.iam.enforce
}

// parseRoleARN splits arn:aws:iam::ACCOUNT:role/[PATH/]NAME.
func parseRoleARN(arn string) (account, name string, ok bool) {
	rest, found := strings.CutPrefix(arn, "arn:aws:iam::")
	if !found {
		return "", "", false
	}
	account, res, found := strings.Cut(rest, ":")
	if !found || account == "" || !strings.HasPrefix(res, "role/") {
		return "", "", false
	}
	name = res[strings.LastIndexByte(res, '/')+1:]
	return account, name, name != ""
}

// iamErr is an IAM API error, so callers classify it by code as they would
// the real IAM's answer.
func iamErr(code, format string, args ...any) error {
	return apiErr(code, format, args...)
}

// CreateRole declares that a role exists, with no policies. Declaring an
// existing role keeps its policies, so a deployer may declare roles before
// or after attaching policies in any order.
//
// trustDoc, if given, is the role's trust policy (a CloudFormation
// role's AssumeRolePolicyDocument): a service then assumes the role only if
// it allows sts:AssumeRole to the service's principal (serviceAuthorize).
// A document IAM would reject fails with MalformedPolicyDocument. Without
// one the role keeps the trust policy it had, none for a new role, and any
// service may assume it.
func (w *World) CreateRole(roleARN string, trustDoc ...[]byte) error {
	defer w.changed() // runs after the unlock: see watch
	if _, _, ok := parseRoleARN(roleARN); !ok {
		return fmt.Errorf("create role: %w", iamErr("ValidationError", "%s is not a role ARN", roleARN))
	}
	var trust *trustPolicy
	if len(trustDoc) > 0 && trustDoc[0] != nil {
		t, err := parseTrustPolicy(trustDoc[0])
		if err != nil {
			return fmt.Errorf("create role %s: %w", roleARN, iamErr("MalformedPolicyDocument", "%v", err))
		}
		trust = t
	}
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	r := w.iam.roleLocked(roleARN, true)
	if trust != nil {
		r.trust = trust
	}
	return nil
}

// DeleteRole removes a role and its inline policies; calls made as it are
// then denied.
func (w *World) DeleteRole(roleARN string) {
	defer w.changed() // runs after the unlock: see watch
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	delete(w.iam.roles, roleARN)
}

func (s *iamState) roleLocked(arn string, create bool) *iamRole {
	r := s.roles[arn]
	if r == nil && create {
		if s.roles == nil {
			s.roles = make(map[string]*iamRole)
		}
		r = &iamRole{inline: map[string]*Policy{}, attached: map[string]bool{}}
		s.roles[arn] = r
	}
	return r
}

// PutRolePolicy adds or replaces a role's inline policy, as IAM's
// PutRolePolicy does; the role must exist (CreateRole). A document IAM would
// reject fails with MalformedPolicyDocument, a missing role with
// NoSuchEntity.
func (w *World) PutRolePolicy(roleARN, policyName string, document []byte) error {
	defer w.changed() // runs after the unlock: see watch
	p, err := ParsePolicy(document)
	if err != nil {
		return fmt.Errorf("put role policy %s: %w", policyName, iamErr("MalformedPolicyDocument", "%v", err))
	}
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	r := w.iam.roleLocked(roleARN, false)
	if r == nil {
		return fmt.Errorf("put role policy %s: %w", policyName, iamErr("NoSuchEntity", "The role with name %s cannot be found.", roleARN))
	}
	r.inline[policyName] = p
	return nil
}

// DeleteRolePolicy removes a role's inline policy. A missing role or policy
// is NoSuchEntity, as IAM answers.
func (w *World) DeleteRolePolicy(roleARN, policyName string) error {
	defer w.changed() // runs after the unlock: see watch
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	r := w.iam.roleLocked(roleARN, false)
	if r == nil || r.inline[policyName] == nil {
		return fmt.Errorf("delete role policy %s: %w", policyName, iamErr("NoSuchEntity", "The role policy with name %s cannot be found.", policyName))
	}
	delete(r.inline, policyName)
	return nil
}

// PutManagedPolicy creates a customer managed policy, or replaces its
// document (as a new default version would); every role it is attached to
// sees the change.
func (w *World) PutManagedPolicy(policyARN string, document []byte) error {
	defer w.changed() // runs after the unlock: see watch
	p, err := ParsePolicy(document)
	if err != nil {
		return fmt.Errorf("put managed policy %s: %w", policyARN, iamErr("MalformedPolicyDocument", "%v", err))
	}
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	if w.iam.managed == nil {
		w.iam.managed = make(map[string]*Policy)
	}
	w.iam.managed[policyARN] = p
	return nil
}

// AttachRolePolicy attaches a managed policy (PutManagedPolicy) to a role.
func (w *World) AttachRolePolicy(roleARN, policyARN string) error {
	defer w.changed() // runs after the unlock: see watch
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	r := w.iam.roleLocked(roleARN, false)
	if r == nil {
		return fmt.Errorf("attach role policy %s: %w", policyARN, iamErr("NoSuchEntity", "The role with name %s cannot be found.", roleARN))
	}
	if w.iam.managedLocked(policyARN) == nil {
		return fmt.Errorf("attach role policy %s: %w", policyARN, iamErr("NoSuchEntity", "Policy %s does not exist or is not attachable.", policyARN))
	}
	r.attached[policyARN] = true
	return nil
}

// DetachRolePolicy detaches a managed policy from a role.
func (w *World) DetachRolePolicy(roleARN, policyARN string) error {
	defer w.changed() // runs after the unlock: see watch
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	r := w.iam.roleLocked(roleARN, false)
	if r == nil || !r.attached[policyARN] {
		return fmt.Errorf("detach role policy %s: %w", policyARN, iamErr("NoSuchEntity", "Policy %s was not found.", policyARN))
	}
	delete(r.attached, policyARN)
	return nil
}

// MaxDeniedRecords is how many denied calls the world records in full: a
// run whose every call is denied (a broken policy) keeps the first of
// them and counts the rest, its memory bounded whatever the calls.
const MaxDeniedRecords = 10000

// Denied returns the calls IAM denied, in order: all of them, or the first
// MaxDeniedRecords when DeniedCount is more.
func (w *World) Denied() []DeniedCall {
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	return append([]DeniedCall(nil), w.iam.denied...)
}

// DeniedCount is how many calls IAM denied.
func (w *World) DeniedCount() int {
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	return int(w.iam.seq)
}

// rolePoliciesLocked returns a role's policies, inline then attached, and
// whether the role exists.
func (s *iamState) rolePoliciesLocked(arn string) ([]*Policy, bool) {
	r := s.roles[arn]
	if r == nil {
		return nil, false
	}
	var out []*Policy
	for _, name := range sortedKeys(r.inline) {
		out = append(out, r.inline[name])
	}
	for _, a := range sortedKeys(r.attached) {
		out = append(out, s.managedLocked(a))
	}
	return out, true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// principalKey is the context key of the caller's identity.
type principalKey struct{}

// callerIdentity is a role session: the role and the session name that
// appears in the assumed-role ARN.
type callerIdentity struct {
	role, session string
}

// WithPrincipal returns ctx carrying a role as the caller's identity, as the
// credentials of a Lambda function's execution role or a state machine's
// role would. The session name is the role's name.
func WithPrincipal(ctx context.Context, roleARN string) context.Context {
	_, name, _ := parseRoleARN(roleARN)
	return WithRoleSession(ctx, roleARN, name)
}

// WithRoleSession is WithPrincipal with an explicit role session name (a
// Lambda function's session is the function's name), which appears in the
// assumed-role ARN of denial messages.
func WithRoleSession(ctx context.Context, roleARN, session string) context.Context {
	return context.WithValue(ctx, principalKey{}, callerIdentity{role: roleARN, session: session})
}

// WithoutPrincipal returns ctx carrying no caller identity: for a call
// AWS makes as a service under a resource-based policy, which the
// simulator does not evaluate — such as a load balancer invoking its
// Lambda target, which Lambda authorizes by the function's policy
// (AWS::Lambda::Permission for elasticloadbalancing.amazonaws.com), not
// by the credentials of the client that sent the HTTP request.
func WithoutPrincipal(ctx context.Context) context.Context {
	return context.WithValue(ctx, principalKey{}, nil)
}

// PrincipalOf returns the role ARN ctx carries, if any.
func PrincipalOf(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(principalKey{}).(callerIdentity)
	return id.role, ok
}

// assumedRoleARN is the STS identity a role session has, as IAM names it in
// a denial: arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION.
func (id callerIdentity) assumedRoleARN() string {
	account, name, ok := parseRoleARN(id.role)
	if !ok {
		return id.role
	}
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", account, name, id.session)
}

// authorize evaluates a call made with a principal against the principal's
// policies, once for each action and resource the operation needs. It
// returns the error the call fails with, already wrapped, or nil.
func (r *Region) authorize(ctx context.Context, service, operation string, in any) error {
	id, ok := ctx.Value(principalKey{}).(callerIdentity)
	if !ok {
		return nil
	}
	w := r.world
	if !w.IAMEnforced() {
		return nil
	}
	// The checks may read service state (a stack's ID, an object's
	// existence), so they are computed without the IAM lock held.
	return r.authorizeChecks(id, service, operation, iamChecksFor(r, service, operation, in))
}

// AuthorizeStepFunctions evaluates, as ctx's principal, an action Step
// Functions takes by itself with a state machine's execution role, which no
// simulated API call carries: the engine that hosts the state machines
// (pkg/states, wired by pkg/local) asks before a Distributed Map starts its
// child workflow executions, which needs states:StartExecution on the state
// machine. It answers as the call gate does: nil when allowed (or when ctx
// carries no principal, or IAM is not enforced), else the AccessDenied
// error of the operation, recorded in Denied with service "SFN".
func (r *Region) AuthorizeStepFunctions(ctx context.Context, operation, action, resource string) error {
	id, ok := ctx.Value(principalKey{}).(callerIdentity)
	if !ok || !r.world.IAMEnforced() {
		return nil
	}
	return r.authorizeChecks(id, "SFN", operation, one(action, resource))
}

// authorizeChecks evaluates checks for a call made as id (see authorize).
func (r *Region) authorizeChecks(id callerIdentity, service, operation string, checks []iamCheck) error {
	w := r.world
	w.iam.mu.Lock()
	defer w.iam.mu.Unlock()
	c, d, seq := w.evaluateLocked(id.role, r.Name, service, operation, "", checks)
	if d == Allow {
		return nil
	}
	reqID := fmt.Sprintf("00000000-0000-4000-8000-%012x", seq)
	return opErr(service, operation, &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{}}},
			Err:      iamDenial(service, operation, id, c, d == ExplicitDeny),
		},
		RequestID: reqID,
	})
}

// evaluateLocked is the one evaluator of the simulator's IAM: it evaluates
// the role's policies for each check in order, with the global condition
// keys of a request made in region at the clock's time, and records the
// first check that is not allowed in Denied (via names the service that
// acted as the role, empty for the caller itself). It returns that check,
// its decision and the denial's sequence number, or Allow. A role that
// does not exist allows nothing. w.iam.mu must be held.
func (w *World) evaluateLocked(role, region, service, operation, via string, checks []iamCheck) (iamCheck, Decision, uint64) {
	now := w.Clock.Now()
	account, _, _ := parseRoleARN(role)
	base := map[string][]string{
		"aws:RequestedRegion":  {region},
		"aws:PrincipalArn":     {role},
		"aws:PrincipalAccount": {account},
		"aws:PrincipalType":    {"AssumedRole"},
		"aws:SecureTransport":  {"true"},
		"aws:CurrentTime":      {now.UTC().Format(time.RFC3339)},
		"aws:EpochTime":        {strconv.FormatInt(now.Unix(), 10)},
	}
	policies, known := w.iam.rolePoliciesLocked(role)
	for _, c := range checks {
		keys := base
		if len(c.keys) > 0 {
			keys = make(map[string][]string, len(base)+len(c.keys))
			for k, v := range base {
				keys[k] = v
			}
			for k, v := range c.keys {
				keys[k] = v
			}
		}
		d := ImplicitDeny
		if known {
			d = EvaluatePolicies(policies, AuthRequest{Action: c.action, Resource: c.resource, Context: keys})
		}
		if d == Allow {
			continue
		}
		return c, d, w.iam.recordLocked(DeniedCall{Principal: role, Action: c.action, Resource: c.resource,
			Region: region, Service: service, Operation: operation, Via: via, Explicit: d == ExplicitDeny, Time: now})
	}
	return iamCheck{}, Allow, 0
}

// recordLocked appends a denial and returns its sequence number, from
// which a denied call's request ID is made.
func (s *iamState) recordLocked(d DeniedCall) uint64 {
	if len(s.denied) < MaxDeniedRecords {
		s.denied = append(s.denied, d)
	}
	s.last = d
	s.seq++
	return s.seq
}

// iamDenial is the API error a denied call gets, with the service's own
// error code and AWS's message:
//
//	User: ARN is not authorized to perform: ACTION on resource: RESOURCE
//	because no identity-based policy allows the ACTION action
//
// ("Troubleshoot access denied error messages", AWS IAM User Guide). A call
// whose action has no resource omits "on resource".
func iamDenial(service, operation string, id callerIdentity, c iamCheck, explicit bool) error {
	action, resource := c.action, c.resource
	switch service {
	case "SNS":
		// SNS spells its service prefix in capitals: "SNS:Publish".
		if p, rest, ok := strings.Cut(action, ":"); ok {
			action = strings.ToUpper(p) + ":" + rest
		}
	case "SQS":
		// SQS reports actions in lower case: "sqs:sendmessage".
		action = strings.ToLower(action)
	case s3ServiceID:
		resource = strconv.Quote(resource)
	}
	msg := fmt.Sprintf("User: %s is not authorized to perform: %s", id.assumedRoleARN(), action)
	if c.resource != "*" {
		msg += " on resource: " + resource
	}
	if explicit {
		msg += " with an explicit deny in an identity-based policy"
	} else {
		msg += " because no identity-based policy allows the " + action + " action"
	}
	switch service {
	case s3ServiceID:
		if operation == "HeadObject" || operation == "HeadBucket" {
			// A HEAD response has no body, so the SDK names the error
			// after the status: "Forbidden" ("HeadObject", Amazon S3 API
			// Reference).
			return &smithy.GenericAPIError{Code: "Forbidden", Message: "Forbidden", Fault: smithy.FaultClient}
		}
		return &smithy.GenericAPIError{Code: "AccessDenied", Message: msg, Fault: smithy.FaultClient}
	case "Kinesis":
		return &kinesistypes.AccessDeniedException{Message: aws.String(msg)}
	case "Glue":
		return &gluetypes.AccessDeniedException{Message: aws.String(msg)}
	case "Global Accelerator":
		return &gatypes.AccessDeniedException{Message: aws.String(msg)}
	case "SNS":
		return &snstypes.AuthorizationErrorException{Message: aws.String(msg)}
	case "SQS", "CloudWatch", "CloudFormation":
		// SQS and CloudWatch speak JSON with the awsQueryCompatible trait:
		// the x-amzn-query-error header carries the query code AccessDenied,
		// which the SDK reports. CloudFormation speaks the query protocol.
		return &smithy.GenericAPIError{Code: "AccessDenied", Message: msg, Fault: smithy.FaultClient}
	}
	return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: msg, Fault: smithy.FaultClient}
}

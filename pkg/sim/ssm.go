package sim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// SSM is one region's simulated Systems Manager Parameter Store: standard
// parameters of type String, StringList and SecureString (stored as given:
// there is no KMS), each PutParameter a new version.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-parameter-store.html
type SSM struct {
	r *Region

	mu     sync.Mutex
	params map[string]*ssmParameter // by name
}

type ssmParameter struct {
	name     string
	versions []ssmtypes.Parameter // version i+1 at index i
	desc     string
}

// SSM limits from the Parameter Store quotas.
const (
	ssmMaxNameLen   = 1011
	ssmMaxValueLen  = 4096 // standard tier
	ssmMaxHierarchy = 15
)

// SSM returns the region's Parameter Store.
func (r *Region) SSM() *SSM {
	return r.service(ssm.ServiceID, func() any { return &SSM{r: r, params: make(map[string]*ssmParameter)} }).(*SSM)
}

// ParameterARN returns the ARN a parameter of that name has in the region:
// a hierarchical name's leading slash is not doubled.
func (s *SSM) ParameterARN(name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter/%s", s.r.Name, s.r.world.Account, strings.TrimPrefix(name, "/"))
}

func ssmValidation(format string, args ...any) error {
	return apiErr("ValidationException", format, args...)
}

// ssmCheckName applies the naming rules of
// https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html
func ssmCheckName(name string) error {
	switch {
	case name == "" || len(name) > ssmMaxNameLen:
		return ssmValidation("1 validation error detected: Value '%s' at 'name' failed to satisfy constraint: Member must have length between 1 and %d", name, ssmMaxNameLen)
	case strings.ContainsFunc(name, func(c rune) bool {
		return !(c == '_' || c == '.' || c == '-' || c == '/' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
	}):
		return ssmValidation("Parameter name: can only include alphanumeric characters, periods (.), hyphens (-), underscores (_) and forward slashes (/).")
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return ssmValidation("Parameter name must be a fully qualified name.")
	case strings.Count(name, "/") > ssmMaxHierarchy:
		return &ssmtypes.HierarchyLevelLimitExceededException{Message: aws.String(fmt.Sprintf("A hierarchy can have a maximum of %d levels.", ssmMaxHierarchy))}
	}
	first := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm") {
		return ssmValidation("No access to reserved parameter name: %s.", name)
	}
	return nil
}

func ssmNotFound(name string) error {
	return &ssmtypes.ParameterNotFound{Message: aws.String(fmt.Sprintf("Parameter %s not found.", name))}
}

// PutParameter creates a parameter (version 1) or, with Overwrite, adds a
// version to an existing one; without Overwrite an existing parameter is
// ParameterAlreadyExists. A new parameter needs a Type.
func (s *SSM) PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error) {
	const op = "PutParameter"
	if err := s.r.call(ctx, ssm.ServiceID, op, in); err != nil {
		return nil, err
	}
	name, value := aws.ToString(in.Name), aws.ToString(in.Value)
	if err := ssmCheckName(name); err != nil {
		return nil, opErr(ssm.ServiceID, op, err)
	}
	if value == "" || len(value) > ssmMaxValueLen {
		return nil, opErr(ssm.ServiceID, op, ssmValidation("1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length between 1 and %d", ssmMaxValueLen))
	}
	switch in.Type {
	case "", ssmtypes.ParameterTypeString, ssmtypes.ParameterTypeStringList, ssmtypes.ParameterTypeSecureString:
	default:
		return nil, opErr(ssm.ServiceID, op, &ssmtypes.UnsupportedParameterType{Message: aws.String(fmt.Sprintf("The parameter type %s is not supported.", in.Type))})
	}
	if in.Tier != "" && in.Tier != ssmtypes.ParameterTierStandard {
		return nil, opErr(ssm.ServiceID, op, ssmValidation("The simulator has standard-tier parameters only."))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, exists := s.params[name]
	switch {
	case exists && !aws.ToBool(in.Overwrite):
		return nil, opErr(ssm.ServiceID, op, &ssmtypes.ParameterAlreadyExists{Message: aws.String("The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")})
	case !exists && in.Type == "":
		return nil, opErr(ssm.ServiceID, op, ssmValidation("A parameter type is required when you create a parameter."))
	case !exists:
		p = &ssmParameter{name: name}
		s.params[name] = p
	}
	typ := in.Type
	if typ == "" {
		typ = p.versions[len(p.versions)-1].Type
	}
	if in.Description != nil {
		p.desc = *in.Description
	}
	now := s.r.world.Clock.Now()
	version := int64(len(p.versions) + 1)
	p.versions = append(p.versions, ssmtypes.Parameter{
		Name: aws.String(name), Type: typ, Value: aws.String(value), Version: version,
		LastModifiedDate: &now, ARN: aws.String(s.ParameterARN(name)), DataType: aws.String("text"),
	})
	return &ssm.PutParameterOutput{Version: version, Tier: ssmtypes.ParameterTierStandard}, nil
}

// lookupLocked resolves a name with an optional :version selector (labels
// are not modelled); s.mu must be held.
func (s *SSM) lookupLocked(ref string) (ssmtypes.Parameter, error) {
	name, sel, hasSel := ref, "", false
	if i := strings.LastIndexByte(ref, ':'); i >= 0 {
		name, sel, hasSel = ref[:i], ref[i+1:], true
	}
	p, ok := s.params[name]
	if !ok {
		return ssmtypes.Parameter{}, ssmNotFound(ref)
	}
	v := p.versions[len(p.versions)-1]
	if hasSel {
		n, err := strconv.Atoi(sel)
		if err != nil || n < 1 || n > len(p.versions) {
			return ssmtypes.Parameter{}, &ssmtypes.ParameterVersionNotFound{Message: aws.String(fmt.Sprintf("Systems Manager could not find version %s of %s. Verify the version and try again.", sel, name))}
		}
		v = p.versions[n-1]
		v.Selector = aws.String(":" + sel)
	}
	return v, nil
}

// GetParameter returns a parameter's latest version, or the version that a
// name:version selector names.
func (s *SSM) GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	const op = "GetParameter"
	if err := s.r.call(ctx, ssm.ServiceID, op, in); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.lookupLocked(aws.ToString(in.Name))
	if err != nil {
		return nil, opErr(ssm.ServiceID, op, err)
	}
	return &ssm.GetParameterOutput{Parameter: &p}, nil
}

// GetParameters returns up to 10 parameters; names that do not resolve are
// listed in InvalidParameters rather than failing the call, as SSM does.
func (s *SSM) GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error) {
	const op = "GetParameters"
	if err := s.r.call(ctx, ssm.ServiceID, op, in); err != nil {
		return nil, err
	}
	if n := len(in.Names); n < 1 || n > 10 {
		return nil, opErr(ssm.ServiceID, op, ssmValidation("1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length between 1 and 10"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ssm.GetParametersOutput{}
	for _, n := range in.Names {
		p, err := s.lookupLocked(n)
		if err != nil {
			out.InvalidParameters = append(out.InvalidParameters, n)
			continue
		}
		out.Parameters = append(out.Parameters, p)
	}
	sort.Strings(out.InvalidParameters)
	return out, nil
}

// DeleteParameter deletes a parameter and all its versions.
func (s *SSM) DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error) {
	const op = "DeleteParameter"
	if err := s.r.call(ctx, ssm.ServiceID, op, in); err != nil {
		return nil, err
	}
	name := aws.ToString(in.Name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.params[name]; !ok {
		return nil, opErr(ssm.ServiceID, op, ssmNotFound(name))
	}
	delete(s.params, name)
	return &ssm.DeleteParameterOutput{}, nil
}

// ssmParameterValue resolves a parameter's value as CloudFormation resolves
// an AWS::SSM::Parameter::Value<String> template parameter: a GetParameter
// call in the stack's region with the caller's identity.
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types
func (r *Region) ssmParameterValue(ctx context.Context, name string) (string, error) {
	// CloudFormation resolves them with GetParameters, as the caller
	// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html#aws-ssm-parameter-types).
	// Part of the stack operation's own time, not a call of its own.
	out, err := r.SSM().GetParameters(Unmetered(ctx), &ssm.GetParametersInput{Names: []string{name}})
	if err != nil {
		return "", err
	}
	if len(out.Parameters) == 0 {
		return "", ssmNotFound(name)
	}
	return aws.ToString(out.Parameters[0].Value), nil
}

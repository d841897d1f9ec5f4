package sim

import (
	"fmt"
	"testing"
)

// TestParsePolicyShapes checks the document shapes CloudFormation delivers
// after resolving intrinsics, and the documents IAM rejects.
func TestParsePolicyShapes(t *testing.T) {
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"statement object, string action", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`, true},
		{"statement list, lists", `{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Deny","NotAction":["s3:*","sqs:*"],"NotResource":["arn:aws:s3:::b"]}]}`, true},
		{"no version", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, true},
		{"condition scalars", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}}`, true},
		{"set and IfExists", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"k":["a*"]}}}}`, true},
		{"bad version", `{"Version":"2013-01-01","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, false},
		{"principal", `{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`, false},
		{"no effect", `{"Statement":{"Action":"*","Resource":"*"}}`, false},
		{"lower-case effect", `{"Statement":{"Effect":"allow","Action":"*","Resource":"*"}}`, false},
		{"action and notaction", `{"Statement":{"Effect":"Allow","Action":"*","NotAction":"s3:*","Resource":"*"}}`, false},
		{"no resource", `{"Statement":{"Effect":"Allow","Action":"*"}}`, false},
		{"action without prefix", `{"Statement":{"Effect":"Allow","Action":"GetObject","Resource":"*"}}`, false},
		{"unknown operator", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringSortOf":{"k":"v"}}}}`, false},
		{"unknown set", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForSome:StringEquals":{"k":"v"}}}}`, false},
		{"bad number", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericEquals":{"k":"ten"}}}}`, false},
		{"unknown element", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Actions":"x:y"}}`, false},
		{"empty statement list", `{"Statement":[]}`, false},
		{"not an object", `[1]`, false},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.doc))
			if got, want := err == nil, tt.ok; got != want {
				t.Fatalf("ParsePolicy ok = %v, want %v (err %v)", got, want, err)
			}
		})
	}
}

func mustPolicy(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := ParsePolicy([]byte(doc))
	if err != nil {
		t.Fatalf("ParsePolicy(%s): %v", doc, err)
	}
	return p
}

// TestEvaluatePolicies covers matching (wildcards, case rules, NotAction,
// NotResource), the deny-wins rule and the condition operators.
func TestEvaluatePolicies(t *testing.T) {
	const obj = "arn:aws:s3:::data/raw/2024/a.json"
	region := map[string][]string{"aws:RequestedRegion": {"us-east-1"}}
	tests := []struct {
		name     string
		policies []string
		req      AuthRequest
		want     Decision
	}{
		{"no policy", nil, AuthRequest{Action: "s3:GetObject", Resource: obj}, ImplicitDeny},
		{"exact", []string{`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"` + obj + `"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"action case-insensitive", []string{`{"Statement":{"Effect":"Allow","Action":"S3:getobject","Resource":"*"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"action star", []string{`{"Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`},
			AuthRequest{Action: "s3:GetObjectVersion", Resource: obj}, Allow},
		{"action question mark", []string{`{"Statement":{"Effect":"Allow","Action":"sqs:?eceiveMessage","Resource":"*"}}`},
			AuthRequest{Action: "sqs:ReceiveMessage", Resource: "arn:aws:sqs:us-east-1:1:q"}, Allow},
		{"other action", []string{`{"Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`},
			AuthRequest{Action: "s3:PutObject", Resource: obj}, ImplicitDeny},
		{"resource star spans slashes", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::data/*"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"bucket pattern is not the object", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::data"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, ImplicitDeny},
		{"resource case-sensitive", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::DATA/*"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, ImplicitDeny},
		{"resource question mark", []string{`{"Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"arn:aws:dynamodb:us-east-?:1:table/t"}}`},
			AuthRequest{Action: "dynamodb:GetItem", Resource: "arn:aws:dynamodb:us-east-1:1:table/t"}, Allow},
		{"NotAction allows the rest", []string{`{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"NotAction excludes", []string{`{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`},
			AuthRequest{Action: "iam:PassRole", Resource: "arn:aws:iam::1:role/r"}, ImplicitDeny},
		{"NotResource", []string{`{"Statement":{"Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"explicit deny wins", []string{
			`{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
			`{"Statement":{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/raw/*"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, ExplicitDeny},
		{"deny elsewhere does not apply", []string{
			`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}]}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"StringEquals", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: region}, Allow},
		{"StringEquals other value", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-west-2"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: region}, ImplicitDeny},
		{"condition key case-insensitive", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"AWS:requestedregion":"us-east-1"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: region}, Allow},
		{"StringEquals value case-sensitive", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"US-EAST-1"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: region}, ImplicitDeny},
		{"StringNotEquals deny of other regions", []string{
			`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":["us-east-1","us-west-2"]}}}]}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:RequestedRegion": {"eu-west-1"}}}, ExplicitDeny},
		{"StringNotEquals on a missing key holds", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"StringEquals on a missing key fails", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, ImplicitDeny},
		{"IfExists on a missing key holds", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:SourceVpce":"vpce-1"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj}, Allow},
		{"IfExists on a present key compares", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIfExists":{"aws:RequestedRegion":"eu-west-1"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: region}, ImplicitDeny},
		{"StringLike", []string{`{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringLike":{"s3:prefix":["raw/*","curated/?"]}}}}`},
			AuthRequest{Action: "s3:ListBucket", Resource: "arn:aws:s3:::data", Context: map[string][]string{"s3:prefix": {"raw/2024/"}}}, Allow},
		{"StringNotLike", []string{`{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*","Condition":{"StringNotLike":{"s3:prefix":"secret/*"}}}}`},
			AuthRequest{Action: "s3:ListBucket", Resource: "arn:aws:s3:::data", Context: map[string][]string{"s3:prefix": {"secret/x"}}}, ImplicitDeny},
		{"StringEqualsIgnoreCase", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEqualsIgnoreCase":{"aws:RequestedRegion":"US-EAST-1"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: region}, Allow},
		{"two keys AND", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1","cloudwatch:namespace":"Pendulum"}}}}`},
			AuthRequest{Action: "cloudwatch:PutMetricData", Resource: "*", Context: region}, ImplicitDeny},
		{"two operators AND", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"},"StringLike":{"cloudwatch:namespace":"Pendulum/*"}}}}`},
			AuthRequest{Action: "cloudwatch:PutMetricData", Resource: "*", Context: map[string][]string{"aws:RequestedRegion": {"us-east-1"}, "cloudwatch:namespace": {"Pendulum/Drill"}}}, Allow},
		{"ArnLike per component", []string{`{"Statement":{"Effect":"Allow","Action":"iam:PassRole","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/pendulum-*"}}}}`},
			AuthRequest{Action: "iam:PassRole", Resource: "*", Context: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::111111111111:role/pendulum-restore"}}}, Allow},
		{"ArnLike star stays in its component", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:*"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::1:role/r"}}}, ImplicitDeny},
		{"ArnEquals takes wildcards too", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::1:role/*"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::1:role/r"}}}, Allow},
		{"ArnNotLike", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::1:role/admin*"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:PrincipalArn": {"arn:aws:iam::1:role/admin-x"}}}, ImplicitDeny},
		{"Bool", []string{`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`,
			`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:SecureTransport": {"true"}}}, Allow},
		{"Null true: key absent", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"s3:prefix":"true"}}}}`},
			AuthRequest{Action: "s3:ListBucket", Resource: "arn:aws:s3:::data"}, Allow},
		{"Null false: key present", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"s3:prefix":"false"}}}}`},
			AuthRequest{Action: "s3:ListBucket", Resource: "arn:aws:s3:::data"}, ImplicitDeny},
		{"NumericLessThan", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"s3:max-keys":"100"}}}}`},
			AuthRequest{Action: "s3:ListBucket", Resource: "*", Context: map[string][]string{"s3:max-keys": {"10"}}}, Allow},
		{"NumericGreaterThanEquals", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericGreaterThanEquals":{"s3:max-keys":100}}}}`},
			AuthRequest{Action: "s3:ListBucket", Resource: "*", Context: map[string][]string{"s3:max-keys": {"10"}}}, ImplicitDeny},
		{"DateLessThan", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:CurrentTime": {"2024-05-01T12:00:00Z"}}}, Allow},
		{"IpAddress", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}}`},
			AuthRequest{Action: "s3:GetObject", Resource: obj, Context: map[string][]string{"aws:SourceIp": {"10.1.2.3"}}}, Allow},
		{"ForAnyValue", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}}}`},
			AuthRequest{Action: "dynamodb:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"owner", "team"}}}, Allow},
		{"ForAnyValue missing key", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}}}`},
			AuthRequest{Action: "dynamodb:TagResource", Resource: "*"}, ImplicitDeny},
		{"ForAllValues", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}}}`},
			AuthRequest{Action: "dynamodb:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"owner", "team"}}}, ImplicitDeny},
		{"ForAllValues missing key holds", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}}}`},
			AuthRequest{Action: "dynamodb:TagResource", Resource: "*"}, Allow},
		{"ForAllValues:StringNotLike", []string{`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringNotLike":{"aws:TagKeys":"aws:*"}}}}`},
			AuthRequest{Action: "dynamodb:TagResource", Resource: "*", Context: map[string][]string{"aws:TagKeys": {"env", "aws:x"}}}, ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []*Policy
			for _, d := range tt.policies {
				ps = append(ps, mustPolicy(t, d))
			}
			if got, want := EvaluatePolicies(ps, tt.req), tt.want; got != want {
				t.Fatalf("EvaluatePolicies = %v, want %v", got, want)
			}
		})
	}
}

// TestGlobMatch checks the wildcard matcher on its edge cases.
func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"", "", true},
		{"", "a", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"?", "", false},
		{"a?c", "abc", true},
		{"**", "x", true},
		{"*c", "abcabc", true},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.s); got != tt.want {
			t.Fatalf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// FuzzParsePolicy checks that no document panics the parser and that a
// document it accepts can be evaluated.
func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Deny","NotAction":["iam:*"],"NotResource":"*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]}}}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := ParsePolicy(doc)
		if err != nil {
			return
		}
		EvaluatePolicies([]*Policy{p}, AuthRequest{Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k",
			Context: map[string][]string{"aws:TagKeys": {"a", "b"}, "aws:RequestedRegion": {"us-east-1"}}})
	})
}

// The denial log is bounded: the first MaxDeniedRecords are kept in full,
// every denial is counted, and the latest is at hand for its error.
func TestDeniedCallsBounded(t *testing.T) {
	var s iamState
	n := MaxDeniedRecords + 25
	for i := range n {
		if seq := s.recordLocked(DeniedCall{Action: fmt.Sprintf("s3:Get%d", i)}); seq != uint64(i+1) {
			t.Fatalf("denial %d got sequence %d", i, seq)
		}
	}
	if len(s.denied) != MaxDeniedRecords || s.seq != uint64(n) {
		t.Fatalf("%d denials kept, %d counted; want %d and %d", len(s.denied), s.seq, MaxDeniedRecords, n)
	}
	if s.denied[0].Action != "s3:Get0" || s.denied[MaxDeniedRecords-1].Action != fmt.Sprintf("s3:Get%d", MaxDeniedRecords-1) {
		t.Fatalf("kept %s … %s, want the first ones", s.denied[0].Action, s.denied[MaxDeniedRecords-1].Action)
	}
	if want := fmt.Sprintf("s3:Get%d", n-1); s.last.Action != want {
		t.Fatalf("latest denial %s, want %s", s.last.Action, want)
	}
}

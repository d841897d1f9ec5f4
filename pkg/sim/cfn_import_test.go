package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/globalaccelerator"

	"github.com/pendulum-dr/pendulum/pkg/clock"
)

// importBase is a stack with one queue; importTable declares the table
// the tests import into it.
const (
	importBase  = `{"Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "work"}}}, "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}}}`
	importTable = `{"Type": "AWS::DynamoDB::Table", %s "Properties": {"TableName": %q, "BillingMode": "PAY_PER_REQUEST",
	  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
	  "DeletionProtectionEnabled": true, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}}`
)

// withResource returns template body with one more resource.
func withResource(t *testing.T, body, id, decl string) string {
	t.Helper()
	var tmpl map[string]any
	if err := json.Unmarshal([]byte(body), &tmpl); err != nil {
		t.Fatal(err)
	}
	var d any
	if err := json.Unmarshal([]byte(decl), &d); err != nil {
		t.Fatalf("decl %s: %v", decl, err)
	}
	tmpl["Resources"].(map[string]any)[id] = d
	out, _ := json.Marshal(tmpl)
	return string(out)
}

// restoredTable is a table made outside any stack, as a restore makes
// one: items in it, and no PITR or deletion protection.
func restoredTable(t *testing.T, ctx context.Context, d *DynamoDB, name string, items int) {
	t.Helper()
	if _, err := d.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: ddbtypes.BillingModePayPerRequest,
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}}}); err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if _, err := d.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("item-%d", i)}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func createTemplateStack(t *testing.T, clk *clock.Virtual, c *CloudFormation, name, body string) {
	t.Helper()
	if _, err := c.CreateStack(context.Background(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(body)}); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if st := cfnTestWait(t, clk, c, name); st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Fatalf("create %s: %s %s", name, st.StackStatus, aws.ToString(st.StackStatusReason))
	}
}

func importChangeSet(ctx context.Context, c *CloudFormation, stack, name, body, logicalID, table string) (*cloudformation.DescribeChangeSetOutput, error) {
	if _, err := c.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name),
		ChangeSetType: cftypes.ChangeSetTypeImport, TemplateBody: aws.String(body),
		ResourcesToImport: []cftypes.ResourceToImport{{LogicalResourceId: aws.String(logicalID), ResourceType: aws.String("AWS::DynamoDB::Table"),
			ResourceIdentifier: map[string]string{"TableName": table}}}}); err != nil {
		return nil, err
	}
	return c.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{StackName: aws.String(stack), ChangeSetName: aws.String(name)})
}

// TestCFNImportAdoptsTheTableUnchanged imports a table made outside any
// stack: the change set lists the import, the execution ends
// IMPORT_COMPLETE, the stack owns the table, and the table is as it was —
// items, settings (the template's PITR and deletion protection are only
// recorded) — until an update of the stack changes the template.
func TestCFNImportAdoptsTheTableUnchanged(t *testing.T) {
	_, clk, c := cfnTestWorld(t)
	ctx := context.Background()
	d := c.r.DynamoDB()
	d.SetCreateDelay(0)
	createTemplateStack(t, clk, c, "data", importBase)
	restoredTable(t, ctx, d, "agg", 25)

	body := withResource(t, importBase, "Aggregates", fmt.Sprintf(importTable, `"DeletionPolicy": "Retain",`, "agg"))
	cs, err := importChangeSet(ctx, c, "data", "import-agg", body, "Aggregates", "agg")
	if err != nil {
		t.Fatal(err)
	}
	if cs.Status != cftypes.ChangeSetStatusCreateComplete || cs.ExecutionStatus != cftypes.ExecutionStatusAvailable {
		t.Fatalf("change set %s/%s: %s", cs.Status, cs.ExecutionStatus, aws.ToString(cs.StatusReason))
	}
	if len(cs.Changes) != 1 || cs.Changes[0].ResourceChange.Action != cftypes.ChangeActionImport || aws.ToString(cs.Changes[0].ResourceChange.PhysicalResourceId) != "agg" {
		t.Fatalf("changes: %+v", cs.Changes)
	}
	if _, err := c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String("data"), ChangeSetName: aws.String("import-agg")}); err != nil {
		t.Fatal(err)
	}
	if st := cfnTestWait(t, clk, c, "data"); st.StackStatus != cftypes.StackStatusImportComplete {
		t.Fatalf("import: %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	res, _ := c.StackResources("data")
	var owned bool
	for _, r := range res {
		owned = owned || (r.LogicalID == "Aggregates" && r.PhysicalID == "agg")
	}
	if !owned {
		t.Fatalf("stack resources after the import: %+v", res)
	}
	out, _ := d.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("agg")})
	if out.Count != 25 {
		t.Errorf("table holds %d items after the import, want 25", out.Count)
	}
	desc, _ := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("agg")})
	if aws.ToBool(desc.Table.DeletionProtectionEnabled) {
		t.Error("the import changed the table: deletion protection on")
	}
	// The imported table is the stack's: an update that removes it with
	// DeletionPolicy Retain leaves it, and it can be imported again.
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("data"), TemplateBody: aws.String(importBase)}); err != nil {
		t.Fatal(err)
	}
	if st := cfnTestWait(t, clk, c, "data"); st.StackStatus != cftypes.StackStatusUpdateComplete {
		t.Fatalf("update: %s %s", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("agg")}); err != nil {
		t.Fatalf("a retained table removed from its stack: %v", err)
	}
	if cs, err := importChangeSet(ctx, c, "data", "again", body, "Aggregates", "agg"); err != nil || cs.Status != cftypes.ChangeSetStatusCreateComplete {
		t.Fatalf("import again after removal: %v %+v", err, cs)
	}
}

// TestCFNImportRefusals: every way an import is refused, each with its
// reason, and nothing changed.
func TestCFNImportRefusals(t *testing.T) {
	_, clk, c := cfnTestWorld(t)
	ctx := context.Background()
	d := c.r.DynamoDB()
	d.SetCreateDelay(0)
	createTemplateStack(t, clk, c, "data", importBase)
	restoredTable(t, ctx, d, "agg", 3)
	createTemplateStack(t, clk, c, "other", fmt.Sprintf(`{"Resources": {"Owned": %s}}`, fmt.Sprintf(importTable, `"DeletionPolicy": "Retain",`, "owned")))
	retained := fmt.Sprintf(importTable, `"DeletionPolicy": "Retain",`, "agg")
	changedQueue := strings.Replace(importBase, `"QueueName": "work"`, `"QueueName": "work", "VisibilityTimeout": 60`, 1)
	tests := []struct {
		name, body, table, want string
	}{
		{"no-deletion-policy", withResource(t, importBase, "Aggregates", fmt.Sprintf(importTable, "", "agg")), "agg", "must have a DeletionPolicy attribute"},
		{"identifier-mismatch", withResource(t, importBase, "Aggregates", retained), "other-name", `the template's TableName "agg" does not match the identifier to import, "other-name"`},
		{"missing-table", withResource(t, importBase, "Aggregates", fmt.Sprintf(importTable, `"DeletionPolicy": "Retain",`, "gone")), "gone", "ResourceNotFoundException"},
		{"other-resource-added", withResource(t, withResource(t, importBase, "Aggregates", retained), "Extra",
			`{"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "extra"}}`), "agg", "cannot add resources other than the resources to import: [Extra]"},
		{"other-resource-modified", withResource(t, changedQueue, "Aggregates", retained), "agg", "cannot modify resources: [Queue]"},
		{"outputs-changed", withResource(t, strings.Replace(importBase, `"QueueUrl"`, `"Url"`, 1), "Aggregates", retained), "agg", "cannot modify or add [Outputs]"},
		{"owned-by-another-stack", withResource(t, importBase, "Aggregates", fmt.Sprintf(importTable, `"DeletionPolicy": "Retain",`, "owned")), "owned", "already belongs to stack other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := importChangeSet(ctx, c, "data", tt.name, tt.body, "Aggregates", tt.table)
			if err != nil {
				t.Fatal(err)
			}
			if cs.Status != cftypes.ChangeSetStatusFailed || cs.ExecutionStatus != cftypes.ExecutionStatusUnavailable || !strings.Contains(aws.ToString(cs.StatusReason), tt.want) {
				t.Fatalf("change set %s/%s %q, want FAILED with %q", cs.Status, cs.ExecutionStatus, aws.ToString(cs.StatusReason), tt.want)
			}
			_, err = c.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{StackName: aws.String("data"), ChangeSetName: aws.String(tt.name)})
			if errorCode(err) != "InvalidChangeSetStatus" {
				t.Fatalf("execute a FAILED change set: %v", err)
			}
		})
	}
	// Malformed requests are refused at once.
	for name, in := range map[string]*cloudformation.CreateChangeSetInput{
		"update-type": {StackName: aws.String("data"), ChangeSetName: aws.String("u"), TemplateBody: aws.String(importBase)},
		"no-imports":  {StackName: aws.String("data"), ChangeSetName: aws.String("n"), ChangeSetType: cftypes.ChangeSetTypeImport, TemplateBody: aws.String(importBase)},
		"bad-name":    {StackName: aws.String("data"), ChangeSetName: aws.String("1-bad"), ChangeSetType: cftypes.ChangeSetTypeImport, TemplateBody: aws.String(importBase)},
	} {
		if _, err := c.CreateChangeSet(ctx, in); errorCode(err) != "ValidationError" {
			t.Errorf("%s: %v, want a ValidationError", name, err)
		}
	}
	if st := cfnTestWait(t, clk, c, "data"); st.StackStatus != cftypes.StackStatusCreateComplete {
		t.Errorf("stack after refused imports: %s", st.StackStatus)
	}
}

// TestCFNReplacingACustomNamedResourceFails: an update that needs to
// replace a resource whose custom name it keeps fails and rolls back,
// the resource untouched; the same update with a new name replaces it.
func TestCFNReplacingACustomNamedResourceFails(t *testing.T) {
	_, clk, c := cfnTestWorld(t)
	ctx := context.Background()
	d := c.r.DynamoDB()
	d.SetCreateDelay(0)
	table := func(name, key string) string {
		return fmt.Sprintf(`{"Resources": {"Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": %q, "BillingMode": "PAY_PER_REQUEST",
		  "KeySchema": [{"AttributeName": %q, "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": %q, "AttributeType": "S"}]}}}}`, name, key, key)
	}
	createTemplateStack(t, clk, c, "s", table("fixed", "pk"))
	if _, err := d.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("fixed"), Item: map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("s"), TemplateBody: aws.String(table("fixed", "id"))}); err != nil {
		t.Fatal(err)
	}
	st := cfnTestWait(t, clk, c, "s")
	if st.StackStatus != cftypes.StackStatusUpdateRollbackComplete || !strings.Contains(aws.ToString(st.StackStatusReason), "CloudFormation cannot update a stack when a custom-named resource requires replacing. Rename fixed") {
		t.Fatalf("update keeping the name: %s %q", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if out, err := d.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("fixed")}); err != nil || out.Count != 1 {
		t.Fatalf("the table after the refused replacement: %v %+v", err, out)
	}
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("s"), TemplateBody: aws.String(table("renamed", "id"))}); err != nil {
		t.Fatal(err)
	}
	if st := cfnTestWait(t, clk, c, "s"); st.StackStatus != cftypes.StackStatusUpdateComplete {
		t.Fatalf("update with a new name: %s %q", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	if _, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("renamed")}); err != nil {
		t.Fatalf("the replacement: %v", err)
	}
	if _, err := d.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("fixed")}); errorCode(err) != "ResourceNotFoundException" {
		t.Fatalf("the replaced table (no UpdateReplacePolicy): %v", err)
	}
}

// TestCFNEndpointGroupsFollowTheTemplate: an update keeps a group that
// stays (its endpoint list becomes the template's), deletes a group the
// template dropped and creates a new one.
func TestCFNEndpointGroupsFollowTheTemplate(t *testing.T) {
	clk := clock.NewVirtual(glueTestStart)
	w := NewWorld(clk, "111122223333", GAControlRegion)
	t.Cleanup(w.Close)
	c := w.Region(GAControlRegion).CloudFormation()
	ctx := context.Background()
	alb := func(region string) string {
		return "arn:aws:elasticloadbalancing:" + region + ":111122223333:loadbalancer/app/ingest/0123456789abcdef"
	}
	group := func(region, endpoint string) string {
		eps := `[]`
		if endpoint != "" {
			eps = fmt.Sprintf(`[{"EndpointId": %q, "Weight": 100}]`, endpoint)
		}
		return fmt.Sprintf(`{"Type": "AWS::GlobalAccelerator::EndpointGroup", "Properties": {"ListenerArn": {"Fn::GetAtt": ["Listener", "ListenerArn"]},
		  "EndpointGroupRegion": %q, "EndpointConfigurations": %s}}`, region, eps)
	}
	tmpl := func(groups map[string]string) string {
		body := `{"Resources": {"Acc": {"Type": "AWS::GlobalAccelerator::Accelerator", "Properties": {"Name": "acc"}},
		  "Listener": {"Type": "AWS::GlobalAccelerator::Listener", "Properties": {"AcceleratorArn": {"Fn::GetAtt": ["Acc", "AcceleratorArn"]},
		    "Protocol": "TCP", "PortRanges": [{"FromPort": 80, "ToPort": 80}]}}}}`
		for id, g := range groups {
			body = withResource(t, body, id, g)
		}
		return body
	}
	createTemplateStack(t, clk, c, "global", tmpl(map[string]string{"GroupE1": group("us-east-1", alb("us-east-1")), "GroupE2": group("us-east-2", "")}))
	groups := func() map[string][]string {
		res, _ := c.StackResources("global")
		var listener string
		for _, r := range res {
			if r.Type == "AWS::GlobalAccelerator::Listener" {
				listener = r.PhysicalID
			}
		}
		out, err := w.Region(GAControlRegion).GlobalAccelerator().ListEndpointGroups(ctx, &globalaccelerator.ListEndpointGroupsInput{ListenerArn: aws.String(listener)})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string][]string{}
		for _, g := range out.EndpointGroups {
			m[aws.ToString(g.EndpointGroupRegion)] = []string{}
			for _, e := range g.EndpointDescriptions {
				m[aws.ToString(g.EndpointGroupRegion)] = append(m[aws.ToString(g.EndpointGroupRegion)], aws.ToString(e.EndpointId))
			}
		}
		return m
	}
	before := groups()
	e2Before, _ := c.StackResources("global")
	if _, err := c.UpdateStack(ctx, &cloudformation.UpdateStackInput{StackName: aws.String("global"),
		TemplateBody: aws.String(tmpl(map[string]string{"GroupE2": group("us-east-2", alb("us-east-2")), "GroupW1": group("us-west-1", "")}))}); err != nil {
		t.Fatal(err)
	}
	if st := cfnTestWait(t, clk, c, "global"); st.StackStatus != cftypes.StackStatusUpdateComplete {
		t.Fatalf("update: %s %q", st.StackStatus, aws.ToString(st.StackStatusReason))
	}
	after := groups()
	if len(before) != 2 || len(after) != 2 || after["us-east-1"] != nil || len(after["us-east-2"]) != 1 || after["us-east-2"][0] != alb("us-east-2") || after["us-west-1"] == nil {
		t.Fatalf("groups before %v, after %v: want us-east-2 (with its ALB) and us-west-1", before, after)
	}
	e2After, _ := c.StackResources("global")
	for _, a := range e2Before {
		for _, b := range e2After {
			if a.LogicalID == "GroupE2" && b.LogicalID == "GroupE2" && a.PhysicalID != b.PhysicalID {
				t.Errorf("us-east-2's group was replaced (%s → %s), not updated", a.PhysicalID, b.PhysicalID)
			}
		}
	}
}

package sim

import (
	"fmt"
	"sync"
)

// The AWS managed policies the app's templates attach
// (cdk.out/*.template.json, ManagedPolicyArns), known to every World so
// AttachRolePolicy of them works as it does in any account.
//
// Each holds the statements of AWS's published policy document that
// concern the services the simulator models (DynamoDB, AWS Backup,
// CloudFormation, IAM, CloudWatch Logs), copied in content (actions,
// resources, conditions, Sids) from the JSON policy document of the AWS
// Managed Policy Reference page cited at each entry. The statements for
// services the simulator does not model are left out, as named at each
// entry: they could not change a simulated decision, only hide a
// missing permission of a modelled service behind an unrelated one.
var awsManagedPolicyDocs = map[string]string{
	// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForBackup.html
	// (statements of version v29; the DynamoDB statements read the same
	// on the page's v30).
	//
	// Left out: the RDS, Storage Gateway, EC2/EBS, EFS, FSx, Backup
	// Gateway, Redshift, Redshift Serverless, Timestream, SSM (Run Command:
	// CancelCommand, GetCommandInvocation, SendCommand), SSM for SAP, DSQL
	// and EKS statements; the KMS statements (KMSDynamoDBPermissions,
	// KMSPermissions, KMSCreateGrantPermissions, KMSEC2Permissions, KMSDSQLPermissions:
	// KMS is not simulated and tables use AWS owned keys);
	// GetResourcesPermissions (tag:GetResources: selections by tag are not
	// modelled); RecoveryPointTaggingPermissions (backup:TagResource with a
	// ${aws:ResourceAccount} policy variable, which the evaluator does not
	// substitute, and recovery points are not tagged).
	"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup": `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DynamoDBPermissions",
      "Effect": "Allow",
      "Action": ["dynamodb:DescribeTable", "dynamodb:CreateBackup"],
      "Resource": "arn:aws:dynamodb:*:*:table/*"
    },
    {
      "Sid": "DynamoDBBackupResourcePermissions",
      "Effect": "Allow",
      "Action": ["dynamodb:DescribeBackup", "dynamodb:DeleteBackup"],
      "Resource": "arn:aws:dynamodb:*:*:table/*/backup/*"
    },
    {
      "Sid": "BackupVaultPermissions",
      "Effect": "Allow",
      "Action": ["backup:DescribeBackupVault", "backup:CopyIntoBackupVault"],
      "Resource": "arn:aws:backup:*:*:backup-vault:*"
    },
    {
      "Sid": "BackupVaultCopyPermissions",
      "Effect": "Allow",
      "Action": ["backup:CopyFromBackupVault"],
      "Resource": "*"
    },
    {
      "Sid": "DynamodbBackupPermissions",
      "Effect": "Allow",
      "Action": ["dynamodb:StartAwsBackupJob", "dynamodb:ListTagsOfResource"],
      "Resource": "arn:aws:dynamodb:*:*:table/*"
    },
    {
      "Sid": "CloudformationStackPermissions",
      "Effect": "Allow",
      "Action": ["cloudformation:ListStacks", "cloudformation:GetTemplate", "cloudformation:DescribeStacks", "cloudformation:ListStackResources"],
      "Resource": "arn:aws:cloudformation:*:*:stack/*/*"
    }
  ]
}`,

	// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForRestores.html
	// (statements of version v25; the page's v35 opens with the same
	// DynamoDB statements).
	//
	// Left out: the EC2/EBS, Storage Gateway, RDS, EFS, FSx, Directory
	// Service, Backup Gateway, Redshift, Redshift Serverless, Timestream,
	// DSQL and EKS statements (CreateEKSNodeGroupPermissions with
	// iam:GetRole and iam:ListAttachedRolePolicies among them); the KMS
	// statements (KMSDescribePermissions, KMSPermissions,
	// KMSCreateGrantPermissions: KMS is not simulated);
	// CloudformationChangeSetPermissions (change sets are not simulated).
	"arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores": `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DynamoDBPermissions",
      "Effect": "Allow",
      "Action": ["dynamodb:Scan", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:DescribeTable"],
      "Resource": "arn:aws:dynamodb:*:*:table/*"
    },
    {
      "Sid": "DynamoDBBackupResourcePermissions",
      "Effect": "Allow",
      "Action": ["dynamodb:RestoreTableFromBackup"],
      "Resource": "arn:aws:dynamodb:*:*:table/*/backup/*"
    },
    {
      "Sid": "DynamoDBRestorePermissions",
      "Effect": "Allow",
      "Action": ["dynamodb:RestoreTableFromAwsBackup"],
      "Resource": "arn:aws:dynamodb:*:*:table/*"
    },
    {
      "Sid": "CreateClusterIAMPerms",
      "Effect": "Allow",
      "Action": ["iam:PassRole"],
      "Resource": "arn:aws:iam::*:role/*",
      "Condition": {
        "StringEquals": {
          "iam:PassedToService": ["eks.amazonaws.com", "ec2.amazonaws.com", "pods.eks.amazonaws.com", "backup.amazonaws.com"]
        }
      }
    },
    {
      "Sid": "BackupRestoreJobManagementPermissions",
      "Effect": "Allow",
      "Action": ["backup:StartRestoreJob", "backup:ListRestoreJobs", "backup:ListRecoveryPointsByBackupVault", "backup:DescribeRestoreJob"],
      "Resource": "*"
    }
  ]
}`,

	// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
	// (version v1, the whole policy: nothing left out).
	"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
      "Resource": "*"
    }
  ]
}`,
}

var (
	awsManagedOnce     sync.Once
	awsManagedPolicies map[string]*Policy
)

// awsManagedPolicy returns a parsed AWS managed policy of the table, or
// nil. The documents are parsed once; TestAWSManagedPoliciesParse keeps
// them valid.
func awsManagedPolicy(arn string) *Policy {
	awsManagedOnce.Do(func() {
		awsManagedPolicies = make(map[string]*Policy, len(awsManagedPolicyDocs))
		for a, doc := range awsManagedPolicyDocs {
			p, err := ParsePolicy([]byte(doc))
			if err != nil {
				panic(fmt.Sprintf("sim: AWS managed policy %s: %v", a, err))
			}
			awsManagedPolicies[a] = p
		}
	})
	return awsManagedPolicies[arn]
}

// managedLocked returns a managed policy: a customer managed policy of the
// world (PutManagedPolicy), else an AWS managed policy every account has.
func (s *iamState) managedLocked(arn string) *Policy {
	if p := s.managed[arn]; p != nil {
		return p
	}
	return awsManagedPolicy(arn)
}

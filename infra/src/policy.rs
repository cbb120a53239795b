//! IAM policy documents, as JSON strings for `assumeRolePolicy` and inline policies.

use serde_json::json;

/// Lets the Lambda service assume the role.
pub fn lambda_assume_role() -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "lambda.amazonaws.com" },
            "Action": "sts:AssumeRole",
        }],
    })
    .to_string()
}

/// What the relay does with its delivery-state table: claim a webhook ID once (conditional put),
/// read and update the Slack message of a deployment or preview, release a claim when Slack
/// failed. No Scan or Query: every access is by key, so no index and no read of the whole table.
pub const STATE_TABLE_ACTIONS: [&str; 4] = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
];

/// Least privilege for the relay: write its own log streams, read exactly its two parameters,
/// and read and write items of exactly its state table.
/// SecureStrings use the AWS-managed `aws/ssm` key, whose key policy already lets principals of
/// the account decrypt through SSM, so no `kms:Decrypt` grant is needed; the table uses the
/// default DynamoDB-owned key, which needs no grant either.
pub fn relay_permissions(
    log_group_arn: &str,
    parameter_arns: &[String],
    state_table_arn: &str,
) -> String {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": format!("{log_group_arn}:*"),
            },
            {
                "Sid": "ReadOwnSecrets",
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": parameter_arns,
            },
            {
                // The table's ARN alone: `<arn>/index/*` is not granted, so adding an index
                // later does not widen this.
                "Sid": "OwnDeliveryState",
                "Effect": "Allow",
                "Action": STATE_TABLE_ACTIONS,
                "Resource": state_table_arn,
            },
        ],
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_name_exactly_the_given_resources() {
        let doc: serde_json::Value = serde_json::from_str(&relay_permissions(
            "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f",
            &["arn:p1".into(), "arn:p2".into()],
            "arn:aws:dynamodb:eu-west-1:1:table/t",
        ))
        .unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 3);
        assert_eq!(
            statements[0]["Resource"],
            "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f:*"
        );
        assert_eq!(
            statements[1]["Resource"],
            serde_json::json!(["arn:p1", "arn:p2"])
        );
        assert!(
            !doc.to_string().contains('*') || doc.to_string().matches('*').count() == 1,
            "only the log-stream wildcard"
        );
    }

    #[test]
    fn the_state_table_gets_item_access_by_key_on_its_own_arn_only() {
        let table = "arn:aws:dynamodb:eu-west-1:1:table/relay-dev-state";
        let doc: serde_json::Value = serde_json::from_str(&relay_permissions(
            "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f",
            &["arn:p1".into()],
            table,
        ))
        .unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        let state: Vec<_> = statements
            .iter()
            .filter(|s| s["Sid"] == "OwnDeliveryState")
            .collect();
        assert_eq!(state.len(), 1, "{doc}");
        let state = state[0];
        assert_eq!(state["Effect"], "Allow");
        assert_eq!(
            state["Action"],
            serde_json::json!([
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem"
            ])
        );
        // A single ARN, not a list that could grow, and no index or wildcard suffix.
        assert_eq!(state["Resource"], table);
        // No other statement mentions DynamoDB.
        let elsewhere = statements
            .iter()
            .filter(|s| s["Sid"] != "OwnDeliveryState")
            .any(|s| s.to_string().contains("dynamodb"));
        assert!(!elsewhere, "{doc}");
    }
}

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

/// Least privilege for the relay: write its own log streams, read exactly its two parameters.
/// SecureStrings use the AWS-managed `aws/ssm` key, whose key policy already lets principals of
/// the account decrypt through SSM, so no `kms:Decrypt` grant is needed.
pub fn relay_permissions(log_group_arn: &str, parameter_arns: &[String]) -> String {
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
        ))
        .unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 2);
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
}

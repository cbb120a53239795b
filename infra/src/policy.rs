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

/// The retry queue's worker may, besides the base grants: take, hide and delete messages of the
/// retry queue (what Lambda's event source mapping needs: `ReceiveMessage`, `DeleteMessage`,
/// `GetQueueAttributes`; and `ChangeMessageVisibility` for the backoff), and send to the
/// dead-letter queue.
pub const WORKER_QUEUE_ACTIONS: [&str; 4] = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
];

/// The web-facing relay may only send to its two queues (and read their counts for
/// `GET /status`); it can neither read nor delete a message.
pub const WEB_QUEUE_ACTIONS: [&str; 2] = ["sqs:SendMessage", "sqs:GetQueueAttributes"];

/// What a role may touch, by ARN.
pub struct Resources<'a> {
    pub log_group: &'a str,
    pub parameters: &'a [String],
    pub state_table: &'a str,
    pub retry_queue: &'a str,
    pub dead_letter_queue: &'a str,
}

/// Least privilege for the relay: write its own log streams, read exactly its parameters, read
/// and write items of exactly its state table, and send to its two queues.
/// SecureStrings use the AWS-managed `aws/ssm` key, whose key policy already lets principals of
/// the account decrypt through SSM, so no `kms:Decrypt` grant is needed; the table uses the
/// default DynamoDB-owned key and the queues SQS-managed encryption, which need no grant either.
pub fn relay_permissions(on: &Resources<'_>) -> String {
    let mut statements = base_statements(on);
    statements.push(json!({
        "Sid": "SendToOwnQueues",
        "Effect": "Allow",
        "Action": WEB_QUEUE_ACTIONS,
        "Resource": [on.retry_queue, on.dead_letter_queue],
    }));
    document(statements)
}

/// Least privilege for the retry worker: the base grants (its own logs, its parameters: the Slack
/// token's and, when set, the Pulumi access token's; the state table), work on the retry queue,
/// send to the dead-letter queue.
pub fn worker_permissions(on: &Resources<'_>) -> String {
    let mut statements = base_statements(on);
    statements.push(json!({
        "Sid": "WorkOwnRetryQueue",
        "Effect": "Allow",
        "Action": WORKER_QUEUE_ACTIONS,
        "Resource": on.retry_queue,
    }));
    statements.push(json!({
        "Sid": "BuryInOwnDeadLetterQueue",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": on.dead_letter_queue,
    }));
    document(statements)
}

fn document(statements: Vec<serde_json::Value>) -> String {
    json!({ "Version": "2012-10-17", "Statement": statements }).to_string()
}

fn base_statements(on: &Resources<'_>) -> Vec<serde_json::Value> {
    vec![
        json!({
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": format!("{}:*", on.log_group),
        }),
        json!({
            "Sid": "ReadOwnSecrets",
            "Effect": "Allow",
            "Action": "ssm:GetParameter",
            "Resource": on.parameters,
        }),
        json!({
            // The table's ARN alone: `<arn>/index/*` is not granted, so adding an index
            // later does not widen this.
            "Sid": "OwnDeliveryState",
            "Effect": "Allow",
            "Action": STATE_TABLE_ACTIONS,
            "Resource": on.state_table,
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources() -> Resources<'static> {
        static PARAMETERS: [String; 0] = [];
        Resources {
            log_group: "arn:aws:logs:eu-west-1:1:log-group:/aws/lambda/f",
            parameters: &PARAMETERS,
            state_table: "arn:aws:dynamodb:eu-west-1:1:table/t",
            retry_queue: "arn:aws:sqs:eu-west-1:1:q.fifo",
            dead_letter_queue: "arn:aws:sqs:eu-west-1:1:d.fifo",
        }
    }

    #[test]
    fn the_web_side_may_only_send_to_its_queues_and_the_worker_only_work_its_own() {
        let statement = |doc: &str, sid: &str| -> serde_json::Value {
            let doc: serde_json::Value = serde_json::from_str(doc).unwrap();
            doc["Statement"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["Sid"] == sid)
                .cloned()
                .unwrap_or_else(|| panic!("no {sid} in {doc}"))
        };
        let web = relay_permissions(&resources());
        let send = statement(&web, "SendToOwnQueues");
        assert_eq!(
            send["Action"],
            json!(["sqs:SendMessage", "sqs:GetQueueAttributes"])
        );
        assert_eq!(
            send["Resource"],
            json!([
                "arn:aws:sqs:eu-west-1:1:q.fifo",
                "arn:aws:sqs:eu-west-1:1:d.fifo"
            ])
        );
        for forbidden in [
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
        ] {
            assert!(!web.contains(forbidden), "{web}");
        }
        let worker = worker_permissions(&resources());
        let work = statement(&worker, "WorkOwnRetryQueue");
        assert_eq!(work["Resource"], "arn:aws:sqs:eu-west-1:1:q.fifo");
        let bury = statement(&worker, "BuryInOwnDeadLetterQueue");
        assert_eq!(bury["Action"], "sqs:SendMessage");
        assert_eq!(bury["Resource"], "arn:aws:sqs:eu-west-1:1:d.fifo");
    }

    #[test]
    fn permissions_name_exactly_the_given_resources() {
        let parameters = ["arn:p1".to_owned(), "arn:p2".to_owned()];
        let doc: serde_json::Value = serde_json::from_str(&relay_permissions(&Resources {
            parameters: &parameters,
            ..resources()
        }))
        .unwrap();
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 4);
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
        let doc: serde_json::Value = serde_json::from_str(&relay_permissions(&Resources {
            state_table: table,
            ..resources()
        }))
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

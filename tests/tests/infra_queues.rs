//! The deployed half of durable delivery, as `pulumi up` declares it on the stand-in engine
//! (every resource checked against the vendored schema and the stand-in providers' checks): the
//! SQS FIFO retry queue and its dead-letter queue, the worker function on the same zip fed by
//! an event source mapping with partial batch responses, one least-privilege role per function,
//! the two alarms, and the optional email alerts.

use relay_tests::deploy::{fresh, run_ok, with};
use relay_tests::engine::{self, Run};
use serde_json::{Value, json};

const QUEUE: &str = "aws:sqs/queue:Queue";
const FUNCTION: &str = "aws:lambda/function:Function";
const ALARM: &str = "aws:cloudwatch/metricAlarm:MetricAlarm";
const TOPIC: &str = "aws:sns/topic:Topic";
const SUBSCRIPTION: &str = "aws:sns/topicSubscription:TopicSubscription";

fn policy(run: &Run, role: &str) -> Value {
    let role = run.resource("aws:iam/role:Role", role);
    let inline = role.inputs["inlinePolicies"].as_array().unwrap();
    assert_eq!(inline.len(), 1);
    serde_json::from_str(inline[0]["policy"].as_str().unwrap()).unwrap()
}

/// Every queue action a policy grants, with the resources it grants it on.
fn queue_grants(policy: &Value) -> Vec<(String, Value)> {
    let mut grants = Vec::new();
    for statement in policy["Statement"].as_array().unwrap() {
        let actions = match &statement["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
            other => panic!("{other}"),
        };
        for action in actions.into_iter().filter(|a| a.starts_with("sqs:")) {
            grants.push((action, statement["Resource"].clone()));
        }
    }
    grants.sort_by(|a, b| a.0.cmp(&b.0));
    grants
}

#[tokio::test]
async fn the_retry_queue_is_fifo_and_redrives_to_its_fifo_dead_letter_queue() {
    let run = run_ok(&fresh(false)).await;
    let retry = run.resource(QUEUE, "retry-queue");
    let dead = run.resource(QUEUE, "dead-letter-queue");
    for (queue, name) in [
        (retry, "pulumi-webhook-relay-dev-retries.fifo"),
        (dead, "pulumi-webhook-relay-dev-dead-letters.fifo"),
    ] {
        assert_eq!(queue.inputs["name"], name);
        assert_eq!(queue.inputs["fifoQueue"], true);
        assert_eq!(queue.inputs["sqsManagedSseEnabled"], true);
        // Fourteen days, SQS's longest: longer than any retry schedule.
        assert_eq!(queue.inputs["messageRetentionSeconds"], 1_209_600.0);
    }
    let redrive: Value =
        serde_json::from_str(retry.inputs["redrivePolicy"].as_str().unwrap()).unwrap();
    assert_eq!(
        redrive,
        json!({"deadLetterTargetArn": dead.outputs["arn"], "maxReceiveCount": 1000})
    );
    assert!(dead.inputs.get("redrivePolicy").is_none_or(Value::is_null));
    assert_eq!(run.export("retryQueueUrl"), Some(&retry.outputs["url"]));
    assert_eq!(run.export("deadLetterQueueUrl"), Some(&dead.outputs["url"]));
}

#[tokio::test]
async fn the_worker_is_the_same_zip_fed_by_the_retry_queue_with_partial_batch_responses() {
    let run = run_ok(&fresh(false)).await;
    let relay = run.resource(FUNCTION, "relay-function");
    let worker = run.resource(FUNCTION, "worker-function");
    assert_eq!(worker.inputs["code"], relay.inputs["code"], "one zip");
    assert_eq!(
        worker.inputs["name"],
        "pulumi-webhook-relay-dev-retry-worker"
    );
    let retry = run.resource(QUEUE, "retry-queue");
    let dead = run.resource(QUEUE, "dead-letter-queue");
    let variables = |f: &engine::Registration| f.inputs["environment"]["variables"].clone();
    for function in [relay, worker] {
        assert_eq!(variables(function)["RETRY_QUEUE_URL"], retry.outputs["url"]);
        assert_eq!(
            variables(function)["DEAD_LETTER_QUEUE_URL"],
            dead.outputs["url"]
        );
    }
    assert_eq!(variables(worker)["RELAY_ROLE"], "retry-worker");
    assert!(variables(relay).get("RELAY_ROLE").is_none());
    assert!(
        variables(worker)
            .get("PULUMI_WEBHOOK_SECRET_PARAMETER")
            .is_none(),
        "the worker never checks a signature"
    );
    assert_eq!(
        variables(worker)["SLACK_TOKEN_PARAMETER"],
        variables(relay)["SLACK_TOKEN_PARAMETER"]
    );

    let mapping = run.resource(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "retry-worker-trigger",
    );
    assert_eq!(mapping.inputs["eventSourceArn"], retry.outputs["arn"]);
    assert_eq!(mapping.inputs["functionName"], worker.outputs["arn"]);
    assert_eq!(
        mapping.inputs["functionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(mapping.inputs["batchSize"], 10.0);
    assert_eq!(
        mapping.inputs["scalingConfig"],
        json!({"maximumConcurrency": 2.0})
    );
    // Lambda's SQS guide: the queue's visibility timeout at least six times the function's.
    let timeout = worker.inputs["timeout"].as_f64().unwrap();
    let visibility = retry.inputs["visibilityTimeoutSeconds"].as_f64().unwrap();
    assert!(visibility >= 6.0 * timeout, "{visibility} < 6 × {timeout}");
    assert!(timeout > relay.inputs["timeout"].as_f64().unwrap());
    assert_eq!(
        run.export("workerFunctionName"),
        Some(&worker.outputs["name"])
    );
    assert_eq!(
        run.export("retryEventSourceMapping"),
        Some(&mapping.outputs["uuid"])
    );
}

#[tokio::test]
async fn the_web_side_may_only_send_to_its_queues_and_the_worker_only_work_its_own() {
    let run = run_ok(&fresh(false)).await;
    let retry = run.resource(QUEUE, "retry-queue").outputs["arn"].clone();
    let dead = run.resource(QUEUE, "dead-letter-queue").outputs["arn"].clone();
    let both = json!([retry, dead]);
    assert_eq!(
        queue_grants(&policy(&run, "relay-role")),
        [
            ("sqs:GetQueueAttributes".to_owned(), both.clone()),
            ("sqs:SendMessage".to_owned(), both),
        ]
    );
    let worker = policy(&run, "worker-role");
    assert_eq!(
        queue_grants(&worker),
        [
            ("sqs:ChangeMessageVisibility".to_owned(), retry.clone()),
            ("sqs:DeleteMessage".to_owned(), retry.clone()),
            ("sqs:GetQueueAttributes".to_owned(), retry.clone()),
            ("sqs:ReceiveMessage".to_owned(), retry),
            ("sqs:SendMessage".to_owned(), dead),
        ]
    );
    // Its own log group, the token's parameter only, the state table.
    let logs = run.resource("aws:cloudwatch/logGroup:LogGroup", "worker-logs");
    assert_eq!(
        logs.inputs["name"],
        "/aws/lambda/pulumi-webhook-relay-dev-retry-worker"
    );
    let text = worker.to_string();
    assert!(text.contains(&format!("{}:*", logs.outputs["arn"].as_str().unwrap())));
    let token = run.resource("aws:ssm/parameter:Parameter", "slack-token");
    let secret = run.resource("aws:ssm/parameter:Parameter", "webhook-secret");
    assert!(text.contains(token.outputs["arn"].as_str().unwrap()));
    assert!(!text.contains(secret.outputs["arn"].as_str().unwrap()));
    assert_eq!(
        run.resource(FUNCTION, "worker-function").inputs["role"],
        run.resource("aws:iam/role:Role", "worker-role").outputs["arn"]
    );
}

#[tokio::test]
async fn alarms_watch_dead_letters_and_the_oldest_delivery_and_notify_no_one_by_default() {
    let run = run_ok(&fresh(false)).await;
    let dead = run.resource(ALARM, "dead-letters-alarm");
    assert_eq!(dead.inputs["namespace"], "AWS/SQS");
    assert_eq!(
        dead.inputs["metricName"],
        "ApproximateNumberOfMessagesVisible"
    );
    assert_eq!(
        dead.inputs["dimensions"],
        json!({"QueueName": run.resource(QUEUE, "dead-letter-queue").outputs["name"]})
    );
    assert_eq!(dead.inputs["comparisonOperator"], "GreaterThanThreshold");
    assert_eq!(dead.inputs["threshold"], 0.0);
    let oldest = run.resource(ALARM, "oldest-queued-alarm");
    assert_eq!(oldest.inputs["metricName"], "ApproximateAgeOfOldestMessage");
    assert_eq!(
        oldest.inputs["dimensions"],
        json!({"QueueName": run.resource(QUEUE, "retry-queue").outputs["name"]})
    );
    assert_eq!(oldest.inputs["threshold"], 1800.0);
    for alarm in [dead, oldest] {
        assert_eq!(alarm.inputs["treatMissingData"], "notBreaching");
        assert!(alarm.inputs.get("alarmActions").is_none_or(Value::is_null));
    }
    assert!(run.of_type(TOPIC).is_empty() && run.of_type(SUBSCRIPTION).is_empty());
    assert!(run.export("alertTopicArn").is_none());
}

#[tokio::test]
async fn with_alert_email_the_alarms_email_it_through_an_sns_topic() {
    for preview in [true, false] {
        let run = run_ok(&with(fresh(preview), "alertEmail", "oncall@example.com")).await;
        let topic = run.resource(TOPIC, "alerts-topic");
        assert_eq!(topic.inputs["name"], "pulumi-webhook-relay-dev-alerts");
        let subscription = run.resource(SUBSCRIPTION, "alerts-email");
        assert_eq!(subscription.inputs["protocol"], "email");
        assert_eq!(subscription.inputs["endpoint"], "oncall@example.com");
        if preview {
            continue;
        }
        assert_eq!(subscription.inputs["topic"], topic.outputs["arn"]);
        for alarm in run.of_type(ALARM) {
            assert_eq!(alarm.inputs["alarmActions"], json!([topic.outputs["arn"]]));
            assert_eq!(alarm.inputs["okActions"], json!([topic.outputs["arn"]]));
        }
        assert_eq!(run.export("alertTopicArn"), Some(&topic.outputs["arn"]));
    }
}

#[tokio::test]
async fn an_alert_email_that_is_no_address_is_refused_before_anything_is_created() {
    let run = engine::run(&with(fresh(false), "alertEmail", "oncall at example")).await;
    assert!(!run.success);
    assert_eq!(
        run.errors(),
        [
            "error: config `alertEmail` is \"oncall at example\", but it is not an email address (SNS sends the alarms there): run `pulumi config set alertEmail oncall@example.com`"
        ],
        "{}",
        run.stderr
    );
    assert!(run.registrations.is_empty());
}

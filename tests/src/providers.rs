//! What the AWS, random and pulumiservice providers answer for the resources `infra` declares:
//! the IDs and computed outputs AWS (or the service) would assign, and the input checks of theirs
//! that the program's values depend on.
//!
//! The formats of ARNs, IDs and URLs follow AWS's documented shapes; the values themselves are
//! made up (a fixed account and region, stable hashes of the resource names).

use serde_json::{Map, Value, json};

use crate::engine::{SECRET_SIG, SIG, UNKNOWN, reveal};
use crate::schema::Schema;

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// A provider's answer to a create: `(id, outputs)`. Outputs are the inputs plus what AWS
/// computes and, as Terraform state has every attribute, every other declared output as null.
pub fn create(schema: &Schema, type_: &str, name: &str, inputs: &Value) -> (String, Value) {
    let mut out: Map<String, Value> = inputs.as_object().cloned().unwrap_or_default();
    for (key, value) in computed(type_, name, inputs) {
        if out.get(key).is_none_or(Value::is_null) {
            out.insert(key.to_owned(), value);
        }
    }
    if out.contains_key("tags") || schema.has_output(type_, "tagsAll") {
        let tags = out
            .get("tags")
            .cloned()
            .filter(|t| !t.is_null())
            .unwrap_or_else(|| json!({}));
        out.insert("tagsAll".into(), tags);
    }
    let mut outputs = Value::Object(out);
    schema.complete_outputs(type_, &mut outputs);
    (id(type_, name, inputs), outputs)
}

/// A provider's answer to a create in a preview (Create with `preview: true`): the planned state,
/// where the inputs are known and everything the provider computes is unknown, and no ID.
///
/// pulumi-terraform-bridge `pkg/tfbridge/provider.go` `Create` returns Terraform's proposed state
/// in a preview, whose computed attributes not set in config are unknown and whose `id` is
/// unknown (returned as ""). Computed here: the outputs this module assigns, and every output the
/// schema declares that is not an input (those only a provider can set).
pub fn plan(schema: &Schema, type_: &str, name: &str, inputs: &Value) -> Value {
    let mut out: Map<String, Value> = inputs.as_object().cloned().unwrap_or_default();
    for (key, _) in computed(type_, name, inputs) {
        if out.get(key).is_none_or(Value::is_null) {
            out.insert(key.to_owned(), json!(UNKNOWN));
        }
    }
    for key in schema.output_only(type_) {
        out.entry(key).or_insert(json!(UNKNOWN));
    }
    Value::Object(out)
}

/// Input checks of the provider that a value the program computes could fail: the problems
/// found. Unknown values are not checked (a preview's Check passes them through).
///
/// Every check names the terraform-provider-aws file it comes from (the upstream the bridged
/// `aws` provider wraps; `ValidateFunc`s run in the provider's Check, `CustomizeDiff`s in its
/// Diff, both before anything reaches AWS).
pub fn check(type_: &str, inputs: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let p = &mut problems;
    match type_ {
        // `internal/service/lambda/permission.go`: `source_arn` has `ValidateFunc:
        // verify.ValidARN`.
        "aws:lambda/permission:Permission" => valid_arn(p, inputs, "sourceArn"),
        "aws:sqs/queue:Queue" => check_queue(p, inputs),
        "aws:sns/topic:Topic" => check_topic(p, inputs),
        "aws:sns/topicSubscription:TopicSubscription" => check_subscription(p, inputs),
        "aws:lambda/eventSourceMapping:EventSourceMapping" => check_event_source_mapping(p, inputs),
        "aws:cloudwatch/metricAlarm:MetricAlarm" => check_metric_alarm(p, inputs),
        _ => {}
    }
    problems
}

/// `internal/service/sqs/queue.go` (`queueSchema`, `resourceQueueCustomizeDiff`) and
/// `internal/service/sqs/consts.go`.
fn check_queue(p: &mut Vec<String>, inputs: &Value) {
    let fifo = known_bool(inputs, "fifoQueue").unwrap_or(false);
    // CustomizeDiff on create: `^[0-9A-Za-z_-]{1,75}\.fifo$` for a FIFO queue, else
    // `^[0-9A-Za-z_-]{1,80}$` (so a standard queue's name cannot end in `.fifo`). Only a given
    // name is checked here; an auto-name gets the suffix (see `queue_name`).
    if let Some(name) = known_str(inputs, "name") {
        let valid = match name.strip_suffix(".fifo") {
            Some(base) if fifo => name_chars(base, 75),
            _ => !fifo && name_chars(name, 80),
        };
        if !valid {
            p.push(format!("invalid queue name: {name}"));
        }
    }
    if !fifo && known_bool(inputs, "contentBasedDeduplication") == Some(true) {
        p.push("content-based deduplication can only be set for FIFO queue".into());
    }
    int_between(p, inputs, "delaySeconds", 0, 900);
    int_between(p, inputs, "kmsDataKeyReusePeriodSeconds", 60, 86_400);
    int_between(p, inputs, "maxMessageSize", 1024, 1_048_576);
    int_between(p, inputs, "messageRetentionSeconds", 60, 1_209_600);
    int_between(p, inputs, "visibilityTimeoutSeconds", 0, 43_200);
    for key in ["policy", "redrivePolicy", "redriveAllowPolicy"] {
        string_is_json(p, inputs, key);
    }
    // `validation.StringInSlice(deduplicationScope_Values() / fifoThroughputLimit_Values(),
    // false)`, values in consts.go.
    one_of(p, inputs, "deduplicationScope", &["messageGroup", "queue"]);
    one_of(
        p,
        inputs,
        "fifoThroughputLimit",
        &["perMessageGroupId", "perQueue"],
    );
}

/// `internal/service/sns/topic.go` (`topicSchema`, `resourceTopicCustomizeDiff`).
fn check_topic(p: &mut Vec<String>, inputs: &Value) {
    let fifo = known_bool(inputs, "fifoTopic").unwrap_or(false);
    // CustomizeDiff on create: `^[0-9A-Za-z_-]{1,251}\.fifo$` for a FIFO topic, else
    // `^[0-9A-Za-z_-]{1,256}$`.
    if let Some(name) = known_str(inputs, "name") {
        let valid = match name.strip_suffix(".fifo") {
            Some(base) if fifo => name_chars(base, 251),
            _ => !fifo && name_chars(name, 256),
        };
        if !valid {
            p.push(format!("invalid topic name: {name}"));
        }
    }
    if !fifo {
        if known_str(inputs, "archivePolicy").is_some_and(|v| !v.is_empty()) {
            p.push("message archive policy can only be set for FIFO topics".into());
        }
        if known_str(inputs, "fifoThroughputScope").is_some_and(|v| !v.is_empty()) {
            p.push("FIFO throughput scope can only be set for FIFO topics".into());
        }
        if known_bool(inputs, "contentBasedDeduplication") == Some(true) {
            p.push("content-based deduplication can only be set for FIFO topics".into());
        }
    }
    for kind in ["application", "firehose", "http", "lambda", "sqs"] {
        // `*_success_feedback_sample_rate`: `validation.IntBetween(0, 100)`;
        // `*_feedback_role_arn`: `verify.ValidARN`.
        int_between(
            p,
            inputs,
            &format!("{kind}SuccessFeedbackSampleRate"),
            0,
            100,
        );
        valid_arn(p, inputs, &format!("{kind}SuccessFeedbackRoleArn"));
        valid_arn(p, inputs, &format!("{kind}FailureFeedbackRoleArn"));
    }
    int_between(p, inputs, "signatureVersion", 1, 2);
    // `delivery_policy` and `policy` are JSON document schemas (`validation.StringIsJSON`,
    // spelled out in older versions of topic.go, via `internal/sdkv2/schema.go` in newer ones).
    string_is_json(p, inputs, "deliveryPolicy");
    string_is_json(p, inputs, "policy");
}

/// `internal/service/sns/topic_subscription.go` (`subscriptionSchema`,
/// `resourceTopicSubscriptionCustomizeDiff`) and `internal/service/sns/consts.go`.
fn check_subscription(p: &mut Vec<String>, inputs: &Value) {
    // `validation.StringInSlice(SubscriptionProtocol_Values(), false)`.
    one_of(
        p,
        inputs,
        "protocol",
        &[
            "application",
            "email",
            "email-json",
            "firehose",
            "http",
            "https",
            "lambda",
            "sms",
            "sqs",
        ],
    );
    // Pulumi's `topic` is Terraform's `topic_arn` (`verify.ValidARN`).
    valid_arn(p, inputs, "topic");
    valid_arn(p, inputs, "subscriptionRoleArn");
    for key in [
        "deliveryPolicy",
        "filterPolicy",
        "redrivePolicy",
        "replayPolicy",
    ] {
        string_is_json(p, inputs, key);
    }
    one_of(
        p,
        inputs,
        "filterPolicyScope",
        &["MessageAttributes", "MessageBody"],
    );
    let has_policy = known_str(inputs, "filterPolicy").is_some_and(|v| !v.is_empty());
    if !has_policy && known_str(inputs, "filterPolicyScope").is_some() {
        p.push("filter_policy is required when filter_policy_scope is set".into());
    }
}

/// `internal/service/lambda/event_source_mapping.go` (the resource schema); enum values from
/// aws-sdk-go-v2 `service/lambda/types/enums.go`, as the `enum.Validate[...]` calls check them.
fn check_event_source_mapping(p: &mut Vec<String>, inputs: &Value) {
    // `function_response_types`: `enum.Validate[awstypes.FunctionResponseType]()`, whose only
    // value is `ReportBatchItemFailures`.
    for (i, item) in known_items(inputs, "functionResponseTypes") {
        if item != "ReportBatchItemFailures" {
            p.push(format!(
                "`functionResponseTypes[{i}]` {item:?} is not one of [\"ReportBatchItemFailures\"]"
            ));
        }
    }
    // `starting_position`: `enum.Validate[awstypes.EventSourcePosition]()`.
    one_of(
        p,
        inputs,
        "startingPosition",
        &["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"],
    );
    // `maximum_record_age_in_seconds`: `validation.Any(IntInSlice([]int{-1}),
    // IntBetween(60, 604_800))`.
    if let Some(age) = known_f64(inputs, "maximumRecordAgeInSeconds")
        && age != -1.0
        && !(60.0..=604_800.0).contains(&age)
    {
        p.push(format!(
            "`maximumRecordAgeInSeconds` {age} is neither -1 nor in the range (60 - 604800)"
        ));
    }
    int_between(p, inputs, "maximumRetryAttempts", -1, 10_000);
    int_between(p, inputs, "parallelizationFactor", 1, 10);
    int_between(p, inputs, "tumblingWindowInSeconds", 0, 900);
    // `scaling_config.maximum_concurrency`: `validation.IntAtLeast(2)`.
    if let Some(scaling) = known(inputs, "scalingConfig") {
        int_between(p, scaling, "maximumConcurrency", 2, i64::MAX);
    }
    valid_arn(p, inputs, "kmsKeyArn");
    if let Some(on_failure) = known(inputs, "destinationConfig").and_then(|d| known(d, "onFailure"))
    {
        valid_arn(p, on_failure, "destinationArn");
    }
    // `event_source_arn` and `self_managed_event_source`: `ExactlyOneOf`.
    let sources = ["eventSourceArn", "selfManagedEventSource"]
        .iter()
        .filter(|key| inputs.get(**key).is_some_and(|v| !v.is_null()))
        .count();
    if sources != 1 {
        p.push("exactly one of `eventSourceArn` and `selfManagedEventSource` must be set".into());
    }
}

/// `internal/service/cloudwatch/metric_alarm.go` (the resource schema and its CustomizeDiff),
/// with `consts.go` and `validate.go` beside it; enum values from aws-sdk-go-v2
/// `service/cloudwatch/types/enums.go`.
fn check_metric_alarm(p: &mut Vec<String>, inputs: &Value) {
    // `comparison_operator`: `enum.Validate[types.ComparisonOperator]()`.
    one_of(
        p,
        inputs,
        "comparisonOperator",
        &[
            "GreaterThanOrEqualToThreshold",
            "GreaterThanThreshold",
            "LessThanThreshold",
            "LessThanOrEqualToThreshold",
            "LessThanLowerOrGreaterThanUpperThreshold",
            "LessThanLowerThreshold",
            "GreaterThanUpperThreshold",
        ],
    );
    // `statistic`: `enum.Validate[types.Statistic]()`.
    one_of(
        p,
        inputs,
        "statistic",
        &["SampleCount", "Average", "Sum", "Minimum", "Maximum"],
    );
    // `treat_missing_data` / `evaluate_low_sample_count_percentiles`: `StringInSlice(...,
    // true)` (case-insensitive) over `missingData_Values()` / `lowSampleCountPercentiles_Values()`.
    for (key, allowed) in [
        (
            "treatMissingData",
            &["breaching", "ignore", "missing", "notBreaching"][..],
        ),
        (
            "evaluateLowSampleCountPercentiles",
            &["evaluate", "ignore"][..],
        ),
    ] {
        if let Some(value) = known_str(inputs, key)
            && !allowed.iter().any(|a| a.eq_ignore_ascii_case(value))
        {
            p.push(format!("`{key}` {value:?} is not one of {allowed:?}"));
        }
    }
    // `period`: `validation.Any(IntInSlice([]int{10, 20, 30}), IntDivisibleBy(60))`.
    if let Some(period) = known_f64(inputs, "period")
        && ![10.0, 20.0, 30.0].contains(&period)
        && period % 60.0 != 0.0
    {
        p.push(format!(
            "`period` {period} is not 10, 20, 30 or a multiple of 60"
        ));
    }
    // `evaluation_periods`, `datapoints_to_alarm`: `validation.IntAtLeast(1)`.
    int_between(p, inputs, "evaluationPeriods", 1, i64::MAX);
    int_between(p, inputs, "datapointsToAlarm", 1, i64::MAX);
    // `alarm_actions`, `ok_actions`, `insufficient_data_actions`: each
    // `validation.Any(verify.ValidARN, validEC2AutomateARN)`; the last two at most 5
    // (`MaxItems: 5`).
    for key in ["alarmActions", "okActions", "insufficientDataActions"] {
        let items = known_items(inputs, key);
        for (i, action) in &items {
            if arn_problem(action).is_some() && !ec2_automate_arn(action) {
                p.push(format!(
                    "`{key}[{i}]` {action:?} is neither an ARN (verify.ValidARN) nor an EC2 automation ARN"
                ));
            }
        }
        if key != "alarmActions" && items.len() > 5 {
            p.push(format!(
                "`{key}` has {} items, at most 5 are allowed",
                items.len()
            ));
        }
    }
    // CustomizeDiff: a `metric_name` needs exactly one of `statistic` and `extended_statistic`.
    let set = |key: &str| inputs.get(key).is_some_and(|v| !v.is_null());
    if set("metricName") && set("statistic") == set("extendedStatistic") {
        p.push(
            "One of `statistic` or `extended_statistic` must be set for a cloudwatch metric alarm"
                .into(),
        );
    }
}

/// A known input: present, not null and not the unknown marker (secrets revealed).
fn known<'a>(inputs: &'a Value, key: &str) -> Option<&'a Value> {
    let value = reveal(inputs.get(key)?);
    (!value.is_null() && value.as_str() != Some(UNKNOWN)).then_some(value)
}

fn known_str<'a>(inputs: &'a Value, key: &str) -> Option<&'a str> {
    known(inputs, key)?.as_str()
}

fn known_f64(inputs: &Value, key: &str) -> Option<f64> {
    known(inputs, key)?.as_f64()
}

fn known_bool(inputs: &Value, key: &str) -> Option<bool> {
    known(inputs, key)?.as_bool()
}

/// The known string items of a list input, with their indexes.
fn known_items<'a>(inputs: &'a Value, key: &str) -> Vec<(usize, &'a str)> {
    let items = known(inputs, key).and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, item)| Some((i, reveal(item).as_str()?)))
        .filter(|(_, item)| *item != UNKNOWN)
        .collect()
}

/// terraform-plugin-sdk `validation.IntBetween(lo, hi)` (`IntAtLeast(lo)` with `hi = MAX`).
fn int_between(p: &mut Vec<String>, inputs: &Value, key: &str, lo: i64, hi: i64) {
    if let Some(n) = known_f64(inputs, key)
        && !(lo as f64..=hi as f64).contains(&n)
    {
        p.push(if hi == i64::MAX {
            format!("expected `{key}` to be at least ({lo}), got {n}")
        } else {
            format!("expected `{key}` to be in the range ({lo} - {hi}), got {n}")
        });
    }
}

/// terraform-plugin-sdk `validation.StringInSlice(allowed, false)`.
fn one_of(p: &mut Vec<String>, inputs: &Value, key: &str, allowed: &[&str]) {
    if let Some(value) = known_str(inputs, key)
        && !allowed.contains(&value)
    {
        p.push(format!(
            "expected `{key}` to be one of {allowed:?}, got {value:?}"
        ));
    }
}

/// terraform-plugin-sdk `validation.StringIsJSON`: `structure.NormalizeJsonString` must parse it
/// (the empty string passes).
fn string_is_json(p: &mut Vec<String>, inputs: &Value, key: &str) {
    if let Some(value) = known_str(inputs, key)
        && !value.is_empty()
        && let Err(e) = serde_json::from_str::<Value>(value)
    {
        p.push(format!("`{key}` contains an invalid JSON: {e}"));
    }
}

fn valid_arn(p: &mut Vec<String>, inputs: &Value, key: &str) {
    // A string merely built around the unknown marker is checked: Pulumi would not send it.
    let Some(value) = inputs.get(key).map(reveal).and_then(Value::as_str) else {
        return;
    };
    if value != UNKNOWN
        && let Some(why) = arn_problem(value)
    {
        p.push(format!(
            "`{key}` {value:?} is an invalid ARN: {why} (verify.ValidARN)"
        ));
    }
}

/// terraform-provider-aws `internal/verify/validate.go` `ValidARN` (`ValidARNCheck()`): empty
/// passes; otherwise aws-sdk-go's `arn.Parse` (prefix `arn:`, six `:`-separated sections), a
/// partition matching `^aws(-[a-z]+)*$`, a region empty or matching `^[a-z]{2}(-[a-z]+)+-\d$`,
/// an account empty or matching `^(aws|aws-managed|third-party|\d{12}|cw.{10})$`, and a
/// non-empty resource.
fn arn_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        return None;
    }
    let sections: Vec<&str> = value.splitn(6, ':').collect();
    if !value.starts_with("arn:") {
        return Some("arn: invalid prefix");
    }
    let [_, partition, _service, region, account, resource] = sections[..] else {
        return Some("arn: not enough sections");
    };
    let lower_words = |s: &str| {
        s.split('-')
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
    };
    let partition_ok = partition
        .strip_prefix("aws")
        .is_some_and(|rest| rest.is_empty() || rest.strip_prefix('-').is_some_and(lower_words));
    if !partition_ok {
        return Some(if partition.is_empty() {
            "missing partition value"
        } else {
            "invalid partition value"
        });
    }
    let region_ok = region.is_empty()
        || region.rsplit_once('-').is_some_and(|(head, digit)| {
            digit.len() == 1
                && digit.bytes().all(|b| b.is_ascii_digit())
                && head.split_once('-').is_some_and(|(cc, rest)| {
                    cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_lowercase()) && lower_words(rest)
                })
        });
    if !region_ok {
        return Some("invalid region value");
    }
    let account_ok = account.is_empty()
        || ["aws", "aws-managed", "third-party"].contains(&account)
        || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        || (account.starts_with("cw") && account.chars().count() == 12);
    if !account_ok {
        return Some("invalid account ID value");
    }
    if resource.is_empty() {
        return Some("missing resource value");
    }
    None
}

/// terraform-provider-aws `internal/service/cloudwatch/validate.go` `validEC2AutomateARN`:
/// `^arn:[\w-]+:automate:[\w-]+:ec2:(reboot|recover|stop|terminate)$`.
fn ec2_automate_arn(value: &str) -> bool {
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    match value.split(':').collect::<Vec<_>>()[..] {
        ["arn", partition, "automate", region, "ec2", action] => {
            word(partition)
                && word(region)
                && ["reboot", "recover", "stop", "terminate"].contains(&action)
        }
        _ => false,
    }
}

/// `^[0-9A-Za-z_-]{1,max}$`, the SQS queue / SNS topic name pattern.
fn name_chars(name: &str, max: usize) -> bool {
    (1..=max).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn given(inputs: &Value, key: &str) -> Option<String> {
    inputs
        .get(key)
        .map(reveal)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The physical name: the given `name`, or an auto-name as Pulumi's providers make one.
fn physical(name: &str, inputs: &Value) -> String {
    given(inputs, "name").unwrap_or_else(|| format!("{name}-{:07x}", fxhash(name) & 0xfff_ffff))
}

fn api_id(name: &str) -> String {
    format!("{:010x}", fxhash(name) & 0xff_ffff_ffff)
}

/// A made-up identifier in the 8-4-4-4-12 hex shape of a version-4 UUID.
fn uuid(seed: &str) -> String {
    let (a, b) = (
        fxhash(&format!("uuid-a{seed}")),
        fxhash(&format!("uuid-b{seed}")),
    );
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a & 0xffff_ffff,
        (a >> 32) & 0xffff,
        (a >> 48) & 0xfff,
        0x8000 | (b & 0x3fff),
        (b >> 16) & 0xffff_ffff_ffff
    )
}

/// The physical name of an SQS queue or SNS topic: FIFO ones must end in `.fifo`.
///
/// pulumi/pulumi-aws `provider/resource_overrides.go`: `aws_sqs_queue` and `aws_sns_topic` auto-name
/// `name` with `AutoNameWithCustomOptions` (separator `-`, 7 random characters, at most 80)
/// whose `PostTransform` appends `.fifo` when `fifoQueue` / `fifoTopic` is true. Terraform itself
/// does the same for a name it generates (`internal/service/sqs/queue.go` `queueName` and
/// `internal/service/sns/topic.go` `topicName` add `create.WithSuffix(".fifo")`;
/// `internal/create/naming.go` `NameWithSuffix`: the suffix goes on generated names only), and
/// uses a given name as it is.
fn fifo_name(name: &str, inputs: &Value, fifo_key: &str) -> String {
    match given(inputs, "name") {
        Some(given) => given,
        None if reveal(inputs.get(fifo_key).unwrap_or(&Value::Null)) == &json!(true) => {
            format!("{}.fifo", physical(name, inputs))
        }
        None => physical(name, inputs),
    }
}

/// An SQS queue's URL, which Terraform makes its ID (`internal/service/sqs/queue.go`:
/// `d.SetId(QueueUrl)`; `queueNameFromURL` reads `http://sqs.us-west-2.amazonaws.com/123456789012/queueName`,
/// `parseQueueURL` matches `^https://sqs\.([a-z0-9-]+)\.[^/]+/([0-9]{12})/.+`).
fn queue_url(name: &str, inputs: &Value) -> String {
    let queue = fifo_name(name, inputs, "fifoQueue");
    format!("https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{queue}")
}

/// An SNS topic's ARN, which Terraform makes its ID (`internal/service/sns/topic.go`:
/// `d.SetId(TopicArn)`, and the name is read back as the ARN's resource part; the import example
/// in `sns/topic.d.ts` is `arn:aws:sns:us-west-2:123456789012:my-topic`).
fn topic_arn(name: &str, inputs: &Value) -> String {
    let topic = fifo_name(name, inputs, "fifoTopic");
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{topic}")
}

/// A subscription's ARN, its ID (`internal/service/sns/topic_subscription.go`:
/// `d.SetId(SubscriptionArn)`, with `ReturnSubscriptionArn: true` so that a pending one has it
/// too, per the SNS API Reference's `SubscribeResponse`): the topic ARN, `:`, and an ID, as in
/// the import example of `@pulumi/aws` `sns/topicSubscription.d.ts`
/// (`arn:aws:sns:us-west-2:123456789012:my-topic:8a21d249-4329-4871-acc6-7be709c6ea7f`).
fn subscription_arn(name: &str, inputs: &Value) -> String {
    let topic = given(inputs, "topic").unwrap_or_default();
    format!("{topic}:{}", uuid(&format!("subscription{name}")))
}

/// The outputs a provider computes for a new resource.
fn computed(type_: &str, name: &str, inputs: &Value) -> Vec<(&'static str, Value)> {
    let physical = physical(name, inputs);
    match type_ {
        "aws:ssm/parameter:Parameter" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!(
                    "arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{}",
                    physical.trim_start_matches('/')
                )),
            ),
            ("version", json!(1)),
            ("tier", json!("Standard")),
        ],
        "aws:iam/role:Role" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!("arn:aws:iam::{ACCOUNT}:role/{physical}")),
            ),
            ("uniqueId", json!("AROAEXAMPLE1234567890")),
            ("createDate", json!("2026-11-28T00:00:00Z")),
        ],
        "aws:cloudwatch/logGroup:LogGroup" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!(
                    "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}"
                )),
            ),
        ],
        "aws:lambda/function:Function" => {
            let arn = format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}");
            vec![
                ("name", json!(physical)),
                (
                    "invokeArn",
                    json!(format!(
                        "arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
                    )),
                ),
                ("qualifiedArn", json!(format!("{arn}:$LATEST"))),
                ("arn", json!(arn)),
                ("version", json!("$LATEST")),
            ]
        }
        "aws:dynamodb/table:Table" => vec![
            ("name", json!(physical)),
            (
                "arn",
                json!(format!(
                    "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{physical}"
                )),
            ),
            ("readCapacity", json!(0)),
            ("writeCapacity", json!(0)),
        ],
        "aws:apigatewayv2/api:Api" => {
            let api_id = api_id(name);
            vec![
                (
                    "apiEndpoint",
                    json!(format!(
                        "https://{api_id}.execute-api.{REGION}.amazonaws.com"
                    )),
                ),
                (
                    "executionArn",
                    json!(format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}")),
                ),
                (
                    "arn",
                    json!(format!("arn:aws:apigateway:{REGION}::/apis/{api_id}")),
                ),
            ]
        }
        "aws:apigatewayv2/stage:Stage" => {
            let api = given(inputs, "apiId").unwrap_or_default();
            let stage = given(inputs, "name").unwrap_or_default();
            let path = if stage == "$default" {
                String::new()
            } else {
                stage.clone()
            };
            vec![
                (
                    "invokeUrl",
                    json!(format!(
                        "https://{api}.execute-api.{REGION}.amazonaws.com/{path}"
                    )),
                ),
                (
                    "executionArn",
                    json!(format!(
                        "arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/{stage}"
                    )),
                ),
                (
                    "arn",
                    json!(format!(
                        "arn:aws:apigateway:{REGION}::/apis/{api}/stages/{stage}"
                    )),
                ),
            ]
        }
        "aws:sqs/queue:Queue" => {
            let queue = fifo_name(name, inputs, "fifoQueue");
            vec![
                ("url", json!(queue_url(name, inputs))),
                // `arn:${Partition}:sqs:${Region}:${Account}:${QueueName}` (Service
                // Authorization Reference, Amazon SQS resource types).
                (
                    "arn",
                    json!(format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}")),
                ),
                ("name", json!(queue)),
            ]
        }
        "aws:sns/topic:Topic" => vec![
            ("arn", json!(topic_arn(name, inputs))),
            ("name", json!(fifo_name(name, inputs, "fifoTopic"))),
            // The topic's `Owner` attribute: the account that created it.
            ("owner", json!(ACCOUNT)),
        ],
        "aws:sns/topicSubscription:TopicSubscription" => {
            // `internal/service/sns/topic_subscription.go` create: Terraform waits for the
            // confirmation except for `email*` protocols and for `http*` ones without
            // `endpoint_auto_confirms`, which stay pending until the endpoint's owner confirms
            // (SNS Developer Guide: an email subscription is "Pending confirmation" until the
            // link in the confirmation message is followed).
            let protocol = given(inputs, "protocol").unwrap_or_default();
            let auto_confirms = known_bool(inputs, "endpointAutoConfirms") == Some(true);
            let pending =
                protocol.contains("email") || (protocol.contains("http") && !auto_confirms);
            let mut outputs = vec![
                ("arn", json!(subscription_arn(name, inputs))),
                ("pendingConfirmation", json!(pending)),
                // Assumed, no source read: a confirmed subscription counts as authenticated.
                ("confirmationWasAuthenticated", json!(!pending)),
                ("ownerId", json!(ACCOUNT)),
            ];
            // `filter_policy_scope` is computed: "When filter_policy is set, this defaults to
            // MessageAttributes" (topic_subscription.go).
            if known_str(inputs, "filterPolicy").is_some_and(|v| !v.is_empty()) {
                outputs.push(("filterPolicyScope", json!("MessageAttributes")));
            }
            outputs
        }
        "aws:lambda/eventSourceMapping:EventSourceMapping" => {
            let uuid = uuid(name);
            // Lambda API Reference, CreateEventSourceMapping `FunctionName`: a name
            // (`MyFunction`), a function, version or alias ARN, or a partial ARN
            // (`123456789012:function:MyFunction`); the response's `FunctionArn` is the ARN.
            let function = given(inputs, "functionName").unwrap_or_default();
            let function_arn = if function.starts_with("arn:") {
                function
            } else if function.contains(":function:") {
                format!("arn:aws:lambda:{REGION}:{function}")
            } else {
                format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}")
            };
            // event_source_mapping.go: the create waits for `Enabled` or `Disabled` (as
            // `enabled`, default true, asked), and `last_modified` is formatted RFC 3339.
            let enabled = known_bool(inputs, "enabled") != Some(false);
            vec![
                // `arn:${Partition}:lambda:${Region}:${Account}:event-source-mapping:${UUID}`
                // (Service Authorization Reference, AWS Lambda resource types).
                (
                    "arn",
                    json!(format!(
                        "arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{uuid}"
                    )),
                ),
                ("uuid", json!(uuid)),
                ("functionArn", json!(function_arn)),
                ("state", json!(if enabled { "Enabled" } else { "Disabled" })),
                ("lastModified", json!("2026-11-28T00:00:00Z")),
            ]
        }
        "aws:cloudwatch/metricAlarm:MetricAlarm" => vec![
            // pulumi-aws `provider/resource_overrides.go`: `alarm_name` is Pulumi's `name`,
            // auto-named (`tfbridge.AutoName("name", 255, "-")`).
            ("name", json!(physical)),
            // `arn:${Partition}:cloudwatch:${Region}:${Account}:alarm:${AlarmName}` (Service
            // Authorization Reference, Amazon CloudWatch resource types).
            (
                "arn",
                json!(format!(
                    "arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{physical}"
                )),
            ),
        ],
        "pulumiservice:index:Webhook" => {
            vec![("name", json!(format!("{:08x}", fxhash(name) & 0xffff_ffff)))]
        }
        "random:index/randomPassword:RandomPassword" => {
            let length = inputs.get("length").and_then(Value::as_f64).unwrap_or(16.0) as usize;
            let secret: String = (0..length)
                .map(|i| char::from(b'a' + ((fxhash(&format!("{name}{i}")) % 26) as u8)))
                .collect();
            vec![
                ("result", json!({ SIG: SECRET_SIG, "value": secret })),
                (
                    "bcryptHash",
                    json!({ SIG: SECRET_SIG, "value": "$2a$10$examplehash" }),
                ),
            ]
        }
        _ => vec![],
    }
}

/// The ID AWS (or the service) gives a new resource.
fn id(type_: &str, name: &str, inputs: &Value) -> String {
    match type_ {
        "aws:apigatewayv2/api:Api" => api_id(name),
        "aws:lambda/permission:Permission" => {
            given(inputs, "statementId").unwrap_or_else(|| format!("{name}-statement"))
        }
        "aws:iam/role:Role"
        | "aws:cloudwatch/logGroup:LogGroup"
        | "aws:ssm/parameter:Parameter"
        | "aws:dynamodb/table:Table"
        | "aws:lambda/function:Function" => physical(name, inputs),
        "aws:sqs/queue:Queue" => queue_url(name, inputs),
        "aws:sns/topic:Topic" => topic_arn(name, inputs),
        "aws:sns/topicSubscription:TopicSubscription" => subscription_arn(name, inputs),
        // event_source_mapping.go: `d.SetId(UUID)`.
        "aws:lambda/eventSourceMapping:EventSourceMapping" => uuid(name),
        // metric_alarm.go: `d.SetId(alarm_name)`.
        "aws:cloudwatch/metricAlarm:MetricAlarm" => physical(name, inputs),
        // `{org}/{project}/{stack}/{webhook}` for a stack webhook, `{org}/{webhook}` for an
        // organization one, as the provider's import documentation gives them.
        "pulumiservice:index:Webhook" => {
            let webhook = format!("{:08x}", fxhash(name) & 0xffff_ffff);
            [
                given(inputs, "organizationName"),
                given(inputs, "projectName"),
                given(inputs, "stackName"),
                Some(webhook),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/")
        }
        _ => format!("{name}-{:08x}", fxhash(&format!("id{name}")) & 0xffff_ffff),
    }
}

/// A small stable hash for made-up identifiers.
pub fn fxhash(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_arn_built_around_the_unknown_marker_is_refused() {
        let permission = "aws:lambda/permission:Permission";
        let wrong = json!({ "sourceArn": format!("{UNKNOWN}/*/*") });
        assert_eq!(check(permission, &wrong).len(), 1, "{wrong}");
        let unknown = json!({ "sourceArn": UNKNOWN });
        assert!(check(permission, &unknown).is_empty());
        let right = json!({ "sourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc/*/*" });
        assert!(check(permission, &right).is_empty());
    }

    #[test]
    fn arns_are_parsed_as_verify_valid_arn_does() {
        for good in [
            "",
            "arn:aws:sqs:us-east-1:123456789012:jobs",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:t",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:s3:::bucket/key:with:colons",
        ] {
            assert_eq!(arn_problem(good), None, "{good}");
        }
        for bad in [
            "sqs:us-east-1",
            "arn:aws:sqs:us-east-1:123456789012",
            "arn::sqs:us-east-1:123456789012:q",
            "arn:AWS:sqs:us-east-1:123456789012:q",
            "arn:aws:sqs:useast1:123456789012:q",
            "arn:aws:sqs:us-east-1:1234:q",
            "arn:aws:sqs:us-east-1:123456789012:",
        ] {
            assert!(arn_problem(bad).is_some(), "{bad}");
        }
        assert!(ec2_automate_arn("arn:aws:automate:us-east-1:ec2:stop"));
        assert!(!ec2_automate_arn("arn:aws:automate:us-east-1:ec2:explode"));
    }

    #[test]
    fn a_fifo_queue_needs_a_fifo_name_and_gets_one_when_auto_named() {
        let queue = "aws:sqs/queue:Queue";
        let schema_free = |inputs: Value| check(queue, &inputs);
        assert!(schema_free(json!({ "name": "jobs.fifo", "fifoQueue": true })).is_empty());
        assert_eq!(
            schema_free(json!({ "name": "jobs", "fifoQueue": true })).len(),
            1
        );
        assert_eq!(schema_free(json!({ "name": "jobs.fifo" })).len(), 1);
        assert_eq!(
            schema_free(json!({ "contentBasedDeduplication": true })).len(),
            1
        );
        assert_eq!(
            schema_free(
                json!({ "visibilityTimeoutSeconds": 43_201, "messageRetentionSeconds": 59 })
            )
            .len(),
            2
        );
        assert_eq!(
            schema_free(json!({ "redrivePolicy": "{\"maxReceiveCount\": 5" })).len(),
            1
        );
        assert!(
            schema_free(json!({ "redrivePolicy": UNKNOWN, "visibilityTimeoutSeconds": UNKNOWN }))
                .is_empty()
        );

        let fifo = json!({ "fifoQueue": true });
        let name = fifo_name("jobs", &fifo, "fifoQueue");
        assert!(
            name.starts_with("jobs-") && name.ends_with(".fifo"),
            "{name}"
        );
        assert!(check(queue, &json!({ "name": name, "fifoQueue": true })).is_empty());
        assert_eq!(
            id(queue, "jobs", &fifo),
            format!("https://sqs.us-east-1.amazonaws.com/123456789012/{name}")
        );
        let outputs: Map<String, Value> = computed(queue, "jobs", &json!({ "name": "q" }))
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(outputs["arn"], "arn:aws:sqs:us-east-1:123456789012:q");
        assert_eq!(
            outputs["url"],
            "https://sqs.us-east-1.amazonaws.com/123456789012/q"
        );
    }

    #[test]
    fn subscriptions_hang_off_their_topic_and_email_ones_stay_pending() {
        let sub = "aws:sns/topicSubscription:TopicSubscription";
        let topic = "arn:aws:sns:us-east-1:123456789012:alerts";
        let outputs = |protocol: &str| -> Map<String, Value> {
            let inputs = json!({ "topic": topic, "protocol": protocol, "endpoint": "x" });
            computed(sub, "s", &inputs)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        };
        let email = outputs("email");
        assert_eq!(email["pendingConfirmation"], true);
        assert_eq!(email["confirmationWasAuthenticated"], false);
        let sqs = outputs("sqs");
        assert_eq!(sqs["pendingConfirmation"], false);
        let arn = sqs["arn"].as_str().unwrap();
        let id_part = arn.strip_prefix(&format!("{topic}:")).unwrap();
        assert_eq!(id_part.len(), 36, "{arn}");
        assert_eq!(id(sub, "s", &json!({ "topic": topic })), arn);
        assert_eq!(
            check(sub, &json!({ "topic": topic, "protocol": "smtp" })).len(),
            1
        );
        assert_eq!(
            check(sub, &json!({ "topic": "alerts", "protocol": "sqs" })).len(),
            1
        );
    }

    #[test]
    fn an_event_source_mapping_resolves_its_function_and_checks_response_types() {
        let esm = "aws:lambda/eventSourceMapping:EventSourceMapping";
        let outputs = |function: &str| -> Map<String, Value> {
            computed(esm, "m", &json!({ "functionName": function }))
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect()
        };
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:relay";
        assert_eq!(outputs("relay")["functionArn"], arn);
        assert_eq!(outputs(arn)["functionArn"], arn);
        assert_eq!(outputs("123456789012:function:relay")["functionArn"], arn);
        let uuid = id(esm, "m", &json!({}));
        assert_eq!(outputs("relay")["uuid"], uuid);
        assert_eq!(
            outputs("relay")["arn"],
            format!("arn:aws:lambda:us-east-1:123456789012:event-source-mapping:{uuid}")
        );
        assert_eq!(outputs("relay")["state"], "Enabled");
        let queue = "arn:aws:sqs:us-east-1:123456789012:jobs";
        let ok = json!({ "eventSourceArn": queue, "functionResponseTypes": ["ReportBatchItemFailures"] });
        assert!(check(esm, &ok).is_empty());
        let bad = json!({ "eventSourceArn": queue, "functionResponseTypes": ["ReportFailures"], "scalingConfig": { "maximumConcurrency": 1 } });
        assert_eq!(check(esm, &bad).len(), 2);
        assert_eq!(check(esm, &json!({})).len(), 1, "no event source");
    }

    #[test]
    fn a_metric_alarm_checks_its_operator_period_and_actions() {
        let alarm = "aws:cloudwatch/metricAlarm:MetricAlarm";
        let ok = json!({
            "comparisonOperator": "GreaterThanThreshold",
            "metricName": "Errors",
            "statistic": "Sum",
            "period": 300,
            "evaluationPeriods": 1,
            "treatMissingData": "NotBreaching",
            "alarmActions": ["arn:aws:sns:us-east-1:123456789012:alerts", "arn:aws:automate:us-east-1:ec2:stop"],
        });
        assert!(check(alarm, &ok).is_empty(), "{:?}", check(alarm, &ok));
        let bad = json!({
            "comparisonOperator": "Greater",
            "metricName": "Errors",
            "period": 45,
            "alarmActions": ["alerts"],
        });
        assert_eq!(check(alarm, &bad).len(), 4, "{:?}", check(alarm, &bad));
        assert_eq!(id(alarm, "errors", &json!({ "name": "errors" })), "errors");
    }
}

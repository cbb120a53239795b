//! The stand-in engine's schema check rejects what the real provider would reject; without these
//! the infra tests could pass against a check that accepts anything.

use relay_tests::engine::{ARCHIVE_SIG, SECRET_SIG, SIG, UNKNOWN, vendored_schemas};
use relay_tests::schema::Schema;
use serde_json::{Value, json};

fn aws() -> Schema {
    vendored_schemas()
        .into_iter()
        .find(|s| s.name == "aws")
        .expect("the aws schema")
}

fn errors(token: &str, inputs: Value, preview: bool) -> Vec<String> {
    let schema = aws();
    let version = schema.version.clone();
    schema
        .validate_registration(token, &version, &inputs, preview)
        .errors
}

const LOG_GROUP: &str = "aws:cloudwatch/logGroup:LogGroup";
const FUNCTION: &str = "aws:lambda/function:Function";

#[test]
fn a_valid_registration_has_no_errors() {
    assert_eq!(
        errors(
            LOG_GROUP,
            json!({"name": "/aws/lambda/f", "retentionInDays": 14, "tags": {"a": "b"}}),
            false
        ),
        Vec::<String>::new()
    );
}

#[test]
fn an_unknown_property_is_an_error() {
    let found = errors(LOG_GROUP, json!({"retention": 14}), false);
    assert_eq!(found, vec!["unknown input property `retention`"]);
}

#[test]
fn a_missing_required_input_is_an_error() {
    let found = errors(FUNCTION, json!({"runtime": "provided.al2023"}), false);
    assert_eq!(found, vec!["required input `role` is missing"]);
}

#[test]
fn wrong_types_are_errors() {
    assert_eq!(
        errors(LOG_GROUP, json!({"retentionInDays": "14"}), false).len(),
        1
    );
    assert_eq!(
        errors(LOG_GROUP, json!({"retentionInDays": 1.5}), false).len(),
        1,
        "integers are whole"
    );
    assert_eq!(
        errors(LOG_GROUP, json!({"tags": {"a": 1}}), false).len(),
        1,
        "map values are typed"
    );
}

#[test]
fn nested_object_types_are_checked() {
    let found = errors(
        FUNCTION,
        json!({"role": "arn", "environment": {"vars": {}}}),
        false,
    );
    assert_eq!(
        found,
        vec![
            "`environment.vars` is not a property of aws:lambda/FunctionEnvironment:FunctionEnvironment"
        ]
    );
}

#[test]
fn code_must_be_a_pulumi_archive() {
    assert_eq!(
        errors(
            FUNCTION,
            json!({"role": "arn", "code": "/tmp/bootstrap.zip"}),
            false
        )
        .len(),
        1
    );
    let archive = json!({"role": "arn", "code": {SIG: ARCHIVE_SIG, "path": "/tmp/bootstrap.zip"}});
    assert!(errors(FUNCTION, archive, false).is_empty());
}

#[test]
fn secrets_are_checked_by_their_value() {
    let secret = |v: Value| json!({SIG: SECRET_SIG, "value": v});
    assert!(errors(LOG_GROUP, json!({"name": secret(json!("/x"))}), false).is_empty());
    assert_eq!(
        errors(LOG_GROUP, json!({"name": secret(json!(5))}), false).len(),
        1
    );
}

#[test]
fn unknowns_are_allowed_in_a_preview_only() {
    assert!(errors(FUNCTION, json!({"role": UNKNOWN}), true).is_empty());
    assert_eq!(
        errors(FUNCTION, json!({"role": UNKNOWN}), false),
        vec!["`role` is unknown during an update"]
    );
}

#[test]
fn an_unknown_resource_type_or_version_is_an_error() {
    assert_eq!(errors("aws:s3/bucket:Bucket", json!({}), false).len(), 1);
    let schema = aws();
    let found = schema
        .validate_registration(LOG_GROUP, "6.0.0", &json!({}), false)
        .errors;
    assert_eq!(found.len(), 1, "{found:?}");
}

fn pulumiservice_errors(inputs: Value) -> Vec<String> {
    let schema = vendored_schemas()
        .into_iter()
        .find(|s| s.name == "pulumiservice")
        .expect("the pulumiservice schema");
    let version = schema.version.clone();
    schema
        .validate_registration("pulumiservice:index:Webhook", &version, &inputs, false)
        .errors
}

fn webhook(extra: Value) -> Value {
    let mut inputs = json!({
        "organizationName": "acme", "displayName": "relay", "active": true,
        "payloadUrl": "https://example.test/", "format": "raw",
        "secret": {SIG: SECRET_SIG, "value": "s3cret"},
    });
    inputs
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    inputs
}

#[test]
fn a_pulumi_cloud_webhook_is_checked_against_its_enums() {
    assert_eq!(
        pulumiservice_errors(webhook(
            json!({"filters": ["update_failed"], "groups": ["stacks"]})
        )),
        Vec::<String>::new()
    );
    assert_eq!(
        pulumiservice_errors(webhook(json!({"filters": ["update_failure"]}))),
        vec![
            "`filters[0]` is \"update_failure\", not one of the pulumiservice:index:WebhookFilters values"
        ]
    );
    assert_eq!(
        pulumiservice_errors(webhook(json!({"format": "json"}))).len(),
        1
    );
    assert_eq!(
        pulumiservice_errors(json!({"organizationName": "acme"})).len(),
        3,
        "displayName, active and payloadUrl are required"
    );
}

#[test]
fn a_secret_property_sent_in_plain_text_is_an_error() {
    assert_eq!(
        pulumiservice_errors(webhook(json!({"secret": "s3cret"}))),
        vec!["input `secret` is secret in the provider schema but was sent in plain text"]
    );
    let schema = aws();
    let version = schema.version.clone();
    let found = schema
        .validate_registration(
            "aws:ssm/parameter:Parameter",
            &version,
            &json!({"type": "SecureString", "value": "xoxb-plain"}),
            false,
        )
        .errors;
    assert_eq!(
        found,
        vec!["input `value` is secret in the provider schema but was sent in plain text"]
    );
}

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

/// Input checks of the provider that a value the program computes could fail: the problem, or
/// `None`. Unknown values are not checked (a preview's Check passes them through).
pub fn check(type_: &str, inputs: &Value) -> Vec<String> {
    // terraform-provider-aws `internal/service/lambda/permission.go`: `source_arn` has
    // `ValidateFunc: verify.ValidARN`, which parses it with aws-sdk-go-v2's `arn.Parse`:
    // the prefix `arn:` and six `:`-separated sections.
    const ARNS: &[(&str, &str)] = &[("aws:lambda/permission:Permission", "sourceArn")];
    ARNS.iter()
        .filter(|(t, _)| *t == type_)
        .filter_map(|(_, key)| {
            let value = reveal(inputs.get(*key)?).as_str()?;
            let valid = value.starts_with("arn:") && value.splitn(6, ':').count() == 6;
            (value != UNKNOWN && !valid)
                .then(|| format!("`{key}` {value:?} is an invalid ARN (verify.ValidARN)"))
        })
        .collect()
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
}

//! The `infra` program run by the stand-in Pulumi engine as `pulumi up` and `pulumi preview`
//! would run it: every resource it registers is checked against the vendored AWS / random
//! schemas, the wiring between resources is the one that makes the relay work on AWS, secrets
//! stay secrets, and bad config fails with the line that says how to fix it.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use relay_tests::engine::{self, Program, Run, UNKNOWN, is_secret, plaintext_occurrences, reveal};
use relay_tests::relay::workspace_binary;
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-111-222-SECRETTOKENVALUE";
const WEBHOOK_SECRET: &str = "given-webhook-secret-0123456789abcdef";
const WEBHOOK: &str = "pulumiservice:index:Webhook";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The arm64 `bootstrap.zip`, built once per test process with `cargo lambda build`, exactly as
/// the program builds it when `handlerZip` is not set.
fn built_zip() -> &'static PathBuf {
    static ZIP: OnceLock<PathBuf> = OnceLock::new();
    ZIP.get_or_init(|| {
        let dir = workspace().join("target/lambda-arm64");
        let status = std::process::Command::new("cargo")
            .args([
                "lambda",
                "build",
                "--profile",
                "lambda",
                "--output-format",
                "zip",
                "--arm64",
            ])
            .args(["--package", "handler", "--bin", "handler", "--lambda-dir"])
            .arg(&dir)
            .current_dir(workspace())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("cargo lambda is installed (pip install cargo-lambda)");
        assert!(status.success(), "cargo lambda build failed");
        dir.join("handler/bootstrap.zip")
    })
}

/// A program run with a valid config (token and channel, the prebuilt zip).
fn program(preview: bool) -> Program {
    Program {
        binary: workspace_binary("infra"),
        project: "pulumi-webhook-relay".into(),
        stack: "dev".into(),
        organization: "acme".into(),
        root_directory: workspace(),
        config: BTreeMap::from([
            ("slackToken".into(), TOKEN.into()),
            ("slackChannel".into(), "#ops".into()),
            ("handlerZip".into(), built_zip().display().to_string()),
        ]),
        secret_keys: vec!["slackToken".into()],
        preview,
    }
}

async fn run_ok(program: &Program) -> Run {
    let run = engine::run(program).await;
    assert!(run.success, "the program failed:\n{}", run.stderr);
    assert!(
        run.schema_errors.is_empty(),
        "schema violations:\n{}",
        run.schema_errors.join("\n")
    );
    run
}

fn types(run: &Run) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for r in &run.registrations {
        *counts.entry(r.type_.clone()).or_default() += 1;
    }
    counts
}

fn expected_types(with_random: bool) -> BTreeMap<String, usize> {
    let mut expected: BTreeMap<String, usize> = [
        ("pulumi:pulumi:Stack", 1),
        ("aws:ssm/parameter:Parameter", 2),
        ("aws:cloudwatch/logGroup:LogGroup", 2),
        ("aws:iam/role:Role", 1),
        ("aws:lambda/function:Function", 1),
        ("aws:lambda/permission:Permission", 1),
        ("aws:apigatewayv2/api:Api", 1),
        ("aws:apigatewayv2/integration:Integration", 1),
        ("aws:apigatewayv2/route:Route", 2),
        ("aws:apigatewayv2/stage:Stage", 1),
        ("aws:dynamodb/table:Table", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if with_random {
        expected.insert("random:index/randomPassword:RandomPassword".into(), 1);
    }
    expected
}

#[tokio::test]
async fn an_update_registers_every_resource_and_each_fits_the_provider_schema() {
    let run = run_ok(&program(false)).await;
    assert_eq!(types(&run), expected_types(true));
    // Without `registerWebhook`, nothing is registered in Pulumi Cloud.
    assert!(run.of_type(WEBHOOK).is_empty());
}

#[tokio::test]
async fn a_preview_registers_the_same_resources_and_each_fits_the_provider_schema() {
    let run = run_ok(&program(true)).await;
    assert_eq!(types(&run), expected_types(true));
    // The URL is not known before the stage exists.
    assert_eq!(run.export("url"), Some(&json!(UNKNOWN)));
}

#[tokio::test]
async fn the_api_routes_get_and_post_to_the_function_through_a_v2_proxy_integration() {
    let run = run_ok(&program(false)).await;
    let api = run.resource("aws:apigatewayv2/api:Api", "http-api");
    assert_eq!(api.inputs["protocolType"], "HTTP");
    let function = run.resource("aws:lambda/function:Function", "relay-function");
    let integration = run.resource(
        "aws:apigatewayv2/integration:Integration",
        "lambda-integration",
    );
    assert_eq!(integration.inputs["apiId"], api.id.as_str());
    assert_eq!(integration.inputs["integrationType"], "AWS_PROXY");
    assert_eq!(integration.inputs["payloadFormatVersion"], "2.0");
    assert_eq!(
        integration.inputs["integrationUri"],
        function.outputs["invokeArn"]
    );

    let routes: BTreeSet<(String, String)> = run
        .of_type("aws:apigatewayv2/route:Route")
        .iter()
        .map(|r| {
            assert_eq!(r.inputs["apiId"], api.id.as_str());
            (
                r.inputs["routeKey"].as_str().unwrap().to_owned(),
                r.inputs["target"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let target = format!("integrations/{}", integration.id);
    assert_eq!(
        routes,
        BTreeSet::from([("GET /".into(), target.clone()), ("POST /".into(), target)])
    );

    let stage = run.resource("aws:apigatewayv2/stage:Stage", "default-stage");
    assert_eq!(stage.inputs["apiId"], api.id.as_str());
    assert_eq!(stage.inputs["name"], "$default");
    assert_eq!(stage.inputs["autoDeploy"], true);
    assert!(
        stage.inputs["defaultRouteSettings"]["throttlingBurstLimit"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        stage.inputs["defaultRouteSettings"]["throttlingRateLimit"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let access_logs = run.resource("aws:cloudwatch/logGroup:LogGroup", "access-logs");
    assert_eq!(
        stage.inputs["accessLogSettings"]["destinationArn"],
        access_logs.outputs["arn"]
    );
    let format: Value = serde_json::from_str(
        stage.inputs["accessLogSettings"]["format"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(format["requestId"], "$context.requestId");
}

#[tokio::test]
async fn only_this_api_may_invoke_the_function() {
    let run = run_ok(&program(false)).await;
    let api = run.resource("aws:apigatewayv2/api:Api", "http-api");
    let function = run.resource("aws:lambda/function:Function", "relay-function");
    let permission = run.resource("aws:lambda/permission:Permission", "api-invoke");
    assert_eq!(permission.inputs["action"], "lambda:InvokeFunction");
    assert_eq!(permission.inputs["principal"], "apigateway.amazonaws.com");
    assert_eq!(permission.inputs["function"], function.outputs["name"]);
    let execution_arn = api.outputs["executionArn"].as_str().unwrap();
    assert_eq!(
        permission.inputs["sourceArn"],
        format!("{execution_arn}/*/*")
    );
}

#[tokio::test]
async fn the_role_may_write_its_own_logs_read_exactly_its_two_parameters_and_use_its_table() {
    let run = run_ok(&program(false)).await;
    let role = run.resource("aws:iam/role:Role", "relay-role");
    let trust: Value =
        serde_json::from_str(role.inputs["assumeRolePolicy"].as_str().unwrap()).unwrap();
    assert_eq!(
        trust["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );

    let inline = role.inputs["inlinePolicies"]
        .as_array()
        .expect("an inline policy");
    assert_eq!(inline.len(), 1);
    let policy: Value = serde_json::from_str(inline[0]["policy"].as_str().unwrap()).unwrap();
    let logs = run.resource("aws:cloudwatch/logGroup:LogGroup", "function-logs");
    let params: BTreeSet<&str> = run
        .of_type("aws:ssm/parameter:Parameter")
        .iter()
        .map(|p| p.outputs["arn"].as_str().unwrap())
        .collect();
    let statements = policy["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 3, "{policy}");
    assert_eq!(
        statements[0]["Action"],
        json!(["logs:CreateLogStream", "logs:PutLogEvents"])
    );
    assert_eq!(
        statements[0]["Resource"],
        format!("{}:*", logs.outputs["arn"].as_str().unwrap())
    );
    assert_eq!(statements[1]["Action"], "ssm:GetParameter");
    let granted: BTreeSet<&str> = statements[1]["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(granted, params);

    // The state table: item reads and writes by key, on the table's own ARN and nothing else
    // (no `/index/*`, no wildcard, no Scan or Query).
    let table = run.resource("aws:dynamodb/table:Table", "state-table");
    let table_arn = table.outputs["arn"].as_str().expect("the table's ARN");
    assert!(table_arn.starts_with("arn:aws:dynamodb:"), "{table_arn}");
    assert_eq!(statements[2]["Sid"], "OwnDeliveryState");
    assert_eq!(statements[2]["Effect"], "Allow");
    assert_eq!(
        statements[2]["Action"],
        json!([
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
            "dynamodb:DeleteItem"
        ])
    );
    assert_eq!(statements[2]["Resource"], table_arn);
    for other in &statements[..2] {
        assert!(!other.to_string().contains("dynamodb"), "{other}");
    }

    let function = run.resource("aws:lambda/function:Function", "relay-function");
    assert_eq!(function.inputs["role"], role.outputs["arn"]);
}

#[tokio::test]
async fn the_state_table_is_on_demand_keyed_by_pk_and_expires_items_by_ttl() {
    for preview in [false, true] {
        let run = run_ok(&program(preview)).await;
        let table = run.resource("aws:dynamodb/table:Table", "state-table");
        let inputs = &table.inputs;
        assert_eq!(inputs["name"], "pulumi-webhook-relay-dev-state");
        assert_eq!(inputs["billingMode"], "PAY_PER_REQUEST");
        assert_eq!(inputs["hashKey"], "pk");
        assert!(
            inputs.get("rangeKey").is_none_or(Value::is_null),
            "no range key: {inputs}"
        );
        assert_eq!(inputs["attributes"], json!([{"name": "pk", "type": "S"}]));
        assert_eq!(
            inputs["ttl"],
            json!({"attributeName": "expires_at", "enabled": true})
        );
        // On demand means no provisioned capacity; PITR off and the default encryption.
        for unset in [
            "readCapacity",
            "writeCapacity",
            "pointInTimeRecovery",
            "serverSideEncryption",
            "globalSecondaryIndexes",
            "localSecondaryIndexes",
            "streamEnabled",
        ] {
            assert!(
                inputs.get(unset).is_none_or(Value::is_null),
                "`{unset}` is set: {inputs}"
            );
        }
        assert_eq!(inputs["tags"]["app"], "pulumi-webhook-relay");
        assert_eq!(table.version, "7.48.0", "the aws plugin version");
    }
}

#[tokio::test]
async fn the_function_is_told_the_state_table_by_its_name_output() {
    let run = run_ok(&program(false)).await;
    let table = run.resource("aws:dynamodb/table:Table", "state-table");
    let function = run.resource("aws:lambda/function:Function", "relay-function");
    let variables = &function.inputs["environment"]["variables"];
    assert_eq!(variables["STATE_TABLE"], table.outputs["name"]);
    assert_eq!(variables["STATE_TABLE"], "pulumi-webhook-relay-dev-state");
    // The function is registered after the table (it waits for the name output).
    let position = |type_: &str| {
        run.registrations
            .iter()
            .position(|r| r.type_ == type_)
            .unwrap()
    };
    assert!(position("aws:dynamodb/table:Table") < position("aws:lambda/function:Function"));
}

#[tokio::test]
async fn the_function_runs_the_relay_with_its_settings_but_never_the_token() {
    let run = run_ok(&program(false)).await;
    let function = run.resource("aws:lambda/function:Function", "relay-function");
    let inputs = &function.inputs;
    assert_eq!(inputs["runtime"], "provided.al2023");
    assert_eq!(inputs["handler"], "bootstrap");
    assert_eq!(inputs["architectures"], json!(["arm64"]));
    assert!(
        inputs["timeout"].as_f64().unwrap() < 30.0,
        "under API Gateway's 30 s"
    );
    assert!(inputs["memorySize"].as_f64().unwrap() <= 256.0);
    let variables = &inputs["environment"]["variables"];
    assert_eq!(variables["SLACK_CHANNEL"], "#ops");
    let token_param = run.resource("aws:ssm/parameter:Parameter", "slack-token");
    let secret_param = run.resource("aws:ssm/parameter:Parameter", "webhook-secret");
    assert_eq!(
        variables["SLACK_TOKEN_PARAMETER"],
        token_param.outputs["name"]
    );
    assert_eq!(
        variables["PULUMI_WEBHOOK_SECRET_PARAMETER"],
        secret_param.outputs["name"]
    );
    assert!(
        variables.get("SLACK_TOKEN").is_none() && variables.get("PULUMI_WEBHOOK_SECRET").is_none()
    );
    assert!(variables.get("ROUTES").is_none(), "no routes configured");
    let logs = run.resource("aws:cloudwatch/logGroup:LogGroup", "function-logs");
    assert_eq!(inputs["loggingConfig"]["logGroup"], logs.outputs["name"]);
    assert_eq!(logs.inputs["retentionInDays"], 14.0);
}

#[tokio::test]
async fn the_code_is_an_archive_of_an_executable_arm64_bootstrap() {
    let run = run_ok(&program(false)).await;
    let code = &run
        .resource("aws:lambda/function:Function", "relay-function")
        .inputs["code"];
    assert_eq!(code[engine::SIG], engine::ARCHIVE_SIG, "{code}");
    let path = Path::new(code["path"].as_str().unwrap());
    assert!(
        path.is_absolute(),
        "archive paths must be absolute: {}",
        path.display()
    );
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut bootstrap = zip.by_name("bootstrap").expect("a bootstrap entry");
    let mode = bootstrap.unix_mode().expect("unix permissions");
    assert_ne!(mode & 0o111, 0, "bootstrap is executable ({mode:o})");
    let mut header = [0u8; 20];
    bootstrap.read_exact(&mut header).unwrap();
    assert_eq!(&header[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([header[18], header[19]]),
        183,
        "EM_AARCH64"
    );
}

#[tokio::test]
async fn without_handler_zip_the_program_builds_the_handler_itself() {
    let zip = built_zip().clone();
    let mut program = program(false);
    program.config.remove("handlerZip");
    let run = run_ok(&program).await;
    let code = &run
        .resource("aws:lambda/function:Function", "relay-function")
        .inputs["code"];
    assert_eq!(Path::new(code["path"].as_str().unwrap()), zip);
    assert!(
        run.stderr
            .contains("building the handler for arm64 with cargo lambda"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn routes_reach_the_function_as_compact_json_the_relay_accepts() {
    // As the language host passes structured config (`pulumi config set --path 'routes[0].…'`
    // or `--json`): one JSON string under the key.
    let rules = json!([
        {"name": "dev previews", "stack": "dev-*", "kinds": ["stack_preview"], "mute": true},
        {"name": "prod failures", "stack": "*-prod", "events": ["update_failed", "drift_detected"],
         "channel": "#alerts", "mention": "<!subteam^S0ONCALL1>"},
    ]);
    let mut program = program(false);
    program.config.insert(
        "routes".into(),
        serde_json::to_string_pretty(&rules).unwrap(),
    );
    let run = run_ok(&program).await;
    let function = run.resource("aws:lambda/function:Function", "relay-function");
    let routes = function.inputs["environment"]["variables"]["ROUTES"]
        .as_str()
        .expect("ROUTES is set");
    assert!(!routes.contains('\n'), "compact: {routes}");
    assert_eq!(serde_json::from_str::<Value>(routes).unwrap(), rules);
    let parsed = handler::routes::Routes::parse(routes).expect("the relay accepts it");
    assert_eq!(
        parsed.names().collect::<Vec<_>>(),
        ["dev previews", "prod failures"]
    );
}

#[tokio::test]
async fn x86_64_is_deployed_when_chosen() {
    let mut program = program(false);
    program
        .config
        .insert("architecture".into(), "x86_64".into());
    let run = run_ok(&program).await;
    let function = run.resource("aws:lambda/function:Function", "relay-function");
    assert_eq!(function.inputs["architectures"], json!(["x86_64"]));
}

#[tokio::test]
async fn the_token_and_webhook_secret_never_travel_in_plain_text() {
    for preview in [false, true] {
        let mut program = program(preview);
        program
            .config
            .insert("webhookSecret".into(), WEBHOOK_SECRET.into());
        program.secret_keys.push("webhookSecret".into());
        let run = run_ok(&program).await;
        for secret in [TOKEN, WEBHOOK_SECRET] {
            for request in &run.requests {
                let leaks = plaintext_occurrences(request, secret);
                assert!(
                    leaks.is_empty(),
                    "plaintext secret at {leaks:?} in {}",
                    request["call"]
                );
            }
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
        }
        let token = &run
            .resource("aws:ssm/parameter:Parameter", "slack-token")
            .inputs;
        assert!(
            is_secret(&token["value"]),
            "the token parameter's value is a secret"
        );
        assert_eq!(token["type"], "SecureString");
        if !preview {
            assert_eq!(reveal(&token["value"]), TOKEN);
            let exported = run
                .export("webhookSecret")
                .expect("webhookSecret is exported");
            assert!(is_secret(exported));
            assert_eq!(reveal(exported), WEBHOOK_SECRET);
        }
    }
}

#[tokio::test]
async fn without_a_webhook_secret_a_generated_one_is_stored_and_exported_as_a_secret() {
    let run = run_ok(&program(false)).await;
    let password = run.resource(
        "random:index/randomPassword:RandomPassword",
        "webhook-secret",
    );
    assert!(password.inputs["length"].as_f64().unwrap() >= 32.0);
    let generated = reveal(&password.outputs["result"])
        .as_str()
        .unwrap()
        .to_owned();
    let parameter = &run
        .resource("aws:ssm/parameter:Parameter", "webhook-secret")
        .inputs["value"];
    assert!(is_secret(parameter));
    assert_eq!(reveal(parameter), generated.as_str());
    let exported = run.export("webhookSecret").unwrap();
    assert!(is_secret(exported));
    assert_eq!(reveal(exported), generated.as_str());
}

#[tokio::test]
async fn the_stack_exports_url_function_and_log_group() {
    let run = run_ok(&program(false)).await;
    let stage = run.resource("aws:apigatewayv2/stage:Stage", "default-stage");
    let url = run.export("url").unwrap();
    assert_eq!(url, &stage.outputs["invokeUrl"]);
    assert!(url.as_str().unwrap().starts_with("https://"));
    let function = run.resource("aws:lambda/function:Function", "relay-function");
    assert_eq!(run.export("functionName"), Some(&function.outputs["name"]));
    let logs = run.resource("aws:cloudwatch/logGroup:LogGroup", "function-logs");
    assert_eq!(run.export("logGroupName"), Some(&logs.outputs["name"]));
}

/// Runs with `config` changed and asserts the program stops with `message` before registering.
async fn assert_config_error(change: impl FnOnce(&mut Program), message: &str) {
    let mut program = program(false);
    change(&mut program);
    let run = engine::run(&program).await;
    assert!(!run.success);
    assert_eq!(run.stderr.trim(), format!("error: {message}"));
    assert!(run.registrations.is_empty(), "nothing is registered");
}

#[tokio::test]
async fn a_missing_token_names_the_command_that_sets_it() {
    assert_config_error(
        |p| {
            p.config.remove("slackToken");
        },
        "config `slackToken` is required: run `pulumi config set slackToken xoxb-… --secret`",
    )
    .await;
}

#[tokio::test]
async fn a_plaintext_token_is_refused() {
    assert_config_error(
        |p| p.secret_keys.clear(),
        "config `slackToken` must be a secret: run `pulumi config set slackToken <value> --secret` (and rotate it: it was stored in plain text)",
    )
    .await;
}

#[tokio::test]
async fn a_missing_channel_names_the_command_that_sets_it() {
    assert_config_error(
        |p| {
            p.config.remove("slackChannel");
        },
        "config `slackChannel` is required: run `pulumi config set slackChannel '#ops'`",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_architecture_is_refused() {
    assert_config_error(
        |p| {
            p.config.insert("architecture".into(), "arm".into());
        },
        "config `architecture` is \"arm\", but it must be arm64 or x86_64: run `pulumi config set architecture arm64`",
    )
    .await;
}

#[tokio::test]
async fn a_retention_cloudwatch_rejects_is_refused() {
    let mut program = program(false);
    program
        .config
        .insert("logRetentionDays".into(), "10".into());
    let run = engine::run(&program).await;
    assert!(!run.success);
    assert!(run.stderr.starts_with("error: config `logRetentionDays` is \"10\", but CloudWatch Logs only keeps logs for one of"), "{}", run.stderr);
    assert!(
        run.stderr
            .trim_end()
            .ends_with("run `pulumi config set logRetentionDays 14`")
    );
}

#[tokio::test]
async fn a_missing_handler_zip_is_refused() {
    assert_config_error(
        |p| {
            p.config.insert("handlerZip".into(), "nope/bootstrap.zip".into());
        },
        "config `handlerZip` is \"nope/bootstrap.zip\", but no such file: run `pulumi config set handlerZip target/lambda/handler/bootstrap.zip`",
    )
    .await;
}

#[tokio::test]
async fn an_invalid_rule_fails_before_anything_is_registered_naming_it() {
    assert_config_error(
        |p| {
            p.config.insert(
                "routes".into(),
                r##"[{"name": "prod", "stack": "*-prod", "channel": "#alerts"},
                     {"name": "pager", "events": ["update_failed"], "mention": "@oncall"}]"##
                    .into(),
            );
        },
        "config `routes` is not valid: rule \"pager\" (routes[1]): `mention` \"@oncall\" would not notify anyone in Slack: use @here, @channel, <!subteam^S…> (a user group, by ID) or <@U…> (a user, by ID) (see \"Routing\" in the README; `pulumi config get routes` shows the rules)",
    )
    .await;
}

/// `program` with `registerWebhook` set as `pulumi config set --path` leaves it: one JSON object.
fn with_registration(mut program: Program, registration: Value) -> Program {
    program
        .config
        .insert("registerWebhook".into(), registration.to_string());
    program
}

#[tokio::test]
async fn a_registered_webhook_sends_the_stack_url_signed_with_the_stack_secret() {
    let mut program = with_registration(
        program(false),
        json!({
            "pulumiOrganization": "acme", "project": "website", "stack": "prod",
            "filters": ["update_failed", "drift_detected"], "groups": ["deployments"],
        }),
    );
    program
        .config
        .insert("webhookSecret".into(), WEBHOOK_SECRET.into());
    program.secret_keys.push("webhookSecret".into());
    let run = run_ok(&program).await;

    let webhooks = run.of_type(WEBHOOK);
    assert_eq!(webhooks.len(), 1);
    let webhook = webhooks[0];
    assert_eq!(webhook.version, "1.3.0", "the pulumiservice plugin version");
    let inputs = &webhook.inputs;
    assert_eq!(inputs["organizationName"], "acme");
    assert_eq!(inputs["projectName"], "website");
    assert_eq!(inputs["stackName"], "prod");
    assert_eq!(
        inputs["displayName"],
        "Slack relay (pulumi-webhook-relay/dev)"
    );
    assert_eq!(inputs["format"], "raw");
    assert_eq!(inputs["active"], true);
    assert_eq!(
        inputs["filters"],
        json!(["update_failed", "drift_detected"])
    );
    assert_eq!(inputs["groups"], json!(["deployments"]));

    let url = run.export("url").expect("url is exported");
    assert!(url.as_str().unwrap().starts_with("https://"), "{url}");
    assert_eq!(&inputs["payloadUrl"], url);

    // The secret is the relay's, travels wrapped, and stays wrapped in the recorded state.
    assert!(is_secret(&inputs["secret"]), "{}", inputs["secret"]);
    assert_eq!(reveal(&inputs["secret"]), WEBHOOK_SECRET);
    assert!(is_secret(&webhook.outputs["secret"]));
    for request in &run.requests {
        let leaks = plaintext_occurrences(request, WEBHOOK_SECRET);
        assert!(
            leaks.is_empty(),
            "plaintext secret at {leaks:?} in {}",
            request["call"]
        );
    }
    let exported = run.export("webhookSecret").unwrap();
    assert!(is_secret(exported));
}

#[tokio::test]
async fn a_registered_webhook_uses_the_generated_secret_and_is_previewed_too() {
    let registration = json!({"scope": "organization", "pulumiOrganization": "acme"});
    let run = run_ok(&with_registration(program(false), registration.clone())).await;
    let webhook = run.resource(WEBHOOK, "pulumi-cloud-webhook");
    let inputs = &webhook.inputs;
    assert!(
        inputs.get("projectName").is_none_or(Value::is_null)
            && inputs.get("stackName").is_none_or(Value::is_null),
        "an organization webhook names no stack: {inputs}"
    );
    assert!(
        inputs.get("filters").is_none_or(Value::is_null),
        "no filters: every event"
    );
    let generated = run.resource(
        "random:index/randomPassword:RandomPassword",
        "webhook-secret",
    );
    assert!(is_secret(&inputs["secret"]));
    assert_eq!(
        reveal(&inputs["secret"]),
        reveal(&generated.outputs["result"])
    );
    assert_eq!(
        webhook.id,
        format!("acme/{}", webhook.outputs["name"].as_str().unwrap())
    );

    // In a preview the URL is not known yet, but the webhook is already planned.
    let preview = run_ok(&with_registration(program(true), registration)).await;
    let planned = preview.resource(WEBHOOK, "pulumi-cloud-webhook");
    assert_eq!(planned.inputs["payloadUrl"], UNKNOWN);
    assert_eq!(planned.inputs["organizationName"], "acme");
}

#[tokio::test]
async fn a_bad_webhook_filter_fails_pulumi_up_naming_the_field_and_value() {
    let mut program = with_registration(
        program(false),
        json!({"pulumiOrganization": "acme", "project": "website", "stack": "prod",
               "filters": ["update_failed", "update_failure"]}),
    );
    program.preview = false;
    let run = engine::run(&program).await;
    assert!(!run.success);
    assert!(run.registrations.is_empty(), "nothing is registered");
    let stderr = run.stderr.trim();
    assert!(
        stderr.starts_with(
            "error: config `registerWebhook.filters[1]` is \"update_failure\", which is not a Pulumi webhook filter; valid filters: stack_created,"
        ),
        "{stderr}"
    );
    assert!(
        stderr
            .contains("run `pulumi config set --path 'registerWebhook.filters[1]' update_failed`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
}

#[tokio::test]
async fn a_stack_webhook_without_its_stack_fails_pulumi_up() {
    assert_config_error(
        |p| {
            p.config.insert(
                "registerWebhook".into(),
                r#"{"pulumiOrganization": "acme", "project": "website"}"#.into(),
            );
        },
        "config `registerWebhook.stack` is required with scope stack (the default): the stack whose events to relay, which is not guessed: run `pulumi config set --path registerWebhook.stack <stack>`, or `pulumi config set --path registerWebhook.scope organization` for every stack (see \"Register the webhook in Pulumi Cloud\" in the README; `pulumi config get registerWebhook` shows it)",
    )
    .await;
}

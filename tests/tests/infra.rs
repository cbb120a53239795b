//! The `infra` program run by the stand-in Pulumi engine and CLI as `pulumi preview` and
//! `pulumi up` run it for a new user (only `slackToken` and `slackChannel` set): every resource it
//! registers fits the vendored provider schemas, the wiring between resources is the one that
//! makes the relay work on AWS, secrets stay secrets, and bad config fails with the line the user
//! sees first.

use std::collections::BTreeSet;
use std::io::Read;

use relay_tests::cli_config::Project;
use relay_tests::deploy::{
    TOKEN, WEBHOOK_SECRET, fresh, run_ok, run_ok_on, with, with_secret, workspace,
};
use relay_tests::engine::{
    self, Program, Run, Stack, UNKNOWN, is_secret, plaintext_occurrences, reveal,
};
use serde_json::{Value, json};

const WEBHOOK: &str = "pulumiservice:index:Webhook";
const FUNCTION: &str = "aws:lambda/function:Function";

fn types(run: &Run) -> BTreeSet<(String, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for r in &run.registrations {
        *counts.entry(r.type_.clone()).or_default() += 1;
    }
    counts.into_iter().collect()
}

fn expected_types() -> BTreeSet<(String, usize)> {
    [
        ("pulumi:pulumi:Stack", 1),
        ("aws:ssm/parameter:Parameter", 2),
        ("aws:cloudwatch/logGroup:LogGroup", 3),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", 2),
        ("aws:iam/role:Role", 2),
        ("aws:lambda/function:Function", 2),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", 1),
        ("aws:sqs/queue:Queue", 2),
        ("aws:lambda/permission:Permission", 1),
        ("aws:apigatewayv2/api:Api", 1),
        ("aws:apigatewayv2/integration:Integration", 1),
        ("aws:apigatewayv2/route:Route", 5),
        ("aws:apigatewayv2/stage:Stage", 1),
        ("aws:dynamodb/table:Table", 1),
        ("random:index/randomPassword:RandomPassword", 1),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[test]
fn pulumi_yaml_requires_exactly_the_token_and_the_channel() {
    let project = Project::load(&workspace());
    let required: BTreeSet<&str> = project
        .config
        .iter()
        .filter(|(_, d)| d.default.is_none() && d.value.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(required, BTreeSet::from(["slackChannel", "slackToken"]));
    // Every key the program reads is declared, so `pulumi config` and Pulumi Cloud document it.
    let read = [
        "slackToken",
        "slackChannel",
        "webhookSecret",
        "architecture",
        "logRetentionDays",
        "handlerZip",
        "routes",
        "registerWebhook",
        "alertEmail",
        "pulumiAccessToken",
        "slackSigningSecret",
        "chatops",
    ];
    for key in read {
        assert!(project.config.contains_key(key), "`{key}` is not declared");
    }
    assert!(project.config["slackToken"].secret);
    // Declared secret, untyped with an empty default like `webhookSecret`, so that leaving it
    // unset passes the CLI; the program refuses a plaintext one.
    for key in ["pulumiAccessToken", "slackSigningSecret"] {
        let secret = &project.config[key];
        assert!(secret.secret && secret.type_.is_none(), "{key}");
        assert_eq!(secret.default, Some(json!("")), "{key}");
    }
    // Structured like `routes`: untyped, an empty array by default, not a secret.
    for key in ["routes", "chatops"] {
        let rules = &project.config[key];
        assert!(!rules.secret && rules.type_.is_none(), "{key}");
        assert_eq!(rules.default, Some(json!([])), "{key}");
    }
}

#[tokio::test]
async fn a_new_users_stack_previews_and_then_updates() {
    let mut stack = Stack::default();
    let preview = run_ok_on(&mut stack, &fresh(true)).await;
    assert!(stack.is_empty(), "a preview creates nothing");
    assert_eq!(types(&preview), expected_types());
    let update = run_ok_on(&mut stack, &fresh(false)).await;
    assert_eq!(types(&update), expected_types());
    // Without `registerWebhook`, nothing is registered in Pulumi Cloud.
    assert!(update.of_type(WEBHOOK).is_empty());
}

#[tokio::test]
async fn in_a_preview_the_program_is_never_sent_an_unknown_and_derives_none() {
    let run = run_ok(&fresh(true)).await;
    // As the engine answers an SDK without `supportsPartialValues`: unknown outputs left out.
    for r in &run.registrations {
        assert!(
            !r.answered.to_string().contains(UNKNOWN),
            "{} {} was answered an unknown: {}",
            r.type_,
            r.name,
            r.answered
        );
    }
    // What is derived from unknown outputs is sent as unknown, whole.
    let permission = run.resource("aws:lambda/permission:Permission", "api-invoke");
    assert_eq!(permission.inputs["sourceArn"], UNKNOWN);
    let role = run.resource("aws:iam/role:Role", "relay-role");
    assert_eq!(role.inputs["inlinePolicies"], UNKNOWN);
    let route = run.resource("aws:apigatewayv2/route:Route", "route-post");
    assert_eq!(route.inputs["target"], UNKNOWN);
    // The URL is not known before the stage exists.
    assert_eq!(run.export("url"), Some(&json!(UNKNOWN)));
}

#[tokio::test]
async fn a_preview_of_a_deployed_stack_knows_its_outputs() {
    let mut stack = Stack::default();
    let update = run_ok_on(&mut stack, &fresh(false)).await;
    let preview = run_ok_on(&mut stack, &fresh(true)).await;
    assert_eq!(preview.export("url"), update.export("url"));
    assert!(!preview.export("url").unwrap().to_string().contains(UNKNOWN));
}

/// The inputs of every registration, by type and name (the archive with its hash).
fn inputs(run: &Run) -> Vec<(String, String, Value)> {
    let mut all: Vec<_> = run
        .registrations
        .iter()
        .map(|r| (r.type_.clone(), r.name.clone(), r.inputs.clone()))
        .collect();
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    all
}

#[tokio::test]
async fn a_second_update_with_nothing_changed_registers_the_same_inputs() {
    let mut stack = Stack::default();
    let first = run_ok_on(&mut stack, &fresh(false)).await;
    let second = run_ok_on(&mut stack, &fresh(false)).await;
    assert_eq!(inputs(&first), inputs(&second));
    let code = &second.resource(FUNCTION, "relay-function").inputs["code"];
    assert_eq!(code["hash"].as_str().map(str::len), Some(64), "{code}");
}

#[tokio::test]
async fn the_archive_is_sent_by_a_path_that_is_the_same_in_every_checkout() {
    let run = run_ok(&fresh(false)).await;
    let code = &run.resource(FUNCTION, "relay-function").inputs["code"];
    assert_eq!(code[engine::SIG], engine::ARCHIVE_SIG, "{code}");
    // Relative to the program's directory (`infra/`), where the engine reads it from.
    assert_eq!(code["path"], "../target/lambda-arm64/handler/bootstrap.zip");
}

#[tokio::test]
async fn the_code_is_an_archive_of_an_executable_arm64_bootstrap() {
    let run = run_ok(&fresh(false)).await;
    let code = &run.resource(FUNCTION, "relay-function").inputs["code"];
    let path = workspace()
        .join("infra")
        .join(code["path"].as_str().unwrap());
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
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
async fn the_build_is_reported_to_the_cli_as_it_happens() {
    let run = run_ok(&fresh(false)).await;
    let kept = run.diagnostics();
    let started = kept
        .iter()
        .position(|m| m.starts_with("building the Lambda zip for arm64 with cargo lambda"))
        .unwrap_or_else(|| panic!("no build message in {kept:?}"));
    let built = kept
        .iter()
        .position(|m| m.starts_with("built the Lambda zip for arm64 in "))
        .unwrap_or_else(|| panic!("no build result in {kept:?}"));
    assert!(started < built);
    // The result names the hash the engine computed for the archive.
    let code = &run.resource(FUNCTION, "relay-function").inputs["code"];
    let hash = code["hash"].as_str().unwrap();
    assert!(
        kept[built].ends_with(&format!("sha256 {hash}")),
        "{}",
        kept[built]
    );
    // Cargo's own progress is shown as the stack's passing status, not kept.
    assert!(
        run.logs
            .iter()
            .any(|log| log.ephemeral && log.message.starts_with("cargo lambda build: ")),
        "{:?}",
        run.logs
    );
    assert!(
        run.logs.iter().all(|log| log.severity == "INFO"),
        "{:?}",
        run.logs
    );
}

#[tokio::test]
async fn gestalt_sends_no_dependencies_so_deletes_have_no_order() {
    // Why the README's "Removal" destroys the API first: the engine only knows what is sent.
    let run = run_ok(&fresh(false)).await;
    for r in &run.registrations {
        assert!(r.dependencies.is_empty(), "{} {}", r.type_, r.name);
    }
    // The URN the README's `pulumi destroy --target` names.
    assert_eq!(
        run.resource("aws:apigatewayv2/api:Api", "http-api").urn,
        "urn:pulumi:dev::pulumi-webhook-relay::aws:apigatewayv2/api:Api::http-api"
    );
}

#[tokio::test]
async fn the_api_routes_get_and_post_to_the_function_through_a_v2_proxy_integration() {
    let run = run_ok(&fresh(false)).await;
    let api = run.resource("aws:apigatewayv2/api:Api", "http-api");
    assert_eq!(api.inputs["protocolType"], "HTTP");
    let function = run.resource(FUNCTION, "relay-function");
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
        BTreeSet::from([
            ("GET /".into(), target.clone()),
            ("GET /status".into(), target.clone()),
            ("POST /".into(), target.clone()),
            // The Slack app's slash command and buttons (ChatOps), whether it is on or not.
            ("POST /slack/commands".into(), target.clone()),
            ("POST /slack/interactions".into(), target)
        ])
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
    let run = run_ok(&fresh(false)).await;
    let api = run.resource("aws:apigatewayv2/api:Api", "http-api");
    let function = run.resource(FUNCTION, "relay-function");
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
    let run = run_ok(&fresh(false)).await;
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
    assert_eq!(statements.len(), 4, "{policy}");
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
    for other in [&statements[..2], &statements[3..]].concat() {
        assert!(!other.to_string().contains("dynamodb"), "{other}");
    }
    // The fourth, its queues: tests/tests/infra_queues.rs.
    assert_eq!(statements[3]["Sid"], "SendToOwnQueues");

    let function = run.resource(FUNCTION, "relay-function");
    assert_eq!(function.inputs["role"], role.outputs["arn"]);
}

#[tokio::test]
async fn the_state_table_is_on_demand_keyed_by_pk_and_expires_items_by_ttl() {
    for preview in [false, true] {
        let run = run_ok(&fresh(preview)).await;
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
    let run = run_ok(&fresh(false)).await;
    let table = run.resource("aws:dynamodb/table:Table", "state-table");
    let function = run.resource(FUNCTION, "relay-function");
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
    assert!(position("aws:dynamodb/table:Table") < position(FUNCTION));
}

#[tokio::test]
async fn the_function_runs_the_relay_with_its_settings_but_never_the_token() {
    let run = run_ok(&fresh(false)).await;
    let function = run.resource(FUNCTION, "relay-function");
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
    // `routes` at its default (`[]`) is no routes at all.
    assert!(variables.get("ROUTES").is_none(), "no routes configured");
    let logs = run.resource("aws:cloudwatch/logGroup:LogGroup", "function-logs");
    assert_eq!(inputs["loggingConfig"]["logGroup"], logs.outputs["name"]);
    assert_eq!(logs.inputs["retentionInDays"], 14.0);
}

#[tokio::test]
async fn a_prebuilt_handler_zip_is_deployed_as_given() {
    let built = run_ok(&fresh(false)).await;
    let code = &built.resource(FUNCTION, "relay-function").inputs["code"];
    // A copy elsewhere in the project, as a user would point at one they built.
    let copy = workspace().join("target/prebuilt-bootstrap.zip");
    std::fs::copy(
        workspace()
            .join("infra")
            .join(code["path"].as_str().unwrap()),
        &copy,
    )
    .unwrap();
    let run = run_ok(&with(
        fresh(false),
        "handlerZip",
        "target/prebuilt-bootstrap.zip",
    ))
    .await;
    let given = &run.resource(FUNCTION, "relay-function").inputs["code"];
    assert_eq!(given["path"], "../target/prebuilt-bootstrap.zip");
    assert_eq!(given["hash"], code["hash"]);
    assert!(
        !run.diagnostics().iter().any(|m| m.contains("building")),
        "nothing is built: {:?}",
        run.diagnostics()
    );
}

#[tokio::test]
async fn routes_reach_the_function_as_compact_json_the_relay_accepts() {
    // As the language host passes structured config (`pulumi config set --path 'routes[0].…'`
    // or a JSON string): one JSON string under the key.
    let rules = json!([
        {"name": "dev previews", "stack": "dev-*", "kinds": ["stack_preview"], "mute": true},
        {"name": "prod failures", "stack": "*-prod", "events": ["update_failed", "drift_detected"],
         "channel": "#alerts", "mention": "<!subteam^S0ONCALL1>"},
    ]);
    for program in [
        with(
            fresh(false),
            "routes",
            &serde_json::to_string_pretty(&rules).unwrap(),
        ),
        {
            let mut program = fresh(false);
            program.config.insert(
                "routes".into(),
                relay_tests::cli_config::StackValue::Structured(rules.clone()),
            );
            program
        },
    ] {
        let run = run_ok(&program).await;
        let function = run.resource(FUNCTION, "relay-function");
        let routes = function.inputs["environment"]["variables"]["ROUTES"]
            .as_str()
            .expect("ROUTES is set");
        assert!(!routes.contains('\n'), "compact: {routes}");
        assert_eq!(serde_json::from_str::<Value>(routes).unwrap(), rules);
        let parsed =
            relay_core::channel_rules::ChannelRules::parse(routes).expect("the relay accepts it");
        assert_eq!(
            parsed.names().collect::<Vec<_>>(),
            ["dev previews", "prod failures"]
        );
    }
}

/// A zip whose `bootstrap` starts like an ELF executable for `machine`: all the program reads of a
/// prebuilt `handlerZip` (so that no test builds the handler for a second architecture).
fn prebuilt_zip(name: &str, machine: u16) -> String {
    let mut elf = vec![0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[18..20].copy_from_slice(&machine.to_le_bytes());
    let relative = format!("target/{name}");
    let file = std::fs::File::create(workspace().join(&relative)).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    std::io::Write::write_all(&mut zip, &elf).unwrap();
    zip.finish().unwrap();
    relative
}

#[tokio::test]
async fn x86_64_is_deployed_when_chosen() {
    let zip = prebuilt_zip("x86_64-bootstrap.zip", 62);
    let program = with(
        with(fresh(false), "architecture", "x86_64"),
        "handlerZip",
        &zip,
    );
    let run = run_ok(&program).await;
    let function = run.resource(FUNCTION, "relay-function");
    assert_eq!(function.inputs["architectures"], json!(["x86_64"]));
}

#[tokio::test]
async fn the_program_refuses_a_handler_zip_of_the_other_architecture() {
    let zip = prebuilt_zip("x86_64-bootstrap-for-arm.zip", 62);
    assert_refused(
        with(fresh(false), "handlerZip", &zip),
        &format!(
            "error: config `handlerZip` is \"{zip}\", but its bootstrap is built for x86_64 and \
             `architecture` is arm64 (build it with `cargo lambda build --output-format zip \
             --arm64`, or set `architecture` to x86_64): run `pulumi config set handlerZip \
             target/lambda/handler/bootstrap.zip`"
        ),
    )
    .await;
}

#[tokio::test]
async fn the_token_and_webhook_secret_never_travel_in_plain_text() {
    for preview in [false, true] {
        let program = with_secret(fresh(preview), "webhookSecret", WEBHOOK_SECRET);
        let program = with_secret(program, "pulumiAccessToken", PULUMI_TOKEN);
        let program = with_secret(program, "slackSigningSecret", SIGNING_SECRET);
        let run = run_ok(&program).await;
        for secret in [TOKEN, WEBHOOK_SECRET, PULUMI_TOKEN, SIGNING_SECRET] {
            for request in &run.requests {
                let leaks = plaintext_occurrences(request, secret);
                assert!(
                    leaks.is_empty(),
                    "plaintext secret at {leaks:?} in {}",
                    request["call"]
                );
            }
            // Not in what the engine answered or recorded, nor in the exports.
            for r in &run.registrations {
                for (what, value) in [
                    ("inputs", &r.inputs),
                    ("outputs", &r.outputs),
                    ("answered", &r.answered),
                ] {
                    let leaks = plaintext_occurrences(value, secret);
                    assert!(leaks.is_empty(), "{} {} {what} {leaks:?}", r.type_, r.name);
                }
            }
            if let Some(exports) = &run.stack_outputs {
                assert!(plaintext_occurrences(exports, secret).is_empty());
            }
            assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
        }
        let signing = &run.resource(PARAMETER, "slack-signing-secret").inputs;
        assert!(is_secret(&signing["value"]), "{}", signing["value"]);
        assert_eq!(signing["type"], "SecureString");
        if !preview {
            assert_eq!(reveal(&signing["value"]), SIGNING_SECRET);
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

const PULUMI_TOKEN: &str = "pul-0123456789abcdefSECRETPULUMITOKEN";
const SIGNING_SECRET: &str = "8f742231b10e8888SECRETSLACKSIGNING";
const PARAMETER: &str = "aws:ssm/parameter:Parameter";

/// The resources the role's `ssm:GetParameter` statement grants.
fn readable_parameters(run: &Run, role: &str) -> BTreeSet<String> {
    let role = run.resource("aws:iam/role:Role", role);
    let inline = role.inputs["inlinePolicies"].as_array().unwrap();
    let policy: Value = serde_json::from_str(inline[0]["policy"].as_str().unwrap()).unwrap();
    let statements: Vec<&Value> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s.to_string().contains("ssm:"))
        .collect();
    assert_eq!(statements.len(), 1, "one statement grants SSM: {policy}");
    assert_eq!(statements[0]["Sid"], "ReadOwnSecrets");
    assert_eq!(statements[0]["Action"], "ssm:GetParameter");
    statements[0]["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn arn(run: &Run, parameter: &str) -> String {
    run.resource(PARAMETER, parameter).outputs["arn"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_pulumi_access_token_is_a_secure_string_both_functions_are_told_of_and_may_read() {
    for preview in [false, true] {
        let run = run_ok(&with_secret(
            fresh(preview),
            "pulumiAccessToken",
            PULUMI_TOKEN,
        ))
        .await;
        let mut expected = expected_types();
        expected.remove(&(PARAMETER.to_owned(), 2));
        expected.insert((PARAMETER.to_owned(), 3));
        assert_eq!(types(&run), expected);
        let parameter = run.resource(PARAMETER, "pulumi-access-token");
        assert_eq!(parameter.inputs["type"], "SecureString");
        assert_eq!(
            parameter.inputs["name"],
            "/pulumi-webhook-relay/dev/pulumi-access-token"
        );
        assert_eq!(parameter.inputs["tags"]["app"], "pulumi-webhook-relay");
        assert!(
            is_secret(&parameter.inputs["value"]),
            "{}",
            parameter.inputs["value"]
        );

        // Nowhere in plain text: not in what the program sent, not in what the engine answered
        // or recorded, not in the exports, not in the program's output.
        for request in &run.requests {
            let leaks = plaintext_occurrences(request, PULUMI_TOKEN);
            assert!(
                leaks.is_empty(),
                "plaintext token at {leaks:?} in {}",
                request["call"]
            );
        }
        for r in &run.registrations {
            for (what, value) in [
                ("inputs", &r.inputs),
                ("outputs", &r.outputs),
                ("answered", &r.answered),
            ] {
                let leaks = plaintext_occurrences(value, PULUMI_TOKEN);
                assert!(leaks.is_empty(), "{} {} {what} {leaks:?}", r.type_, r.name);
            }
        }
        if let Some(exports) = &run.stack_outputs {
            assert!(plaintext_occurrences(exports, PULUMI_TOKEN).is_empty());
        }
        assert!(!run.stdout.contains(PULUMI_TOKEN) && !run.stderr.contains(PULUMI_TOKEN));
        if preview {
            continue;
        }
        assert_eq!(reveal(&parameter.inputs["value"]), PULUMI_TOKEN);
        // Both functions render messages, so both are told where it is (never the token).
        for function in ["relay-function", "worker-function"] {
            let variables = &run.resource(FUNCTION, function).inputs["environment"]["variables"];
            assert_eq!(
                variables["PULUMI_ACCESS_TOKEN_PARAMETER"], parameter.outputs["name"],
                "{function}"
            );
            assert!(variables.get("PULUMI_ACCESS_TOKEN").is_none(), "{function}");
        }
        // Each role may read exactly it on top of what it reads without it.
        let pulumi_token = arn(&run, "pulumi-access-token");
        assert_eq!(
            readable_parameters(&run, "relay-role"),
            BTreeSet::from([
                arn(&run, "slack-token"),
                arn(&run, "webhook-secret"),
                pulumi_token.clone()
            ])
        );
        assert_eq!(
            readable_parameters(&run, "worker-role"),
            BTreeSet::from([arn(&run, "slack-token"), pulumi_token])
        );
    }
}

#[tokio::test]
async fn without_a_pulumi_access_token_nothing_is_created_or_granted_for_it() {
    // `fresh` leaves it at Pulumi.yaml's default, `""`, as the CLI passes it.
    let run = run_ok(&fresh(false)).await;
    assert_eq!(types(&run), expected_types());
    assert!(
        run.of_type(PARAMETER)
            .iter()
            .all(|p| p.name != "pulumi-access-token"
                && !p.inputs["name"].to_string().contains("pulumi-access-token")),
        "no parameter for it"
    );
    for function in ["relay-function", "worker-function"] {
        let variables = &run.resource(FUNCTION, function).inputs["environment"]["variables"];
        assert!(
            variables.get("PULUMI_ACCESS_TOKEN_PARAMETER").is_none()
                && variables.get("PULUMI_ACCESS_TOKEN").is_none(),
            "{function}: {variables}"
        );
    }
    assert_eq!(
        readable_parameters(&run, "relay-role"),
        BTreeSet::from([arn(&run, "slack-token"), arn(&run, "webhook-secret")])
    );
    assert_eq!(
        readable_parameters(&run, "worker-role"),
        BTreeSet::from([arn(&run, "slack-token")])
    );
    // Set to blanks as a secret, it is unset too.
    let blank = run_ok(&with_secret(fresh(false), "pulumiAccessToken", " ")).await;
    assert_eq!(types(&blank), expected_types());
}

#[tokio::test]
async fn the_program_refuses_a_pulumi_access_token_set_without_secret() {
    assert_refused(
        with(fresh(false), "pulumiAccessToken", PULUMI_TOKEN),
        "error: config `pulumiAccessToken` must be a secret: run `pulumi config set pulumiAccessToken <value> --secret` (and rotate it: it was stored in plain text)",
    )
    .await;
}

/// `program` with what turns ChatOps on: the Pulumi access token and the Slack signing secret.
fn with_chatops_secrets(program: Program) -> Program {
    with_secret(
        with_secret(program, "pulumiAccessToken", PULUMI_TOKEN),
        "slackSigningSecret",
        SIGNING_SECRET,
    )
}

#[tokio::test]
async fn a_slack_signing_secret_is_a_secure_string_only_the_relay_is_told_of_and_may_read() {
    for preview in [false, true] {
        let run = run_ok(&with_chatops_secrets(fresh(preview))).await;
        // Its parameter and the Pulumi access token's.
        let mut expected = expected_types();
        expected.remove(&(PARAMETER.to_owned(), 2));
        expected.insert((PARAMETER.to_owned(), 4));
        assert_eq!(types(&run), expected);
        let parameter = run.resource(PARAMETER, "slack-signing-secret");
        assert_eq!(parameter.inputs["type"], "SecureString");
        assert_eq!(
            parameter.inputs["name"],
            "/pulumi-webhook-relay/dev/slack-signing-secret"
        );
        assert_eq!(parameter.inputs["tags"]["app"], "pulumi-webhook-relay");
        assert!(
            is_secret(&parameter.inputs["value"]),
            "{}",
            parameter.inputs["value"]
        );
        if preview {
            assert_eq!(run.export("slackCommandsUrl"), Some(&json!(UNKNOWN)));
            continue;
        }
        assert_eq!(reveal(&parameter.inputs["value"]), SIGNING_SECRET);
        // The relay answers Slack's requests, so it is told where the secret is (never the
        // secret); the worker answers none and is told nothing of it.
        let relay = &run.resource(FUNCTION, "relay-function").inputs["environment"]["variables"];
        assert_eq!(
            relay["SLACK_SIGNING_SECRET_PARAMETER"],
            parameter.outputs["name"]
        );
        let worker = &run.resource(FUNCTION, "worker-function").inputs["environment"]["variables"];
        assert!(
            worker.get("SLACK_SIGNING_SECRET_PARAMETER").is_none(),
            "{worker}"
        );
        // It is told ChatOps is on, so that what it retries gets the same buttons.
        assert_eq!(worker["CHATOPS_BUTTONS"], "on", "{worker}");
        assert!(relay.get("CHATOPS_BUTTONS").is_none(), "{relay}");
        for variables in [relay, worker] {
            assert!(
                variables.get("SLACK_SIGNING_SECRET").is_none(),
                "{variables}"
            );
        }
        // Only the relay's role may read it.
        let signing_secret = arn(&run, "slack-signing-secret");
        let pulumi_token = arn(&run, "pulumi-access-token");
        assert_eq!(
            readable_parameters(&run, "relay-role"),
            BTreeSet::from([
                arn(&run, "slack-token"),
                arn(&run, "webhook-secret"),
                pulumi_token.clone(),
                signing_secret
            ])
        );
        assert_eq!(
            readable_parameters(&run, "worker-role"),
            BTreeSet::from([arn(&run, "slack-token"), pulumi_token])
        );
        // The Slack app's Request URLs, on the stack's URL.
        let url = run.export("url").unwrap().as_str().unwrap().to_owned();
        assert!(url.ends_with('/'), "{url}");
        assert_eq!(
            run.export("slackCommandsUrl"),
            Some(&json!(format!("{url}slack/commands")))
        );
        assert_eq!(
            run.export("slackInteractionsUrl"),
            Some(&json!(format!("{url}slack/interactions")))
        );
    }
}

#[tokio::test]
async fn without_a_slack_signing_secret_nothing_is_created_granted_or_exported_for_it() {
    // `fresh` leaves it at Pulumi.yaml's default, `""`, as the CLI passes it; with the Pulumi
    // access token alone, ChatOps is off too.
    for program in [
        fresh(false),
        with_secret(fresh(false), "pulumiAccessToken", PULUMI_TOKEN),
    ] {
        let run = run_ok(&program).await;
        assert!(
            run.of_type(PARAMETER)
                .iter()
                .all(|p| p.name != "slack-signing-secret"
                    && !p.inputs["name"].to_string().contains("signing")),
            "no parameter for it"
        );
        for function in ["relay-function", "worker-function"] {
            let variables = &run.resource(FUNCTION, function).inputs["environment"]["variables"];
            for name in [
                "SLACK_SIGNING_SECRET_PARAMETER",
                "SLACK_SIGNING_SECRET",
                "CHATOPS",
                "CHATOPS_BUTTONS",
            ] {
                assert!(variables.get(name).is_none(), "{function}: {variables}");
            }
        }
        assert!(
            !readable_parameters(&run, "relay-role")
                .iter()
                .any(|a| a.contains("signing"))
        );
        assert_eq!(run.export("slackCommandsUrl"), None);
        assert_eq!(run.export("slackInteractionsUrl"), None);
    }
    // Set to blanks as a secret, it is unset too.
    let blank = run_ok(&with_secret(fresh(false), "slackSigningSecret", " ")).await;
    assert_eq!(types(&blank), expected_types());
}

#[tokio::test]
async fn the_program_refuses_a_slack_signing_secret_set_without_secret() {
    assert_refused(
        with(
            with_secret(fresh(false), "pulumiAccessToken", PULUMI_TOKEN),
            "slackSigningSecret",
            SIGNING_SECRET,
        ),
        "error: config `slackSigningSecret` must be a secret: run `pulumi config set slackSigningSecret <value> --secret` (and rotate it: it was stored in plain text)",
    )
    .await;
}

#[tokio::test]
async fn the_program_refuses_a_slack_signing_secret_without_a_pulumi_access_token() {
    assert_refused(
        with_secret(fresh(false), "slackSigningSecret", SIGNING_SECRET),
        "error: config `slackSigningSecret` needs `pulumiAccessToken` (a secret): the relay's Slack endpoints act through Pulumi Cloud and are off without it; `pulumiAccessToken` is not set: run `pulumi config set pulumiAccessToken <token> --secret`, or `pulumi config rm slackSigningSecret` to leave ChatOps off",
    )
    .await;
}

#[tokio::test]
async fn chatops_rules_reach_the_relay_as_compact_json_it_accepts() {
    let rules = json!([
        {"name": "oncall", "groups": ["S0ONCALL1"], "operations": ["status", "preview", "up"],
         "stack": "*-prod"},
        {"name": "devs", "users": ["U0DEV0001", "W0DEV0002"], "operations": ["status", "refresh"],
         "organization": "acme"},
    ]);
    // A JSON string, and structured (`pulumi config set --path 'chatops[0].users[0]' U…`).
    for program in [
        with(
            with_chatops_secrets(fresh(false)),
            "chatops",
            &serde_json::to_string_pretty(&rules).unwrap(),
        ),
        {
            let mut program = with_chatops_secrets(fresh(false));
            program.config.insert(
                "chatops".into(),
                relay_tests::cli_config::StackValue::Structured(rules.clone()),
            );
            program
        },
    ] {
        let run = run_ok(&program).await;
        let relay = &run.resource(FUNCTION, "relay-function").inputs["environment"]["variables"];
        let chatops = relay["CHATOPS"].as_str().expect("CHATOPS is set");
        assert!(!chatops.contains('\n'), "compact: {chatops}");
        assert_eq!(serde_json::from_str::<Value>(chatops).unwrap(), rules);
        let parsed =
            relay_core::chatops::ChatopsRules::parse(chatops).expect("the relay accepts it");
        let stack = relay_core::stack::StackRef::parse("acme/web/web-prod", None).unwrap();
        assert_eq!(
            parsed.allowing(
                "U0DEV0001",
                &[],
                relay_core::chatops::Operation::Refresh,
                &stack
            ),
            Some("devs")
        );
        // Routes are not where they go, and the worker, which answers no request, has neither.
        assert!(relay.get("ROUTES").is_none(), "{relay}");
        let worker = &run.resource(FUNCTION, "worker-function").inputs["environment"]["variables"];
        assert!(worker.get("CHATOPS").is_none(), "{worker}");
    }
    // An empty list is no rules at all: no variable.
    let run = run_ok(&with(with_chatops_secrets(fresh(false)), "chatops", "[]")).await;
    let relay = &run.resource(FUNCTION, "relay-function").inputs["environment"]["variables"];
    assert!(relay.get("CHATOPS").is_none(), "{relay}");
}

#[tokio::test]
async fn the_program_refuses_an_invalid_chatops_rule_naming_it() {
    let program = with(
        with_chatops_secrets(fresh(false)),
        "chatops",
        r#"[{"name": "devs", "users": ["U0DEV0001"], "operations": ["status"]},
            {"name": "oncall", "users": ["@alice"], "operations": ["up"]}]"#,
    );
    let run = engine::run(&program).await;
    assert!(!run.success);
    assert!(run.registrations.is_empty(), "nothing is registered");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert!(
        error.starts_with(
            "error: config `chatops` is not valid: rule \"oncall\" (chatops[1]): `users` has \"@alice\", which is not a Slack user ID"
        ),
        "{error}"
    );
    assert!(
        error.ends_with(
            "(see \"ChatOps\" in the README; `pulumi config get chatops` shows the rules)"
        ),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "one line: {error}");
}

#[tokio::test]
async fn the_program_refuses_chatops_rules_without_the_secrets_that_turn_them_on() {
    let rules = r#"[{"name": "oncall", "users": ["U0123ABCD"], "operations": ["status"]}]"#;
    assert_refused(
        with(fresh(false), "chatops", rules),
        "error: config `chatops` needs `slackSigningSecret` and `pulumiAccessToken` (secrets): without both the relay's Slack endpoints are off and its rules allow nothing; `slackSigningSecret` and `pulumiAccessToken` are not set: run `pulumi config set slackSigningSecret <signing secret> --secret` (the Slack app's \"Basic Information\" page shows it) and `pulumi config set pulumiAccessToken <token> --secret`, or `pulumi config rm chatops` to leave ChatOps off",
    )
    .await;
    assert_refused(
        with(
            with_secret(fresh(false), "pulumiAccessToken", PULUMI_TOKEN),
            "chatops",
            rules,
        ),
        "error: config `chatops` needs `slackSigningSecret` and `pulumiAccessToken` (secrets): without both the relay's Slack endpoints are off and its rules allow nothing; `slackSigningSecret` is not set: run `pulumi config set slackSigningSecret <signing secret> --secret` (the Slack app's \"Basic Information\" page shows it), or `pulumi config rm chatops` to leave ChatOps off",
    )
    .await;
}

#[tokio::test]
async fn the_program_refuses_secret_chatops_rules() {
    let mut program = with_chatops_secrets(fresh(false));
    program.config.insert(
        "chatops".into(),
        relay_tests::cli_config::StackValue::Secret(
            r#"[{"name": "oncall", "users": ["U0123ABCD"], "operations": ["status"]}]"#.into(),
        ),
    );
    assert_refused(
        program,
        "error: config `chatops` must not be a secret: the Lambda reads it from a plain environment variable (Slack IDs are not secrets); set it again without --secret",
    )
    .await;
}

#[tokio::test]
async fn without_a_webhook_secret_a_generated_one_is_stored_and_exported_as_a_secret() {
    let run = run_ok(&fresh(false)).await;
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
    let run = run_ok(&fresh(false)).await;
    let stage = run.resource("aws:apigatewayv2/stage:Stage", "default-stage");
    let url = run.export("url").unwrap();
    assert_eq!(url, &stage.outputs["invokeUrl"]);
    assert!(url.as_str().unwrap().starts_with("https://"));
    let function = run.resource(FUNCTION, "relay-function");
    assert_eq!(run.export("functionName"), Some(&function.outputs["name"]));
    let logs = run.resource("aws:cloudwatch/logGroup:LogGroup", "function-logs");
    assert_eq!(run.export("logGroupName"), Some(&logs.outputs["name"]));
}

/// Runs `program` and asserts that the first (and only) error the user sees is `message`, and
/// that nothing was registered.
async fn assert_refused(program: Program, message: &str) {
    let run = engine::run(&program).await;
    assert!(!run.success);
    assert_eq!(run.errors(), [message.to_owned()], "{}", run.stderr);
    assert!(run.registrations.is_empty(), "nothing is registered");
}

#[tokio::test]
async fn the_cli_refuses_a_stack_without_the_token() {
    let mut program = fresh(false);
    program.config.remove("slackToken");
    assert_refused(
        program,
        "error: validating stack config: Stack 'dev' is missing configuration value 'slackToken'",
    )
    .await;
}

#[tokio::test]
async fn the_cli_names_every_missing_key_at_once() {
    let mut program = fresh(false);
    program.config.clear();
    assert_refused(
        program,
        "error: validating stack config: Stack 'dev' is missing configuration values 'slackChannel' and 'slackToken'",
    )
    .await;
}

#[tokio::test]
async fn the_cli_refuses_a_token_set_without_secret() {
    assert_refused(
        with(fresh(false), "slackToken", TOKEN),
        "error: validating stack config: Stack 'dev' with configuration key 'slackToken' must be encrypted as it's secret",
    )
    .await;
}

#[tokio::test]
async fn the_cli_refuses_a_retention_that_is_not_an_integer() {
    assert_refused(
        with(fresh(false), "logRetentionDays", "two weeks"),
        "error: validating stack config: Stack 'dev' with configuration key 'logRetentionDays' must be of type 'integer'",
    )
    .await;
}

#[tokio::test]
async fn the_program_refuses_a_webhook_secret_set_without_secret() {
    // Untyped in Pulumi.yaml (a typed secret cannot have the default an optional key needs), so
    // the CLI lets it through and the program says it.
    assert_refused(
        with(fresh(false), "webhookSecret", WEBHOOK_SECRET),
        "error: config `webhookSecret` must be a secret: run `pulumi config set webhookSecret <value> --secret` (and rotate it: it was stored in plain text)",
    )
    .await;
}

#[tokio::test]
async fn the_program_refuses_an_unknown_architecture() {
    assert_refused(
        with(fresh(false), "architecture", "arm"),
        "error: config `architecture` is \"arm\", but it must be arm64 or x86_64: run `pulumi config set architecture arm64`",
    )
    .await;
}

#[tokio::test]
async fn the_program_refuses_a_retention_cloudwatch_rejects() {
    let run = engine::run(&with(fresh(false), "logRetentionDays", "10")).await;
    assert!(!run.success);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "error: config `logRetentionDays` is \"10\", but CloudWatch Logs only keeps logs for one of"
        ),
        "{errors:?}"
    );
    assert!(errors[0].ends_with("run `pulumi config set logRetentionDays 14`"));
    assert!(run.registrations.is_empty());
}

#[tokio::test]
async fn the_program_refuses_a_missing_handler_zip() {
    assert_refused(
        with(fresh(false), "handlerZip", "nope/bootstrap.zip"),
        "error: config `handlerZip` is \"nope/bootstrap.zip\", but no such file: run `pulumi config set handlerZip target/lambda/handler/bootstrap.zip`",
    )
    .await;
}

#[tokio::test]
async fn the_program_refuses_an_invalid_rule_naming_it() {
    assert_refused(
        with(
            fresh(false),
            "routes",
            r##"[{"name": "prod", "stack": "*-prod", "channel": "#alerts"},
                 {"name": "pager", "events": ["update_failed"], "mention": "@oncall"}]"##,
        ),
        "error: config `routes` is not valid: rule \"pager\" (routes[1]): `mention` \"@oncall\" would not notify anyone in Slack: use @here, @channel, <!subteam^S…> (a user group, by ID) or <@U…> (a user, by ID) (see \"Routing\" in the README; `pulumi config get routes` shows the rules)",
    )
    .await;
}

/// `program` with `registerWebhook` set as `pulumi config set --path` leaves it: one JSON object.
fn with_registration(program: Program, registration: Value) -> Program {
    with(program, "registerWebhook", &registration.to_string())
}

#[tokio::test]
async fn a_registered_webhook_sends_the_stack_url_signed_with_the_stack_secret() {
    let program = with_secret(
        with_registration(
            fresh(false),
            json!({
                "pulumiOrganization": "acme", "project": "website", "stack": "prod",
                "filters": ["update_failed", "drift_detected"], "groups": ["deployments"],
            }),
        ),
        "webhookSecret",
        WEBHOOK_SECRET,
    );
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
async fn the_webhook_is_registered_only_once_requests_to_the_url_reach_the_function() {
    // Pulumi Cloud does not retry a delivery, so none may go to a URL with nothing behind it.
    let registration = json!({"scope": "organization", "pulumiOrganization": "acme"});
    let run = run_ok(&with_registration(fresh(false), registration)).await;
    let position = |type_: &str, name: &str| {
        run.registrations
            .iter()
            .position(|r| r.type_ == type_ && r.name == name)
            .unwrap()
    };
    let webhook = position(WEBHOOK, "pulumi-cloud-webhook");
    for (type_, name) in [
        ("aws:apigatewayv2/route:Route", "route-get"),
        ("aws:apigatewayv2/route:Route", "route-post"),
        ("aws:apigatewayv2/route:Route", "route-slack-commands"),
        ("aws:apigatewayv2/route:Route", "route-slack-interactions"),
        ("aws:lambda/permission:Permission", "api-invoke"),
        ("aws:apigatewayv2/stage:Stage", "default-stage"),
    ] {
        assert!(position(type_, name) < webhook, "{name} after the webhook");
    }
}

#[tokio::test]
async fn a_registered_webhook_uses_the_generated_secret_and_is_previewed_too() {
    let registration = json!({"scope": "organization", "pulumiOrganization": "acme"});
    let run = run_ok(&with_registration(fresh(false), registration.clone())).await;
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
    let preview = run_ok(&with_registration(fresh(true), registration)).await;
    let planned = preview.resource(WEBHOOK, "pulumi-cloud-webhook");
    assert_eq!(planned.inputs["payloadUrl"], UNKNOWN);
    assert_eq!(planned.inputs["organizationName"], "acme");
}

#[tokio::test]
async fn a_bad_webhook_filter_fails_pulumi_up_naming_the_field_and_value() {
    let program = with_registration(
        fresh(false),
        json!({"pulumiOrganization": "acme", "project": "website", "stack": "prod",
               "filters": ["update_failed", "update_failure"]}),
    );
    let run = engine::run(&program).await;
    assert!(!run.success);
    assert!(run.registrations.is_empty(), "nothing is registered");
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let error = &errors[0];
    assert!(
        error.starts_with(
            "error: config `registerWebhook.filters[1]` is \"update_failure\", which is not a Pulumi webhook filter; valid filters: stack_created,"
        ),
        "{error}"
    );
    assert!(
        error.contains("run `pulumi config set --path 'registerWebhook.filters[1]' update_failed`"),
        "{error}"
    );
    assert_eq!(error.lines().count(), 1, "one line: {error}");
}

#[tokio::test]
async fn a_stack_webhook_without_its_stack_fails_pulumi_up() {
    assert_refused(
        with(
            fresh(false),
            "registerWebhook",
            r#"{"pulumiOrganization": "acme", "project": "website"}"#,
        ),
        "error: config `registerWebhook.stack` is required with scope stack (the default): the stack whose events to relay, which is not guessed: run `pulumi config set --path registerWebhook.stack <stack>`, or `pulumi config set --path registerWebhook.scope organization` for every stack (see \"Register the webhook in Pulumi Cloud\" in the README; `pulumi config get registerWebhook` shows it)",
    )
    .await;
}

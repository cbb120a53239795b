//! The AWS resources of one relay stack, and the stack's exports.
//!
//! Creation order follows data flow, since Pulumi Gestalt sends the engine no dependency lists: a
//! resource is registered only once the outputs it uses are known, and everything that does not
//! need the Lambda zip (secrets, logs, role, table, API, stage) is registered while it builds. The
//! Pulumi Cloud webhook waits for the whole path (routes, integration, permission) so that no
//! delivery reaches a URL with nothing behind it.
//!
//! Every value computed from an output goes through [`crate::unknown::derive`], so that in a
//! preview it is unknown rather than a string built around the engine's unknown marker.
//!
//! Deletion has no order either (`pulumi destroy` deletes everything at once): the role's policy
//! is inline, the permission goes with the function and log groups and parameters stand alone,
//! but API Gateway refuses to delete an integration that a route still targets; the README
//! ("Removal") says how to destroy in two steps.

use std::collections::{BTreeMap, HashMap};

use relay_core::contract::{self, MAX_ENVIRONMENT_BYTES, env, state_table};

use pulumi_gestalt_providers_aws as aws;
use pulumi_gestalt_providers_pulumiservice as pulumiservice;
use pulumi_gestalt_providers_random as random;
use pulumi_gestalt_rust::{
    Context, Output, PulumiAny, RegisterResourceRequest, ResourceRequestObjectField, pulumi_any,
    pulumi_combine,
};

use crate::policy;
use crate::register::{Scope, WebhookRegistration};
use crate::settings::Settings;
use crate::unknown::derive;

/// Lambda's limit on function names.
const MAX_FUNCTION_NAME: usize = 64;

/// API Gateway stage throttling: generous for webhooks, a ceiling for abuse.
const THROTTLE_BURST: i32 = 50;
const THROTTLE_RATE: f64 = 25.0;

/// Resource names derived from the project and stack.
struct Names {
    /// `project-stack`, reduced to what every AWS name accepts.
    prefix: String,
    function: String,
    /// SSM parameter names, also handed to the function so it can read them.
    token_parameter: String,
    secret_parameter: String,
    /// The DynamoDB table of delivery state.
    state_table: String,
}

impl Names {
    fn new(project: &str, stack: &str) -> Names {
        let clean = |s: &str| -> String {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect()
        };
        let prefix = format!("{}-{}", clean(project), clean(stack));
        let mut function = format!("{prefix}-relay");
        function.truncate(MAX_FUNCTION_NAME);
        let parameter_path = format!("/{}/{}", clean(project), clean(stack));
        Names {
            token_parameter: format!("{parameter_path}/slack-token"),
            secret_parameter: format!("{parameter_path}/webhook-secret"),
            state_table: format!("{prefix}-state"),
            prefix,
            function,
        }
    }
}

/// Declares the stack; `code` is the function's archive (known once the zip is built).
pub fn declare(ctx: &Context, settings: &Settings, code: &Output<PulumiAny>) -> anyhow::Result<()> {
    let names = Names::new(ctx.get_project(), ctx.get_stack());
    let tags: HashMap<String, String> = [
        ("app".to_owned(), "pulumi-webhook-relay".to_owned()),
        ("pulumi-project".to_owned(), ctx.get_project().to_owned()),
        ("pulumi-stack".to_owned(), ctx.get_stack().to_owned()),
    ]
    .into();

    // Secrets: the token always comes from config; the webhook secret too, or is generated once
    // and kept in state (a RandomPassword keeps its value across updates).
    let slack_token = ctx.require_config_secret(None, crate::settings::keys::SLACK_TOKEN)?;
    let webhook_secret: Output<String> = if settings.has_webhook_secret {
        ctx.require_config_secret(None, crate::settings::keys::WEBHOOK_SECRET)?
    } else {
        random::random_password::create(
            ctx,
            "webhook-secret",
            random::random_password::RandomPasswordArgs::builder()
                .length(48)
                .special(false)
                .build_struct(),
        )
        .result
        .secret()
    };

    let token_parameter = secure_parameter(
        ctx,
        "slack-token",
        &names.token_parameter,
        "Slack bot token of the Pulumi webhook relay",
        slack_token,
        &tags,
    );
    let secret_parameter = secure_parameter(
        ctx,
        "webhook-secret",
        &names.secret_parameter,
        "Shared secret Pulumi Cloud signs webhooks with",
        webhook_secret.clone(),
        &tags,
    );

    let function_logs = log_group(
        ctx,
        "function-logs",
        &format!("/aws/lambda/{}", names.function),
        settings,
        &tags,
    );
    let access_logs = log_group(
        ctx,
        "access-logs",
        &format!("/aws/apigateway/{}", names.prefix),
        settings,
        &tags,
    );

    let environment = environment_bytes(settings, &names);
    if environment > MAX_ENVIRONMENT_BYTES {
        anyhow::bail!(
            "the Lambda's environment variables would take {environment} bytes, but AWS allows \
             {MAX_ENVIRONMENT_BYTES} in all: shorten `routes` (fewer rules, shorter names) or the \
             project and stack names"
        );
    }
    let state_table = state_table(ctx, &names, &tags);

    let policy = derive(
        &pulumi_combine!(
            function_logs.arn.clone(),
            token_parameter.clone(),
            secret_parameter.clone(),
            state_table.arn.clone()
        ),
        |(logs, token, secret, table)| policy::relay_permissions(&logs, &[token, secret], &table),
    );
    let permissions = policy.map(|policy| {
        Some(vec![
            aws::types::iam::RoleInlinePolicy::builder()
                .name("relay".to_owned())
                .policy(policy)
                .build_struct(),
        ])
    });
    let role = aws::iam::role::create(
        ctx,
        "relay-role",
        aws::iam::role::RoleArgs::builder()
            .assume_role_policy(policy::lambda_assume_role())
            .description("Runs the Pulumi webhook relay Lambda".to_owned())
            .inline_policies(permissions)
            .tags(tags.clone())
            .build_struct(),
    );

    let function = lambda_function(
        ctx,
        &names,
        settings,
        code,
        Wiring {
            role_arn: &role.arn,
            log_group: &function_logs.name,
            state_table: &state_table.name,
        },
        &tags,
    );
    let function_name: Output<String> = function.get_field("name");
    let invoke_arn: Output<String> = function.get_field("invokeArn");

    let api = aws::apigatewayv2::api::create(
        ctx,
        "http-api",
        aws::apigatewayv2::api::ApiArgs::builder()
            .name(names.prefix.clone())
            .protocol_type("HTTP".to_owned())
            .description("Receives Pulumi Cloud webhooks for the Slack relay".to_owned())
            .tags(tags.clone())
            .build_struct(),
    );
    let integration = aws::apigatewayv2::integration::create(
        ctx,
        "lambda-integration",
        aws::apigatewayv2::integration::IntegrationArgs::builder()
            .api_id(api.id.clone())
            .integration_type("AWS_PROXY".to_owned())
            .integration_uri(invoke_arn)
            .integration_method("POST".to_owned())
            .payload_format_version("2.0".to_owned())
            .timeout_milliseconds(30_000)
            .build_struct(),
    );
    let target = derive(&integration.id, |id| format!("integrations/{id}"));
    let routes: Vec<Output<String>> = [("route-get", "GET /"), ("route-post", "POST /")]
        .into_iter()
        .map(|(name, route_key)| {
            aws::apigatewayv2::route::create(
                ctx,
                name,
                aws::apigatewayv2::route::RouteArgs::builder()
                    .api_id(api.id.clone())
                    .route_key(route_key.to_owned())
                    .target(target.clone())
                    .build_struct(),
            )
            .id
        })
        .collect();
    let access_log_settings = access_logs.arn.map(|arn| {
        Some(
            aws::types::apigatewayv2::StageAccessLogSettings::builder()
                .destination_arn(arn)
                .format(access_log_format())
                .build_struct(),
        )
    });
    let stage = aws::apigatewayv2::stage::create(
        ctx,
        "default-stage",
        aws::apigatewayv2::stage::StageArgs::builder()
            .api_id(api.id.clone())
            .name("$default".to_owned())
            .auto_deploy(true)
            .default_route_settings(
                aws::types::apigatewayv2::StageDefaultRouteSettings::builder()
                    .throttling_burst_limit(THROTTLE_BURST)
                    .throttling_rate_limit(THROTTLE_RATE)
                    .build_struct(),
            )
            .access_log_settings(access_log_settings)
            .tags(tags.clone())
            .build_struct(),
    );
    let permission = aws::lambda::permission::create(
        ctx,
        "api-invoke",
        aws::lambda::permission::PermissionArgs::builder()
            .action("lambda:InvokeFunction".to_owned())
            .function(function_name.clone())
            .principal("apigateway.amazonaws.com".to_owned())
            .source_arn(derive(&api.execution_arn, |arn| format!("{arn}/*/*")))
            .build_struct(),
    );

    if let Some(registration) = &settings.register_webhook {
        // The URL once requests to it reach the function: routes, their integration (which
        // needs the function) and the permission exist.
        let serving = derive(
            &pulumi_combine!(
                stage.invoke_url.clone(),
                permission.id.clone(),
                routes[0].clone(),
                routes[1].clone()
            ),
            |(url, _, _, _)| url,
        );
        pulumi_cloud_webhook(ctx, registration, &serving, &webhook_secret)?;
    }

    // Before anything waits for the function (the exports below do), everything that does not
    // need the zip is registered, while it builds.
    settle(vec![
        token_parameter,
        secret_parameter,
        function_logs.arn.clone(),
        access_logs.arn.clone(),
        state_table.arn.clone(),
        role.arn.clone(),
        api.id.clone(),
        stage.invoke_url.clone(),
        webhook_secret.clone(),
    ]);
    // Exports last: `add_export` waits for its value, and the webhook above needs the URL too.
    ctx.add_export("url", &stage.invoke_url);
    ctx.add_export("functionName", &function_name);
    ctx.add_export("logGroupName", &function_logs.name);
    ctx.add_export("webhookSecret", &webhook_secret.secret());
    Ok(())
}

/// Waits until every one of `outputs` is known, resolving them together, which registers the
/// resources behind them at once.
///
/// Pulumi Gestalt 0.0.12 registers a resource only when something awaits it: `Context::add_export`
/// blocks the declaring thread until its value is known, driving just that value's chain, and the
/// rest waits for `ctx.finish()` (`crates/rust/src/native.rs` `add_export`, `crates/core/src/
/// engine.rs` `run`). An export that needs the function would therefore hold back every resource
/// not on its chain until the zip is built; settling them first lets them be created meanwhile.
fn settle(outputs: Vec<Output<String>>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime to wait for outputs");
    runtime.block_on(async {
        let mut waiting = tokio::task::JoinSet::new();
        for output in outputs {
            waiting.spawn(async move {
                output.resolve().await;
            });
        }
        while waiting.join_next().await.is_some() {}
    });
}

/// The relay's delivery state: one item per claimed webhook ID (exactly-once delivery) and per
/// deployment or preview (the Slack message later events edit or thread under). On-demand
/// billing: webhook traffic is bursty and tiny, so provisioned capacity would cost more idle
/// than all the requests. Items carry `expires_at` and DynamoDB's TTL deletes them; nothing is
/// kept long enough to need point-in-time recovery, and the default encryption (an AWS-owned
/// key) needs no KMS grant in the role.
fn state_table(
    ctx: &Context,
    names: &Names,
    tags: &HashMap<String, String>,
) -> aws::dynamodb::table::TableResult {
    aws::dynamodb::table::create(
        ctx,
        "state-table",
        aws::dynamodb::table::TableArgs::builder()
            .name(names.state_table.clone())
            .billing_mode("PAY_PER_REQUEST".to_owned())
            .hash_key(state_table::HASH_KEY.to_owned())
            .attributes(vec![
                aws::types::dynamodb::TableAttribute::builder()
                    .name(state_table::HASH_KEY.to_owned())
                    .type_("S".to_owned())
                    .build_struct(),
            ])
            .ttl(
                aws::types::dynamodb::TableTtl::builder()
                    .attribute_name(state_table::TTL_ATTRIBUTE.to_owned())
                    .enabled(true)
                    .build_struct(),
            )
            .tags(tags.clone())
            .build_struct(),
    )
}

/// The Pulumi Cloud webhook (`registerWebhook`) that sends this organization's or stack's events
/// to the relay: raw JSON, signed with the relay's own secret, to the stage's URL.
fn pulumi_cloud_webhook(
    ctx: &Context,
    registration: &WebhookRegistration,
    url: &Output<String>,
    webhook_secret: &Output<String>,
) -> anyhow::Result<()> {
    use pulumiservice::types::{WebhookFilters, WebhookFormat, WebhookGroup};
    fn members<T: pulumi_gestalt_rust::FromPulumiValue>(
        names: &[String],
        what: &str,
    ) -> anyhow::Result<Option<Vec<T>>> {
        if names.is_empty() {
            return Ok(None);
        }
        names
            .iter()
            .map(|name| {
                // `register::parse` checked the names against the same schema.
                pulumiservice::enum_member(name).ok_or_else(|| {
                    anyhow::anyhow!("{what} {name:?} is not in the pulumiservice schema")
                })
            })
            .collect::<anyhow::Result<Vec<T>>>()
            .map(Some)
    }
    let filters: Option<Vec<WebhookFilters>> = members(&registration.filters, "filter")?;
    let groups: Option<Vec<WebhookGroup>> = members(&registration.groups, "group")?;
    let (project, stack) = match &registration.scope {
        Scope::Organization => (None, None),
        Scope::Stack { project, stack } => (Some(project.clone()), Some(stack.clone())),
    };
    // Which relay sends it, as Pulumi Cloud's webhook list shows it.
    let display_name = format!("Slack relay ({}/{})", ctx.get_project(), ctx.get_stack());
    pulumiservice::webhook::create(
        ctx,
        "pulumi-cloud-webhook",
        pulumiservice::webhook::WebhookArgs::builder()
            .organization_name(registration.organization.clone())
            .project_name(project)
            .stack_name(stack)
            .display_name(display_name)
            .payload_url(url.clone())
            // Marked secret here, not only by the provider: Pulumi Gestalt sends no
            // additionalSecretOutputs, so a plain value would be stored in plain text.
            .secret(webhook_secret.map(Some).secret())
            .format(WebhookFormat::Raw)
            .active(true)
            .filters(filters)
            .groups(groups)
            .build_struct(),
    );
    Ok(())
}

/// A log group with the configured retention.
fn log_group(
    ctx: &Context,
    resource_name: &str,
    group_name: &str,
    settings: &Settings,
    tags: &HashMap<String, String>,
) -> aws::cloudwatch::log_group::LogGroupResult {
    aws::cloudwatch::log_group::create(
        ctx,
        resource_name,
        aws::cloudwatch::log_group::LogGroupArgs::builder()
            .name(group_name.to_owned())
            .retention_in_days(settings.log_retention_days)
            .tags(tags.clone())
            .build_struct(),
    )
}

/// An SSM SecureString holding `value` (a secret); returns the parameter's ARN.
fn secure_parameter(
    ctx: &Context,
    resource_name: &str,
    parameter_name: &str,
    description: &str,
    value: Output<String>,
    tags: &HashMap<String, String>,
) -> Output<String> {
    aws::ssm::parameter::create(
        ctx,
        resource_name,
        aws::ssm::parameter::ParameterArgs::builder()
            .name(parameter_name.to_owned())
            .type_("SecureString".to_owned())
            .value(value.secret())
            .description(description.to_owned())
            .tags(tags.clone())
            .build_struct(),
    )
    .arn
}

/// The outputs of other resources the function is given (and so created after).
struct Wiring<'a> {
    role_arn: &'a Output<String>,
    log_group: &'a Output<String>,
    state_table: &'a Output<String>,
}

/// The function's environment variables known before anything is created (`STATE_TABLE` comes
/// from the table's name output).
fn known_variables(settings: &Settings, names: &Names) -> BTreeMap<String, String> {
    let mut variables: BTreeMap<String, String> = [
        (env::SLACK_CHANNEL, settings.slack_channel.clone()),
        (env::SLACK_TOKEN_PARAMETER, names.token_parameter.clone()),
        (
            env::PULUMI_WEBHOOK_SECRET_PARAMETER,
            names.secret_parameter.clone(),
        ),
        (env::RUST_LOG, "info".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(routes) = &settings.routes {
        variables.insert(env::ROUTES.to_owned(), routes.clone());
    }
    variables
}

/// The size Lambda counts for the function's environment, measured on the whole map (with the
/// state table's name, which is chosen here) so that `pulumi up` fails before AWS does.
fn environment_bytes(settings: &Settings, names: &Names) -> usize {
    let known: usize = known_variables(settings, names)
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    known + env::STATE_TABLE.len() + names.state_table.len()
}

/// The function, registered through the raw API: Pulumi Gestalt types `pulumi.json#/Archive` as a
/// string, but the engine needs Pulumi's archive object to upload the zip.
fn lambda_function(
    ctx: &Context,
    names: &Names,
    settings: &Settings,
    code: &Output<PulumiAny>,
    wiring: Wiring<'_>,
    tags: &HashMap<String, String>,
) -> pulumi_gestalt_rust::CompositeOutput {
    let Wiring {
        role_arn,
        log_group,
        state_table,
    } = wiring;
    let variables = known_variables(settings, names);
    // The table's name as the provider reports it (an output), so the function is only
    // created once the table exists and always names the table that does.
    let environment: Output<PulumiAny> = state_table.map(move |table| {
        let mut variables = variables.clone();
        variables.insert(env::STATE_TABLE.to_owned(), table);
        pulumi_any!({ "variables": variables })
    });
    // Naming the log group (an output) also makes the function wait for it: Lambda would
    // otherwise create the group itself on first invocation, without retention.
    let logging = log_group.map(|group| {
        pulumi_any!({
            "logFormat": "JSON",
            "logGroup": group,
        })
    });
    let name = ctx.new_output(&names.function);
    let runtime = ctx.new_output(&"provided.al2023".to_owned());
    let handler = ctx.new_output(&"bootstrap".to_owned());
    let architectures = ctx.new_output(&vec![settings.architecture.lambda_name().to_owned()]);
    let memory = ctx.new_output(&128);
    // Under API Gateway's 30 s, over the relay's Slack deadline (the contract checks both).
    let timeout = ctx.new_output(&(contract::FUNCTION_TIMEOUT.as_secs() as i32));
    let description = ctx.new_output(&"Relays Pulumi Cloud webhooks to Slack".to_owned());
    let tags = ctx.new_output(tags);
    ctx.register_resource(RegisterResourceRequest {
        type_: "aws:lambda/function:Function".to_owned(),
        name: "relay-function".to_owned(),
        version: aws::PROVIDER_VERSION.to_owned(),
        object: &[
            ResourceRequestObjectField {
                name: "name".into(),
                value: &name,
            },
            ResourceRequestObjectField {
                name: "role".into(),
                value: role_arn,
            },
            ResourceRequestObjectField {
                name: "runtime".into(),
                value: &runtime,
            },
            ResourceRequestObjectField {
                name: "handler".into(),
                value: &handler,
            },
            ResourceRequestObjectField {
                name: "architectures".into(),
                value: &architectures,
            },
            ResourceRequestObjectField {
                name: "memorySize".into(),
                value: &memory,
            },
            ResourceRequestObjectField {
                name: "timeout".into(),
                value: &timeout,
            },
            ResourceRequestObjectField {
                name: "code".into(),
                value: code,
            },
            ResourceRequestObjectField {
                name: "environment".into(),
                value: &environment,
            },
            ResourceRequestObjectField {
                name: "loggingConfig".into(),
                value: &logging,
            },
            ResourceRequestObjectField {
                name: "description".into(),
                value: &description,
            },
            ResourceRequestObjectField {
                name: "tags".into(),
                value: &tags,
            },
        ],
        options: None,
    })
}

/// API Gateway access log line: JSON, one per request, without request bodies or headers.
fn access_log_format() -> String {
    serde_json::json!({
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Architecture;

    fn settings(routes: Option<String>) -> Settings {
        Settings {
            slack_channel: "#ops".into(),
            has_webhook_secret: true,
            architecture: Architecture::Arm64,
            log_retention_days: 30,
            handler_zip: None,
            routes,
            register_webhook: None,
        }
    }

    #[test]
    fn the_environment_is_measured_whole_names_and_values() {
        let names = Names::new("relay", "dev");
        let bare = environment_bytes(&settings(None), &names);
        let expected: usize = [
            ("SLACK_CHANNEL", "#ops"),
            ("SLACK_TOKEN_PARAMETER", "/relay/dev/slack-token"),
            (
                "PULUMI_WEBHOOK_SECRET_PARAMETER",
                "/relay/dev/webhook-secret",
            ),
            ("RUST_LOG", "info"),
            ("STATE_TABLE", "relay-dev-state"),
        ]
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
        assert_eq!(bare, expected);
        let routes = r##"[{"stack":"*-prod","channel":"#p"}]"##.to_owned();
        let with_routes = environment_bytes(&settings(Some(routes.clone())), &names);
        assert_eq!(with_routes, bare + "ROUTES".len() + routes.len());
    }

    #[test]
    fn routes_within_their_own_limit_still_fit_with_long_stack_names() {
        // The routes limit leaves room for the other variables even when the project and stack
        // names are as long as Pulumi allows (100 characters each).
        let long = "x".repeat(100);
        let names = Names::new(&long, &long);
        let routes = "r".repeat(contract::MAX_ROUTES_BYTES);
        assert!(environment_bytes(&settings(Some(routes)), &names) <= MAX_ENVIRONMENT_BYTES);
    }
}

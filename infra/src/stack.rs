//! The AWS resources of one relay stack, and the stack's exports, declared from a [`Plan`] by
//! one function per part of the relay.
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

use pulumi_gestalt_providers_aws as aws;
use pulumi_gestalt_providers_pulumiservice as pulumiservice;
use pulumi_gestalt_providers_random as random;
use pulumi_gestalt_rust::{
    Context, Output, PulumiAny, RegisterResourceRequest, ResourceRequestObjectField, pulumi_any,
    pulumi_combine,
};
use relay_core::contract::{self, env, http, queue, state_table};

use crate::plan::{self, Plan};
use crate::policy;
use crate::register::{Scope, WebhookRegistration};
use crate::settings::keys;
use crate::unknown::derive;

/// API Gateway stage throttling: generous for webhooks, a ceiling for abuse.
const THROTTLE_BURST: i32 = 50;
const THROTTLE_RATE: f64 = 25.0;

/// Declares the stack; `code` is the function's archive (known once the zip is built).
pub fn declare(ctx: &Context, plan: &Plan, code: &Output<PulumiAny>) -> anyhow::Result<()> {
    let secrets = secrets(ctx, plan)?;
    let logs = Logs {
        function: log_group(
            ctx,
            "function-logs",
            &format!("/aws/lambda/{}", plan.names.function),
            plan,
        ),
        worker: log_group(
            ctx,
            "worker-logs",
            &format!("/aws/lambda/{}", plan.names.worker),
            plan,
        ),
        access: log_group(
            ctx,
            "access-logs",
            &format!("/aws/apigateway/{}", plan.names.prefix),
            plan,
        ),
    };
    let table = state_table(ctx, plan);
    let queues = queues(ctx, plan);
    // Both functions render messages, so both may read the Pulumi access token when there is one.
    let pulumi_token_parameter = || match &secrets.pulumi_token_parameter {
        Some(arn) => arn.map(Some),
        None => ctx.new_output(&None),
    };
    // Only the relay answers Slack's requests, so only it may read the signing secret.
    let signing_secret_parameter = match &secrets.signing_secret_parameter {
        Some(arn) => arn.map(Some),
        None => ctx.new_output(&None),
    };
    let relay_role = role(
        ctx,
        plan,
        "relay-role",
        "Runs the Pulumi webhook relay Lambda",
        derive(
            &pulumi_combine!(
                logs.function.arn.clone(),
                secrets.token_parameter.clone(),
                secrets.secret_parameter.clone(),
                pulumi_token_parameter(),
                signing_secret_parameter,
                table.arn.clone(),
                queues.retry.arn.clone(),
                queues.dead_letters.arn.clone()
            ),
            |(logs, token, secret, pulumi_token, signing_secret, table, retry, dead)| {
                let parameters: Vec<String> =
                    [Some(token), Some(secret), pulumi_token, signing_secret]
                        .into_iter()
                        .flatten()
                        .collect();
                policy::relay_permissions(&policy::Resources {
                    log_group: &logs,
                    parameters: &parameters,
                    state_table: &table,
                    retry_queue: &retry,
                    dead_letter_queue: &dead,
                })
            },
        ),
    );
    // The worker never sees a webhook's signature nor a Slack request: it needs the tokens, not
    // the secrets.
    let worker_role = role(
        ctx,
        plan,
        "worker-role",
        "Runs the Pulumi webhook relay's retry worker Lambda",
        derive(
            &pulumi_combine!(
                logs.worker.arn.clone(),
                secrets.token_parameter.clone(),
                pulumi_token_parameter(),
                table.arn.clone(),
                queues.retry.arn.clone(),
                queues.dead_letters.arn.clone()
            ),
            |(logs, token, pulumi_token, table, retry, dead)| {
                let parameters: Vec<String> =
                    [Some(token), pulumi_token].into_iter().flatten().collect();
                policy::worker_permissions(&policy::Resources {
                    log_group: &logs,
                    parameters: &parameters,
                    state_table: &table,
                    retry_queue: &retry,
                    dead_letter_queue: &dead,
                })
            },
        ),
    );
    let wiring = |worker: bool| {
        let mut variables = plan.variables.clone();
        if worker {
            for name in plan::RELAY_ONLY {
                variables.remove(name);
            }
            variables.insert(env::RELAY_ROLE.to_owned(), queue::WORKER_ROLE.to_owned());
            // Retried messages carry the buttons their first attempt would have.
            if plan.settings.has_slack_signing_secret {
                variables.insert(env::CHATOPS_BUTTONS.to_owned(), "on".to_owned());
            }
        }
        environment(variables, &table.name, &queues)
    };
    let function = lambda_function(
        ctx,
        plan,
        code,
        FunctionSpec {
            resource: "relay-function",
            name: &plan.names.function,
            description: "Relays Pulumi Cloud webhooks to Slack",
            // Under API Gateway's 30 s, over the relay's Slack deadline (the contract checks both).
            timeout: contract::FUNCTION_TIMEOUT,
            role_arn: &relay_role,
            log_group: &logs.function.name,
            environment: wiring(false),
        },
    );
    let worker = lambda_function(
        ctx,
        plan,
        code,
        FunctionSpec {
            resource: "worker-function",
            name: &plan.names.worker,
            description: "Retries the Pulumi webhook relay's queued Slack deliveries",
            timeout: queue::WORKER_TIMEOUT,
            role_arn: &worker_role,
            log_group: &logs.worker.name,
            environment: wiring(true),
        },
    );
    let mapping = event_source_mapping(ctx, &queues, &worker);
    let alerts = alerts(ctx, plan);
    let alarms = alarms(ctx, plan, alerts.as_ref());
    let api = http_api(ctx, plan, &function, &logs.access.arn);
    if let Some(registration) = &plan.settings.register_webhook {
        pulumi_cloud_webhook(ctx, registration, &api.serving_url, &secrets.webhook_secret)?;
    }

    // Before anything waits for the functions (the exports below do), everything that does not
    // need the zip is registered, while it builds.
    let mut independent = vec![
        secrets.token_parameter,
        secrets.secret_parameter,
        logs.function.arn.clone(),
        logs.worker.arn.clone(),
        logs.access.arn.clone(),
        table.arn.clone(),
        queues.retry.url.clone(),
        queues.dead_letters.url.clone(),
        relay_role,
        worker_role,
        api.url.clone(),
        secrets.webhook_secret.clone(),
    ];
    independent.extend(secrets.pulumi_token_parameter);
    independent.extend(secrets.signing_secret_parameter);
    independent.extend(alarms);
    independent.extend(alerts.iter().map(|a| a.subscription.clone()));
    settle(independent);
    // Exports last: `add_export` waits for its value.
    ctx.add_export("url", &api.url);
    ctx.add_export("functionName", &function.name);
    ctx.add_export("logGroupName", &logs.function.name);
    ctx.add_export("workerFunctionName", &worker.name);
    ctx.add_export("retryQueueUrl", &queues.retry.url);
    ctx.add_export("deadLetterQueueUrl", &queues.dead_letters.url);
    ctx.add_export("retryEventSourceMapping", &mapping);
    if let Some(alerts) = &alerts {
        ctx.add_export("alertTopicArn", &alerts.topic_arn);
    }
    // The Slack app's Request URLs, when the relay answers them (`slackSigningSecret`).
    if plan.settings.has_slack_signing_secret {
        for (export, path) in [
            ("slackCommandsUrl", http::SLACK_COMMANDS),
            ("slackInteractionsUrl", http::SLACK_INTERACTIONS),
        ] {
            let url = derive(&api.url, move |url| {
                format!("{}{path}", url.trim_end_matches('/'))
            });
            ctx.add_export(export, &url);
        }
    }
    ctx.add_export("webhookSecret", &secrets.webhook_secret.secret());
    Ok(())
}

/// A function's environment: `variables` and the names the provider reports for the state
/// table and the queues (outputs), so the function is only created once they exist and always
/// names the ones that do.
fn environment(
    variables: std::collections::BTreeMap<String, String>,
    table: &Output<String>,
    queues: &Queues,
) -> Output<PulumiAny> {
    pulumi_combine!(
        table.clone(),
        queues.retry.url.clone(),
        queues.dead_letters.url.clone()
    )
    .map(move |(table, retry, dead)| {
        let mut variables = variables.clone();
        variables.insert(env::STATE_TABLE.to_owned(), table);
        variables.insert(env::RETRY_QUEUE_URL.to_owned(), retry);
        variables.insert(env::DEAD_LETTER_QUEUE_URL.to_owned(), dead);
        pulumi_any!({ "variables": variables })
    })
}

/// The retry queue and its dead-letter queue: FIFO (a stack's deliveries in order, one message
/// group per stack), SQS-managed encryption, kept for SQS's longest retention. The redrive
/// policy is only a backstop (`maxReceiveCount` at its maximum): the worker itself moves a
/// delivery to the dead-letter queue when its schedule ends or Slack refuses it.
struct Queues {
    retry: aws::sqs::queue::QueueResult,
    dead_letters: aws::sqs::queue::QueueResult,
}

fn queues(ctx: &Context, plan: &Plan) -> Queues {
    let fifo = |resource: &str, name: &str, redrive: Option<Output<String>>| {
        let args = aws::sqs::queue::QueueArgs::builder()
            .name(name.to_owned())
            .fifo_queue(true)
            .sqs_managed_sse_enabled(true)
            .visibility_timeout_seconds(queue::VISIBILITY_TIMEOUT.as_secs() as i32)
            .message_retention_seconds(queue::RETENTION.as_secs() as i32)
            .tags(plan.tags.clone());
        let args = match redrive {
            Some(policy) => args.redrive_policy(policy).build_struct(),
            None => args.build_struct(),
        };
        aws::sqs::queue::create(ctx, resource, args)
    };
    let dead_letters = fifo("dead-letter-queue", &plan.names.dead_letter_queue, None);
    let redrive = derive(&dead_letters.arn, |arn| {
        serde_json::json!({
            "deadLetterTargetArn": arn,
            "maxReceiveCount": queue::MAX_RECEIVE_COUNT,
        })
        .to_string()
    });
    let retry = fifo("retry-queue", &plan.names.retry_queue, Some(redrive));
    Queues {
        retry,
        dead_letters,
    }
}

/// The retry queue feeding the worker: batches of [`queue::BATCH_SIZE`], partial batch
/// responses, and at most two worker invocations at once (SQS's minimum for a mapping's
/// maximum concurrency): Slack's rate limit, not Lambda's, is what the worker runs into.
/// Returns the mapping's UUID.
fn event_source_mapping(ctx: &Context, queues: &Queues, worker: &FunctionRef) -> Output<String> {
    aws::lambda::event_source_mapping::create(
        ctx,
        "retry-worker-trigger",
        aws::lambda::event_source_mapping::EventSourceMappingArgs::builder()
            .event_source_arn(queues.retry.arn.clone())
            .function_name(worker.arn.clone())
            .batch_size(queue::BATCH_SIZE as i32)
            .function_response_types(vec!["ReportBatchItemFailures".to_owned()])
            .scaling_config(
                aws::types::lambda::EventSourceMappingScalingConfig::builder()
                    .maximum_concurrency(2)
                    .build_struct(),
            )
            .enabled(true)
            .build_struct(),
    )
    .uuid
}

/// With `alertEmail`: the SNS topic the alarms notify and its email subscription (SNS emails a
/// confirmation link first; nothing arrives until it is followed).
struct Alerts {
    topic_arn: Output<String>,
    subscription: Output<String>,
}

fn alerts(ctx: &Context, plan: &Plan) -> Option<Alerts> {
    let email = plan.settings.alert_email.as_ref()?;
    let topic = aws::sns::topic::create(
        ctx,
        "alerts-topic",
        aws::sns::topic::TopicArgs::builder()
            .name(plan.names.alerts_topic.clone())
            .display_name("Pulumi webhook relay".to_owned())
            .tags(plan.tags.clone())
            .build_struct(),
    );
    let subscription = aws::sns::topic_subscription::create(
        ctx,
        "alerts-email",
        aws::sns::topic_subscription::TopicSubscriptionArgs::builder()
            .topic(topic.arn.clone())
            .protocol("email".to_owned())
            .endpoint(email.clone())
            .build_struct(),
    );
    Some(Alerts {
        topic_arn: topic.arn,
        subscription: subscription.arn,
    })
}

/// How long the oldest queued delivery may wait before its alarm: past the first retries of the
/// schedule (30 s doubling to 15 min), Slack has been failing for a while.
const OLDEST_QUEUED_ALARM_SECS: f64 = 1800.0;

/// Alarms on the queues, notifying `alerts` when given: a dead letter exists (a delivery Slack
/// refused for good or that ran out of retries), and a delivery has waited over half an hour.
/// SQS sends its metrics every minute; a queue with no messages sends none, which is fine.
/// Returns the alarms' ARNs.
fn alarms(ctx: &Context, plan: &Plan, alerts: Option<&Alerts>) -> Vec<Output<String>> {
    let actions = || match alerts {
        Some(alerts) => alerts.topic_arn.map(|arn| Some(vec![arn])),
        None => ctx.new_output(&None),
    };
    let alarm = |resource: &str,
                 suffix: &str,
                 description: &str,
                 metric: &str,
                 queue: &str,
                 threshold: f64,
                 period: i32| {
        aws::cloudwatch::metric_alarm::create(
            ctx,
            resource,
            aws::cloudwatch::metric_alarm::MetricAlarmArgs::builder()
                .name(format!("{}-{suffix}", plan.names.prefix))
                .alarm_description(description.to_owned())
                .namespace("AWS/SQS".to_owned())
                .metric_name(metric.to_owned())
                .dimensions(std::collections::HashMap::from([(
                    "QueueName".to_owned(),
                    queue.to_owned(),
                )]))
                .statistic("Maximum".to_owned())
                .period(period)
                .evaluation_periods(1)
                .threshold(threshold)
                .comparison_operator("GreaterThanThreshold".to_owned())
                .treat_missing_data("notBreaching".to_owned())
                .alarm_actions(actions())
                .ok_actions(actions())
                .tags(plan.tags.clone())
                .build_struct(),
        )
        .arn
    };
    vec![
        alarm(
            "dead-letters-alarm",
            "dead-letters",
            "A Pulumi webhook was dead-lettered: list with `handler dead-letters --dead-letter-queue <deadLetterQueueUrl>`, re-queue with `handler replay`",
            "ApproximateNumberOfMessagesVisible",
            &plan.names.dead_letter_queue,
            0.0,
            60,
        ),
        alarm(
            "oldest-queued-alarm",
            "oldest-queued",
            "A queued Pulumi webhook has waited over 30 minutes for Slack",
            "ApproximateAgeOfOldestMessage",
            &plan.names.retry_queue,
            OLDEST_QUEUED_ALARM_SECS,
            300,
        ),
    ]
}

/// The secrets, each only ever a Pulumi secret: the token from config; the webhook secret from
/// config too, or generated once and kept in state (a RandomPassword keeps its value across
/// updates); the Pulumi access token from config, when set; all stored as SSM SecureStrings the
/// functions read.
struct Secrets {
    webhook_secret: Output<String>,
    /// The parameters' ARNs.
    token_parameter: Output<String>,
    secret_parameter: Output<String>,
    /// With `pulumiAccessToken` only.
    pulumi_token_parameter: Option<Output<String>>,
    /// With `slackSigningSecret` only.
    signing_secret_parameter: Option<Output<String>>,
}

fn secrets(ctx: &Context, plan: &Plan) -> anyhow::Result<Secrets> {
    let slack_token = ctx.require_config_secret(None, keys::SLACK_TOKEN)?;
    let webhook_secret: Output<String> = if plan.settings.has_webhook_secret {
        ctx.require_config_secret(None, keys::WEBHOOK_SECRET)?
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
    let pulumi_token_parameter = if plan.settings.has_pulumi_access_token {
        let token = ctx.require_config_secret(None, keys::PULUMI_ACCESS_TOKEN)?;
        Some(secure_parameter(
            ctx,
            "pulumi-access-token",
            &plan.names.pulumi_token_parameter,
            "Pulumi Cloud access token the Pulumi webhook relay reads run details with",
            token,
            plan,
        ))
    } else {
        None
    };
    let signing_secret_parameter = if plan.settings.has_slack_signing_secret {
        let secret = ctx.require_config_secret(None, keys::SLACK_SIGNING_SECRET)?;
        Some(secure_parameter(
            ctx,
            "slack-signing-secret",
            &plan.names.signing_secret_parameter,
            "Signing secret of the Slack app whose requests the Pulumi webhook relay answers",
            secret,
            plan,
        ))
    } else {
        None
    };
    Ok(Secrets {
        token_parameter: secure_parameter(
            ctx,
            "slack-token",
            &plan.names.token_parameter,
            "Slack bot token of the Pulumi webhook relay",
            slack_token,
            plan,
        ),
        secret_parameter: secure_parameter(
            ctx,
            "webhook-secret",
            &plan.names.secret_parameter,
            "Shared secret Pulumi Cloud signs webhooks with",
            webhook_secret.clone(),
            plan,
        ),
        pulumi_token_parameter,
        signing_secret_parameter,
        webhook_secret,
    })
}

/// The relay's and the worker's log groups and the API's access log group.
struct Logs {
    function: aws::cloudwatch::log_group::LogGroupResult,
    worker: aws::cloudwatch::log_group::LogGroupResult,
    access: aws::cloudwatch::log_group::LogGroupResult,
}

/// A Lambda role allowed exactly `policy` ([`policy`]); returns its ARN.
fn role(
    ctx: &Context,
    plan: &Plan,
    resource: &str,
    description: &str,
    policy: Output<String>,
) -> Output<String> {
    let permissions = policy.map(|policy| {
        Some(vec![
            aws::types::iam::RoleInlinePolicy::builder()
                .name("relay".to_owned())
                .policy(policy)
                .build_struct(),
        ])
    });
    aws::iam::role::create(
        ctx,
        resource,
        aws::iam::role::RoleArgs::builder()
            .assume_role_policy(policy::lambda_assume_role())
            .description(description.to_owned())
            .inline_policies(permissions)
            .tags(plan.tags.clone())
            .build_struct(),
    )
    .arn
}

/// What others need of a function.
struct FunctionRef {
    name: Output<String>,
    arn: Output<String>,
    invoke_arn: Output<String>,
}

/// The HTTPS endpoint.
struct Api {
    /// The stage's URL, the stack's `url`.
    url: Output<String>,
    /// The same URL, known once requests to it reach the function: its routes, their
    /// integration (which needs the function) and the permission exist.
    serving_url: Output<String>,
}

/// An HTTP API whose `GET /`, `POST /`, `GET /status` and the Slack app's `POST /slack/commands`
/// and `POST /slack/interactions` go to the function through a payload-2.0 proxy integration, its
/// `$default` stage (throttled, access-logged to `access_logs`), and the permission that lets only
/// this API invoke the function.
fn http_api(
    ctx: &Context,
    plan: &Plan,
    function: &FunctionRef,
    access_logs: &Output<String>,
) -> Api {
    let api = aws::apigatewayv2::api::create(
        ctx,
        "http-api",
        aws::apigatewayv2::api::ApiArgs::builder()
            .name(plan.names.prefix.clone())
            .protocol_type("HTTP".to_owned())
            .description("Receives Pulumi Cloud webhooks for the Slack relay".to_owned())
            .tags(plan.tags.clone())
            .build_struct(),
    );
    let integration = aws::apigatewayv2::integration::create(
        ctx,
        "lambda-integration",
        aws::apigatewayv2::integration::IntegrationArgs::builder()
            .api_id(api.id.clone())
            .integration_type("AWS_PROXY".to_owned())
            .integration_uri(function.invoke_arn.clone())
            .integration_method("POST".to_owned())
            .payload_format_version("2.0".to_owned())
            .timeout_milliseconds(30_000)
            .build_struct(),
    );
    let target = derive(&integration.id, |id| format!("integrations/{id}"));
    // `GET /status`: the queue's counts, no payloads and no secrets (README "HTTP behaviour").
    // The Slack routes always exist: without `slackSigningSecret` the relay itself turns the
    // requests away, and setting it later changes no route.
    let routes: Vec<Output<String>> = [
        ("route-get", "GET", http::WEBHOOKS),
        ("route-post", "POST", http::WEBHOOKS),
        ("route-status", "GET", http::STATUS),
        ("route-slack-commands", "POST", http::SLACK_COMMANDS),
        ("route-slack-interactions", "POST", http::SLACK_INTERACTIONS),
    ]
    .into_iter()
    .map(|(name, method, path)| {
        aws::apigatewayv2::route::create(
            ctx,
            name,
            aws::apigatewayv2::route::RouteArgs::builder()
                .api_id(api.id.clone())
                .route_key(format!("{method} {path}"))
                .target(target.clone())
                .build_struct(),
        )
        .id
    })
    .collect();
    let access_log_settings = access_logs.map(|arn| {
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
            .tags(plan.tags.clone())
            .build_struct(),
    );
    let permission = aws::lambda::permission::create(
        ctx,
        "api-invoke",
        aws::lambda::permission::PermissionArgs::builder()
            .action("lambda:InvokeFunction".to_owned())
            .function(function.name.clone())
            .principal("apigateway.amazonaws.com".to_owned())
            .source_arn(derive(&api.execution_arn, |arn| format!("{arn}/*/*")))
            .build_struct(),
    );
    let serving_url = derive(
        &pulumi_combine!(
            stage.invoke_url.clone(),
            permission.id.clone(),
            routes[0].clone(),
            routes[1].clone(),
            routes[2].clone(),
            routes[3].clone(),
            routes[4].clone()
        ),
        |(url, _, _, _, _, _, _)| url,
    );
    Api {
        url: stage.invoke_url,
        serving_url,
    }
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
fn state_table(ctx: &Context, plan: &Plan) -> aws::dynamodb::table::TableResult {
    aws::dynamodb::table::create(
        ctx,
        "state-table",
        aws::dynamodb::table::TableArgs::builder()
            .name(plan.names.state_table.clone())
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
            .tags(plan.tags.clone())
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
    plan: &Plan,
) -> aws::cloudwatch::log_group::LogGroupResult {
    aws::cloudwatch::log_group::create(
        ctx,
        resource_name,
        aws::cloudwatch::log_group::LogGroupArgs::builder()
            .name(group_name.to_owned())
            .retention_in_days(plan.settings.log_retention_days)
            .tags(plan.tags.clone())
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
    plan: &Plan,
) -> Output<String> {
    aws::ssm::parameter::create(
        ctx,
        resource_name,
        aws::ssm::parameter::ParameterArgs::builder()
            .name(parameter_name.to_owned())
            .type_("SecureString".to_owned())
            .value(value.secret())
            .description(description.to_owned())
            .tags(plan.tags.clone())
            .build_struct(),
    )
    .arn
}

/// One of the two functions (the same zip): what differs between them.
struct FunctionSpec<'a> {
    resource: &'a str,
    name: &'a str,
    description: &'a str,
    timeout: std::time::Duration,
    role_arn: &'a Output<String>,
    log_group: &'a Output<String>,
    environment: Output<PulumiAny>,
}

/// A function, registered through the raw API: Pulumi Gestalt types `pulumi.json#/Archive` as a
/// string, but the engine needs Pulumi's archive object to upload the zip.
fn lambda_function(
    ctx: &Context,
    plan: &Plan,
    code: &Output<PulumiAny>,
    spec: FunctionSpec<'_>,
) -> FunctionRef {
    // Naming the log group (an output) also makes the function wait for it: Lambda would
    // otherwise create the group itself on first invocation, without retention.
    let logging = spec.log_group.map(|group| {
        pulumi_any!({
            "logFormat": "JSON",
            "logGroup": group,
        })
    });
    let name = ctx.new_output(&spec.name.to_owned());
    let runtime = ctx.new_output(&"provided.al2023".to_owned());
    let handler = ctx.new_output(&"bootstrap".to_owned());
    let architectures = ctx.new_output(&vec![plan.settings.architecture.lambda_name().to_owned()]);
    let memory = ctx.new_output(&128);
    let timeout = ctx.new_output(&(spec.timeout.as_secs() as i32));
    let description = ctx.new_output(&spec.description.to_owned());
    let tags = ctx.new_output(&plan.tags);
    let field = |name: &str, value| ResourceRequestObjectField {
        name: name.into(),
        value,
    };
    let function = ctx.register_resource(RegisterResourceRequest {
        type_: "aws:lambda/function:Function".to_owned(),
        name: spec.resource.to_owned(),
        version: aws::PROVIDER_VERSION.to_owned(),
        object: &[
            field("name", &name),
            field("role", spec.role_arn),
            field("runtime", &runtime),
            field("handler", &handler),
            field("architectures", &architectures),
            field("memorySize", &memory),
            field("timeout", &timeout),
            field("code", code),
            field("environment", &spec.environment),
            field("loggingConfig", &logging),
            field("description", &description),
            field("tags", &tags),
        ],
        options: None,
    });
    FunctionRef {
        name: function.get_field("name"),
        arn: function.get_field("arn"),
        invoke_arn: function.get_field("invokeArn"),
    }
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

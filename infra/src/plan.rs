//! Everything decided before anything is registered: the names of the stack's resources, their
//! tags, and the function's environment, checked against what AWS accepts. A stack that cannot
//! be deployed fails here, before the Lambda build and before the first resource.

use std::collections::{BTreeMap, HashMap};

use relay_core::contract::{MAX_ENVIRONMENT_BYTES, env};

use crate::settings::Settings;

/// Lambda's limit on function names.
const MAX_FUNCTION_NAME: usize = 64;

/// Resource names derived from the project and stack.
pub struct Names {
    /// `project-stack`, reduced to what every AWS name accepts.
    pub prefix: String,
    pub function: String,
    /// SSM parameter names, also handed to the function so it can read them.
    pub token_parameter: String,
    pub secret_parameter: String,
    /// The Pulumi Cloud access token's parameter (only created with `pulumiAccessToken`).
    pub pulumi_token_parameter: String,
    /// The Slack app's signing secret's parameter (only created with `slackSigningSecret`).
    pub signing_secret_parameter: String,
    /// The DynamoDB table of delivery state.
    pub state_table: String,
    /// The retry queue's worker function.
    pub worker: String,
    /// The SQS FIFO queues (names end in `.fifo`, at most 80 characters).
    pub retry_queue: String,
    pub dead_letter_queue: String,
    /// The SNS topic the alarms notify (with `alertEmail`).
    pub alerts_topic: String,
}

/// SQS's limit on queue names, `.fifo` included.
const MAX_QUEUE_NAME: usize = 80;

/// `prefix` shortened so that `prefix` + `suffix` fits `limit`.
fn fitted(prefix: &str, suffix: &str, limit: usize) -> String {
    let mut name: String = prefix.chars().take(limit - suffix.len()).collect();
    name.push_str(suffix);
    name
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
        let worker = fitted(&prefix, "-retry-worker", MAX_FUNCTION_NAME);
        let parameter_path = format!("/{}/{}", clean(project), clean(stack));
        Names {
            token_parameter: format!("{parameter_path}/slack-token"),
            secret_parameter: format!("{parameter_path}/webhook-secret"),
            pulumi_token_parameter: format!("{parameter_path}/pulumi-access-token"),
            signing_secret_parameter: format!("{parameter_path}/slack-signing-secret"),
            state_table: format!("{prefix}-state"),
            retry_queue: fitted(&prefix, "-retries.fifo", MAX_QUEUE_NAME),
            dead_letter_queue: fitted(&prefix, "-dead-letters.fifo", MAX_QUEUE_NAME),
            alerts_topic: format!("{prefix}-alerts"),
            worker,
            prefix,
            function,
        }
    }
}

/// The variables only the relay function (API Gateway's) is given, not the retry worker: it never
/// sees a request, so neither a webhook's signature nor a Slack request (nor who may send one).
pub const RELAY_ONLY: [&str; 3] = [
    env::PULUMI_WEBHOOK_SECRET_PARAMETER,
    env::SLACK_SIGNING_SECRET_PARAMETER,
    env::CHATOPS,
];

/// The stack to declare.
pub struct Plan {
    pub settings: Settings,
    pub names: Names,
    pub tags: HashMap<String, String>,
    /// The relay function's environment but `STATE_TABLE` and the queues' URLs, which come from
    /// outputs; the worker's is this one less [`RELAY_ONLY`] plus `RELAY_ROLE`.
    pub variables: BTreeMap<String, String>,
}

/// Why the stack cannot be deployed as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the Lambda's environment variables would take {bytes} bytes, but AWS allows \
     {MAX_ENVIRONMENT_BYTES} in all: shorten `routes` and `chatops`, which share the room (fewer \
     rules, shorter names), or the project and stack names"
)]
pub struct PlanError {
    bytes: usize,
}

impl Plan {
    pub fn new(project: &str, stack: &str, settings: Settings) -> Result<Plan, PlanError> {
        let names = Names::new(project, stack);
        let tags = [
            ("app", "pulumi-webhook-relay"),
            ("pulumi-project", project),
            ("pulumi-stack", stack),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
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
        if settings.has_pulumi_access_token {
            variables.insert(
                env::PULUMI_ACCESS_TOKEN_PARAMETER.to_owned(),
                names.pulumi_token_parameter.clone(),
            );
        }
        if settings.has_slack_signing_secret {
            variables.insert(
                env::SLACK_SIGNING_SECRET_PARAMETER.to_owned(),
                names.signing_secret_parameter.clone(),
            );
        }
        if let Some(chatops) = &settings.chatops {
            variables.insert(env::CHATOPS.to_owned(), chatops.clone());
        }
        let plan = Plan {
            settings,
            names,
            tags,
            variables,
        };
        let bytes = plan.environment_bytes();
        if bytes > MAX_ENVIRONMENT_BYTES {
            return Err(PlanError { bytes });
        }
        Ok(plan)
    }

    /// The size Lambda counts for the function's environment (names and values), with the state
    /// table's name, which is chosen here, and the queues' URLs at their longest. The worker's
    /// environment is this one less [`RELAY_ONLY`] plus `RELAY_ROLE`, smaller (the webhook
    /// secret's parameter's name and variable alone are longer than `RELAY_ROLE=retry-worker`);
    /// both have the Pulumi access token's parameter when it is set.
    ///
    /// [`MAX_ROUTES_BYTES`](relay_core::contract::MAX_ROUTES_BYTES), which `routes` and `chatops`
    /// share, leaves room for every other variable but the Pulumi access token's and the signing
    /// secret's parameters: with them, very long project and stack names and rules near that
    /// limit, this count is what refuses the stack.
    fn environment_bytes(&self) -> usize {
        let known: usize = self.variables.iter().map(|(k, v)| k.len() + v.len()).sum();
        known
            + env::STATE_TABLE.len()
            + self.names.state_table.len()
            + env::RETRY_QUEUE_URL.len()
            + queue_url_bound(&self.names.retry_queue)
            + env::DEAD_LETTER_QUEUE_URL.len()
            + queue_url_bound(&self.names.dead_letter_queue)
    }
}

/// The longest URL SQS gives a queue named `name`: `https://sqs.<region>.amazonaws.com/<account
/// id, 12 digits>/<name>`, with a region name of at most 20 characters.
fn queue_url_bound(name: &str) -> usize {
    "https://sqs.".len() + 20 + ".amazonaws.com/".len() + 12 + 1 + name.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Architecture;
    use relay_core::contract::MAX_ROUTES_BYTES;

    fn settings(routes: Option<String>) -> Settings {
        Settings {
            slack_channel: "#ops".into(),
            has_webhook_secret: true,
            has_pulumi_access_token: false,
            has_slack_signing_secret: false,
            architecture: Architecture::Arm64,
            log_retention_days: 30,
            handler_zip: None,
            routes,
            chatops: None,
            register_webhook: None,
            alert_email: None,
        }
    }

    #[test]
    fn the_environment_is_measured_whole_names_and_values() {
        let bare = Plan::new("relay", "dev", settings(None)).unwrap();
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
        .sum::<usize>()
            + "RETRY_QUEUE_URL".len()
            + queue_url_bound("relay-dev-retries.fifo")
            + "DEAD_LETTER_QUEUE_URL".len()
            + queue_url_bound("relay-dev-dead-letters.fifo");
        assert_eq!(bare.environment_bytes(), expected);
        let routes = r##"[{"stack":"*-prod","channel":"#p"}]"##.to_owned();
        let with_routes = Plan::new("relay", "dev", settings(Some(routes.clone()))).unwrap();
        assert_eq!(
            with_routes.environment_bytes(),
            expected + "ROUTES".len() + routes.len()
        );
        let with_token = Plan::new(
            "relay",
            "dev",
            Settings {
                has_pulumi_access_token: true,
                ..settings(None)
            },
        )
        .unwrap();
        assert_eq!(
            with_token.variables["PULUMI_ACCESS_TOKEN_PARAMETER"],
            "/relay/dev/pulumi-access-token"
        );
        assert_eq!(
            with_token.environment_bytes(),
            expected
                + "PULUMI_ACCESS_TOKEN_PARAMETER".len()
                + "/relay/dev/pulumi-access-token".len()
        );
        assert!(!bare.variables.contains_key("PULUMI_ACCESS_TOKEN_PARAMETER"));
    }

    #[test]
    fn with_a_pulumi_access_token_and_the_longest_names_the_exact_count_decides() {
        // The token's variable takes 251 bytes with 100-character project and stack names, more
        // than MAX_ROUTES_BYTES leaves over: rules up to 2 716 bytes still fit, longer ones are
        // refused by the plan (not by the routes limit), before anything is declared.
        let long = "x".repeat(100);
        let with = |routes: usize| Settings {
            has_pulumi_access_token: true,
            slack_channel: format!("#{}", "c".repeat(80)),
            ..settings(Some("r".repeat(routes)))
        };
        let fits = Plan::new(&long, &long, with(2716)).expect("2 716 bytes of rules fit");
        assert_eq!(fits.environment_bytes(), MAX_ENVIRONMENT_BYTES);
        let err = Plan::new(&long, &long, with(2717)).err();
        assert_eq!(
            err,
            Some(PlanError {
                bytes: MAX_ENVIRONMENT_BYTES + 1
            })
        );
        // The routes limit alone lets it through.
        const { assert!(2717 <= MAX_ROUTES_BYTES) };
    }

    #[test]
    fn the_signing_secret_and_chatops_are_measured_and_for_the_relay_only() {
        let bare = Plan::new("relay", "dev", settings(None)).unwrap();
        let chatops = r#"[{"name":"oncall","users":["U0123ABCD"],"operations":["status"]}]"#;
        let chatops_on = Plan::new(
            "relay",
            "dev",
            Settings {
                has_pulumi_access_token: true,
                has_slack_signing_secret: true,
                chatops: Some(chatops.to_owned()),
                ..settings(None)
            },
        )
        .unwrap();
        assert_eq!(
            chatops_on.variables["SLACK_SIGNING_SECRET_PARAMETER"],
            "/relay/dev/slack-signing-secret"
        );
        assert_eq!(chatops_on.variables["CHATOPS"], chatops);
        assert_eq!(
            chatops_on.environment_bytes(),
            bare.environment_bytes()
                + "PULUMI_ACCESS_TOKEN_PARAMETER".len()
                + "/relay/dev/pulumi-access-token".len()
                + "SLACK_SIGNING_SECRET_PARAMETER".len()
                + "/relay/dev/slack-signing-secret".len()
                + "CHATOPS".len()
                + chatops.len()
        );
        for absent in ["SLACK_SIGNING_SECRET_PARAMETER", "CHATOPS"] {
            assert!(!bare.variables.contains_key(absent), "{absent}");
        }
        // What the worker is not given (it answers no request): the webhook secret's and the
        // signing secret's parameters and the rules; it keeps the tokens.
        assert_eq!(
            RELAY_ONLY,
            [
                "PULUMI_WEBHOOK_SECRET_PARAMETER",
                "SLACK_SIGNING_SECRET_PARAMETER",
                "CHATOPS"
            ]
        );
        assert!(!RELAY_ONLY.contains(&env::PULUMI_ACCESS_TOKEN_PARAMETER));
    }

    #[test]
    fn routes_and_chatops_share_the_room_and_the_exact_count_decides() {
        // With both secrets' parameters at the longest names (251 + 253 bytes) and `CHATOPS`
        // (7), the rules may take 2 456 bytes between them, wherever they are.
        let long = "x".repeat(100);
        let with = |routes: usize, chatops: usize| Settings {
            has_pulumi_access_token: true,
            has_slack_signing_secret: true,
            slack_channel: format!("#{}", "c".repeat(80)),
            chatops: Some("c".repeat(chatops)),
            ..settings(Some("r".repeat(routes)))
        };
        for (routes, chatops) in [(1228, 1228), (456, 2000), (2000, 456)] {
            let fits = Plan::new(&long, &long, with(routes, chatops)).expect("2 456 bytes fit");
            assert_eq!(fits.environment_bytes(), MAX_ENVIRONMENT_BYTES);
            let err = Plan::new(&long, &long, with(routes, chatops + 1)).err();
            assert_eq!(
                err,
                Some(PlanError {
                    bytes: MAX_ENVIRONMENT_BYTES + 1
                })
            );
            assert!(
                err.unwrap()
                    .to_string()
                    .contains("shorten `routes` and `chatops`, which share the room"),
            );
        }
    }

    #[test]
    fn routes_within_their_own_limit_still_fit_with_long_stack_names() {
        // The routes limit leaves room for the other variables even when the project and stack
        // names are as long as Pulumi allows (100 characters each) and the channel's name as
        // long as Slack allows (80), without `pulumiAccessToken` (see the next test).
        let long = "x".repeat(100);
        let routes = "r".repeat(MAX_ROUTES_BYTES);
        let mut settings = settings(Some(routes));
        settings.slack_channel = format!("#{}", "c".repeat(80));
        assert!(Plan::new(&long, &long, settings).is_ok());
    }

    #[test]
    fn an_environment_over_lambdas_limit_is_refused_before_anything_is_declared() {
        let long = "x".repeat(2000);
        let err = Plan::new(&long, "dev", settings(Some("r".repeat(MAX_ROUTES_BYTES)))).err();
        assert!(
            err.is_some_and(|e| e.to_string().contains("AWS allows 4096 in all")),
            "the environment must not fit"
        );
    }

    #[test]
    fn names_keep_to_what_aws_accepts() {
        let names = Names::new("my app", "prod/eu");
        assert_eq!(names.prefix, "my-app-prod-eu");
        assert_eq!(names.token_parameter, "/my-app/prod-eu/slack-token");
        assert_eq!(
            names.pulumi_token_parameter,
            "/my-app/prod-eu/pulumi-access-token"
        );
        assert_eq!(
            names.signing_secret_parameter,
            "/my-app/prod-eu/slack-signing-secret"
        );
        let long = Names::new(&"x".repeat(100), "s");
        assert!(long.function.len() <= MAX_FUNCTION_NAME);
        assert!(long.worker.len() <= MAX_FUNCTION_NAME && long.worker.ends_with("-retry-worker"));
        for queue in [&long.retry_queue, &long.dead_letter_queue] {
            assert!(
                queue.len() <= MAX_QUEUE_NAME && queue.ends_with(".fifo"),
                "{queue}"
            );
        }
        assert_ne!(long.retry_queue, long.dead_letter_queue);
    }
}

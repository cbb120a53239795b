//! The relay's settings, read once at start-up from the environment and, for secrets, from SSM
//! Parameter Store.
//!
//! The environment variable names are a contract with `infra` and with users; each error names the
//! variable to fix. Secret values are held as [`SecretString`] and never appear in errors or logs.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::slack::RetryPolicy;
use relay_core::channel_rules::ChannelRules;
use relay_core::chatops::ChatopsRules;
use relay_core::slack_signing::SigningSecret;
use relay_core::verify::WebhookSecret;

pub use relay_core::contract::env::*;
use relay_core::contract::{
    DEFAULT_PREVIEW_THREAD_MINUTES, DEFAULT_PULUMI_API_URL, DEFAULT_SLACK_API_URL,
};
use relay_core::retry::RetrySchedule;

#[derive(Debug)]
pub struct Config {
    pub output: Output,
    /// `None` only when the operator chose to run without signature checks (local use).
    pub webhook_secret: Option<WebhookSecret>,
    /// Empty when `ROUTES` is unset.
    pub rules: ChannelRules,
    /// Set when `STATE_TABLE` is (never in a dry run, which posts nothing).
    pub state: Option<StateSettings>,
    /// How long after a preview its stack's update replies in its thread (`PREVIEW_THREAD_MINUTES`),
    /// wherever delivery state is kept.
    pub thread_window: Duration,
    /// When queued deliveries are retried (`RETRY_FIRST_MS`, `RETRY_MAX_MS`, `RETRY_FOR_MINUTES`).
    pub retry: RetrySchedule,
    /// The deployed relay's queues (`RETRY_QUEUE_URL` and `DEAD_LETTER_QUEUE_URL`, set together;
    /// never in a dry run).
    pub sqs: Option<SqsSettings>,
    /// The self-hosted relay's data directory (`--data-dir`): its queue and dead letters, and its
    /// delivery state unless `STATE_TABLE` names a table. Not read from the environment: the
    /// binary sets it for `--listen`, never on Lambda or in a dry run.
    pub data_dir: Option<DataDirSettings>,
    /// Pulumi Cloud's REST API, when an access token is given (`PULUMI_ACCESS_TOKEN` or
    /// `PULUMI_ACCESS_TOKEN_PARAMETER`, and `PULUMI_API_URL`): messages then say why a run failed
    /// and what it changed.
    pub pulumi: Option<PulumiSettings>,
    /// ChatOps, when the Slack app's signing secret is given (`SLACK_SIGNING_SECRET` or
    /// `SLACK_SIGNING_SECRET_PARAMETER`) with a Pulumi access token: `POST /slack/commands` and
    /// `POST /slack/interactions` answer, and failures get buttons. Never in a dry run.
    pub chatops: Option<ChatopsSettings>,
    /// `CHATOPS_BUTTONS=on` (the retry worker of a relay with ChatOps on): messages get ChatOps'
    /// buttons and lines without this process answering Slack.
    pub chatops_buttons: bool,
}

/// What the ChatOps endpoints check requests with, and who may do what.
#[derive(Clone)]
pub struct ChatopsSettings {
    pub signing_secret: SigningSecret,
    /// `CHATOPS`; empty (nobody may do anything) when unset.
    pub rules: ChatopsRules,
}

impl std::fmt::Debug for ChatopsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatopsSettings")
            .field("rules", &self.rules)
            .finish_non_exhaustive()
    }
}

/// Where Pulumi Cloud's API is, and the token to read it with.
#[derive(Debug)]
pub struct PulumiSettings {
    pub api_url: String,
    pub token: SecretString,
}

/// The DynamoDB table delivery state lives in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateSettings {
    pub table: String,
}

/// The SQS queues of the deployed relay, by URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsSettings {
    pub queue_url: String,
    pub dead_letter_queue_url: String,
}

/// Where the data directory is, and the most its database may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirSettings {
    pub path: std::path::PathBuf,
    pub max_bytes: Option<u64>,
}

/// Where formatted messages go.
#[derive(Debug)]
pub enum Output {
    Slack {
        api_url: String,
        token: SecretString,
        channel: String,
        retry: RetryPolicy,
    },
    /// `--dry-run`: print and return the message instead of posting it.
    DryRun { channel: Option<String> },
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not set: {hint}")]
    Missing {
        var: &'static str,
        hint: &'static str,
    },
    #[error("{var} is set but empty")]
    Empty { var: &'static str },
    #[error("set only one of {0} and {1}")]
    Conflict(&'static str, &'static str),
    #[error("{var} is not valid: {why}")]
    Invalid { var: &'static str, why: String },
    #[error("could not read the SSM parameter {name:?} named by {var}: {why}")]
    Parameter {
        var: &'static str,
        name: String,
        why: String,
    },
}

/// Reads SecureString parameters (with decryption) by name; one implementation talks to AWS.
pub trait ParameterStore {
    fn get(&self, name: &str) -> impl Future<Output = Result<SecretString, String>> + Send;
}

/// SSM Parameter Store through the AWS SDK ([`crate::aws::Aws::ssm`]); holds why there is no
/// client when the AWS environment is incomplete, which is only an error once a parameter is read.
pub struct Ssm(Result<aws_sdk_ssm::Client, String>);

impl Ssm {
    pub fn new(aws: Result<&crate::aws::Aws, String>) -> Ssm {
        Ssm(aws.map(crate::aws::Aws::ssm))
    }
}

impl ParameterStore for Ssm {
    async fn get(&self, name: &str) -> Result<SecretString, String> {
        let client = self.0.as_ref().map_err(String::clone)?;
        let answer = client
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(e).to_string())?;
        answer
            .parameter
            .and_then(|p| p.value)
            .map(SecretString::from)
            .ok_or_else(|| "the parameter has no value".to_owned())
    }
}

/// Reads the configuration. `env` looks up a variable; `ssm` is only built (and only called) when
/// a `*_PARAMETER` variable is set, so local runs need no AWS credentials.
pub async fn load<S: ParameterStore>(
    env: impl Fn(&str) -> Option<String>,
    ssm: impl AsyncFnOnce() -> S,
    dry_run: bool,
) -> Result<Config, ConfigError> {
    let var = |name: &'static str| -> Result<Option<String>, ConfigError> {
        match env(name) {
            Some(v) if v.trim().is_empty() => Err(ConfigError::Empty { var: name }),
            other => Ok(other),
        }
    };
    let channel = var(SLACK_CHANNEL)?;
    // Checked first among the settings that need no secrets, so a bad rule is reported even
    // when a token or secret is also missing.
    let rules = match var(ROUTES)? {
        Some(json) => ChannelRules::parse(&json).map_err(|e| ConfigError::Invalid {
            var: ROUTES,
            why: e.to_string(),
        })?,
        None => ChannelRules::default(),
    };
    let chatops_rules = match var(CHATOPS)? {
        Some(json) => Some(
            ChatopsRules::parse(&json).map_err(|e| ConfigError::Invalid {
                var: CHATOPS,
                why: e.to_string(),
            })?,
        ),
        None => None,
    };
    let state = match var(STATE_TABLE)? {
        Some(table) if !dry_run => Some(StateSettings {
            table: valid_table_name(table.trim())?,
        }),
        _ => None,
    };
    let thread_window = thread_window(var(PREVIEW_THREAD_MINUTES)?)?;
    let retry = retry_schedule(&var)?;
    let sqs =
        sqs_settings(var(RETRY_QUEUE_URL)?, var(DEAD_LETTER_QUEUE_URL)?)?.filter(|_| !dry_run);
    let token = (var(SLACK_TOKEN)?, var(SLACK_TOKEN_PARAMETER)?);
    let secret = (
        var(PULUMI_WEBHOOK_SECRET)?,
        var(PULUMI_WEBHOOK_SECRET_PARAMETER)?,
    );
    let pulumi_token = (
        var(PULUMI_ACCESS_TOKEN)?,
        var(PULUMI_ACCESS_TOKEN_PARAMETER)?,
    );
    let pulumi_api_url = var(PULUMI_API_URL)?.unwrap_or_else(|| DEFAULT_PULUMI_API_URL.to_owned());
    // Only a relay with a token calls the API: without one, its URL changes nothing.
    let has_pulumi_token = pulumi_token.0.is_some() || pulumi_token.1.is_some();
    if has_pulumi_token
        && !(pulumi_api_url.starts_with("https://") || pulumi_api_url.starts_with("http://"))
    {
        return Err(ConfigError::Invalid {
            var: PULUMI_API_URL,
            why: format!("{pulumi_api_url:?} is not an http(s) URL"),
        });
    }
    // A dry run posts nothing and answers no Slack requests: its signing secret is not read.
    let signing = match (
        var(SLACK_SIGNING_SECRET)?,
        var(SLACK_SIGNING_SECRET_PARAMETER)?,
    ) {
        _ if dry_run => (None, None),
        given => given,
    };
    let has_signing_secret = signing.0.is_some() || signing.1.is_some();
    if has_signing_secret && !has_pulumi_token {
        return Err(ConfigError::Missing {
            var: PULUMI_ACCESS_TOKEN,
            hint: "ChatOps (SLACK_SIGNING_SECRET) runs Pulumi Deployments, which takes a Pulumi \
                   Cloud access token: set PULUMI_ACCESS_TOKEN or PULUMI_ACCESS_TOKEN_PARAMETER, \
                   or unset the signing secret",
        });
    }
    if chatops_rules.is_some() && !has_signing_secret && !dry_run {
        return Err(ConfigError::Invalid {
            var: CHATOPS,
            why: "the rules are set, but ChatOps is off without the Slack app's signing secret: \
                  set SLACK_SIGNING_SECRET or SLACK_SIGNING_SECRET_PARAMETER"
                .into(),
        });
    }
    let needs_ssm = (!dry_run && token.1.is_some())
        || secret.1.is_some()
        || pulumi_token.1.is_some()
        || signing.1.is_some();
    let ssm = if needs_ssm { Some(ssm().await) } else { None };

    // Both parameters at once: a cold start waits for one round trip to SSM, not two.
    let token_lookup = async {
        if dry_run {
            return Ok(None);
        }
        secret_from(
            &ssm,
            (SLACK_TOKEN, token.0),
            (SLACK_TOKEN_PARAMETER, token.1),
        )
        .await
    };
    let (webhook_secret, token, pulumi_token, signing_secret) = tokio::join!(
        secret_from(
            &ssm,
            (PULUMI_WEBHOOK_SECRET, secret.0),
            (PULUMI_WEBHOOK_SECRET_PARAMETER, secret.1),
        ),
        token_lookup,
        secret_from(
            &ssm,
            (PULUMI_ACCESS_TOKEN, pulumi_token.0),
            (PULUMI_ACCESS_TOKEN_PARAMETER, pulumi_token.1),
        ),
        secret_from(
            &ssm,
            (SLACK_SIGNING_SECRET, signing.0),
            (SLACK_SIGNING_SECRET_PARAMETER, signing.1),
        ),
    );
    let chatops_buttons = match var(CHATOPS_BUTTONS)?.as_deref().map(str::trim) {
        None | Some("off") => false,
        Some("on") => true,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: CHATOPS_BUTTONS,
                why: format!("{other:?} is neither on nor off"),
            });
        }
    };
    let chatops = signing_secret?.map(|secret| ChatopsSettings {
        // Pasted from Slack's page, a trailing newline would make every signature "wrong".
        signing_secret: SigningSecret::new(secret.expose_secret().trim().into()),
        rules: chatops_rules.unwrap_or_default(),
    });
    let webhook_secret = webhook_secret?.map(WebhookSecret::new);
    let pulumi = pulumi_token?.map(|token| PulumiSettings {
        api_url: pulumi_api_url,
        token,
    });

    let output = if dry_run {
        Output::DryRun { channel }
    } else {
        let channel = channel.ok_or(ConfigError::Missing {
            var: SLACK_CHANNEL,
            hint: "set it to the Slack channel to post to, e.g. #ops or C0123456789",
        })?;
        let token = token?.ok_or(ConfigError::Missing {
            var: SLACK_TOKEN,
            hint: "set SLACK_TOKEN to a Slack bot token (xoxb-…), or SLACK_TOKEN_PARAMETER \
                       to the name of an SSM SecureString holding it; or run with --dry-run",
        })?;
        let api_url = var(SLACK_API_URL)?.unwrap_or_else(|| DEFAULT_SLACK_API_URL.to_owned());
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                var: SLACK_API_URL,
                why: format!("{api_url:?} is not an http(s) URL"),
            });
        }
        let mut retry = RetryPolicy::default();
        if let Some(ms) = var(SLACK_DEADLINE_MS)? {
            let ms: u64 = ms.trim().parse().map_err(|_| ConfigError::Invalid {
                var: SLACK_DEADLINE_MS,
                why: format!("{ms:?} is not a whole number of milliseconds"),
            })?;
            if !(100..=25_000).contains(&ms) {
                return Err(ConfigError::Invalid {
                    var: SLACK_DEADLINE_MS,
                    why: "it must be between 100 and 25000 (API Gateway gives up at 30 s)".into(),
                });
            }
            retry.deadline = Duration::from_millis(ms);
            // A stalled attempt must leave time for a retry on a fresh connection.
            retry.attempt_timeout = retry.attempt_timeout.min(retry.deadline / 2);
        }
        Output::Slack {
            api_url,
            token,
            channel,
            retry,
        }
    };
    Ok(Config {
        output,
        webhook_secret,
        rules,
        state,
        thread_window,
        retry,
        sqs,
        data_dir: None,
        pulumi,
        chatops,
        chatops_buttons,
    })
}

/// The two queue URLs: both or neither, each an http(s) URL (SQS's are
/// `https://sqs.<region>.amazonaws.com/<account>/<name>`).
fn sqs_settings(
    queue: Option<String>,
    dead_letters: Option<String>,
) -> Result<Option<SqsSettings>, ConfigError> {
    let url = |var: &'static str, value: String| {
        let value = value.trim().to_owned();
        if value.starts_with("https://") || value.starts_with("http://") {
            Ok(value)
        } else {
            Err(ConfigError::Invalid {
                var,
                why: format!("{value:?} is not a queue URL (https://sqs.<region>.amazonaws.com/…)"),
            })
        }
    };
    match (queue, dead_letters) {
        (None, None) => Ok(None),
        (Some(queue), Some(dead)) => Ok(Some(SqsSettings {
            queue_url: url(RETRY_QUEUE_URL, queue)?,
            dead_letter_queue_url: url(DEAD_LETTER_QUEUE_URL, dead)?,
        })),
        (Some(_), None) => Err(ConfigError::Missing {
            var: DEAD_LETTER_QUEUE_URL,
            hint: "RETRY_QUEUE_URL needs its dead-letter queue too",
        }),
        (None, Some(_)) => Err(ConfigError::Missing {
            var: RETRY_QUEUE_URL,
            hint: "DEAD_LETTER_QUEUE_URL is only used with RETRY_QUEUE_URL",
        }),
    }
}

/// `RETRY_FIRST_MS`, `RETRY_MAX_MS` and `RETRY_FOR_MINUTES`, each defaulting on its own.
fn retry_schedule(
    var: &impl Fn(&'static str) -> Result<Option<String>, ConfigError>,
) -> Result<RetrySchedule, ConfigError> {
    let number = |name: &'static str, range: std::ops::RangeInclusive<u64>, unit: &str| {
        let Some(value) = var(name)? else {
            return Ok(None);
        };
        match value.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(ConfigError::Invalid {
                var: name,
                why: format!(
                    "{value:?} is not a whole number of {unit} from {} to {}",
                    range.start(),
                    range.end()
                ),
            }),
        }
    };
    let defaults = RetrySchedule::default();
    let first = number(RETRY_FIRST_MS, 1..=86_400_000, "milliseconds")?
        .map_or(defaults.first, Duration::from_millis);
    let max = number(RETRY_MAX_MS, 1..=86_400_000, "milliseconds")?
        .map_or(defaults.max, Duration::from_millis);
    let minutes = number(RETRY_FOR_MINUTES, 1..=20_160, "minutes")?;
    if max < first {
        return Err(ConfigError::Invalid {
            var: RETRY_MAX_MS,
            why: format!(
                "it is shorter than RETRY_FIRST_MS ({} ms): the wait only grows",
                first.as_millis()
            ),
        });
    }
    Ok(RetrySchedule {
        first,
        max,
        give_up_after: minutes.map_or(defaults.give_up_after, |m| Duration::from_secs(m * 60)),
    })
}

/// DynamoDB's table-name rule, checked here so a typo fails at start-up, not on the first webhook.
fn valid_table_name(table: &str) -> Result<String, ConfigError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if (3..=255).contains(&table.len()) && table.chars().all(allowed) {
        Ok(table.to_owned())
    } else {
        Err(ConfigError::Invalid {
            var: STATE_TABLE,
            why: format!(
                "{table:?} is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, _ - .)"
            ),
        })
    }
}

fn thread_window(minutes: Option<String>) -> Result<Duration, ConfigError> {
    let Some(minutes) = minutes else {
        return Ok(Duration::from_secs(DEFAULT_PREVIEW_THREAD_MINUTES * 60));
    };
    match minutes.trim().parse::<u64>() {
        Ok(m) if (1..=1440).contains(&m) => Ok(Duration::from_secs(m * 60)),
        _ => Err(ConfigError::Invalid {
            var: PREVIEW_THREAD_MINUTES,
            why: format!("{minutes:?} is not a whole number of minutes from 1 to 1440"),
        }),
    }
}

/// A secret given either directly or as an SSM parameter name, but not both.
async fn secret_from<S: ParameterStore>(
    ssm: &Option<S>,
    (direct_var, direct): (&'static str, Option<String>),
    (param_var, param): (&'static str, Option<String>),
) -> Result<Option<SecretString>, ConfigError> {
    match (direct, param) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict(direct_var, param_var)),
        (Some(value), None) => Ok(Some(SecretString::from(value))),
        (None, Some(name)) => {
            let store = ssm
                .as_ref()
                .expect("an SSM client is built whenever a parameter is named");
            let value = store
                .get(&name)
                .await
                .map_err(|why| ConfigError::Parameter {
                    var: param_var,
                    name: name.clone(),
                    why,
                })?;
            Ok(Some(value))
        }
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    /// An in-memory parameter store standing in for SSM (the real one is tested against moto).
    struct Params(HashMap<&'static str, &'static str>);

    impl ParameterStore for Params {
        async fn get(&self, name: &str) -> Result<SecretString, String> {
            self.0
                .get(name)
                .map(|v| SecretString::from(*v))
                .ok_or_else(|| "ParameterNotFound".to_owned())
        }
    }

    async fn load_with(vars: &[(&str, &str)], dry_run: bool) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let params = Params(
            [
                ("/relay/token", "xoxb-from-ssm"),
                ("/relay/secret", "whsec"),
                ("/relay/pulumi", "pul-from-ssm"),
            ]
            .into(),
        );
        load(|name| vars.get(name).cloned(), async || params, dry_run).await
    }

    #[tokio::test]
    async fn channel_and_token_are_enough() {
        let config = load_with(
            &[("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")],
            false,
        )
        .await
        .unwrap();
        let Output::Slack {
            api_url,
            channel,
            token,
            ..
        } = config.output
        else {
            panic!()
        };
        assert_eq!(api_url, DEFAULT_SLACK_API_URL);
        assert_eq!(channel, "#ops");
        assert_eq!(token.expose_secret(), "xoxb-1");
        assert!(config.webhook_secret.is_none());
    }

    #[tokio::test]
    async fn a_state_table_and_the_default_thread_window() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")];
        let config = load_with(
            &[&base[..], &[("STATE_TABLE", "relay-state")]].concat(),
            false,
        )
        .await
        .unwrap();
        assert_eq!(
            config.state,
            Some(StateSettings {
                table: "relay-state".into(),
            })
        );
        assert_eq!(config.thread_window, Duration::from_secs(3600));
        let unset = load_with(&base, false).await.unwrap();
        assert_eq!(unset.state, None, "no table, no state");
    }

    #[tokio::test]
    async fn a_bad_table_name_or_thread_window_names_the_variable() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")];
        let table = load_with(
            &[&base[..], &[("STATE_TABLE", "no spaces!")]].concat(),
            false,
        )
        .await
        .unwrap_err();
        assert!(
            table.to_string().starts_with("STATE_TABLE is not valid"),
            "{table}"
        );
        let window = [("STATE_TABLE", "t-1"), ("PREVIEW_THREAD_MINUTES", "0")];
        let window = load_with(&[&base[..], &window[..]].concat(), false)
            .await
            .unwrap_err();
        assert!(
            window
                .to_string()
                .starts_with("PREVIEW_THREAD_MINUTES is not valid"),
            "{window}"
        );
    }

    #[tokio::test]
    async fn the_retry_schedule_defaults_to_the_issue_s_and_each_setting_is_checked() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")];
        let config = load_with(&base, false).await.unwrap();
        assert_eq!(config.retry, RetrySchedule::default());
        let set = [
            ("RETRY_FIRST_MS", "50"),
            ("RETRY_MAX_MS", "400"),
            ("RETRY_FOR_MINUTES", "2"),
        ];
        let config = load_with(&[&base[..], &set[..]].concat(), false)
            .await
            .unwrap();
        assert_eq!(
            config.retry,
            RetrySchedule {
                first: Duration::from_millis(50),
                max: Duration::from_millis(400),
                give_up_after: Duration::from_secs(120),
            }
        );
        for (var, value, says) in [
            ("RETRY_FIRST_MS", "soon", "RETRY_FIRST_MS is not valid"),
            ("RETRY_FOR_MINUTES", "0", "RETRY_FOR_MINUTES is not valid"),
            (
                "RETRY_MAX_MS",
                "10",
                "RETRY_MAX_MS is not valid: it is shorter",
            ),
        ] {
            let bad = [("RETRY_FIRST_MS", "50"), (var, value)];
            let error = load_with(&[&base[..], &bad[..]].concat(), false)
                .await
                .unwrap_err();
            assert!(error.to_string().starts_with(says), "{error}");
        }
    }

    #[tokio::test]
    async fn a_missing_channel_names_the_variable() {
        let err = load_with(&[("SLACK_TOKEN", "xoxb-1")], false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("SLACK_CHANNEL is not set"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_missing_token_names_both_ways_to_give_it() {
        let err = load_with(&[("SLACK_CHANNEL", "#ops")], false)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("SLACK_TOKEN is not set") && text.contains("SLACK_TOKEN_PARAMETER"));
    }

    #[tokio::test]
    async fn secrets_come_from_parameters_when_named() {
        let config = load_with(
            &[
                ("SLACK_CHANNEL", "#ops"),
                ("SLACK_TOKEN_PARAMETER", "/relay/token"),
                ("PULUMI_WEBHOOK_SECRET_PARAMETER", "/relay/secret"),
            ],
            false,
        )
        .await
        .unwrap();
        let Output::Slack { token, .. } = config.output else {
            panic!()
        };
        assert_eq!(token.expose_secret(), "xoxb-from-ssm");
        assert_eq!(
            config.webhook_secret.unwrap().sign(b""),
            WebhookSecret::new("whsec".into()).sign(b"")
        );
    }

    #[tokio::test]
    async fn an_unreadable_parameter_names_variable_and_parameter() {
        let err = load_with(
            &[
                ("SLACK_CHANNEL", "#ops"),
                ("SLACK_TOKEN_PARAMETER", "/nope"),
            ],
            false,
        )
        .await
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("SLACK_TOKEN_PARAMETER") && text.contains("\"/nope\""),
            "{text}"
        );
    }

    #[tokio::test]
    async fn giving_a_secret_both_ways_is_an_error() {
        let err = load_with(
            &[
                ("SLACK_CHANNEL", "#ops"),
                ("SLACK_TOKEN", "xoxb-1"),
                ("PULUMI_WEBHOOK_SECRET", "a"),
                ("PULUMI_WEBHOOK_SECRET_PARAMETER", "/relay/secret"),
            ],
            false,
        )
        .await
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Conflict(PULUMI_WEBHOOK_SECRET, _)
        ));
    }

    #[tokio::test]
    async fn empty_values_are_errors_not_defaults() {
        let err = load_with(&[("SLACK_CHANNEL", " "), ("SLACK_TOKEN", "x")], false)
            .await
            .unwrap_err();
        assert!(matches!(err, ConfigError::Empty { var: SLACK_CHANNEL }));
    }

    #[tokio::test]
    async fn dry_run_needs_neither_channel_nor_token() {
        let config = load_with(&[], true).await.unwrap();
        assert!(matches!(config.output, Output::DryRun { channel: None }));
    }

    #[tokio::test]
    async fn deadline_is_bounded_under_api_gateways_limit() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "x")];
        for bad in ["soon", "50", "30000"] {
            let vars = [base[0], base[1], ("SLACK_DEADLINE_MS", bad)];
            let err = load_with(&vars, false).await.unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        var: SLACK_DEADLINE_MS,
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn errors_never_contain_secret_values() {
        let err = load_with(
            &[
                ("SLACK_CHANNEL", "#ops"),
                ("SLACK_TOKEN", "xoxb-SECRET"),
                ("SLACK_TOKEN_PARAMETER", "/relay/token"),
            ],
            false,
        )
        .await
        .unwrap_err();
        assert!(!format!("{err} {err:?}").contains("xoxb-SECRET"));
    }

    #[tokio::test]
    async fn a_pulumi_token_turns_enrichment_on_with_the_default_api() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")];
        assert!(load_with(&base, false).await.unwrap().pulumi.is_none());
        let direct = load_with(
            &[&base[..], &[("PULUMI_ACCESS_TOKEN", "pul-1")]].concat(),
            false,
        )
        .await
        .unwrap()
        .pulumi
        .expect("enrichment is on");
        assert_eq!(direct.api_url, DEFAULT_PULUMI_API_URL);
        assert_eq!(direct.token.expose_secret(), "pul-1");
        let from_ssm = [
            ("PULUMI_ACCESS_TOKEN_PARAMETER", "/relay/pulumi"),
            ("PULUMI_API_URL", "https://pulumi.internal.example"),
        ];
        let from_ssm = load_with(&[&base[..], &from_ssm[..]].concat(), false)
            .await
            .unwrap()
            .pulumi
            .unwrap();
        assert_eq!(from_ssm.token.expose_secret(), "pul-from-ssm");
        assert_eq!(from_ssm.api_url, "https://pulumi.internal.example");
    }

    #[tokio::test]
    async fn a_pulumi_token_given_twice_or_a_bad_api_url_names_the_variable() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")];
        let both = [
            ("PULUMI_ACCESS_TOKEN", "pul-SECRET"),
            ("PULUMI_ACCESS_TOKEN_PARAMETER", "/relay/pulumi"),
        ];
        let err = load_with(&[&base[..], &both[..]].concat(), false)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "set only one of PULUMI_ACCESS_TOKEN and PULUMI_ACCESS_TOKEN_PARAMETER"
        );
        assert!(!format!("{err:?}").contains("pul-SECRET"));
        let url = [
            ("PULUMI_ACCESS_TOKEN", "pul-1"),
            ("PULUMI_API_URL", "api.pulumi.com"),
        ];
        let err = load_with(&[&base[..], &url[..]].concat(), false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with("PULUMI_API_URL is not valid"),
            "{err}"
        );
        let missing = [("PULUMI_ACCESS_TOKEN_PARAMETER", "/relay/absent")];
        let err = load_with(&[&base[..], &missing[..]].concat(), false)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("PULUMI_ACCESS_TOKEN_PARAMETER"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn chatops_needs_its_signing_secret_and_a_pulumi_token() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")];
        let err = load_with(
            &[&base[..], &[("SLACK_SIGNING_SECRET", "s")]].concat(),
            false,
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("PULUMI_ACCESS_TOKEN is not set"),
            "{err}"
        );
        let rules = r#"[{"users": ["U0DEV0001"], "operations": ["status"]}]"#;
        let err = load_with(&[&base[..], &[("CHATOPS", rules)]].concat(), false)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("SLACK_SIGNING_SECRET"), "{err}");
        let err = load_with(
            &[&base[..], &[("CHATOPS", "[{\"users\": []}]")]].concat(),
            false,
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CHATOPS is not valid: rule chatops[0]"),
            "{err}"
        );
        let on = load_with(
            &[
                &base[..],
                &[
                    ("SLACK_SIGNING_SECRET", "s"),
                    ("PULUMI_ACCESS_TOKEN", "pul-1"),
                    ("CHATOPS", rules),
                ],
            ]
            .concat(),
            false,
        )
        .await
        .unwrap();
        assert_eq!(on.chatops.map(|c| c.rules.len()), Some(1));
    }

    #[tokio::test]
    async fn chatops_buttons_is_on_or_off() {
        let base = [("SLACK_CHANNEL", "#ops"), ("SLACK_TOKEN", "xoxb-1")];
        let on = load_with(&[&base[..], &[("CHATOPS_BUTTONS", "on")]].concat(), false).await;
        assert!(on.unwrap().chatops_buttons);
        let err = load_with(&[&base[..], &[("CHATOPS_BUTTONS", "yes")]].concat(), false)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "CHATOPS_BUTTONS is not valid: \"yes\" is neither on nor off"
        );
    }
}

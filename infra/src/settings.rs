//! The stack's configuration (`pulumi config set …`), validated before any resource is declared.
//!
//! Values come from the language host's `PULUMI_CONFIG` / `PULUMI_CONFIG_SECRET_KEYS`, which is how
//! Pulumi hands config to every program; reading them directly lets us tell "missing" from
//! "set without --secret" and answer with the exact command that fixes it. Secret values are not
//! held here: only whether they are set. The program reads them as secret `Output`s through the
//! Pulumi Gestalt context, so they stay secrets end to end.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use relay_core::channel_rules::{ChannelRules, ChannelRulesError};
use relay_core::chatops::{ChatopsRules, ChatopsRulesError};
use relay_core::contract::MAX_ROUTES_BYTES;

use crate::register::{self, RegistrationError, WebhookRegistration};

/// CloudWatch Logs accepts only these retention periods (days).
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    Arm64,
    X86_64,
}

impl Architecture {
    /// The name Lambda uses in `architectures`.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::Arm64 => "arm64",
            Architecture::X86_64 => "x86_64",
        }
    }

    /// The ELF `e_machine` of its executables.
    pub fn elf_machine(self) -> u16 {
        match self {
            Architecture::Arm64 => 183,
            Architecture::X86_64 => 62,
        }
    }

    /// The `cargo lambda build` flag for it.
    pub fn cargo_lambda_flag(self) -> &'static str {
        match self {
            Architecture::Arm64 => "--arm64",
            Architecture::X86_64 => "--x86-64",
        }
    }
}

/// Validated settings; secrets are only known to be present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub slack_channel: String,
    /// Whether `webhookSecret` was given; if not, the program generates one.
    pub has_webhook_secret: bool,
    /// Whether `pulumiAccessToken` was given (as a secret); if not, the relay reads nothing from
    /// Pulumi Cloud and nothing is created for it.
    pub has_pulumi_access_token: bool,
    /// Whether `slackSigningSecret` was given (as a secret, and with `pulumiAccessToken`): the
    /// relay's ChatOps endpoints answer only with both. If not, nothing is created for it.
    pub has_slack_signing_secret: bool,
    pub architecture: Architecture,
    pub log_retention_days: i32,
    pub handler_zip: Option<PathBuf>,
    /// The validated routing rules as compact JSON, for the Lambda's `ROUTES`; `None` when unset.
    pub routes: Option<String>,
    /// The validated ChatOps rules as compact JSON, for the relay's `CHATOPS`; `None` when unset
    /// or empty (nobody may do anything from Slack).
    pub chatops: Option<String>,
    /// The Pulumi Cloud webhook to register; `None` when `registerWebhook` is unset.
    pub register_webhook: Option<WebhookRegistration>,
    /// Where the queue alarms are emailed (`alertEmail`); `None`: the alarms notify no one.
    pub alert_email: Option<String>,
}

/// A configuration problem, phrased as what to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("config `{key}` is required: run `pulumi config set {key} {example}{secret}`", secret = if *secret { " --secret" } else { "" })]
    Missing {
        key: &'static str,
        example: &'static str,
        secret: bool,
    },
    #[error(
        "config `{key}` must be a secret: run `pulumi config set {key} <value> --secret` (and rotate it: it was stored in plain text)"
    )]
    NotSecret { key: &'static str },
    #[error("config `{key}` is {value:?}, but {why}: run `pulumi config set {key} {example}`")]
    Invalid {
        key: &'static str,
        value: String,
        why: String,
        example: &'static str,
    },
    #[error(
        "config `routes` is not valid: {0} (see \"Routing\" in the README; `pulumi config get routes` shows the rules)"
    )]
    Routes(ChannelRulesError),
    #[error(
        "config `routes` must not be a secret: the Lambda reads it from a plain environment variable; set it again without --secret"
    )]
    SecretRoutes,
    #[error(
        "config `chatops` is not valid: {0} (see \"ChatOps\" in the README; `pulumi config get chatops` shows the rules)"
    )]
    Chatops(ChatopsRulesError),
    #[error(
        "config `chatops` must not be a secret: the Lambda reads it from a plain environment variable (Slack IDs are not secrets); set it again without --secret"
    )]
    SecretChatops,
    /// `chatops` rules without what turns the Slack endpoints on: they would allow nothing.
    #[error(
        "config `chatops` needs `slackSigningSecret` and `pulumiAccessToken` (secrets): without both the relay's Slack endpoints are off and its rules allow nothing; {}, or `pulumi config rm chatops` to leave ChatOps off",
        missing_secrets(.missing)
    )]
    ChatopsWithoutSecrets { missing: Vec<&'static str> },
    #[error(
        "config `slackSigningSecret` needs `pulumiAccessToken` (a secret): the relay's Slack endpoints act through Pulumi Cloud and are off without it; {}, or `pulumi config rm slackSigningSecret` to leave ChatOps off",
        missing_secrets(&[keys::PULUMI_ACCESS_TOKEN])
    )]
    SigningSecretWithoutPulumiToken,
    /// `routes` and `chatops` share the room the Lambda's environment leaves.
    #[error(
        "config `routes` and `chatops` are {} bytes as JSON together ({routes} and {chatops}), but Lambda allows 4 KB of environment variables in all and the two share {MAX_ROUTES_BYTES} bytes of it: keep them under that together (fewer rules, shorter names)",
        .routes + .chatops
    )]
    RulesTooLarge { routes: usize, chatops: usize },
    #[error(transparent)]
    RegisterWebhook(#[from] RegistrationError),
}

/// The program's config keys (without the project prefix).
pub mod keys {
    pub const SLACK_TOKEN: &str = "slackToken";
    pub const SLACK_CHANNEL: &str = "slackChannel";
    pub const WEBHOOK_SECRET: &str = "webhookSecret";
    pub const ARCHITECTURE: &str = "architecture";
    pub const LOG_RETENTION_DAYS: &str = "logRetentionDays";
    pub const HANDLER_ZIP: &str = "handlerZip";
    /// Structured config (`pulumi config set --path 'routes[0].stack' …` or `--json`): the
    /// language host passes it as one JSON string.
    pub const ROUTES: &str = "routes";
    /// Structured config, like `routes`: the Pulumi Cloud webhook to register (see `register`).
    pub const REGISTER_WEBHOOK: &str = "registerWebhook";
    /// An address the queue alarms are emailed to (through an SNS topic).
    pub const ALERT_EMAIL: &str = "alertEmail";
    /// A Pulumi Cloud access token the relay reads a run's details with (why it failed).
    pub const PULUMI_ACCESS_TOKEN: &str = "pulumiAccessToken";
    /// The Slack app's signing secret: with it (and `pulumiAccessToken`) the relay answers the
    /// app's slash command and buttons.
    pub const SLACK_SIGNING_SECRET: &str = "slackSigningSecret";
    /// Structured config, like `routes`: who may do what from Slack (`relay_core::chatops`).
    pub const CHATOPS: &str = "chatops";

    /// The defaults `Pulumi.yaml` declares for the optional keys, which mean "not set". The CLI
    /// requires every declared key without a default and hands the program each default as if the
    /// stack had set it (pulumi/pulumi `pkg/workspace/config.go`, `mergeConfig` and
    /// `createConfigValue`: scalars as text, lists and maps as compact JSON).
    pub const UNSET: &[(&str, &str)] = &[
        (WEBHOOK_SECRET, ""),
        (HANDLER_ZIP, ""),
        (ROUTES, "[]"),
        (REGISTER_WEBHOOK, "{}"),
        (ALERT_EMAIL, ""),
        (PULUMI_ACCESS_TOKEN, ""),
        (SLACK_SIGNING_SECRET, ""),
        (CHATOPS, "[]"),
    ];
}

/// Config as the language host passes it: `project:key` → value, and the secret keys.
pub struct RawConfig {
    project: String,
    values: BTreeMap<String, String>,
    secret_keys: BTreeSet<String>,
}

impl RawConfig {
    pub fn new(
        project: &str,
        values: BTreeMap<String, String>,
        secret_keys: BTreeSet<String>,
    ) -> Self {
        RawConfig {
            project: project.to_owned(),
            values,
            secret_keys,
        }
    }

    /// Reads `PULUMI_PROJECT`, `PULUMI_CONFIG` and `PULUMI_CONFIG_SECRET_KEYS`.
    pub fn from_env() -> anyhow::Result<RawConfig> {
        use anyhow::Context;
        let project = std::env::var("PULUMI_PROJECT")
            .ok()
            .context("PULUMI_PROJECT is not set: run this program with `pulumi up`")?;
        let values = match std::env::var("PULUMI_CONFIG") {
            Ok(json) => serde_json::from_str(&json)
                .context("PULUMI_CONFIG is not a JSON object of strings")?,
            Err(_) => BTreeMap::new(),
        };
        let secret_keys = match std::env::var("PULUMI_CONFIG_SECRET_KEYS") {
            Ok(json) => serde_json::from_str(&json)
                .context("PULUMI_CONFIG_SECRET_KEYS is not a JSON array")?,
            Err(_) => BTreeSet::new(),
        };
        Ok(RawConfig::new(&project, values, secret_keys))
    }

    fn full(&self, key: &str) -> String {
        format!("{}:{key}", self.project)
    }

    /// The value of `key` and whether it is secret; `None` when unset or at its "unset" default
    /// (blank text counts as unset too: `pulumi config set routes ''`).
    fn get(&self, key: &str) -> Option<(&str, bool)> {
        let full = self.full(key);
        let value = self.values.get(&full)?;
        let unset = keys::UNSET
            .iter()
            .any(|(k, default)| *k == key && (value.trim() == *default || value.trim().is_empty()));
        if unset {
            return None;
        }
        Some((value.as_str(), self.secret_keys.contains(&full)))
    }

    /// Whether the optional secret `key` is set; set in plain text, it is refused.
    fn optional_secret(&self, key: &'static str) -> Result<bool, SettingsError> {
        match self.get(key) {
            None => Ok(false),
            Some((_, false)) => Err(SettingsError::NotSecret { key }),
            Some((_, true)) => Ok(true),
        }
    }

    /// Checks every key; the first problem found is returned. Relative paths are taken from
    /// `root`, the project directory (where `Pulumi.yaml` is).
    pub fn validate(&self, root: &Path) -> Result<Settings, SettingsError> {
        use keys::*;
        match self.get(SLACK_TOKEN) {
            None => {
                return Err(SettingsError::Missing {
                    key: SLACK_TOKEN,
                    example: "xoxb-…",
                    secret: true,
                });
            }
            Some((_, false)) => return Err(SettingsError::NotSecret { key: SLACK_TOKEN }),
            Some((_, true)) => {}
        }
        let has_webhook_secret = self.optional_secret(WEBHOOK_SECRET)?;
        let has_pulumi_access_token = self.optional_secret(PULUMI_ACCESS_TOKEN)?;
        let has_slack_signing_secret = self.optional_secret(SLACK_SIGNING_SECRET)?;
        let slack_channel = match self.get(SLACK_CHANNEL) {
            Some((value, _)) if !value.trim().is_empty() => value.trim().to_owned(),
            _ => {
                return Err(SettingsError::Missing {
                    key: SLACK_CHANNEL,
                    example: "'#ops'",
                    secret: false,
                });
            }
        };
        let architecture = match self.get(ARCHITECTURE).map(|(v, _)| v) {
            None | Some("arm64") => Architecture::Arm64,
            Some("x86_64") => Architecture::X86_64,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    key: ARCHITECTURE,
                    value: other.to_owned(),
                    why: "it must be arm64 or x86_64".into(),
                    example: "arm64",
                });
            }
        };
        let log_retention_days = match self.get(LOG_RETENTION_DAYS).map(|(v, _)| v) {
            None => 14,
            Some(text) => match text.trim().parse::<i32>() {
                Ok(days) if RETENTION_DAYS.contains(&days) => days,
                _ => {
                    return Err(SettingsError::Invalid {
                        key: LOG_RETENTION_DAYS,
                        value: text.to_owned(),
                        why: format!(
                            "CloudWatch Logs only keeps logs for one of {RETENTION_DAYS:?} days"
                        ),
                        example: "14",
                    });
                }
            },
        };
        let handler_zip = match self.get(HANDLER_ZIP).map(|(v, _)| v) {
            None => None,
            Some(path) => {
                let path = PathBuf::from(path);
                let invalid = |why: String| SettingsError::Invalid {
                    key: HANDLER_ZIP,
                    value: path.display().to_string(),
                    why,
                    example: "target/lambda/handler/bootstrap.zip",
                };
                if !root.join(&path).is_file() {
                    return Err(invalid("no such file".into()));
                }
                // A zip of the other architecture would deploy, then fail every invocation.
                let machine =
                    crate::bundle::bootstrap_machine(&root.join(&path)).map_err(invalid)?;
                if machine != architecture.elf_machine() {
                    let built = [Architecture::Arm64, Architecture::X86_64]
                        .into_iter()
                        .find(|a| a.elf_machine() == machine)
                        .map_or_else(
                            || format!("machine {machine}"),
                            |a| a.lambda_name().to_owned(),
                        );
                    return Err(invalid(format!(
                        "its bootstrap is built for {built} and `architecture` is {arch} (build it \
                         with `cargo lambda build --output-format zip {flag}`, or set \
                         `architecture` to {built})",
                        arch = architecture.lambda_name(),
                        flag = architecture.cargo_lambda_flag(),
                    )));
                }
                Some(path)
            }
        };
        let routes = match self.get(ROUTES) {
            None => None,
            Some((_, true)) => return Err(SettingsError::SecretRoutes),
            Some((json, false)) => routes_env(json)?,
        };
        let chatops = match self.get(CHATOPS) {
            None => None,
            Some((_, true)) => return Err(SettingsError::SecretChatops),
            Some((json, false)) => chatops_env(json)?,
        };
        let bytes = |rules: &Option<String>| rules.as_ref().map_or(0, String::len);
        if bytes(&routes) + bytes(&chatops) > MAX_ROUTES_BYTES {
            return Err(SettingsError::RulesTooLarge {
                routes: bytes(&routes),
                chatops: bytes(&chatops),
            });
        }
        // Rules for endpoints that are off, or endpoints that cannot act: said now rather than
        // found out from Slack.
        if chatops.is_some() {
            let missing: Vec<&'static str> = [
                (SLACK_SIGNING_SECRET, has_slack_signing_secret),
                (PULUMI_ACCESS_TOKEN, has_pulumi_access_token),
            ]
            .into_iter()
            .filter(|(_, set)| !set)
            .map(|(key, _)| key)
            .collect();
            if !missing.is_empty() {
                return Err(SettingsError::ChatopsWithoutSecrets { missing });
            }
        }
        if has_slack_signing_secret && !has_pulumi_access_token {
            return Err(SettingsError::SigningSecretWithoutPulumiToken);
        }
        let register_webhook = match self.get(REGISTER_WEBHOOK) {
            None => None,
            // Nothing in it is secret, and its names become plain resource inputs.
            Some((_, true)) => {
                return Err(register::problem(
                    "",
                    "must not be a secret",
                    "set it again without --secret (the webhook secret is the stack's own)",
                )
                .into());
            }
            Some((json, false)) => Some(register::parse(json)?),
        };
        let alert_email = match self.get(ALERT_EMAIL).map(|(v, _)| v.trim()) {
            None => None,
            Some(address) if is_email(address) => Some(address.to_owned()),
            Some(other) => {
                return Err(SettingsError::Invalid {
                    key: ALERT_EMAIL,
                    value: other.to_owned(),
                    why: "it is not an email address (SNS sends the alarms there)".into(),
                    example: "oncall@example.com",
                });
            }
        };
        Ok(Settings {
            slack_channel,
            has_webhook_secret,
            has_pulumi_access_token,
            has_slack_signing_secret,
            architecture,
            log_retention_days,
            handler_zip,
            routes,
            chatops,
            register_webhook,
            alert_email,
        })
    }
}

/// `local@domain.tld`, no spaces: what an SNS email subscription can be sent to. SNS itself
/// only finds out on delivery; this catches the typo before `pulumi up` creates anything.
fn is_email(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Validates `routes` with the relay's own parser (so `pulumi up` refuses exactly what the relay
/// would refuse at start-up) and returns it as compact JSON for the Lambda's environment; no rules
/// at all need no variable.
fn routes_env(json: &str) -> Result<Option<String>, SettingsError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| SettingsError::Routes(ChannelRulesError::NotJson(e.to_string())))?;
    if value.as_array().is_some_and(Vec::is_empty) {
        return Ok(None);
    }
    let compact = value.to_string();
    ChannelRules::from_value(value).map_err(SettingsError::Routes)?;
    Ok(Some(compact))
}

/// Validates `chatops` with the relay's own parser, like [`routes_env`], and returns it as compact
/// JSON for the relay's `CHATOPS`; no rules at all need no variable.
fn chatops_env(json: &str) -> Result<Option<String>, SettingsError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| SettingsError::Chatops(ChatopsRulesError::NotJson(e.to_string())))?;
    if value.as_array().is_some_and(Vec::is_empty) {
        return Ok(None);
    }
    let compact = value.to_string();
    ChatopsRules::from_value(value).map_err(SettingsError::Chatops)?;
    Ok(Some(compact))
}

/// What to run for the secrets in `missing` (config keys).
fn missing_secrets(missing: &[&str]) -> String {
    let example = |key: &str| match key {
        keys::SLACK_SIGNING_SECRET => {
            "`pulumi config set slackSigningSecret <signing secret> --secret` (the Slack app's \
             \"Basic Information\" page shows it)"
        }
        _ => "`pulumi config set pulumiAccessToken <token> --secret`",
    };
    let named: Vec<String> = missing.iter().map(|key| format!("`{key}`")).collect();
    let commands: Vec<&str> = missing.iter().map(|key| example(key)).collect();
    format!(
        "{} {} not set: run {}",
        named.join(" and "),
        if missing.len() == 1 { "is" } else { "are" },
        commands.join(" and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(values: &[(&str, &str)], secret: &[&str]) -> RawConfig {
        RawConfig::new(
            "relay",
            values
                .iter()
                .map(|(k, v)| (format!("relay:{k}"), v.to_string()))
                .collect(),
            secret.iter().map(|k| format!("relay:{k}")).collect(),
        )
    }

    fn minimal() -> Vec<(&'static str, &'static str)> {
        vec![("slackToken", "xoxb-1"), ("slackChannel", "#ops")]
    }

    #[test]
    fn token_and_channel_are_enough_and_defaults_apply() {
        let settings = config(&minimal(), &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        assert_eq!(settings.slack_channel, "#ops");
        assert_eq!(settings.architecture, Architecture::Arm64);
        assert_eq!(settings.log_retention_days, 14);
        assert!(!settings.has_webhook_secret);
        assert!(!settings.has_pulumi_access_token);
        assert!(!settings.has_slack_signing_secret);
        assert_eq!(settings.chatops, None);
        assert_eq!(settings.handler_zip, None);
        assert_eq!(settings.register_webhook, None);
    }

    #[test]
    fn the_defaults_of_optional_keys_read_as_unset() {
        // What the CLI passes for a stack that sets only the two required keys: every default of
        // Pulumi.yaml, as plain (not secret) text.
        let mut values = minimal();
        values.extend([
            ("webhookSecret", ""),
            ("handlerZip", ""),
            ("routes", "[]"),
            ("registerWebhook", "{}"),
            ("alertEmail", ""),
            ("pulumiAccessToken", ""),
            ("slackSigningSecret", ""),
            ("chatops", "[]"),
            ("architecture", "arm64"),
            ("logRetentionDays", "14"),
        ]);
        let settings = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        let bare = config(&minimal(), &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        assert_eq!(settings, bare);
        assert!(!settings.has_webhook_secret);
        assert!(!settings.has_pulumi_access_token);
        assert!(!settings.has_slack_signing_secret);
        assert_eq!(settings.routes, None);
        assert_eq!(settings.chatops, None);
        assert_eq!(settings.register_webhook, None);
        assert_eq!(settings.handler_zip, None);
    }

    #[test]
    fn a_secret_pulumi_access_token_is_optional_and_noted() {
        let mut values = minimal();
        values.push(("pulumiAccessToken", "pul-0123456789abcdef"));
        let settings = config(&values, &["slackToken", "pulumiAccessToken"])
            .validate(Path::new("."))
            .unwrap();
        assert!(settings.has_pulumi_access_token);
        // Everything else is as without it.
        let bare = config(&minimal(), &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        assert_eq!(
            Settings {
                has_pulumi_access_token: false,
                ..settings
            },
            bare
        );
    }

    #[test]
    fn a_plaintext_pulumi_access_token_is_refused() {
        let mut values = minimal();
        values.push(("pulumiAccessToken", "pul-0123456789abcdef"));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(
            err,
            SettingsError::NotSecret {
                key: "pulumiAccessToken"
            }
        );
        assert_eq!(
            err.to_string(),
            "config `pulumiAccessToken` must be a secret: run `pulumi config set pulumiAccessToken <value> --secret` (and rotate it: it was stored in plain text)"
        );
    }

    #[test]
    fn an_empty_pulumi_access_token_is_none_secret_or_not() {
        for value in ["", "  "] {
            for secret in [&["slackToken"][..], &["slackToken", "pulumiAccessToken"]] {
                let mut values = minimal();
                values.push(("pulumiAccessToken", value));
                let settings = config(&values, secret).validate(Path::new(".")).unwrap();
                assert!(!settings.has_pulumi_access_token, "{value:?} {secret:?}");
            }
        }
    }

    #[test]
    fn an_empty_rule_list_needs_no_routes_variable() {
        let mut values = minimal();
        values.push(("routes", "[ ]"));
        let settings = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        assert_eq!(settings.routes, None);
    }

    #[test]
    fn register_webhook_is_read_as_structured_config() {
        let mut values = minimal();
        // What `pulumi config set --path registerWebhook.… …` produces.
        values.push((
            "registerWebhook",
            r#"{"scope": "organization", "pulumiOrganization": "acme", "filters": ["update_failed"]}"#,
        ));
        let settings = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        let registration = settings.register_webhook.expect("a registration");
        assert_eq!(registration.organization, "acme");
        assert_eq!(registration.filters, ["update_failed"]);
    }

    #[test]
    fn a_bad_register_webhook_stops_validation_naming_the_field() {
        let mut values = minimal();
        values.push((
            "registerWebhook",
            r#"{"scope": "organization", "pulumiOrganization": "acme", "filters": ["update_failure"]}"#,
        ));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            matches!(&err, SettingsError::RegisterWebhook(e) if e.field == ".filters[0]"),
            "{err}"
        );
        assert!(err.to_string().contains("\"update_failure\""), "{err}");
    }

    #[test]
    fn a_secret_register_webhook_is_refused() {
        let mut values = minimal();
        values.push((
            "registerWebhook",
            r#"{"scope": "organization", "pulumiOrganization": "acme"}"#,
        ));
        let err = config(&values, &["slackToken", "registerWebhook"])
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config `registerWebhook` must not be a secret"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_token_says_how_to_set_it_as_a_secret() {
        let err = config(&[("slackChannel", "#ops")], &[])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config `slackToken` is required: run `pulumi config set slackToken xoxb-… --secret`"
        );
    }

    #[test]
    fn a_plaintext_token_is_refused() {
        let err = config(&minimal(), &[])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(err, SettingsError::NotSecret { key: "slackToken" });
        assert!(err.to_string().contains("--secret"));
    }

    #[test]
    fn a_plaintext_webhook_secret_is_refused() {
        let mut values = minimal();
        values.push(("webhookSecret", "abc"));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(
            err,
            SettingsError::NotSecret {
                key: "webhookSecret"
            }
        );
    }

    #[test]
    fn a_missing_channel_says_how_to_set_it() {
        let err = config(&[("slackToken", "x")], &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config `slackChannel` is required: run `pulumi config set slackChannel '#ops'`"
        );
    }

    #[test]
    fn architecture_must_be_one_lambda_supports() {
        let mut values = minimal();
        values.push(("architecture", "riscv"));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config `architecture` is \"riscv\", but it must be arm64 or x86_64"),
            "{err}"
        );
        values.pop();
        values.push(("architecture", "x86_64"));
        assert_eq!(
            config(&values, &["slackToken"])
                .validate(Path::new("."))
                .unwrap()
                .architecture,
            Architecture::X86_64
        );
    }

    #[test]
    fn retention_must_be_a_period_cloudwatch_accepts() {
        for bad in ["10", "two weeks", "-1"] {
            let mut values = minimal();
            values.push(("logRetentionDays", bad));
            let err = config(&values, &["slackToken"])
                .validate(Path::new("."))
                .unwrap_err();
            assert!(
                matches!(
                    err,
                    SettingsError::Invalid {
                        key: "logRetentionDays",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn routes_are_validated_and_passed_on_as_compact_json() {
        let mut values = minimal();
        // What `pulumi config set --path 'routes[0].stack' 'dev-*'` and friends produce.
        values.push((
            "routes",
            r#"[
                {
                    "name": "dev previews",
                    "stack": "dev-*",
                    "kinds": ["stack_preview"],
                    "mute": true
                }
            ]"#,
        ));
        let settings = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        let compact = settings.routes.expect("routes are passed on");
        assert!(
            !compact.contains('\n') && !compact.contains(": "),
            "{compact}"
        );
        let passed: serde_json::Value = serde_json::from_str(&compact).unwrap();
        assert_eq!(
            passed,
            serde_json::json!([{
                "name": "dev previews",
                "stack": "dev-*",
                "kinds": ["stack_preview"],
                "mute": true
            }])
        );
    }

    #[test]
    fn without_routes_nothing_is_passed_on() {
        let settings = config(&minimal(), &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        assert_eq!(settings.routes, None);
    }

    #[test]
    fn an_invalid_rule_is_refused_naming_it() {
        let mut values = minimal();
        values.push((
            "routes",
            r#"[{"name": "pager", "events": ["update_failed"], "mention": "@oncall"}]"#,
        ));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                r#"config `routes` is not valid: rule "pager" (routes[0]): `mention` "@oncall" would not notify anyone"#
            ),
            "{err}"
        );
    }

    #[test]
    fn routes_that_are_not_json_are_refused() {
        let mut values = minimal();
        values.push(("routes", "stack=dev-*"));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config `routes` is not valid: it is not JSON"),
            "{err}"
        );
    }

    #[test]
    fn secret_routes_are_refused() {
        let mut values = minimal();
        values.push(("routes", r##"[{"channel": "#a"}]"##));
        let err = config(&values, &["slackToken", "routes"])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(err, SettingsError::SecretRoutes);
    }

    #[test]
    fn routes_must_fit_in_the_lambda_environment() {
        let rule = r##"{"stack": "some-long-stack-name-*", "channel": "#a-long-channel-name"}"##;
        let routes = format!("[{}]", vec![rule; 60].join(","));
        let mut values: Vec<(&str, &str)> = minimal();
        values.push(("routes", &routes));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            matches!(err, SettingsError::RulesTooLarge { routes, chatops: 0 } if routes > MAX_ROUTES_BYTES)
        );
    }

    /// [`minimal`] with both secrets ChatOps needs.
    fn chatops_ready() -> (Vec<(&'static str, &'static str)>, Vec<&'static str>) {
        let mut values = minimal();
        values.extend([
            ("pulumiAccessToken", "pul-0123456789abcdef"),
            ("slackSigningSecret", "8f742231b10e8888abcd99yyyzzz85a5"),
        ]);
        (
            values,
            vec!["slackToken", "pulumiAccessToken", "slackSigningSecret"],
        )
    }

    const ONCALL: &str = r#"[
        {
            "name": "oncall",
            "users": ["U0123ABCD"],
            "groups": ["S0ONCALL1"],
            "operations": ["status", "preview", "up"],
            "stack": "*-prod"
        }
    ]"#;

    #[test]
    fn a_secret_signing_secret_with_a_pulumi_access_token_is_noted() {
        let (values, secret) = chatops_ready();
        let settings = config(&values, &secret).validate(Path::new(".")).unwrap();
        assert!(settings.has_slack_signing_secret && settings.has_pulumi_access_token);
        // No rules yet is allowed: the endpoints answer, and allow nobody anything.
        assert_eq!(settings.chatops, None);
    }

    #[test]
    fn a_plaintext_signing_secret_is_refused() {
        let (values, _) = chatops_ready();
        let err = config(&values, &["slackToken", "pulumiAccessToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config `slackSigningSecret` must be a secret: run `pulumi config set slackSigningSecret <value> --secret` (and rotate it: it was stored in plain text)"
        );
    }

    #[test]
    fn an_empty_signing_secret_is_none_secret_or_not() {
        for value in ["", "  "] {
            for secret in [&["slackToken"][..], &["slackToken", "slackSigningSecret"]] {
                let mut values = minimal();
                values.push(("slackSigningSecret", value));
                let settings = config(&values, secret).validate(Path::new(".")).unwrap();
                assert!(!settings.has_slack_signing_secret, "{value:?} {secret:?}");
            }
        }
    }

    #[test]
    fn a_signing_secret_without_a_pulumi_access_token_is_refused() {
        let mut values = minimal();
        values.push(("slackSigningSecret", "8f742231b10e8888abcd99yyyzzz85a5"));
        let err = config(&values, &["slackToken", "slackSigningSecret"])
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(err, SettingsError::SigningSecretWithoutPulumiToken);
        assert_eq!(
            err.to_string(),
            "config `slackSigningSecret` needs `pulumiAccessToken` (a secret): the relay's Slack \
             endpoints act through Pulumi Cloud and are off without it; `pulumiAccessToken` is \
             not set: run `pulumi config set pulumiAccessToken <token> --secret`, or `pulumi \
             config rm slackSigningSecret` to leave ChatOps off"
        );
    }

    #[test]
    fn chatops_rules_are_validated_and_passed_on_as_compact_json() {
        let (mut values, secret) = chatops_ready();
        values.push(("chatops", ONCALL));
        let settings = config(&values, &secret).validate(Path::new(".")).unwrap();
        let compact = settings.chatops.expect("chatops is passed on");
        assert!(
            !compact.contains('\n') && !compact.contains(": "),
            "{compact}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&compact).unwrap(),
            serde_json::from_str::<serde_json::Value>(ONCALL).unwrap()
        );
        assert!(!ChatopsRules::parse(&compact).unwrap().is_empty());
        // Routes are untouched by it.
        assert_eq!(settings.routes, None);
    }

    #[test]
    fn an_empty_chatops_list_needs_no_variable_nor_secrets() {
        let mut values = minimal();
        values.push(("chatops", " [ ] "));
        let settings = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap();
        assert_eq!(settings.chatops, None);
    }

    #[test]
    fn an_invalid_chatops_rule_is_refused_naming_it() {
        let (mut values, secret) = chatops_ready();
        values.push((
            "chatops",
            r#"[{"name": "oncall", "users": ["@alice"], "operations": ["up"]}]"#,
        ));
        let err = config(&values, &secret)
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                r#"config `chatops` is not valid: rule "oncall" (chatops[0]): `users` has "@alice", which is not a Slack user ID"#
            ),
            "{err}"
        );
        assert!(
            err.to_string().ends_with(
                "(see \"ChatOps\" in the README; `pulumi config get chatops` shows the rules)"
            ),
            "{err}"
        );
    }

    #[test]
    fn chatops_that_is_not_json_is_refused() {
        let (mut values, secret) = chatops_ready();
        values.push(("chatops", "oncall=U0123ABCD"));
        let err = config(&values, &secret)
            .validate(Path::new("."))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("config `chatops` is not valid: it is not JSON"),
            "{err}"
        );
    }

    #[test]
    fn secret_chatops_is_refused() {
        let (mut values, mut secret) = chatops_ready();
        values.push(("chatops", ONCALL));
        secret.push("chatops");
        let err = config(&values, &secret)
            .validate(Path::new("."))
            .unwrap_err();
        assert_eq!(err, SettingsError::SecretChatops);
    }

    #[test]
    fn chatops_without_its_secrets_is_refused_naming_what_is_missing() {
        let cases: [(&[&str], &str); 3] = [
            (
                &[],
                "`slackSigningSecret` and `pulumiAccessToken` are not set: run `pulumi config set \
                 slackSigningSecret <signing secret> --secret` (the Slack app's \"Basic \
                 Information\" page shows it) and `pulumi config set pulumiAccessToken <token> \
                 --secret`",
            ),
            (
                &["pulumiAccessToken"],
                "`slackSigningSecret` is not set: run `pulumi config set slackSigningSecret \
                 <signing secret> --secret` (the Slack app's \"Basic Information\" page shows it)",
            ),
            (
                &["slackSigningSecret"],
                "`pulumiAccessToken` is not set: run `pulumi config set pulumiAccessToken <token> \
                 --secret`",
            ),
        ];
        for (given, missing) in cases {
            let mut values = minimal();
            let (ready, _) = chatops_ready();
            values.extend(ready.into_iter().filter(|(k, _)| given.contains(k)));
            values.push(("chatops", ONCALL));
            let mut secret = vec!["slackToken"];
            secret.extend(given);
            let err = config(&values, &secret)
                .validate(Path::new("."))
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "config `chatops` needs `slackSigningSecret` and `pulumiAccessToken` \
                     (secrets): without both the relay's Slack endpoints are off and its rules \
                     allow nothing; {missing}, or `pulumi config rm chatops` to leave ChatOps off"
                ),
                "{given:?}"
            );
        }
    }

    #[test]
    fn routes_and_chatops_share_their_room_in_the_lambda_environment() {
        // Each fits alone; together they do not.
        let route = r##"{"stack": "some-long-stack-name-*", "channel": "#a-long-channel-name"}"##;
        let routes = format!("[{}]", vec![route; 30].join(","));
        let rules: Vec<String> = (0..25)
            .map(|i| {
                format!(
                    r#"{{"name": "rule {i}", "users": ["U0123ABCD"], "operations": ["status"], "stack": "*-prod"}}"#
                )
            })
            .collect();
        let chatops = format!("[{}]", rules.join(","));
        let (mut values, secret) = chatops_ready();
        values.push(("routes", &routes));
        assert!(config(&values, &secret).validate(Path::new(".")).is_ok());
        let (mut alone, _) = chatops_ready();
        alone.push(("chatops", &chatops));
        assert!(config(&alone, &secret).validate(Path::new(".")).is_ok());
        values.push(("chatops", &chatops));
        let err = config(&values, &secret)
            .validate(Path::new("."))
            .unwrap_err();
        let SettingsError::RulesTooLarge { routes, chatops } = err else {
            panic!("{err}");
        };
        assert!(routes <= MAX_ROUTES_BYTES && chatops <= MAX_ROUTES_BYTES);
        assert!(routes + chatops > MAX_ROUTES_BYTES);
        assert_eq!(
            err.to_string(),
            format!(
                "config `routes` and `chatops` are {} bytes as JSON together ({routes} and \
                 {chatops}), but Lambda allows 4 KB of environment variables in all and the two \
                 share {MAX_ROUTES_BYTES} bytes of it: keep them under that together (fewer \
                 rules, shorter names)",
                routes + chatops
            )
        );
    }

    #[test]
    fn a_handler_zip_must_hold_a_bootstrap_for_the_chosen_architecture() {
        let dir = std::env::temp_dir().join(format!("settings-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[18..20].copy_from_slice(&62u16.to_le_bytes());
        std::fs::write(dir.join("x86.zip"), crate::bundle::zip_bytes(&elf).unwrap()).unwrap();
        let mut values = minimal();
        values.push(("handlerZip", "x86.zip"));
        let err = config(&values, &["slackToken"]).validate(&dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config `handlerZip` is \"x86.zip\", but its bootstrap is built for x86_64 and \
             `architecture` is arm64 (build it with `cargo lambda build --output-format zip \
             --arm64`, or set `architecture` to x86_64): run `pulumi config set handlerZip \
             target/lambda/handler/bootstrap.zip`"
        );
        values.push(("architecture", "x86_64"));
        let settings = config(&values, &["slackToken"]).validate(&dir).unwrap();
        assert_eq!(settings.handler_zip, Some(PathBuf::from("x86.zip")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_handler_zip_must_exist() {
        let mut values = minimal();
        values.push(("handlerZip", "/nonexistent/bootstrap.zip"));
        let err = config(&values, &["slackToken"])
            .validate(Path::new("."))
            .unwrap_err();
        assert!(err.to_string().contains("no such file"), "{err}");
    }
}

//! Posts messages with Slack's Web API `chat.postMessage` (also as thread replies) and edits them
//! with `chat.update`, retrying what Slack says is transient.
//!
//! Slack reports most failures as HTTP 200 with `{"ok": false, "error": "…"}`; those are sorted into
//! permanent errors (bad token, unknown channel: retrying cannot help) and transient ones. HTTP 429
//! is honoured by waiting `Retry-After`; 5xx answers, timeouts and connection failures are retried
//! with exponential backoff. Everything happens within one overall deadline, so the relay can
//! still answer Pulumi (which then redelivers) well before API Gateway's 30 s limit.

use std::time::Duration;

use axum::body::Bytes;
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use relay_core::slack::Message;
use relay_core::slack::json::Call;

/// Where a message landed: what `chat.update` and threads need later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Slack refused the message for a reason retrying cannot fix (`invalid_auth`, …).
    #[error("Slack refused the message: {error}{}", hint(error))]
    Rejected { error: String },
    /// Slack kept answering 429 / `ratelimited` until the deadline.
    #[error("Slack rate-limited every attempt for {waited_ms} ms")]
    RateLimited {
        waited_ms: u64,
        retry_after: Option<Duration>,
    },
    /// 5xx answers, timeouts or connection failures until the deadline.
    #[error("Slack did not accept the message after {attempts} attempt(s): {last}")]
    Unavailable { attempts: u32, last: String },
    /// Slack answered something that is not its API's JSON.
    #[error("Slack answered HTTP {status} with a body that is not Slack API JSON")]
    BadResponse { status: u16 },
}

impl SlackError {
    /// Slack's own error code, where it gave one.
    pub fn code(&self) -> &str {
        match self {
            SlackError::Rejected { error } => error,
            SlackError::RateLimited { .. } => "ratelimited",
            SlackError::Unavailable { .. } => "slack_unavailable",
            SlackError::BadResponse { .. } => "slack_bad_response",
        }
    }
}

/// What to do about a Slack error code, beyond naming it.
fn hint(error: &str) -> &'static str {
    match error {
        "channel_not_found" => " (check SLACK_CHANNEL; private channels need the bot invited)",
        "not_in_channel" => " (invite the bot to the channel: /invite @your-bot)",
        "is_archived" => " (the channel is archived: choose another SLACK_CHANNEL)",
        "invalid_auth" | "not_authed" | "token_revoked" | "token_expired" | "account_inactive" => {
            " (the Slack bot token is wrong or no longer valid: set a current xoxb- token)"
        }
        "missing_scope" => " (the Slack app needs the chat:write scope)",
        "cant_update_message" | "edit_window_closed" | "message_not_found" => {
            " (the message to edit is gone or no longer editable)"
        }
        _ => "",
    }
}

/// Errors Slack documents as temporary: worth another attempt.
fn transient(error: &str) -> bool {
    matches!(
        error,
        "ratelimited"
            | "service_unavailable"
            | "internal_error"
            | "fatal_error"
            | "request_timeout"
            | "team_added_to_org"
    )
}

/// Retry timing; the defaults suit a Lambda behind API Gateway.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Everything, including waits, must finish within this.
    pub deadline: Duration,
    /// Longest a single HTTP attempt may take.
    pub attempt_timeout: Duration,
    pub first_backoff: Duration,
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            deadline: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(5),
            first_backoff: Duration::from_millis(250),
            max_attempts: 5,
        }
    }
}

/// A reply's place: under the message `ts`, also shown in the channel when `broadcast`.
#[derive(Debug, Clone, Copy)]
pub struct Thread<'a> {
    pub ts: &'a str,
    pub broadcast: bool,
}

#[derive(Deserialize)]
struct ApiResponse {
    ok: bool,
    error: Option<String>,
    channel: Option<String>,
    ts: Option<String>,
}

/// One client per process: its connection pool keeps the TLS session to Slack warm. `Debug`
/// shows no token: the `Authorization` header is marked sensitive.
#[derive(Clone, Debug)]
pub struct SlackClient {
    http: reqwest::Client,
    /// Parsed once: parsing (with IDNA) on every post showed in profiles.
    post_message_url: reqwest::Url,
    update_url: reqwest::Url,
    usergroup_users_url: reqwest::Url,
    /// The Web API's host: besides Slack's own hooks hosts, the only one a `response_url` may
    /// name (a proxy's, a test's).
    api_host: Option<String>,
    /// `Bearer <token>`, built once and marked sensitive (hidden from `Debug`).
    authorization: HeaderValue,
    policy: RetryPolicy,
}

/// One attempt's outcome.
enum Attempt {
    Done(Posted),
    Fatal(SlackError),
    /// Try again after at least `wait` (from Retry-After), recording why.
    Retry {
        wait: Option<Duration>,
        why: String,
        rate_limited: bool,
    },
}

/// Why a [`SlackClient`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the Slack API URL {url:?} is not a valid URL: {why}")]
    Url { url: String, why: String },
    /// Never names the token: it is a secret.
    #[error(
        "the Slack token contains characters an HTTP header cannot carry (control characters or line breaks)"
    )]
    Token,
}

impl SlackClient {
    /// A client calling the Web API at `api_url` through `http` ([`crate::http::client`]).
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        token: SecretString,
        policy: RetryPolicy,
    ) -> Result<Self, ClientError> {
        let method_url = |method: &str| {
            let url = format!("{}/{method}", api_url.trim_end_matches('/'));
            reqwest::Url::parse(&url).map_err(|e| ClientError::Url {
                url: api_url.to_owned(),
                why: e.to_string(),
            })
        };
        let mut authorization = HeaderValue::try_from(format!("Bearer {}", token.expose_secret()))
            .map_err(|_| ClientError::Token)?;
        authorization.set_sensitive(true);
        Ok(SlackClient {
            http,
            post_message_url: method_url("chat.postMessage")?,
            update_url: method_url("chat.update")?,
            usergroup_users_url: method_url("usergroups.users.list")?,
            api_host: reqwest::Url::parse(api_url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned)),
            authorization,
            policy,
        })
    }

    /// The bound on one post or update, retries included (`SLACK_DEADLINE_MS`).
    pub fn deadline(&self) -> Duration {
        self.policy.deadline
    }

    /// Posts `message` to `channel`, retrying transient failures until the deadline.
    pub async fn post_message(
        &self,
        channel: &str,
        message: &Message,
    ) -> Result<Posted, SlackError> {
        self.post(channel, message, None).await
    }

    /// Posts `message` to `channel`, as a reply in `thread` if given.
    pub async fn post(
        &self,
        channel: &str,
        message: &Message,
        thread: Option<Thread<'_>>,
    ) -> Result<Posted, SlackError> {
        let body = Call {
            channel,
            ts: None,
            thread_ts: thread.map(|t| t.ts),
            reply_broadcast: thread.is_some_and(|t| t.broadcast),
            message,
        }
        .body();
        self.call(&self.post_message_url, body).await
    }

    /// Replaces the text and blocks of the message at `posted` (`chat.update`); editing is
    /// idempotent, so the same retries as for posting apply.
    pub async fn update_message(
        &self,
        posted: &Posted,
        message: &Message,
    ) -> Result<Posted, SlackError> {
        let body = Call {
            channel: &posted.channel,
            ts: Some(&posted.ts),
            thread_ts: None,
            reply_broadcast: false,
            message,
        }
        .body();
        self.call(&self.update_url, body).await
    }

    /// Sends `body` (serialized once: retries resend the same bytes) to the method at `url`,
    /// retrying transient failures until the deadline.
    async fn call(&self, url: &reqwest::Url, body: Vec<u8>) -> Result<Posted, SlackError> {
        // Shared, not copied, by each attempt's request.
        let body = Bytes::from(body);
        let started = Instant::now();
        let deadline = started + self.policy.deadline;
        let mut backoff = self.policy.first_backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let timeout = left.min(self.policy.attempt_timeout);
            let (wait, why, rate_limited) = match self.attempt(url, &body, timeout).await {
                Attempt::Done(posted) => return Ok(posted),
                Attempt::Fatal(error) => return Err(error),
                Attempt::Retry {
                    wait,
                    why,
                    rate_limited,
                } => (wait, why, rate_limited),
            };
            // Slack's Retry-After wins over our own backoff when it gives one.
            let wait = wait.unwrap_or(backoff);
            backoff *= 2;
            let give_up = attempts >= self.policy.max_attempts || Instant::now() + wait >= deadline;
            if give_up {
                return Err(if rate_limited {
                    SlackError::RateLimited {
                        waited_ms: started.elapsed().as_millis() as u64,
                        retry_after: Some(wait),
                    }
                } else {
                    SlackError::Unavailable {
                        attempts,
                        last: why,
                    }
                });
            }
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, url: &reqwest::Url, body: &Bytes, timeout: Duration) -> Attempt {
        let request = self
            .http
            .post(url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            )
            .body(body.clone())
            .timeout(timeout);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                // reqwest's errors name the URL, never headers: safe to keep.
                let why = if error.is_timeout() {
                    format!("no answer within {} ms", timeout.as_millis())
                } else {
                    format!("request failed: {}", error_chain(&error))
                };
                return Attempt::Retry {
                    wait: None,
                    why,
                    rate_limited: false,
                };
            }
        };
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Attempt::Retry {
                wait,
                why: "HTTP 429".into(),
                rate_limited: true,
            };
        }
        if status.is_server_error() {
            return Attempt::Retry {
                wait: None,
                why: format!("HTTP {status}"),
                rate_limited: false,
            };
        }
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => {
                let why = format!("reading the answer failed: {}", error_chain(&error));
                return Attempt::Retry {
                    wait: None,
                    why,
                    rate_limited: false,
                };
            }
        };
        let Ok(api) = serde_json::from_slice::<ApiResponse>(&bytes) else {
            return Attempt::Fatal(SlackError::BadResponse {
                status: status.as_u16(),
            });
        };
        match api {
            ApiResponse {
                ok: true,
                channel: Some(channel),
                ts: Some(ts),
                ..
            } => Attempt::Done(Posted { channel, ts }),
            ApiResponse { ok: true, .. } => Attempt::Fatal(SlackError::BadResponse {
                status: status.as_u16(),
            }),
            ApiResponse { error, .. } => {
                let error = error.unwrap_or_else(|| "unknown_error".to_owned());
                if transient(&error) {
                    let rate_limited = error == "ratelimited";
                    Attempt::Retry {
                        wait: None,
                        why: error,
                        rate_limited,
                    }
                } else {
                    Attempt::Fatal(SlackError::Rejected { error })
                }
            }
        }
    }
}

/// What ChatOps asks of Slack besides posting: group membership, and answers to a request.
impl SlackClient {
    /// The members of user group `group` (`usergroups.users.list`, scope `usergroups:read`;
    /// one call, within `within`, not retried: a refused command is asked again by its user).
    pub async fn usergroup_members(
        &self,
        group: &str,
        within: Duration,
    ) -> Result<Vec<String>, SlackError> {
        #[derive(Deserialize)]
        struct Members {
            ok: bool,
            error: Option<String>,
            #[serde(default)]
            users: Vec<String>,
        }
        let response = self
            .http
            .post(self.usergroup_users_url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            )
            .body(serde_urlencoded::to_string([("usergroup", group)]).unwrap_or_default())
            .timeout(within)
            .send()
            .await
            .map_err(one_attempt_failed)?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(SlackError::RateLimited {
                waited_ms: 0,
                retry_after: None,
            });
        }
        let members: Members = response.json().await.map_err(|_| SlackError::BadResponse {
            status: status.as_u16(),
        })?;
        match members {
            Members {
                ok: true, users, ..
            } => Ok(users),
            Members { error, .. } => Err(SlackError::Rejected {
                error: error.unwrap_or_else(|| "unknown_error".into()),
            }),
        }
    }

    /// Posts `answer` (JSON) to an interaction's or command's `response_url`: no token (the
    /// URL is the credential), one attempt within `within` (Slack allows five per URL).
    pub async fn respond(
        &self,
        response_url: &str,
        answer: Vec<u8>,
        within: Duration,
    ) -> Result<(), SlackError> {
        // Slack's are `https://hooks.slack.com/…` (GovSlack's `hooks.slack-gov.com`); a signed
        // request naming another host is answered nowhere rather than posted to it.
        let url = reqwest::Url::parse(response_url).ok().filter(|url| {
            let host = url.host_str().unwrap_or_default();
            (url.scheme() == "https" && matches!(host, "hooks.slack.com" | "hooks.slack-gov.com"))
                || Some(host) == self.api_host.as_deref()
        });
        let Some(url) = url else {
            return Err(SlackError::Rejected {
                error: "response_url is not on a Slack hooks host".into(),
            });
        };
        let response = self
            .http
            .post(url)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            )
            .body(answer)
            .timeout(within)
            .send()
            .await
            .map_err(one_attempt_failed)?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let said = response.text().await.unwrap_or_default();
            Err(SlackError::Rejected {
                error: format!(
                    "response_url answered {status}: {}",
                    said.chars().take(100).collect::<String>()
                ),
            })
        }
    }
}

/// A single, unretried call that got no answer; without the URL (a `response_url` is a
/// credential for 30 minutes).
fn one_attempt_failed(error: reqwest::Error) -> SlackError {
    SlackError::Unavailable {
        attempts: 1,
        last: error_chain(&error.without_url()),
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http() -> reqwest::Client {
        crate::http::client(crate::http::Roots::BuiltIn).unwrap()
    }

    #[test]
    fn a_token_no_header_can_carry_is_refused_at_start_without_being_named() {
        let token = SecretString::from("xoxb-line1\nline2");
        let error = SlackClient::new(
            http(),
            "https://slack.com/api",
            token,
            RetryPolicy::default(),
        )
        .expect_err("a line break cannot go in a header");
        assert!(matches!(error, ClientError::Token));
        let shown = format!("{error} {error:?}");
        assert!(
            !shown.contains("line1") && !shown.contains("line2"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn a_response_url_off_slacks_hooks_hosts_is_not_posted_to() {
        let client = SlackClient::new(
            http(),
            "https://slack.com/api",
            SecretString::from("xoxb-1"),
            RetryPolicy::default(),
        )
        .unwrap();
        for url in [
            "https://attacker.example/hooks",
            "http://hooks.slack.com/actions/T0/1/x",
            "not a url",
        ] {
            let error = client
                .respond(url, b"{}".to_vec(), Duration::from_millis(100))
                .await
                .unwrap_err();
            assert_eq!(
                error.code(),
                "response_url is not on a Slack hooks host",
                "{url}"
            );
        }
    }

    #[test]
    fn the_client_debug_hides_the_token() {
        let token = SecretString::from("xoxb-very-secret");
        let client = SlackClient::new(
            http(),
            "https://slack.com/api",
            token,
            RetryPolicy::default(),
        )
        .unwrap();
        assert!(!format!("{client:?}").contains("very-secret"));
    }
}

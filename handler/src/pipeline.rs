//! One delivery, from what was received to what became of it: signature → kind → parse → channel
//! rules → message → Slack (posted, edited or threaded, through [`crate::living::Slack`]), or
//! muted by a rule, or printed in a dry run. Every relay goes through here; [`crate::app`] only
//! translates HTTP into a [`Received`] and the result into a response.
//!
//! A refusal says whether a redelivery can help: 4xx, the request is wrong; 5xx, the relay could
//! not deliver right now.

use std::time::Duration;

use axum::http::StatusCode;
use relay_core::channel_rules::Decision;
use relay_core::event::{Event, Kind};
use relay_core::render;
use relay_core::slack::Message;
use serde_json::json;

use crate::living::{Failure, Outcome};
use crate::relay::{Relay, Sink};
use crate::slack::SlackError;

pub const HEADER_ID: &str = "pulumi-webhook-id";
pub const HEADER_KIND: &str = "pulumi-webhook-kind";
pub const HEADER_SIGNATURE: &str = "pulumi-webhook-signature";

/// A delivery as received: its headers' values and its body.
pub struct Received<'a> {
    pub id: Option<&'a str>,
    pub kind: KindHeader<'a>,
    /// Every `Pulumi-Webhook-Signature` value, in order.
    pub signatures: Vec<&'a [u8]>,
    pub body: &'a [u8],
}

/// The `Pulumi-Webhook-Kind` header.
pub enum KindHeader<'a> {
    Missing,
    /// Present but not visible ASCII.
    Unreadable,
    Given(&'a str),
}

/// What became of a delivery that was not refused.
pub enum Delivered {
    /// In Slack: posted, or through the state table also replied, updated, or found already
    /// delivered.
    Slack(Outcome),
    /// `--dry-run`: the answer, which is also what was printed.
    DryRun(serde_json::Value),
    /// Dropped on purpose by the named rule.
    Muted { rule: String },
}

impl Delivered {
    /// The word for the log line.
    pub fn outcome(&self) -> &'static str {
        match self {
            Delivered::Slack(outcome) => outcome.as_str(),
            Delivered::DryRun(_) => "dry_run",
            Delivered::Muted { .. } => "muted",
        }
    }
}

/// A delivery that was refused or could not be delivered: `{ok:false, error, message}`.
#[derive(Debug)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
        }
    }

    fn retry_later(code: &str, message: String, retry_after: Duration) -> Refusal {
        Refusal {
            retry_after: Some(retry_after),
            ..Refusal::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }

    fn from_failure(failure: Failure) -> Refusal {
        let message = failure.to_string();
        match failure {
            Failure::Slack(error) => Refusal::from_slack(error),
            Failure::State(_) => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "state_unavailable",
                message,
            ),
            Failure::InFlight { retry_after } => {
                Refusal::retry_later("delivery_in_progress", message, retry_after)
            }
            Failure::Busy { retry_after } => {
                Refusal::retry_later("message_in_progress", message, retry_after)
            }
        }
    }

    /// Slack's own code in `error`: 502 for what Slack refused, 503 for what may pass later.
    fn from_slack(error: SlackError) -> Refusal {
        let status = match error {
            SlackError::Rejected { .. } | SlackError::BadResponse { .. } => StatusCode::BAD_GATEWAY,
            SlackError::RateLimited { .. } | SlackError::Unavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        let retry_after = match &error {
            SlackError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        };
        Refusal {
            retry_after,
            ..Refusal::new(status, error.code(), error.to_string())
        }
    }
}

fn bad_header(name: &str, what: &str) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        "invalid_header",
        format!("the {name} header {what}"),
    )
}

/// Delivers what was received. What is learnt on the way (who, where, the filter and the rule)
/// is recorded on the current span, which the delivery's log line carries.
pub async fn deliver(relay: &Relay, received: Received<'_>) -> Result<Delivered, Refusal> {
    let span = tracing::Span::current();
    if let Some(secret) = &relay.secret {
        secret
            .verify(received.signatures.iter().copied(), received.body)
            .map_err(|e| Refusal::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string()))?;
    }
    let kind = match received.kind {
        KindHeader::Given(kind) if !kind.trim().is_empty() => Kind::parse(kind.trim()),
        KindHeader::Given(_) | KindHeader::Unreadable => {
            return Err(bad_header(HEADER_KIND, "is empty or not ASCII"));
        }
        KindHeader::Missing => {
            return Err(bad_header(HEADER_KIND, "is missing (e.g. stack_update)"));
        }
    };
    let event = Event::parse(kind, received.body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
    let origin = event.origin();
    for (field, value) in [
        ("org", origin.organization),
        ("project", origin.project),
        ("stack", origin.stack),
    ] {
        if let Some(value) = value {
            span.record(field, value);
        }
    }

    let decision = relay.rules.decide(&event);
    if !relay.rules.is_empty() {
        if let Some(filter) = event.filters().primary() {
            span.record("filter", filter.as_str());
        }
        if let Some(rule) = decision.rule() {
            span.record("route", rule);
        }
    }
    let (routed_channel, mention) = match decision {
        Decision::Default => (None, None),
        Decision::Mute { rule } => {
            return Ok(Delivered::Muted {
                rule: rule.to_owned(),
            });
        }
        Decision::Post {
            channel, mention, ..
        } => (channel, mention),
    };

    let mut message = render::message(&event, received.id);
    if let Some(mention) = mention {
        message.mention(mention);
    }
    match &relay.sink {
        Sink::Slack { slack, channel } => {
            let channel = routed_channel.unwrap_or(channel);
            slack
                .deliver(&event, received.id, channel, &message, mention.is_some())
                .await
                .map(Delivered::Slack)
                .map_err(|failure| {
                    let mut refusal = Refusal::from_failure(failure);
                    // Slack's hints name SLACK_CHANNEL; say where a routed channel came from.
                    if let (Some(channel), Some(rule)) = (routed_channel, decision.rule()) {
                        refusal.message.push_str(&format!(
                            " — channel {channel} was chosen by the routes rule {rule:?}"
                        ));
                    }
                    refusal
                })
        }
        Sink::DryRun { channel } => {
            let channel = routed_channel.or(channel.as_deref());
            Ok(Delivered::DryRun(dry_run(
                channel,
                decision.rule(),
                &message,
            )))
        }
    }
}

/// The dry run's answer, printed as it is returned.
fn dry_run(channel: Option<&str>, rule: Option<&str>, message: &Message) -> serde_json::Value {
    let mut answer = json!({ "ok": true, "dry_run": true, "channel": channel, "message": message });
    if let Some(rule) = rule {
        answer["route"] = json!(rule);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&answer).unwrap_or_default()
    );
    answer
}

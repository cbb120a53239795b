//! One delivery, from what was received to what became of it: signature → kind → parse → channel
//! rules → message → Slack (posted, edited or threaded, through [`crate::living::Slack`]), or
//! muted by a rule, or printed in a dry run, or queued for a retry, or kept as a dead letter. Every relay goes through here; [`crate::app`] only
//! translates HTTP into a [`Received`] and the result into a response.
//!
//! A refusal says whether a redelivery can help: 4xx, the request is wrong; 5xx, the relay could
//! not deliver right now.

use std::time::Duration;

use axum::http::StatusCode;
use relay_core::channel_rules::Decision;
use relay_core::enrich::{Enrichment, Target};
use relay_core::event::{Event, Kind};
use relay_core::render;
use relay_core::slack::Message;
use serde_json::json;

use relay_core::retry::{self, Verdict};

use crate::living::{Failure, Outcome};
use crate::queue::{FailedAttempt, NewDelivery, Queue, QueueError};
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
    /// Not taken by Slack in time: committed to the queue under `id`, to be retried.
    Queued { id: String },
}

impl Delivered {
    /// The word for the log line.
    pub fn outcome(&self) -> &'static str {
        match self {
            Delivered::Slack(outcome) => outcome.as_str(),
            Delivered::DryRun(_) => "dry_run",
            Delivered::Muted { .. } => "muted",
            Delivered::Queued { .. } => "queued",
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
    /// The dead letter's queue id, when the delivery was kept as one.
    pub dead_letter: Option<String>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after: None,
            dead_letter: None,
        }
    }

    fn retry_later(code: &str, message: String, retry_after: Duration) -> Refusal {
        Refusal {
            retry_after: Some(retry_after),
            ..Refusal::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }

    fn from_failure(failure: Failure) -> Refusal {
        let (code, message) = (failure.code().to_owned(), failure.to_string());
        match failure {
            Failure::Slack(error) => Refusal::from_slack(error),
            Failure::State(_) => Refusal::new(StatusCode::SERVICE_UNAVAILABLE, &code, message),
            Failure::InFlight { retry_after } | Failure::Busy { retry_after } => {
                Refusal::retry_later(&code, message, retry_after)
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
///
/// With a queue, the relay owns every delivery it lets in: one Slack did not take in time is
/// stored (committed) and answered 202, then retried by [`crate::queue::worker`]; one Slack
/// refused for good is kept as a dead letter and answered 502. A delivery of a stack whose
/// earlier deliveries are still queued is queued behind them, so a stack's events reach Slack
/// in the order they arrived.
pub async fn deliver(relay: &Relay, received: Received<'_>) -> Result<Delivered, Refusal> {
    let (kind, event) = accept(relay, &received)?;
    let mut enrichment = None;
    let Some(queue) = &relay.queue else {
        return send(relay, &event, received.id, &mut enrichment)
            .await
            .map_err(Undelivered::refusal);
    };
    let origin = event.origin();
    let lane = retry::lane(&origin);
    let keep = |failed, enrichment| NewDelivery {
        webhook_id: received.id.map(str::to_owned),
        kind: kind.to_owned(),
        body: received.body.to_vec(),
        lane: lane.clone(),
        organization: origin.organization.map(str::to_owned),
        project: origin.project.map(str::to_owned),
        stack: origin.stack.map(str::to_owned),
        failed,
        enrichment,
    };
    match queue.lane_busy(&lane).await {
        Ok(false) => {}
        Ok(true) => return queued(queue, keep(None, None)).await,
        Err(error) => return Err(queue_unavailable(error)),
    }
    let undelivered = match send(relay, &event, received.id, &mut enrichment).await {
        Ok(delivered) => return Ok(delivered),
        Err(undelivered) => undelivered,
    };
    queue.note_failure(&undelivered.failure).await;
    let error = undelivered.failure.code().to_owned();
    match undelivered.failure.verdict() {
        Verdict::Retry { retry_after } => {
            let retry_in = Some(relay.retry.delay(1, retry_after));
            queued(
                queue,
                keep(Some(FailedAttempt { error, retry_in }), enrichment),
            )
            .await
        }
        Verdict::DeadLetter => {
            let dead = queue
                .dead_letter(keep(
                    Some(FailedAttempt {
                        error,
                        retry_in: None,
                    }),
                    enrichment,
                ))
                .await;
            let mut refusal = undelivered.refusal();
            match dead {
                Ok(id) => refusal.dead_letter = Some(id),
                Err(error) => tracing::error!(%error, "the refused delivery is not kept"),
            }
            Err(refusal)
        }
    }
}

/// Commits `delivery` to the queue: 202 once it is on disk, 503 (nothing claimed) if it cannot be.
async fn queued(queue: &Queue, delivery: NewDelivery) -> Result<Delivered, Refusal> {
    queue
        .enqueue(delivery)
        .await
        .map(|id| Delivered::Queued { id })
        .map_err(queue_unavailable)
}

fn queue_unavailable(error: QueueError) -> Refusal {
    Refusal::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "queue_unavailable",
        format!("{error}; the delivery was not accepted"),
    )
}

/// The door: the signature, the kind header and the body. Returns the kind as named.
fn accept<'a>(relay: &Relay, received: &Received<'a>) -> Result<(&'a str, Event), Refusal> {
    let span = tracing::Span::current();
    if let Some(secret) = &relay.secret {
        secret
            .verify(received.signatures.iter().copied(), received.body)
            .map_err(|e| Refusal::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string()))?;
    }
    let name = match received.kind {
        KindHeader::Given(kind) if !kind.trim().is_empty() => kind.trim(),
        KindHeader::Given(_) | KindHeader::Unreadable => {
            return Err(bad_header(HEADER_KIND, "is empty or not ASCII"));
        }
        KindHeader::Missing => {
            return Err(bad_header(HEADER_KIND, "is missing (e.g. stack_update)"));
        }
    };
    let event = Event::parse(Kind::parse(name), received.body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
    record_origin(&span, &event);
    Ok((name, event))
}

/// Puts who and where the event is from on the delivery's span (its log line).
pub(crate) fn record_origin(span: &tracing::Span, event: &Event) {
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
}

/// A delivery that did not reach Slack, and the rule that chose its channel, if one did.
pub struct Undelivered {
    pub failure: Failure,
    routed: Option<(String, String)>,
}

impl Undelivered {
    /// The answer for Pulumi's delivery log.
    pub fn refusal(self) -> Refusal {
        let mut refusal = Refusal::from_failure(self.failure);
        // Slack's hints name SLACK_CHANNEL; say where a routed channel came from.
        if let Some((channel, rule)) = self.routed {
            refusal.message.push_str(&format!(
                " — channel {channel} was chosen by the routes rule {rule:?}"
            ));
        }
        refusal
    }
}

/// An accepted event, from the channel rules to Slack: what a delivery does inline and what
/// the queue's worker does again for a queued one.
///
/// `enrichment` is what Pulumi Cloud's API said about the event's run: `None` until it answered
/// (then set, so that the queued delivery keeps it and its retries show the same without asking
/// again), `Some` for a retry of a delivery whose earlier attempt got an answer. A failed lookup
/// leaves it `None`: a retry asks again.
pub async fn send(
    relay: &Relay,
    event: &Event,
    delivery_id: Option<&str>,
    enrichment: &mut Option<Enrichment>,
) -> Result<Delivered, Undelivered> {
    let span = tracing::Span::current();
    let decision = relay.rules.decide(event);
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

    enrich(relay, event, enrichment, &span).await;
    let shown = enrichment.as_ref().filter(|e| !e.is_empty());
    let mut message = render::enriched(event, delivery_id, shown);
    // Buttons only where they can work: ChatOps on (without it, messages stay as they were).
    if relay.buttons
        && let Some(buttons) = relay_core::chatops::buttons::for_event(event)
    {
        message.push(buttons);
    }
    if let Some(mention) = mention {
        message.mention(mention);
    }
    match &relay.sink {
        Sink::Slack { slack, channel } => {
            let channel = routed_channel.unwrap_or(channel);
            slack
                .deliver(event, delivery_id, channel, &message, mention.is_some())
                .await
                .map(Delivered::Slack)
                .map_err(|failure| Undelivered {
                    failure,
                    routed: routed_channel
                        .zip(decision.rule())
                        .map(|(c, r)| (c.to_owned(), r.to_owned())),
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

/// Asks Pulumi Cloud about the event's run, once per delivery, and says on the delivery's log
/// line what came of it (`enrichment`: `ok`, `reused`, `skipped`, or `failed: …`). A failure
/// only leaves the section out of the message.
async fn enrich(
    relay: &Relay,
    event: &Event,
    enrichment: &mut Option<Enrichment>,
    span: &tracing::Span,
) {
    if enrichment.is_some() {
        span.record("enrichment", "reused");
        return;
    }
    let (Some(api), Some(target)) = (&relay.pulumi, Target::of(event)) else {
        span.record("enrichment", "skipped");
        return;
    };
    match api.enrich(&target).await {
        Ok(fetched) => {
            span.record("enrichment", "ok");
            *enrichment = Some(fetched);
        }
        Err(error) => {
            span.record("enrichment", format!("failed: {error}"));
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

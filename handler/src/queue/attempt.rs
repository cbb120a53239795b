//! One more attempt at a queued delivery, the rule both retry workers follow ([`super::worker`]
//! in the self-hosted relay, [`super::sqs_worker`] on AWS): parse what was kept, send it through
//! [`pipeline::send`] (channel rules, living messages and exactly-once as for a fresh delivery),
//! and decide on [`relay_core::retry::RetrySchedule`] what comes next. Each outcome is one JSON
//! log line, written here, so both deployments log alike.

use std::time::Duration;

use relay_core::enrich::Enrichment;
use relay_core::event::{Event, Kind};
use relay_core::retry::Verdict;

use super::{FailedAttempt, Queue};
use crate::pipeline;
use crate::relay::Relay;

/// A queued delivery, as either queue keeps it.
pub struct Attempt<'a> {
    pub webhook_id: Option<&'a str>,
    pub kind: &'a str,
    pub body: &'a [u8],
    /// This attempt's number (the first attempt, at the door, is 1).
    pub number: u32,
    /// How long ago its retry window began.
    pub age: Duration,
    /// What Pulumi Cloud said about the run when it was first attempted; set by this attempt if
    /// no earlier one asked, for the queue to keep.
    pub enrichment: Option<Enrichment>,
}

/// What became of an attempt.
#[derive(Debug)]
pub enum Next {
    /// Slack has it (or a rule muted it, or exactly-once found it posted): forget it.
    Delivered,
    /// Try again after `retry_in`.
    Retry(FailedAttempt),
    /// Keep it as a dead letter (`retry_in` is `None`).
    Dead(FailedAttempt),
}

/// The span of one queued delivery's attempt; its log lines carry these fields.
pub fn span(webhook_id: Option<&str>, kind: &str, queue_id: &str) -> tracing::Span {
    tracing::info_span!(
        "delivery",
        id = webhook_id.unwrap_or("-"),
        kind,
        queue_id,
        org = "-",
        project = "-",
        stack = "-",
        filter = "-",
        route = "-",
        enrichment = "-",
    )
}

/// Makes the attempt (in the caller's [`span`]) and logs its outcome.
pub async fn run(relay: &Relay, queue: &Queue, delivery: &mut Attempt<'_>) -> Next {
    let number = delivery.number;
    let event = match Event::parse(Kind::parse(delivery.kind), delivery.body) {
        Ok(event) => event,
        // It was parsed at the door; a body that no longer parses was altered in the queue.
        Err(error) => {
            return dead(
                number,
                delivery.age,
                FailedAttempt {
                    error: format!("invalid_json: {error}"),
                    retry_in: None,
                },
            );
        }
    };
    pipeline::record_origin(&tracing::Span::current(), &event);
    let failure =
        match pipeline::send(relay, &event, delivery.webhook_id, &mut delivery.enrichment).await {
            Ok(delivered) => {
                tracing::info!(
                    outcome = delivered.outcome(),
                    attempt = number,
                    "delivered from the queue"
                );
                return Next::Delivered;
            }
            Err(undelivered) => undelivered.failure,
        };
    queue.note_failure(&failure).await;
    let error = failure.code().to_owned();
    let wait = match failure.verdict() {
        Verdict::DeadLetter => None,
        Verdict::Retry { retry_after } => {
            let wait = relay.retry.delay(number, retry_after);
            (!relay.retry.gives_up(delivery.age + wait)).then_some(wait)
        }
    };
    match wait {
        Some(wait) => {
            tracing::warn!(
                outcome = "retry_scheduled",
                attempt = number,
                error,
                next_in_ms = wait.as_millis() as u64,
                reason = %failure,
                "not delivered; retrying later"
            );
            Next::Retry(FailedAttempt {
                error,
                retry_in: Some(wait),
            })
        }
        None => dead(
            number,
            delivery.age,
            FailedAttempt {
                error,
                retry_in: None,
            },
        ),
    }
}

fn dead(number: u32, age: Duration, failed: FailedAttempt) -> Next {
    tracing::error!(
        outcome = "dead_lettered",
        attempt = number,
        error = failed.error,
        age_s = age.as_secs(),
        "dead-lettered: list with `handler dead-letters`, re-queue with `handler replay`"
    );
    Next::Dead(failed)
}

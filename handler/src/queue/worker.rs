//! The retry worker of the self-hosted relay: takes each lane's oldest queued delivery when it
//! is due, sends it again through [`pipeline::send`] (channel rules, living messages and
//! exactly-once as for a fresh delivery), and then forgets it, schedules the next attempt on
//! [`relay_core::retry::RetrySchedule`], or dead-letters it. Each retry and each dead letter is
//! one JSON log line.

use std::sync::Arc;
use std::time::Duration;

use relay_core::event::{Event, Kind};
use relay_core::retry::Verdict;
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::{FailedAttempt, Queue, Queued};
use crate::pipeline;
use crate::relay::Relay;

/// How many lanes are attempted at once.
const PARALLEL_LANES: usize = 16;
/// The longest the worker sleeps without looking at the queue: a replay by the CLI (another
/// process) is picked up within it.
const POLL: Duration = Duration::from_secs(1);

/// Runs until the process ends.
#[cfg_attr(not(feature = "local-store"), allow(unused_variables))]
pub async fn run(relay: Arc<Relay>, queue: Queue) {
    loop {
        let due = match queue.due(PARALLEL_LANES).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "the retry worker cannot read the queue");
                queue.wait(POLL).await;
                continue;
            }
        };
        if due.is_empty() {
            let next = queue.next_due_in().await.ok().flatten().unwrap_or(POLL);
            queue.wait(next.min(POLL)).await;
            continue;
        }
        let mut attempts = JoinSet::new();
        for delivery in due {
            let (relay, queue) = (relay.clone(), queue.clone());
            let span = tracing::info_span!(
                "delivery",
                id = delivery.webhook_id.as_deref().unwrap_or("-"),
                kind = delivery.kind.as_str(),
                queue_id = delivery.id.as_str(),
                org = "-",
                project = "-",
                stack = "-",
                filter = "-",
                route = "-",
            );
            attempts.spawn(async move { attempt(&relay, &queue, delivery).await }.instrument(span));
        }
        while attempts.join_next().await.is_some() {}
    }
}

/// One more attempt at `delivery`.
async fn attempt(relay: &Relay, queue: &Queue, delivery: Queued) {
    let attempt = delivery.attempts + 1;
    let event = match Event::parse(Kind::parse(&delivery.kind), &delivery.body) {
        Ok(event) => event,
        // It was parsed at the door; a body that no longer parses was edited on disk.
        Err(error) => {
            let failed = FailedAttempt {
                error: format!("invalid_json: {error}"),
                retry_in: None,
            };
            return dead(queue, &delivery, attempt, failed).await;
        }
    };
    pipeline::record_origin(&tracing::Span::current(), &event);
    let failure = match pipeline::send(relay, &event, delivery.webhook_id.as_deref()).await {
        Ok(delivered) => {
            if let Err(error) = queue.delivered(&delivery.id).await {
                // Sent again at the next attempt, where exactly-once finds it posted.
                tracing::error!(%error, "delivered from the queue, but still queued");
            }
            let outcome = delivered.outcome();
            tracing::info!(outcome, attempt, "delivered from the queue");
            return;
        }
        Err(undelivered) => undelivered.failure,
    };
    queue.note_failure(&failure).await;
    let error = failure.code().to_owned();
    let retry_in = match failure.verdict() {
        Verdict::DeadLetter => None,
        Verdict::Retry { retry_after } => {
            let wait = relay.retry.delay(attempt, retry_after);
            (!relay.retry.gives_up(delivery.age + wait)).then_some(wait)
        }
    };
    let failed = FailedAttempt { error, retry_in };
    match failed.retry_in {
        Some(wait) => {
            let reason = failure.to_string();
            let (error, next_in_ms) = (failed.error.clone(), wait.as_millis() as u64);
            match queue.failed(&delivery.id, failed).await {
                Ok(()) => tracing::warn!(
                    outcome = "retry_scheduled",
                    attempt,
                    error,
                    next_in_ms,
                    reason,
                    "not delivered; retrying later"
                ),
                Err(queue_error) => {
                    tracing::error!(%queue_error, "the failed attempt is not recorded")
                }
            }
        }
        None => dead(queue, &delivery, attempt, failed).await,
    }
}

async fn dead(queue: &Queue, delivery: &Queued, attempt: u32, failed: FailedAttempt) {
    let error = failed.error.clone();
    match queue.failed(&delivery.id, failed).await {
        Ok(()) => tracing::error!(
            outcome = "dead_lettered",
            attempt,
            error,
            age_s = delivery.age.as_secs(),
            "dead-lettered: list with `handler dead-letters`, re-queue with `handler replay`"
        ),
        Err(queue_error) => tracing::error!(%queue_error, "the dead letter is not recorded"),
    }
}

//! The delivery queue: what Slack did not take within the inline deadline is kept here and
//! retried in the background ([`worker`]) on [`relay_core::retry`]'s schedule, and what Slack
//! refused for good (or what was retried past the schedule's end) is a dead letter, listed by
//! `handler dead-letters` and re-queued by `handler replay`.
//!
//! The self-hosted relay keeps it in its data directory ([`local`]) and retries it in a task of
//! its own ([`worker`]); the deployed one keeps it in SQS ([`sqs`]) and retries it in a second
//! function the queue invokes ([`sqs_worker`]). Both follow one rule per attempt ([`attempt`]).

pub mod attempt;
#[cfg(feature = "local-store")]
pub mod local;
pub mod sqs;
pub mod sqs_worker;
#[cfg(feature = "local-store")]
pub mod worker;

use std::time::Duration;

use relay_core::enrich::Enrichment;
use serde::Serialize;

use crate::living::Failure;

/// A delivery to keep: what was received (already verified and parsed at the door), and the
/// first attempt if one was made.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: Option<String>,
    pub kind: String,
    pub body: Vec<u8>,
    /// [`relay_core::retry::lane`]: deliveries of one lane are retried in arrival order.
    pub lane: String,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub stack: Option<String>,
    pub failed: Option<FailedAttempt>,
    /// What Pulumi Cloud said about the run at the first attempt, shown again by every retry.
    pub enrichment: Option<Enrichment>,
}

/// An attempt that did not deliver.
#[derive(Debug, Clone)]
pub struct FailedAttempt {
    /// Slack's error code (or the relay's, for its own state store).
    pub error: String,
    /// When to try again, at the earliest (none for a dead letter).
    pub retry_in: Option<Duration>,
}

/// A queued delivery due for an attempt.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: String,
    pub webhook_id: Option<String>,
    pub kind: String,
    pub body: Vec<u8>,
    /// Attempts made so far.
    pub attempts: u32,
    /// How long ago its current retry window began (its arrival, or its last replay).
    pub age: Duration,
    /// What Pulumi Cloud said about the run, if an attempt asked.
    pub enrichment: Option<Enrichment>,
}

/// A dead letter, as `handler dead-letters` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    pub id: String,
    pub webhook_id: Option<String>,
    pub kind: String,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub stack: Option<String>,
    pub error: Option<String>,
    pub attempts: u32,
    /// RFC 3339 instants.
    pub first_attempt: Option<String>,
    pub last_attempt: Option<String>,
}

/// What `GET /status` answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub queued: u64,
    /// Seconds since the oldest queued delivery arrived.
    pub oldest_queued_age_s: Option<f64>,
    pub dead_letters: u64,
    pub last_slack_error: Option<SlackErrorSeen>,
}

/// The last error Slack gave, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SlackErrorSeen {
    pub error: String,
    pub at: String,
}

/// The queue could not be read or written (the data directory unwritable or full).
#[derive(Debug, thiserror::Error)]
#[error("the delivery queue in {place} could not {doing}: {why}")]
pub struct QueueError {
    pub place: String,
    pub doing: &'static str,
    pub why: String,
}

/// What `handler replay` did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    pub requeued: Vec<String>,
    /// Ids given that are not dead letters.
    pub unknown: Vec<String>,
}

/// Where the relay keeps its queue.
#[derive(Clone, Debug)]
pub enum Queue {
    #[cfg(feature = "local-store")]
    Local(local::LocalQueue),
    Sqs(sqs::SqsQueue),
}

macro_rules! each_queue {
    ($self:ident, $q:ident => $call:expr) => {
        match *$self {
            #[cfg(feature = "local-store")]
            Queue::Local(ref $q) => $call.await,
            Queue::Sqs(ref $q) => $call.await,
        }
    };
}

impl Queue {
    /// Stores `delivery` to be retried; returns its queue id once the write is committed.
    pub async fn enqueue(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        each_queue!(self, q => q.enqueue(delivery))
    }

    /// Stores `delivery` as a dead letter at once (Slack refused it for good).
    pub async fn dead_letter(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        each_queue!(self, q => q.dead_letter(delivery))
    }

    /// Whether deliveries of `lane` are queued (a new one must wait behind them). SQS cannot
    /// say which groups hold messages: on AWS a new delivery goes to Slack at once, and the
    /// living messages' phase order keeps a late retry from undoing a newer status.
    pub async fn lane_busy(&self, lane: &str) -> Result<bool, QueueError> {
        match self {
            #[cfg(feature = "local-store")]
            Queue::Local(q) => q.lane_busy(lane).await,
            Queue::Sqs(_) => {
                let _ = lane;
                Ok(false)
            }
        }
    }

    /// Records Slack's latest error for `GET /status` (in the data directory; SQS keeps no such
    /// thing, and on AWS the log line of the attempt says it).
    pub async fn saw_slack_error(&self, error: &str) -> Result<(), QueueError> {
        match self {
            #[cfg(feature = "local-store")]
            Queue::Local(q) => q.saw_slack_error(error).await,
            Queue::Sqs(_) => {
                let _ = error;
                Ok(())
            }
        }
    }

    /// Records a failed attempt's Slack error, if it was Slack's, for `GET /status`; a failure to
    /// record it is logged, never the delivery's failure.
    pub async fn note_failure(&self, failure: &Failure) {
        if let Failure::Slack(error) = failure
            && let Err(error) = self.saw_slack_error(error.code()).await
        {
            tracing::warn!(%error, "Slack's error is not recorded for /status");
        }
    }

    pub async fn status(&self) -> Result<Status, QueueError> {
        each_queue!(self, q => q.status())
    }
}

/// Now, in epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `at_ms` (epoch milliseconds) as RFC 3339, UTC, to the second.
pub fn rfc3339(at_ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + Duration::from_millis(at_ms.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn instants_print_as_rfc_3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_083_199_999), "2026-11-30T23:59:59Z");
    }
}

//! The delivery queue: what Slack did not take within the inline deadline is kept here and
//! retried in the background ([`worker`]) on [`relay_core::retry`]'s schedule, and what Slack
//! refused for good (or what was retried past the schedule's end) is a dead letter, listed by
//! `handler dead-letters` and re-queued by `handler replay`.
//!
//! The self-hosted relay keeps it in its data directory ([`local`]).

#[cfg(feature = "local-store")]
pub mod local;
pub mod worker;

use std::time::Duration;

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
}

macro_rules! each_queue {
    ($self:ident, $q:ident => $call:expr) => {
        match *$self {
            #[cfg(feature = "local-store")]
            Queue::Local(ref $q) => $call.await,
        }
    };
}

// Without local-store (the Lambda build) no variant exists yet, and the arguments go unused.
#[cfg_attr(not(feature = "local-store"), allow(unused_variables))]
impl Queue {
    /// Stores `delivery` to be retried; returns its queue id once the write is committed.
    pub async fn enqueue(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        each_queue!(self, q => q.enqueue(delivery))
    }

    /// Stores `delivery` as a dead letter at once (Slack refused it for good).
    pub async fn dead_letter(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        each_queue!(self, q => q.dead_letter(delivery))
    }

    /// Whether deliveries of `lane` are queued (a new one must wait behind them).
    pub async fn lane_busy(&self, lane: &str) -> Result<bool, QueueError> {
        each_queue!(self, q => q.lane_busy(lane))
    }

    /// Up to `limit` deliveries due now, at most one per lane (the lane's oldest).
    pub async fn due(&self, limit: usize) -> Result<Vec<Queued>, QueueError> {
        each_queue!(self, q => q.due(limit))
    }

    /// How long until the next queued delivery is due (`None`: the queue is empty).
    pub async fn next_due_in(&self) -> Result<Option<Duration>, QueueError> {
        each_queue!(self, q => q.next_due_in())
    }

    /// The delivery reached Slack (or was muted, or found already posted): forget it.
    pub async fn delivered(&self, id: &str) -> Result<(), QueueError> {
        each_queue!(self, q => q.delivered(id))
    }

    /// Another attempt failed: try again after `attempt.retry_in`, or, without one, dead-letter.
    pub async fn failed(&self, id: &str, attempt: FailedAttempt) -> Result<(), QueueError> {
        each_queue!(self, q => q.failed(id, attempt))
    }

    /// Records Slack's latest error for `GET /status`.
    pub async fn saw_slack_error(&self, error: &str) -> Result<(), QueueError> {
        each_queue!(self, q => q.saw_slack_error(error))
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

    /// Waits until something is queued by this process or `timeout` passes.
    pub async fn wait(&self, timeout: Duration) {
        each_queue!(self, q => q.wait(timeout))
    }
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

//! When a delivery that Slack did not take is tried again, and when the relay gives up on it.
//!
//! Pulumi Cloud never redelivers on its own (its delivery log only offers a manual "Redeliver"),
//! so the relay owns every delivery it accepted: one Slack could not take within the inline
//! deadline is queued and retried with exponential backoff, honouring Slack's `Retry-After`,
//! until [`RetrySchedule::give_up_after`] has passed since it arrived; then it is dead-lettered.
//! Which Slack answers are worth retrying at all is [`Verdict`].

use std::time::Duration;

use crate::event::Origin;

/// The backoff of queued deliveries (`RETRY_FIRST_MS`, `RETRY_MAX_MS`, `RETRY_FOR_MINUTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    /// The wait after the first failed attempt.
    pub first: Duration,
    /// The longest wait between two attempts.
    pub max: Duration,
    /// How long after its arrival a delivery is still retried.
    pub give_up_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            first: Duration::from_millis(30_000),
            max: Duration::from_millis(900_000),
            give_up_after: Duration::from_secs(1_440 * 60),
        }
    }
}

impl RetrySchedule {
    /// The wait before the next attempt once `failed` attempts (≥ 1) have failed: `first`
    /// doubling per failure up to `max`, and never shorter than what Slack asked for.
    pub fn delay(&self, failed: u32, retry_after: Option<Duration>) -> Duration {
        let doublings = failed.saturating_sub(1).min(31);
        let backoff = self
            .first
            .checked_mul(1 << doublings)
            .unwrap_or(self.max)
            .min(self.max);
        backoff.max(retry_after.unwrap_or_default())
    }

    /// Whether a delivery that would next be tried `age_then` after it arrived is dead-lettered
    /// instead.
    pub fn gives_up(&self, age_then: Duration) -> bool {
        age_then > self.give_up_after
    }
}

/// What a failed attempt means for the delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Slack (or the relay's state) may take it later: queue it, try again no sooner than
    /// `retry_after` if one was given.
    Retry { retry_after: Option<Duration> },
    /// Slack refused it for a reason time cannot fix (`channel_not_found`, `invalid_auth`, …):
    /// dead-letter it at once, with Slack's code, until someone fixes the cause and replays it.
    DeadLetter,
}

/// The queue lane of a delivery: the deliveries of one stack are retried in the order they
/// arrived, so a stack's `succeeded` is never posted before its `running`. Events of no stack
/// share one lane.
pub fn lane(origin: &Origin<'_>) -> String {
    match (origin.organization, origin.project, origin.stack) {
        (Some(org), Some(project), Some(stack)) => format!("{org}/{project}/{stack}"),
        (Some(org), _, _) => org.to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn the_wait_doubles_from_the_first_up_to_the_max() {
        let schedule = RetrySchedule::default();
        let waits: Vec<u64> = (1..=8)
            .map(|failed| schedule.delay(failed, None).as_millis() as u64)
            .collect();
        assert_eq!(
            waits,
            [
                30_000, 60_000, 120_000, 240_000, 480_000, 900_000, 900_000, 900_000
            ]
        );
        assert_eq!(schedule.delay(u32::MAX, None), MS(900_000));
    }

    #[test]
    fn slacks_retry_after_is_a_floor_never_a_ceiling() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.delay(1, Some(MS(120_000))), MS(120_000));
        assert_eq!(schedule.delay(3, Some(MS(1_000))), MS(120_000));
    }

    #[test]
    fn a_delivery_is_retried_for_the_configured_time_and_no_longer() {
        let schedule = RetrySchedule {
            give_up_after: Duration::from_secs(60),
            ..RetrySchedule::default()
        };
        assert!(!schedule.gives_up(Duration::from_secs(60)));
        assert!(schedule.gives_up(Duration::from_secs(61)));
    }

    #[test]
    fn a_stacks_deliveries_share_a_lane() {
        let origin = |org, project, stack| Origin {
            user: None,
            organization: org,
            project,
            stack,
        };
        assert_eq!(
            lane(&origin(Some("acme"), Some("web"), Some("prod"))),
            "acme/web/prod"
        );
        assert_eq!(lane(&origin(Some("acme"), None, None)), "acme");
        assert_eq!(lane(&origin(None, None, None)), "");
    }
}

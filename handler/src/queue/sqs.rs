//! The queue of the deployed relay: two SQS FIFO queues, the retry queue and its dead-letter
//! queue (its redrive target), which `infra` declares.
//!
//! FIFO, because a stack's deliveries must be retried in arrival order: each message's group is
//! its [`relay_core::retry::lane`], and SQS hands out no message of a group while an earlier one
//! of it is in flight, so a delivery waiting for its retry (kept invisible by
//! `ChangeMessageVisibility`, see [`super::sqs_worker`]) holds back the later ones of its stack.
//! FIFO queues take no per-message delay, so a message's own `due_ms` says when it may be tried.
//!
//! A message is an [`Envelope`] (JSON): the delivery as received and its retry bookkeeping.
//! Messages are immutable, so what changes between attempts is counted by SQS
//! (`ApproximateReceiveCount`); a dead letter is a new message in the dead-letter queue with the
//! final counts, in a group of its own (so `dead-letters` sees every one at once).

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::base64;
use relay_core::enrich::Enrichment;
use serde::{Deserialize, Serialize};

#[cfg(feature = "admin")]
mod admin;
#[cfg(feature = "admin")]
pub use admin::Moved;

use super::{DeadLetter, NewDelivery, QueueError, Status, now_ms, rfc3339};

/// The two queues, by URL (`RETRY_QUEUE_URL`, `DEAD_LETTER_QUEUE_URL`).
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: Client,
    queue_url: String,
    dead_letter_url: String,
}

/// One queued delivery, as the body of an SQS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The queue id `202` answers and `dead-letters` lists.
    pub id: String,
    pub webhook_id: Option<String>,
    pub kind: String,
    /// The webhook's body, base64: SQS refuses some characters JSON allows unescaped
    /// (U+FFFE, U+FFFF), and the body must reach the worker byte for byte.
    pub body: String,
    pub lane: String,
    pub organization: Option<String>,
    pub project: Option<String>,
    pub stack: Option<String>,
    pub received_ms: i64,
    /// When its retry window began: its arrival, or its replay.
    pub since_ms: i64,
    /// Not to be attempted before (epoch ms).
    pub due_ms: i64,
    /// Attempts made when the message was written.
    pub attempts: u32,
    pub first_attempt_ms: Option<i64>,
    pub last_attempt_ms: Option<i64>,
    pub last_error: Option<String>,
    /// What Pulumi Cloud said about the run at the first attempt ([`NewDelivery::enrichment`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<Enrichment>,
}

impl Envelope {
    fn new(delivery: NewDelivery, now: i64) -> Envelope {
        let failed = delivery.failed.as_ref();
        Envelope {
            id: fresh_id(),
            webhook_id: delivery.webhook_id,
            kind: delivery.kind,
            body: base64::encode(&delivery.body),
            lane: delivery.lane,
            organization: delivery.organization,
            project: delivery.project,
            stack: delivery.stack,
            received_ms: now,
            since_ms: now,
            due_ms: now + failed.and_then(|f| f.retry_in).map_or(0, ms),
            attempts: u32::from(failed.is_some()),
            first_attempt_ms: failed.map(|_| now),
            last_attempt_ms: failed.map(|_| now),
            last_error: failed.map(|f| f.error.clone()),
            enrichment: delivery.enrichment,
        }
    }

    /// The webhook's body as received.
    pub fn body(&self) -> Result<Vec<u8>, String> {
        base64::decode(&self.body).map_err(|e| format!("the queued body is not base64: {e}"))
    }

    pub fn parse(message: &str) -> Result<Envelope, String> {
        serde_json::from_str(message).map_err(|e| format!("not a queued delivery: {e}"))
    }

    /// As `handler dead-letters` lists it.
    pub fn dead_letter(&self) -> DeadLetter {
        DeadLetter {
            id: self.id.clone(),
            webhook_id: self.webhook_id.clone(),
            kind: self.kind.clone(),
            organization: self.organization.clone(),
            project: self.project.clone(),
            stack: self.stack.clone(),
            error: self.last_error.clone(),
            attempts: self.attempts,
            first_attempt: self.first_attempt_ms.map(rfc3339),
            last_attempt: self.last_attempt_ms.map(rfc3339),
        }
    }
}

fn ms(duration: Duration) -> i64 {
    duration.as_millis().min(i64::MAX as u128) as i64
}

/// 16 random hex digits: a queue id, and a deduplication id no two sends share.
fn fresh_id() -> String {
    let mut bytes = [0u8; 8];
    // The OS's generator does not fail on Linux once booted; a fixed id would only weaken
    // SQS's deduplication, never lose a delivery.
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

impl SqsQueue {
    pub fn new(client: Client, queue_url: &str, dead_letter_url: &str) -> SqsQueue {
        SqsQueue {
            client,
            queue_url: queue_url.to_owned(),
            dead_letter_url: dead_letter_url.to_owned(),
        }
    }

    fn error(&self, doing: &'static str, why: impl std::error::Error) -> QueueError {
        QueueError {
            place: self.queue_url.clone(),
            doing,
            why: DisplayErrorContext(why).to_string(),
        }
    }

    /// Sends `envelope` to `url`, in `group`; returns once SQS has stored it (SendMessage
    /// answers only after the message is durably stored, across availability zones).
    async fn send(&self, url: &str, group: &str, envelope: &Envelope) -> Result<(), QueueError> {
        let body = serde_json::to_string(envelope).map_err(|e| QueueError {
            place: url.to_owned(),
            doing: "encode the delivery",
            why: e.to_string(),
        })?;
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_group_id(group)
            .message_deduplication_id(fresh_id())
            .send()
            .await
            .map_err(|e| self.error("store the delivery", e))?;
        Ok(())
    }

    pub async fn enqueue(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        let envelope = Envelope::new(delivery, now_ms());
        self.send(&self.queue_url, &envelope.lane, &envelope)
            .await?;
        Ok(envelope.id)
    }

    pub async fn dead_letter(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        let envelope = Envelope::new(delivery, now_ms());
        self.bury(&envelope).await?;
        Ok(envelope.id)
    }

    /// Stores `envelope` (with its final counts) in the dead-letter queue, in a group of its own.
    pub async fn bury(&self, envelope: &Envelope) -> Result<(), QueueError> {
        self.send(&self.dead_letter_url, &envelope.id, envelope)
            .await
    }

    /// Keeps a received message invisible for `wait` (its next attempt), at most SQS's maximum.
    pub async fn retry_in(&self, receipt: &str, wait: Duration) -> Result<(), QueueError> {
        let limit = relay_core::contract::queue::MAX_VISIBILITY;
        // Whole seconds, rounded up: never earlier than the schedule says.
        let seconds = wait.min(limit).as_millis().div_ceil(1000) as i32;
        self.client
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| self.error("schedule the next attempt", e))?;
        Ok(())
    }

    /// Counts from `GetQueueAttributes` (SQS's approximate numbers). SQS gives no oldest age
    /// through its API (CloudWatch's `ApproximateAgeOfOldestMessage` does, which the stack's
    /// alarm watches), nor does it keep Slack's last error.
    pub async fn status(&self) -> Result<Status, QueueError> {
        let count = async |url: &str, names: &[QueueAttributeName]| {
            let answer = self
                .client
                .get_queue_attributes()
                .queue_url(url)
                .set_attribute_names(Some(names.to_vec()))
                .send()
                .await
                .map_err(|e| self.error("read the queue", e))?;
            let attributes = answer.attributes.unwrap_or_default();
            Ok::<u64, QueueError>(
                names
                    .iter()
                    .filter_map(|name| attributes.get(name)?.parse::<u64>().ok())
                    .sum(),
            )
        };
        let queued = count(
            &self.queue_url,
            &[
                QueueAttributeName::ApproximateNumberOfMessages,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
                QueueAttributeName::ApproximateNumberOfMessagesDelayed,
            ],
        )
        .await?;
        let dead = count(
            &self.dead_letter_url,
            &[
                QueueAttributeName::ApproximateNumberOfMessages,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ],
        )
        .await?;
        Ok(Status {
            queued,
            oldest_queued_age_s: None,
            dead_letters: dead,
            last_slack_error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::FailedAttempt;

    fn delivery(failed: Option<FailedAttempt>) -> NewDelivery {
        NewDelivery {
            webhook_id: Some("d-1".into()),
            kind: "stack_update".into(),
            body: "{\"a\":\"\u{fffe}\"}".as_bytes().to_vec(),
            lane: "acme/site/prod".into(),
            organization: Some("acme".into()),
            project: Some("site".into()),
            stack: Some("prod".into()),
            failed,
            enrichment: None,
        }
    }

    #[test]
    fn an_envelope_carries_what_pulumi_cloud_said_to_the_retries() {
        let enrichment = relay_core::enrich::Enrichment {
            errors_total: 2,
            ..Default::default()
        };
        let with = NewDelivery {
            enrichment: Some(enrichment.clone()),
            ..delivery(None)
        };
        let text = serde_json::to_string(&Envelope::new(with, 1_000)).unwrap();
        assert_eq!(Envelope::parse(&text).unwrap().enrichment, Some(enrichment));
        let without = serde_json::to_string(&Envelope::new(delivery(None), 1_000)).unwrap();
        assert!(!without.contains("enrichment"), "{without}");
        assert_eq!(Envelope::parse(&without).unwrap().enrichment, None);
    }

    #[test]
    fn an_envelope_carries_the_body_byte_for_byte_and_parses_back() {
        let envelope = Envelope::new(delivery(None), 1_000);
        let text = serde_json::to_string(&envelope).unwrap();
        assert!(!text.contains('\u{fffe}'), "SQS refuses U+FFFE in a body");
        let back = Envelope::parse(&text).unwrap();
        assert_eq!(back, envelope);
        assert_eq!(back.body().unwrap(), delivery(None).body);
        assert_eq!((back.attempts, back.due_ms), (0, 1_000));
    }

    #[test]
    fn a_failed_first_attempt_is_counted_and_makes_the_message_due_after_its_wait() {
        let failed = FailedAttempt {
            error: "ratelimited".into(),
            retry_in: Some(Duration::from_secs(30)),
        };
        let envelope = Envelope::new(delivery(Some(failed)), 1_000);
        assert_eq!(envelope.attempts, 1);
        assert_eq!(envelope.due_ms, 31_000);
        assert_eq!(envelope.last_error.as_deref(), Some("ratelimited"));
        assert_eq!(
            envelope.dead_letter().first_attempt.as_deref(),
            Some("1970-01-01T00:00:01Z")
        );
    }

    #[test]
    fn queue_ids_are_sixteen_hex_digits_and_differ() {
        let (a, b) = (fresh_id(), fresh_id());
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}

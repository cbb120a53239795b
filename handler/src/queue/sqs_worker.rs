//! The retry worker of the deployed relay: the second function, which the retry queue invokes
//! through an SQS event source mapping with `ReportBatchItemFailures`, and answers with the
//! messages to keep (AWS Lambda's "partial batch response": Lambda deletes the others).
//!
//! For each message, in order: not due yet → hidden until it is; due → one more [`attempt`],
//! then delivered (deleted), retried later (hidden for the schedule's wait through
//! `ChangeMessageVisibility`, so the backoff is SQS's visibility timeout), or buried in the
//! dead-letter queue (then deleted). A message kept for later keeps every later message of its
//! group (its stack) in this batch too, unattempted and made visible at once: Lambda's guide for
//! FIFO sources says to stop a group at its first failure, and SQS then hands the group out
//! again from its oldest message, once that is visible.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_smithy_types::base64;
use tracing::Instrument as _;

use super::attempt::{self, Attempt, Next};
use super::sqs::{Envelope, SqsQueue};
use super::{Queue, now_ms};
use crate::relay::Relay;

/// What the worker keeps in hand before its deadline to finish a message it starts: an
/// attempt's own bound plus the calls to SQS around it.
const MARGIN: Duration = Duration::from_secs(5);

/// Handles one batch; `deadline` is the invocation's (Lambda's context).
pub async fn handle(
    relay: &Relay,
    queue: &SqsQueue,
    event: SqsEvent,
    deadline: SystemTime,
) -> SqsBatchResponse {
    let mut kept = Vec::new();
    let mut stopped_groups: HashSet<String> = HashSet::new();
    let budget = relay.slack_deadline() + relay.enrichment_budget() + MARGIN;
    for record in event.records {
        let Some(message_id) = record.message_id.clone() else {
            // Nothing to answer with: Lambda keeps the batch only when told which message failed.
            tracing::error!("an SQS record without a messageId is skipped");
            continue;
        };
        let group = record.attributes.get("MessageGroupId").cloned();
        let out_of_time = deadline
            .duration_since(SystemTime::now())
            .is_ok_and(|left| left < budget);
        let stopped = group.as_ref().is_some_and(|g| stopped_groups.contains(g));
        let keep = if stopped || out_of_time {
            release(queue, &record).await;
            true
        } else {
            !one(relay, queue, &record).await
        };
        if keep {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message_id;
            kept.push(failure);
            if let Some(group) = group {
                stopped_groups.insert(group);
            }
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = kept;
    response
}

/// Makes a message Lambda will keep visible at once (it was not attempted).
async fn release(queue: &SqsQueue, record: &SqsMessage) {
    if let Some(receipt) = &record.receipt_handle
        && let Err(error) = queue.retry_in(receipt, Duration::ZERO).await
    {
        tracing::warn!(%error, "an unattempted message stays hidden until its visibility timeout");
    }
}

/// One message; whether it is done with (Lambda may delete it).
async fn one(relay: &Relay, queue: &SqsQueue, record: &SqsMessage) -> bool {
    let attribute = |name: &str| {
        record
            .attributes
            .get(name)
            .and_then(|v| v.parse::<i64>().ok())
    };
    let receive_count = attribute("ApproximateReceiveCount").unwrap_or(1).max(1) as u32;
    let sent_ms = attribute("SentTimestamp").unwrap_or(0);
    let receipt = record.receipt_handle.as_deref().unwrap_or_default();
    let body = record.body.as_deref().unwrap_or_default();
    let message_id = record.message_id.as_deref().unwrap_or("-");

    let (envelope, bytes) = match Envelope::parse(body).and_then(|e| Ok((e.body()?, e))) {
        Ok((bytes, envelope)) => (envelope, bytes),
        Err(why) => return bury_foreign(queue, message_id, body, why, sent_ms).await,
    };
    let now = now_ms();
    if envelope.due_ms > now {
        let wait = Duration::from_millis((envelope.due_ms - now) as u64);
        if let Err(error) = queue.retry_in(receipt, wait).await {
            tracing::warn!(%error, queue_id = envelope.id, "a delivery not yet due is seen again early");
        }
        return false;
    }
    // A message first received before it was due was seen once without an attempt.
    let first_received = attribute("ApproximateFirstReceiveTimestamp").unwrap_or(now);
    let deferred = u32::from(first_received < envelope.due_ms);
    let number = (envelope.attempts + receive_count)
        .saturating_sub(deferred)
        .max(1);
    // A replayed message is a new message: its window starts when it was sent.
    let age = Duration::from_millis((now - envelope.since_ms.max(sent_ms)).max(0) as u64);

    let span = attempt::span(envelope.webhook_id.as_deref(), &envelope.kind, &envelope.id);
    // The attempt and what is done with its result log in the delivery's span.
    async {
        // A message is never rewritten, so what this attempt fetches (when the door did not)
        // is asked again by the next one.
        let mut attempt = Attempt {
            webhook_id: envelope.webhook_id.as_deref(),
            kind: &envelope.kind,
            body: &bytes,
            number,
            age,
            enrichment: envelope.enrichment.clone(),
        };
        let next = attempt::run(relay, &Queue::Sqs(queue.clone()), &mut attempt).await;
        let attempt_enrichment = attempt.enrichment.take();
        match next {
            Next::Delivered => true,
            Next::Retry(failed) => {
                let wait = failed.retry_in.unwrap_or_default();
                if let Err(error) = queue.retry_in(receipt, wait).await {
                    tracing::error!(%error, "the retry comes after the queue's visibility timeout instead");
                }
                false
            }
            Next::Dead(failed) => {
                let dead = Envelope {
                    attempts: number,
                    first_attempt_ms: envelope.first_attempt_ms.or(Some(now)),
                    last_attempt_ms: Some(now),
                    last_error: Some(failed.error),
                    // A new message is written anyway: it keeps what this attempt fetched.
                    enrichment: attempt_enrichment,
                    ..envelope
                };
                match queue.bury(&dead).await {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::error!(%error, "the dead letter is not stored; the message stays queued");
                        false
                    }
                }
            }
        }
    }
    .instrument(span)
    .await
}

/// A message that is not a relay delivery (sent to the queue by hand, or altered): kept as a
/// dead letter under its SQS message id, never dropped.
async fn bury_foreign(
    queue: &SqsQueue,
    message_id: &str,
    body: &str,
    why: String,
    sent_ms: i64,
) -> bool {
    let now = now_ms();
    let envelope = Envelope {
        id: message_id.to_owned(),
        webhook_id: None,
        kind: "-".to_owned(),
        body: base64::encode(body),
        lane: message_id.to_owned(),
        organization: None,
        project: None,
        stack: None,
        received_ms: sent_ms,
        since_ms: sent_ms,
        due_ms: now,
        attempts: 0,
        first_attempt_ms: None,
        last_attempt_ms: Some(now),
        last_error: Some(why.clone()),
        enrichment: None,
    };
    match queue.bury(&envelope).await {
        Ok(()) => {
            tracing::error!(
                outcome = "dead_lettered",
                queue_id = message_id,
                error = why,
                "a message that is not a queued delivery is kept as a dead letter"
            );
            true
        }
        Err(error) => {
            tracing::error!(%error, queue_id = message_id, "a foreign message stays queued");
            false
        }
    }
}

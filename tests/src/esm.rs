//! A stand-in for Lambda's SQS event source mapping (the poller between the retry queue and the
//! worker function), which neither moto nor cargo-lambda provides. What it does, and only that,
//! is as AWS documents it ("Using Lambda with Amazon SQS", "Handling errors for an SQS event
//! source", "Implementing partial batch responses" in the Lambda developer guide):
//!
//! - it receives up to the mapping's batch size with `ReceiveMessage`, asking for all system
//!   attributes; each message stays in flight for the queue's visibility timeout;
//! - it invokes the function synchronously with an `aws:sqs` event whose records carry
//!   `messageId`, `receiptHandle`, `body`, `attributes` (`ApproximateReceiveCount`,
//!   `SentTimestamp`, `SenderId`, `ApproximateFirstReceiveTimestamp`, and for FIFO queues
//!   `SequenceNumber`, `MessageGroupId`, `MessageDeduplicationId`), `messageAttributes`,
//!   `md5OfBody`, `eventSource`, `eventSourceARN` and `awsRegion` (the guide's example FIFO event);
//! - with `ReportBatchItemFailures`, it deletes every message the response does not name in
//!   `batchItemFailures`; a function error, or a response naming an id that is empty or not in
//!   the batch, fails the whole batch (nothing deleted); the kept messages reappear when their
//!   visibility timeout ends (which the function may have changed);
//! - FIFO ordering is SQS's: it hands out no message of a group while one of the group is in flight.

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName};
use serde_json::{Map, Value, json};

use crate::emulator::Watch;
use crate::moto::RetryQueues;

const REGION: &str = "eu-west-1";

/// One batch handed to the function, and what came of it.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The records' `messageId`s, in order, and their bodies.
    pub messages: Vec<(String, String)>,
    /// `batchItemFailures`' ids.
    pub kept: Vec<String>,
}

pub struct EventSourceMapping {
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    queue_arn: String,
    batch_size: i32,
}

impl EventSourceMapping {
    pub fn new(sqs: aws_sdk_sqs::Client, queues: &RetryQueues) -> EventSourceMapping {
        EventSourceMapping {
            sqs,
            queue_url: queues.queue.clone(),
            queue_arn: queues.queue_arn.clone(),
            batch_size: relay_core::contract::queue::BATCH_SIZE as i32,
        }
    }

    /// One poll (a short long-poll, as Lambda's pollers make): the event of what was received,
    /// or `None` when nothing is visible.
    pub async fn receive(&self) -> Option<Value> {
        let answer = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(self.batch_size)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .send()
            .await
            .expect("moto receives");
        let messages = answer.messages.unwrap_or_default();
        if messages.is_empty() {
            return None;
        }
        let records: Vec<Value> = messages
            .into_iter()
            .map(|m| {
                let attributes: Map<String, Value> = m
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_owned(), Value::String(v)))
                    .collect();
                json!({
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body,
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.queue_arn,
                    "awsRegion": REGION,
                })
            })
            .collect();
        Some(json!({ "Records": records }))
    }

    /// Invokes `function` with `event` and deletes what it did not keep.
    pub async fn deliver(&self, function: &Watch, event: &Value) -> Batch {
        let records = event["Records"].as_array().unwrap();
        let messages: Vec<(String, String)> = records
            .iter()
            .map(|r| {
                (
                    r["messageId"].as_str().unwrap().to_owned(),
                    r["body"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let response = function.invoke(event).await;
        let failures = response["batchItemFailures"].as_array();
        let kept: Option<Vec<String>> = failures.and_then(|failures| {
            failures
                .iter()
                .map(|f| {
                    f["itemIdentifier"]
                        .as_str()
                        .filter(|id| messages.iter().any(|(m, _)| m == id))
                        .map(str::to_owned)
                })
                .collect()
        });
        // A function error or an invalid response: the whole batch is kept.
        let kept = kept.unwrap_or_else(|| messages.iter().map(|(id, _)| id.clone()).collect());
        let done: Vec<DeleteMessageBatchRequestEntry> = records
            .iter()
            .filter(|r| !kept.iter().any(|k| k == r["messageId"].as_str().unwrap()))
            .enumerate()
            .map(|(i, r)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r["receiptHandle"].as_str().unwrap())
                    .build()
                    .unwrap()
            })
            .collect();
        if !done.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(done))
                .send()
                .await
                .expect("moto deletes");
        }
        Batch { messages, kept }
    }

    /// Messages in the queue, visible or in flight (SQS's approximate counts; exact in moto).
    pub async fn depth(&self) -> u64 {
        depth(&self.sqs, &self.queue_url).await
    }

    /// Polls and delivers until the queue is empty, within `bound`; returns every batch.
    pub async fn drain(&self, function: &Watch, bound: std::time::Duration) -> Vec<Batch> {
        let until = std::time::Instant::now() + bound;
        let mut batches = Vec::new();
        while self.depth().await > 0 {
            assert!(
                std::time::Instant::now() < until,
                "the retry queue still holds {} message(s) after {bound:?}; batches: {batches:#?}",
                self.depth().await
            );
            if let Some(event) = self.receive().await {
                batches.push(self.deliver(function, &event).await);
            }
        }
        batches
    }
}

/// Messages in the queue at `url`, visible, in flight or delayed.
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let names = [
        A::ApproximateNumberOfMessages,
        A::ApproximateNumberOfMessagesNotVisible,
        A::ApproximateNumberOfMessagesDelayed,
    ];
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
        .expect("moto answers")
        .attributes
        .unwrap_or_default();
    names
        .iter()
        .filter_map(|n| attributes.get(n)?.parse::<u64>().ok())
        .sum()
}

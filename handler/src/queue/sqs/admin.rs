//! `handler dead-letters` and `handler replay` on the deployed queues (feature `admin`: the
//! Lambda's zip leaves them out).

use std::time::Duration;

use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};

use super::{Envelope, SqsQueue};
use crate::queue::{DeadLetter, QueueError, Replayed, now_ms};

/// How many messages one receive returns at most (SQS: 1 to 10).
const RECEIVE_MAX: i32 = 10;

impl SqsQueue {
    /// Every message visible in the dead-letter queue, each held invisible for `hold` so one
    /// pass sees each once. The caller releases or deletes them.
    async fn receive_all(&self, hold: Duration) -> Result<Vec<Received>, QueueError> {
        let mut all: Vec<Received> = Vec::new();
        loop {
            let answer = self
                .client
                .receive_message()
                .queue_url(&self.dead_letter_url)
                .max_number_of_messages(RECEIVE_MAX)
                .visibility_timeout(hold.as_secs() as i32)
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(|e| self.error("read the dead letters", e))?;
            let messages = answer.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            for message in messages {
                let (Some(body), Some(receipt)) = (message.body, message.receipt_handle) else {
                    continue;
                };
                all.push(Received {
                    envelope: Envelope::parse(&body),
                    receipt,
                    sent_ms: message
                        .attributes
                        .as_ref()
                        .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                        .and_then(|t| t.parse().ok())
                        .unwrap_or(0),
                });
            }
        }
        // The order they were buried in.
        all.sort_by_key(|r| r.sent_ms);
        Ok(all)
    }

    /// Makes received dead letters visible again at once (listing must not hide them).
    async fn release(&self, received: &[&Received]) -> Result<(), QueueError> {
        for chunk in received.chunks(RECEIVE_MAX as usize) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&r.receipt)
                        .visibility_timeout(0)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.error("release the dead letters", e))?;
            self.client
                .change_message_visibility_batch()
                .queue_url(&self.dead_letter_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.error("release the dead letters", e))?;
        }
        Ok(())
    }

    /// The dead letters, oldest first (`handler dead-letters --dead-letter-queue …`). A message
    /// that is not a relay delivery is listed by its SQS message id with the reason.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, QueueError> {
        let received = self.receive_all(LIST_HOLD).await?;
        self.release(&received.iter().collect::<Vec<_>>()).await?;
        Ok(received
            .iter()
            .filter_map(|r| r.envelope.as_ref().ok().map(Envelope::dead_letter))
            .collect())
    }

    /// Moves the dead letters `ids` (all when `None`) back to the retry queue, each with a new
    /// retry window and due at once, in its stack's group again (`handler replay`).
    ///
    /// For all of them SQS's own `StartMessageMoveTask` is asked first: it moves the messages
    /// inside SQS, at SQS's pace, and the worker starts their window from the moved message's
    /// `SentTimestamp` (a moved message is sent anew). Where SQS does not start one (a task
    /// already runs, no permission, an emulator without the API), and for chosen ids, which a
    /// move task cannot pick, each message is sent to the retry queue and then deleted from the
    /// dead-letter queue: a crash in between sends one twice, which exactly-once absorbs; never
    /// none.
    pub async fn replay(&self, ids: Option<&[String]>) -> Result<(Replayed, Moved), QueueError> {
        let mut task_refused = None;
        if ids.is_none() {
            match self.move_task().await {
                Ok(handle) => return Ok((Replayed::default(), Moved::ByTask(handle))),
                Err(why) => task_refused = Some(why),
            }
        }
        let received = self.receive_all(REPLAY_HOLD).await?;
        let mut replayed = Replayed::default();
        let mut keep = Vec::new();
        for r in &received {
            let Ok(envelope) = &r.envelope else {
                keep.push(r);
                continue;
            };
            if ids.is_some_and(|ids| !ids.contains(&envelope.id)) {
                keep.push(r);
                continue;
            }
            let now = now_ms();
            let requeued = Envelope {
                since_ms: now,
                due_ms: now,
                ..envelope.clone()
            };
            self.send(&self.queue_url, &requeued.lane, &requeued)
                .await?;
            self.client
                .delete_message()
                .queue_url(&self.dead_letter_url)
                .receipt_handle(&r.receipt)
                .send()
                .await
                .map_err(|e| self.error("remove a replayed dead letter", e))?;
            replayed.requeued.push(envelope.id.clone());
        }
        self.release(&keep).await?;
        if let Some(ids) = ids {
            replayed.unknown = ids
                .iter()
                .filter(|id| !replayed.requeued.contains(id))
                .cloned()
                .collect();
        }
        Ok((replayed, Moved::OneByOne { task_refused }))
    }

    /// Starts SQS's move of every dead letter to the retry queue: its task handle, or why SQS
    /// would not start one.
    async fn move_task(&self) -> Result<String, String> {
        let arn = async |url: &str| {
            let answer = self
                .client
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map_err(|e| DisplayErrorContext(e).to_string())?;
            answer
                .attributes
                .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
                .ok_or_else(|| format!("SQS answered {url}'s attributes without a QueueArn"))
        };
        let (source, destination) = (
            arn(&self.dead_letter_url).await?,
            arn(&self.queue_url).await?,
        );
        let answer = self
            .client
            .start_message_move_task()
            .source_arn(source)
            .destination_arn(destination)
            .send()
            .await
            .map_err(|e| DisplayErrorContext(e).to_string())?;
        Ok(answer.task_handle.unwrap_or_default())
    }
}

/// How a replay moved the dead letters.
#[derive(Debug, PartialEq, Eq)]
pub enum Moved {
    /// SQS moves them; its task handle (`ListMessageMoveTasks` shows the progress).
    ByTask(String),
    /// The relay moved them one by one ([`Replayed`] says which); for a replay of all, why SQS
    /// did not move them itself.
    OneByOne { task_refused: Option<String> },
}

/// A dead letter listing holds messages this long at most (released as soon as it is done).
const LIST_HOLD: Duration = Duration::from_secs(30);
/// A replay holds them while it moves them.
const REPLAY_HOLD: Duration = Duration::from_secs(120);

struct Received {
    envelope: Result<Envelope, String>,
    receipt: String,
    sent_ms: i64,
}

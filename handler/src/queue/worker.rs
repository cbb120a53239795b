//! The retry worker of the self-hosted relay: takes each lane's oldest queued delivery when it
//! is due, makes one more [`attempt`] at it, and then forgets it, schedules the next attempt, or
//! dead-letters it in the data directory.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::attempt::{self, Attempt, Next};
use super::local::LocalQueue;
use super::{Queue, Queued};
use crate::relay::Relay;

/// How many lanes are attempted at once.
const PARALLEL_LANES: usize = 16;
/// The longest the worker sleeps without looking at the queue: a replay by the CLI (another
/// process) is picked up within it.
const POLL: Duration = Duration::from_secs(1);

/// Runs until the process ends.
pub async fn run(relay: Arc<Relay>, queue: LocalQueue) {
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
            let span = attempt::span(delivery.webhook_id.as_deref(), &delivery.kind, &delivery.id);
            attempts.spawn(async move { retry(&relay, &queue, delivery).await }.instrument(span));
        }
        while attempts.join_next().await.is_some() {}
    }
}

/// One more attempt at `delivery`, and its result recorded.
async fn retry(relay: &Relay, queue: &LocalQueue, delivery: Queued) {
    let asked = delivery.enrichment.is_some();
    let mut attempt = Attempt {
        webhook_id: delivery.webhook_id.as_deref(),
        kind: &delivery.kind,
        body: &delivery.body,
        number: delivery.attempts + 1,
        age: delivery.age,
        enrichment: delivery.enrichment.clone(),
    };
    let next = attempt::run(relay, &Queue::Local(queue.clone()), &mut attempt).await;
    // Kept for the next attempt only when this one was the first to ask.
    let fetched = attempt.enrichment.filter(|_| !asked);
    let recorded = match next {
        Next::Delivered => queue.delivered(&delivery.id).await,
        Next::Retry(failed) | Next::Dead(failed) => {
            queue.failed(&delivery.id, failed, fetched).await
        }
    };
    if let Err(error) = recorded {
        // A delivered one is sent again at the next attempt, where exactly-once finds it posted.
        tracing::error!(%error, "the attempt's result is not recorded in the queue");
    }
}

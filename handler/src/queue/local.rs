//! The queue in the data directory's database ([`crate::data_dir`], table `deliveries`): a row
//! per delivery, `queued` until it is delivered (then deleted) or `dead`. Every write is
//! committed before the caller answers, so a 202 stands for a delivery on disk.

use std::sync::Arc;
use std::time::Duration;

use relay_core::enrich::Enrichment;
use rusqlite::{OptionalExtension, params};
use tokio::sync::Notify;

use super::{
    DeadLetter, FailedAttempt, NewDelivery, QueueError, Queued, Replayed, SlackErrorSeen, Status,
    rfc3339,
};
use crate::data_dir::{DataDir, now_ms};

#[derive(Clone, Debug)]
pub struct LocalQueue {
    data: DataDir,
    /// Wakes this process's worker when a delivery is queued. A replay by another process
    /// (the CLI) is seen at the worker's next poll.
    queued: Arc<Notify>,
}

fn ms(duration: Duration) -> i64 {
    duration.as_millis().min(i64::MAX as u128) as i64
}

/// The oldest queued delivery of each lane: the only ones that may be attempted.
const LANE_HEADS: &str = "SELECT seq, webhook_id, kind, body, attempts, since_ms, next_ms,
        enrichment
    FROM deliveries AS d
    WHERE state = 'queued'
      AND seq = (SELECT MIN(seq) FROM deliveries WHERE state = 'queued' AND lane = d.lane)";

impl LocalQueue {
    pub fn new(data: DataDir) -> LocalQueue {
        LocalQueue {
            data,
            queued: Arc::new(Notify::new()),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        doing: &'static str,
        f: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, QueueError> {
        self.data.run(f).await.map_err(|why| self.error(doing, why))
    }

    fn error(&self, doing: &'static str, why: rusqlite::Error) -> QueueError {
        QueueError {
            place: self.data.path().display().to_string(),
            doing,
            why: why.to_string(),
        }
    }

    async fn insert(
        &self,
        delivery: NewDelivery,
        state: &'static str,
    ) -> Result<String, QueueError> {
        let enrichment = delivery
            .enrichment
            .as_ref()
            .map(|e| serde_json::to_string(e).unwrap_or_default());
        let seq = self
            .run("store the delivery", move |db| {
                let now = now_ms();
                let (attempts, error, next) = match &delivery.failed {
                    Some(failed) => (
                        1,
                        Some(failed.error.as_str()),
                        now + failed.retry_in.map_or(0, ms),
                    ),
                    None => (0, None, now),
                };
                let attempted = delivery.failed.as_ref().map(|_| now);
                db.execute(
                    "INSERT INTO deliveries (webhook_id, kind, body, lane, org, project, stack,
                        state, received_ms, since_ms, next_ms, attempts, first_attempt_ms,
                        last_attempt_ms, last_error, enrichment)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11, ?12, ?12, ?13, ?14)",
                    params![
                        delivery.webhook_id,
                        delivery.kind,
                        delivery.body,
                        delivery.lane,
                        delivery.organization,
                        delivery.project,
                        delivery.stack,
                        state,
                        now,
                        next,
                        attempts,
                        attempted,
                        error,
                        enrichment,
                    ],
                )?;
                Ok(db.last_insert_rowid())
            })
            .await?;
        if state == "queued" {
            self.queued.notify_one();
        }
        Ok(seq.to_string())
    }

    pub async fn enqueue(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        self.insert(delivery, "queued").await
    }

    pub async fn dead_letter(&self, delivery: NewDelivery) -> Result<String, QueueError> {
        self.insert(delivery, "dead").await
    }

    pub async fn lane_busy(&self, lane: &str) -> Result<bool, QueueError> {
        let lane = lane.to_owned();
        self.run("read the queue", move |db| {
            db.query_row(
                "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 'queued' AND lane = ?1)",
                [lane],
                |r| r.get(0),
            )
        })
        .await
    }

    pub async fn due(&self, limit: usize) -> Result<Vec<Queued>, QueueError> {
        self.run("read the queue", move |db| {
            let now = now_ms();
            let mut statement = db.prepare_cached(&format!(
                "{LANE_HEADS} AND next_ms <= ?1 ORDER BY next_ms, seq LIMIT ?2"
            ))?;
            let rows = statement.query_map(params![now, limit as i64], |r| {
                Ok(Queued {
                    id: r.get::<_, i64>(0)?.to_string(),
                    webhook_id: r.get(1)?,
                    kind: r.get(2)?,
                    body: r.get(3)?,
                    attempts: r.get(4)?,
                    age: Duration::from_millis((now - r.get::<_, i64>(5)?).max(0) as u64),
                    // Unreadable (written by another version): asked again, never fatal.
                    enrichment: r
                        .get::<_, Option<String>>(7)?
                        .and_then(|json| serde_json::from_str(&json).ok()),
                })
            })?;
            rows.collect()
        })
        .await
    }

    pub async fn next_due_in(&self) -> Result<Option<Duration>, QueueError> {
        self.run("read the queue", |db| {
            let next: Option<i64> = db.query_row(
                &format!("SELECT MIN(next_ms) FROM ({LANE_HEADS})"),
                [],
                |r| r.get(0),
            )?;
            Ok(next.map(|at| Duration::from_millis((at - now_ms()).max(0) as u64)))
        })
        .await
    }

    pub async fn delivered(&self, id: &str) -> Result<(), QueueError> {
        let seq = seq(id);
        self.run("remove a delivered delivery", move |db| {
            db.execute("DELETE FROM deliveries WHERE seq = ?1", [seq])
                .map(drop)
        })
        .await
    }

    /// Records a failed attempt, and what it fetched from Pulumi Cloud if it was the first to.
    pub async fn failed(
        &self,
        id: &str,
        attempt: FailedAttempt,
        enrichment: Option<Enrichment>,
    ) -> Result<(), QueueError> {
        let seq = seq(id);
        let enrichment = enrichment.map(|e| serde_json::to_string(&e).unwrap_or_default());
        self.run("record a failed attempt", move |db| {
            let now = now_ms();
            let (state, next) = match attempt.retry_in {
                Some(wait) => ("queued", now + ms(wait)),
                None => ("dead", now),
            };
            db.execute(
                "UPDATE deliveries SET state = ?2, next_ms = ?3, attempts = attempts + 1,
                    first_attempt_ms = COALESCE(first_attempt_ms, ?4), last_attempt_ms = ?4,
                    last_error = ?5, enrichment = COALESCE(?6, enrichment)
                 WHERE seq = ?1",
                params![seq, state, next, now, attempt.error, enrichment],
            )
            .map(drop)
        })
        .await
    }

    pub async fn saw_slack_error(&self, error: &str) -> Result<(), QueueError> {
        let seen = serde_json::to_string(&SlackErrorSeen {
            error: error.to_owned(),
            at: rfc3339(now_ms()),
        })
        .unwrap_or_default();
        self.run("record Slack's error", move |db| {
            db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_slack_error', ?1)",
                [seen],
            )
            .map(drop)
        })
        .await
    }

    pub async fn status(&self) -> Result<Status, QueueError> {
        self.run("read the queue", status).await
    }

    pub async fn wait(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.queued.notified()).await;
    }

    /// The dead letters, oldest first (`handler dead-letters`).
    pub fn dead_letters(&self) -> Result<Vec<DeadLetter>, QueueError> {
        self.data
            .run_here(|db| {
                let mut statement = db.prepare(
                    "SELECT seq, webhook_id, kind, org, project, stack, last_error, attempts,
                        first_attempt_ms, last_attempt_ms
                     FROM deliveries WHERE state = 'dead' ORDER BY seq",
                )?;
                let rows = statement.query_map([], |r| {
                    Ok(DeadLetter {
                        id: r.get::<_, i64>(0)?.to_string(),
                        webhook_id: r.get(1)?,
                        kind: r.get(2)?,
                        organization: r.get(3)?,
                        project: r.get(4)?,
                        stack: r.get(5)?,
                        error: r.get(6)?,
                        attempts: r.get(7)?,
                        first_attempt: r.get::<_, Option<i64>>(8)?.map(rfc3339),
                        last_attempt: r.get::<_, Option<i64>>(9)?.map(rfc3339),
                    })
                })?;
                rows.collect()
            })
            .map_err(|why| self.error("list the dead letters", why))
    }

    /// Queues the dead letters `ids` (all of them when `None`) again, due now, with a new retry
    /// window; each keeps its place in its lane (`handler replay`).
    pub fn replay(&self, ids: Option<&[String]>) -> Result<Replayed, QueueError> {
        self.data
            .run_here(|db| {
                let tx = db.transaction()?;
                let now = now_ms();
                let mut replayed = Replayed::default();
                let requeue = "UPDATE deliveries SET state = 'queued', next_ms = ?1, since_ms = ?1
                    WHERE state = 'dead'";
                match ids {
                    None => {
                        let mut statement = tx.prepare(
                            "SELECT seq FROM deliveries WHERE state = 'dead' ORDER BY seq",
                        )?;
                        replayed.requeued = statement
                            .query_map([], |r| Ok(r.get::<_, i64>(0)?.to_string()))?
                            .collect::<rusqlite::Result<_>>()?;
                        drop(statement);
                        tx.execute(requeue, [now])?;
                    }
                    Some(ids) => {
                        for id in ids {
                            let found = id.parse::<i64>().ok().map_or(Ok(0), |seq| {
                                tx.execute(&format!("{requeue} AND seq = ?2"), params![now, seq])
                            })?;
                            if found == 1 {
                                replayed.requeued.push(id.clone());
                            } else {
                                replayed.unknown.push(id.clone());
                            }
                        }
                    }
                }
                tx.commit()?;
                Ok(replayed)
            })
            .map_err(|why| self.error("re-queue dead letters", why))
    }

    /// The status, read in this thread (the CLI).
    pub fn status_here(&self) -> Result<Status, QueueError> {
        self.data
            .run_here(status)
            .map_err(|why| self.error("read the queue", why))
    }
}

/// A queue id is the row's number; anything else names no row.
fn seq(id: &str) -> i64 {
    id.parse().unwrap_or(-1)
}

fn status(db: &mut rusqlite::Connection) -> rusqlite::Result<Status> {
    let now = now_ms();
    let (queued, oldest, dead): (i64, Option<i64>, i64) = db.query_row(
        "SELECT COUNT(*) FILTER (WHERE state = 'queued'),
                MIN(received_ms) FILTER (WHERE state = 'queued'),
                COUNT(*) FILTER (WHERE state = 'dead')
         FROM deliveries",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let last: Option<String> = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'last_slack_error'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    Ok(Status {
        queued: queued as u64,
        oldest_queued_age_s: oldest.map(|at| (now - at).max(0) as f64 / 1000.0),
        dead_letters: dead as u64,
        last_slack_error: last.and_then(|json| serde_json::from_str(&json).ok()),
    })
}

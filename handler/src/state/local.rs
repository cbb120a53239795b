//! Delivery state in the data directory's database ([`crate::data_dir`]), with the rules of the
//! DynamoDB store ([`super::dynamodb`]): each decision (who delivers an id, who posts a
//! deployment's first message, whether a status may overwrite the one shown) is one immediate
//! transaction, which SQLite serializes as DynamoDB does a conditional write.

use std::path::Path;
use std::time::Duration;

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::data_dir::{DataDir, now_ms};
use crate::slack::Posted;
use relay_core::contract::state_table::{DELIVERY_TTL, DEPLOYMENT_TTL};

use super::{Anchor, Claim, ClaimToken, Reservation, Start, StateError};

/// How long a first-post reservation blocks a deployment's key if its holder dies.
const RESERVATION_LEASE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct LocalState {
    data: DataDir,
}

/// A row of the `state` table.
struct Row {
    state: String,
    lease_until_ms: Option<i64>,
    channel: Option<String>,
    ts: Option<String>,
    requested_channel: Option<String>,
    rank: Option<i64>,
    expires_ms: i64,
    started_by: Option<String>,
}

impl Row {
    fn posted(&self) -> Option<Posted> {
        Some(Posted {
            channel: self.channel.clone()?,
            ts: self.ts.clone()?,
        })
    }

    fn anchor(&self) -> Option<Anchor> {
        (self.state == "posted").then_some(())?;
        Some(Anchor {
            posted: self.posted()?,
            requested_channel: self.requested_channel.clone().unwrap_or_default(),
            rank: self.rank.and_then(|r| u8::try_from(r).ok()).unwrap_or(0),
        })
    }
}

fn read(db: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<Row>> {
    db.query_row(
        "SELECT state, lease_until_ms, channel, ts, requested_channel, rank, expires_ms,
                started_by
         FROM state WHERE pk = ?1",
        [key],
        |r| {
            Ok(Row {
                state: r.get(0)?,
                lease_until_ms: r.get(1)?,
                channel: r.get(2)?,
                ts: r.get(3)?,
                requested_channel: r.get(4)?,
                rank: r.get(5)?,
                expires_ms: r.get(6)?,
                started_by: r.get(7)?,
            })
        },
    )
    .optional()
    .map(|row| row.filter(|row| row.expires_ms > now_ms()))
}

fn ms(duration: Duration) -> i64 {
    duration.as_millis() as i64
}

/// Takes `key` in `state` for `lease` if it is free, expired, or held in the same state by a
/// holder whose lease ran out; otherwise returns what holds it.
fn take(
    db: &mut rusqlite::Connection,
    key: &str,
    state: &str,
    lease: Duration,
    ttl: Duration,
    token: Option<&str>,
    rank: Option<u8>,
) -> rusqlite::Result<Result<(), Row>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_ms();
    if let Some(row) = read(&tx, key)?
        && !(row.state == state && row.lease_until_ms.unwrap_or(0) < now)
    {
        return Ok(Err(row));
    }
    tx.execute(
        "INSERT OR REPLACE INTO state (pk, state, token, lease_until_ms, rank, expires_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![key, state, token, now + ms(lease), rank, now + ms(ttl)],
    )?;
    tx.commit()?;
    Ok(Ok(()))
}

impl LocalState {
    pub fn new(data: DataDir) -> LocalState {
        LocalState { data }
    }

    pub fn path(&self) -> &Path {
        self.data.path()
    }

    async fn run<T: Send + 'static>(
        &self,
        doing: &'static str,
        f: impl FnOnce(&mut rusqlite::Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, StateError> {
        self.data.run_state(f).await.map_err(|why| StateError {
            store: format!("the data directory {}", self.data.path().display()),
            doing,
            why: why.to_string(),
        })
    }

    pub async fn claim(&self, key: &str, lease: Duration) -> Result<Claim, StateError> {
        let token = ClaimToken(format!("{:016x}", getrandom::u64().unwrap_or_default()));
        let (key, held) = (key.to_owned(), token.0.clone());
        let taken = self
            .run("record a delivery claim", move |db| {
                take(db, &key, "claimed", lease, DELIVERY_TTL, Some(&held), None)
            })
            .await?;
        Ok(match taken {
            Ok(()) => Claim::Won(token),
            Err(row) => match row.posted().filter(|_| row.state == "posted") {
                Some(posted) => Claim::AlreadyPosted(posted),
                None => Claim::InFlight {
                    lease_left: Duration::from_millis(
                        (row.lease_until_ms.unwrap_or(0) - now_ms()).max(1000) as u64,
                    ),
                },
            },
        })
    }

    pub async fn remember(&self, key: &str, ttl: Duration) -> Result<bool, StateError> {
        let key = key.to_owned();
        let taken = self
            .run("remember a Slack request", move |db| {
                take(db, &key, "seen", ttl, ttl, None, None)
            })
            .await?;
        Ok(taken.is_ok())
    }

    pub async fn posted(
        &self,
        key: &str,
        token: &ClaimToken,
        posted: &Posted,
    ) -> Result<(), StateError> {
        let (key, token, posted) = (key.to_owned(), token.0.clone(), posted.clone());
        self.run("mark a delivery posted", move |db| {
            db.execute(
                "UPDATE state SET state = 'posted', channel = ?3, ts = ?4, lease_until_ms = NULL
                 WHERE pk = ?1 AND token = ?2",
                params![key, token, posted.channel, posted.ts],
            )
            .map(drop)
        })
        .await
    }

    pub async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), StateError> {
        let (key, token) = (key.to_owned(), token.0.clone());
        self.run("release a delivery claim", move |db| {
            db.execute(
                "DELETE FROM state WHERE pk = ?1 AND token = ?2",
                params![key, token],
            )
            .map(drop)
        })
        .await
    }

    pub async fn find(&self, key: &str) -> Result<Option<Anchor>, StateError> {
        let key = key.to_owned();
        let row = self.run("read an item", move |db| read(db, &key)).await?;
        Ok(row.as_ref().and_then(Row::anchor))
    }

    pub async fn reserve(&self, key: &str, rank: u8) -> Result<Reservation, StateError> {
        let key = key.to_owned();
        let taken = self
            .run("reserve a deployment message", move |db| {
                take(
                    db,
                    &key,
                    "posting",
                    RESERVATION_LEASE,
                    DEPLOYMENT_TTL,
                    None,
                    Some(rank),
                )
            })
            .await?;
        Ok(match taken {
            Ok(()) => Reservation::Won,
            Err(row) => match row.anchor() {
                Some(anchor) => Reservation::Existing(anchor),
                None => Reservation::Pending,
            },
        })
    }

    pub async fn anchor(
        &self,
        key: &str,
        anchor: &Anchor,
        ttl: Duration,
    ) -> Result<(), StateError> {
        let (key, anchor) = (key.to_owned(), anchor.clone());
        self.run("store a message's place", move |db| {
            db.execute(
                "INSERT OR REPLACE INTO state
                 (pk, state, channel, ts, requested_channel, rank, expires_ms)
                 VALUES (?1, 'posted', ?2, ?3, ?4, ?5, ?6)",
                params![
                    key,
                    anchor.posted.channel,
                    anchor.posted.ts,
                    anchor.requested_channel,
                    anchor.rank,
                    now_ms() + ms(ttl)
                ],
            )
            .map(drop)
        })
        .await
    }

    pub async fn remember_start(
        &self,
        key: &str,
        start: &Start,
        ttl: Duration,
    ) -> Result<(), StateError> {
        let (key, start) = (key.to_owned(), start.clone());
        self.run("remember who started a deployment", move |db| {
            let thread = start.thread.as_ref();
            db.execute(
                "INSERT OR REPLACE INTO state (pk, state, channel, ts, started_by, expires_ms)
                 VALUES (?1, 'started', ?2, ?3, ?4, ?5)",
                params![
                    key,
                    thread.map(|t| &t.channel),
                    thread.map(|t| &t.ts),
                    start.user,
                    now_ms() + ms(ttl)
                ],
            )
            .map(drop)
        })
        .await
    }

    pub async fn start(&self, key: &str) -> Result<Option<Start>, StateError> {
        let key = key.to_owned();
        let row = self.run("read an item", move |db| read(db, &key)).await?;
        Ok(row.filter(|r| r.state == "started").and_then(|row| {
            Some(Start {
                thread: row.posted(),
                user: row.started_by?,
            })
        }))
    }

    pub async fn advance(&self, key: &str, rank: u8) -> Result<bool, StateError> {
        let key = key.to_owned();
        self.run("update a message's status", move |db| {
            db.execute(
                "UPDATE state SET rank = ?2 WHERE pk = ?1 AND rank <= ?2",
                params![key, rank],
            )
            .map(|changed| changed == 1)
        })
        .await
    }

    pub async fn forget(&self, key: &str) -> Result<(), StateError> {
        let key = key.to_owned();
        self.run("delete an item", move |db| {
            db.execute("DELETE FROM state WHERE pk = ?1", [key])
                .map(drop)
        })
        .await
    }
}

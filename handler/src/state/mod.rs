//! Delivery state: which deliveries were already posted (exactly-once), and where each living
//! message is (a deployment's, edited in place as its status changes; a stack's latest preview,
//! which the stack's next update replies under).
//!
//! Two stores keep it with the same rules: DynamoDB ([`dynamodb`], on AWS and wherever
//! `STATE_TABLE` is set) and the local data directory's database (`local`, the self-hosted
//! default). [`State`] is the one handle [`crate::living`] uses.

pub mod dynamodb;
#[cfg(feature = "local-store")]
pub mod local;

use std::time::Duration;

use crate::slack::Posted;

pub use dynamodb::StateTable;

/// A state call failed (DynamoDB unreachable, throttled past the SDK's retries, no access; the
/// data directory's database unwritable or full).
#[derive(Debug, thiserror::Error)]
#[error("{store} could not {doing}: {why}")]
pub struct StateError {
    /// Which store: "the state table \"…\"", "the data directory …".
    pub(crate) store: String,
    pub(crate) doing: &'static str,
    pub(crate) why: String,
}

/// Who delivers a webhook, decided by [`State::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This invocation delivers it, then calls [`State::posted`] or [`State::release`].
    Won(ClaimToken),
    /// An earlier delivery of the same id was posted here.
    AlreadyPosted(Posted),
    /// Another invocation is delivering it right now; ask again once its lease has run out.
    InFlight { lease_left: Duration },
}

/// Proof of a won claim: only its holder may finish or release it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimToken(pub(crate) String);

/// A living message: where it is and the rank of the status it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub posted: Posted,
    /// The channel as the route named it (`#ops`), which `posted.channel` (an ID) cannot be
    /// compared with.
    pub requested_channel: String,
    pub rank: u8,
}

/// A deployment started from Slack (ChatOps): who started it, and the notification whose
/// button did, which its living message then replies under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    pub user: String,
    pub thread: Option<Posted>,
}

/// What [`State::reserve`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// No message yet: this invocation posts it, then calls [`State::anchor`].
    Won,
    /// The message exists.
    Existing(Anchor),
    /// Another invocation is posting the first message right now.
    Pending,
}

/// Where delivery state is kept.
#[derive(Clone, Debug)]
pub enum State {
    DynamoDb(StateTable),
    #[cfg(feature = "local-store")]
    Local(local::LocalState),
}

/// Calls the same method on whichever store this is.
macro_rules! each_store {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            State::DynamoDb($store) => $call.await,
            #[cfg(feature = "local-store")]
            State::Local($store) => $call.await,
        }
    };
}

impl State {
    /// What the store is, for the start-up log: the table's name or the database's path.
    pub fn name(&self) -> String {
        match self {
            State::DynamoDb(table) => table.table().to_owned(),
            #[cfg(feature = "local-store")]
            State::Local(local) => local.path().display().to_string(),
        }
    }

    /// Claims delivery `key` for `lease`: it must cover the whole delivery, Slack's deadline
    /// included, or a slow attempt could be overtaken by a redelivery.
    pub async fn claim(&self, key: &str, lease: Duration) -> Result<Claim, StateError> {
        each_store!(self, s => s.claim(key, lease))
    }

    /// Records `key` for `ttl`, once: `false` when it was already recorded and has not expired
    /// (a Slack request seen before: [`crate::chatops`]).
    pub async fn remember(&self, key: &str, ttl: Duration) -> Result<bool, StateError> {
        each_store!(self, s => s.remember(key, ttl))
    }

    /// Records that `start` started the deployment at `key`, for `ttl`.
    pub async fn remember_start(
        &self,
        key: &str,
        start: &Start,
        ttl: Duration,
    ) -> Result<(), StateError> {
        each_store!(self, s => s.remember_start(key, start, ttl))
    }

    /// Who started the deployment at `key` from Slack, if someone did.
    pub async fn start(&self, key: &str) -> Result<Option<Start>, StateError> {
        each_store!(self, s => s.start(key))
    }

    /// Records that the claimed delivery was posted, so redeliveries of it answer without posting.
    pub async fn posted(
        &self,
        key: &str,
        token: &ClaimToken,
        posted: &Posted,
    ) -> Result<(), StateError> {
        each_store!(self, s => s.posted(key, token, posted))
    }

    /// Gives a failed delivery's claim back, so a later attempt is tried afresh.
    pub async fn release(&self, key: &str, token: &ClaimToken) -> Result<(), StateError> {
        each_store!(self, s => s.release(key, token))
    }

    /// The living message at `key`, if there is one and it has not expired.
    pub async fn find(&self, key: &str) -> Result<Option<Anchor>, StateError> {
        each_store!(self, s => s.find(key))
    }

    /// Reserves `key` for the first message of a deployment, unless it exists or is being posted.
    pub async fn reserve(&self, key: &str, rank: u8) -> Result<Reservation, StateError> {
        each_store!(self, s => s.reserve(key, rank))
    }

    /// Stores (or replaces) the living message at `key`, kept for `ttl`.
    pub async fn anchor(
        &self,
        key: &str,
        anchor: &Anchor,
        ttl: Duration,
    ) -> Result<(), StateError> {
        each_store!(self, s => s.anchor(key, anchor, ttl))
    }

    /// Raises the rank shown by the message at `key` to `rank`; `false` when it already shows a
    /// later status (the event arrived out of order and must not overwrite it).
    pub async fn advance(&self, key: &str, rank: u8) -> Result<bool, StateError> {
        each_store!(self, s => s.advance(key, rank))
    }

    /// Deletes `key`: a reservation whose post failed, or a preview whose update has replied.
    pub async fn forget(&self, key: &str) -> Result<(), StateError> {
        each_store!(self, s => s.forget(key))
    }
}

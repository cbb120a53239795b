//! Things taken once: each signed Slack request ("a repeated signature refused"), and each
//! button of a message for a minute (two quick clicks on Confirm, or two people pressing Re-run
//! on one notification, start one run, not two).
//!
//! Slack signs every request anew (its timestamp is in the signature), so a second request with
//! the same signature is a replay, never a retry of Slack's (which re-signs). Signatures are
//! kept for twice the signing window: an older request is refused by its timestamp anyway.
//!
//! Kept where delivery state is (DynamoDB, shared by every Lambda container; the data
//! directory). A relay without state remembers in memory, which covers one process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use relay_core::contract::state_table::slack_request_key;
use relay_core::slack_signing::{MAX_SKEW_SECS, Verified};

use crate::state::{State, StateError};

const REMEMBERED: Duration = Duration::from_secs(2 * MAX_SKEW_SECS as u64);

pub(super) enum Replay {
    Store(State),
    /// Key → until when it is taken (Unix seconds).
    Memory(Mutex<HashMap<String, i64>>),
}

impl Replay {
    pub(super) fn new(state: Option<State>) -> Replay {
        match state {
            Some(state) => Replay::Store(state),
            None => Replay::Memory(Mutex::new(HashMap::new())),
        }
    }

    /// Whether `request` is seen for the first time (and from now on, remembered).
    pub(super) async fn first_time(
        &self,
        request: &Verified,
        now: i64,
    ) -> Result<bool, StateError> {
        self.once(&slack_request_key(&request.replay_key()), REMEMBERED, now)
            .await
    }

    /// Takes `key` for `ttl`; `false` when it is already taken.
    pub(super) async fn once(
        &self,
        key: &str,
        ttl: Duration,
        now: i64,
    ) -> Result<bool, StateError> {
        match self {
            Replay::Store(state) => state.remember(key, ttl).await,
            Replay::Memory(taken) => {
                let mut taken = taken
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                taken.retain(|_, until| *until > now);
                if taken.contains_key(key) {
                    return Ok(false);
                }
                taken.insert(key.to_owned(), now + ttl.as_secs() as i64);
                Ok(true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use relay_core::slack_signing::SigningSecret;

    #[tokio::test]
    async fn a_signature_is_taken_once_and_forgotten_after_the_window() {
        let secret = SigningSecret::new(SecretString::from("s3cr3t"));
        let signature = secret.sign("1700000000", b"text=help");
        let verified = secret
            .verify(
                Some(b"1700000000"),
                Some(signature.as_bytes()),
                b"text=help",
                1_700_000_000,
            )
            .unwrap();
        let replay = Replay::new(None);
        assert!(replay.first_time(&verified, 1_700_000_000).await.unwrap());
        assert!(!replay.first_time(&verified, 1_700_000_001).await.unwrap());
        let later = 1_700_000_000 + REMEMBERED.as_secs() as i64 + 1;
        assert!(replay.first_time(&verified, later).await.unwrap());
    }

    #[tokio::test]
    async fn a_key_is_taken_for_its_own_time() {
        let replay = Replay::new(None);
        let minute = Duration::from_secs(60);
        assert!(replay.once("click#a", minute, 100).await.unwrap());
        assert!(!replay.once("click#a", minute, 159).await.unwrap());
        assert!(replay.once("click#b", minute, 159).await.unwrap());
        assert!(replay.once("click#a", minute, 161).await.unwrap());
    }
}

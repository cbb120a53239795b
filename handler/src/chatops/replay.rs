//! "A repeated signature refused": each signed Slack request is taken once. Slack signs every
//! request anew (its timestamp is in the signature), so a second request with the same
//! signature is a replay, never a retry of Slack's (which re-signs).
//!
//! Kept where delivery state is (DynamoDB, shared by every Lambda container; the data
//! directory), for twice the signing window: an older request is refused by its timestamp
//! anyway. A relay without state remembers in memory, which covers one process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use relay_core::contract::state_table::slack_request_key;
use relay_core::slack_signing::{MAX_SKEW_SECS, Verified};

use crate::state::{State, StateError};

const REMEMBERED: Duration = Duration::from_secs(2 * MAX_SKEW_SECS as u64);

pub(super) enum Replay {
    Store(State),
    /// Signature → when it was seen (Unix seconds).
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
        let key = request.replay_key();
        match self {
            Replay::Store(state) => state.remember(&slack_request_key(&key), REMEMBERED).await,
            Replay::Memory(seen) => {
                let mut seen = seen.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                seen.retain(|_, at| now - *at <= REMEMBERED.as_secs() as i64);
                Ok(seen.insert(key, now).is_none())
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
}

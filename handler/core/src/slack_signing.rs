//! Slack's request signing, for what Slack sends the relay (slash commands, interactions):
//! `X-Slack-Signature` is `v0=` and the hex HMAC-SHA256, keyed with the app's signing secret, of
//! `v0:{X-Slack-Request-Timestamp}:{raw body}`; a timestamp more than five minutes from the
//! relay's clock is refused as a possible replay (Slack, "Verifying requests from Slack").
//!
//! This module owns the check of one request. Refusing a signature seen before (a replay within
//! the window) needs memory across requests and is the adapter's, keyed by
//! [`Verified::replay_key`].

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// How far a request's timestamp may be from the relay's clock, either way, in seconds.
pub const MAX_SKEW_SECS: i64 = 5 * 60;

/// Why a request was not taken as Slack's. The messages never echo the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlackSignatureError {
    #[error("the X-Slack-Signature or X-Slack-Request-Timestamp header is missing")]
    Missing,
    #[error("the X-Slack-Request-Timestamp header is not a Unix time in seconds")]
    BadTimestamp,
    #[error(
        "the X-Slack-Request-Timestamp is more than five minutes from this relay's clock: \
         a replayed request, or a clock that is off"
    )]
    Stale,
    #[error("the X-Slack-Signature header is not `v0=` and 64 hex digits")]
    Malformed,
    #[error(
        "the X-Slack-Signature does not match the request: the Slack app's signing secret \
         differs from this relay's, or the body was changed in transit"
    )]
    Mismatch,
}

impl SlackSignatureError {
    /// A stable machine-readable name for answers and logs.
    pub fn code(self) -> &'static str {
        match self {
            SlackSignatureError::Missing => "missing_signature",
            SlackSignatureError::BadTimestamp | SlackSignatureError::Stale => "stale_request",
            SlackSignatureError::Malformed => "malformed_signature",
            SlackSignatureError::Mismatch => "invalid_signature",
        }
    }
}

/// A request that Slack signed, within the window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The request's timestamp (Unix seconds).
    pub timestamp: i64,
    signature: [u8; 32],
}

impl Verified {
    /// What identifies this request for replay protection: its signature (hex). A store that
    /// refuses a key it holds, and forgets keys after [`MAX_SKEW_SECS`] twice, refuses every
    /// replay the timestamp check lets through.
    pub fn replay_key(&self) -> String {
        hex::encode(self.signature)
    }
}

/// The Slack app's signing secret, kept only as an HMAC keyed with it.
#[derive(Clone)]
pub struct SigningSecret {
    keyed: HmacSha256,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(…)")
    }
}

impl SigningSecret {
    pub fn new(secret: SecretString) -> SigningSecret {
        let keyed = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        SigningSecret { keyed }
    }

    /// Checks a request's headers against its raw `body` at `now` (Unix seconds). The
    /// comparison is constant-time (`Mac::verify_slice`).
    pub fn verify(
        &self,
        timestamp: Option<&[u8]>,
        signature: Option<&[u8]>,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, SlackSignatureError> {
        let (Some(timestamp_text), Some(signature)) = (timestamp, signature) else {
            return Err(SlackSignatureError::Missing);
        };
        let timestamp: i64 = std::str::from_utf8(timestamp_text.trim_ascii())
            .ok()
            .and_then(|t| t.parse().ok())
            .ok_or(SlackSignatureError::BadTimestamp)?;
        if now.abs_diff(timestamp) > MAX_SKEW_SECS.unsigned_abs() {
            return Err(SlackSignatureError::Stale);
        }
        let hex_part = signature
            .trim_ascii()
            .strip_prefix(b"v0=")
            .ok_or(SlackSignatureError::Malformed)?;
        let mut expected = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut expected)
            .map_err(|_| SlackSignatureError::Malformed)?;
        self.mac(timestamp_text.trim_ascii(), body)
            .verify_slice(&expected)
            .map_err(|_| SlackSignatureError::Mismatch)?;
        Ok(Verified {
            timestamp,
            signature: expected,
        })
    }

    /// `X-Slack-Signature` for a request, as Slack computes it (for tests and the fake Slack).
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let bytes = self.mac(timestamp.as_bytes(), body).finalize().into_bytes();
        format!("v0={}", hex::encode(bytes))
    }

    fn mac(&self, timestamp: &[u8], body: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(b"v0:");
        mac.update(timestamp);
        mac.update(b":");
        mac.update(body);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_531_420_618;

    fn secret() -> SigningSecret {
        SigningSecret::new("8f742231b10e8888abcd99yyyzzz85a5".to_owned().into())
    }

    /// Slack's own worked example ("Verifying requests from Slack"): this secret, timestamp and
    /// body give this signature.
    #[test]
    fn slacks_documented_example_verifies() {
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(secret().sign("1531420618", body), signature);
        let verified = secret()
            .verify(
                Some(b"1531420618"),
                Some(signature.as_bytes()),
                body,
                NOW + 10,
            )
            .unwrap();
        assert_eq!(verified.timestamp, NOW);
        assert_eq!(verified.replay_key(), &signature[3..]);
    }

    #[test]
    fn a_changed_body_or_another_secret_is_a_mismatch() {
        let signature = secret().sign("1531420618", b"text=status");
        let check = |secret: &SigningSecret, body: &[u8]| {
            secret.verify(Some(b"1531420618"), Some(signature.as_bytes()), body, NOW)
        };
        assert!(check(&secret(), b"text=status").is_ok());
        assert_eq!(
            check(&secret(), b"text=destroy"),
            Err(SlackSignatureError::Mismatch)
        );
        let other = SigningSecret::new("another".to_owned().into());
        assert_eq!(
            check(&other, b"text=status"),
            Err(SlackSignatureError::Mismatch)
        );
    }

    #[test]
    fn a_timestamp_over_five_minutes_away_either_way_is_stale() {
        let body = b"text=status";
        let at = |ts: i64, now: i64| {
            let signature = secret().sign(&ts.to_string(), body);
            secret().verify(
                Some(ts.to_string().as_bytes()),
                Some(signature.as_bytes()),
                body,
                now,
            )
        };
        assert!(at(NOW - MAX_SKEW_SECS, NOW).is_ok());
        assert!(at(NOW + MAX_SKEW_SECS, NOW).is_ok());
        assert_eq!(
            at(NOW - MAX_SKEW_SECS - 1, NOW),
            Err(SlackSignatureError::Stale)
        );
        assert_eq!(
            at(NOW + MAX_SKEW_SECS + 1, NOW),
            Err(SlackSignatureError::Stale)
        );
    }

    #[test]
    fn missing_or_malformed_headers_are_refused_without_echoing_them() {
        let body = b"x";
        let good = secret().sign("1531420618", body);
        let check = |ts: Option<&[u8]>, sig: Option<&[u8]>| secret().verify(ts, sig, body, NOW);
        assert_eq!(
            check(None, Some(good.as_bytes())),
            Err(SlackSignatureError::Missing)
        );
        assert_eq!(
            check(Some(b"1531420618"), None),
            Err(SlackSignatureError::Missing)
        );
        assert_eq!(
            check(Some(b"yesterday"), Some(good.as_bytes())),
            Err(SlackSignatureError::BadTimestamp)
        );
        assert_eq!(
            check(Some(b"1531420618"), Some(&good.as_bytes()[3..])),
            Err(SlackSignatureError::Malformed),
            "without v0="
        );
        assert_eq!(
            check(Some(b"1531420618"), Some(b"v0=zz")),
            Err(SlackSignatureError::Malformed)
        );
        for error in [
            SlackSignatureError::Missing,
            SlackSignatureError::Stale,
            SlackSignatureError::Malformed,
            SlackSignatureError::Mismatch,
        ] {
            assert!(!error.to_string().contains(&good[3..]));
        }
    }
}

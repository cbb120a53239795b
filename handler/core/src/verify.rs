//! Pulumi webhook signatures: `Pulumi-Webhook-Signature` is the hex HMAC-SHA256 of the raw body,
//! keyed with the webhook's shared secret.
//!
//! The check is done on the exact bytes received (after API Gateway's base64 decoding), before the
//! body is parsed, and the comparison is constant-time (`Mac::verify_slice` uses `subtle`).

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Why a delivery's signature was not accepted. The messages never echo the signature itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error(
        "the Pulumi-Webhook-Signature header is missing, but this relay has a webhook secret: \
         set the same secret on the Pulumi Cloud webhook"
    )]
    Missing,
    #[error("the Pulumi-Webhook-Signature header appears more than once")]
    Duplicate,
    #[error("the Pulumi-Webhook-Signature header is not a hex-encoded HMAC-SHA256 (64 hex digits)")]
    Malformed,
    #[error(
        "the Pulumi-Webhook-Signature does not match the body: the webhook's secret differs from \
         this relay's, or the body was changed in transit"
    )]
    Mismatch,
}

impl SignatureError {
    /// A stable machine-readable name for API answers and logs.
    pub fn code(self) -> &'static str {
        match self {
            SignatureError::Missing => "missing_signature",
            SignatureError::Duplicate => "duplicate_signature",
            SignatureError::Malformed => "malformed_signature",
            SignatureError::Mismatch => "invalid_signature",
        }
    }
}

/// The shared secret that Pulumi Cloud signs deliveries with, kept only as an HMAC keyed with it.
///
/// Keying (hashing the padded key) is done once here instead of per delivery; the raw secret is
/// dropped (and zeroized, by `SecretString`) as soon as the key schedule exists.
#[derive(Clone)]
pub struct WebhookSecret {
    keyed: HmacSha256,
}

impl WebhookSecret {
    pub fn new(secret: SecretString) -> Self {
        let keyed = HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC accepts keys of any length");
        Self { keyed }
    }

    /// Checks `signatures` (every value of the header, in order) against `body`.
    ///
    /// Taking all values lets a request carrying two signature headers be refused instead of
    /// having a proxy or framework pick one of them for us.
    pub fn verify<'a>(
        &self,
        mut signatures: impl Iterator<Item = &'a [u8]>,
        body: &[u8],
    ) -> Result<(), SignatureError> {
        let signature = signatures.next().ok_or(SignatureError::Missing)?;
        if signatures.next().is_some() {
            return Err(SignatureError::Duplicate);
        }
        let mut expected = [0u8; 32];
        hex::decode_to_slice(signature.trim_ascii(), &mut expected)
            .map_err(|_| SignatureError::Malformed)?;
        self.mac(body)
            .verify_slice(&expected)
            .map_err(|_| SignatureError::Mismatch)
    }

    /// The lowercase hex signature Pulumi Cloud would send for `body` (for tools and tests).
    pub fn sign(&self, body: &[u8]) -> String {
        hex::encode(self.mac(body).finalize().into_bytes())
    }

    fn mac(&self, body: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::new("s3cret".into())
    }

    /// Known answer computed independently: `printf '{"a":1}' | openssl dgst -sha256 -hmac s3cret`.
    const KNOWN: &str = "5910e62016ef5034272c926c27071992a465c2335cecf41851bda071577f4f6d";

    #[test]
    fn sign_matches_an_independent_hmac_implementation() {
        assert_eq!(secret().sign(br#"{"a":1}"#), KNOWN);
    }

    #[test]
    fn a_correct_signature_is_accepted_in_either_hex_case() {
        let body = br#"{"a":1}"#;
        let sig = secret().sign(body);
        assert_eq!(secret().verify([sig.as_bytes()].into_iter(), body), Ok(()));
        let upper = sig.to_uppercase();
        assert_eq!(
            secret().verify([upper.as_bytes()].into_iter(), body),
            Ok(())
        );
    }

    #[test]
    fn a_missing_signature_is_rejected() {
        assert_eq!(
            secret().verify(std::iter::empty(), b"{}"),
            Err(SignatureError::Missing)
        );
    }

    #[test]
    fn two_signature_headers_are_rejected_even_if_one_is_right() {
        let sig = secret().sign(b"{}");
        let got = secret().verify([sig.as_bytes(), sig.as_bytes()].into_iter(), b"{}");
        assert_eq!(got, Err(SignatureError::Duplicate));
    }

    #[test]
    fn non_hex_or_short_signatures_are_malformed() {
        for bad in ["zz", "abcd", "", &"0".repeat(66)] {
            let got = secret().verify([bad.as_bytes()].into_iter(), b"{}");
            assert_eq!(got, Err(SignatureError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn a_signature_over_another_body_or_key_is_a_mismatch() {
        let sig = secret().sign(b"{}");
        let got = secret().verify([sig.as_bytes()].into_iter(), b"{ }");
        assert_eq!(got, Err(SignatureError::Mismatch));
        let other = WebhookSecret::new("other".into()).sign(b"{}");
        let got = secret().verify([other.as_bytes()].into_iter(), b"{}");
        assert_eq!(got, Err(SignatureError::Mismatch));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        assert!(!format!("{:?}", secret()).contains("s3cret"));
    }
}

//! The relay's one HTTP client: Slack and every AWS service are called through it, so a process
//! (a Lambda container) sets up TLS once and keeps one connection pool.

use std::sync::Arc;
use std::time::Duration;

/// Which certificates a server's chain must end in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// Mozilla's roots, compiled in (`webpki-roots`): Slack's and AWS's CAs, with no files read
    /// at start-up.
    BuiltIn,
    /// The system's, from `SSL_CERT_FILE` / `SSL_CERT_DIR` (a TLS-inspecting proxy's CA, say).
    System,
}

impl Roots {
    /// [`Roots::System`] when `SSL_CERT_FILE` or `SSL_CERT_DIR` is set (`var` looks one up).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Roots {
        let set = |name| var(name).is_some_and(|v| !v.is_empty());
        if set("SSL_CERT_FILE") || set("SSL_CERT_DIR") {
            Roots::System
        } else {
            Roots::BuiltIn
        }
    }
}

/// HTTP/1.1 over rustls with ring, the one TLS stack in the binary (HTTP/2 and a second TLS
/// provider were the largest parts of the Lambda zip: BENCHMARKS.md). Request timeouts are set
/// per request by the callers (Slack's attempt timeout, the AWS SDK's read timeout).
pub fn client(roots: Roots) -> Result<reqwest::Client, reqwest::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // The system roots go through reqwest's own verifier, which takes the process default.
    // Already installed (a second client in a test process) is fine.
    let _ = rustls::crypto::CryptoProvider::install_default(provider.as_ref().clone());
    let builder = reqwest::Client::builder()
        .user_agent(concat!("pulumi-slack-relay/", env!("CARGO_PKG_VERSION")))
        // The AWS SDK's default connect timeout; Slack's attempts are bounded per request anyway.
        .connect_timeout(Duration::from_millis(3100))
        .pool_idle_timeout(Duration::from_secs(60));
    match roots {
        Roots::System => builder.build(),
        Roots::BuiltIn => {
            let store = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            };
            let tls = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports rustls's default protocol versions")
                .with_root_certificates(store)
                .with_no_client_auth();
            builder.tls_backend_preconfigured(tls).build()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_roots_are_used_only_when_named() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Roots::from_env(env(&[])), Roots::BuiltIn);
        assert_eq!(
            Roots::from_env(env(&[("SSL_CERT_FILE", "")])),
            Roots::BuiltIn
        );
        assert_eq!(
            Roots::from_env(env(&[("SSL_CERT_FILE", "/etc/proxy-ca.pem")])),
            Roots::System
        );
        assert_eq!(
            Roots::from_env(env(&[("SSL_CERT_DIR", "/etc/ssl/certs")])),
            Roots::System
        );
    }

    #[test]
    fn the_client_builds_with_either_roots() {
        assert!(client(Roots::BuiltIn).is_ok());
        assert!(client(Roots::System).is_ok());
    }
}

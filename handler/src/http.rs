//! The relay's one HTTP client: Slack and every AWS service are called through it, so a process
//! (a Lambda container) sets up TLS once and keeps one connection pool.

use std::time::Duration;

/// HTTP/1.1 over rustls with ring, the one TLS stack in the binary (HTTP/2 and a second TLS
/// provider were the largest parts of the Lambda zip: BENCHMARKS.md). Request timeouts are set
/// per request by the callers (Slack's attempt timeout, the AWS SDK's read timeout).
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    // Already installed (a second client in a test process) is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .user_agent(concat!("pulumi-slack-relay/", env!("CARGO_PKG_VERSION")))
        // The AWS SDK's default connect timeout; Slack's attempts are bounded per request anyway.
        .connect_timeout(Duration::from_millis(3100))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}

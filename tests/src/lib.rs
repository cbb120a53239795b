//! Test support: a fake Slack, fixtures, ways to run the relay (in-process on a loopback port, or
//! as the real `handler` binary) and send it signed webhooks, and a stand-in Pulumi engine and CLI
//! that run the `infra` program and check it against the vendored provider schemas.

pub mod cli_config;
pub mod deploy;
pub mod emulator;
pub mod engine;
pub mod esm;
pub mod fake_pulumi;
pub mod fake_slack;
pub mod load;
pub mod moto;
pub mod providers;
pub mod relay;
pub mod schema;
pub mod slack_app;

use std::path::PathBuf;

/// The webhook secret the test relays are configured with.
pub const SECRET: &str = "test-webhook-secret-0123456789";

/// The directory holding the JSON fixtures.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The bytes of `fixtures/<name>.json`.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = fixtures_dir().join(format!("{name}.json"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
}

/// The `Pulumi-Webhook-Signature` Pulumi Cloud would send for `body` with [`SECRET`].
pub fn sign(body: &[u8]) -> String {
    relay_core::verify::WebhookSecret::new(SECRET.into()).sign(body)
}

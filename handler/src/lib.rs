//! Relays Pulumi Cloud webhooks to Slack.
//!
//! [`app::router`] is the whole service; `main.rs` only chooses whether Lambda or a local socket
//! feeds it. Each module owns one concept:
//! - [`config`]: settings from the environment and SSM Parameter Store;
//! - [`verify`]: `Pulumi-Webhook-Signature` checks;
//! - [`event`]: typed webhook payloads;
//! - [`format`]: Slack Block Kit messages within Slack's limits;
//! - [`slack`]: the `chat.postMessage` client with retries and a deadline.

pub mod app;
pub mod config;
pub mod event;
pub mod format;
pub mod slack;
pub mod verify;

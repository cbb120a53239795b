//! Relays Pulumi Cloud webhooks to Slack.
//!
//! [`app::router`] is the whole service; `main.rs` only chooses whether Lambda or a local socket
//! feeds it. Each module owns one concept:
//! - [`config`]: settings from the environment and SSM Parameter Store;
//! - [`verify`]: `Pulumi-Webhook-Signature` checks;
//! - [`event`]: typed webhook payloads and the Pulumi filter names they answer to;
//! - [`routes`]: which channel an event goes to, whom it notifies, or whether it is muted;
//! - [`format`]: Slack Block Kit messages within Slack's limits;
//! - [`slack`]: the `chat.postMessage` / `chat.update` client with retries and a deadline;
//! - [`state`]: delivery state in DynamoDB (claims per delivery id, living messages' places);
//! - [`living`]: exactly-once delivery, one message per deployment, updates under previews;
//! - [`aws_http`]: the AWS SDK's HTTP client, sending through the same reqwest stack.

pub mod app;
pub mod aws;
pub mod config;
pub mod http;
pub mod living;
pub mod log;
pub mod pipeline;
pub mod relay;
pub mod slack;
pub mod state;

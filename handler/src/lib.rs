//! Relays Pulumi Cloud webhooks to Slack: the adapters around [`relay_core`]'s rules.
//!
//! [`app::router`] is the whole service; `main.rs` only chooses whether Lambda or a local socket
//! feeds it. Each module owns one concept:
//! - [`app`]: HTTP in (a request into a delivery) and out (an outcome into an answer);
//! - [`pipeline`]: one delivery, from signature check to Slack, the one path of every relay;
//! - [`relay`]: the relay as configured, and the [`relay::Clients`] it calls out through;
//! - [`config`]: settings from the environment and SSM Parameter Store;
//! - [`http`]: the one HTTP client (TLS roots, pool) that Slack and AWS are called through;
//! - [`aws`]: the AWS clients over it;
//! - [`slack`]: the `chat.postMessage` / `chat.update` client with retries and a deadline;
//! - [`state`]: delivery state (claims per delivery id, living messages' places), in DynamoDB or
//!   in the data directory;
//! - [`queue`]: deliveries Slack did not take, retried in the background, and dead letters;
//! - `data_dir`: the self-hosted relay's SQLite database, which holds the queue and the state;
//! - [`living`]: exactly-once delivery, one message per deployment, updates under previews;
//! - [`log`]: one flat JSON line per delivery;
//! - [`pulumi_api`]: the Pulumi Cloud REST API, for why a run failed and what it changed, and
//!   for the runs ChatOps starts;
//! - [`chatops`]: the Slack slash command and buttons that act on stacks.

pub mod app;
pub mod aws;
pub mod chatops;
pub mod config;
#[cfg(feature = "local-store")]
pub mod data_dir;
pub mod http;
pub mod living;
pub mod log;
pub mod pipeline;
pub mod pulumi_api;
pub mod queue;
pub mod relay;
pub mod slack;
pub mod state;

//! The relay's rules, with no I/O and no async runtime: what a Pulumi webhook says, where it goes,
//! what Slack is sent, whether a delivery is signed, and what the relay and its deployment agree
//! on. The `handler` package adapts them to HTTP, Slack, AWS and storage; `infra` validates the
//! stack's config with them.

pub mod contract;
pub mod event;
pub mod format;
pub mod routes;
pub mod verify;

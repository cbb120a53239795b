//! The relay's rules, with no I/O and no async runtime: what a Pulumi webhook says, where it goes,
//! what Slack is sent, whether a delivery is signed, and what the relay and its deployment agree
//! on. The `handler` package adapts them to HTTP, Slack, AWS and storage; `infra` validates the
//! stack's config with them.

pub mod channel_rules;
pub mod chatops;
pub mod contract;
pub mod enrich;
pub mod event;
mod glob;
pub mod mrkdwn;
pub mod render;
pub mod retry;
mod rule_id;
pub mod slack;
pub mod slack_signing;
pub mod stack;
pub mod verify;

/// Fixtures and events for the tests of every module.
#[cfg(test)]
mod testing {
    use crate::event::{Event, Kind};

    /// A fixture from `tests/fixtures`, parsed as a delivery of `kind`.
    pub fn fixture(kind: &str, name: &str) -> Event {
        let path = format!(
            "{}/../../tests/fixtures/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Event::parse(Kind::parse(kind), &body).expect("fixtures are JSON")
    }

    /// `json` parsed as a delivery of `kind`.
    pub fn event(kind: &str, json: &str) -> Event {
        Event::parse(Kind::parse(kind), json.as_bytes()).unwrap()
    }
}

//! Pulumi Cloud's test delivery: says the relay is connected.

use std::fmt::Write as _;

use super::{Card, Tone};
use crate::event::PingEvent;
use crate::mrkdwn::escape;

pub(super) fn ping(e: &PingEvent) -> Card {
    let message = e.message.as_deref().unwrap_or("Ping from Pulumi Cloud");
    let mut summary = format!(
        "{}\nThis relay is connected: Pulumi Cloud webhooks will appear in this channel.",
        escape(message)
    );
    if let Some(ts) = e.timestamp {
        // Slack renders this in each reader's own time zone.
        let _ = write!(
            summary,
            "\nSent <!date^{ts}^{{date_short_pretty}} at {{time_secs}}|at Unix time {ts}>."
        );
    }
    Card::new(Tone::Good, "Webhook ping".to_owned(), summary)
}

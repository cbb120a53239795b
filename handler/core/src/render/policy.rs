//! Policy violations: Pulumi publishes no schema for them, so every field is shown.

use super::{Card, Tone, actor, bulleted, where_};
use crate::event::{Enforcement, PolicyViolationEvent, Status};
use crate::mrkdwn::{escape, truncate};

pub(super) fn policy_violation(level: Option<Enforcement>, e: &PolicyViolationEvent) -> Card {
    let origin = e.origin();
    let (tone, title) = match level {
        Some(Enforcement::Mandatory) => (Tone::Bad, "Mandatory policy violation"),
        Some(Enforcement::Advisory) => (Tone::Warn, "Advisory policy violation"),
        None => (Tone::Warn, "Policy violation"),
    };
    let during = e
        .kind
        .as_ref()
        .map(|op| format!(" during *{}*", escape(op.as_str())))
        .unwrap_or_default();
    let summary = format!(
        "{} ran into a policy violation{during} on {}",
        actor(&origin),
        where_(&origin)
    );
    let mut card = Card::new(tone, title.to_owned(), summary);
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    card.field("Result", e.result.as_ref().map(Status::as_str));
    // Pulumi publishes no schema for these, so show whatever else the payload says.
    if !e.details.is_empty() {
        let lines = e.details.iter().map(|(key, value)| {
            let value = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("*{}*: {}", escape(key), escape(&truncate(&value, 500)))
        });
        card.details
            .push(bulleted("Details", e.details.len(), lines));
    }
    card.link("View update", e.update_url.as_deref());
    card
}

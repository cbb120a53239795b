//! Turns a webhook [`Event`] into a Slack message: a headline with an emoji that says how it
//! went, a sentence saying who did what where, the facts as fields, links back to Pulumi Cloud,
//! and a footer naming the delivery. Every kind has its renderer in a module of its own; they
//! all fill in a [`Card`], which is drawn the same way for all of them. Text from payloads is
//! always escaped ([`crate::mrkdwn`]).

mod environment;
mod ping;
mod policy;
mod raw;
mod run;
mod stack;
mod why;

use std::fmt::Write as _;

use crate::enrich::Enrichment;
use crate::event::{Event, Operation, Origin, Phase, Status};
use crate::mrkdwn::{cat, escape, safe_url};
use crate::slack::{Block, Message, limits};

/// Formats an event; `delivery_id` is shown in the footer so a message can be matched with
/// Pulumi Cloud's delivery log.
pub fn message(event: &Event, delivery_id: Option<&str>) -> Message {
    enriched(event, delivery_id, None)
}

/// [`message`], with what Pulumi Cloud's API said about the run ([`crate::enrich`]) as sections
/// of its own after the webhook's facts.
pub fn enriched(
    event: &Event,
    delivery_id: Option<&str>,
    enrichment: Option<&Enrichment>,
) -> Message {
    let mut card = match event {
        Event::Stack(e) => stack::stack(e),
        Event::Team(e) => stack::team(e),
        Event::StackUpdate(e) => run::update(e, false),
        Event::StackPreview(e) => run::update(e, true),
        Event::Deployment(e) => run::deployment(e),
        Event::DriftDetection(e) => run::drift_detection(e),
        Event::DriftRemediation(e) => run::drift_remediation(e),
        Event::PolicyViolation(level, e) => policy::policy_violation(*level, e),
        Event::Esc(kind, e) => environment::environment(*kind, e),
        Event::Ping(e) => ping::ping(e),
        Event::Other(e) => return raw::other(e, delivery_id),
    };
    if let Some(enrichment) = enrichment {
        let planned = match event {
            Event::Deployment(e) => matches!(e.operation, Some(Operation::Preview)),
            _ => event.stack_run().is_none_or(|(_, preview)| preview),
        };
        let changes = if planned {
            why::Changes::Planned
        } else {
            why::Changes::Made
        };
        card.details.extend(why::sections(enrichment, changes));
    }
    card.into_message(event, delivery_id)
}

/// How a message should look: its emoji and whether it is an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tone {
    Good,
    Bad,
    Busy,
    Warn,
    Info,
}

impl Tone {
    fn of(status: Option<&Status>) -> Tone {
        match status.map(Phase::of) {
            Some(Phase::Succeeded) => Tone::Good,
            Some(Phase::Failed) => Tone::Bad,
            Some(Phase::Running) => Tone::Busy,
            Some(Phase::Stopped) => Tone::Warn,
            Some(Phase::Waiting | Phase::Unknown) | None => Tone::Info,
        }
    }

    fn emoji(self) -> &'static str {
        match self {
            Tone::Good => ":white_check_mark:",
            Tone::Bad => ":x:",
            Tone::Busy => ":hourglass_flowing_sand:",
            Tone::Warn => ":warning:",
            Tone::Info => ":information_source:",
        }
    }
}

/// The parts every formatted event has; rendered the same way for all kinds.
struct Card {
    tone: Tone,
    /// Plain text, e.g. "Update failed".
    title: String,
    /// Escaped mrkdwn sentence saying who did what.
    summary: String,
    /// Escaped mrkdwn `*Label*\nvalue` pairs.
    fields: Vec<String>,
    /// Extra escaped mrkdwn sections (lists, changes).
    details: Vec<String>,
    links: Vec<(&'static str, String)>,
}

impl Card {
    fn new(tone: Tone, title: String, summary: String) -> Card {
        Card {
            tone,
            title,
            summary,
            fields: Vec::new(),
            details: Vec::new(),
            links: Vec::new(),
        }
    }

    fn field(&mut self, label: &str, value: Option<&str>) {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            self.fields.push(cat!("*", label, "*\n", escape(value)));
        }
    }

    fn link(&mut self, label: &'static str, url: Option<&str>) {
        if let Some(url) = url.and_then(safe_url) {
            self.links.push((label, url.to_owned()));
        }
    }

    fn into_message(self, event: &Event, delivery_id: Option<&str>) -> Message {
        let origin = event.origin();
        let place = stack_path(&origin);
        // Titles carry payload values (an unknown operation, status or action): escaped like the
        // place, since the headline is also the start of the fallback `text`.
        let title = escape(&self.title);
        let headline = match &place {
            Some(place) => cat!(self.tone.emoji(), " ", title, ": ", place),
            None => cat!(self.tone.emoji(), " ", title),
        };
        // Notifications show the fallback only: make it a complete sentence on its own.
        let text = cat!(headline, " — ", self.summary);
        let mut blocks = Vec::with_capacity(5 + self.details.len());
        blocks.push(Block::header(headline));
        blocks.push(Block::section(self.summary));
        if !self.fields.is_empty() {
            blocks.push(Block::fields(self.fields));
        }
        blocks.extend(self.details.into_iter().map(Block::section));
        if !self.links.is_empty() {
            let links: Vec<String> = self
                .links
                .iter()
                .map(|(label, url)| cat!("<", url, "|", label, ">"))
                .collect();
            blocks.push(Block::section(links.join("  ·  ")));
        }
        blocks.push(Block::context([footer(event.kind().as_str(), delivery_id)]));
        Message::new(text, blocks)
    }
}

fn footer(kind: &str, delivery_id: Option<&str>) -> String {
    match delivery_id {
        Some(id) => cat!(
            "Pulumi Cloud webhook `",
            escape(kind),
            "` · delivery `",
            escape(id),
            "`"
        ),
        None => cat!("Pulumi Cloud webhook `", escape(kind), "`"),
    }
}

/// `org/project/stack`, escaped, from whichever parts are known.
fn stack_path(origin: &Origin<'_>) -> Option<String> {
    // Escaping part by part is escaping the joined path: `/` is not escaped, escapes are per byte.
    let mut path = String::new();
    for part in [origin.organization, origin.project, origin.stack]
        .into_iter()
        .flatten()
        .filter(|p| !p.is_empty())
    {
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&escape(part));
    }
    (!path.is_empty()).then_some(path)
}

/// Who did it, in bold, escaped; Pulumi Cloud sends no user for scheduled runs.
fn actor(origin: &Origin<'_>) -> String {
    match origin.user {
        Some(user) if !user.is_empty() => cat!("*", escape(user), "*"),
        _ => "Pulumi Cloud".to_owned(),
    }
}

fn where_(origin: &Origin<'_>) -> String {
    stack_path(origin).map_or_else(|| "a stack".to_owned(), |p| cat!("*", p, "*"))
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// A titled bullet list that stays within one section, saying how many items did not fit.
fn bulleted(title: &str, total: usize, items: impl Iterator<Item = String>) -> String {
    let mut out = format!("*{title}* ({total})");
    for (shown, item) in items.enumerate() {
        // Leave room for the "and N more" line within the section limit.
        if out.chars().count() + item.chars().count() + 40 > limits::SECTION_TEXT {
            let _ = write!(out, "\n…and {} more", total - shown);
            break;
        }
        let _ = write!(out, "\n• {item}");
    }
    out
}

fn operation_name(op: Option<&Operation>) -> &str {
    op.map_or("update", Operation::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_values_in_titles_and_kinds_cannot_mention_anyone() {
        let body = br#"{"stackName":"s","kind":"<@U1|boss>","result":"<!channel>"}"#;
        let update = Event::parse(crate::event::Kind::StackUpdate, body).unwrap();
        let unknown = Event::parse(crate::event::Kind::parse("<!here>"), b"{}").unwrap();
        for event in [update, unknown] {
            let message = message(&event, None);
            let texts = std::iter::once(message.text()).chain(message.blocks().iter().filter_map(
                |b| match b {
                    Block::Header { text } => Some(text.as_str()),
                    _ => None,
                },
            ));
            for text in texts {
                assert!(!text.contains('<'), "{text}");
            }
        }
    }
}

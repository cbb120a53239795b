//! Turns a webhook [`Event`] into a Slack Block Kit message with a plain `text` fallback.
//!
//! Owns Slack's size limits: every constructor of a block truncates its text at a character
//! boundary with a visible marker, and [`Message`] caps the block count and fallback length, so no
//! payload, however large, can produce a message Slack rejects for size. All text that comes from a
//! payload is escaped for mrkdwn, so a stack named `<!channel>` cannot ping anyone.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Serialize;

use crate::event::{
    DeploymentEvent, DriftDetectionEvent, DriftRemediationEvent, Enforcement, EnvironmentEvent,
    EscKind, Event, Operation, Origin, OtherEvent, OtherReason, PingEvent, PolicyViolationEvent,
    ResourceChanges, StackAction, StackEvent, Status, Team, TeamAction, TeamEvent, UpdateEvent,
};

/// Joins string pieces (anything that derefs to `str`) into one exactly sized `String`.
///
/// Messages are built from short pieces; `format!` costs more per call than everything else
/// this module does (profile in BENCHMARKS.md), so the hot paths concatenate instead.
macro_rules! cat {
    ($($part:expr),+ $(,)?) => {{
        let parts: &[&str] = &[$(&*$part),+];
        let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        for part in parts {
            out.push_str(part);
        }
        out
    }};
}

/// Slack's documented limits (api.slack.com/reference/block-kit).
pub mod limits {
    pub const TEXT: usize = 40_000;
    pub const BLOCKS: usize = 50;
    pub const SECTION_TEXT: usize = 3_000;
    pub const SECTION_FIELDS: usize = 10;
    pub const FIELD_TEXT: usize = 2_000;
    pub const HEADER_TEXT: usize = 150;
    pub const CONTEXT_ELEMENTS: usize = 10;
}

/// What is appended where text was cut.
pub const TRUNCATED: &str = "… [truncated]";

/// A `chat.postMessage` body without the channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    text: String,
    blocks: Vec<Block>,
    unfurl_links: bool,
    unfurl_media: bool,
}

impl Message {
    pub fn new(text: impl Into<String>, mut blocks: Vec<Block>) -> Message {
        blocks.truncate(limits::BLOCKS);
        Message {
            text: fit(text.into(), limits::TEXT),
            blocks,
            // Pulumi Cloud links unfurl into large, identical login cards.
            unfurl_links: false,
            unfurl_media: false,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Puts `mention` (Slack mrkdwn such as `<!here>` or `<!subteam^S…>`, checked by
    /// [`crate::routes`]; never payload text) in front of the fallback text, which is what the
    /// notification shows, and of the first section, which is what the channel shows. Both stay
    /// within Slack's limits.
    pub fn mention(&mut self, mention: &str) {
        self.text = fit(format!("{mention} {}", self.text), limits::TEXT);
        let first_section = self.blocks.iter().position(|block| {
            matches!(
                block,
                Block::Section {
                    text: Some(Text::Mrkdwn { .. }),
                    ..
                }
            )
        });
        match first_section {
            Some(at) => {
                if let Block::Section {
                    text: Some(Text::Mrkdwn { text }),
                    ..
                } = &mut self.blocks[at]
                {
                    let with = format!("{mention} {text}");
                    *text = truncate_mrkdwn(&with, limits::SECTION_TEXT).into_owned();
                }
            }
            // Every formatted event has a section; this keeps the mention visible regardless.
            None if self.blocks.len() < limits::BLOCKS => {
                self.blocks.insert(0, Block::section(mention));
            }
            None => {}
        }
    }

    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    Header {
        text: Text,
    },
    Section {
        #[serde(skip_serializing_if = "Option::is_none")]
        text: Option<Text>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        fields: Vec<Text>,
    },
    Context {
        elements: Vec<Text>,
    },
    Divider,
}

impl Block {
    /// A header; `text` is plain text (emoji shortcodes allowed), cut to 150 characters.
    pub fn header(text: impl Into<String>) -> Block {
        Block::Header {
            text: Text::Plain {
                text: fit(text.into(), limits::HEADER_TEXT),
                emoji: true,
            },
        }
    }

    /// A section of mrkdwn (already escaped), cut to 3 000 characters.
    pub fn section(mrkdwn: impl Into<String>) -> Block {
        Block::Section {
            text: Some(Text::mrkdwn(mrkdwn, limits::SECTION_TEXT)),
            fields: Vec::new(),
        }
    }

    /// A two-column section of mrkdwn fields: at most 10, each cut to 2 000 characters.
    pub fn fields<S: Into<String>>(fields: impl IntoIterator<Item = S>) -> Block {
        Block::Section {
            text: None,
            fields: fields
                .into_iter()
                .take(limits::SECTION_FIELDS)
                .map(|f| Text::mrkdwn(f, limits::FIELD_TEXT))
                .collect(),
        }
    }

    /// Small grey mrkdwn lines: at most 10 elements, each cut to 3 000 characters.
    pub fn context<S: Into<String>>(elements: impl IntoIterator<Item = S>) -> Block {
        Block::Context {
            elements: elements
                .into_iter()
                .take(limits::CONTEXT_ELEMENTS)
                .map(|e| Text::mrkdwn(e, limits::SECTION_TEXT))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum Text {
    #[serde(rename = "plain_text")]
    Plain { text: String, emoji: bool },
    #[serde(rename = "mrkdwn")]
    Mrkdwn { text: String },
}

impl Text {
    fn mrkdwn(text: impl Into<String>, max_chars: usize) -> Text {
        let text = text.into();
        Text::Mrkdwn {
            // Almost every text fits: keep its allocation instead of copying it.
            text: if fits(&text, max_chars) {
                text
            } else {
                truncate_mrkdwn(&text, max_chars).into_owned()
            },
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Text::Plain { text, .. } | Text::Mrkdwn { text } => text,
        }
    }
}

/// The message as the members of a JSON object, written straight into the request body.
///
/// Equal to what `#[derive(Serialize)]` produces (a test compares them for every fixture), at
/// about half the cost: serde writes every key (`"type"`, `"text"` …, ~40 a message) through the
/// same escaping path as payload text, and that per-string overhead was the largest single item
/// of a delivery's CPU profile (BENCHMARKS.md). Here keys and tags are constant bytes and only the
/// texts are escaped, by serde_json.
impl Message {
    /// Appends `"text":…,"blocks":[…],"unfurl_links":false,"unfurl_media":false` to `out`.
    pub fn write_json_members(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\"text\":");
        json_string(out, &self.text);
        out.extend_from_slice(b",\"blocks\":");
        write_list(out, &self.blocks, Block::write_json);
        out.extend_from_slice(b",\"unfurl_links\":");
        out.extend_from_slice(json_bool(self.unfurl_links));
        out.extend_from_slice(b",\"unfurl_media\":");
        out.extend_from_slice(json_bool(self.unfurl_media));
    }
}

impl Block {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Block::Header { text } => {
                out.extend_from_slice(b"{\"type\":\"header\",\"text\":");
                text.write_json(out);
            }
            Block::Section { text, fields } => {
                out.extend_from_slice(b"{\"type\":\"section\"");
                if let Some(text) = text {
                    out.extend_from_slice(b",\"text\":");
                    text.write_json(out);
                }
                if !fields.is_empty() {
                    out.extend_from_slice(b",\"fields\":");
                    write_list(out, fields, Text::write_json);
                }
            }
            Block::Context { elements } => {
                out.extend_from_slice(b"{\"type\":\"context\",\"elements\":");
                write_list(out, elements, Text::write_json);
            }
            Block::Divider => out.extend_from_slice(b"{\"type\":\"divider\""),
        }
        out.push(b'}');
    }
}

impl Text {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Text::Plain { text, emoji } => {
                out.extend_from_slice(b"{\"type\":\"plain_text\",\"text\":");
                json_string(out, text);
                out.extend_from_slice(b",\"emoji\":");
                out.extend_from_slice(json_bool(*emoji));
            }
            Text::Mrkdwn { text } => {
                out.extend_from_slice(b"{\"type\":\"mrkdwn\",\"text\":");
                json_string(out, text);
            }
        }
        out.push(b'}');
    }
}

/// `items` as a JSON array, each written by `write`.
fn write_list<T>(out: &mut Vec<u8>, items: &[T], write: fn(&T, &mut Vec<u8>)) {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(item, out);
    }
    out.push(b']');
}

/// `value` as a JSON string literal, escaped by serde_json.
pub fn json_string(out: &mut Vec<u8>, value: &str) {
    serde_json::to_writer(out, value).expect("a str always serializes into a Vec");
}

fn json_bool(value: bool) -> &'static [u8] {
    if value { b"true" } else { b"false" }
}

/// Whether `text` has at most `max_chars` characters; a character is at least one byte, so short
/// texts (nearly all) are answered without walking them.
fn fits(text: &str, max_chars: usize) -> bool {
    text.len() <= max_chars || text.char_indices().nth(max_chars).is_none()
}

/// [`truncate`] for an owned text: the same allocation when it fits.
fn fit(text: String, max_chars: usize) -> String {
    if fits(&text, max_chars) {
        text
    } else {
        truncate(&text, max_chars).into_owned()
    }
}

/// Cuts `text` to at most `max_chars` characters, ending with [`TRUNCATED`] when it was cut.
pub fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    if text.len() <= max_chars {
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = max_chars.saturating_sub(TRUNCATED.chars().count());
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            Cow::Owned(format!("{}{TRUNCATED}", &text[..end]))
        }
    }
}

/// Like [`truncate`], for escaped mrkdwn: never leaves half an entity (`&am`) or an open code
/// block behind the cut.
fn truncate_mrkdwn(text: &str, max_chars: usize) -> Cow<'_, str> {
    let cut = truncate(text, max_chars);
    let Cow::Owned(cut) = cut else { return cut };
    let mut body = &cut[..cut.len() - TRUNCATED.len()];
    if let Some(amp) = body.rfind('&')
        && !body[amp..].contains(';')
    {
        body = &body[..amp];
    }
    // An odd number of fences means the cut fell inside a code block: close it.
    let fence = if body.matches("```").count() % 2 == 1 {
        "\n```"
    } else {
        ""
    };
    let budget = max_chars.saturating_sub(TRUNCATED.chars().count() + fence.chars().count());
    let end = body
        .char_indices()
        .nth(budget)
        .map_or(body.len(), |(i, _)| i);
    Cow::Owned(format!("{}{fence}{TRUNCATED}", &body[..end]))
}

/// Escapes payload text for mrkdwn: `&`, `<`, `>` (Slack's control characters, which would
/// otherwise form mentions and links), and backtick fences that would end a code block early.
pub fn escape(text: &str) -> Cow<'_, str> {
    // All four are ASCII, and an ASCII byte is never part of a longer UTF-8 sequence: scanning
    // bytes and copying the runs between them is safe and much faster than char by char.
    let bytes = text.as_bytes();
    let Some(first) = bytes.iter().position(|&b| escaped_byte(b).is_some()) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut copied = 0;
    for (at, &b) in bytes.iter().enumerate().skip(first) {
        if let Some(replacement) = escaped_byte(b) {
            out.push_str(&text[copied..at]);
            out.push_str(replacement);
            copied = at + 1;
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// What [`escape`] writes for a byte, if it is one it replaces.
fn escaped_byte(b: u8) -> Option<&'static str> {
    match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        // A modifier letter that looks like a backtick but is not mrkdwn syntax.
        b'`' => Some("ˋ"),
        _ => None,
    }
}

/// Formats an event; `delivery_id` is shown in the footer so a message can be matched with
/// Pulumi Cloud's delivery log.
pub fn format(event: &Event, delivery_id: Option<&str>) -> Message {
    let card = match event {
        Event::Stack(e) => stack(e),
        Event::Team(e) => team(e),
        Event::StackUpdate(e) => update(e, false),
        Event::StackPreview(e) => update(e, true),
        Event::Deployment(e) => deployment(e),
        Event::DriftDetection(e) => drift_detection(e),
        Event::DriftRemediation(e) => drift_remediation(e),
        Event::PolicyViolation(level, e) => policy_violation(*level, e),
        Event::Esc(kind, e) => environment(*kind, e),
        Event::Ping(e) => ping(e),
        Event::Other(e) => return other(e, delivery_id),
    };
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
        match status {
            Some(Status::Succeeded) => Tone::Good,
            Some(Status::Failed) => Tone::Bad,
            Some(Status::Queued | Status::Accepted | Status::NotStarted) => Tone::Info,
            Some(Status::Running | Status::InProgress) => Tone::Busy,
            Some(Status::Cancelled | Status::Skipped) => Tone::Warn,
            Some(Status::Other(_)) | None => Tone::Info,
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

/// Only http(s) URLs without characters that would break Slack's `<url|label>` syntax.
fn safe_url(url: &str) -> Option<&str> {
    let scheme = url.starts_with("https://") || url.starts_with("http://");
    // Real URLs are ASCII: checked a byte at a time (ASCII whitespace and controls are all
    // <= 0x20 or 0x7f). Others go char by char, as Unicode has more of both.
    let clean = if url.is_ascii() {
        !url.bytes()
            .any(|b| b <= b' ' || b == 0x7f || matches!(b, b'<' | b'>' | b'|'))
    } else {
        !url.contains(|c: char| c.is_whitespace() || c.is_control() || "<>|".contains(c))
    };
    (scheme && clean).then_some(url)
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

fn stack(e: &StackEvent) -> Card {
    let origin = e.origin();
    let (tone, verb) = match &e.action {
        Some(StackAction::Created) => (Tone::Info, "created"),
        Some(StackAction::Deleted) => (Tone::Warn, "deleted"),
        Some(StackAction::Other(action)) => (Tone::Info, action.as_str()),
        None => (Tone::Info, "changed"),
    };
    let summary = cat!(
        actor(&origin),
        " ",
        escape(verb),
        " stack ",
        where_(&origin)
    );
    let mut card = Card::new(tone, cat!("Stack ", verb), summary);
    card.field("Organization", origin.organization);
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    card
}

fn team(e: &TeamEvent) -> Card {
    let origin = e.origin();
    let verb = match &e.action {
        Some(TeamAction::Created) => "created",
        Some(TeamAction::Updated) => "updated",
        Some(TeamAction::Deleted) => "deleted",
        Some(TeamAction::Other(action)) => action.as_str(),
        None => "changed",
    };
    let unnamed = Team::default();
    let team = e.team.as_ref().unwrap_or(&unnamed);
    let name = team.name.as_deref().unwrap_or("(unnamed)");
    let summary = format!(
        "{} {} team *{}* in *{}*",
        actor(&origin),
        escape(verb),
        escape(name),
        escape(origin.organization.unwrap_or("the organization"))
    );
    let mut card = Card::new(Tone::Info, format!("Team {verb}"), summary);
    card.field("Team", Some(name));
    card.field("Organization", origin.organization);
    if !team.members.is_empty() {
        let members = team.members.iter().map(|m| {
            let name = m
                .name
                .as_deref()
                .or(m.github_login.as_deref())
                .unwrap_or("?");
            match (&m.name, &m.github_login) {
                (Some(_), Some(login)) => format!("{} ({})", escape(name), escape(login)),
                _ => escape(name).into_owned(),
            }
        });
        card.details
            .push(bulleted("Members", team.members.len(), members));
    }
    if !team.stacks.is_empty() {
        let stacks = team.stacks.iter().map(|s| {
            let path = [s.project_name.as_deref(), s.stack_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("/");
            match &s.permission {
                Some(p) => format!("{} — {}", escape(&path), escape(p)),
                None => escape(&path).into_owned(),
            }
        });
        card.details
            .push(bulleted("Stacks", team.stacks.len(), stacks));
    }
    card
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

fn update(e: &UpdateEvent, preview_kind: bool) -> Card {
    let origin = e.origin();
    let preview = preview_kind || e.is_preview == Some(true);
    let op = operation_name(e.kind.as_ref());
    let tone = Tone::of(e.result.as_ref());
    let result = e.result.as_ref().map_or("finished", Status::as_str);
    let title = if preview {
        cat!("Preview of ", op, " ", result)
    } else {
        cat!(capitalize(op), " ", result)
    };
    let summary = cat!(
        actor(&origin),
        if preview {
            " ran a preview of *"
        } else {
            " ran *"
        },
        escape(op),
        "* on ",
        where_(&origin),
        ": ",
        tone.emoji(),
        " *",
        escape(result),
        "*"
    );
    let mut card = Card::new(tone, title, summary);
    card.field("Operation", Some(op));
    card.field("Result", Some(result));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    if let Some(changes) = &e.resource_changes {
        card.details.push(changes_line(changes, preview));
    }
    card.link(
        if preview {
            "View preview"
        } else {
            "View update"
        },
        e.update_url.as_deref(),
    );
    card
}

fn deployment(e: &DeploymentEvent) -> Card {
    let origin = e.origin();
    let tone = Tone::of(e.status.as_ref());
    let status = e.status.as_ref().map_or("changed", Status::as_str);
    let op = operation_name(e.operation.as_ref());
    let number = e.version.map(|v| format!(" #{v}")).unwrap_or_default();
    let title = cat!("Deployment", number, " ", status);
    let summary = cat!(
        "Deployment",
        number,
        " (*",
        escape(op),
        "*) of ",
        where_(&origin),
        " requested by ",
        actor(&origin),
        ": ",
        tone.emoji(),
        " *",
        escape(status),
        "*"
    );
    let mut card = Card::new(tone, title, summary);
    card.field("Operation", Some(op));
    card.field("Status", Some(status));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    card.link("View deployment", e.deployment_url.as_deref());
    card
}

fn drift_detection(e: &DriftDetectionEvent) -> Card {
    let origin = e.origin();
    let (tone, title) = match (&e.status, e.drift_detected) {
        (Some(Status::Failed), _) => (Tone::Bad, "Drift detection failed".to_owned()),
        (_, Some(true)) => (Tone::Warn, "Drift detected".to_owned()),
        (Some(Status::Succeeded), _) => (Tone::Good, "No drift".to_owned()),
        (status, _) => (
            Tone::of(status.as_ref()),
            format!(
                "Drift detection {}",
                status.as_ref().map_or("finished", Status::as_str)
            ),
        ),
    };
    let finding = match e.drift_detected {
        Some(true) => "the stack has drifted from its last update",
        Some(false) => "no drift found",
        None => "no drift result reported",
    };
    let summary = cat!(
        "Drift detection on ",
        where_(&origin),
        ": ",
        tone.emoji(),
        " ",
        finding
    );
    let mut card = Card::new(tone, title, summary);
    card.field("Status", e.status.as_ref().map(Status::as_str));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    card.field("Run", e.drift_run_id.as_deref());
    if let Some(changes) = &e.resource_changes {
        card.details.push(changes_line(changes, true));
    }
    card.link("View drift run", e.reference_url.as_deref());
    card
}

fn drift_remediation(e: &DriftRemediationEvent) -> Card {
    let origin = e.origin();
    let tone = Tone::of(e.status.as_ref());
    let status = e.status.as_ref().map_or("finished", Status::as_str);
    let summary = cat!(
        "Drift remediation on ",
        where_(&origin),
        ": ",
        tone.emoji(),
        " *",
        escape(status),
        "*"
    );
    let mut card = Card::new(tone, cat!("Drift remediation ", status), summary);
    card.field("Status", Some(status));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    if let Some(changes) = &e.resource_changes {
        card.details.push(changes_line(changes, false));
    }
    card.link("View remediation", e.reference_url.as_deref());
    card
}

fn policy_violation(level: Option<Enforcement>, e: &PolicyViolationEvent) -> Card {
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

fn environment(kind: EscKind, e: &EnvironmentEvent) -> Card {
    let origin = e.origin();
    let env_path = |project: Option<&str>, env: Option<&str>| {
        let path = [project, env]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        if path.is_empty() {
            "(unnamed)".to_owned()
        } else {
            path
        }
    };
    let env = env_path(origin.project, e.environment_name.as_deref());
    let action = e.action.as_deref().unwrap_or("changed");
    let tone = if action == "deleted" || action == "retracted" {
        Tone::Warn
    } else {
        Tone::Info
    };
    let revision = e.revision.map(|r| format!("revision {r}"));
    let tag = e
        .tag_name
        .as_deref()
        .map(|t| format!("tag `{}`", escape(t)));
    let (title, thing) = match kind {
        EscKind::Environment => ("Environment", "environment".to_owned()),
        EscKind::Revision => (
            "Environment revision",
            revision.clone().unwrap_or_else(|| "a revision".into()),
        ),
        EscKind::Tag => (
            "Environment tag",
            tag.clone().unwrap_or_else(|| "a tag".into()),
        ),
        EscKind::RevisionTag => (
            "Revision tag",
            [tag.clone(), revision.clone().map(|r| format!("on {r}"))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        EscKind::ImportedEnvironmentChanged => ("Imported environment changed", String::new()),
    };
    let summary = if kind == EscKind::ImportedEnvironmentChanged {
        let imported = e.imported_environment_reference.clone().unwrap_or_default();
        let mut imported_name = env_path(
            imported.project_name.as_deref(),
            imported.environment_name.as_deref(),
        );
        if let Some(r) = imported.revision {
            imported_name.push_str(&format!(" (revision {r})"));
        }
        let affected = e.affected_revisions.as_deref().unwrap_or_default();
        let affected = if affected.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = affected.iter().map(u64::to_string).collect();
            format!(", affecting revisions {}", list.join(", "))
        };
        format!(
            "*{}*, imported by *{}*, changed{affected}",
            escape(&imported_name),
            escape(&env)
        )
    } else {
        format!(
            "{} {} {thing} of ESC environment *{}*",
            actor(&origin),
            escape(action),
            escape(&env)
        )
    };
    let title = if kind == EscKind::ImportedEnvironmentChanged {
        title.to_owned()
    } else {
        format!("{title} {action}")
    };
    let mut card = Card::new(tone, title, summary);
    card.field("Environment", Some(&env));
    card.field("Tag", e.tag_name.as_deref());
    card.field("Revision", e.revision.map(|r| r.to_string()).as_deref());
    card
}

fn ping(e: &PingEvent) -> Card {
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

/// Pulumi's op names in the order the CLI prints them, with the label and sign it uses.
const CHANGE_ORDER: &[(&str, &str, &str)] = &[
    ("create", "+", "create"),
    ("update", "~", "update"),
    ("delete", "-", "delete"),
    ("replace", "+-", "replace"),
    ("create-replacement", "++", "create replacement"),
    ("delete-replaced", "--", "delete replaced"),
    ("update-replace", "+-", "replace"),
    ("read", ">", "read"),
    ("import", "=", "import"),
    ("refresh", "~", "refresh"),
    ("discard", "<", "discard"),
    ("same", " ", "unchanged"),
];

/// One mrkdwn section listing resource changes, e.g. "`+3` create · `~2` update".
fn changes_line(changes: &ResourceChanges, planned: bool) -> String {
    let heading = if planned {
        "Planned changes"
    } else {
        "Resource changes"
    };
    if changes.values().all(|n| *n == 0) {
        return cat!("*", heading, ":* none");
    }
    // Saturating: the counts are the payload's, and `sum` would overflow (a panic in debug).
    let changed = changes
        .iter()
        .filter(|(op, _)| op.as_str() != "same")
        .fold(0u64, |total, (_, n)| total.saturating_add(*n));
    // One string written in place: a piece per op plus a join cost more than the rest of the
    // message's formatting.
    let mut line = String::with_capacity(128);
    let _ = write!(line, "*{heading}* ({changed}): ");
    let mut first = true;
    let mut part = |line: &mut String, n: u64, sign: Option<&str>, label: &str| {
        if !std::mem::take(&mut first) {
            line.push_str("  ·  ");
        }
        line.push('`');
        if let Some(sign) = sign {
            // `>` (read) and `<` (discard) are Slack control characters even inside code.
            line.push_str(&escape(sign.trim()));
        }
        let _ = write!(line, "{n}` ");
        line.push_str(label);
    };
    for (op, sign, label) in CHANGE_ORDER {
        if let Some(&n) = changes.get(*op).filter(|n| **n > 0) {
            part(&mut line, n, Some(sign), label);
        }
    }
    // Ops this relay has no name for are still shown, in key order.
    for (op, &n) in changes {
        if n > 0 && !CHANGE_ORDER.iter().any(|(known, _, _)| known == op) {
            part(&mut line, n, None, &escape(op));
        }
    }
    line
}

/// Unknown kinds and unexpected shapes: a title, what we know, and the payload as JSON.
fn other(e: &OtherEvent, delivery_id: Option<&str>) -> Message {
    let origin = e.origin();
    let kind = e.kind.as_str();
    let headline = match stack_path(&origin) {
        Some(place) => format!(
            ":incoming_envelope: Pulumi `{}` event: {place}",
            escape(kind)
        ),
        None => format!(":incoming_envelope: Pulumi `{}` event", escape(kind)),
    };
    let why = match &e.reason {
        OtherReason::UnknownKind => format!(
            "This relay does not know the `{}` kind yet, so here is the payload as sent.",
            escape(kind)
        ),
        OtherReason::UnexpectedShape(why) => format!(
            "The payload did not have the documented shape ({}), so here it is as sent.",
            escape(why)
        ),
    };
    // JSON goes in fenced code sections; several sections hold more than Slack's 3 000 per block.
    let json = serde_json::to_string_pretty(&e.payload).unwrap_or_else(|_| e.payload.to_string());
    let text = format!("{headline} — {why}");
    let mut blocks = vec![Block::header(headline), Block::section(why)];
    let (sections, rest) = json_sections(&json);
    blocks.extend(sections.into_iter().map(Block::section));
    if rest > 0 {
        blocks.push(Block::section(format!(
            "{TRUNCATED} ({rest} more characters)"
        )));
    }
    blocks.push(Block::context([footer(kind, delivery_id)]));
    Message::new(text, blocks)
}

/// Characters of escaped JSON per code section: room for the fences within the section limit.
const JSON_CHUNK: usize = limits::SECTION_TEXT - 8;
/// ~12 000 characters: Slack's undocumented total for a message is ~13 000.
const MAX_JSON_BLOCKS: usize = 4;

/// `json`, escaped, as fenced code sections of at most [`JSON_CHUNK`] characters each (an entity
/// is never split between two), at most [`MAX_JSON_BLOCKS`] of them; and how many characters of
/// `json` did not fit. Only what is shown is escaped and copied; the rest is only counted.
fn json_sections(json: &str) -> (Vec<String>, usize) {
    // Byte by byte, copying unescaped runs whole: a character starts at every byte that is not a
    // UTF-8 continuation byte, and the escaped bytes are ASCII, so every cut is a char boundary.
    // (Char by char with a push per char cost ~10 µs for a 500-byte unknown-kind payload.)
    // Most payloads fit one section: escaped whole, their byte length bounds the characters the
    // walk below would count (an entity counts as its characters there too).
    if json.len() <= JSON_CHUNK {
        let escaped = escape(json);
        if escaped.len() <= JSON_CHUNK {
            return (vec![cat!("```", escaped, "```")], 0);
        }
    }
    let mut sections = Vec::new();
    let mut section = String::with_capacity(JSON_CHUNK.min(json.len()) + 16);
    let mut used = 0;
    let mut copied = 0;
    for (at, &b) in json.as_bytes().iter().enumerate() {
        if b & 0xC0 == 0x80 {
            continue;
        }
        let replacement = escaped_byte(b);
        // An entity counts as the characters Slack sees before decoding it.
        let chars = replacement
            .filter(|r| r.starts_with('&'))
            .map_or(1, str::len);
        if used + chars > JSON_CHUNK {
            section.push_str(&json[copied..at]);
            sections.push(cat!("```", section, "```"));
            if sections.len() == MAX_JSON_BLOCKS {
                return (sections, json[at..].chars().count());
            }
            section.clear();
            used = 0;
            copied = at;
        }
        if let Some(replacement) = replacement {
            section.push_str(&json[copied..at]);
            section.push_str(replacement);
            copied = at + 1;
        }
        used += chars;
    }
    section.push_str(&json[copied..]);
    sections.push(cat!("```", section, "```"));
    (sections, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_leads_the_fallback_text_and_the_first_section() {
        let mut message = Message::new(
            "❌ Update failed",
            vec![
                Block::header("❌ Update failed"),
                Block::section("Morty ran *update*"),
                Block::section("second"),
            ],
        );
        message.mention("<!subteam^S0ONCALL1>");
        assert_eq!(message.text(), "<!subteam^S0ONCALL1> ❌ Update failed");
        let sections: Vec<&str> = message
            .blocks()
            .iter()
            .filter_map(|b| match b {
                Block::Section { text: Some(t), .. } => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            sections,
            ["<!subteam^S0ONCALL1> Morty ran *update*", "second"]
        );
    }

    #[test]
    fn a_mention_keeps_a_full_section_within_the_limit() {
        let mut message = Message::new("t", vec![Block::section("x".repeat(limits::SECTION_TEXT))]);
        message.mention("<!here>");
        let Block::Section {
            text: Some(text), ..
        } = &message.blocks()[0]
        else {
            panic!("a section");
        };
        assert!(text.as_str().starts_with("<!here> x"));
        assert_eq!(text.as_str().chars().count(), limits::SECTION_TEXT);
    }

    #[test]
    fn truncate_leaves_short_text_alone() {
        assert!(matches!(truncate("héllo", 5), Cow::Borrowed("héllo")));
    }

    #[test]
    fn truncate_cuts_at_character_boundaries_with_a_marker() {
        let long = "é".repeat(100);
        let cut = truncate(&long, 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with(TRUNCATED));
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn truncate_mrkdwn_never_splits_an_entity() {
        let text = format!("{}&amp;{}", "a".repeat(14), "b".repeat(20));
        let marker = TRUNCATED.chars().count();
        let inside = truncate_mrkdwn(&text, 17 + marker);
        assert_eq!(inside, format!("{}{TRUNCATED}", "a".repeat(14)));
        let after = truncate_mrkdwn(&text, 19 + marker);
        assert_eq!(after, format!("{}&amp;{TRUNCATED}", "a".repeat(14)));
    }

    #[test]
    fn truncate_mrkdwn_closes_a_cut_code_block() {
        let text = format!("```{}```", "x".repeat(100));
        let cut = truncate_mrkdwn(&text, 50);
        assert_eq!(cut.matches("```").count(), 2, "{cut}");
        assert!(cut.chars().count() <= 50);
    }

    #[test]
    fn escape_neutralises_mentions_links_and_fences() {
        assert_eq!(escape("<!channel> & `x`"), "&lt;!channel&gt; &amp; ˋxˋ");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_keeps_multibyte_text_around_replacements() {
        assert_eq!(escape("é<ü>`日&"), "é&lt;ü&gt;ˋ日&amp;");
    }

    #[test]
    fn json_sections_fit_the_section_limit_and_never_split_an_entity() {
        let json = format!(
            "{}{}",
            "é".repeat(JSON_CHUNK - 2),
            "&".repeat(4 * JSON_CHUNK)
        );
        let (sections, rest) = json_sections(&json);
        assert_eq!(sections.len(), MAX_JSON_BLOCKS);
        for section in &sections {
            assert!(section.chars().count() <= limits::SECTION_TEXT - 2);
            let body = section.trim_start_matches("```").trim_end_matches("```");
            assert!(body.ends_with("é") || body.ends_with("&amp;"), "{body:?}");
        }
        // Shown: the é's and then whole entities; the rest is counted in JSON characters.
        let shown_amps: usize = sections.iter().map(|s| s.matches("&amp;").count()).sum();
        assert_eq!(rest, json.chars().count() - (JSON_CHUNK - 2) - shown_amps);
    }

    #[test]
    fn json_sections_cut_between_multibyte_characters_and_lose_nothing() {
        let json = format!("{}<x>`{}", "日".repeat(JSON_CHUNK + 10), "é".repeat(3));
        let (sections, rest) = json_sections(&json);
        assert_eq!(rest, 0);
        assert_eq!(sections.len(), 2);
        let bodies: Vec<&str> = sections
            .iter()
            .map(|s| s.strip_prefix("```").unwrap().strip_suffix("```").unwrap())
            .collect();
        assert_eq!(bodies[0], "日".repeat(JSON_CHUNK));
        assert_eq!(bodies.concat(), escape(&json));
    }

    #[test]
    fn short_json_is_one_section_with_nothing_left_over() {
        assert_eq!(
            json_sections("{\"a\": \"<b>\"}"),
            (vec!["```{\"a\": \"&lt;b&gt;\"}```".to_owned()], 0)
        );
    }

    #[test]
    fn unsafe_urls_are_not_linked() {
        assert_eq!(
            safe_url("https://app.pulumi.com/a"),
            Some("https://app.pulumi.com/a")
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("https://x|<!here>"), None);
        for bad in [
            "https://a b",
            "https://a\tb",
            "https://a\x7fb",
            "https://a>b",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
        assert_eq!(safe_url("https://a\u{2028}b"), None);
        assert_eq!(safe_url("https://日本.jp/x"), Some("https://日本.jp/x"));
    }

    #[test]
    fn message_caps_blocks_and_text() {
        let blocks = (0..60).map(|_| Block::Divider).collect();
        let message = Message::new("a".repeat(50_000), blocks);
        assert_eq!(message.blocks().len(), limits::BLOCKS);
        assert_eq!(message.text().chars().count(), limits::TEXT);
    }

    #[test]
    fn changes_list_known_ops_in_cli_order_and_unknown_ones_after() {
        let changes: ResourceChanges = [
            ("same".into(), 10),
            ("delete".into(), 1),
            ("create".into(), 3),
            ("zap".into(), 2),
        ]
        .into();
        let line = changes_line(&changes, false);
        assert_eq!(
            line,
            "*Resource changes* (6): `+3` create  ·  `-1` delete  ·  `10` unchanged  ·  `2` zap"
        );
    }

    #[test]
    fn payload_values_in_titles_and_kinds_cannot_mention_anyone() {
        let body = br#"{"stackName":"s","kind":"<@U1|boss>","result":"<!channel>"}"#;
        let update = Event::parse(crate::event::Kind::StackUpdate, body).unwrap();
        let unknown = Event::parse(crate::event::Kind::parse("<!here>"), b"{}").unwrap();
        for event in [update, unknown] {
            let message = format(&event, None);
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

    #[test]
    fn read_and_discard_signs_are_escaped() {
        let changes: ResourceChanges = [("read".into(), 1), ("discard".into(), 2)].into();
        let line = changes_line(&changes, false);
        assert!(
            line.contains("`&gt;1` read") && line.contains("`&lt;2` discard"),
            "{line}"
        );
    }

    #[test]
    fn change_counts_near_u64_max_saturate_instead_of_overflowing() {
        let changes: ResourceChanges = [("create".into(), u64::MAX), ("update".into(), 1)].into();
        let line = changes_line(&changes, false);
        assert!(
            line.starts_with(&format!("*Resource changes* ({})", u64::MAX)),
            "{line}"
        );
    }
}

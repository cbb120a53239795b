//! Unknown kinds and payloads of unexpected shape: relayed as the JSON they are, in fenced code
//! sections within Slack's limits, so that nothing is ever dropped.

use super::{footer, stack_path};
use crate::event::{OtherEvent, OtherReason};
use crate::mrkdwn::{TRUNCATED, cat, escape, escaped_byte};
use crate::slack::{Block, Message, limits};

/// Unknown kinds and unexpected shapes: a title, what we know, and the payload as JSON.
pub(super) fn other(e: &OtherEvent, delivery_id: Option<&str>) -> Message {
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
}

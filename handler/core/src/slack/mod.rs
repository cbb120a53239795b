//! Slack's Block Kit, as far as the relay's messages use it, and its size limits: every
//! constructor of a block cuts its text at a character boundary with a visible marker, and
//! [`Message`] caps the block count and fallback length, so no payload, however large, makes a
//! message Slack rejects for size. [`json`] writes the Web API call bodies.

pub mod json;

use serde::Serialize;

use crate::mrkdwn::{fit, fits, truncate_mrkdwn};

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

    /// Adds `block` at the end, when Slack's block limit leaves room for it.
    pub fn push(&mut self, block: Block) {
        if self.blocks.len() < limits::BLOCKS {
            self.blocks.push(block);
        }
    }

    /// Every text a reader can see: the fallback, then each block's, in order.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.text.as_str()).chain(self.blocks.iter().flat_map(Block::texts))
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
    /// A row of buttons (ChatOps: [`crate::chatops`]).
    Actions {
        block_id: String,
        elements: Vec<Button>,
    },
}

/// A Block Kit button (`type: button`): at most 75 characters of label, 255 of action ID,
/// 2 000 of value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename = "button")]
pub struct Button {
    pub text: Text,
    pub action_id: String,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<ButtonStyle>,
    /// Slack asks this before it sends the click at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm: Option<Confirm>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ButtonStyle {
    Primary,
    Danger,
}

/// A Block Kit confirmation dialog (`confirm` object): title ≤ 100, text ≤ 300, buttons ≤ 30
/// characters, all plain text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confirm {
    pub title: Text,
    pub text: Text,
    pub confirm: Text,
    pub deny: Text,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<ButtonStyle>,
}

impl Text {
    /// Plain text cut to `max_chars` (Block Kit's limit for where it goes).
    pub fn plain(text: impl Into<String>, max_chars: usize) -> Text {
        Text::Plain {
            text: fit(text.into(), max_chars),
            emoji: true,
        }
    }
}

impl Button {
    pub fn new(label: &str, action_id: &str, value: String) -> Button {
        Button {
            text: Text::plain(label, 75),
            action_id: action_id.to_owned(),
            value,
            style: None,
            confirm: None,
        }
    }
}

impl Block {
    /// The block's texts, in order.
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Block::Header { text } => vec![text.as_str()],
            Block::Section { text, fields } => {
                text.iter().chain(fields).map(Text::as_str).collect()
            }
            Block::Context { elements } => elements.iter().map(Text::as_str).collect(),
            Block::Divider => Vec::new(),
            Block::Actions { elements, .. } => elements.iter().map(|b| b.text.as_str()).collect(),
        }
    }

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
    fn message_caps_blocks_and_text() {
        let blocks = (0..60).map(|_| Block::Divider).collect();
        let message = Message::new("a".repeat(50_000), blocks);
        assert_eq!(message.blocks().len(), limits::BLOCKS);
        assert_eq!(message.text().chars().count(), limits::TEXT);
    }
}

//! The bodies of `chat.postMessage` and `chat.update`, written straight into the request.

use super::{Block, Message, Text};

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
            Block::Actions { .. } => {
                // Only on messages ChatOps adds buttons to: serde writes it, closing brace and all.
                serde_json::to_writer(&mut *out, self).expect("a block always serializes");
                return;
            }
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

/// The `chat.postMessage` JSON body posting `message` to `channel`: the bytes that go on the wire.
pub fn post_message_body(channel: &str, message: &Message) -> Vec<u8> {
    Call {
        channel,
        ts: None,
        thread_ts: None,
        reply_broadcast: false,
        message,
    }
    .body()
}

impl Call<'_> {
    /// The call's JSON body.
    pub fn body(&self) -> Vec<u8> {
        let call = self;
        // Sized for a typical message, so the buffer is not regrown five times while writing it.
        let mut body = Vec::with_capacity(2048);
        body.extend_from_slice(b"{\"channel\":");
        json_string(&mut body, call.channel);
        if let Some(ts) = call.ts {
            body.extend_from_slice(b",\"ts\":");
            json_string(&mut body, ts);
        }
        if let Some(thread_ts) = call.thread_ts {
            body.extend_from_slice(b",\"thread_ts\":");
            json_string(&mut body, thread_ts);
        }
        if call.reply_broadcast {
            body.extend_from_slice(b",\"reply_broadcast\":true");
        }
        body.push(b',');
        call.message.write_json_members(&mut body);
        body.push(b'}');
        body
    }
}

/// The arguments of `chat.postMessage` (`thread_ts`, `reply_broadcast`) and `chat.update` (`ts`),
/// written by [`to_body`]; the derived form is what the tests hold that writer to.
#[cfg_attr(test, derive(serde::Serialize))]
pub struct Call<'a> {
    pub channel: &'a str,
    /// `chat.update`: the message to edit.
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub ts: Option<&'a str>,
    /// `chat.postMessage` as a reply under this message.
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    pub thread_ts: Option<&'a str>,
    /// The reply is also shown in the channel.
    #[cfg_attr(test, serde(skip_serializing_if = "std::ops::Not::not"))]
    pub reply_broadcast: bool,
    #[cfg_attr(test, serde(flatten))]
    pub message: &'a Message,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Kind};
    use crate::render;

    /// Each fixture formatted as the kind its name starts with (unknown kinds included).
    fn fixture_messages() -> Vec<(String, Message)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
        let mut messages: Vec<(String, Message)> = std::fs::read_dir(dir)
            .expect("the fixtures directory")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .map(|path| {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                let kind = Kind::parse(name.split('-').next().unwrap_or(&name));
                let body = std::fs::read(&path).expect("a readable fixture");
                let event = Event::parse(kind, &body).expect("fixtures are JSON");
                let mut message = render::message(&event, Some("d-\"1\"\\<>"));
                if name.contains("failed") {
                    message.mention("<!here>");
                }
                (name, message)
            })
            .collect();
        messages.sort_by(|a, b| a.0.cmp(&b.0));
        assert!(messages.len() > 20, "fixtures found in {dir}");
        messages
    }

    fn as_written(call: &Call<'_>) -> serde_json::Value {
        serde_json::from_slice(&call.body()).expect("the written body is JSON")
    }

    #[test]
    fn the_written_post_body_equals_serdes_for_every_fixture() {
        for (name, message) in fixture_messages() {
            let call = Call {
                channel: "C0123",
                ts: None,
                thread_ts: None,
                reply_broadcast: false,
                message: &message,
            };
            let derived = serde_json::to_value(&call).unwrap();
            assert_eq!(as_written(&call), derived, "{name}");
        }
    }

    #[test]
    fn the_written_reply_and_update_bodies_equal_serdes() {
        let (_, message) = fixture_messages().swap_remove(0);
        for (ts, thread_ts, reply_broadcast) in [
            (None, Some("1700000000.000100"), true),
            (None, Some("1700000000.000100"), false),
            (Some("1700000000.000200"), None, false),
        ] {
            let call = Call {
                channel: "#ops \"quoted\"",
                ts,
                thread_ts,
                reply_broadcast,
                message: &message,
            };
            assert_eq!(as_written(&call), serde_json::to_value(&call).unwrap());
        }
    }

    #[test]
    fn every_block_type_is_written_like_serde() {
        let message = Message::new(
            "fallback \"quoted\" \u{1F680}\n\t\u{7}",
            vec![
                Block::header("héader <b>"),
                Block::section("*section*"),
                Block::fields(["*a*\n1", "*b*\n2"]),
                Block::Divider,
                Block::context(["ctx 1", "ctx 2"]),
            ],
        );
        let call = Call {
            channel: "C1",
            ts: None,
            thread_ts: None,
            reply_broadcast: false,
            message: &message,
        };
        assert_eq!(as_written(&call), serde_json::to_value(&call).unwrap());
    }
}

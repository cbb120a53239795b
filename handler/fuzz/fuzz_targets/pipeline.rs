//! One webhook delivery, end to end minus the network: signature check, kind, parse, format and
//! the `chat.postMessage` body.
//!
//! Input: the first byte picks the `Pulumi-Webhook-Kind` header with [`kind`], the rest is the
//! body. The seeds in `corpus/pipeline/seed-*` are `tests/fixtures/*.json` with that byte in front.
//!
//! Checked for every input:
//! - a signature computed over the body verifies; a wrong one, one over another body and a
//!   malformed one are refused with the right error;
//! - the body parses unless it is not JSON;
//! - the message is within Slack's Block Kit limits (as `handler/tests/properties.rs` states
//!   them), and every `<…>` in it is markup the relay writes itself (a vetted payload URL with a
//!   fixed label, or a ping's date), so payload text never becomes a mention or a link;
//! - the Slack body is JSON carrying the message.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use relay_core::event::{Event, Kind};
use relay_core::render;
use relay_core::slack::json::post_message_body;
use relay_core::slack::{Block, Message, Text};
use relay_core::verify::{SignatureError, WebhookSecret};

/// The `Pulumi-Webhook-Kind` for the input's first byte: a kind the relay knows, by its index in
/// [`Kind::NAMES`] (the seeds encode these indices, so that list only grows at its end), or, one
/// past them, a kind it does not know.
fn kind(selector: u8) -> &'static str {
    let i = usize::from(selector) % (Kind::NAMES.len() + 1);
    Kind::NAMES.get(i).copied().unwrap_or("change_request")
}

const LINK_LABELS: &[&str] = &[
    "View update",
    "View preview",
    "View deployment",
    "View drift run",
    "View remediation",
];

static SECRET: LazyLock<WebhookSecret> = LazyLock::new(|| WebhookSecret::new("fuzz-secret".into()));

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let kind = kind(selector);

    check_signatures(body);

    let event = match Event::parse(Kind::parse(kind), body) {
        Ok(event) => event,
        Err(_) => {
            assert!(
                serde_json::from_slice::<serde_json::Value>(body).is_err(),
                "a JSON body was refused as invalid JSON"
            );
            return;
        }
    };
    let message = render::message(&event, Some("d-fuzz-0001"));
    check_slack_limits(&message);
    check_no_markup_from_the_payload(&event, &message);

    let wire = post_message_body("C0FUZZ", &message);
    let sent: serde_json::Value = serde_json::from_slice(&wire).expect("the Slack body is JSON");
    assert_eq!(sent["channel"], "C0FUZZ");
    assert_eq!(sent["text"].as_str(), Some(message.text()));
});

fn check_signatures(body: &[u8]) {
    let good = SECRET.sign(body);
    assert_eq!(
        SECRET.verify(std::iter::once(good.as_bytes()), body),
        Ok(())
    );

    // One hex digit changed: same shape, wrong MAC.
    let mut wrong = good.clone().into_bytes();
    wrong[0] = if wrong[0] == b'0' { b'1' } else { b'0' };
    assert_eq!(
        SECRET.verify(std::iter::once(&wrong[..]), body),
        Err(SignatureError::Mismatch)
    );
    // The signature of another body.
    let mut other = body.to_vec();
    other.push(b' ');
    let moved = SECRET.sign(&other);
    assert_eq!(
        SECRET.verify(std::iter::once(moved.as_bytes()), body),
        Err(SignatureError::Mismatch)
    );
    // Garbage from the input itself (at most 64 bytes, never 64 hex digits).
    let garbage = [b"z".as_slice(), &body[..body.len().min(63)]].concat();
    assert_eq!(
        SECRET.verify(std::iter::once(&garbage[..]), body),
        Err(SignatureError::Malformed)
    );
    assert_eq!(
        SECRET.verify([good.as_bytes(), good.as_bytes()].into_iter(), body),
        Err(SignatureError::Duplicate)
    );
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn mrkdwn(text: &Text) -> &str {
    match text {
        Text::Mrkdwn { text } => text,
        Text::Plain { .. } => panic!("expected mrkdwn, got {text:?}"),
    }
}

/// Fallback text 1..=40 000 characters; 1..=50 blocks; a header is plain text of 1..=150; a
/// section has text or fields, its text mrkdwn of 1..=3 000, at most 10 fields of 1..=2 000; a
/// context has 1..=10 elements of 1..=3 000.
fn check_slack_limits(message: &Message) {
    assert!((1..=40_000).contains(&chars(message.text())));
    assert!((1..=50).contains(&message.blocks().len()));
    for block in message.blocks() {
        match block {
            Block::Header { text } => {
                assert!(matches!(text, Text::Plain { .. }), "{text:?}");
                assert!((1..=150).contains(&chars(text.as_str())), "{text:?}");
            }
            Block::Section { text, fields } => {
                assert!(text.is_some() || !fields.is_empty(), "an empty section");
                if let Some(text) = text {
                    assert!((1..=3_000).contains(&chars(mrkdwn(text))));
                }
                assert!(fields.len() <= 10);
                for field in fields {
                    assert!((1..=2_000).contains(&chars(mrkdwn(field))));
                }
            }
            Block::Context { elements } => {
                assert!((1..=10).contains(&elements.len()));
                for element in elements {
                    assert!((1..=3_000).contains(&chars(mrkdwn(element))));
                }
            }
            Block::Divider => {}
        }
    }
}

/// Every `<` starts, and every `>` ends, markup the relay writes itself.
fn check_no_markup_from_the_payload(event: &Event, message: &Message) {
    let url = match event {
        Event::StackUpdate(e) | Event::StackPreview(e) => e.update_url.as_deref(),
        Event::Deployment(e) => e.deployment_url.as_deref(),
        Event::DriftDetection(e) => e.reference_url.as_deref(),
        Event::DriftRemediation(e) => e.reference_url.as_deref(),
        Event::PolicyViolation(_, e) => e.update_url.as_deref(),
        _ => None,
    };
    let mut allowed: Vec<String> = Vec::new();
    if let Some(url) = url.filter(|u| {
        (u.starts_with("https://") || u.starts_with("http://"))
            && !u.contains(|c: char| c.is_whitespace() || c.is_control() || "<>|".contains(c))
    }) {
        allowed.extend(LINK_LABELS.iter().map(|label| format!("<{url}|{label}>")));
    }
    if let Event::Ping(ping) = event
        && let Some(ts) = ping.timestamp
    {
        allowed.push(format!(
            "<!date^{ts}^{{date_short_pretty}} at {{time_secs}}|at Unix time {ts}>"
        ));
    }
    for text in message.texts() {
        let mut rest = text;
        while let Some(at) = rest.find(['<', '>']) {
            let tail = &rest[at..];
            let token = allowed
                .iter()
                .find(|t| tail.starts_with(t.as_str()))
                .unwrap_or_else(|| panic!("markup not written by the relay in {text:?}"));
            rest = &tail[token.len()..];
        }
    }
}

//! Property tests of the delivery pipeline (verify → parse → format → Slack body) on generated,
//! realistic-but-hostile Pulumi webhook payloads: names with Slack markup (`<!channel>`, `<@U…>`,
//! `<http…|…>`, `*_~`, `&<>`, backticks), unicode and control characters, strings up to ~20 000
//! characters, thousands of resource changes and team members, counts up to `u64::MAX`, unknown
//! kinds with arbitrary JSON, and known kinds whose fields have the wrong type.
//!
//! The rules, one test each:
//! - no payload makes the pipeline panic, and the `chat.postMessage` body is always JSON;
//! - every message is within Slack's Block Kit limits (see `assert_within_slack_limits`);
//! - a message names the payload's stack (`assert_names_the_stack` states exactly how);
//! - payload text never becomes a Slack mention or link (`assert_no_markup_from_the_payload`);
//! - what Pulumi Cloud's API adds (`relay_core::enrich`) keeps both of those true.
//!
//! `PROPTEST_CASES=5000 cargo test -p handler --test properties` runs more cases.

use std::collections::BTreeMap;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use relay_core::enrich::{Change, Diagnostic, Enrichment, Resource, StepLog};
use relay_core::event::{Event, Kind};
use relay_core::mrkdwn::TRUNCATED;
use relay_core::render;
use relay_core::slack::json::post_message_body;
use relay_core::slack::{Block, Message, Text};
use relay_core::verify::WebhookSecret;
use serde_json::{Map, Value};

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// Pieces of text that mean something to Slack, HTML, JSON or a terminal.
const NASTY: &[&str] = &[
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0123|@oncall>",
    "<@U0123ABC>",
    "<@U123|boss>",
    "<#C0123|general>",
    "<http://evil.example|click me>",
    "<https://evil.example>",
    "<mailto:a@evil.example|mail>",
    "<!date^1700000000^{date}|x>",
    "https://evil.example/x|<!here>",
    "*bold*",
    "_italic_",
    "~strike~",
    "`code`",
    "```fence```",
    "``",
    "&",
    "&amp;",
    "&lt;!channel&gt;",
    "&#60;",
    "<",
    ">",
    "|",
    ":",
    "/",
    "\n",
    "\r\n",
    "\t",
    "\u{0}",
    "\u{7f}",
    "\u{202e}",
    "\u{feff}",
    "ünïcödé",
    "日本語プロジェクト",
    "прод-🌍",
    "👩‍👩‍👧",
    "e\u{301}",
    "…",
    "—",
    " ",
    "",
];

const OPERATIONS: &[&str] = &[
    "update",
    "preview",
    "refresh",
    "destroy",
    "import",
    "resource-import",
    "rename",
    "detect-drift",
    "remediate-drift",
];

const STATUSES: &[&str] = &[
    "not-started",
    "queued",
    "accepted",
    "running",
    "in-progress",
    "succeeded",
    "failed",
    "cancelled",
    "skipped",
];

const RESOURCE_OPS: &[&str] = &[
    "create",
    "update",
    "delete",
    "replace",
    "create-replacement",
    "delete-replaced",
    "update-replace",
    "read",
    "import",
    "refresh",
    "discard",
    "same",
];

/// The link labels the relay writes after a payload URL, as `<url|label>`.
const LINK_LABELS: &[&str] = &[
    "View update",
    "View preview",
    "View deployment",
    "View drift run",
    "View remediation",
];

/// The payload fields that hold a URL the relay may link.
const URL_FIELDS: &[&str] = &["updateUrl", "deploymentUrl", "referenceUrl"];

fn fragment() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::sample::select(NASTY).prop_map(str::to_owned),
        3 => "[a-z0-9._-]{1,12}",
        2 => "\\PC{0,12}",
        1 => any::<char>().prop_map(String::from),
    ]
    .boxed()
}

/// A short hostile string: a few fragments glued together.
fn text() -> BoxedStrategy<String> {
    vec(fragment(), 0..6).prop_map(|v| v.concat()).boxed()
}

/// A hostile string of 1 000 to 20 000 characters (built by repetition, so it is cheap).
fn huge_text() -> BoxedStrategy<String> {
    (vec(fragment(), 1..4), 1_000..20_000usize)
        .prop_map(|(parts, len)| {
            let unit = parts.concat();
            let unit = if unit.is_empty() {
                "x".to_owned()
            } else {
                unit
            };
            unit.chars().cycle().take(len).collect()
        })
        .boxed()
}

/// Names for org/project/stack/user: usually short, now and then huge.
fn name() -> BoxedStrategy<String> {
    prop_oneof![30 => text(), 1 => huge_text()].boxed()
}

/// A field that is absent, `null`, or has a value (absent and `null` both mean "not sent").
fn maybe<S: Strategy<Value = Value> + 'static>(value: S) -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        6 => value.prop_map(Some),
    ]
    .boxed()
}

fn string(s: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    s.prop_map(Value::String).boxed()
}

/// A value from a known set, or anything (Pulumi may add values).
fn open_value(known: &'static [&'static str]) -> BoxedStrategy<Value> {
    prop_oneof![
        3 => prop::sample::select(known).prop_map(|s| Value::String(s.to_owned())),
        1 => string(text()),
    ]
    .boxed()
}

fn url() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => "https://app\\.pulumi\\.com/[a-z0-9/_.?=&%-]{0,40}",
        1 => "http://[a-z.]{1,20}/[a-zA-Z0-9/]{0,20}",
        1 => prop::sample::select(&[
            "https://evil.example/x|<!here>",
            "https://a b",
            "https://x>y",
            "https://x<@U1>",
            "javascript:alert(1)",
            "ftp://x",
            "https://",
            "HTTPS://APP.PULUMI.COM",
            "https://x\n<!channel>",
        ][..]).prop_map(str::to_owned),
        1 => text(),
    ]
    .prop_map(Value::String)
    .boxed()
}

fn object(fields: Vec<(&str, Option<Value>)>) -> Map<String, Value> {
    fields
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect()
}

fn user(names: BoxedStrategy<String>) -> BoxedStrategy<Value> {
    (
        maybe(string(names.clone())),
        maybe(string(names)),
        maybe(url()),
    )
        .prop_map(|(name, login, avatar)| {
            Value::Object(object(vec![
                ("name", name),
                ("githubLogin", login),
                ("avatarUrl", avatar),
            ]))
        })
        .boxed()
}

/// The fields every Pulumi event carries: `user`, `organization`, `projectName`, `stackName`.
fn common(names: BoxedStrategy<String>) -> BoxedStrategy<Map<String, Value>> {
    (
        maybe(user(names.clone())),
        maybe(user(names.clone())),
        maybe(string(names.clone())),
        maybe(string(names)),
    )
        .prop_map(|(user, org, project, stack)| {
            object(vec![
                ("user", user),
                ("organization", org),
                ("projectName", project),
                ("stackName", stack),
            ])
        })
        .boxed()
}

/// Counts of resource operations: known and unknown op names, up to `u64::MAX`.
fn resource_changes() -> BoxedStrategy<Value> {
    let op = prop_oneof![
        3 => prop::sample::select(RESOURCE_OPS).prop_map(str::to_owned),
        1 => text(),
    ];
    let count = prop_oneof![4 => 0..1_000u64, 1 => any::<u64>(), 1 => Just(u64::MAX)];
    // Pairs rather than a map of a minimum size: the known op names alone cannot fill one.
    prop_oneof![
        4 => vec((op.clone(), count.clone()), 0..16),
        1 => vec((op, count), 100..400),
    ]
    .prop_map(|changes| {
        Value::Object(
            changes
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect(),
        )
    })
    .boxed()
}

/// Any JSON value, nested a few levels, with hostile strings and keys.
fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        string(text()),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Value::Array),
            btree_map(text(), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

fn with(mut base: Map<String, Value>, fields: Vec<(&str, Option<Value>)>) -> Value {
    base.extend(object(fields));
    Value::Object(base)
}

fn stack_update(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    (
        prop::sample::select(&["stack_update", "stack_preview"][..]),
        common(names),
        maybe(url()),
        maybe(open_value(OPERATIONS)),
        maybe(open_value(STATUSES)),
        maybe(resource_changes()),
        maybe(any::<bool>().prop_map(Value::Bool)),
    )
        .prop_map(|(kind, base, url, op, result, changes, preview)| {
            let payload = with(
                base,
                vec![
                    ("updateUrl", url),
                    ("kind", op),
                    ("result", result),
                    ("resourceChanges", changes),
                    ("isPreview", preview),
                ],
            );
            (kind.to_owned(), payload)
        })
        .boxed()
}

fn deployment(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    (
        common(names),
        maybe(url()),
        maybe(any::<u64>().prop_map(Value::from)),
        maybe(open_value(OPERATIONS)),
        maybe(open_value(STATUSES)),
    )
        .prop_map(|(base, url, version, op, status)| {
            let payload = with(
                base,
                vec![
                    ("deploymentUrl", url),
                    ("version", version),
                    ("operation", op),
                    ("status", status),
                ],
            );
            ("deployment".to_owned(), payload)
        })
        .boxed()
}

fn drift(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    (
        prop::sample::select(&["drift_detection", "drift_remediation"][..]),
        common(names.clone()),
        maybe(any::<bool>().prop_map(Value::Bool)),
        maybe(string(names)),
        maybe(open_value(STATUSES)),
        maybe(resource_changes()),
        maybe(url()),
    )
        .prop_map(|(kind, base, drifted, run, status, changes, url)| {
            let payload = with(
                base,
                vec![
                    ("driftDetected", drifted),
                    ("driftRunId", run),
                    ("status", status),
                    ("resourceChanges", changes),
                    ("referenceUrl", url),
                ],
            );
            (kind.to_owned(), payload)
        })
        .boxed()
}

fn stack(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    (common(names), maybe(open_value(&["created", "deleted"])))
        .prop_map(|(base, action)| ("stack".to_owned(), with(base, vec![("action", action)])))
        .boxed()
}

fn team(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    let team_stack = (
        maybe(string(names.clone())),
        maybe(string(names.clone())),
        maybe(open_value(&["read", "write", "admin"])),
    )
        .prop_map(|(project, stack, permission)| {
            Value::Object(object(vec![
                ("projectName", project),
                ("stackName", stack),
                ("permission", permission),
            ]))
        });
    let sizes = prop_oneof![4 => 0..8usize, 1 => 100..600usize];
    let team = (
        maybe(string(names.clone())),
        sizes.clone().prop_flat_map({
            let names = names.clone();
            move |n| vec(user(names.clone()), n)
        }),
        sizes.prop_flat_map(move |n| vec(team_stack.clone(), n)),
    )
        .prop_map(|(name, members, stacks)| {
            Value::Object(object(vec![
                ("name", name),
                ("members", Some(Value::Array(members))),
                ("stacks", Some(Value::Array(stacks))),
            ]))
        });
    (
        common(names),
        maybe(open_value(&["created", "updated", "deleted"])),
        maybe(team),
    )
        .prop_map(|(base, action, team)| {
            let payload = with(base, vec![("action", action), ("team", team)]);
            ("team".to_owned(), payload)
        })
        .boxed()
}

fn policy_violation(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    (
        prop::sample::select(
            &[
                "policy_violation",
                "policy_violation_mandatory",
                "policy_violation_advisory",
            ][..],
        ),
        common(names),
        maybe(url()),
        maybe(open_value(OPERATIONS)),
        maybe(open_value(STATUSES)),
        btree_map("[a-zA-Z]{1,12}|\\PC{0,8}", json(), 0..12),
    )
        .prop_map(|(kind, mut base, url, op, result, details)| {
            // Undocumented fields first, so the documented ones keep their generated types.
            let mut all: Map<String, Value> = details.into_iter().collect();
            all.append(&mut base);
            let payload = with(
                all,
                vec![("updateUrl", url), ("kind", op), ("result", result)],
            );
            (kind.to_owned(), payload)
        })
        .boxed()
}

fn ping() -> BoxedStrategy<(String, Value)> {
    (
        maybe(any::<i64>().prop_map(Value::from)),
        maybe(string(name())),
    )
        .prop_map(|(ts, message)| {
            let payload = Value::Object(object(vec![("timestamp", ts), ("message", message)]));
            ("ping".to_owned(), payload)
        })
        .boxed()
}

/// A kind this relay does not know (sent with whatever the header allows), with any JSON, or
/// with the common fields and arbitrary extras.
fn unknown(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    let kind = prop_oneof![
        3 => "[a-z][a-z_]{0,24}".prop_filter("a kind the relay does not know", |k| {
            !Kind::NAMES.contains(&k.as_str())
        }),
        1 => prop::sample::select(
            &["change_request", "brand_new_kind", "<!channel>", "a`b", "x&y", "<@U1>", "*"][..]
        )
        .prop_map(str::to_owned),
    ];
    let payload = prop_oneof![
        1 => json(),
        2 => (common(names), btree_map(text(), json(), 0..8)).prop_map(|(mut base, extra)| {
            for (k, v) in extra {
                base.entry(k).or_insert(v);
            }
            Value::Object(base)
        }),
    ];
    (kind, payload).boxed()
}

/// A known kind whose documented field has the wrong type: relayed raw, with the reason.
fn wrong_shape(names: BoxedStrategy<String>) -> BoxedStrategy<(String, Value)> {
    (
        prop::sample::select(
            &[
                "stack_update",
                "deployment",
                "drift_detection",
                "team",
                "stack",
            ][..],
        ),
        common(names),
        prop::sample::select(
            &[
                "resourceChanges",
                "result",
                "status",
                "version",
                "team",
                "user",
                "action",
                "driftDetected",
            ][..],
        ),
        json(),
    )
        .prop_map(|(kind, mut base, field, value)| {
            base.insert(field.to_owned(), value);
            (kind.to_owned(), Value::Object(base))
        })
        .boxed()
}

/// One webhook delivery: the `Pulumi-Webhook-Kind` header, the payload and its bytes.
#[derive(Debug, Clone)]
struct Delivery {
    kind: String,
    payload: Value,
    body: Vec<u8>,
    delivery_id: Option<String>,
}

fn deliveries_with(names: BoxedStrategy<String>) -> BoxedStrategy<Delivery> {
    let kinds = prop_oneof![
        4 => stack_update(names.clone()),
        2 => deployment(names.clone()),
        2 => drift(names.clone()),
        1 => stack(names.clone()),
        2 => team(names.clone()),
        2 => policy_violation(names.clone()),
        1 => ping(),
        2 => unknown(names.clone()),
        1 => wrong_shape(names),
    ];
    let delivery_id = prop_oneof![
        Just(None),
        "[a-z0-9-]{1,36}".prop_map(Some),
        text().prop_map(Some)
    ];
    (kinds, delivery_id)
        .prop_map(|((kind, payload), delivery_id)| Delivery {
            body: serde_json::to_vec(&payload).expect("a Value serializes"),
            kind,
            payload,
            delivery_id,
        })
        .boxed()
}

fn any_delivery() -> BoxedStrategy<Delivery> {
    deliveries_with(name())
}

/// Deliveries whose every name is 1 000–20 000 characters.
fn huge_delivery() -> BoxedStrategy<Delivery> {
    deliveries_with(huge_text())
}

// ---------------------------------------------------------------------------------------------
// The pipeline and the rules
// ---------------------------------------------------------------------------------------------

struct Relayed {
    event: Event,
    message: Message,
    /// The `chat.postMessage` body.
    wire: Vec<u8>,
}

/// What `app.rs` does with a delivery, minus the network.
fn relay(delivery: &Delivery) -> Relayed {
    let secret = WebhookSecret::new("s3cret".into());
    let signature = secret.sign(&delivery.body);
    secret
        .verify(std::iter::once(signature.as_bytes()), &delivery.body)
        .expect("a body signed with the secret verifies");
    let event = Event::parse(Kind::parse(&delivery.kind), &delivery.body)
        .expect("a serialized serde_json::Value is valid JSON");
    let message = render::message(&event, delivery.delivery_id.as_deref());
    let wire = post_message_body("C0123456789", &message);
    Relayed {
        event,
        message,
        wire,
    }
}

/// What Pulumi Cloud's API might say about a run, with hostile text everywhere: diagnostics,
/// resource types and names, properties, log lines; and any number of each.
fn enrichment() -> BoxedStrategy<Enrichment> {
    let resource = (text(), text()).prop_map(|(type_, name)| Resource { type_, name });
    let change = (
        prop_oneof![Just("create".to_owned()), Just("read".to_owned()), text()],
        resource.clone(),
        vec(text(), 0..8),
    )
        .prop_map(|(op, resource, properties)| Change {
            op,
            resource,
            properties,
        });
    let diagnostic = (
        proptest::option::of(resource),
        prop_oneof![text(), huge_text()],
    )
        .prop_map(|(resource, text)| Diagnostic { resource, text });
    let log = proptest::option::of(
        (text(), vec(prop_oneof![text(), huge_text()], 0..10))
            .prop_map(|(step, lines)| StepLog { step, lines }),
    );
    (
        vec(diagnostic, 0..6),
        vec(change.clone(), 0..6),
        vec(change, 0..11),
        log,
        any::<(bool, bool)>(),
        0..100_000usize,
    )
        .prop_map(
            |(errors, failed, changes, log, (drift, partial), extra)| Enrichment {
                errors_total: errors.len() + extra,
                errors,
                failed_total: failed.len() + extra,
                failed,
                changes_total: changes.len() + extra,
                changes,
                drift,
                log,
                partial,
            },
        )
        .boxed()
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn mrkdwn(text: &Text) -> Result<&str, TestCaseError> {
    match text {
        Text::Mrkdwn { text } => Ok(text),
        Text::Plain { .. } => Err(TestCaseError::fail(format!(
            "expected mrkdwn, got plain text {text:?}"
        ))),
    }
}

/// Slack's Block Kit limits, as `format.rs` documents them (characters are Unicode scalars):
/// fallback text 1..=40 000; 1..=50 blocks; a header is plain text of 1..=150; a section has text
/// or fields, its text mrkdwn of 1..=3 000, at most 10 fields of 1..=2 000; a context has
/// 1..=10 elements of 1..=3 000.
fn assert_within_slack_limits(message: &Message) -> Result<(), TestCaseError> {
    let text = message.text();
    prop_assert!(
        (1..=40_000).contains(&chars(text)),
        "text of {} chars",
        chars(text)
    );
    let blocks = message.blocks();
    prop_assert!((1..=50).contains(&blocks.len()), "{} blocks", blocks.len());
    for block in blocks {
        match block {
            Block::Header { text } => {
                let Text::Plain { text, .. } = text else {
                    return Err(TestCaseError::fail("a header must be plain_text"));
                };
                prop_assert!((1..=150).contains(&chars(text)), "header {text:?}");
            }
            Block::Section { text, fields } => {
                prop_assert!(
                    text.is_some() || !fields.is_empty(),
                    "a section needs text or fields"
                );
                if let Some(text) = text {
                    let text = mrkdwn(text)?;
                    prop_assert!(
                        (1..=3_000).contains(&chars(text)),
                        "section of {}",
                        chars(text)
                    );
                }
                prop_assert!(fields.len() <= 10, "{} fields", fields.len());
                for field in fields {
                    let field = mrkdwn(field)?;
                    prop_assert!(
                        (1..=2_000).contains(&chars(field)),
                        "field of {}",
                        chars(field)
                    );
                }
            }
            Block::Context { elements } => {
                prop_assert!(
                    (1..=10).contains(&elements.len()),
                    "{} elements",
                    elements.len()
                );
                for element in elements {
                    let element = mrkdwn(element)?;
                    prop_assert!(
                        (1..=3_000).contains(&chars(element)),
                        "context element of {}",
                        chars(element)
                    );
                }
            }
            Block::Divider => {}
            // Block Kit: an actions block has 1..=25 elements; a button's label is plain text
            // of 1..=75, its value at most 2 000.
            Block::Actions { elements, .. } => {
                prop_assert!(
                    (1..=25).contains(&elements.len()),
                    "{} buttons",
                    elements.len()
                );
                for button in elements {
                    prop_assert!((1..=75).contains(&chars(button.text.as_str())));
                    prop_assert!(chars(&button.value) <= 2_000);
                }
            }
        }
    }
    Ok(())
}

/// Slack's mrkdwn escaping, written out independently of `format::escape`: `&<>` become entities
/// and a backtick becomes `ˋ` (U+02CB), so payload text can neither form markup nor end a code
/// block.
fn escaped(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '`' => "ˋ".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Does `text` end inside an entity: an `&` with no `;` after it?
fn ends_inside_an_entity(text: &str) -> bool {
    text.rfind('&')
        .is_some_and(|amp| !text[amp..].contains(';'))
}

/// The payload's stack name, where `Event::origin` reads it from (`stackName`; never for the ESC
/// kinds, which these generators do not produce).
fn stack_name(payload: &Value) -> Option<&str> {
    payload
        .get("stackName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// With `needle` = the stack name escaped:
/// - the header ends with `needle` (it ends with the `org/project/stack` path), unless the
///   header was cut to exactly 150 characters ending with `… [truncated]`;
/// - the fallback text contains `needle` followed by ` — ` (the headline, then the summary),
///   unless it was cut to exactly 40 000 characters ending with the marker;
/// - for the typed kinds with a Stack field (all but team, ping, ESC and raw events), one field is
///   exactly `*Stack*\n{needle}`, or when that is over 2 000 characters it is
///   `*Stack*\n{prefix}… [truncated]` with `prefix` a non-empty prefix of `needle` that does not
///   end inside an entity, 1 996 to 2 000 characters in all (a partial `&amp` is dropped).
fn assert_names_the_stack(relayed: &Relayed, stack: &str) -> Result<(), TestCaseError> {
    let needle = escaped(stack);
    let message = &relayed.message;
    let header = message
        .blocks()
        .iter()
        .find_map(|b| match b {
            Block::Header { text } => Some(text.as_str()),
            _ => None,
        })
        .ok_or_else(|| TestCaseError::fail("no header"))?;
    let header_cut = chars(header) == 150 && header.ends_with(TRUNCATED);
    prop_assert!(
        header.ends_with(&needle) || header_cut,
        "header {header:?} does not end with {needle:?}"
    );
    let text = message.text();
    let text_cut = chars(text) == 40_000 && text.ends_with(TRUNCATED);
    prop_assert!(
        text.contains(&format!("{needle} — ")) || text_cut,
        "fallback text does not name {needle:?}"
    );

    let has_stack_field = !matches!(
        relayed.event,
        Event::Team(_) | Event::Ping(_) | Event::Esc(..) | Event::Other(_)
    );
    if has_stack_field {
        let field = message
            .blocks()
            .iter()
            .flat_map(|b| match b {
                Block::Section { fields, .. } => fields.as_slice(),
                _ => &[],
            })
            .map(Text::as_str)
            .find(|f| f.starts_with("*Stack*\n"))
            .ok_or_else(|| TestCaseError::fail("no Stack field"))?;
        let value = &field["*Stack*\n".len()..];
        if value != needle {
            let prefix = value.strip_suffix(TRUNCATED).ok_or_else(|| {
                TestCaseError::fail(format!("Stack field {field:?} is neither whole nor cut"))
            })?;
            prop_assert!(
                chars(&format!("*Stack*\n{needle}")) > 2_000,
                "cut a short stack"
            );
            // Cut at 2 000, less the start of an entity (at most `&amp`) dropped at the cut.
            prop_assert!(
                (1_996..=2_000).contains(&chars(field)),
                "{} chars",
                chars(field)
            );
            prop_assert!(!prefix.is_empty() && needle.starts_with(prefix));
            prop_assert!(
                !ends_inside_an_entity(prefix),
                "cut inside an entity: {field:?}"
            );
        }
    }
    Ok(())
}

/// The only `<…>` markup a message may hold is what the relay writes itself: `<url|label>` with a
/// payload URL that is http(s) and has no whitespace, control characters or `<>|`, and a fixed
/// label; and for a ping, `<!date^ts^…|at Unix time ts>` with the payload's integer timestamp.
/// So every `<` in every text starts one of those tokens, every `>` ends one, and payload text
/// can never become `<!channel>`, `<@U…>`, `<#C…>` or a link.
fn assert_no_markup_from_the_payload(
    relayed: &Relayed,
    payload: &Value,
) -> Result<(), TestCaseError> {
    let mut allowed: Vec<String> = Vec::new();
    for field in URL_FIELDS {
        let Some(url) = payload.get(*field).and_then(Value::as_str) else {
            continue;
        };
        let safe = (url.starts_with("https://") || url.starts_with("http://"))
            && !url.contains(|c: char| c.is_whitespace() || c.is_control() || "<>|".contains(c));
        if safe {
            allowed.extend(LINK_LABELS.iter().map(|label| format!("<{url}|{label}>")));
        }
    }
    if matches!(relayed.event, Event::Ping(_))
        && let Some(ts) = payload.get("timestamp").and_then(Value::as_i64)
    {
        allowed.push(format!(
            "<!date^{ts}^{{date_short_pretty}} at {{time_secs}}|at Unix time {ts}>"
        ));
    }
    for text in relayed.message.texts() {
        let mut rest = text;
        while let Some(at) = rest.find(['<', '>']) {
            let tail = &rest[at..];
            prop_assert!(
                tail.starts_with('<'),
                "a '>' that closes no relay link in {text:?}"
            );
            let token = allowed.iter().find(|t| tail.starts_with(t.as_str()));
            let Some(token) = token else {
                return Err(TestCaseError::fail(format!(
                    "markup not written by the relay at {:?} in {text:?}",
                    tail.chars().take(40).collect::<String>()
                )));
            };
            rest = &tail[token.len()..];
        }
    }
    Ok(())
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        // PROPTEST_CASES still overrides this default.
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        // Failures are reported with their shrunk input; no files are written into the repo.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn no_payload_makes_the_pipeline_panic_or_send_slack_invalid_json(delivery in any_delivery()) {
        let relayed = relay(&delivery);
        let sent: Value = serde_json::from_slice(&relayed.wire)
            .map_err(|e| TestCaseError::fail(format!("the Slack body is not JSON: {e}")))?;
        prop_assert_eq!(sent["channel"].as_str(), Some("C0123456789"));
        prop_assert_eq!(sent["text"].as_str(), Some(relayed.message.text()));
        prop_assert_eq!(
            sent["blocks"].as_array().map(Vec::len),
            Some(relayed.message.blocks().len())
        );
    }

    #[test]
    fn every_message_fits_slacks_block_kit_limits(delivery in any_delivery()) {
        assert_within_slack_limits(&relay(&delivery).message)?;
    }

    #[test]
    fn a_message_names_the_stack_escaped_or_as_a_visibly_cut_prefix(delivery in any_delivery()) {
        let relayed = relay(&delivery);
        if let Some(stack) = stack_name(&delivery.payload) {
            assert_names_the_stack(&relayed, stack)?;
        }
    }

    #[test]
    fn payload_text_never_becomes_a_slack_mention_or_link(delivery in any_delivery()) {
        assert_no_markup_from_the_payload(&relay(&delivery), &delivery.payload)?;
    }
}

proptest! {
    // Diagnostics and log lines of up to 20 000 characters: fewer cases.
    #![proptest_config(config(64))]

    #[test]
    fn what_pulumi_cloud_says_fits_slacks_limits_and_mentions_nobody(
        delivery in any_delivery(),
        enrichment in enrichment()
    ) {
        let mut relayed = relay(&delivery);
        relayed.message =
            render::enriched(&relayed.event, delivery.delivery_id.as_deref(), Some(&enrichment));
        assert_within_slack_limits(&relayed.message)?;
        assert_no_markup_from_the_payload(&relayed, &delivery.payload)?;
    }
}

proptest! {
    // Each case carries several strings of up to 20 000 characters: fewer cases.
    #![proptest_config(config(24))]

    #[test]
    fn huge_names_are_cut_within_limits_still_name_the_stack_and_mention_nobody(
        delivery in huge_delivery()
    ) {
        let relayed = relay(&delivery);
        assert_within_slack_limits(&relayed.message)?;
        if let Some(stack) = stack_name(&delivery.payload) {
            assert_names_the_stack(&relayed, stack)?;
        }
        assert_no_markup_from_the_payload(&relayed, &delivery.payload)?;
        serde_json::from_slice::<Value>(&relayed.wire)
            .map_err(|e| TestCaseError::fail(format!("the Slack body is not JSON: {e}")))?;
    }
}

/// The generators above must actually reach the interesting shapes; this pins a few by hand.
#[test]
fn known_hostile_payloads_follow_every_rule() {
    let cases: BTreeMap<&str, Value> = [
        (
            "stack_update",
            serde_json::json!({
                "stackName": "<!channel>",
                "projectName": "a&b",
                "kind": "<@U123|boss>",
                "result": "<!here>",
                "updateUrl": "https://x|<!here>",
                "resourceChanges": {"create": u64::MAX, "update": 1, "discard": 2, "read": 3},
            }),
        ),
        (
            "deployment",
            serde_json::json!({"stackName": "s", "status": "<http://evil.example|x>"}),
        ),
        (
            "<!channel>",
            serde_json::json!({"stackName": "`", "x": "<!here>"}),
        ),
    ]
    .into();
    for (kind, payload) in cases {
        let delivery = Delivery {
            kind: kind.to_owned(),
            body: serde_json::to_vec(&payload).unwrap(),
            payload,
            delivery_id: Some("<!everyone>".into()),
        };
        let relayed = relay(&delivery);
        assert_within_slack_limits(&relayed.message).unwrap();
        assert_names_the_stack(&relayed, stack_name(&delivery.payload).unwrap()).unwrap();
        assert_no_markup_from_the_payload(&relayed, &delivery.payload).unwrap();
    }
}

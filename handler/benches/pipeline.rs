//! CPU cost of one delivery, per fixture, against the floor of parsing the same body as JSON.
//!
//! For every `tests/fixtures/*.json` there is one group, named after the fixture, with:
//! - `parse_only_floor`: `serde_json::from_slice::<serde_json::Value>` of the body, the least any
//!   relay of this JSON must do;
//! - `pipeline`: signature check + kind + typed parse + format + the `chat.postMessage` body, i.e.
//!   all the CPU work of one delivery except the network.
//!
//! The groups `stages` and `stages-unknown-kind-huge` split the pipeline into its steps for
//! `stack_update-succeeded` and `unknown-kind-huge`. The target is a pipeline at
//! most 3× its floor; `tests/bench/criterion-report.py` prints the table from Criterion's output.
//!
//!   cargo bench -p handler --bench pipeline && python3 tests/bench/criterion-report.py

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use relay_core::event::{Event, Kind};
use relay_core::render;
use relay_core::slack::Message;
use relay_core::slack::json::post_message_body;
use relay_core::verify::WebhookSecret;

const SECRET: &str = "bench-secret";
const DELIVERY_ID: &str = "d-0001";
const CHANNEL: &str = "C0123456789";

struct Fixture {
    /// The file name without `.json`: the benchmark group's name.
    name: String,
    /// The `Pulumi-Webhook-Kind` header the end-to-end tests send it with.
    kind: String,
    body: Vec<u8>,
    /// `Pulumi-Webhook-Signature`, computed once as Pulumi Cloud would.
    signature: String,
}

/// The kind `tests/tests/events.rs` delivers each fixture as: the name up to the first `-`,
/// except for the fixtures of unknown kinds and the level-carrying policy violation.
fn kind_of(name: &str) -> String {
    match name {
        "unknown-kind" => "change_request".into(),
        "unknown-kind-huge" => "brand_new_kind".into(),
        "policy_violation-mandatory" => "policy_violation_mandatory".into(),
        _ => name.split('-').next().unwrap_or(name).into(),
    }
}

fn fixtures(secret: &WebhookSecret) -> Vec<Fixture> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut fixtures: Vec<Fixture> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let body = std::fs::read(&path).expect("a readable fixture");
            Fixture {
                kind: kind_of(&name),
                signature: secret.sign(&body),
                name,
                body,
            }
        })
        .collect();
    fixtures.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!fixtures.is_empty(), "no fixtures in {}", dir.display());
    fixtures
}

fn verify(secret: &WebhookSecret, signature: &str, body: &[u8]) {
    secret
        .verify(std::iter::once(signature.as_bytes()), body)
        .expect("the fixture is signed with the bench secret");
}

fn parse(kind: &str, body: &[u8]) -> Event {
    Event::parse(Kind::parse(kind), body).expect("fixtures are JSON")
}

fn render(event: &Event) -> Message {
    render::message(event, Some(DELIVERY_ID))
}

/// Everything the relay computes for one delivery, in the order `app.rs` does it.
fn pipeline(secret: &WebhookSecret, fixture: &Fixture) -> Vec<u8> {
    verify(
        secret,
        black_box(&fixture.signature),
        black_box(&fixture.body),
    );
    let event = parse(black_box(&fixture.kind), black_box(&fixture.body));
    let message = render(&event);
    post_message_body(CHANNEL, &message)
}

fn per_fixture(c: &mut Criterion) {
    let secret = WebhookSecret::new(SECRET.into());
    for fixture in fixtures(&secret) {
        let mut group = c.benchmark_group(&fixture.name);
        group.throughput(Throughput::Bytes(fixture.body.len() as u64));
        if fixture.body.len() > 16 * 1024 {
            // Iterations of a millisecond or more: flat sampling fits 100 samples in 2 s.
            group.sampling_mode(SamplingMode::Flat);
        }
        group.bench_function("parse_only_floor", |b| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(&fixture.body)))
        });
        group.bench_function("pipeline", |b| b.iter(|| pipeline(&secret, &fixture)));
        group.finish();
    }
}

/// The pipeline's stages, separately, for `fixture`, in the group `group`.
fn stages_of(c: &mut Criterion, group: &str, fixture: &str) {
    let secret = WebhookSecret::new(SECRET.into());
    let fixture = fixtures(&secret)
        .into_iter()
        .find(|f| f.name == fixture)
        .unwrap_or_else(|| panic!("no fixture {fixture}"));
    let event = parse(&fixture.kind, &fixture.body);
    let message = render(&event);

    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Bytes(fixture.body.len() as u64));
    group.bench_function("verify", |b| {
        b.iter(|| {
            verify(
                &secret,
                black_box(&fixture.signature),
                black_box(&fixture.body),
            )
        })
    });
    group.bench_function("parse", |b| {
        b.iter(|| parse(black_box(&fixture.kind), black_box(&fixture.body)))
    });
    group.bench_function("format", |b| b.iter(|| render(black_box(&event))));
    group.bench_function("serialize", |b| {
        b.iter(|| post_message_body(CHANNEL, black_box(&message)))
    });
    group.finish();
}

fn stages(c: &mut Criterion) {
    stages_of(c, "stages", "stack_update-succeeded");
    // An unknown kind's 190 kB payload: the raw-JSON path, and the most bytes to sign.
    stages_of(c, "stages-unknown-kind-huge", "unknown-kind-huge");
}

/// What Pulumi Cloud's API adds (`relay_core::enrich`), in the group `enrichment`:
/// - `events_floor` / `digest`: the 14-change update's event pages parsed as `serde_json::Value`,
///   against parsed as engine events and folded into an `Enrichment`;
/// - `format_plain` / `format_enriched`: `stack_update-failed`'s message without and with its
///   failure reasons (two diagnostics, two failed resources).
fn enrichment(c: &mut Criterion) {
    use relay_core::enrich::api::EventsPage;
    use relay_core::enrich::{Digest, Enrichment};

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let scenario = |name: &str| -> serde_json::Value {
        let path = dir.join(format!("pulumi-api/{name}.json"));
        serde_json::from_slice(&std::fs::read(&path).expect("a scenario")).expect("JSON")
    };
    // Each page as the API sends it: `{"events": [...], "continuationToken": ...}`.
    let pages = |scenario: &serde_json::Value| -> Vec<Vec<u8>> {
        let events = scenario
            .as_object()
            .unwrap()
            .values()
            .find_map(|v| v.get("pages"))
            .and_then(|p| p.as_array())
            .expect("an events path")
            .clone();
        events
            .iter()
            .map(|page| serde_json::to_vec(&serde_json::json!({"events": page})).unwrap())
            .collect()
    };
    let changes = pages(&scenario("update-14-changes"));
    let digest = |pages: &[Vec<u8>]| -> Enrichment {
        let mut digest = Digest::new(false);
        for page in pages {
            let page: EventsPage = serde_json::from_slice(page).expect("a page");
            page.events.iter().for_each(|e| digest.add(e));
        }
        digest.finish()
    };
    let failed = digest(&pages(&scenario("update-failed")));
    let body = std::fs::read(dir.join("stack_update-failed.json")).expect("the webhook");
    let event = parse("stack_update", &body);

    let mut group = c.benchmark_group("enrichment");
    group.bench_function("events_floor", |b| {
        b.iter(|| {
            for page in black_box(&changes) {
                black_box(serde_json::from_slice::<serde_json::Value>(page).unwrap());
            }
        })
    });
    group.bench_function("digest", |b| b.iter(|| digest(black_box(&changes))));
    group.bench_function("format_plain", |b| {
        b.iter(|| render::message(black_box(&event), Some(DELIVERY_ID)))
    });
    group.bench_function("format_enriched", |b| {
        b.iter(|| render::enriched(black_box(&event), Some(DELIVERY_ID), Some(&failed)))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = per_fixture, stages, enrichment
}
criterion_main!(benches);

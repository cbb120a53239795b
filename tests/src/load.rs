//! Many signed deliveries at a fixed concurrency, for the reliability tests and the load bench:
//! each delivery's answer and latency is recorded against its delivery id.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;

use crate::{fixture, sign};

/// The kinds a busy organisation sends most, as (kind header, fixture name).
pub const MIX: [(&str, &str); 8] = [
    ("stack_update", "stack_update-succeeded"),
    ("stack_preview", "stack_preview-succeeded"),
    ("deployment", "deployment-running"),
    ("deployment", "deployment-succeeded"),
    ("drift_detection", "drift_detection-drifted"),
    ("stack", "stack-created"),
    ("team", "team-updated"),
    ("policy_violation_mandatory", "policy_violation-mandatory"),
];

/// One delivery to send.
#[derive(Clone)]
pub struct Shot {
    pub id: String,
    pub kind: &'static str,
    pub body: Bytes,
    pub signature: Option<String>,
}

/// `n` correctly signed deliveries cycling through [`MIX`], with ids `<prefix>-<i>`.
pub fn signed_mix(prefix: &str, n: usize) -> Vec<Shot> {
    let bodies: Vec<(&'static str, Bytes, String)> = MIX
        .iter()
        .map(|(kind, name)| {
            let body = Bytes::from(fixture(name));
            let signature = sign(&body);
            (*kind, body, signature)
        })
        .collect();
    (0..n)
        .map(|i| {
            let (kind, body, signature) = &bodies[i % bodies.len()];
            Shot {
                id: format!("{prefix}-{i:06}"),
                kind,
                body: body.clone(),
                signature: Some(signature.clone()),
            }
        })
        .collect()
}

/// `n` correctly signed deliveries cycling through [`MIX`], with ids `<prefix>-<i>`, each of a
/// stack of its own (`website-prod-<i>`): with delivery state, each is then exactly one new
/// message (no deployment message edited by another's status, no update threaded under
/// another's preview), so "posted once" can be counted per delivery.
pub fn signed_mix_one_stack_each(prefix: &str, n: usize) -> Vec<Shot> {
    let bodies: Vec<(&'static str, String)> = MIX
        .iter()
        .map(|(kind, name)| (*kind, String::from_utf8(fixture(name)).unwrap()))
        .collect();
    (0..n)
        .map(|i| {
            let (kind, body) = &bodies[i % bodies.len()];
            let body = Bytes::from(body.replace("website-prod", &format!("website-prod-{i}")));
            Shot {
                id: format!("{prefix}-{i:06}"),
                kind,
                signature: Some(sign(&body)),
                body,
            }
        })
        .collect()
}

/// What the relay answered to one delivery. `status` 0 means no HTTP answer at all.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub status: u16,
    pub latency: Duration,
    pub body: Bytes,
}

/// A client like Pulumi Cloud's deliverer: keep-alive connections, no client-side timeout
/// shorter than the relay's own deadline.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client builds")
}

/// Sends every shot to `url` from `concurrency` workers and returns the outcomes in shot order.
pub async fn fire(
    client: &reqwest::Client,
    url: &str,
    shots: Vec<Shot>,
    concurrency: usize,
) -> Vec<Outcome> {
    let shots: Arc<[Shot]> = shots.into();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (client, url, shots, next) =
            (client.clone(), url.to_owned(), shots.clone(), next.clone());
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(shot) = shots.get(i) else { break };
                done.push((i, send(&client, &url, shot).await));
            }
            done
        });
    }
    let mut outcomes: Vec<Option<Outcome>> = vec![None; shots.len()];
    while let Some(done) = workers.join_next().await {
        for (i, outcome) in done.expect("worker") {
            outcomes[i] = Some(outcome);
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every shot sent"))
        .collect()
}

async fn send(client: &reqwest::Client, url: &str, shot: &Shot) -> Outcome {
    let started = Instant::now();
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .header("pulumi-webhook-id", &shot.id)
        .header("pulumi-webhook-kind", shot.kind)
        .body(shot.body.clone());
    if let Some(signature) = &shot.signature {
        request = request.header("pulumi-webhook-signature", signature);
    }
    let (status, body) = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            (status, response.bytes().await.unwrap_or_default())
        }
        Err(error) => (0, Bytes::from(error.to_string())),
    };
    Outcome {
        id: shot.id.clone(),
        status,
        latency: started.elapsed(),
        body,
    }
}

/// Every run of 64 hex digits in `text`: the shape of a `Pulumi-Webhook-Signature`.
pub fn hex64_runs(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 0..=bytes.len() {
        let hex = i < bytes.len() && bytes[i].is_ascii_hexdigit();
        if !hex {
            if i - start >= 64 {
                runs.extend((start..=i - 64).map(|s| &text[s..s + 64]));
            }
            start = i + 1;
        }
    }
    runs
}

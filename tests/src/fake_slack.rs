//! A stand-in for Slack's Web API on loopback, for tests and load runs.
//!
//! It behaves like `chat.postMessage` does: bearer-token auth (`not_authed`, `invalid_auth`),
//! channel checks (`channel_not_found`, `not_in_channel`, `is_archived`), message validation
//! against Block Kit limits (`no_text`, `invalid_blocks`, `msg_too_long`), errors as HTTP 200 with
//! `ok:false`, and `{ok, channel, ts, message}` on success. Tests can script failures ahead of
//! the normal answer: HTTP 429 with `Retry-After`, 5xx, hangs, non-JSON bodies, `ok:false` codes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The bot token the fake accepts.
pub const TOKEN: &str = "xoxb-fake-0000-token";
/// A channel the bot can post in (the fake answers with an ID-like channel, as Slack does).
pub const CHANNEL: &str = "#ops";
pub const CHANNEL_ID: &str = "C0OPS000001";
/// A channel that exists but the bot was not invited to.
pub const PRIVATE_CHANNEL: &str = "#private";
pub const ARCHIVED_CHANNEL: &str = "#old";

/// A scripted answer used for the next request instead of the normal one.
#[derive(Debug, Clone)]
pub enum Reply {
    /// HTTP 429 with `Retry-After: secs`.
    RateLimited { retry_after_secs: u64 },
    /// An HTTP status with an HTML body, as a load balancer would send.
    Status(u16),
    /// HTTP 200 `{ok:false, error}`.
    Error(&'static str),
    /// Wait this long before answering normally (the relay should time out first).
    Hang(Duration),
    /// HTTP 200 with a body that is not JSON.
    NotJson,
}

/// A message Slack accepted.
#[derive(Debug, Clone)]
pub struct Post {
    pub channel: String,
    pub ts: String,
    /// The whole request body as sent by the relay.
    pub body: Value,
}

impl Post {
    pub fn text(&self) -> &str {
        self.body["text"].as_str().unwrap_or("")
    }

    /// Every text in the message's blocks, joined by newlines: what a reader sees.
    pub fn blocks_text(&self) -> String {
        let mut out = Vec::new();
        collect_text(&self.body["blocks"], &mut out);
        out.join("\n")
    }
}

fn collect_text(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                match value {
                    Value::String(text) if key == "text" => out.push(text.clone()),
                    other => collect_text(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_text(v, out)),
        _ => {}
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    posts: Vec<Post>,
    attempts: usize,
    next_ts: u64,
}

/// A running fake; stops when dropped.
pub struct FakeSlack {
    /// What the relay's `SLACK_API_URL` should be.
    pub api_url: String,
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    server: JoinHandle<()>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let inner = Arc::new(Mutex::new(Inner {
            next_ts: 1,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/chat.postMessage", post(post_message))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake Slack serves");
        });
        FakeSlack {
            api_url: format!("http://{addr}/api"),
            addr,
            inner,
            server,
        }
    }

    /// Answers the next requests with `replies`, in order, before behaving normally again.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// Messages accepted so far.
    pub fn posts(&self) -> Vec<Post> {
        self.inner.lock().unwrap().posts.clone()
    }

    /// Every `chat.postMessage` request received, accepted or not.
    pub fn attempts(&self) -> usize {
        self.inner.lock().unwrap().attempts
    }
}

fn slack_error(error: &str) -> Response {
    axum::Json(json!({ "ok": false, "error": error })).into_response()
}

async fn post_message(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let scripted = {
        let mut inner = inner.lock().unwrap();
        inner.attempts += 1;
        inner.script.pop_front()
    };
    match scripted {
        Some(Reply::RateLimited { retry_after_secs }) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", retry_after_secs.to_string())],
                axum::Json(json!({ "ok": false, "error": "ratelimited" })),
            )
                .into_response();
        }
        Some(Reply::Status(code)) => {
            let status = StatusCode::from_u16(code).expect("valid status");
            return (status, "<html><body>upstream error</body></html>").into_response();
        }
        Some(Reply::Error(error)) => return slack_error(error),
        Some(Reply::NotJson) => {
            return (StatusCode::OK, "<html>maintenance</html>").into_response();
        }
        Some(Reply::Hang(duration)) => tokio::time::sleep(duration).await,
        None => {}
    }

    match headers.get("authorization").and_then(|v| v.to_str().ok()) {
        None => return slack_error("not_authed"),
        Some(auth) if auth != format!("Bearer {TOKEN}") => return slack_error("invalid_auth"),
        Some(_) => {}
    }
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(message) = is_json
        .then(|| serde_json::from_slice::<Value>(&body).ok())
        .flatten()
    else {
        return slack_error("invalid_json");
    };
    let channel = match message["channel"].as_str() {
        None | Some("") => return slack_error("channel_not_found"),
        Some(CHANNEL) | Some(CHANNEL_ID) => CHANNEL_ID,
        Some(PRIVATE_CHANNEL) => return slack_error("not_in_channel"),
        Some(ARCHIVED_CHANNEL) => return slack_error("is_archived"),
        Some(_) => return slack_error("channel_not_found"),
    };
    if let Err(error) = validate(&message) {
        return slack_error(error);
    }
    let mut inner = inner.lock().unwrap();
    let ts = format!("1700000000.{:06}", inner.next_ts);
    inner.next_ts += 1;
    inner.posts.push(Post {
        channel: channel.to_owned(),
        ts: ts.clone(),
        body: message.clone(),
    });
    axum::Json(json!({
        "ok": true,
        "channel": channel,
        "ts": ts,
        "message": { "type": "message", "text": message["text"], "ts": ts },
    }))
    .into_response()
}

/// Slack's checks on a message's size and Block Kit structure.
fn validate(message: &Value) -> Result<(), &'static str> {
    let text = message["text"].as_str().unwrap_or("");
    let blocks = message["blocks"].as_array();
    if text.is_empty() && blocks.is_none_or(Vec::is_empty) {
        return Err("no_text");
    }
    if text.chars().count() > 40_000 {
        return Err("msg_too_long");
    }
    let blocks = blocks.map(Vec::as_slice).unwrap_or_default();
    if blocks.len() > 50 {
        return Err("invalid_blocks");
    }
    let len = |v: &Value| v["text"].as_str().map_or(0, |t| t.chars().count());
    for block in blocks {
        let ok = match block["type"].as_str() {
            Some("header") => {
                block["text"]["type"] == "plain_text" && (1..=150).contains(&len(&block["text"]))
            }
            Some("section") => {
                let fields = block["fields"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let has_text = block.get("text").is_some();
                (has_text || !fields.is_empty())
                    && (!has_text || (1..=3000).contains(&len(&block["text"])))
                    && fields.len() <= 10
                    && fields.iter().all(|f| (1..=2000).contains(&len(f)))
            }
            Some("context") => {
                let elements = block["elements"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                (1..=10).contains(&elements.len())
                    && elements.iter().all(|e| (1..=3000).contains(&len(e)))
            }
            Some("divider") => true,
            _ => false,
        };
        if !ok {
            return Err("invalid_blocks");
        }
    }
    Ok(())
}

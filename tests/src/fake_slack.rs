//! A stand-in for Slack's Web API on loopback, for tests and load runs.
//!
//! It behaves like `chat.postMessage` and `chat.update` do: bearer-token auth (`not_authed`, `invalid_auth`),
//! channel checks (`channel_not_found`, `not_in_channel`, `is_archived`), message validation
//! against Block Kit limits (`no_text`, `invalid_blocks`, `msg_too_long`), errors as HTTP 200 with
//! `ok:false`, and `{ok, channel, ts, message}` on success. `chat.postMessage` records `thread_ts`
//! and `reply_broadcast`; `chat.update` needs the channel's ID (a name is `channel_not_found`, as in
//! Slack) and an existing message (`message_not_found`; tests can delete one), and replaces its
//! text and blocks. Tests can script failures ahead of
//! the normal answer: HTTP 429 with `Retry-After`, 5xx, hangs, non-JSON bodies, `ok:false` codes,
//! and connection resets; or install a [`FaultRule`] that picks a fault by request number, for
//! faults in the middle of a load run. Like Slack, it takes JSON or form-encoded bodies (the Node
//! SDK sends the latter).
//!
//! For ChatOps it also serves `usergroups.users.list` (Slack's method docs: a `usergroup`
//! argument, `{ok, users}`, `no_such_subteam` for an unknown group) and `response_url`s. What a
//! `response_url` answers is assumed: Slack documents only that it takes a message JSON, so the
//! fake answers `200 ok` to JSON with text or blocks and 400 otherwise (the relay treats any 2xx
//! as taken).
//!
//! It serves connections itself (hyper, keep-alive) rather than through `axum::serve` so that a
//! request can reset its own TCP connection.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Extension, State};
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
/// A second channel the bot can post in, for routing tests.
pub const ALERTS_CHANNEL: &str = "#alerts";
pub const ALERTS_CHANNEL_ID: &str = "C0ALERTS001";
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
    /// The TCP connection is reset (RST) before any answer; nothing is posted.
    Reset,
    /// No answer at all, ever (past any client deadline); nothing is posted.
    Stall,
}

/// Picks a fault (or none) for the n-th request (1-based) once the script is used up.
pub type FaultRule = Arc<dyn Fn(usize) -> Option<Reply> + Send + Sync>;

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

    /// The message this one replies under, if it is a thread reply.
    pub fn thread_ts(&self) -> Option<&str> {
        self.body["thread_ts"].as_str()
    }

    /// A thread reply also shown in the channel.
    pub fn broadcast(&self) -> bool {
        self.body["reply_broadcast"] == true
    }

    /// Every text in the message's blocks, joined by newlines: what a reader sees.
    /// The Pulumi delivery id shown in the message footer ("delivery `<id>`").
    pub fn delivery_id(&self) -> Option<String> {
        let blocks = self.blocks_text();
        let start = blocks.rfind("delivery `")? + "delivery `".len();
        let len = blocks[start..].find('`')?;
        Some(blocks[start..start + len].to_owned())
    }

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
    rule: Option<FaultRule>,
    /// Load runs only count posts; tests keep them.
    count_only: bool,
    posted: usize,
    posts: Vec<Post>,
    /// Accepted `chat.update` calls, in order.
    edits: Vec<Post>,
    /// Each message as it reads now, by ts (posts and edits applied; deleted ones removed).
    current: HashMap<String, Post>,
    /// User groups by ID, with their members (`usergroups.users.list`).
    groups: HashMap<String, Vec<String>>,
    /// What `usergroups.users.list` answers instead, when set (`missing_scope`, say).
    groups_error: Option<&'static str>,
    /// Answers posted to `response_url`s, in order: (the URL's id, the JSON).
    responses: Vec<(String, Value)>,
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
        FakeSlack::start_with(false).await
    }

    /// A fake for load runs: validates every message as usual but keeps only a count.
    pub async fn start_counting() -> FakeSlack {
        FakeSlack::start_with(true).await
    }

    async fn start_with(count_only: bool) -> FakeSlack {
        let inner = Arc::new(Mutex::new(Inner {
            next_ts: 1,
            count_only,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/api/chat.postMessage", post(post_message))
            .route("/api/chat.update", post(update))
            .route("/api/usergroups.users.list", post(usergroup_users))
            .route("/hooks/{id}", post(response_url))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(serve(listener, app));
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

    /// From now on, asks `rule` for a fault for each request the script does not cover.
    pub fn faults(&self, rule: impl Fn(usize) -> Option<Reply> + Send + Sync + 'static) {
        self.inner.lock().unwrap().rule = Some(Arc::new(rule));
    }

    /// How many messages were posted per delivery id (from the footer); `"-"` for none.
    pub fn posts_by_delivery(&self) -> HashMap<String, usize> {
        let mut counts = HashMap::new();
        for post in self.inner.lock().unwrap().posts.iter() {
            let id = post.delivery_id().unwrap_or_else(|| "-".to_owned());
            *counts.entry(id).or_insert(0) += 1;
        }
        counts
    }

    /// How many messages were accepted, without copying them.
    pub fn post_count(&self) -> usize {
        self.inner.lock().unwrap().posted
    }

    /// Messages accepted so far.
    pub fn posts(&self) -> Vec<Post> {
        self.inner.lock().unwrap().posts.clone()
    }

    /// Accepted `chat.update` calls, in order (the new content, at the edited message's ts).
    pub fn edits(&self) -> Vec<Post> {
        self.inner.lock().unwrap().edits.clone()
    }

    /// The message at `ts` as a reader sees it now: the last edit applied.
    pub fn message(&self, ts: &str) -> Option<Post> {
        self.inner.lock().unwrap().current.get(ts).cloned()
    }

    /// Deletes the message at `ts`, as a person in the channel could.
    pub fn delete(&self, ts: &str) {
        self.inner.lock().unwrap().current.remove(ts);
    }

    /// Makes `group` a user group with `members`.
    pub fn set_group(&self, group: &str, members: &[&str]) {
        let members = members.iter().map(|m| (*m).to_owned()).collect();
        self.inner
            .lock()
            .unwrap()
            .groups
            .insert(group.to_owned(), members);
    }

    /// Deletes user group `group` (`no_such_subteam` from then on).
    pub fn remove_group(&self, group: &str) {
        self.inner.lock().unwrap().groups.remove(group);
    }

    /// From now on `usergroups.users.list` answers `ok:false` with `error`.
    pub fn refuse_groups(&self, error: &'static str) {
        self.inner.lock().unwrap().groups_error = Some(error);
    }

    /// A fresh `response_url`, as Slack hands one out with each command and click.
    pub fn response_url(&self) -> String {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("http://{}/hooks/T0001-B{n:05}-x7Yh2", self.addr)
    }

    /// Every answer posted to a `response_url` so far, in order.
    pub fn responses(&self) -> Vec<Value> {
        let inner = self.inner.lock().unwrap();
        inner.responses.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Waits (bounded: ten seconds) until `n` answers were posted to `response_url`s.
    pub async fn wait_for_responses(&self, n: usize) -> Vec<Value> {
        for _ in 0..1000 {
            if self.inner.lock().unwrap().responses.len() >= n {
                return self.responses();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "{n} response_url answers expected, got {:?}",
            self.responses()
        );
    }

    /// Waits (bounded: ten seconds) until `n` messages were posted.
    pub async fn wait_for_posts(&self, n: usize) -> Vec<Post> {
        for _ in 0..1000 {
            if self.inner.lock().unwrap().posts.len() >= n {
                return self.posts();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{n} posts expected, got {:?}", self.posts());
    }

    /// Every `chat.postMessage` and `chat.update` request received, accepted or not.
    pub fn attempts(&self) -> usize {
        self.inner.lock().unwrap().attempts
    }
}

/// Lets a request reset the connection it came on.
#[derive(Clone)]
struct Connection(Arc<tokio::sync::Notify>);

/// Accepts connections and serves each with hyper (HTTP/1.1 keep-alive) until it closes or one
/// of its requests asks for a reset.
async fn serve(listener: tokio::net::TcpListener, app: Router) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        // Linger 0: dropping the socket sends RST instead of FIN, which is what a reset is.
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        let reset = Arc::new(tokio::sync::Notify::new());
        let service = app.clone().layer(Extension(Connection(reset.clone())));
        let service = hyper_util::service::TowerToHyperService::new(service);
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = connection => {}
                _ = reset.notified() => {}
            }
        });
    }
}

fn slack_error(error: &str) -> Response {
    axum::Json(json!({ "ok": false, "error": error })).into_response()
}

async fn post_message(
    State(inner): State<Arc<Mutex<Inner>>>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    handle(Method::PostMessage, inner, connection, headers, body).await
}

async fn update(
    State(inner): State<Arc<Mutex<Inner>>>,
    Extension(connection): Extension<Connection>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    handle(Method::Update, inner, connection, headers, body).await
}

#[derive(Clone, Copy, PartialEq)]
enum Method {
    PostMessage,
    Update,
}

async fn handle(
    method: Method,
    inner: Arc<Mutex<Inner>>,
    connection: Connection,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let scripted = {
        let mut inner = inner.lock().unwrap();
        inner.attempts += 1;
        let n = inner.attempts;
        let rule = inner.rule.clone();
        inner
            .script
            .pop_front()
            .or_else(|| rule.and_then(|rule| rule(n)))
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
        Some(Reply::Reset) => {
            connection.0.notify_one();
            return std::future::pending().await;
        }
        Some(Reply::Stall) => return std::future::pending().await,
        None => {}
    }

    let Some((message, body_token)) = read_message(&headers, &body) else {
        return slack_error("invalid_json");
    };
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    match bearer.or(body_token) {
        None => return slack_error("not_authed"),
        Some(token) if token != TOKEN => return slack_error("invalid_auth"),
        Some(_) => {}
    }
    let channel = match (method, message["channel"].as_str()) {
        (_, None | Some("")) => return slack_error("channel_not_found"),
        (_, Some(CHANNEL_ID)) => CHANNEL_ID,
        (_, Some(ALERTS_CHANNEL_ID)) => ALERTS_CHANNEL_ID,
        // Only chat.postMessage resolves names; chat.update wants the ID.
        (Method::PostMessage, Some(CHANNEL)) => CHANNEL_ID,
        (Method::PostMessage, Some(ALERTS_CHANNEL)) => ALERTS_CHANNEL_ID,
        (_, Some(PRIVATE_CHANNEL)) => return slack_error("not_in_channel"),
        (_, Some(ARCHIVED_CHANNEL)) => return slack_error("is_archived"),
        (_, Some(_)) => return slack_error("channel_not_found"),
    };
    if let Err(error) = validate(&message) {
        return slack_error(error);
    }
    let mut inner = inner.lock().unwrap();
    let ts = match method {
        Method::PostMessage => {
            let ts = format!("1700000000.{:06}", inner.next_ts);
            inner.next_ts += 1;
            inner.posted += 1;
            ts
        }
        Method::Update => {
            let ts = message["ts"].as_str().unwrap_or("").to_owned();
            match inner.current.get(&ts) {
                Some(existing) if existing.channel == channel => ts,
                _ => return slack_error("message_not_found"),
            }
        }
    };
    let post = Post {
        channel: channel.to_owned(),
        ts: ts.clone(),
        body: message.clone(),
    };
    if !inner.count_only {
        match method {
            Method::PostMessage => inner.posts.push(post.clone()),
            Method::Update => inner.edits.push(post.clone()),
        }
        inner.current.insert(ts.clone(), post);
    }
    axum::Json(json!({
        "ok": true,
        "channel": channel,
        "ts": ts,
        "message": { "type": "message", "text": message["text"], "ts": ts },
    }))
    .into_response()
}

/// The message arguments and the body's `token` argument, from JSON or, as Slack also accepts,
/// `application/x-www-form-urlencoded` (where `blocks` is a JSON string).
fn read_message(headers: &HeaderMap, body: &[u8]) -> Option<(Value, Option<String>)> {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") {
        let message: Value = serde_json::from_slice(body).ok()?;
        let token = message["token"].as_str().map(str::to_owned);
        Some((message, token))
    } else if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut message = serde_json::Map::new();
        let mut token = None;
        for (key, value) in form_urlencoded::parse(body) {
            match &*key {
                "token" => token = Some(value.into_owned()),
                "blocks" => {
                    message.insert(key.into_owned(), serde_json::from_str(&value).ok()?);
                }
                _ => {
                    message.insert(key.into_owned(), Value::String(value.into_owned()));
                }
            }
        }
        Some((Value::Object(message), token))
    } else {
        None
    }
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
            // Block Kit's actions block: 1..=25 elements; a button's text is plain_text of
            // 1..=75, its action_id at most 255, its value at most 2 000 characters; a confirm
            // dialog's title at most 100, text 300, buttons 30.
            Some("actions") => {
                let elements = block["elements"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let plain = |v: &Value, max: usize| {
                    v["type"] == "plain_text" && (1..=max).contains(&len(v))
                };
                (1..=25).contains(&elements.len())
                    && elements.iter().all(|e| {
                        e["type"] == "button"
                            && plain(&e["text"], 75)
                            && e["action_id"].as_str().is_some_and(|a| a.len() <= 255)
                            && e["value"]
                                .as_str()
                                .is_none_or(|v| v.chars().count() <= 2000)
                            && e.get("confirm").is_none_or(|c| {
                                plain(&c["title"], 100)
                                    && plain(&c["text"], 300)
                                    && plain(&c["confirm"], 30)
                                    && plain(&c["deny"], 30)
                            })
                    })
            }
            _ => false,
        };
        if !ok {
            return Err("invalid_blocks");
        }
    }
    Ok(())
}

/// `usergroups.users.list`: the bot token, a `usergroup` form argument naming a group
/// (`no_such_subteam` otherwise), `{ok, users}`.
async fn usergroup_users(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match bearer {
        None => return slack_error("not_authed"),
        Some(token) if token != TOKEN => return slack_error("invalid_auth"),
        Some(_) => {}
    }
    let group = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "usergroup")
        .map(|(_, v)| v.into_owned());
    let inner = inner.lock().unwrap();
    if let Some(error) = inner.groups_error {
        return slack_error(error);
    }
    match group.and_then(|g| inner.groups.get(&g).cloned()) {
        Some(users) => axum::Json(json!({ "ok": true, "users": users })).into_response(),
        None => slack_error("no_such_subteam"),
    }
}

/// A `response_url`: JSON answers are taken (`200 ok`), anything else is `invalid_payload`.
async fn response_url(
    State(inner): State<Arc<Mutex<Inner>>>,
    axum::extract::Path(id): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let Ok(answer) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    if answer["text"].as_str().is_none_or(str::is_empty) && answer["blocks"].is_null() {
        return (StatusCode::BAD_REQUEST, "no_text").into_response();
    }
    inner.lock().unwrap().responses.push((id, answer));
    (StatusCode::OK, "ok").into_response()
}

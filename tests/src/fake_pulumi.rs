//! A stand-in for the Pulumi Cloud REST API on loopback: the reads the relay makes to say why a
//! run failed (`GetStackUpdate`, `GetStackPreview`, engine events, deployments, their updates and
//! step logs, drift runs), in the shapes of Pulumi Cloud's OpenAPI description.
//!
//! Like the service it checks `Authorization: token <token>` (401 otherwise) and answers errors
//! as pulumi/pulumi `sdk/go/common/apitype` `ErrorResponse` (`{"code", "message"}`). Engine
//! events are paged: each page's `continuationToken` names the next, and is null on the last
//! (`GetUpdateEventsResponse`). A step's log is paged by `offset` and `nextOffset`
//! (`DeploymentLogsStep`); the fake hands out at most [`LOG_PAGE`] lines a page, fewer than the
//! relay asks for, so the relay's paging is exercised.
//!
//! A scenario is a fixture file (`fixtures/pulumi-api/<name>.json`) mapping each path to its
//! answer: a document, `{"pages": [[event, …], …]}` for engine events, or `{"steplog": …}` for a
//! step's log. A key may name its method (`"POST /api/…/deployments"`), and an answer may be a
//! refusal (`{"__status": 409, "message": …}`), as Pulumi Cloud answers with an `ErrorResponse`.
//! `POST …/deployments` is checked as the service checks it: `operation` is required and one of
//! `CreateDeploymentRequest`'s (400 otherwise, OpenAPI `CreateAPIDeploymentHandlerV2`), and
//! answers 202 (Accepted) as that handler does. The `chatops` scenario's refusals are assumed
//! beyond their statuses: the OpenAPI gives 400 / 404 but not the messages, and no source says
//! what a stack without deployment settings is answered (the scenario assumes 400). Tests
//! can make the whole API slow, refuse with a status, or answer with non-JSON.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The access token the fake accepts.
pub const TOKEN: &str = "pul-fake-0000-access-token";
/// Lines per page of a step's log.
pub const LOG_PAGE: usize = 5;

/// How the whole API behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Every request waits (past any client's budget) and is never answered.
    Stall,
    /// Every request is answered with this status and an `ErrorResponse`.
    Status(u16),
    /// Every request is answered 200 with a body that is not JSON.
    NotJson,
    /// Every request is answered normally, after this long.
    Slow(std::time::Duration),
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub accept: Option<String>,
    pub body: Option<Value>,
}

struct Inner {
    answers: HashMap<String, Value>,
    mode: Mode,
    requests: Vec<Request>,
}

pub struct FakePulumi {
    /// What `PULUMI_API_URL` is set to.
    pub api_url: String,
    inner: Arc<Mutex<Inner>>,
    server: JoinHandle<()>,
}

impl Drop for FakePulumi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakePulumi {
    /// Serves the scenario `fixtures/pulumi-api/<scenario>.json`.
    pub async fn start(scenario: &str) -> FakePulumi {
        let path = crate::fixtures_dir().join(format!("pulumi-api/{scenario}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("scenario {}: {e}", path.display()));
        let answers: HashMap<String, Value> =
            serde_json::from_str(&text).expect("a scenario maps paths to answers");
        let inner = Arc::new(Mutex::new(Inner {
            answers,
            mode: Mode::Normal,
            requests: Vec::new(),
        }));
        let app = Router::new().fallback(answer).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        FakePulumi {
            api_url: format!("http://{addr}"),
            inner,
            server,
        }
    }

    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = mode;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }
}

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": status.as_u16(), "message": message})),
    )
        .into_response()
}

async fn answer(
    State(inner): State<Arc<Mutex<Inner>>>,
    OriginalUri(uri): OriginalUri,
    method: axum::http::Method,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request = Request {
        method: method.as_str().to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        authorization: header("authorization"),
        accept: header("accept"),
        body: serde_json::from_slice(&body).ok(),
    };
    let (mode, found) = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(request.clone());
        let keyed = format!("{} {}", request.method, request.path);
        let found = inner.answers.get(&keyed).or_else(|| {
            (request.method == "GET")
                .then(|| inner.answers.get(&request.path))
                .flatten()
        });
        (inner.mode, found.cloned())
    };
    match mode {
        Mode::Slow(wait) => tokio::time::sleep(wait).await,
        Mode::Stall => std::future::pending::<()>().await,
        Mode::Status(code) => {
            let status = StatusCode::from_u16(code).expect("a status");
            return error(status, status.canonical_reason().unwrap_or("error"));
        }
        Mode::NotJson => {
            return (StatusCode::OK, "<html>Service Unavailable</html>").into_response();
        }
        Mode::Normal => {}
    }
    if request.authorization.as_deref() != Some(&format!("token {TOKEN}")) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: No credentials provided or are invalid.",
        );
    }
    if request.method == "POST" && request.path.ends_with("/deployments") {
        const OPERATIONS: [&str; 6] = [
            "update",
            "preview",
            "destroy",
            "refresh",
            "detect-drift",
            "remediate-drift",
        ];
        let operation = request.body.as_ref().and_then(|b| b["operation"].as_str());
        if !operation.is_some_and(|op| OPERATIONS.contains(&op)) {
            return error(
                StatusCode::BAD_REQUEST,
                "Missing top level required field 'operation'",
            );
        }
    }
    let Some(found) = found else {
        return error(StatusCode::NOT_FOUND, "Not Found");
    };
    if let Some(status) = found.get("__status").and_then(Value::as_u64) {
        let status = StatusCode::from_u16(status as u16).expect("a status");
        return error(status, found["message"].as_str().unwrap_or("error"));
    }
    if request.method == "POST" {
        // CreateAPIDeploymentHandlerV2 answers 202 Accepted.
        return (StatusCode::ACCEPTED, axum::Json(found)).into_response();
    }
    let query: HashMap<String, String> = form_urlencoded::parse(request.query.as_bytes())
        .into_owned()
        .collect();
    if let Some(pages) = found.get("pages").and_then(Value::as_array) {
        let at = match query.get("continuationToken") {
            None => 0,
            Some(token) => match token.strip_prefix("page-").and_then(|n| n.parse().ok()) {
                Some(n) if n < pages.len() => n,
                _ => return error(StatusCode::BAD_REQUEST, "invalid continuation token"),
            },
        };
        let next = (at + 1 < pages.len()).then(|| format!("page-{}", at + 1));
        return axum::Json(json!({"events": pages[at], "continuationToken": next})).into_response();
    }
    if let Some(log) = found.get("steplog") {
        let number = |name: &str| query.get(name).and_then(|v| v.parse::<usize>().ok());
        let (Some(_job), Some(_step)) = (number("job"), number("step")) else {
            return error(StatusCode::BAD_REQUEST, "job and step are required here");
        };
        let count = number("count").unwrap_or(100);
        if !(1..=499).contains(&count) {
            return error(
                StatusCode::BAD_REQUEST,
                "Count must be less than 500 and more than 0",
            );
        }
        let lines = log["lines"].as_array().cloned().unwrap_or_default();
        let offset = number("offset").unwrap_or(0).min(lines.len());
        let end = (offset + count.min(LOG_PAGE)).min(lines.len());
        let mut page = json!({
            "__type": "DeploymentLogsStep",
            "name": log["name"],
            "lines": lines[offset..end],
        });
        if end < lines.len() {
            page["nextOffset"] = json!(end);
        }
        return axum::Json(page).into_response();
    }
    axum::Json(found).into_response()
}

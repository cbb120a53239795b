//! The HTTP surface: one axum [`Router`] built by a pure function, served unchanged by Lambda
//! (`lambda_http`) and by the local server (`axum::serve`). It only translates: a request into a
//! [`Received`] delivery (size and content type checked first), what [`pipeline::deliver`] made
//! of it into a response, and both into the delivery's one log line.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use relay_core::contract::http;
use serde_json::json;
use tracing::Instrument as _;

use crate::living::Outcome;
use crate::pipeline::{
    self, Delivered, HEADER_ID, HEADER_KIND, HEADER_SIGNATURE, KindHeader, Received, Refusal,
};
use crate::relay::Relay;

/// Pulumi's payloads are a few KiB; this leaves ample room and bounds memory per request.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub const BANNER: &str = concat!(
    "Pulumi webhook relay ",
    env!("CARGO_PKG_VERSION"),
    ": POST Pulumi Cloud webhooks here\n"
);

/// The relay's routes: `GET /` (health banner), `POST /` (webhooks), `GET /status` (the
/// queue), and ChatOps' `POST /slack/commands` and `POST /slack/interactions` (404 while it is
/// off); JSON 404/405 elsewhere.
pub fn router(relay: Arc<Relay>) -> Router {
    Router::new()
        .route(http::WEBHOOKS, get(banner).post(receive))
        .route(http::STATUS, get(status))
        .route(http::SLACK_COMMANDS, post(crate::chatops::commands))
        .route(http::SLACK_INTERACTIONS, post(crate::chatops::interactions))
        .fallback(|| async {
            Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Pulumi webhooks go to POST /",
            )
        })
        .method_not_allowed_fallback(|| async {
            Refusal::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use POST / for webhooks and GET / for the health banner",
            )
        })
        .with_state(relay)
}

async fn banner() -> &'static str {
    BANNER
}

/// The queue at a glance: counts and the last Slack error, no payloads and no secrets. Without
/// a queue every delivery was answered as it came, and there is nothing to show.
async fn status(State(relay): State<Arc<Relay>>) -> Response {
    let Some(queue) = relay.queue() else {
        return axum::Json(json!({ "ok": true, "queue": false })).into_response();
    };
    match queue.status().await {
        Ok(status) => {
            let mut body = serde_json::to_value(status).unwrap_or_default();
            body["ok"] = json!(true);
            body["queue"] = json!(true);
            axum::Json(body).into_response()
        }
        Err(error) => Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "queue_unavailable",
            error.to_string(),
        )
        .into_response(),
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut body = json!({ "ok": false, "error": self.code, "message": self.message });
        if let Some(id) = self.dead_letter {
            // Kept: `handler replay <id>` posts it once the cause is fixed.
            body["dead_letter"] = json!(true);
            body["id"] = json!(id);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        }
        response
    }
}

impl IntoResponse for Delivered {
    fn into_response(self) -> Response {
        /// `{ok: true, channel, ts}`, written straight from the typed answer (no `Value` tree),
        /// and what the state table made of the event: `"outcome": "updated" | "replied" |
        /// "duplicate" | "superseded"` (absent for a plain post), with the thread of a reply.
        #[derive(serde::Serialize)]
        struct InSlack<'a> {
            ok: bool,
            channel: &'a str,
            ts: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            outcome: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            thread_ts: Option<&'a str>,
        }
        match self {
            Delivered::Slack(outcome) => {
                let posted = outcome.posted();
                axum::Json(InSlack {
                    ok: true,
                    channel: &posted.channel,
                    ts: &posted.ts,
                    outcome: Some(outcome.as_str()).filter(|o| *o != "posted"),
                    thread_ts: match &outcome {
                        Outcome::Replied { thread_ts, .. } => Some(thread_ts),
                        _ => None,
                    },
                })
                .into_response()
            }
            Delivered::DryRun(answer) => axum::Json(answer).into_response(),
            Delivered::Muted { rule } => {
                axum::Json(json!({ "ok": true, "muted": rule })).into_response()
            }
            Delivered::Queued { id } => (
                StatusCode::ACCEPTED,
                axum::Json(json!({ "ok": true, "queued": true, "id": id })),
            )
                .into_response(),
        }
    }
}

async fn receive(State(relay): State<Arc<Relay>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    // The fields a delivery's log line always has, `-` until known (README "HTTP behaviour").
    let span = tracing::info_span!(
        "delivery",
        id = header_str(&headers, HEADER_ID).unwrap_or("-"),
        kind = header_str(&headers, HEADER_KIND).unwrap_or("-"),
        org = "-",
        project = "-",
        stack = "-",
        filter = "-",
        route = "-",
        enrichment = "-",
    );
    async move {
        let result = match read_body(&headers, body).await {
            Ok(body) => {
                let received = Received {
                    id: header_str(&headers, HEADER_ID),
                    kind: match headers.get(HEADER_KIND).map(HeaderValue::to_str) {
                        None => KindHeader::Missing,
                        Some(Err(_)) => KindHeader::Unreadable,
                        Some(Ok(kind)) => KindHeader::Given(kind),
                    },
                    signatures: headers
                        .get_all(HEADER_SIGNATURE)
                        .iter()
                        .map(HeaderValue::as_bytes)
                        .collect(),
                    body: &body,
                };
                pipeline::deliver(&relay, received).await
            }
            Err(refusal) => Err(refusal),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(delivered) => {
                let outcome = delivered.outcome();
                let response = delivered.into_response();
                let status = response.status().as_u16();
                // One line per delivery; the message says whether it reached Slack.
                match outcome {
                    "muted" => tracing::info!(outcome, status, latency_ms, "muted"),
                    "queued" => tracing::warn!(
                        outcome,
                        status,
                        latency_ms,
                        "queued: Slack did not take it in time; retrying in the background"
                    ),
                    _ => tracing::info!(outcome, status, latency_ms, "delivered"),
                }
                response
            }
            Err(refusal) => {
                let status = refusal.status.as_u16();
                let outcome = refusal.code.as_str();
                let reason = refusal.message.as_str();
                if refusal.status.is_server_error() {
                    tracing::error!(outcome, status, latency_ms, reason, "not delivered");
                } else {
                    tracing::warn!(outcome, status, latency_ms, reason, "refused");
                }
                refusal.into_response()
            }
        }
    }
    .instrument(span)
    .await
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads at most [`MAX_BODY_BYTES`], refusing early when Content-Length already says too much.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, Refusal> {
    let too_large = || {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the body is over {MAX_BODY_BYTES} bytes; Pulumi webhook payloads are far smaller"
            ),
        )
    };
    let declared = header_str(headers, CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    if let Some(content_type) = headers.get(CONTENT_TYPE) {
        let essence = content_type
            .to_str()
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the webhook body as Content-Type: application/json",
            ));
        }
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|error| {
            let over_limit = std::error::Error::source(&error)
                .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            if over_limit {
                too_large()
            } else {
                Refusal::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("the body could not be read: {error}"),
                )
            }
        })
}

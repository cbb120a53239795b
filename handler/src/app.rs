//! The HTTP surface: one axum [`Router`] built by a pure function, served unchanged by Lambda
//! (`lambda_http`) and by the local server (`axum::serve`).
//!
//! A delivery goes size check → content type → signature → kind → parse → route → format → Slack
//! (or, when a route mutes it, an answer without a post); with a state table, Slack is reached
//! through [`crate::living`] (exactly once, living messages). Every
//! refusal is JSON `{ok:false, error, message}` with a status that tells Pulumi Cloud whether a
//! redelivery can help (4xx: no, the request is wrong; 5xx: yes, we could not deliver right now).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use crate::config::{Config, Output};
use crate::living::{Failure, Living, Outcome};
use crate::slack::{ClientError, SlackClient, SlackError};
use crate::state::StateTable;
use relay_core::channel_rules::{ChannelRules, Decision};
use relay_core::event::{Event, Kind};
use relay_core::render;
use relay_core::slack::Message;
use relay_core::verify::WebhookSecret;

/// Pulumi's payloads are a few KiB; this leaves ample room and bounds memory per request.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub const HEADER_ID: &str = "pulumi-webhook-id";
pub const HEADER_KIND: &str = "pulumi-webhook-kind";
pub const HEADER_SIGNATURE: &str = "pulumi-webhook-signature";

pub const BANNER: &str = concat!(
    "Pulumi webhook relay ",
    env!("CARGO_PKG_VERSION"),
    ": POST Pulumi Cloud webhooks here\n"
);

/// Everything a request needs, built once per process (or Lambda container).
pub struct Relay {
    sink: Sink,
    secret: Option<WebhookSecret>,
    routes: ChannelRules,
}

enum Sink {
    /// `channel` is the default channel, for events no route sends elsewhere.
    Slack {
        client: SlackClient,
        channel: String,
    },
    /// Slack through the state table: exactly once, living messages.
    Living {
        living: Living,
        channel: String,
    },
    DryRun {
        channel: Option<String>,
    },
}

impl Relay {
    pub fn new(config: Config) -> Result<Relay, ClientError> {
        let sink = match config.output {
            Output::Slack {
                api_url,
                token,
                channel,
                retry,
            } => Sink::Slack {
                client: SlackClient::new(&api_url, token, retry)?,
                channel,
            },
            Output::DryRun { channel } => Sink::DryRun { channel },
        };
        Ok(Relay {
            sink,
            secret: config.webhook_secret,
            routes: config.routes,
        })
    }

    /// Keeps delivery state in `table`: each delivery id is posted once, a deployment's statuses
    /// edit one message, and an update within `thread_window` of its preview replies under it.
    /// A dry run stays a dry run.
    pub fn with_state(mut self, table: StateTable, thread_window: std::time::Duration) -> Relay {
        self.sink = match self.sink {
            Sink::Slack { client, channel } => Sink::Living {
                living: Living {
                    slack: client,
                    state: table,
                    thread_window,
                    lease: relay_core::contract::CLAIM_LEASE,
                },
                channel,
            },
            other => other,
        };
        self
    }

    pub fn checks_signatures(&self) -> bool {
        self.secret.is_some()
    }
}

/// The relay's routes: `GET /` (health banner) and `POST /` (webhooks); JSON 404/405 elsewhere.
pub fn router(relay: Arc<Relay>) -> Router {
    Router::new()
        .route("/", get(banner).post(receive))
        .fallback(|| async {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "Pulumi webhooks go to POST /",
            )
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
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

/// A refusal, rendered as `{ok:false, error, message}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            retry_after_secs: None,
        }
    }

    fn from_failure(failure: Failure) -> ApiError {
        let message = failure.to_string();
        let retry_later = |code, retry_after: std::time::Duration| ApiError {
            retry_after_secs: Some(retry_after.as_secs().max(1)),
            ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, code, message.clone())
        };
        match failure {
            Failure::Slack(error) => ApiError::from_slack(error),
            Failure::State(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "state_unavailable",
                message.clone(),
            ),
            Failure::InFlight { retry_after } => retry_later("delivery_in_progress", retry_after),
            Failure::Busy { retry_after } => retry_later("message_in_progress", retry_after),
        }
    }

    fn from_slack(error: SlackError) -> ApiError {
        let message = error.to_string();
        match error {
            SlackError::RateLimited { retry_after, .. } => ApiError {
                retry_after_secs: retry_after.map(|d| d.as_secs().max(1)),
                ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ratelimited", message)
            },
            SlackError::Unavailable { .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "slack_unavailable",
                message,
            ),
            SlackError::Rejected { error } => {
                ApiError::new(StatusCode::BAD_GATEWAY, &error, message)
            }
            SlackError::BadResponse { .. } => {
                ApiError::new(StatusCode::BAD_GATEWAY, "slack_bad_response", message)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "ok": false, "error": self.code, "message": self.message });
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// What a delivery is, as far as it could be read, for the log line.
#[derive(Default)]
struct Trace {
    id: Option<String>,
    kind: Option<String>,
    organization: Option<String>,
    project: Option<String>,
    stack: Option<String>,
    /// Pulumi's filter name for the event (`update_failed` …), if it has one.
    filter: Option<&'static str>,
    /// The routing rule that matched, if any.
    route: Option<String>,
}

async fn receive(State(relay): State<Arc<Relay>>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let mut trace = Trace {
        id: header_str(&headers, HEADER_ID).map(str::to_owned),
        kind: header_str(&headers, HEADER_KIND).map(str::to_owned),
        ..Trace::default()
    };
    let result = deliver(&relay, &headers, body, &mut trace).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    fn dash(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("-")
    }
    let (id, kind) = (dash(&trace.id), dash(&trace.kind));
    let (org, project, stack) = (
        dash(&trace.organization),
        dash(&trace.project),
        dash(&trace.stack),
    );
    let (filter, route) = (trace.filter.unwrap_or("-"), dash(&trace.route));
    match result {
        Ok(delivered) => {
            // One line per delivery; the message says whether it reached Slack.
            let message = match delivered {
                Delivered::Muted { .. } => "muted",
                _ => "delivered",
            };
            tracing::info!(
                id,
                kind,
                org,
                project,
                stack,
                filter,
                route,
                outcome = delivered.outcome(),
                status = 200,
                latency_ms,
                "{message}"
            );
            delivered.into_response()
        }
        Err(error) => {
            let status = error.status.as_u16();
            let outcome = error.code.as_str();
            if error.status.is_server_error() {
                tracing::error!(id, kind, org, project, stack, filter, route, outcome, status, latency_ms, reason = %error.message, "not delivered");
            } else {
                tracing::warn!(id, kind, org, project, stack, filter, route, outcome, status, latency_ms, reason = %error.message, "refused");
            }
            error.into_response()
        }
    }
}

enum Delivered {
    /// In Slack: posted (always, without a state table), or through the state table also
    /// replied, updated, or found already delivered.
    Slack(Outcome),
    DryRun {
        channel: Option<String>,
        /// The routing rule that chose the channel, if any.
        route: Option<String>,
        message: Message,
    },
    /// Dropped on purpose by the named routing rule.
    Muted { rule: String },
}

impl Delivered {
    fn outcome(&self) -> &'static str {
        match self {
            Delivered::Slack(outcome) => outcome.as_str(),
            Delivered::DryRun { .. } => "dry_run",
            Delivered::Muted { .. } => "muted",
        }
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
            Delivered::DryRun {
                channel,
                route,
                message,
            } => {
                let mut body =
                    json!({ "ok": true, "dry_run": true, "channel": channel, "message": message });
                if let Some(route) = route {
                    body["route"] = json!(route);
                }
                axum::Json(body).into_response()
            }
            Delivered::Muted { rule } => {
                axum::Json(json!({ "ok": true, "muted": rule })).into_response()
            }
        }
    }
}

async fn deliver(
    relay: &Relay,
    headers: &HeaderMap,
    body: Body,
    trace: &mut Trace,
) -> Result<Delivered, ApiError> {
    let body = read_body(headers, body).await?;
    if let Some(secret) = &relay.secret {
        let signatures = headers
            .get_all(HEADER_SIGNATURE)
            .iter()
            .map(HeaderValue::as_bytes);
        secret
            .verify(signatures, &body)
            .map_err(|e| ApiError::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string()))?;
    }
    let kind = match headers.get(HEADER_KIND).map(HeaderValue::to_str) {
        Some(Ok(kind)) if !kind.trim().is_empty() => Kind::parse(kind.trim()),
        Some(_) => return Err(bad_header(HEADER_KIND, "is empty or not ASCII")),
        None => return Err(bad_header(HEADER_KIND, "is missing (e.g. stack_update)")),
    };
    let event = Event::parse(kind, &body)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
    let origin = event.origin();
    trace.organization = origin.organization.map(str::to_owned);
    trace.project = origin.project.map(str::to_owned);
    trace.stack = origin.stack.map(str::to_owned);

    let route = relay.routes.decide(&event);
    if !relay.routes.is_empty() {
        trace.filter = event.filters().primary().map(|f| f.as_str());
        trace.route = route.rule().map(str::to_owned);
    }
    let (routed_channel, mention) = match route {
        Decision::Default => (None, None),
        Decision::Mute { rule } => {
            return Ok(Delivered::Muted {
                rule: rule.to_owned(),
            });
        }
        Decision::Post {
            channel, mention, ..
        } => (channel, mention),
    };

    let mut message = render::message(&event, trace.id.as_deref());
    if let Some(mention) = mention {
        message.mention(mention);
    }
    let name_route = |mut error: ApiError| {
        // Slack's hints name SLACK_CHANNEL; say where a routed channel came from.
        if let (Some(channel), Some(rule)) = (routed_channel, route.rule()) {
            error.message.push_str(&format!(
                " — channel {channel} was chosen by the routes rule {rule:?}"
            ));
        }
        error
    };
    match &relay.sink {
        Sink::Living { living, channel } => {
            let channel = routed_channel.unwrap_or(channel.as_str());
            living
                .deliver(
                    &event,
                    trace.id.as_deref(),
                    channel,
                    &message,
                    mention.is_some(),
                )
                .await
                .map(Delivered::Slack)
                .map_err(|failure| name_route(ApiError::from_failure(failure)))
        }
        Sink::Slack { client, channel } => {
            let channel = routed_channel.unwrap_or(channel.as_str());
            client
                .post_message(channel, &message)
                .await
                .map(|posted| Delivered::Slack(Outcome::Posted(posted)))
                .map_err(|error| name_route(ApiError::from_slack(error)))
        }
        Sink::DryRun { channel } => {
            let channel = routed_channel
                .map(str::to_owned)
                .or_else(|| channel.clone());
            let route = route.rule().map(str::to_owned);
            let mut printed = json!({ "channel": channel, "message": &message });
            if let Some(route) = &route {
                printed["route"] = json!(route);
            }
            println!(
                "{}",
                serde_json::to_string_pretty(&printed).unwrap_or_default()
            );
            Ok(Delivered::DryRun {
                channel,
                route,
                message,
            })
        }
    }
}

fn bad_header(name: &str, what: &str) -> ApiError {
    let code = "invalid_header";
    ApiError::new(
        StatusCode::BAD_REQUEST,
        code,
        format!("the {name} header {what}"),
    )
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads at most [`MAX_BODY_BYTES`], refusing early when Content-Length already says too much.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
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
            return Err(ApiError::new(
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
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    format!("the body could not be read: {error}"),
                )
            }
        })
}

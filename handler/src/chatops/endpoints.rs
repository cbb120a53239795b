//! `POST /slack/commands` and `POST /slack/interactions`: a request is read (form-encoded,
//! bounded), verified (Slack's signature, its five-minute window, never twice), authorized
//! (default deny) and answered within Slack's three seconds. Each request logs one JSON line:
//! who asked, what, on which stack, allowed or refused, and what came of it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use relay_core::chatops::answer::Answer;
use relay_core::chatops::slack_in::{Click, Interaction, SlashCommand};
use relay_core::chatops::{Command, Operation};
use relay_core::slack_signing::Verified;
use relay_core::stack::StackRef;

use super::run::{self, Job, perform, report, respond};
use super::{ACK_BUDGET, BACKGROUND_BUDGET, CLICK_HELD, ChatOps, Continuation, GROUP_LOOKUP};
use crate::app::MAX_BODY_BYTES;
use crate::pipeline::Refusal;
use crate::relay::Relay;

const SIGNATURE: &str = "x-slack-signature";
const TIMESTAMP: &str = "x-slack-request-timestamp";

/// The request's log line, filled in as it is handled.
struct Record {
    endpoint: &'static str,
    started: Instant,
    user: String,
    operation: String,
    stack: String,
    decision: &'static str,
    rule: String,
    outcome: String,
}

impl Record {
    fn new(endpoint: &'static str) -> Record {
        Record {
            endpoint,
            started: Instant::now(),
            user: "-".into(),
            operation: "-".into(),
            stack: "-".into(),
            decision: "-",
            rule: "-".into(),
            outcome: "-".into(),
        }
    }

    /// Slack's three seconds, less the network's share ([`ACK_BUDGET`]), from the request.
    fn left(&self) -> Duration {
        ACK_BUDGET.saturating_sub(self.started.elapsed())
    }

    fn asked(&mut self, user: &str, operation: Operation, stack: &StackRef) {
        self.user = user.to_owned();
        self.operation = operation.as_str().to_owned();
        self.stack = stack.to_string();
    }

    fn log(&self, status: u16) {
        let latency_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let refused = self.decision == "refused";
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    endpoint = self.endpoint,
                    user = self.user,
                    operation = self.operation,
                    stack = self.stack,
                    decision = self.decision,
                    rule = self.rule,
                    outcome = self.outcome,
                    status,
                    latency_ms,
                    "chatops"
                )
            };
        }
        if refused || status >= 400 {
            line!(warn);
        } else {
            line!(info);
        }
    }
}

fn answer(answer: &Answer) -> Response {
    axum::Json(answer).into_response()
}

/// Slack only needs the 200 for a click; what it shows comes through `response_url`.
fn acknowledged() -> Response {
    StatusCode::OK.into_response()
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The checks before anything is read: ChatOps on, a form body, a valid and fresh signature
/// seen for the first time.
async fn verified<'r>(
    relay: &'r Relay,
    headers: &HeaderMap,
    body: Body,
) -> Result<(&'r ChatOps, Bytes, Verified), Refusal> {
    let Some(chatops) = relay.chatops.as_ref() else {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            "chatops_off",
            "ChatOps is off: it needs the Slack app's signing secret (SLACK_SIGNING_SECRET or \
             SLACK_SIGNING_SECRET_PARAMETER) and a Pulumi access token",
        ));
    };
    let essence = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim)
        .unwrap_or("");
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Slack sends commands and interactions as application/x-www-form-urlencoded",
        ));
    }
    let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| {
            Refusal::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the body could not be read within {MAX_BODY_BYTES} bytes"),
            )
        })?;
    let now = now();
    let verified = chatops
        .secret
        .verify(
            headers.get(TIMESTAMP).map(|v| v.as_bytes()),
            headers.get(SIGNATURE).map(|v| v.as_bytes()),
            &body,
            now,
        )
        .map_err(|e| Refusal::new(StatusCode::UNAUTHORIZED, e.code(), e.to_string()))?;
    match chatops.replay.first_time(&verified, now).await {
        Ok(true) => Ok((chatops, body, verified)),
        Ok(false) => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "replayed_request",
            "this signed request was already taken: Slack signs every request anew",
        )),
        Err(error) => Err(Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "state_unavailable",
            error.to_string(),
        )),
    }
}

/// `POST /slack/commands`.
pub async fn commands(State(relay): State<Arc<Relay>>, headers: HeaderMap, body: Body) -> Response {
    handle(Endpoint::Commands, &relay, &headers, body).await
}

/// `POST /slack/interactions`.
pub async fn interactions(
    State(relay): State<Arc<Relay>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    handle(Endpoint::Interactions, &relay, &headers, body).await
}

#[derive(Clone, Copy)]
enum Endpoint {
    Commands,
    Interactions,
}

/// Either endpoint's request, and its one log line.
async fn handle(
    endpoint: Endpoint,
    relay: &Arc<Relay>,
    headers: &HeaderMap,
    body: Body,
) -> Response {
    let (mut record, result) = match endpoint {
        Endpoint::Commands => {
            let mut record = Record::new("commands");
            let result = command(relay, headers, body, &mut record).await;
            (record, result)
        }
        Endpoint::Interactions => {
            let mut record = Record::new("interactions");
            let result = interaction(relay, headers, body, &mut record).await;
            (record, result)
        }
    };
    let response = match result {
        Ok(response) => response,
        Err(refusal) => {
            record.outcome = refusal.code.clone();
            refusal.into_response()
        }
    };
    record.log(response.status().as_u16());
    response
}

async fn command(
    relay: &Arc<Relay>,
    headers: &HeaderMap,
    body: Body,
    record: &mut Record,
) -> Result<Response, Refusal> {
    let (chatops, body, _) = verified(relay, headers, body).await?;
    let command = SlashCommand::parse(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid_form", e.to_string()))?;
    record.user = command.user_id.clone();
    let (operation, stack) = match Command::parse(&command.text, chatops.organization.as_deref()) {
        Ok(Command::Help) => {
            record.outcome = "help".into();
            return Ok(answer(&Answer::help(chatops.organization.as_deref())));
        }
        Err(error) => {
            record.outcome = "invalid_command".into();
            return Ok(answer(&Answer::problem(&error.to_string())));
        }
        Ok(Command::Run { operation, stack }) => (operation, stack),
    };
    record.asked(&command.user_id, operation, &stack);
    let is_allowed =
        match allowed(relay, chatops, &command.user_id, operation, &stack, record).await {
            Ok(allowed) => allowed,
            Err(refusal) => return Ok(answer(&Answer::problem(&refusal.message))),
        };
    if !is_allowed {
        return Ok(answer(&record_refusal(
            record,
            &command.user_id,
            operation,
            &stack,
        )));
    }
    if operation.needs_confirmation() {
        record.outcome = "confirmation_asked".into();
        return Ok(answer(&Answer::confirm(operation, &stack)));
    }
    let job = Job {
        user: command.user_id,
        operation,
        stack,
        response_url: Some(command.response_url),
        thread: None,
    };
    Ok(answer(&start(relay, chatops, job, record).await))
}

/// Runs `job`, answering within the acknowledgement: with its outcome when Pulumi Cloud is
/// quick (or, on Lambda, must be), else with "working on it" while it goes on and reports
/// through `response_url`.
async fn start(relay: &Arc<Relay>, chatops: &ChatOps, job: Job, record: &mut Record) -> Answer {
    match chatops.continuation {
        Continuation::WithinAck => {
            // The answer is this response's body: little is needed after Pulumi Cloud's.
            let Some(within) = budget(record.left(), COMMAND_MARGIN) else {
                record.outcome = "failed: out of time".into();
                return Answer::problem(OUT_OF_TIME);
            };
            let done = perform(relay, &job, within).await;
            record.outcome = done.outcome;
            done.answer
        }
        Continuation::Background => {
            let left = record.left();
            let relay = Arc::clone(relay);
            let working = Answer::working(job.operation, &job.stack);
            // Not aborted when the timer wins: it then reports through response_url.
            let mut task = tokio::spawn(async move {
                let done = perform(&relay, &job, BACKGROUND_BUDGET).await;
                (relay, job, done)
            });
            match tokio::time::timeout(left, &mut task).await {
                Ok(Ok((_, _, done))) => {
                    record.outcome = done.outcome;
                    done.answer
                }
                Ok(Err(panic)) => {
                    record.outcome = format!("failed: {panic}");
                    Answer::problem("the relay failed while asking Pulumi Cloud; try again")
                }
                Err(_) => {
                    record.outcome = "acknowledged".into();
                    tokio::spawn(async move {
                        if let Ok((relay, job, done)) = task.await {
                            finish_late(&relay, &job, &done).await;
                        }
                    });
                    working
                }
            }
        }
    }
}

/// What is left for Pulumi Cloud once `margin` is kept for answering Slack; `None` when that
/// is too little to ask at all (nothing is started then).
fn budget(left: Duration, margin: Duration) -> Option<Duration> {
    Some(left.saturating_sub(margin)).filter(|within| *within >= MIN_PULUMI)
}

/// Kept for the answer after Pulumi Cloud's, on Lambda: a command's is its response body; a
/// click's is a Slack call (`response_url` or a thread reply).
const COMMAND_MARGIN: Duration = Duration::from_millis(150);
const CLICK_MARGIN: Duration = Duration::from_millis(700);
/// Less than this for Pulumi Cloud is not worth a request that could start a run unseen.
const MIN_PULUMI: Duration = Duration::from_millis(300);
const OUT_OF_TIME: &str = "Slack's three seconds ran out before Pulumi Cloud could be asked \
    (Slack was slow to say who is in which user group); nothing was started. Try again.";

/// A job that outlasted its acknowledgement: its outcome goes to `response_url`, and to a log
/// line of its own.
async fn finish_late(relay: &Relay, job: &Job, done: &run::Done) {
    report(relay, job, &done.answer, Duration::from_secs(5)).await;
    tracing::info!(
        user = job.user,
        operation = job.operation.as_str(),
        stack = %job.stack,
        outcome = done.outcome,
        "chatops run reported after its acknowledgement"
    );
}

async fn allowed(
    relay: &Relay,
    chatops: &ChatOps,
    user: &str,
    operation: Operation,
    stack: &StackRef,
    record: &mut Record,
) -> Result<bool, Refusal> {
    let within = GROUP_LOOKUP.min(record.left());
    match chatops
        .authorize(relay.slack_client(), user, operation, stack, within)
        .await
    {
        Ok(Some(rule)) => {
            record.decision = "allowed";
            record.rule = rule;
            Ok(true)
        }
        Ok(None) => Ok(false),
        Err(error) => {
            record.decision = "refused";
            record.outcome = format!("group lookup failed: {}", error.code());
            let why = match error.code() {
                "missing_scope" | "not_allowed_token_type" => {
                    "the relay's Slack app needs the usergroups:read scope (reinstall it from the \
                     manifest)"
                }
                _ => "Slack did not answer in time; try again",
            };
            Err(Refusal::new(
                StatusCode::OK,
                "group_lookup_failed",
                format!(
                    "Slack could not say which user groups you are in ({}): {why}. Nothing was \
                     run.",
                    error.code()
                ),
            ))
        }
    }
}

fn record_refusal(
    record: &mut Record,
    user: &str,
    operation: Operation,
    stack: &StackRef,
) -> Answer {
    record.decision = "refused";
    record.outcome = "refused".into();
    Answer::refused(user, operation, stack)
}

async fn interaction(
    relay: &Arc<Relay>,
    headers: &HeaderMap,
    body: Body,
    record: &mut Record,
) -> Result<Response, Refusal> {
    let (chatops, body, _) = verified(relay, headers, body).await?;
    let interaction = Interaction::parse(&body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, "invalid_form", e.to_string()))?;
    record.user = interaction.user.id.clone();
    if interaction.kind != "block_actions" {
        record.outcome = format!(
            "ignored: {}",
            interaction.kind.chars().take(40).collect::<String>()
        );
        return Ok(acknowledged());
    }
    // Answers before the acknowledgement share its time; on the local server, up to 1.5 s.
    let quick = |record: &Record| Duration::from_millis(1500).min(record.left());
    let (job, confirmed) = match checked_click(relay, chatops, &interaction, record).await {
        Ok(Some(click)) => click,
        Ok(None) => return Ok(acknowledged()),
        Err(answer) => {
            let response_url = interaction.response_url.as_deref();
            respond(relay, response_url, &answer, quick(record)).await;
            return Ok(acknowledged());
        }
    };
    let operation = job.operation;
    let quick = quick(record);
    // The prompt is replaced at once, so that its Confirm cannot be pressed again.
    let prompt = confirmed.then(|| Answer::prompt_answered(operation, &job.stack, true));
    match chatops.continuation {
        Continuation::WithinAck => {
            let Some(within) = budget(record.left(), CLICK_MARGIN) else {
                record.outcome = "failed: out of time".into();
                let answer = Answer::problem(OUT_OF_TIME);
                respond(
                    relay,
                    job.response_url.as_deref(),
                    &answer,
                    quick.min(record.left()),
                )
                .await;
                return Ok(acknowledged());
            };
            let replace_prompt = async {
                if let Some(prompt) = &prompt {
                    respond(relay, job.response_url.as_deref(), prompt, within).await;
                }
            };
            let (_, done) = tokio::join!(replace_prompt, perform(relay, &job, within));
            record.outcome = done.outcome.clone();
            let left = record.left().max(MIN_PULUMI);
            report(relay, &job, &done.answer, left).await;
        }
        Continuation::Background => {
            record.outcome = "acknowledged".into();
            let relay = Arc::clone(relay);
            tokio::spawn(async move {
                if let Some(prompt) = &prompt {
                    respond(&relay, job.response_url.as_deref(), prompt, quick).await;
                }
                let done = perform(&relay, &job, BACKGROUND_BUDGET).await;
                finish_late(&relay, &job, &done).await;
            });
        }
    }
    Ok(acknowledged())
}

/// What a click asks to run, checked: its value read, the clicker authorized, the button not
/// pressed in the last minute. `Ok(None)`: not the relay's button, nothing to answer; `Err`:
/// the answer that ends it there.
async fn checked_click(
    relay: &Relay,
    chatops: &ChatOps,
    interaction: &Interaction,
    record: &mut Record,
) -> Result<Option<(Job, bool)>, Answer> {
    let problem = |what: String| Answer::problem(&what);
    let (value, confirmed) = match interaction.click() {
        Ok(Click::Foreign(action)) => {
            record.outcome = format!("ignored: {action}");
            return Ok(None);
        }
        Ok(Click::Run { value, confirmed }) => (value, confirmed),
        Ok(Click::Cancel(value)) => {
            record.outcome = "cancelled".into();
            let stack = StackRef::parse(&value.stack, None).map_err(|e| problem(e.to_string()))?;
            record.asked(&interaction.user.id, value.op, &stack);
            return Err(Answer::prompt_answered(value.op, &stack, false));
        }
        Err(error) => {
            record.outcome = "invalid_action".into();
            return Err(problem(error.to_string()));
        }
    };
    let operation = value.op;
    let stack = StackRef::parse(&value.stack, None).map_err(|error| {
        record.outcome = "invalid_action".into();
        problem(error.to_string())
    })?;
    record.asked(&interaction.user.id, operation, &stack);
    let user = interaction.user.id.clone();
    let is_allowed = allowed(relay, chatops, &user, operation, &stack, record)
        .await
        .map_err(|refusal| problem(refusal.message))?;
    if !is_allowed {
        return Err(record_refusal(record, &user, operation, &stack));
    }
    // One run per button a minute: a double click on Confirm, or two people pressing the same
    // Re-run, start one run.
    if let Some(pressed) = interaction.pressed() {
        let key = format!("click#{pressed}:{operation}:{stack}");
        match chatops.replay.once(&key, CLICK_HELD, now()).await {
            Ok(true) => {}
            Ok(false) => {
                record.outcome = "already_pressed".into();
                return Err(problem(format!(
                    "this button was pressed less than a minute ago: `{operation}` on `{stack}` \
                     is already starting (its messages follow). Nothing more was started."
                )));
            }
            Err(error) => {
                record.outcome = "state_unavailable".into();
                return Err(problem(format!("{error}; nothing was started. Try again.")));
            }
        }
    }
    let job = Job {
        user,
        operation,
        stack,
        response_url: interaction.response_url.clone(),
        thread: interaction
            .thread()
            .map(|(channel, ts)| (channel.to_owned(), ts.to_owned())),
    };
    Ok(Some((job, confirmed)))
}

//! Running what was asked, and telling Slack: the Pulumi Cloud call (`status` reads the latest
//! update, the rest start a Deployments run), then the answer, through the slash command's own
//! response, its `response_url`, or a thread reply under the notification a button was on.

use std::time::Duration;

use relay_core::chatops::Operation;
use relay_core::chatops::answer::Answer;
use relay_core::chatops::pulumi::failure;
use relay_core::slack::Message;
use relay_core::stack::StackRef;

use crate::pulumi_api::{ApiError, OperationError};
use crate::relay::Relay;
use crate::slack::{Posted, Thread};
use crate::state::Start;
use relay_core::contract::state_table::{DEPLOYMENT_TTL, start_key};

/// What to run, for whom, and where the answer goes.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub user: String,
    pub operation: Operation,
    pub stack: StackRef,
    pub response_url: Option<String>,
    /// The notification a button was on (channel, ts): a started run is announced under it.
    pub thread: Option<(String, String)>,
}

/// What became of a job, for the log line.
pub(super) struct Done {
    pub answer: Answer,
    pub outcome: String,
}

/// Calls Pulumi Cloud for `job` within `within`.
pub(super) async fn perform(relay: &Relay, job: &Job, within: Duration) -> Done {
    let Some(api) = relay.pulumi.as_ref() else {
        // ChatOps is only configured with a token; kept total rather than panicking.
        return Done {
            answer: Answer::problem("this relay has no Pulumi access token"),
            outcome: "failed: no Pulumi access token".into(),
        };
    };
    let console = relay.chatops.as_ref().and_then(|c| c.console.as_deref());
    let result = match job.operation.deployment() {
        None => api
            .latest_update(&job.stack, within)
            .await
            .map(|latest| Answer::status(&job.stack, &latest, console)),
        Some(operation) => match api.start_deployment(&job.stack, operation, within).await {
            Ok(started) => {
                remember(relay, job, started.version).await;
                Ok(Answer::started(
                    &job.user,
                    job.operation,
                    &job.stack,
                    &started,
                ))
            }
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(answer) => Done {
            answer,
            outcome: if job.operation == Operation::Status {
                "status".into()
            } else {
                "started".into()
            },
        },
        Err(OperationError::Refused { status, message }) => Done {
            answer: Answer::problem(&failure(
                status,
                message.as_deref(),
                job.operation,
                &job.stack,
            )),
            outcome: format!("failed: Pulumi Cloud answered {status}"),
        },
        Err(OperationError::Failed(error)) => {
            let what = match &error {
                ApiError::Timeout(_) if job.operation.deployment().is_some() => format!(
                    "Pulumi Cloud did not answer within {} ms. The run may have started \
                     anyway: its messages will show here if it did; check `{}` in Pulumi Cloud \
                     before trying again.",
                    within.as_millis(),
                    job.stack
                ),
                other => format!("{other}; nothing was started. Try again shortly."),
            };
            Done {
                answer: Answer::problem(&what),
                outcome: format!("failed: {error}"),
            }
        }
    }
}

/// Records who started deployment `version`, and from which notification, so that its living
/// message says so and replies under it ([`crate::living`]). Without delivery state there is
/// nowhere to keep it: the run's messages then only show in the channel.
async fn remember(relay: &Relay, job: &Job, version: u64) {
    let (Some(state), Some(key)) = (
        relay.state_store(),
        start_key(
            &job.stack.organization,
            &job.stack.project,
            &job.stack.stack,
            version,
        ),
    ) else {
        return;
    };
    let start = Start {
        user: job.user.clone(),
        thread: job.thread.as_ref().map(|(channel, ts)| Posted {
            channel: channel.clone(),
            ts: ts.clone(),
        }),
    };
    // Bounded: on Lambda the answer to Slack waits for it.
    let remembered = tokio::time::timeout(
        Duration::from_millis(300),
        state.remember_start(&key, &start, DEPLOYMENT_TTL),
    )
    .await;
    match remembered {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(%error, "the run's messages will not say who started it"),
        Err(_) => tracing::warn!("the run's messages will not say who started it (state too slow)"),
    }
}

/// Delivers `answer` for `job` after the acknowledgement: a started run under the notification
/// its button was on, else to the `response_url`.
pub(super) async fn report(relay: &Relay, job: &Job, answer: &Answer, within: Duration) {
    let slack = relay.slack_client();
    if let (
        Some((channel, ts)),
        Some(slack),
        Answer {
            replace_original: false,
            ..
        },
    ) = (&job.thread, slack, answer)
        && answer.response_type == relay_core::chatops::answer::ResponseType::InChannel
    {
        let message = Message::new(answer.text.clone(), answer.blocks.clone());
        let thread = Thread {
            ts,
            broadcast: false,
        };
        match tokio::time::timeout(within, slack.post(channel, &message, Some(thread))).await {
            Ok(Ok(_)) => return,
            Ok(Err(error)) => {
                tracing::warn!(%error, "the run's announcement goes to response_url instead")
            }
            Err(_) => tracing::warn!("the run's announcement goes to response_url instead"),
        }
    }
    respond(relay, job.response_url.as_deref(), answer, within).await;
}

/// Posts `answer` to `response_url`, logging (never panicking) when Slack does not take it.
pub(super) async fn respond(
    relay: &Relay,
    response_url: Option<&str>,
    answer: &Answer,
    within: Duration,
) {
    let (Some(url), Some(slack)) = (response_url, relay.slack_client()) else {
        tracing::error!(
            "an answer for Slack has nowhere to go (no response_url or no Slack client)"
        );
        return;
    };
    let body = serde_json::to_vec(answer).expect("an answer always serializes");
    if let Err(error) = slack.respond(url, body, within).await {
        tracing::error!(%error, "Slack did not take the answer");
    }
}

//! How an event reaches Slack when the relay keeps delivery state ([`crate::state`]): each Pulumi delivery
//! is posted exactly once, a deployment keeps one message edited in place as it goes queued →
//! running → succeeded/failed, and a stack's update replies in the thread of the preview before it.
//!
//! Without a state table the relay posts one new message per event; [`Slack`] is the one way both
//! kinds of relay reach Slack.

use std::time::Duration;

use crate::slack::{Posted, SlackClient, SlackError, Thread};
use relay_core::contract::state_table::{self as keys, DEPLOYMENT_TTL};
use relay_core::event::{Event, Phase};
use relay_core::slack::Message;

use relay_core::retry::Verdict;

use crate::state::{Anchor, Claim, Reservation, Start, State, StateError};
use relay_core::chatops::answer::started_from_slack;

/// What happened to the event in Slack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new message.
    Posted(Posted),
    /// A reply under the message `thread_ts` (an update under its stack's preview).
    Replied { posted: Posted, thread_ts: String },
    /// The deployment's existing message now shows this event.
    Updated(Posted),
    /// A redelivery of a delivery already posted: nothing was sent again.
    Duplicate(Posted),
    /// An older status of a deployment whose message already shows a later one: left as it is.
    Superseded(Posted),
}

impl Outcome {
    pub fn posted(&self) -> &Posted {
        match self {
            Outcome::Posted(posted)
            | Outcome::Replied { posted, .. }
            | Outcome::Updated(posted)
            | Outcome::Duplicate(posted)
            | Outcome::Superseded(posted) => posted,
        }
    }

    /// The word for logs and for the JSON answer.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Posted(_) => "posted",
            Outcome::Replied { .. } => "replied",
            Outcome::Updated(_) => "updated",
            Outcome::Duplicate(_) => "duplicate",
            Outcome::Superseded(_) => "superseded",
        }
    }
}

/// Why an event was not delivered; every case is worth another attempt except Slack refusals.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Slack(#[from] SlackError),
    #[error(transparent)]
    State(#[from] StateError),
    /// Another invocation holds this delivery id; its outcome decides what a redelivery sees.
    #[error("this delivery is being delivered by another invocation right now")]
    InFlight { retry_after: Duration },
    /// The deployment's first message was still being posted by another invocation.
    #[error("the deployment's first message is still being posted by another invocation")]
    Busy { retry_after: Duration },
}

impl Failure {
    /// The code an answer and a dead letter give: Slack's own where it gave one.
    pub fn code(&self) -> &str {
        match self {
            Failure::Slack(error) => error.code(),
            Failure::State(_) => "state_unavailable",
            Failure::InFlight { .. } => "delivery_in_progress",
            Failure::Busy { .. } => "message_in_progress",
        }
    }

    /// Whether another attempt can succeed, and when at the earliest.
    pub fn verdict(&self) -> Verdict {
        match self {
            Failure::Slack(SlackError::Rejected { .. }) => Verdict::DeadLetter,
            Failure::Slack(SlackError::RateLimited { retry_after, .. }) => Verdict::Retry {
                retry_after: *retry_after,
            },
            Failure::Slack(SlackError::Unavailable { .. } | SlackError::BadResponse { .. })
            | Failure::State(_) => Verdict::Retry { retry_after: None },
            Failure::InFlight { retry_after } | Failure::Busy { retry_after } => Verdict::Retry {
                retry_after: Some(*retry_after),
            },
        }
    }
}

/// How events reach Slack: one new message each, or, with a state table, through [`Living`].
pub enum Slack {
    Stateless(SlackClient),
    Living(Living),
}

impl Slack {
    /// Delivers `message` (rendered from `event`) to `channel`; `notify` says it carries a mention.
    pub async fn deliver(
        &self,
        event: &Event,
        delivery_id: Option<&str>,
        channel: &str,
        message: &Message,
        notify: bool,
    ) -> Result<Outcome, Failure> {
        match self {
            Slack::Stateless(client) => Ok(Outcome::Posted(
                client.post_message(channel, message).await?,
            )),
            Slack::Living(living) => {
                living
                    .deliver(event, delivery_id, channel, message, notify)
                    .await
            }
        }
    }
}

/// The stateful sink: a Slack client and the delivery state, with the relay's timing settings.
pub struct Living {
    pub slack: SlackClient,
    pub state: State,
    /// How long after a preview its stack's update replies in its thread.
    pub thread_window: Duration,
    /// How long a delivery claim lasts: longer than any one delivery can take.
    pub lease: Duration,
    /// Whether deployments may have been started from Slack (ChatOps on): their messages then
    /// name who started them, and reply under the notification whose button did.
    pub starts: bool,
}

/// Slack errors saying the message to edit or reply to is gone: post a fresh one instead.
fn message_gone(error: &SlackError) -> bool {
    matches!(error, SlackError::Rejected { error } if matches!(
        error.as_str(),
        "message_not_found" | "cant_update_message" | "edit_window_closed" | "thread_not_found"
    ))
}

impl Living {
    /// Delivers `message` (formatted from `event`) to `channel`, once per `delivery_id`.
    ///
    /// `notify` says the message carries a mention (a routed failure): an edit does not notify
    /// anyone in Slack, so such an event also replies in the thread, shown in the channel.
    pub async fn deliver(
        &self,
        event: &Event,
        delivery_id: Option<&str>,
        channel: &str,
        message: &Message,
        notify: bool,
    ) -> Result<Outcome, Failure> {
        // Without a usable id there is nothing to deduplicate on; Pulumi always sends one.
        let Some(key) = delivery_id.and_then(keys::delivery_key) else {
            return self.send(event, channel, message, notify).await;
        };
        let token = match self.state.claim(&key, self.lease).await? {
            Claim::Won(token) => token,
            Claim::AlreadyPosted(posted) => return Ok(Outcome::Duplicate(posted)),
            Claim::InFlight { lease_left } => {
                return Err(Failure::InFlight {
                    retry_after: lease_left,
                });
            }
        };
        let result = self.send(event, channel, message, notify).await;
        match &result {
            Ok(outcome) => {
                if let Err(error) = self.state.posted(&key, &token, outcome.posted()).await {
                    // The message is in Slack, so the answer is 200; only a redelivery of this id
                    // (which Pulumi sends only after a failure) could post it again.
                    tracing::error!(%error, "delivered, but not recorded as delivered");
                }
            }
            Err(_) => {
                if let Err(error) = self.state.release(&key, &token).await {
                    tracing::warn!(%error, "the failed delivery's claim stays until its lease ends");
                }
            }
        }
        result
    }

    async fn send(
        &self,
        event: &Event,
        channel: &str,
        message: &Message,
        notify: bool,
    ) -> Result<Outcome, Failure> {
        let origin = event.origin();
        let names = origin.organization.zip(origin.project).zip(origin.stack);
        if let (Event::Deployment(deployment), Some(((org, project), stack))) = (event, names)
            && let Some(version) = deployment.version
            && let Some(key) = keys::deployment_key(org, project, stack, version)
        {
            let rank = Phase::order(deployment.status.as_ref());
            let start = self.start(org, project, stack, version).await;
            let Some(start) = start else {
                return self
                    .deployment(&key, rank, channel, message, notify, None)
                    .await;
            };
            let mut message = message.clone();
            message.push(started_from_slack(&start.user));
            let under = start.thread.as_ref();
            return self
                .deployment(&key, rank, channel, &message, notify, under)
                .await;
        }
        match (event.stack_run(), names) {
            (Some((_, true)), Some(((org, project), stack))) => {
                let posted = self.slack.post_message(channel, message).await?;
                if let Some(key) = keys::preview_key(org, project, stack) {
                    let anchor = Anchor {
                        posted: posted.clone(),
                        requested_channel: channel.to_owned(),
                        rank: 0,
                    };
                    if let Err(error) = self.state.anchor(&key, &anchor, self.thread_window).await {
                        tracing::warn!(%error, "the preview's update will not reply in its thread");
                    }
                }
                return Ok(Outcome::Posted(posted));
            }
            (Some((update, false)), Some(((org, project), stack))) => {
                if let Some(key) = keys::preview_key(org, project, stack) {
                    let failed = update.result.as_ref().map(Phase::of) == Some(Phase::Failed);
                    return self
                        .reply_to_preview(&key, channel, message, failed || notify)
                        .await;
                }
            }
            _ => {}
        }
        Ok(Outcome::Posted(
            self.slack.post_message(channel, message).await?,
        ))
    }

    /// Who started the deployment from Slack, when ChatOps is on and someone did. A state
    /// error only costs the line: the message is posted without it.
    async fn start(&self, org: &str, project: &str, stack: &str, version: u64) -> Option<Start> {
        if !self.starts {
            return None;
        }
        let key = keys::start_key(org, project, stack, version)?;
        match self.state.start(&key).await {
            Ok(start) => start,
            Err(error) => {
                tracing::warn!(%error, "the deployment's message does not say who started it");
                None
            }
        }
    }

    /// One message per deployment: the first status posts it (under `under`, the notification
    /// whose button started it, if one did), later ones edit it.
    async fn deployment(
        &self,
        key: &str,
        rank: u8,
        channel: &str,
        message: &Message,
        notify: bool,
        under: Option<&Posted>,
    ) -> Result<Outcome, Failure> {
        // The first event's post takes one Slack call; wait that long for it, then let Pulumi
        // redeliver rather than post a second message.
        for _ in 0..30 {
            match self.state.reserve(key, rank).await? {
                Reservation::Won => {
                    return self.first_post(key, rank, channel, message, under).await;
                }
                // A route sent this status elsewhere (failures to #alerts): a message of its own.
                Reservation::Existing(anchor) if anchor.requested_channel != channel => {
                    return Ok(Outcome::Posted(
                        self.slack.post_message(channel, message).await?,
                    ));
                }
                Reservation::Existing(anchor) => {
                    if !self.state.advance(key, rank).await? {
                        return Ok(Outcome::Superseded(anchor.posted));
                    }
                    return match self.slack.update_message(&anchor.posted, message).await {
                        Ok(posted) => {
                            if notify {
                                // A run started from a button lives in its notification's
                                // thread: the mention goes there too (a reply's ts is no thread).
                                let (in_channel, ts) = match under {
                                    Some(parent) => (parent.channel.as_str(), &parent.ts),
                                    None => (channel, &anchor.posted.ts),
                                };
                                let thread = Thread {
                                    ts,
                                    broadcast: true,
                                };
                                self.slack.post(in_channel, message, Some(thread)).await?;
                            }
                            Ok(Outcome::Updated(posted))
                        }
                        Err(error) if message_gone(&error) => {
                            self.first_post(key, rank, channel, message, None).await
                        }
                        Err(error) => Err(error.into()),
                    };
                }
                Reservation::Pending => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        Err(Failure::Busy {
            retry_after: Duration::from_secs(5),
        })
    }

    async fn first_post(
        &self,
        key: &str,
        rank: u8,
        channel: &str,
        message: &Message,
        under: Option<&Posted>,
    ) -> Result<Outcome, Failure> {
        let posted = match under {
            // The reply's place is the notification's channel; `channel` stays what the route
            // asked for, so that the deployment's next statuses edit this reply.
            Some(parent) => {
                let thread = Thread {
                    ts: &parent.ts,
                    broadcast: false,
                };
                match self
                    .slack
                    .post(&parent.channel, message, Some(thread))
                    .await
                {
                    Err(error) if message_gone(&error) => {
                        self.slack.post_message(channel, message).await
                    }
                    other => other,
                }
            }
            None => self.slack.post_message(channel, message).await,
        };
        match posted {
            Ok(posted) => {
                let anchor = Anchor {
                    posted: posted.clone(),
                    requested_channel: channel.to_owned(),
                    rank,
                };
                if let Err(error) = self.state.anchor(key, &anchor, DEPLOYMENT_TTL).await {
                    tracing::warn!(%error, "the deployment's next status will post a new message");
                }
                Ok(Outcome::Posted(posted))
            }
            Err(error) => {
                if let Err(error) = self.state.forget(key).await {
                    tracing::warn!(%error, "the deployment's reservation stays until it lapses");
                }
                Err(error.into())
            }
        }
    }

    /// An update within the window after its stack's preview, in the same channel, replies in the
    /// preview's thread (shown in the channel too when `broadcast`); otherwise it is a new message.
    async fn reply_to_preview(
        &self,
        key: &str,
        channel: &str,
        message: &Message,
        broadcast: bool,
    ) -> Result<Outcome, Failure> {
        let preview = match self.state.find(key).await {
            Ok(preview) => preview.filter(|p| p.requested_channel == channel),
            Err(error) => {
                tracing::warn!(%error, "posting the update without looking for its preview");
                None
            }
        };
        let Some(preview) = preview else {
            return Ok(Outcome::Posted(
                self.slack.post_message(channel, message).await?,
            ));
        };
        let thread = Thread {
            ts: &preview.posted.ts,
            broadcast,
        };
        match self.slack.post(channel, message, Some(thread)).await {
            Ok(posted) => {
                // One preview, one update: the stack's next update starts afresh.
                if let Err(error) = self.state.forget(key).await {
                    tracing::warn!(%error, "the next update may also reply under this preview");
                }
                Ok(Outcome::Replied {
                    posted,
                    thread_ts: preview.posted.ts,
                })
            }
            Err(error) if message_gone(&error) => Ok(Outcome::Posted(
                self.slack.post_message(channel, message).await?,
            )),
            Err(error) => Err(error.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gone_messages_fall_back_to_a_new_post() {
        let rejected = |e: &str| SlackError::Rejected { error: e.into() };
        assert!(message_gone(&rejected("message_not_found")));
        assert!(message_gone(&rejected("edit_window_closed")));
        assert!(!message_gone(&rejected("invalid_auth")));
        assert!(!message_gone(&SlackError::BadResponse { status: 500 }));
    }
}

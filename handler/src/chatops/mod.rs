//! ChatOps, the way back from Slack: the `/pulumi` slash command (`POST /slack/commands`) and
//! the relay's buttons (`POST /slack/interactions`) start Pulumi Deployments runs and show a
//! stack's latest update. [`relay_core::chatops`] owns the rules (commands, who may do what,
//! what Slack is shown); this module checks requests ([`replay`]), asks Slack who is in which
//! group, calls Pulumi Cloud and answers within Slack's three seconds ([`run`]).
//!
//! Off unless the Slack app's signing secret and a Pulumi access token are configured: the
//! endpoints then answer 404, and messages get no buttons.

mod endpoints;
mod replay;
mod run;

use std::time::Duration;

pub use endpoints::{commands, interactions};

use relay_core::chatops::{ChatopsRules, Operation};
use relay_core::slack_signing::SigningSecret;
use relay_core::stack::StackRef;

use crate::config::ChatopsSettings;
use crate::slack::{SlackClient, SlackError};
use crate::state::State;
use replay::Replay;

/// Slack's limit for acknowledging a request: "respond within 3000 ms".
pub const SLACK_ACK: Duration = Duration::from_millis(3000);
/// What the relay allows itself of it: the rest is the network's, both ways.
pub const ACK_BUDGET: Duration = Duration::from_millis(2500);
/// How long a run may take to start once acknowledged, on a server that keeps working after
/// its answer (Slack's `response_url` stays valid for 30 minutes).
const BACKGROUND_BUDGET: Duration = Duration::from_secs(20);
/// All the `usergroups.users.list` calls of one request.
const GROUP_LOOKUP: Duration = Duration::from_millis(700);
/// How long a button stays pressed: a second click within it (a double click on Confirm, a
/// colleague pressing the same Re-run) starts nothing.
const CLICK_HELD: Duration = Duration::from_secs(60);

/// Where a request's work may continue after Slack has its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuation {
    /// The local server: the work goes on in the background and reports through `response_url`.
    Background,
    /// Lambda, frozen once it answers: everything happens within [`ACK_BUDGET`], and a Pulumi
    /// Cloud too slow for it is reported as such.
    WithinAck,
}

/// ChatOps as configured.
pub struct ChatOps {
    secret: SigningSecret,
    rules: ChatopsRules,
    /// The one organization the rules allow, if they allow one: `project/stack` names a stack.
    organization: Option<String>,
    console: Option<String>,
    replay: Replay,
    continuation: Continuation,
}

impl ChatOps {
    pub fn new(settings: ChatopsSettings, api_url: &str, state: Option<State>) -> ChatOps {
        ChatOps {
            secret: settings.signing_secret,
            organization: settings.rules.single_organization(),
            rules: settings.rules,
            console: relay_core::chatops::pulumi::console_url(api_url),
            replay: Replay::new(state),
            continuation: Continuation::Background,
        }
    }

    pub fn set_continuation(&mut self, continuation: Continuation) {
        self.continuation = continuation;
    }

    pub fn rules(&self) -> &ChatopsRules {
        &self.rules
    }

    /// The rule allowing `user` to run `operation` on `stack`, asking Slack about the user
    /// groups that could (all within `within`); `Err` when Slack could not say (refused, then,
    /// with why).
    async fn authorize(
        &self,
        slack: Option<&SlackClient>,
        user: &str,
        operation: Operation,
        stack: &StackRef,
        within: Duration,
    ) -> Result<Option<String>, SlackError> {
        let groups = self.rules.groups_to_check(user, operation, stack);
        let lookups = async {
            let mut member_of = Vec::new();
            let Some(slack) = slack else {
                return Ok(member_of);
            };
            for group in groups {
                let members = match slack.usergroup_members(group, within).await {
                    Ok(members) => members,
                    // A group deleted since the rules were written has no members.
                    Err(SlackError::Rejected { error }) if error == "no_such_subteam" => continue,
                    Err(error) => return Err(error),
                };
                if members.iter().any(|u| u == user) {
                    member_of.push(group);
                    break;
                }
            }
            Ok(member_of)
        };
        let member_of = tokio::time::timeout(within, lookups).await.map_err(|_| {
            SlackError::Unavailable {
                attempts: 1,
                last: format!("no answer within {} ms", within.as_millis()),
            }
        })??;
        Ok(self
            .rules
            .allowing(user, &member_of, operation, stack)
            .map(str::to_owned))
    }
}

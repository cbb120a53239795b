//! What Slack sends the relay: a slash command's form fields, and an interaction's `payload`
//! (Slack's `block_actions`: a click on one of the relay's buttons). Both arrive as
//! `application/x-www-form-urlencoded` bodies, signed ([`crate::slack_signing`]).

use serde::{Deserialize, Serialize};

use super::Operation;

/// A slash command invocation (Slack: "the data Slack sends": `command`, `text`, `user_id`,
/// `channel_id`, `response_url`, …; the deprecated verification `token` is not read).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SlashCommand {
    pub command: String,
    #[serde(default)]
    pub text: String,
    pub user_id: String,
    #[serde(default)]
    pub user_name: String,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub team_id: String,
    pub response_url: String,
}

/// Why a body is not what Slack sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InboundError {
    #[error("the body is not a Slack slash command: {0}")]
    Command(String),
    #[error("the body is not a Slack interaction (a form with a JSON `payload`): {0}")]
    Interaction(String),
}

impl SlashCommand {
    pub fn parse(body: &[u8]) -> Result<SlashCommand, InboundError> {
        serde_urlencoded::from_bytes(body).map_err(|e| InboundError::Command(e.to_string()))
    }
}

/// An interaction payload, as far as the relay reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Interaction {
    /// `block_actions` for button clicks; other types (shortcuts, view submissions) are not
    /// the relay's.
    #[serde(rename = "type")]
    pub kind: String,
    pub user: InteractionUser,
    #[serde(default)]
    pub channel: Option<Channel>,
    /// The message the button was on.
    #[serde(default)]
    pub container: Option<Container>,
    #[serde(default)]
    pub response_url: Option<String>,
    #[serde(default)]
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct InteractionUser {
    pub id: String,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Channel {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Container {
    #[serde(default)]
    pub message_ts: Option<String>,
    /// Set when the message is itself a reply: its thread's parent.
    #[serde(default)]
    pub thread_ts: Option<String>,
    #[serde(default)]
    pub channel_id: Option<String>,
    #[serde(default)]
    pub is_ephemeral: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Action {
    pub action_id: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// The relay's action IDs. A notification's buttons run at once (Slack's own confirm dialog has
/// asked first for `up` and `destroy`); the slash command's Confirm / Cancel answer its prompt.
pub mod action_id {
    pub const RUN: &str = "pulumi_run";
    pub const CONFIRM: &str = "pulumi_confirm";
    pub const CANCEL: &str = "pulumi_cancel";
}

/// What a button of the relay's carries: the operation and the stack, as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionValue {
    pub op: Operation,
    pub stack: String,
}

impl ActionValue {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a value always serializes")
    }
}

/// What a click asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    /// Run `value` now: from a notification's button, or the prompt's Confirm.
    Run { value: ActionValue, confirmed: bool },
    /// The prompt's Cancel.
    Cancel(ActionValue),
    /// Not one of the relay's buttons (another app's element on the same message).
    Foreign(String),
}

#[derive(Deserialize)]
struct Form {
    payload: String,
}

impl Interaction {
    pub fn parse(body: &[u8]) -> Result<Interaction, InboundError> {
        let form: Form = serde_urlencoded::from_bytes(body)
            .map_err(|e| InboundError::Interaction(e.to_string()))?;
        serde_json::from_str(&form.payload).map_err(|e| InboundError::Interaction(e.to_string()))
    }

    /// The first action's meaning (Slack sends one action per click).
    pub fn click(&self) -> Result<Click, InboundError> {
        let action = self
            .actions
            .first()
            .ok_or_else(|| InboundError::Interaction("it has no action".into()))?;
        let value = || -> Result<ActionValue, InboundError> {
            let raw = action.value.as_deref().unwrap_or_default();
            serde_json::from_str(raw).map_err(|e| {
                InboundError::Interaction(format!("its button's value is not the relay's: {e}"))
            })
        };
        Ok(match action.action_id.as_str() {
            action_id::RUN => Click::Run {
                value: value()?,
                confirmed: false,
            },
            action_id::CONFIRM => Click::Run {
                value: value()?,
                confirmed: true,
            },
            action_id::CANCEL => Click::Cancel(value()?),
            other => Click::Foreign(other.chars().take(80).collect()),
        })
    }

    /// The thread to reply in: the notification the button was on, or the thread it is itself
    /// a reply in (a reply's ts is not a thread), with its channel; never an ephemeral prompt,
    /// which has no thread.
    pub fn thread(&self) -> Option<(&str, &str)> {
        let container = self.container.as_ref().filter(|c| !c.is_ephemeral)?;
        let ts = container
            .thread_ts
            .as_deref()
            .or(container.message_ts.as_deref())?;
        Some((self.container_channel()?, ts))
    }

    /// Which message's button was pressed (`channel:ts`), prompts included.
    pub fn pressed(&self) -> Option<String> {
        let container = self.container.as_ref()?;
        Some(format!(
            "{}:{}",
            self.container_channel()?,
            container.message_ts.as_deref()?
        ))
    }

    fn container_channel(&self) -> Option<&str> {
        self.container
            .as_ref()?
            .channel_id
            .as_deref()
            .or(self.channel.as_ref().map(|c| c.id.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_command_reads_from_slacks_form_fields() {
        let body = b"token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example\
            &channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve\
            &command=%2Fpulumi&text=up+acme%2Fweb%2Fprod\
            &response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678\
            &trigger_id=13345224609.738474920.8088930838d88f008e0";
        let command = SlashCommand::parse(body).unwrap();
        assert_eq!(command.command, "/pulumi");
        assert_eq!(command.text, "up acme/web/prod");
        assert_eq!(command.user_id, "U2147483697");
        assert_eq!(command.channel_id, "C2147483705");
        assert_eq!(
            command.response_url,
            "https://hooks.slack.com/commands/1234/5678"
        );
    }

    #[test]
    fn a_body_without_the_required_fields_is_not_a_command() {
        assert!(SlashCommand::parse(b"text=up").is_err());
        assert!(Interaction::parse(b"payload=%7Bnot+json").is_err());
        assert!(Interaction::parse(b"text=x").is_err());
    }

    fn click_on(action_id: &str, value: &str, ephemeral: bool) -> Interaction {
        let payload = serde_json::json!({
            "type": "block_actions",
            "user": {"id": "U0DEV0001", "username": "morty"},
            "channel": {"id": "C0OPS0001"},
            "container": {"type": "message", "message_ts": "1700000000.000100",
                          "channel_id": "C0OPS0001", "is_ephemeral": ephemeral},
            "response_url": "https://hooks.slack.com/actions/T0/1/abc",
            "actions": [{"action_id": action_id, "block_id": "pulumi", "value": value,
                         "type": "button", "action_ts": "1700000001.0001"}]
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        Interaction::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn a_notification_button_runs_and_replies_under_its_message() {
        let value = ActionValue {
            op: Operation::Refresh,
            stack: "acme/web/prod".into(),
        };
        let click = click_on(action_id::RUN, &value.encode(), false);
        assert_eq!(
            click.click(),
            Ok(Click::Run {
                value,
                confirmed: false
            })
        );
        assert_eq!(click.thread(), Some(("C0OPS0001", "1700000000.000100")));
        assert_eq!(
            click.pressed().as_deref(),
            Some("C0OPS0001:1700000000.000100")
        );
    }

    #[test]
    fn a_button_on_a_reply_replies_in_its_thread() {
        let value = ActionValue {
            op: Operation::Up,
            stack: "acme/web/prod".into(),
        };
        let mut click = click_on(action_id::RUN, &value.encode(), false);
        click.container.as_mut().unwrap().thread_ts = Some("1700000000.000001".into());
        assert_eq!(click.thread(), Some(("C0OPS0001", "1700000000.000001")));
    }

    #[test]
    fn the_prompts_buttons_confirm_or_cancel_and_have_no_thread() {
        let value = ActionValue {
            op: Operation::Destroy,
            stack: "acme/web/prod".into(),
        };
        let confirm = click_on(action_id::CONFIRM, &value.encode(), true);
        assert!(matches!(
            confirm.click(),
            Ok(Click::Run {
                confirmed: true,
                ..
            })
        ));
        assert_eq!(confirm.thread(), None);
        let cancel = click_on(action_id::CANCEL, &value.encode(), true);
        assert_eq!(cancel.click(), Ok(Click::Cancel(value)));
    }

    #[test]
    fn other_apps_buttons_and_foreign_values_are_told_apart() {
        assert_eq!(
            click_on("approve", "x", false).click(),
            Ok(Click::Foreign("approve".into()))
        );
        assert!(
            click_on(action_id::RUN, "{\"op\":\"deploy\"}", false)
                .click()
                .is_err()
        );
    }
}

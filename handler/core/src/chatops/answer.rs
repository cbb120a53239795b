//! What Slack shows in return: a slash command's answer, or what is posted to an interaction's
//! `response_url` (`response_type`, `text`, `blocks`, `replace_original`: Slack's "responding
//! to interactions"). Every answer has fallback text; errors are ephemeral (only the person who
//! asked sees them) and say what to do.

use serde::Serialize;

use super::Operation;
use super::pulumi::{CreateDeploymentResponse, LatestUpdate};
use super::slack_in::{ActionValue, action_id};
use crate::mrkdwn::{escape, safe_url, truncate};
use crate::slack::{Block, Button, ButtonStyle, Confirm, Text};
use crate::stack::StackRef;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// Only the person who asked sees it.
    Ephemeral,
    /// Everyone in the channel sees it.
    InChannel,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub response_type: ResponseType,
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<Block>,
    /// Always said: whether this replaces the message the click came from (the prompt), or
    /// leaves it (a notification keeps its buttons for others).
    pub replace_original: bool,
}

impl Answer {
    fn ephemeral(text: String) -> Answer {
        Answer {
            response_type: ResponseType::Ephemeral,
            blocks: vec![Block::section(text.clone())],
            text,
            replace_original: false,
        }
    }

    /// The commands, with `project/stack` explained when the relay serves one organization.
    pub fn help(organization: Option<&str>) -> Answer {
        let naming = match organization {
            Some(org) => format!(
                "A stack is `organization/project/stack`, or `project/stack` in `{}`.",
                escape(org)
            ),
            None => "A stack is `organization/project/stack`.".to_owned(),
        };
        Answer::ephemeral(format!(
            "*/pulumi* runs Pulumi Deployments from Slack:\n\
             • `/pulumi status <stack>`: the stack's latest update\n\
             • `/pulumi preview <stack>`, `/pulumi refresh <stack>`: run at once\n\
             • `/pulumi up <stack>`, `/pulumi destroy <stack>`: asked to confirm first\n\
             • `/pulumi help`: this\n\
             {naming} Runs use the stack's saved deployment settings; who may run what is set \
             by the relay's `chatops` rules."
        ))
    }

    /// Something the person can fix: a typo, an unknown stack, a busy one.
    pub fn problem(what: &str) -> Answer {
        Answer::ephemeral(format!(":warning: {what}"))
    }

    pub fn refused(user: &str, operation: Operation, stack: &StackRef) -> Answer {
        Answer::ephemeral(format!(
            ":no_entry: <@{user}> may not run `{operation}` on `{stack}`: no `chatops` rule of \
             this relay allows it. Ask whoever runs the relay to add you (or a user group of \
             yours) to a rule for this stack and operation."
        ))
    }

    /// The slash command's prompt for `up` and `destroy`: Confirm / Cancel, naming the stack.
    pub fn confirm(operation: Operation, stack: &StackRef) -> Answer {
        let value = ActionValue {
            op: operation,
            stack: stack.to_string(),
        }
        .encode();
        let what = confirm_text(operation, stack);
        let mut confirm = Button::new(
            &format!("Run {operation} on {}", stack.stack),
            action_id::CONFIRM,
            value.clone(),
        );
        confirm.style = Some(style(operation));
        let text = format!(":warning: {what} Run it?");
        Answer {
            response_type: ResponseType::Ephemeral,
            blocks: vec![
                Block::section(text.clone()),
                Block::Actions {
                    block_id: "pulumi_confirm".into(),
                    elements: vec![confirm, Button::new("Cancel", action_id::CANCEL, value)],
                },
            ],
            text,
            replace_original: false,
        }
    }

    /// Replaces the prompt once answered, so its buttons cannot be pressed twice.
    pub fn prompt_answered(operation: Operation, stack: &StackRef, confirmed: bool) -> Answer {
        let mut answer = Answer::ephemeral(if confirmed {
            format!(":hourglass_flowing_sand: Starting `{operation}` on `{stack}`…")
        } else {
            format!("Cancelled: `{operation}` on `{stack}` was not run.")
        });
        answer.replace_original = true;
        answer
    }

    /// The acknowledgement when Pulumi Cloud has not answered yet; the outcome follows.
    pub fn working(operation: Operation, stack: &StackRef) -> Answer {
        Answer::ephemeral(format!(
            ":hourglass_flowing_sand: Asking Pulumi Cloud to {} `{stack}`…",
            match operation {
                Operation::Status => "show".to_owned(),
                other => format!("run `{other}` on"),
            }
        ))
    }

    /// A run started: in the channel, naming who started it.
    pub fn started(
        user: &str,
        operation: Operation,
        stack: &StackRef,
        deployment: &CreateDeploymentResponse,
    ) -> Answer {
        let run = match deployment.console_url.as_deref().and_then(safe_url) {
            Some(url) => format!("<{url}|deployment #{}>", deployment.version),
            None => format!("deployment #{}", deployment.version),
        };
        let text = format!(
            ":arrow_forward: <@{user}> started `{operation}` on `{stack}` from Slack: {run}. \
             Its progress is posted here as it runs."
        );
        Answer {
            response_type: ResponseType::InChannel,
            ..Answer::ephemeral(text)
        }
    }

    /// `status`: the latest update's result, who ran it, when, and a link.
    pub fn status(stack: &StackRef, latest: &LatestUpdate, console: Option<&str>) -> Answer {
        let Some(info) = &latest.info else {
            return Answer::ephemeral(format!("`{stack}` has no updates yet."));
        };
        let kind = escape(info.kind.as_deref().unwrap_or("update")).into_owned();
        let result = info.result.as_deref().unwrap_or("unknown");
        let emoji = match result {
            "succeeded" => ":white_check_mark:",
            "failed" => ":x:",
            "in-progress" => ":hourglass_flowing_sand:",
            _ => ":grey_question:",
        };
        let version = latest.version.map(|v| format!(" #{v}")).unwrap_or_default();
        let mut line = format!("*`{stack}`*: {emoji} {kind}{version} {}", escape(result));
        if let Some(who) = latest
            .requested_by
            .as_ref()
            .and_then(|u| u.name.as_deref().or(u.github_login.as_deref()))
        {
            line.push_str(&format!(" · by {}", escape(&truncate(who, 80))));
        }
        if let Some(at) = info.end_time.filter(|t| *t > 0).or(info.start_time) {
            line.push_str(&format!(
                " · <!date^{at}^{{date_short_pretty}} at {{time}}|at Unix time {at}>"
            ));
        }
        if let (Some(console), Some(version)) = (console, latest.version) {
            let url = format!(
                "{console}/{}/{}/{}/updates/{version}",
                stack.organization, stack.project, stack.stack
            );
            if let Some(url) = safe_url(&url) {
                line.push_str(&format!(" · <{url}|view in Pulumi Cloud>"));
            }
        }
        let changes: Vec<String> = info
            .resource_changes
            .iter()
            .flatten()
            .filter(|(op, n)| **n > 0 && op.as_str() != "same")
            .map(|(op, n)| format!("{} {n}", escape(op)))
            .collect();
        if !changes.is_empty() {
            line.push_str(&format!("\nChanges: {}", changes.join(", ")));
        }
        if let Some(message) = info.message.as_deref().filter(|m| !m.trim().is_empty()) {
            line.push_str(&format!("\n> {}", escape(&truncate(message.trim(), 300))));
        }
        Answer::ephemeral(line)
    }
}

/// The line a deployment's living message carries when it was started from Slack.
pub fn started_from_slack(user: &str) -> Block {
    Block::context([format!(":speech_balloon: Started from Slack by <@{user}>")])
}

fn style(operation: Operation) -> ButtonStyle {
    if operation == Operation::Destroy {
        ButtonStyle::Danger
    } else {
        ButtonStyle::Primary
    }
}

fn confirm_text(operation: Operation, stack: &StackRef) -> String {
    match operation {
        Operation::Destroy => format!(
            "`destroy` deletes every resource of `{stack}`, with its saved deployment settings."
        ),
        other => format!(
            "`{other}` changes the infrastructure of `{stack}`, with its saved deployment settings."
        ),
    }
}

/// The Block Kit confirm dialog a notification's `up` or `destroy` button carries: Slack shows
/// it, naming the stack, before it sends the click.
pub(super) fn dialog(operation: Operation, stack: &StackRef) -> Confirm {
    Confirm {
        title: Text::plain(format!("Run pulumi {operation}?"), 100),
        text: Text::plain(confirm_text(operation, stack).replace('`', ""), 300),
        confirm: Text::plain(format!("Run {operation}"), 30),
        deny: Text::plain("Cancel", 30),
        style: Some(style(operation)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chatops::pulumi::{AppUpdateInfo, UserInfo};

    fn stack() -> StackRef {
        StackRef::parse("acme/web/prod", None).unwrap()
    }

    #[test]
    fn the_prompt_names_the_stack_and_carries_it_on_both_buttons() {
        let answer = Answer::confirm(Operation::Destroy, &stack());
        assert_eq!(answer.response_type, ResponseType::Ephemeral);
        assert!(
            answer
                .text
                .contains("deletes every resource of `acme/web/prod`")
        );
        let json = serde_json::to_value(&answer).unwrap();
        let buttons = &json["blocks"][1]["elements"];
        assert_eq!(buttons[0]["action_id"], action_id::CONFIRM);
        assert_eq!(buttons[0]["style"], "danger");
        assert_eq!(buttons[1]["action_id"], action_id::CANCEL);
        let value: ActionValue =
            serde_json::from_str(buttons[0]["value"].as_str().unwrap()).unwrap();
        assert_eq!(value.op, Operation::Destroy);
        assert_eq!(value.stack, "acme/web/prod");
        assert_eq!(json["replace_original"], false);
    }

    #[test]
    fn an_answered_prompt_replaces_itself() {
        let answer = Answer::prompt_answered(Operation::Up, &stack(), false);
        assert!(answer.replace_original);
        assert!(answer.text.contains("was not run"));
    }

    #[test]
    fn a_started_run_is_shown_in_the_channel_with_who_and_a_link() {
        let answer = Answer::started(
            "U0DEV0001",
            Operation::Up,
            &stack(),
            &CreateDeploymentResponse {
                id: "d-1".into(),
                version: 128,
                console_url: Some("https://app.pulumi.com/acme/web/prod/deployments/128".into()),
            },
        );
        assert_eq!(answer.response_type, ResponseType::InChannel);
        assert_eq!(
            answer.text,
            ":arrow_forward: <@U0DEV0001> started `up` on `acme/web/prod` from Slack: \
             <https://app.pulumi.com/acme/web/prod/deployments/128|deployment #128>. Its \
             progress is posted here as it runs."
        );
    }

    #[test]
    fn status_shows_result_who_when_and_a_link() {
        let latest = LatestUpdate {
            info: Some(AppUpdateInfo {
                kind: Some("update".into()),
                result: Some("failed".into()),
                start_time: Some(1_700_000_000),
                end_time: Some(1_700_000_090),
                message: Some("fix <the> bucket".into()),
                resource_changes: Some([("create".to_owned(), 2), ("same".to_owned(), 9)].into()),
            }),
            version: Some(42),
            requested_by: Some(UserInfo {
                name: Some("Morty Smith".into()),
                github_login: Some("morty".into()),
            }),
        };
        let answer = Answer::status(&stack(), &latest, Some("https://app.pulumi.com"));
        let text = &answer.text;
        assert!(
            text.starts_with("*`acme/web/prod`*: :x: update #42 failed · by Morty Smith"),
            "{text}"
        );
        assert!(text.contains("<!date^1700000090^"), "{text}");
        assert!(
            text.contains("<https://app.pulumi.com/acme/web/prod/updates/42|view in Pulumi Cloud>")
        );
        assert!(
            text.contains("Changes: create 2") && !text.contains("same"),
            "{text}"
        );
        assert!(
            text.contains("fix &lt;the&gt; bucket"),
            "payload text is escaped: {text}"
        );
    }

    #[test]
    fn a_refusal_names_the_user_the_operation_and_the_stack() {
        let answer = Answer::refused("U0OTHER01", Operation::Destroy, &stack());
        assert_eq!(answer.response_type, ResponseType::Ephemeral);
        assert!(
            answer
                .text
                .contains("<@U0OTHER01> may not run `destroy` on `acme/web/prod`")
        );
    }
}

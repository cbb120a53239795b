//! ChatOps: acting on stacks from Slack, the way back from a notification.
//!
//! A `/pulumi` slash command ([`command`]) or a click on a message's button ([`slack_in`]) asks
//! for an [`Operation`] on a stack. [`rules`] decides, default deny, whether the Slack user (or
//! a user group they are in) may; [`answer`] writes what Slack shows in return (help, a
//! confirmation for `up` and `destroy`, the run started, a stack's latest update, what went
//! wrong and what to do); [`buttons`] puts Re-run / Refresh / Remediate on the messages that
//! call for them; [`pulumi`] has the Deployments and updates calls those operations make.
//! Requests are verified first ([`crate::slack_signing`]).

pub mod answer;
pub mod buttons;
pub mod command;
pub mod pulumi;
pub mod rules;
pub mod slack_in;

use serde::{Deserialize, Serialize};

pub use command::{Command, CommandError};
pub use rules::{ChatopsRules, ChatopsRulesError};

/// What may be done to a stack from Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// The stack's latest update: read only, nothing is run.
    Status,
    Preview,
    /// `pulumi up`: Pulumi Deployments' `update`.
    Up,
    Refresh,
    Destroy,
}

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::Status,
        Operation::Preview,
        Operation::Up,
        Operation::Refresh,
        Operation::Destroy,
    ];

    /// The word in commands, rules and logs. `update` is read as `up` (the CLI takes both).
    pub fn parse(word: &str) -> Option<Operation> {
        match word {
            "status" => Some(Operation::Status),
            "preview" => Some(Operation::Preview),
            "up" | "update" => Some(Operation::Up),
            "refresh" => Some(Operation::Refresh),
            "destroy" => Some(Operation::Destroy),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Status => "status",
            Operation::Preview => "preview",
            Operation::Up => "up",
            Operation::Refresh => "refresh",
            Operation::Destroy => "destroy",
        }
    }

    /// The `operation` of Pulumi Deployments' `CreateDeploymentRequest` (`update`, `preview`,
    /// `refresh`, `destroy`: Pulumi Cloud's OpenAPI, `PulumiOperation`); `None` for `status`,
    /// which starts nothing.
    pub fn deployment(self) -> Option<&'static str> {
        match self {
            Operation::Status => None,
            Operation::Preview => Some("preview"),
            Operation::Up => Some("update"),
            Operation::Refresh => Some("refresh"),
            Operation::Destroy => Some("destroy"),
        }
    }

    /// `up` and `destroy` change (or remove) infrastructure: Slack asks first.
    pub fn needs_confirmation(self) -> bool {
        matches!(self, Operation::Up | Operation::Destroy)
    }

    /// The operation that runs again what a webhook reports (`update`, `preview`, `refresh`,
    /// `destroy`); others (imports, renames, drift runs) have no Slack equivalent.
    pub fn rerun(operation: &crate::event::Operation) -> Option<Operation> {
        use crate::event::Operation as Pulumi;
        match operation {
            Pulumi::Update => Some(Operation::Up),
            Pulumi::Preview => Some(Operation::Preview),
            Pulumi::Refresh => Some(Operation::Refresh),
            Pulumi::Destroy => Some(Operation::Destroy),
            _ => None,
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_reads_back_from_its_word() {
        for op in Operation::ALL {
            assert_eq!(Operation::parse(op.as_str()), Some(op));
        }
        assert_eq!(Operation::parse("update"), Some(Operation::Up));
        assert_eq!(Operation::parse("Up"), None, "words are lower case");
    }

    #[test]
    fn up_runs_as_a_deployments_update_and_status_runs_nothing() {
        assert_eq!(Operation::Up.deployment(), Some("update"));
        assert_eq!(Operation::Status.deployment(), None);
        assert!(Operation::Up.needs_confirmation() && Operation::Destroy.needs_confirmation());
        assert!(
            !Operation::Preview.needs_confirmation() && !Operation::Refresh.needs_confirmation()
        );
    }
}

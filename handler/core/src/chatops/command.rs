//! The `/pulumi` slash command's text: `help`, `status <stack>`, `preview|up|refresh|destroy
//! <stack>`.

use super::Operation;
use crate::stack::{StackRef, StackRefError};

/// What a `/pulumi` command asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    Run {
        operation: Operation,
        stack: StackRef,
    },
}

/// Why the text is not a command; each says what to type instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error(
        "`{0}` is not a /pulumi command: use status, preview, up, refresh or destroy with a \
         stack, or help"
    )]
    Unknown(String),
    #[error("`{0}` needs a stack: /pulumi {0} organization/project/stack")]
    NoStack(Operation),
    #[error(
        "`/pulumi {0}` takes one stack and nothing more: /pulumi {0} organization/project/stack"
    )]
    TooMuch(Operation),
    #[error(transparent)]
    Stack(#[from] StackRefError),
}

impl Command {
    /// Reads a command's text; `default_organization` lets `project/stack` stand for a stack of
    /// the one organization the relay serves.
    pub fn parse(text: &str, default_organization: Option<&str>) -> Result<Command, CommandError> {
        let mut words = text.split_whitespace();
        let Some(first) = words.next() else {
            return Ok(Command::Help);
        };
        let word = first.to_ascii_lowercase();
        if word == "help" {
            return Ok(Command::Help);
        }
        // Quoted back in backticks: a backtick of its own would end the quote early.
        let operation = Operation::parse(&word).ok_or_else(|| {
            CommandError::Unknown(first.chars().filter(|c| *c != '`').take(40).collect())
        })?;
        let stack = words.next().ok_or(CommandError::NoStack(operation))?;
        if words.next().is_some() {
            return Err(CommandError::TooMuch(operation));
        }
        Ok(Command::Run {
            operation,
            stack: StackRef::parse(stack, default_organization)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(op: Operation, stack: &str) -> Command {
        Command::Run {
            operation: op,
            stack: StackRef::parse(stack, None).unwrap(),
        }
    }

    #[test]
    fn each_operation_takes_a_stack() {
        assert_eq!(
            Command::parse("up acme/web/prod", None),
            Ok(run(Operation::Up, "acme/web/prod"))
        );
        assert_eq!(
            Command::parse("  STATUS   acme/web/prod ", None),
            Ok(run(Operation::Status, "acme/web/prod"))
        );
        assert_eq!(
            Command::parse("refresh web/prod", Some("acme")),
            Ok(run(Operation::Refresh, "acme/web/prod"))
        );
    }

    #[test]
    fn no_text_or_help_is_help() {
        assert_eq!(Command::parse("", None), Ok(Command::Help));
        assert_eq!(Command::parse("help", None), Ok(Command::Help));
        assert_eq!(Command::parse("HELP", None), Ok(Command::Help));
    }

    #[test]
    fn mistakes_say_what_to_type() {
        let err = Command::parse("deploy acme/web/prod", None).unwrap_err();
        assert_eq!(err, CommandError::Unknown("deploy".into()));
        assert!(err.to_string().contains("status, preview, up"));
        assert_eq!(
            Command::parse("destroy", None),
            Err(CommandError::NoStack(Operation::Destroy))
        );
        assert_eq!(
            Command::parse("up acme/web/prod now", None),
            Err(CommandError::TooMuch(Operation::Up))
        );
        assert!(matches!(
            Command::parse("up prod", None),
            Err(CommandError::Stack(StackRefError::Shape(_)))
        ));
    }
}

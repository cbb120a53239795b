//! The buttons ChatOps adds to notifications (only when it is configured): a failed update or
//! deployment gets Re-run (the same operation) and Refresh, drift found gets Remediate (an
//! `up`) and Refresh. `up` and `destroy` buttons carry Slack's confirm dialog, naming the stack.

use super::Operation;
use super::answer::dialog;
use super::slack_in::{ActionValue, action_id};
use crate::event::{Event, Status};
use crate::slack::{Block, Button};
use crate::stack::StackRef;

/// The row of buttons `event`'s message gets, if any.
pub fn for_event(event: &Event) -> Option<Block> {
    let (stack, first) = match event {
        Event::StackUpdate(e) if e.result == Some(Status::Failed) => (
            e.stack_ref()?,
            ("Re-run", Operation::rerun(e.kind.as_ref()?)?),
        ),
        Event::Deployment(e) if e.status == Some(Status::Failed) => (
            e.stack_ref()?,
            ("Re-run", Operation::rerun(e.operation.as_ref()?)?),
        ),
        Event::DriftDetection(e) if e.drift_detected == Some(true) => {
            (e.stack_ref()?, ("Remediate", Operation::Up))
        }
        _ => return None,
    };
    let mut elements = vec![button(first.0, first.1, &stack)];
    if first.1 != Operation::Refresh {
        elements.push(button("Refresh", Operation::Refresh, &stack));
    }
    Some(Block::Actions {
        block_id: "pulumi_actions".into(),
        elements,
    })
}

fn button(label: &str, operation: Operation, stack: &StackRef) -> Button {
    let label = match (label, operation) {
        ("Refresh", _) => ":arrows_counterclockwise: Refresh".to_owned(),
        ("Remediate", _) => ":adhesive_bandage: Remediate (up)".to_owned(),
        (_, op) => format!(":repeat: Re-run {op}"),
    };
    let value = ActionValue {
        op: operation,
        stack: stack.to_string(),
    };
    let mut button = Button::new(&label, action_id::RUN, value.encode());
    if operation.needs_confirmation() {
        button.confirm = Some(dialog(operation, stack));
    }
    button
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::event;

    fn labels(block: &Block) -> Vec<String> {
        block.texts().into_iter().map(str::to_owned).collect()
    }

    const ORIGIN: &str = r#""organization": {"githubLogin": "acme", "name": "Acme Inc"},
        "projectName": "web", "stackName": "prod""#;

    #[test]
    fn a_failed_update_can_be_rerun_with_confirmation_or_refreshed() {
        let failed = event(
            "stack_update",
            &format!(r#"{{{ORIGIN}, "kind": "update", "result": "failed"}}"#),
        );
        let block = for_event(&failed).expect("buttons");
        assert_eq!(
            labels(&block),
            [":repeat: Re-run up", ":arrows_counterclockwise: Refresh"]
        );
        let json = serde_json::to_value(&block).unwrap();
        let rerun = &json["elements"][0];
        assert_eq!(rerun["value"], r#"{"op":"up","stack":"acme/web/prod"}"#);
        assert!(
            rerun["confirm"]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("acme/web/prod"),
            "the dialog names the stack: {rerun}"
        );
        assert!(
            json["elements"][1].get("confirm").is_none(),
            "refresh runs at once"
        );
    }

    #[test]
    fn a_failed_deployment_reruns_its_own_operation() {
        let failed = event(
            "deployment",
            &format!(r#"{{{ORIGIN}, "operation": "destroy", "status": "failed", "version": 3}}"#),
        );
        let block = for_event(&failed).expect("buttons");
        assert_eq!(
            labels(&block),
            [
                ":repeat: Re-run destroy",
                ":arrows_counterclockwise: Refresh"
            ]
        );
    }

    #[test]
    fn drift_found_can_be_remediated_or_refreshed() {
        let drift = event(
            "drift_detection",
            &format!(r#"{{{ORIGIN}, "driftDetected": true, "status": "succeeded"}}"#),
        );
        let block = for_event(&drift).expect("buttons");
        assert_eq!(
            labels(&block),
            [
                ":adhesive_bandage: Remediate (up)",
                ":arrows_counterclockwise: Refresh"
            ]
        );
    }

    #[test]
    fn successes_and_events_without_a_stack_login_get_none() {
        let ok = event(
            "stack_update",
            &format!(r#"{{{ORIGIN}, "kind": "update", "result": "succeeded"}}"#),
        );
        assert_eq!(for_event(&ok), None);
        let no_login = event(
            "stack_update",
            r#"{"organization": {"name": "Acme"}, "projectName": "web", "stackName": "prod",
                "kind": "update", "result": "failed"}"#,
        );
        assert_eq!(
            for_event(&no_login),
            None,
            "the API names organizations by login"
        );
        let failed_refresh = event(
            "stack_update",
            &format!(r#"{{{ORIGIN}, "kind": "refresh", "result": "failed"}}"#),
        );
        assert_eq!(
            labels(&for_event(&failed_refresh).unwrap()),
            [":repeat: Re-run refresh"],
            "one refresh button, not two"
        );
    }
}

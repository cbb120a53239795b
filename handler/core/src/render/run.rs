//! Runs on a stack: updates and previews, Pulumi Deployments runs, drift detection and
//! remediation, with the resource changes they report.

use std::fmt::Write as _;

use super::{Card, Tone, actor, capitalize, operation_name, where_};
use crate::event::{
    DeploymentEvent, DriftDetectionEvent, DriftRemediationEvent, Operation, ResourceChanges,
    Status, UpdateEvent,
};
use crate::mrkdwn::{cat, escape};

pub(super) fn update(e: &UpdateEvent, preview_kind: bool) -> Card {
    let origin = e.origin();
    let preview = e.is_preview(preview_kind);
    let op = operation_name(e.kind.as_ref());
    let tone = Tone::of(e.result.as_ref());
    let result = e.result.as_ref().map_or("finished", Status::as_str);
    // A `stack_update` of the operation `preview` does not say what was previewed.
    let previewed = !matches!(e.kind, Some(Operation::Preview));
    let title = match (preview, previewed) {
        (true, true) => cat!("Preview of ", op, " ", result),
        (true, false) => cat!("Preview ", result),
        (false, _) => cat!(capitalize(op), " ", result),
    };
    let (ran, what) = match (preview, previewed) {
        (true, true) => (" ran a preview of *", escape(op)),
        _ => (" ran *", escape(op)),
    };
    let summary = cat!(
        actor(&origin),
        ran,
        what,
        "* on ",
        where_(&origin),
        ": ",
        tone.emoji(),
        " *",
        escape(result),
        "*"
    );
    let mut card = Card::new(tone, title, summary);
    card.field("Operation", Some(op));
    card.field("Result", Some(result));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    if let Some(changes) = &e.resource_changes {
        card.details.push(changes_line(changes, preview));
    }
    card.link(
        if preview {
            "View preview"
        } else {
            "View update"
        },
        e.update_url.as_deref(),
    );
    card
}

pub(super) fn deployment(e: &DeploymentEvent) -> Card {
    let origin = e.origin();
    let tone = Tone::of(e.status.as_ref());
    let status = e.status.as_ref().map_or("changed", Status::as_str);
    let op = operation_name(e.operation.as_ref());
    let number = e.version.map(|v| format!(" #{v}")).unwrap_or_default();
    let title = cat!("Deployment", number, " ", status);
    let summary = cat!(
        "Deployment",
        number,
        " (*",
        escape(op),
        "*) of ",
        where_(&origin),
        " requested by ",
        actor(&origin),
        ": ",
        tone.emoji(),
        " *",
        escape(status),
        "*"
    );
    let mut card = Card::new(tone, title, summary);
    card.field("Operation", Some(op));
    card.field("Status", Some(status));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    card.link("View deployment", e.deployment_url.as_deref());
    card
}

pub(super) fn drift_detection(e: &DriftDetectionEvent) -> Card {
    let origin = e.origin();
    let (tone, title) = match (&e.status, e.drift_detected) {
        (Some(Status::Failed), _) => (Tone::Bad, "Drift detection failed".to_owned()),
        (_, Some(true)) => (Tone::Warn, "Drift detected".to_owned()),
        (Some(Status::Succeeded), _) => (Tone::Good, "No drift".to_owned()),
        (status, _) => (
            Tone::of(status.as_ref()),
            format!(
                "Drift detection {}",
                status.as_ref().map_or("finished", Status::as_str)
            ),
        ),
    };
    let finding = match e.drift_detected {
        Some(true) => "the stack has drifted from its last update",
        Some(false) => "no drift found",
        None => "no drift result reported",
    };
    let summary = cat!(
        "Drift detection on ",
        where_(&origin),
        ": ",
        tone.emoji(),
        " ",
        finding
    );
    let mut card = Card::new(tone, title, summary);
    card.field("Status", e.status.as_ref().map(Status::as_str));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    card.field("Run", e.drift_run_id.as_deref());
    if let Some(changes) = &e.resource_changes {
        card.details.push(changes_line(changes, true));
    }
    card.link("View drift run", e.reference_url.as_deref());
    card
}

pub(super) fn drift_remediation(e: &DriftRemediationEvent) -> Card {
    let origin = e.origin();
    let tone = Tone::of(e.status.as_ref());
    let status = e.status.as_ref().map_or("finished", Status::as_str);
    let summary = cat!(
        "Drift remediation on ",
        where_(&origin),
        ": ",
        tone.emoji(),
        " *",
        escape(status),
        "*"
    );
    let mut card = Card::new(tone, cat!("Drift remediation ", status), summary);
    card.field("Status", Some(status));
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    if let Some(changes) = &e.resource_changes {
        card.details.push(changes_line(changes, false));
    }
    card.link("View remediation", e.reference_url.as_deref());
    card
}

/// Pulumi's op names in the order the CLI prints them, with the label and sign it uses
/// (pulumi/pulumi `pkg/resource/deploy/step.go`, `RawPrefix`).
const CHANGE_ORDER: &[(&str, &str, &str)] = &[
    ("create", "+", "create"),
    ("update", "~", "update"),
    ("delete", "-", "delete"),
    ("replace", "+-", "replace"),
    ("create-replacement", "++", "create replacement"),
    ("delete-replaced", "--", "delete replaced"),
    ("update-replace", "+-", "replace"),
    ("read", ">", "read"),
    ("read-replacement", ">>", "read replacement"),
    ("import", "=", "import"),
    ("import-replacement", "=>", "import replacement"),
    ("refresh", "~", "refresh"),
    ("discard", "<", "discard"),
    ("discard-replaced", "<<", "discard replaced"),
    ("remove-pending-replace", "~", "remove pending replace"),
    ("same", " ", "unchanged"),
];

/// The CLI's sign for a step's op (`+` create, `~` update, …), if the relay knows the op.
pub(super) fn sign(op: &str) -> Option<&'static str> {
    CHANGE_ORDER
        .iter()
        .find(|(known, _, _)| *known == op)
        .map(|(_, sign, _)| *sign)
}

/// One mrkdwn section listing resource changes, e.g. "`+3` create · `~2` update".
fn changes_line(changes: &ResourceChanges, planned: bool) -> String {
    let heading = if planned {
        "Planned changes"
    } else {
        "Resource changes"
    };
    if changes.values().all(|n| *n == 0) {
        return cat!("*", heading, ":* none");
    }
    // Saturating: the counts are the payload's, and `sum` would overflow (a panic in debug).
    let changed = changes
        .iter()
        .filter(|(op, _)| op.as_str() != "same")
        .fold(0u64, |total, (_, n)| total.saturating_add(*n));
    // One string written in place: a piece per op plus a join cost more than the rest of the
    // message's formatting.
    let mut line = String::with_capacity(128);
    let _ = write!(line, "*{heading}* ({changed}): ");
    let mut first = true;
    let mut part = |line: &mut String, n: u64, sign: Option<&str>, label: &str| {
        if !std::mem::take(&mut first) {
            line.push_str("  ·  ");
        }
        line.push('`');
        if let Some(sign) = sign {
            // `>` (read) and `<` (discard) are Slack control characters even inside code.
            line.push_str(&escape(sign.trim()));
        }
        let _ = write!(line, "{n}` ");
        line.push_str(label);
    };
    for (op, sign, label) in CHANGE_ORDER {
        if let Some(&n) = changes.get(*op).filter(|n| **n > 0) {
            part(&mut line, n, Some(sign), label);
        }
    }
    // Ops this relay has no name for are still shown, in key order.
    for (op, &n) in changes {
        if n > 0 && !CHANGE_ORDER.iter().any(|(known, _, _)| known == op) {
            part(&mut line, n, None, &escape(op));
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Filter};
    use crate::testing::event;

    /// The texts of the event's message, without the fallback.
    fn texts(event: &Event) -> Vec<String> {
        let message = super::super::message(event, None);
        message.texts().skip(1).map(str::to_owned).collect()
    }

    #[test]
    fn a_stack_update_that_reports_a_preview_is_a_preview_in_the_message_too() {
        let update = event(
            "stack_update",
            r#"{"stackName": "dev", "kind": "preview", "result": "succeeded",
                "updateUrl": "https://app.pulumi.com/acme/p/dev/previews/1"}"#,
        );
        assert_eq!(update.filters().primary(), Some(Filter::PreviewSucceeded));
        assert_eq!(update.stack_run().map(|(_, preview)| preview), Some(true));
        let shown = texts(&update);
        assert!(shown[0].contains("Preview succeeded"), "{shown:?}");
        assert!(
            shown.iter().any(|t| t.contains("|View preview>")),
            "{shown:?}"
        );
        assert!(
            !shown.iter().any(|t| t.contains("View update")),
            "{shown:?}"
        );
        let marked = event(
            "stack_update",
            r#"{"kind": "update", "isPreview": true, "result": "failed"}"#,
        );
        assert!(texts(&marked)[0].contains("Preview of update failed"));
    }

    #[test]
    fn changes_list_known_ops_in_cli_order_and_unknown_ones_after() {
        let changes: ResourceChanges = [
            ("same".into(), 10),
            ("delete".into(), 1),
            ("create".into(), 3),
            ("zap".into(), 2),
        ]
        .into();
        let line = changes_line(&changes, false);
        assert_eq!(
            line,
            "*Resource changes* (6): `+3` create  ·  `-1` delete  ·  `10` unchanged  ·  `2` zap"
        );
    }

    #[test]
    fn read_and_discard_signs_are_escaped() {
        let changes: ResourceChanges = [("read".into(), 1), ("discard".into(), 2)].into();
        let line = changes_line(&changes, false);
        assert!(
            line.contains("`&gt;1` read") && line.contains("`&lt;2` discard"),
            "{line}"
        );
    }

    #[test]
    fn change_counts_near_u64_max_saturate_instead_of_overflowing() {
        let changes: ResourceChanges = [("create".into(), u64::MAX), ("update".into(), 1)].into();
        let line = changes_line(&changes, false);
        assert!(
            line.starts_with(&format!("*Resource changes* ({})", u64::MAX)),
            "{line}"
        );
    }
}

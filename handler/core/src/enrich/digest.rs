//! Engine events, page by page, folded into an [`Enrichment`]: the first distinct error
//! diagnostics, the resources whose step failed, and the resources changed (one line per
//! resource, as the CLI's summary shows them), with totals for what does not fit.

use std::collections::{HashMap, HashSet};

use super::api::{EngineEvent, StepEvent};
use super::{Change, Diagnostic, Enrichment, MAX_CHANGES, MAX_ERRORS, MAX_FAILED, Resource, text};

/// Properties named at most per changed resource.
const MAX_PROPERTIES: usize = 5;

/// What has been read of a run's engine events so far.
#[derive(Debug, Default)]
pub struct Digest {
    drift: bool,
    errors: Vec<Diagnostic>,
    /// Errors seen, by resource URN and text: two resources failing alike are both named.
    error_texts: HashSet<(String, String)>,
    failed: Vec<Change>,
    failed_urns: HashSet<String>,
    /// Every changed resource by URN, in the order first stepped.
    changes: Vec<(String, Change)>,
    change_at: HashMap<String, usize>,
    partial: bool,
}

/// Steps that change nothing: not listed as changes.
fn unchanged(op: &str) -> bool {
    matches!(op, "same" | "read" | "read-replacement" | "")
}

/// The steps of one replacement (`create-replacement`, then `replace`, then `delete-replaced`, or
/// the reverse with `deleteBeforeReplace`), shown as one `replace`, as the CLI's summary does.
/// Op names: pulumi/pulumi `pkg/resource/deploy/step.go` (`StepOp`).
fn replacing(op: &str) -> bool {
    matches!(
        op,
        "replace"
            | "create-replacement"
            | "delete-replaced"
            | "discard-replaced"
            | "import-replacement"
    )
}

impl Digest {
    /// `drift`: the run is a drift detection, whose refresh steps are the drift.
    pub fn new(drift: bool) -> Digest {
        Digest {
            drift,
            ..Digest::default()
        }
    }

    pub fn add(&mut self, event: &EngineEvent) {
        if let Some(diagnostic) = &event.diagnostic_event
            && diagnostic.severity.as_deref() == Some("error")
            && diagnostic.ephemeral != Some(true)
        {
            let resource = diagnostic
                .urn
                .as_deref()
                .and_then(Resource::from_urn)
                .filter(|r| !r.is_stack());
            if let Some(text) = text::clean(
                diagnostic.message.as_deref().unwrap_or(""),
                resource.is_some(),
            ) && self
                .error_texts
                .insert((diagnostic.urn.clone().unwrap_or_default(), text.clone()))
                && self.errors.len() < MAX_ERRORS
            {
                self.errors.push(Diagnostic { resource, text });
            }
        }
        if let Some(failed) = &event.res_op_failed_event
            && let Some(change) = change(failed)
            && self.failed_urns.insert(failed.metadata.urn.clone())
            && self.failed.len() < MAX_FAILED
        {
            self.failed.push(change);
        }
        for step in [&event.resource_pre_event, &event.res_outputs_event]
            .into_iter()
            .flatten()
        {
            self.step(step);
        }
    }

    fn step(&mut self, step: &StepEvent) {
        let op = step.metadata.op.as_str();
        if unchanged(op) {
            return;
        }
        let Some(mut change) = change(step) else {
            return;
        };
        if op == "refresh" {
            // A refresh found the resource gone (no state after the step): deleted out of band.
            if step.metadata.new.is_none() {
                change.op = "delete".to_owned();
            } else if change.properties.is_empty() {
                // Otherwise it is a change only where the refresh found a difference.
                return;
            }
        }
        if replacing(op) {
            change.op = "replace".to_owned();
        }
        match self.change_at.get(&step.metadata.urn) {
            Some(&at) => {
                let known = &mut self.changes[at].1;
                if change.op == "replace" {
                    known.op = change.op;
                }
                if known.properties.is_empty() {
                    known.properties = change.properties;
                }
            }
            None => {
                self.change_at
                    .insert(step.metadata.urn.clone(), self.changes.len());
                self.changes.push((step.metadata.urn.clone(), change));
            }
        }
    }

    /// The run's events were not all read: [`Enrichment::partial`].
    pub fn truncated(&mut self) {
        self.partial = true;
    }

    pub fn finish(self) -> Enrichment {
        let failed_urns = self.failed_urns;
        // A resource whose step failed is listed as failed, not as changed.
        let changed: Vec<Change> = self
            .changes
            .into_iter()
            .filter(|(urn, _)| !failed_urns.contains(urn))
            .map(|(_, change)| change)
            .collect();
        Enrichment {
            errors_total: self.error_texts.len(),
            errors: self.errors,
            failed_total: failed_urns.len(),
            failed: self.failed,
            changes_total: changed.len(),
            changes: changed.into_iter().take(MAX_CHANGES).collect(),
            drift: self.drift,
            log: None,
            partial: self.partial,
        }
    }
}

fn change(step: &StepEvent) -> Option<Change> {
    let metadata = &step.metadata;
    let resource = Resource::from_urn(&metadata.urn)?;
    let properties = match &metadata.detailed_diff {
        Some(detailed) if !detailed.is_empty() => detailed.keys().cloned().collect(),
        _ => metadata.diffs.clone(),
    };
    Some(Change {
        op: metadata.op.clone(),
        resource,
        properties: properties
            .into_iter()
            .take(MAX_PROPERTIES)
            .map(|p| crate::mrkdwn::fit(p, super::urn::MAX_PART_CHARS))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(events: &str, drift: bool) -> Enrichment {
        let events: Vec<EngineEvent> = serde_json::from_str(events).unwrap();
        let mut digest = Digest::new(drift);
        events.iter().for_each(|e| digest.add(e));
        digest.finish()
    }

    fn urn(type_: &str, name: &str) -> String {
        format!("urn:pulumi:prod::site::{type_}::{name}")
    }

    fn step(kind: &str, op: &str, urn: &str) -> String {
        format!(
            r#"{{"type": "{kind}", "{kind}Event": {{"metadata": {{"op": "{op}", "urn": "{urn}",
                "new": {{}}}}}}}}"#
        )
    }

    fn diagnostic(severity: &str, urn: &str, message: &str) -> String {
        format!(
            r#"{{"type": "diagnostic", "diagnosticEvent": {{"severity": "{severity}", "urn": "{urn}",
                "message": {message:?}, "color": "raw"}}}}"#
        )
    }

    #[test]
    fn error_diagnostics_are_kept_once_each_with_their_resource() {
        let bucket = urn("aws:s3/bucket:Bucket", "site");
        let stack = urn("pulumi:pulumi:Stack", "site-prod");
        let events = format!(
            "[{}, {}, {}, {}]",
            diagnostic("warning", &bucket, "deprecated"),
            diagnostic("error", &bucket, "error: AccessDenied\n"),
            diagnostic("error", &bucket, "AccessDenied"),
            diagnostic("error", &stack, "program failed"),
        );
        let enrichment = digest(&events, false);
        assert_eq!(enrichment.errors_total, 2);
        assert_eq!(
            enrichment.errors,
            [
                Diagnostic {
                    resource: Some(Resource::new("aws:s3/bucket:Bucket", "site")),
                    text: "AccessDenied".into()
                },
                Diagnostic {
                    resource: None,
                    text: "program failed".into()
                }
            ]
        );
    }

    #[test]
    fn the_same_error_on_two_resources_names_both() {
        let events = format!(
            "[{}, {}]",
            diagnostic("error", &urn("aws:s3/bucket:Bucket", "a"), "AccessDenied"),
            diagnostic("error", &urn("aws:s3/bucket:Bucket", "b"), "AccessDenied"),
        );
        let names: Vec<String> = digest(&events, false)
            .errors
            .into_iter()
            .filter_map(|e| e.resource.map(|r| r.name))
            .collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn a_resource_a_refresh_found_gone_drifted_as_deleted() {
        let events = format!(
            r#"[{{"type": "resourcePre", "resourcePreEvent": {{"planning": true, "metadata": {{
                "op": "refresh", "urn": "{}", "new": null}}}}}}]"#,
            urn("aws:sns/topic:Topic", "alerts")
        );
        let enrichment = digest(&events, true);
        assert_eq!(enrichment.changes[0].op, "delete");
        assert_eq!(enrichment.changes[0].resource.name, "alerts");
    }

    #[test]
    fn only_the_first_errors_are_kept_and_all_are_counted() {
        let events: Vec<String> = (0..8)
            .map(|i| diagnostic("error", "", &format!("failure {i}")))
            .collect();
        let enrichment = digest(&format!("[{}]", events.join(",")), false);
        assert_eq!(enrichment.errors.len(), MAX_ERRORS);
        assert_eq!(enrichment.errors_total, 8);
    }

    #[test]
    fn a_replacement_is_one_line_and_a_failed_step_is_not_a_change() {
        let role = urn("aws:iam/role:Role", "svc");
        let bucket = urn("aws:s3/bucket:Bucket", "site");
        let events = format!(
            "[{}, {}, {}, {}, {}, {}, {}]",
            step("resourcePre", "same", &urn("pulumi:pulumi:Stack", "s")),
            step("resourcePre", "create-replacement", &role),
            step("resOutputs", "create-replacement", &role),
            step("resourcePre", "replace", &role),
            step("resourcePre", "delete-replaced", &role),
            step("resourcePre", "create", &bucket),
            step("resOpFailed", "create", &bucket),
        );
        let enrichment = digest(&events, false);
        assert_eq!(enrichment.changes_total, 1);
        assert_eq!(enrichment.changes[0].op, "replace");
        assert_eq!(enrichment.changes[0].resource.name, "svc");
        assert_eq!(enrichment.failed_total, 1);
        assert_eq!(enrichment.failed[0].resource.name, "site");
    }

    #[test]
    fn drift_is_a_refresh_step_that_found_differences() {
        let events = format!(
            r#"[{}, {{"type": "resourcePre", "resourcePreEvent": {{"planning": true, "metadata": {{
                "op": "refresh", "urn": "{}", "diffs": ["tags"], "new": {{}},
                "detailedDiff": {{"tags.owner": {{"diffKind": "update"}}}}}}}}}}]"#,
            step(
                "resourcePre",
                "refresh",
                &urn("aws:s3/bucket:Bucket", "same")
            ),
            urn("aws:s3/bucket:Bucket", "site"),
        );
        let enrichment = digest(&events, true);
        assert!(enrichment.drift);
        assert_eq!(enrichment.changes_total, 1);
        assert_eq!(enrichment.changes[0].properties, ["tags.owner"]);
    }
}

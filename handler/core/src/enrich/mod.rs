//! What Pulumi Cloud's REST API adds to a message: why a run failed (its error diagnostics and the
//! resources whose step failed), which resources it changed, and what drifted. The webhook itself
//! only says that an update failed and how many resources changed.
//!
//! This module owns the rules, without I/O: which events are worth asking about ([`Target`]),
//! the API's paths and answers ([`api`]), how engine events fold into an [`Enrichment`]
//! ([`digest`]), and how diagnostic text is cleaned ([`text`]) and URNs are read ([`urn`]). The
//! handler's `pulumi_api` module makes the calls; [`crate::render`] draws the result.

pub mod api;
pub mod digest;
pub mod text;
pub mod urn;

use serde::{Deserialize, Serialize};

use crate::event::{DeploymentEvent, DriftDetectionEvent, Event, Status, UpdateEvent};

pub use digest::Digest;
pub use urn::Resource;

/// Error diagnostics shown at most; "+N more" says the rest.
pub const MAX_ERRORS: usize = 5;
/// Failed resources shown at most.
pub const MAX_FAILED: usize = 5;
/// Changed (or drifted) resources shown at most.
pub const MAX_CHANGES: usize = 10;
/// Lines of a failing deployment step's log shown at most.
pub const MAX_LOG_LINES: usize = 8;

/// What was learnt about one run. Kept with a queued delivery (as JSON), so a retry shows what the
/// first attempt fetched without asking Pulumi Cloud again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrichment {
    /// The first [`MAX_ERRORS`] distinct error diagnostics, cleaned.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Diagnostic>,
    #[serde(default)]
    pub errors_total: usize,
    /// Resources whose step failed (`resOpFailedEvent`), the first [`MAX_FAILED`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<Change>,
    #[serde(default)]
    pub failed_total: usize,
    /// Resources the run changed (or a preview plans to), the first [`MAX_CHANGES`], in the order
    /// the engine stepped them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    #[serde(default)]
    pub changes_total: usize,
    /// Whether the run is a drift detection: its changes are drift, not changes made.
    #[serde(default)]
    pub drift: bool,
    /// The last lines of a failed deployment step's log, when no update says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<StepLog>,
    /// Not every engine event was read (a run too long for the pages the relay reads): the totals
    /// are at least these.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

impl Enrichment {
    /// Whether there is anything to show.
    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
            && self.failed.is_empty()
            && self.changes.is_empty()
            && self.log.is_none()
    }
}

/// One error diagnostic: its text, and the resource it is about (none for the stack's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Resource>,
    pub text: String,
}

/// A resource and the step the engine took on it (Pulumi's op name: `create`, `replace`, …), with
/// the properties that differ when the engine said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub op: String,
    pub resource: Resource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<String>,
}

/// The tail of a failed Pulumi Deployments step's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepLog {
    pub step: String,
    pub lines: Vec<String>,
}

pub use crate::stack::StackRef;

/// What to ask Pulumi Cloud about an event, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An update (`up`, `destroy`, `refresh`, `import`), by its version; `failed` asks for why.
    Update {
        stack: StackRef,
        version: u64,
        failed: bool,
    },
    /// A preview, by its update ID.
    Preview {
        stack: StackRef,
        update_id: String,
        failed: bool,
    },
    /// A failed Pulumi Deployments run, by its version.
    Deployment { stack: StackRef, version: u64 },
    /// A drift detection run that found drift, by its ID.
    Drift { stack: StackRef, run_id: String },
}

impl Target {
    /// The run `event` reports, when Pulumi Cloud knows more about it than the webhook says: a
    /// failed run (why), a run with changes (which), drift found (what).
    pub fn of(event: &Event) -> Option<Target> {
        match event {
            Event::StackUpdate(e) => update(e, false),
            Event::StackPreview(e) => update(e, true),
            Event::Deployment(e) => deployment(e),
            Event::DriftDetection(e) => drift(e),
            _ => None,
        }
    }

    pub fn stack(&self) -> &StackRef {
        match self {
            Target::Update { stack, .. }
            | Target::Preview { stack, .. }
            | Target::Deployment { stack, .. }
            | Target::Drift { stack, .. } => stack,
        }
    }
}

fn update(e: &UpdateEvent, preview_kind: bool) -> Option<Target> {
    let failed = matches!(e.result, Some(Status::Failed));
    let changed = e.resource_changes.as_ref().is_some_and(|changes| {
        changes
            .iter()
            .any(|(op, n)| *n > 0 && op.as_str() != "same")
    });
    if !(failed || changed) {
        return None;
    }
    let stack = e.stack_ref()?;
    // The webhook names the run only in its URL: `…/updates/{version}` or `…/previews/{updateID}`.
    let (collection, id) = last_two_segments(e.update_url.as_deref()?)?;
    match collection {
        "updates" if !e.is_preview(preview_kind) => Some(Target::Update {
            stack,
            version: id.parse().ok()?,
            failed,
        }),
        "previews" => Some(Target::Preview {
            stack,
            update_id: id.to_owned(),
            failed,
        }),
        _ => None,
    }
}

fn deployment(e: &DeploymentEvent) -> Option<Target> {
    if !matches!(e.status, Some(Status::Failed)) {
        return None;
    }
    Some(Target::Deployment {
        stack: e.stack_ref()?,
        version: e.version?,
    })
}

fn drift(e: &DriftDetectionEvent) -> Option<Target> {
    if e.drift_detected != Some(true) {
        return None;
    }
    let run_id = e.drift_run_id.as_deref().filter(|id| !id.is_empty())?;
    Some(Target::Drift {
        stack: e.stack_ref()?,
        run_id: run_id.to_owned(),
    })
}

/// The last two path segments of a URL, without its query or fragment.
fn last_two_segments(url: &str) -> Option<(&str, &str)> {
    let path = url.split(['?', '#']).next()?.trim_end_matches('/');
    let (rest, last) = path.rsplit_once('/')?;
    let (_, before) = rest.rsplit_once('/')?;
    (!last.is_empty()).then_some((before, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{event, fixture};

    fn acme() -> StackRef {
        StackRef {
            organization: "acme".into(),
            project: "site".into(),
            stack: "prod".into(),
        }
    }

    const WHO: &str = r#""organization": {"githubLogin": "acme", "name": "Acme Corp"},
        "projectName": "site", "stackName": "prod""#;

    #[test]
    fn a_failed_update_is_asked_about_by_the_version_in_its_url() {
        let failed = event(
            "stack_update",
            &format!(
                r#"{{{WHO}, "kind": "update", "result": "failed",
                "updateUrl": "https://app.pulumi.com/acme/site/prod/updates/42"}}"#
            ),
        );
        assert_eq!(
            Target::of(&failed),
            Some(Target::Update {
                stack: acme(),
                version: 42,
                failed: true
            })
        );
    }

    #[test]
    fn a_successful_update_is_asked_about_only_when_it_changed_something() {
        let with = |changes: &str| {
            event(
                "stack_update",
                &format!(
                    r#"{{{WHO}, "kind": "update", "result": "succeeded", "resourceChanges": {changes},
                    "updateUrl": "https://app.pulumi.com/acme/site/prod/updates/7"}}"#
                ),
            )
        };
        assert!(matches!(
            Target::of(&with(r#"{"create": 2, "same": 4}"#)),
            Some(Target::Update { failed: false, .. })
        ));
        assert_eq!(Target::of(&with(r#"{"same": 4}"#)), None);
        assert_eq!(Target::of(&with("{}")), None);
    }

    #[test]
    fn a_preview_is_asked_about_by_the_update_id_in_its_url() {
        let preview = fixture("stack_preview", "stack_preview-failed");
        let Some(Target::Preview {
            update_id, failed, ..
        }) = Target::of(&preview)
        else {
            panic!("{:?}", Target::of(&preview));
        };
        assert!(failed);
        assert_eq!(update_id, "5e1c0b7a-preview");
    }

    #[test]
    fn only_failed_deployments_and_drift_found_are_asked_about() {
        let deployment = |status: &str| {
            event(
                "deployment",
                &format!(r#"{{{WHO}, "version": 127, "status": "{status}"}}"#),
            )
        };
        assert_eq!(
            Target::of(&deployment("failed")),
            Some(Target::Deployment {
                stack: acme(),
                version: 127
            })
        );
        assert_eq!(Target::of(&deployment("running")), None);
        let drift = |found: bool| {
            event(
                "drift_detection",
                &format!(r#"{{{WHO}, "driftDetected": {found}, "driftRunId": "run-1"}}"#),
            )
        };
        assert_eq!(
            Target::of(&drift(true)),
            Some(Target::Drift {
                stack: acme(),
                run_id: "run-1".into()
            })
        );
        assert_eq!(Target::of(&drift(false)), None);
    }

    #[test]
    fn an_organization_is_named_by_its_login_never_its_display_name() {
        let named = event(
            "deployment",
            r#"{"organization": {"name": "Acme Corp"}, "projectName": "site",
                "stackName": "prod", "version": 1, "status": "failed"}"#,
        );
        assert_eq!(Target::of(&named), None);
    }

    #[test]
    fn without_a_stack_or_a_run_in_the_url_nothing_is_asked() {
        for body in [
            r#"{"projectName": "site", "stackName": "prod", "result": "failed",
                "updateUrl": "https://app.pulumi.com/acme/site/prod/updates/42"}"#
                .to_owned(),
            format!(r#"{{{WHO}, "result": "failed"}}"#),
            format!(
                r#"{{{WHO}, "result": "failed", "updateUrl": "https://app.pulumi.com/acme/site/prod/updates/latest"}}"#
            ),
            format!(
                r#"{{{WHO}, "result": "failed", "updateUrl": "https://app.pulumi.com/acme/site/prod"}}"#
            ),
        ] {
            assert_eq!(Target::of(&event("stack_update", &body)), None, "{body}");
        }
    }

    #[test]
    fn what_was_fetched_round_trips_through_json_for_the_queue() {
        let enrichment = Enrichment {
            errors: vec![Diagnostic {
                resource: Some(Resource::new("aws:s3/bucket:Bucket", "site")),
                text: "AccessDenied".into(),
            }],
            errors_total: 3,
            ..Enrichment::default()
        };
        let json = serde_json::to_string(&enrichment).unwrap();
        assert_eq!(
            serde_json::from_str::<Enrichment>(&json).unwrap(),
            enrichment
        );
        assert!(Enrichment::default().is_empty());
    }
}

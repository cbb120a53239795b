//! Pulumi's webhook filter names (`update_failed`, `drift_detected`, …), declared once, and the
//! ones each event answers to, derived from its payload as Pulumi did when it chose to send it.

use std::fmt;

use super::kind::{Enforcement, EscKind, Kind};
use super::payload::*;
use super::{Event, OtherEvent, Phase};

/// Declares Pulumi's webhook filter names once: the variant, the name, the kind of delivery that
/// carries it, and whether it reports a failure.
macro_rules! filters {
    ($($variant:ident = $name:literal, $kind:expr, $failure:literal;)*) => {
        /// A Pulumi Cloud webhook filter name (`update_failed`, `drift_detected`, …): what an
        /// event *is*, in the words Pulumi uses when a webhook subscribes to events. The delivery
        /// only says its kind (`stack_update`); [`Event::filters`] derives the filter from the
        /// payload (operation, result, status …), as Pulumi did when it chose to send it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Filter {
            $($variant,)*
        }

        impl Filter {
            /// Every filter, in the order of Pulumi's documentation.
            pub const ALL: &[Filter] = &[$(Filter::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Filter::$variant => $name,)*
                }
            }

            pub fn parse(name: &str) -> Option<Filter> {
                match name {
                    $($name => Some(Filter::$variant),)*
                    _ => None,
                }
            }

            /// The `Pulumi-Webhook-Kind` of deliveries with this filter.
            pub fn kind(self) -> Kind {
                match self {
                    $(Filter::$variant => $kind,)*
                }
            }

            /// Whether this outcome is something someone should act on: a failed operation,
            /// drift, or a mandatory policy violation (which blocks the update).
            pub fn is_failure(self) -> bool {
                match self {
                    $(Filter::$variant => $failure,)*
                }
            }
        }
    };
}

// The filter names the Pulumi CLI offers (pulumi/pulumi v3.259.0 `pkg/cmd/pulumi/org/
// org_webhook_new.go` and `stack/stack_webhook_new.go`) and the pulumiservice provider's
// `WebhookFilters` (v1.3.0, the newest release with a schema). `import_succeeded` / `import_failed`
// are in the CLI's `stacks` group, whose kinds are `stack` / `stack_preview` / `stack_update`:
// carried by `stack_update` like the other operations. Left out, because no public source says
// which `Pulumi-Webhook-Kind` or payload carries them, so their deliveries cannot be recognised
// (they are relayed as raw JSON, by kind): `deployment_file_ingestion_failed`, the seven
// `change_request_*` (organization and environment webhooks), `environment_rotation_*`.
filters! {
    StackCreated = "stack_created", Kind::Stack, false;
    StackDeleted = "stack_deleted", Kind::Stack, false;
    PreviewSucceeded = "preview_succeeded", Kind::StackPreview, false;
    PreviewFailed = "preview_failed", Kind::StackPreview, true;
    UpdateSucceeded = "update_succeeded", Kind::StackUpdate, false;
    UpdateFailed = "update_failed", Kind::StackUpdate, true;
    DestroySucceeded = "destroy_succeeded", Kind::StackUpdate, false;
    DestroyFailed = "destroy_failed", Kind::StackUpdate, true;
    RefreshSucceeded = "refresh_succeeded", Kind::StackUpdate, false;
    RefreshFailed = "refresh_failed", Kind::StackUpdate, true;
    ImportSucceeded = "import_succeeded", Kind::StackUpdate, false;
    ImportFailed = "import_failed", Kind::StackUpdate, true;
    DeploymentQueued = "deployment_queued", Kind::Deployment, false;
    DeploymentStarted = "deployment_started", Kind::Deployment, false;
    DeploymentSucceeded = "deployment_succeeded", Kind::Deployment, false;
    DeploymentFailed = "deployment_failed", Kind::Deployment, true;
    DriftDetected = "drift_detected", Kind::DriftDetection, true;
    DriftDetectionSucceeded = "drift_detection_succeeded", Kind::DriftDetection, false;
    DriftDetectionFailed = "drift_detection_failed", Kind::DriftDetection, true;
    DriftRemediationSucceeded = "drift_remediation_succeeded", Kind::DriftRemediation, false;
    DriftRemediationFailed = "drift_remediation_failed", Kind::DriftRemediation, true;
    PolicyViolationMandatory = "policy_violation_mandatory", Kind::PolicyViolation(None), true;
    PolicyViolationAdvisory = "policy_violation_advisory", Kind::PolicyViolation(None), false;
    EnvironmentCreated = "environment_created", Kind::Esc(EscKind::Environment), false;
    EnvironmentDeleted = "environment_deleted", Kind::Esc(EscKind::Environment), false;
    EnvironmentRevisionCreated = "environment_revision_created", Kind::Esc(EscKind::Revision), false;
    EnvironmentRevisionRetracted = "environment_revision_retracted", Kind::Esc(EscKind::Revision), false;
    EnvironmentRevisionTagCreated = "environment_revision_tag_created", Kind::Esc(EscKind::RevisionTag), false;
    EnvironmentRevisionTagDeleted = "environment_revision_tag_deleted", Kind::Esc(EscKind::RevisionTag), false;
    EnvironmentRevisionTagUpdated = "environment_revision_tag_updated", Kind::Esc(EscKind::RevisionTag), false;
    EnvironmentTagCreated = "environment_tag_created", Kind::Esc(EscKind::Tag), false;
    EnvironmentTagDeleted = "environment_tag_deleted", Kind::Esc(EscKind::Tag), false;
    EnvironmentTagUpdated = "environment_tag_updated", Kind::Esc(EscKind::Tag), false;
    ImportedEnvironmentChanged = "imported_environment_changed", Kind::Esc(EscKind::ImportedEnvironmentChanged), false;
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The filter names one event answers to: none (a `ping`, a `team` change, a run still in an
/// unreported state, a payload of unexpected shape), one, or two for a drift run that found drift
/// (`drift_detected` and `drift_detection_succeeded`, as a webhook subscribed to either gets it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filters([Option<Filter>; 2]);

impl Filters {
    fn one(filter: Filter) -> Filters {
        Filters([Some(filter), None])
    }

    /// The most specific name first (`drift_detected` before `drift_detection_succeeded`).
    pub fn iter(&self) -> impl Iterator<Item = Filter> + '_ {
        self.0.iter().flatten().copied()
    }

    /// The name logs show.
    pub fn primary(&self) -> Option<Filter> {
        self.0[0]
    }

    pub fn contains(&self, filter: Filter) -> bool {
        self.iter().any(|f| f == filter)
    }

    /// Whether any of the names is a failure ([`Filter::is_failure`]).
    pub fn is_failure(&self) -> bool {
        self.iter().any(Filter::is_failure)
    }
}

impl From<Option<Filter>> for Filters {
    fn from(filter: Option<Filter>) -> Filters {
        Filters([filter, None])
    }
}

impl Event {
    /// The Pulumi filter names this event answers to, derived from its typed payload.
    pub fn filters(&self) -> Filters {
        use Filter::*;
        match self {
            Event::Stack(e) => match e.action {
                Some(StackAction::Created) => Filters::one(StackCreated),
                Some(StackAction::Deleted) => Filters::one(StackDeleted),
                _ => Filters::default(),
            },
            Event::StackUpdate(e) => update_filter(e, false).into(),
            Event::StackPreview(e) => update_filter(e, true).into(),
            Event::Deployment(e) => match phase(&e.status) {
                Some(Phase::Waiting) => Filters::one(DeploymentQueued),
                Some(Phase::Running) => Filters::one(DeploymentStarted),
                Some(Phase::Succeeded) => Filters::one(DeploymentSucceeded),
                Some(Phase::Failed) => Filters::one(DeploymentFailed),
                _ => Filters::default(),
            },
            Event::DriftDetection(e) => {
                let run = match phase(&e.status) {
                    Some(Phase::Succeeded) => Some(DriftDetectionSucceeded),
                    Some(Phase::Failed) => Some(DriftDetectionFailed),
                    _ => None,
                };
                match e.drift_detected {
                    Some(true) => Filters([Some(DriftDetected), run]),
                    _ => run.into(),
                }
            }
            Event::DriftRemediation(e) => match phase(&e.status) {
                Some(Phase::Succeeded) => Filters::one(DriftRemediationSucceeded),
                Some(Phase::Failed) => Filters::one(DriftRemediationFailed),
                _ => Filters::default(),
            },
            // The documented kind `policy_violation` does not say the level, and no documented
            // field does: such a delivery has no filter name (route it by kind).
            Event::PolicyViolation(level, _) => match level {
                Some(Enforcement::Mandatory) => Filters::one(PolicyViolationMandatory),
                Some(Enforcement::Advisory) => Filters::one(PolicyViolationAdvisory),
                None => Filters::default(),
            },
            Event::Esc(kind, e) => esc_filter(*kind, e.action.as_deref()).into(),
            Event::Other(other) => other.filters(),
            Event::Team(_) | Event::Ping(_) => Filters::default(),
        }
    }
}

impl OtherEvent {
    /// The filter names of a body that did not fit its kind's shape, read from the fields that
    /// decide them: a failed update with one odd field is still a failure to routing (and to its
    /// `mention`).
    fn filters(&self) -> Filters {
        let text = |key: &str| self.payload.get(key).and_then(serde_json::Value::as_str);
        let bool_at = |key: &str| self.payload.get(key).and_then(serde_json::Value::as_bool);
        let status = |key: &str| text(key).map(Status::from);
        let typed = match &self.kind {
            Kind::StackUpdate | Kind::StackPreview => {
                let update = UpdateEvent {
                    result: status("result"),
                    kind: text("kind").map(Operation::from),
                    is_preview: bool_at("isPreview"),
                    ..UpdateEvent::default()
                };
                if self.kind == Kind::StackPreview {
                    Event::StackPreview(update)
                } else {
                    Event::StackUpdate(update)
                }
            }
            Kind::Deployment => Event::Deployment(DeploymentEvent {
                status: status("status"),
                ..DeploymentEvent::default()
            }),
            Kind::DriftDetection => Event::DriftDetection(DriftDetectionEvent {
                status: status("status"),
                drift_detected: bool_at("driftDetected"),
                ..DriftDetectionEvent::default()
            }),
            Kind::DriftRemediation => Event::DriftRemediation(DriftRemediationEvent {
                status: status("status"),
                ..DriftRemediationEvent::default()
            }),
            Kind::PolicyViolation(level) => {
                Event::PolicyViolation(*level, PolicyViolationEvent::default())
            }
            _ => return Filters::default(),
        };
        typed.filters()
    }
}

/// `stack_update` / `stack_preview`: the operation and its result, as Pulumi names the filter.
fn update_filter(e: &UpdateEvent, preview_kind: bool) -> Option<Filter> {
    use Filter::*;
    let succeeded = match phase(&e.result) {
        Some(Phase::Succeeded) => true,
        Some(Phase::Failed) => false,
        _ => return None,
    };
    let (ok, failed) = if e.is_preview(preview_kind) {
        // Pulumi has one pair of preview filters, whatever operation was previewed.
        (PreviewSucceeded, PreviewFailed)
    } else {
        match e.kind {
            // An update payload without `kind` is an update (the formatter says so too).
            None | Some(Operation::Update) => (UpdateSucceeded, UpdateFailed),
            Some(Operation::Destroy) => (DestroySucceeded, DestroyFailed),
            Some(Operation::Refresh) => (RefreshSucceeded, RefreshFailed),
            Some(Operation::Import | Operation::ResourceImport) => (ImportSucceeded, ImportFailed),
            _ => return None,
        }
    };
    Some(if succeeded { ok } else { failed })
}

fn phase(status: &Option<Status>) -> Option<Phase> {
    status.as_ref().map(Phase::of)
}

/// ESC events: the event kind and its `action`.
fn esc_filter(kind: EscKind, action: Option<&str>) -> Option<Filter> {
    use Filter::*;
    Some(match (kind, action) {
        (EscKind::ImportedEnvironmentChanged, _) => ImportedEnvironmentChanged,
        (EscKind::Environment, Some("created")) => EnvironmentCreated,
        (EscKind::Environment, Some("deleted")) => EnvironmentDeleted,
        (EscKind::Revision, Some("created")) => EnvironmentRevisionCreated,
        (EscKind::Revision, Some("retracted")) => EnvironmentRevisionRetracted,
        (EscKind::RevisionTag, Some("created")) => EnvironmentRevisionTagCreated,
        (EscKind::RevisionTag, Some("deleted")) => EnvironmentRevisionTagDeleted,
        (EscKind::RevisionTag, Some("updated")) => EnvironmentRevisionTagUpdated,
        (EscKind::Tag, Some("created")) => EnvironmentTagCreated,
        (EscKind::Tag, Some("deleted")) => EnvironmentTagDeleted,
        (EscKind::Tag, Some("updated")) => EnvironmentTagUpdated,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{event, fixture};

    fn filter_names(event: &Event) -> Vec<&'static str> {
        event.filters().iter().map(Filter::as_str).collect()
    }

    #[test]
    fn a_failed_update_with_an_odd_field_is_still_a_failure() {
        // `resourceChanges` is not a map of counts: the body is relayed as JSON (Event::Other),
        // but its result still decides the filter name, and so the route and its mention.
        let odd = event(
            "stack_update",
            r#"{"stackName": "web-prod", "kind": "destroy", "result": "failed", "resourceChanges": "many"}"#,
        );
        assert!(matches!(odd, Event::Other(_)), "{odd:?}");
        assert_eq!(filter_names(&odd), ["destroy_failed"]);
        let deployment = event("deployment", r#"{"status": "failed", "version": "seven"}"#);
        assert_eq!(filter_names(&deployment), ["deployment_failed"]);
    }

    #[test]
    fn stack_updates_are_named_by_operation_and_result() {
        let cases = [
            (
                r#"{"kind":"update","result":"succeeded"}"#,
                "update_succeeded",
            ),
            (r#"{"kind":"update","result":"failed"}"#, "update_failed"),
            (r#"{"result":"failed"}"#, "update_failed"),
            (
                r#"{"kind":"destroy","result":"succeeded"}"#,
                "destroy_succeeded",
            ),
            (r#"{"kind":"refresh","result":"failed"}"#, "refresh_failed"),
            (
                r#"{"kind":"import","result":"succeeded"}"#,
                "import_succeeded",
            ),
            (
                r#"{"kind":"resource-import","result":"failed"}"#,
                "import_failed",
            ),
            (
                r#"{"kind":"update","result":"failed","isPreview":true}"#,
                "preview_failed",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(
                filter_names(&event("stack_update", json)),
                [expected],
                "{json}"
            );
        }
        assert_eq!(
            filter_names(&fixture("stack_update", "stack_update-destroy-failed")),
            ["destroy_failed"]
        );
    }

    #[test]
    fn previews_are_preview_filters_whatever_operation_was_previewed() {
        assert_eq!(
            filter_names(&fixture("stack_preview", "stack_preview-succeeded")),
            ["preview_succeeded"]
        );
        let destroy = event("stack_preview", r#"{"kind":"destroy","result":"failed"}"#);
        assert_eq!(filter_names(&destroy), ["preview_failed"]);
    }

    #[test]
    fn an_unfinished_or_unknown_update_has_no_filter_name() {
        for json in [
            r#"{"kind":"update","result":"in-progress"}"#,
            r#"{"kind":"rename","result":"succeeded"}"#,
            r#"{"kind":"update"}"#,
        ] {
            assert!(
                filter_names(&event("stack_update", json)).is_empty(),
                "{json}"
            );
        }
    }

    #[test]
    fn deployments_are_named_by_status() {
        for (fixture_name, expected) in [
            ("deployment-queued", "deployment_queued"),
            ("deployment-running", "deployment_started"),
            ("deployment-succeeded", "deployment_succeeded"),
            ("deployment-failed", "deployment_failed"),
        ] {
            assert_eq!(
                filter_names(&fixture("deployment", fixture_name)),
                [expected]
            );
        }
        let accepted = event("deployment", r#"{"status":"accepted"}"#);
        assert_eq!(filter_names(&accepted), ["deployment_queued"]);
    }

    #[test]
    fn a_drift_run_that_found_drift_is_drift_detected_and_succeeded() {
        assert_eq!(
            filter_names(&fixture("drift_detection", "drift_detection-drifted")),
            ["drift_detected", "drift_detection_succeeded"]
        );
        assert_eq!(
            filter_names(&fixture("drift_detection", "drift_detection-clean")),
            ["drift_detection_succeeded"]
        );
        let failed = event("drift_detection", r#"{"status":"failed"}"#);
        assert_eq!(filter_names(&failed), ["drift_detection_failed"]);
    }

    #[test]
    fn drift_remediations_are_named_by_status() {
        assert_eq!(
            filter_names(&fixture("drift_remediation", "drift_remediation-failed")),
            ["drift_remediation_failed"]
        );
    }

    #[test]
    fn policy_violations_are_named_by_the_level_in_their_kind() {
        let body = "policy_violation-mandatory";
        assert_eq!(
            filter_names(&fixture("policy_violation_mandatory", body)),
            ["policy_violation_mandatory"]
        );
        assert_eq!(
            filter_names(&fixture("policy_violation_advisory", body)),
            ["policy_violation_advisory"]
        );
        // The documented kind does not say the level, and neither does any documented field.
        assert!(filter_names(&fixture("policy_violation", body)).is_empty());
    }

    #[test]
    fn stack_and_environment_events_are_named_by_their_action() {
        for (kind, fixture_name, expected) in [
            ("stack", "stack-created", "stack_created"),
            ("stack", "stack-deleted", "stack_deleted"),
            ("environment", "environment-created", "environment_created"),
            (
                "environment_revision",
                "environment_revision-created",
                "environment_revision_created",
            ),
            (
                "environment_revision_tag",
                "environment_revision_tag-created",
                "environment_revision_tag_created",
            ),
            (
                "environment_tag",
                "environment_tag-deleted",
                "environment_tag_deleted",
            ),
            (
                "imported_environment_changed",
                "imported_environment_changed",
                "imported_environment_changed",
            ),
        ] {
            assert_eq!(filter_names(&fixture(kind, fixture_name)), [expected]);
        }
    }

    #[test]
    fn pings_teams_and_unknown_kinds_have_no_filter_name() {
        assert!(filter_names(&fixture("ping", "ping")).is_empty());
        assert!(filter_names(&fixture("team", "team-updated")).is_empty());
        assert!(filter_names(&fixture("change_request", "unknown-kind")).is_empty());
    }

    #[test]
    fn every_filter_name_round_trips_and_belongs_to_a_known_kind() {
        for filter in Filter::ALL {
            assert_eq!(Filter::parse(filter.as_str()), Some(*filter));
            assert!(Kind::NAMES.contains(&filter.kind().as_str()), "{filter}");
        }
    }

    #[test]
    fn failures_are_failed_outcomes_drift_and_mandatory_violations() {
        let failures: Vec<&str> = Filter::ALL
            .iter()
            .filter(|f| f.is_failure())
            .map(|f| f.as_str())
            .collect();
        assert_eq!(
            failures,
            [
                "preview_failed",
                "update_failed",
                "destroy_failed",
                "refresh_failed",
                "import_failed",
                "deployment_failed",
                "drift_detected",
                "drift_detection_failed",
                "drift_remediation_failed",
                "policy_violation_mandatory",
            ]
        );
    }
}

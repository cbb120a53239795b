//! Pulumi Cloud webhook payloads as Rust types: one type per event kind.
//!
//! Every field is optional, because real deliveries vary between Pulumi Cloud versions and event
//! sub-kinds. Fields whose values form a known set (results, statuses, operations) are enums with
//! an `Other` variant, so a new value from Pulumi is carried through instead of failing the parse.
//! A body that is valid JSON but does not fit its kind's type, and any kind this relay does not
//! know yet, becomes [`Event::Other`] with the raw JSON: nothing is ever dropped.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

/// The `Pulumi-Webhook-Kind` header values this relay understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Stack,
    Team,
    StackUpdate,
    StackPreview,
    Deployment,
    DriftDetection,
    DriftRemediation,
    /// `policy_violation`; some senders use the filter names `policy_violation_mandatory` /
    /// `policy_violation_advisory` as the kind, which also say the enforcement level.
    PolicyViolation(Option<Enforcement>),
    /// A Pulumi ESC environment event.
    Esc(EscKind),
    /// The test delivery sent by Pulumi Cloud's "Ping" button and API.
    Ping,
    /// A kind Pulumi Cloud added after this relay was written.
    Unknown(String),
}

/// How a violated policy is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    Mandatory,
    Advisory,
}

/// The ESC (environments) event kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscKind {
    Environment,
    Revision,
    RevisionTag,
    Tag,
    ImportedEnvironmentChanged,
}

impl Kind {
    /// The header values [`Kind::parse`] knows (everything else is [`Kind::Unknown`]).
    pub const NAMES: &[&str] = &[
        "stack",
        "team",
        "stack_update",
        "stack_preview",
        "deployment",
        "drift_detection",
        "drift_remediation",
        "policy_violation",
        "policy_violation_mandatory",
        "policy_violation_advisory",
        "environment",
        "environment_revision",
        "environment_revision_tag",
        "environment_tag",
        "imported_environment_changed",
        "ping",
    ];

    pub fn parse(header: &str) -> Kind {
        match header {
            "stack" => Kind::Stack,
            "team" => Kind::Team,
            "stack_update" => Kind::StackUpdate,
            "stack_preview" => Kind::StackPreview,
            "deployment" => Kind::Deployment,
            "drift_detection" => Kind::DriftDetection,
            "drift_remediation" => Kind::DriftRemediation,
            "policy_violation" => Kind::PolicyViolation(None),
            "policy_violation_mandatory" => Kind::PolicyViolation(Some(Enforcement::Mandatory)),
            "policy_violation_advisory" => Kind::PolicyViolation(Some(Enforcement::Advisory)),
            "environment" => Kind::Esc(EscKind::Environment),
            "environment_revision" => Kind::Esc(EscKind::Revision),
            "environment_revision_tag" => Kind::Esc(EscKind::RevisionTag),
            "environment_tag" => Kind::Esc(EscKind::Tag),
            "imported_environment_changed" => Kind::Esc(EscKind::ImportedEnvironmentChanged),
            "ping" => Kind::Ping,
            other => Kind::Unknown(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Kind::Stack => "stack",
            Kind::Team => "team",
            Kind::StackUpdate => "stack_update",
            Kind::StackPreview => "stack_preview",
            Kind::Deployment => "deployment",
            Kind::DriftDetection => "drift_detection",
            Kind::DriftRemediation => "drift_remediation",
            Kind::PolicyViolation(None) => "policy_violation",
            Kind::PolicyViolation(Some(Enforcement::Mandatory)) => "policy_violation_mandatory",
            Kind::PolicyViolation(Some(Enforcement::Advisory)) => "policy_violation_advisory",
            Kind::Esc(EscKind::Environment) => "environment",
            Kind::Esc(EscKind::Revision) => "environment_revision",
            Kind::Esc(EscKind::RevisionTag) => "environment_revision_tag",
            Kind::Esc(EscKind::Tag) => "environment_tag",
            Kind::Esc(EscKind::ImportedEnvironmentChanged) => "imported_environment_changed",
            Kind::Ping => "ping",
            Kind::Unknown(kind) => kind,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

// Filters whose delivery kind Pulumi does not document (`import_*` is carried by `stack_update`
// by analogy with the other operations; `change_request_*`, `environment_rotation_*` and
// `deployment_file_ingestion_failed` are left out, since their deliveries cannot be recognised).
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

/// A parsed webhook delivery body.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Stack(StackEvent),
    Team(TeamEvent),
    StackUpdate(UpdateEvent),
    StackPreview(UpdateEvent),
    Deployment(DeploymentEvent),
    DriftDetection(DriftDetectionEvent),
    DriftRemediation(DriftRemediationEvent),
    PolicyViolation(Option<Enforcement>, PolicyViolationEvent),
    Esc(EscKind, EnvironmentEvent),
    Ping(PingEvent),
    /// Relayed as pretty-printed JSON: an unknown kind, or a body that does not fit its kind.
    Other(OtherEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OtherEvent {
    pub kind: Kind,
    pub payload: serde_json::Value,
    pub reason: OtherReason,
}

impl OtherEvent {
    /// The documented common fields, read from the JSON where present.
    pub fn origin(&self) -> Origin<'_> {
        let str_at = |path: &[&str]| at(&self.payload, path).and_then(|v| v.as_str());
        Origin {
            user: str_at(&["user", "name"]).or_else(|| str_at(&["user", "githubLogin"])),
            organization: str_at(&["organization", "githubLogin"])
                .or_else(|| str_at(&["organization", "name"])),
            project: str_at(&["projectName"]),
            stack: str_at(&["stackName"]),
        }
    }
}

/// The value at `path` (object keys): `Value::pointer` without its allocation per segment.
fn at<'v>(value: &'v serde_json::Value, path: &[&str]) -> Option<&'v serde_json::Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

#[derive(Debug, Clone, PartialEq)]
pub enum OtherReason {
    UnknownKind,
    /// Valid JSON whose shape does not match the documented payload (serde's explanation).
    UnexpectedShape(String),
}

/// The body is not JSON at all: the only parse failure that is the sender's fault.
#[derive(Debug, thiserror::Error)]
#[error("the body is not valid JSON: {0}")]
pub struct InvalidJson(#[from] serde_json::Error);

impl Event {
    /// Parses `body` as the payload of a `kind` delivery.
    pub fn parse(kind: Kind, body: &[u8]) -> Result<Event, InvalidJson> {
        fn typed<'a, T: Deserialize<'a>>(
            kind: Kind,
            body: &'a [u8],
            wrap: impl FnOnce(T) -> Event,
        ) -> Result<Event, InvalidJson> {
            match serde_json::from_slice::<T>(body) {
                Ok(event) => Ok(wrap(event)),
                // Either not JSON (the caller's error) or JSON of another shape (relay it raw).
                Err(shape) => {
                    let payload = serde_json::from_slice(body)?;
                    Ok(Event::Other(OtherEvent {
                        kind,
                        payload,
                        reason: OtherReason::UnexpectedShape(shape.to_string()),
                    }))
                }
            }
        }
        match kind {
            Kind::Stack => typed(kind, body, Event::Stack),
            Kind::Team => typed(kind, body, Event::Team),
            Kind::StackUpdate => typed(kind, body, Event::StackUpdate),
            Kind::StackPreview => typed(kind, body, Event::StackPreview),
            Kind::Deployment => typed(kind, body, Event::Deployment),
            Kind::DriftDetection => typed(kind, body, Event::DriftDetection),
            Kind::DriftRemediation => typed(kind, body, Event::DriftRemediation),
            Kind::PolicyViolation(level) => typed(kind, body, |e| Event::PolicyViolation(level, e)),
            Kind::Esc(esc) => typed(kind, body, |e| Event::Esc(esc, e)),
            Kind::Ping => typed(kind, body, Event::Ping),
            Kind::Unknown(_) => Ok(Event::Other(OtherEvent {
                kind,
                payload: serde_json::from_slice(body)?,
                reason: OtherReason::UnknownKind,
            })),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Event::Stack(_) => Kind::Stack,
            Event::Team(_) => Kind::Team,
            Event::StackUpdate(_) => Kind::StackUpdate,
            Event::StackPreview(_) => Kind::StackPreview,
            Event::Deployment(_) => Kind::Deployment,
            Event::DriftDetection(_) => Kind::DriftDetection,
            Event::DriftRemediation(_) => Kind::DriftRemediation,
            Event::PolicyViolation(level, _) => Kind::PolicyViolation(*level),
            Event::Esc(esc, _) => Kind::Esc(*esc),
            Event::Ping(_) => Kind::Ping,
            Event::Other(other) => other.kind.clone(),
        }
    }

    /// Who and where, for logs and messages; for raw events, read from the JSON if present.
    pub fn origin(&self) -> Origin<'_> {
        match self {
            Event::Stack(e) => e.origin(),
            Event::Team(e) => e.origin(),
            Event::StackUpdate(e) | Event::StackPreview(e) => e.origin(),
            Event::Deployment(e) => e.origin(),
            Event::DriftDetection(e) => e.origin(),
            Event::DriftRemediation(e) => e.origin(),
            Event::PolicyViolation(_, e) => e.origin(),
            Event::Esc(_, e) => Origin {
                stack: e.environment_name.as_deref(),
                ..e.origin()
            },
            Event::Ping(_) => Origin::default(),
            Event::Other(e) => e.origin(),
        }
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
            Event::Deployment(e) => match e.status {
                Some(Status::NotStarted | Status::Queued | Status::Accepted) => {
                    Filters::one(DeploymentQueued)
                }
                Some(Status::Running | Status::InProgress) => Filters::one(DeploymentStarted),
                Some(Status::Succeeded) => Filters::one(DeploymentSucceeded),
                Some(Status::Failed) => Filters::one(DeploymentFailed),
                _ => Filters::default(),
            },
            Event::DriftDetection(e) => {
                let run = match e.status {
                    Some(Status::Succeeded) => Some(DriftDetectionSucceeded),
                    Some(Status::Failed) => Some(DriftDetectionFailed),
                    _ => None,
                };
                match e.drift_detected {
                    Some(true) => Filters([Some(DriftDetected), run]),
                    _ => run.into(),
                }
            }
            Event::DriftRemediation(e) => match e.status {
                Some(Status::Succeeded) => Filters::one(DriftRemediationSucceeded),
                Some(Status::Failed) => Filters::one(DriftRemediationFailed),
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
    let succeeded = match e.result {
        Some(Status::Succeeded) => true,
        Some(Status::Failed) => false,
        _ => return None,
    };
    let preview =
        preview_kind || e.is_preview == Some(true) || matches!(e.kind, Some(Operation::Preview));
    let (ok, failed) = if preview {
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

/// The actor and location of an event, borrowed from the payload.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin<'a> {
    pub user: Option<&'a str>,
    /// The organization's login (its URL name), falling back to its display name.
    pub organization: Option<&'a str>,
    /// The project, or for ESC events the ESC project.
    pub project: Option<&'a str>,
    /// The stack, or for ESC events the environment.
    pub stack: Option<&'a str>,
}

/// The Pulumi Cloud user who requested the action.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub name: Option<String>,
    pub github_login: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub name: Option<String>,
    pub github_login: Option<String>,
}

/// Declares a payload type with the fields every Pulumi event carries (`user`, `organization`,
/// `projectName`, `stackName`) plus its own. Written out instead of `#[serde(flatten)]`, which
/// buffers the whole object and roughly doubles parse time on the hot path.
macro_rules! payload {
    ($(#[$meta:meta])* pub struct $name:ident { $($(#[$field_meta:meta])* pub $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            pub user: Option<User>,
            pub organization: Option<Organization>,
            pub project_name: Option<String>,
            pub stack_name: Option<String>,
            $($(#[$field_meta])* pub $field: $ty,)*
        }

        impl $name {
            pub fn origin(&self) -> Origin<'_> {
                let user = self.user.as_ref();
                let org = self.organization.as_ref();
                Origin {
                    user: user.and_then(|u| u.name.as_deref().or(u.github_login.as_deref())),
                    organization: org
                        .and_then(|o| o.github_login.as_deref().or(o.name.as_deref())),
                    project: self.project_name.as_deref(),
                    stack: self.stack_name.as_deref(),
                }
            }
        }
    };
}

/// Declares a string-valued enum whose unknown values are kept in `Other` rather than rejected.
macro_rules! open_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name {
            $($variant,)*
            Other(String),
        }

        // Read from the borrowed text: only a value this relay has no variant for is copied.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<$name, E> {
                        Ok($name::from(value))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($text => $name::$variant,)*
                    _ => $name::Other(value.to_owned()),
                }
            }
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(value) => value,
                }
            }
        }
    };
}

open_enum! {
    /// What happened to a stack (`stack` events).
    pub enum StackAction {
        Created = "created",
        Deleted = "deleted",
    }
}

open_enum! {
    /// What happened to a team (`team` events).
    pub enum TeamAction {
        Created = "created",
        Updated = "updated",
        Deleted = "deleted",
    }
}

open_enum! {
    /// The Pulumi operation an update, preview or deployment ran.
    pub enum Operation {
        Update = "update",
        Preview = "preview",
        Refresh = "refresh",
        Destroy = "destroy",
        Import = "import",
        ResourceImport = "resource-import",
        Rename = "rename",
        DetectDrift = "detect-drift",
        RemediateDrift = "remediate-drift",
    }
}

open_enum! {
    /// How an update, preview, deployment or drift run ended (or where it is).
    pub enum Status {
        NotStarted = "not-started",
        Queued = "queued",
        Accepted = "accepted",
        Running = "running",
        InProgress = "in-progress",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
        Skipped = "skipped",
    }
}

/// Counts of resource operations, keyed by Pulumi's op names (`create`, `update`, `delete`,
/// `same`, `replace`, `create-replacement`, `delete-replaced`, `update-replace`, `read`, …).
pub type ResourceChanges = BTreeMap<String, u64>;

payload! {
    /// `stack`: a stack was created or deleted (organization webhooks only).
    pub struct StackEvent {
        pub action: Option<StackAction>,
    }
}

payload! {
    /// `team`: a team was created, changed or deleted.
    pub struct TeamEvent {
        pub action: Option<TeamAction>,
        pub team: Option<Team>,
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Team {
    pub name: Option<String>,
    #[serde(default)]
    pub members: Vec<User>,
    #[serde(default)]
    pub stacks: Vec<TeamStack>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamStack {
    pub project_name: Option<String>,
    pub stack_name: Option<String>,
    pub permission: Option<String>,
}

payload! {
    /// `stack_update` and `stack_preview`: an operation on a stack finished.
    pub struct UpdateEvent {
        pub update_url: Option<String>,
        pub kind: Option<Operation>,
        pub result: Option<Status>,
        pub resource_changes: Option<ResourceChanges>,
        pub is_preview: Option<bool>,
    }
}

payload! {
    /// `deployment`: a Pulumi Deployments run changed status.
    pub struct DeploymentEvent {
        pub deployment_url: Option<String>,
        pub version: Option<u64>,
        pub operation: Option<Operation>,
        pub status: Option<Status>,
    }
}

payload! {
    /// `drift_detection`: a drift detection run finished.
    pub struct DriftDetectionEvent {
        pub drift_detected: Option<bool>,
        pub drift_run_id: Option<String>,
        pub status: Option<Status>,
        pub resource_changes: Option<ResourceChanges>,
        pub reference_url: Option<String>,
    }
}

payload! {
    /// `drift_remediation`: a drift remediation run finished.
    pub struct DriftRemediationEvent {
        pub status: Option<Status>,
        pub resource_changes: Option<ResourceChanges>,
        pub reference_url: Option<String>,
    }
}

payload! {
    /// `policy_violation`: a policy pack found violations during an operation.
    ///
    /// Pulumi documents the filters but publishes no sample payload; the fields it shares with
    /// updates are typed, and everything else is kept in `details` so the message can show it.
    pub struct PolicyViolationEvent {
        pub update_url: Option<String>,
        pub kind: Option<Operation>,
        pub result: Option<Status>,
        #[serde(flatten)]
        pub details: BTreeMap<String, serde_json::Value>,
    }
}

payload! {
    /// The ESC environment events (`environment`, `environment_revision`, `environment_tag`,
    /// `environment_revision_tag`, `imported_environment_changed`); `projectName` is the ESC
    /// project. `stackName` never appears and stays `None`.
    pub struct EnvironmentEvent {
        pub environment_name: Option<String>,
        pub action: Option<String>,
        pub revision: Option<u64>,
        pub tag_name: Option<String>,
        pub affected_revisions: Option<Vec<u64>>,
        pub imported_environment_reference: Option<EnvironmentReference>,
    }
}

/// The environment an `imported_environment_changed` event is about.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentReference {
    pub project_name: Option<String>,
    pub environment_name: Option<String>,
    pub revision: Option<u64>,
}

/// `ping`: Pulumi Cloud's test delivery.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PingEvent {
    /// Unix seconds.
    pub timestamp: Option<i64>,
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_header_names() {
        for name in [
            "stack",
            "team",
            "stack_update",
            "stack_preview",
            "deployment",
            "drift_detection",
            "drift_remediation",
            "policy_violation",
            "policy_violation_mandatory",
            "policy_violation_advisory",
            "environment",
            "environment_revision",
            "environment_revision_tag",
            "environment_tag",
            "imported_environment_changed",
            "ping",
        ] {
            assert_eq!(Kind::parse(name).as_str(), name);
        }
        assert_eq!(Kind::parse("brand_new"), Kind::Unknown("brand_new".into()));
    }

    #[test]
    fn unknown_enum_values_are_kept_not_rejected() {
        let event: UpdateEvent =
            serde_json::from_str(r#"{"kind":"teleport","result":"exploded"}"#).unwrap();
        assert_eq!(event.kind, Some(Operation::Other("teleport".into())));
        assert_eq!(event.result.as_ref().map(Status::as_str), Some("exploded"));
    }

    #[test]
    fn an_empty_object_parses_with_every_field_absent() {
        let event = Event::parse(Kind::Deployment, b"{}").unwrap();
        assert_eq!(event, Event::Deployment(DeploymentEvent::default()));
        assert_eq!(event.origin(), Origin::default());
    }

    #[test]
    fn nulls_count_as_absent() {
        let event = Event::parse(Kind::Stack, br#"{"user":null,"action":null}"#).unwrap();
        assert_eq!(event, Event::Stack(StackEvent::default()));
    }

    #[test]
    fn a_wrongly_typed_field_falls_back_to_raw_json_with_the_reason() {
        let body = br#"{"stackName":"dev","resourceChanges":"lots"}"#;
        let Event::Other(other) = Event::parse(Kind::StackUpdate, body).unwrap() else {
            panic!("expected a raw event");
        };
        assert_eq!(other.kind, Kind::StackUpdate);
        assert!(
            matches!(other.reason, OtherReason::UnexpectedShape(ref why) if why.contains("invalid type"))
        );
        assert_eq!(other.payload["stackName"], "dev");
    }

    #[test]
    fn a_non_object_body_is_relayed_raw() {
        let event = Event::parse(Kind::Stack, b"[1,2]").unwrap();
        assert!(matches!(event, Event::Other(_)));
    }

    #[test]
    fn invalid_json_is_an_error_for_known_and_unknown_kinds() {
        assert!(Event::parse(Kind::Stack, b"{").is_err());
        assert!(Event::parse(Kind::Unknown("x".into()), b"nope").is_err());
    }

    #[test]
    fn policy_violations_keep_undocumented_fields() {
        let body = br#"{"stackName":"prod","result":"failed","policyPack":"security","message":"no public buckets"}"#;
        let kind = Kind::parse("policy_violation_mandatory");
        let Event::PolicyViolation(Some(Enforcement::Mandatory), event) =
            Event::parse(kind, body).unwrap()
        else {
            panic!("expected a mandatory policy violation");
        };
        assert_eq!(event.result, Some(Status::Failed));
        assert_eq!(event.details["policyPack"], "security");
        assert!(!event.details.contains_key("stackName"));
    }

    #[test]
    fn raw_events_still_report_their_origin() {
        let body = br#"{"organization":{"githubLogin":"acme"},"stackName":"prod","user":{"githubLogin":"ann"}}"#;
        let event = Event::parse(Kind::Unknown("change_request".into()), body).unwrap();
        let origin = event.origin();
        assert_eq!(origin.organization, Some("acme"));
        assert_eq!(origin.stack, Some("prod"));
        assert_eq!(origin.user, Some("ann"));
    }
}

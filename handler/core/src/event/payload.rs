//! The payload of each kind of delivery as Rust types. Every field is optional, because real
//! deliveries vary between Pulumi Cloud versions and event sub-kinds; fields whose values form a
//! known set are open enums that keep an unknown value instead of failing the parse.

use std::collections::BTreeMap;

use serde::Deserialize;

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
            /// The stack as Pulumi Cloud's API paths name it: the organization by its login
            /// (`githubLogin`), never the display name [`Self::origin`] falls back to; `None`
            /// when a part is missing or empty.
            pub fn stack_ref(&self) -> Option<crate::stack::StackRef> {
                let part = |p: Option<&String>| p.filter(|p| !p.is_empty()).cloned();
                Some(crate::stack::StackRef {
                    organization: part(self.organization.as_ref()?.github_login.as_ref())?,
                    project: part(self.project_name.as_ref())?,
                    stack: part(self.stack_name.as_ref())?,
                })
            }

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

impl UpdateEvent {
    /// Whether this run was a preview: delivered as `stack_preview`, or a `stack_update` that says
    /// so (`isPreview`, or the operation `preview`). Filter names, the message and threading all
    /// ask this, so a preview is never rendered or threaded as an update.
    pub fn is_preview(&self, delivered_as_preview: bool) -> bool {
        delivered_as_preview
            || self.is_preview == Some(true)
            || matches!(self.kind, Some(Operation::Preview))
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

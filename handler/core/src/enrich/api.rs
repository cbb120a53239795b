//! The Pulumi Cloud REST API as the relay reads it: the paths it calls and the parts of the
//! answers it uses, from Pulumi Cloud's OpenAPI description (`GetStackUpdate`, `GetStackPreview`,
//! `GetEngineEvents_update` / `_preview`, `GetDeployment_version`, `GetDeploymentUpdates`,
//! `GetDeploymentLogs`, `GetDriftRun`) and pulumi/pulumi `sdk/go/common/apitype` (`events.go`,
//! `deployments.go`). Every field the relay does not need is ignored and every field it does is
//! optional, so an answer with more (or fewer) fields still reads.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A list the API may send as `null` (a Go nil slice) or leave out: empty either way.
fn list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

use super::StackRef;

/// `Authorization: token <token>` goes with this media type on every call.
pub const ACCEPT: &str = "application/vnd.pulumi+8";

/// Whether engine events are read from an update's log or a preview's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Update,
    Preview,
}

/// A path below the API's base URL, as segments (each still to be percent-encoded).
pub type Path = Vec<String>;

pub(crate) fn stack_path(stack: &StackRef, rest: &[&str]) -> Path {
    [
        "api",
        "stacks",
        &stack.organization,
        &stack.project,
        &stack.stack,
    ]
    .iter()
    .chain(rest)
    .map(|s| (*s).to_owned())
    .collect()
}

/// `GET …/updates/{version}`: an [`UpdateInfo`].
pub fn update(stack: &StackRef, version: u64) -> Path {
    stack_path(stack, &["updates", &version.to_string()])
}

/// `GET …/update/{updateID}/events` or `…/preview/{updateID}/events`: an [`EventsPage`], paged by
/// its `continuationToken`. The CLI reads every run's events, previews' too, from `update/`
/// (pulumi/pulumi `pkg/backend/httpstate/client/client.go`, `getUpdatePath`).
pub fn events(stack: &StackRef, kind: RunKind, update_id: &str) -> Path {
    let run = match kind {
        RunKind::Update => "update",
        RunKind::Preview => "preview",
    };
    stack_path(stack, &[run, update_id, "events"])
}

/// `GET …/deployments/version/{version}`: a [`Deployment`].
pub fn deployment(stack: &StackRef, version: u64) -> Path {
    stack_path(stack, &["deployments", "version", &version.to_string()])
}

/// `GET …/deployments/{id}/updates`: the [`DeploymentUpdate`]s a deployment ran.
pub fn deployment_updates(stack: &StackRef, id: &str) -> Path {
    stack_path(stack, &["deployments", id, "updates"])
}

/// `GET …/deployments/{id}/logs?job=&step=&offset=&count=`: a [`StepLogPage`].
pub fn deployment_logs(stack: &StackRef, id: &str) -> Path {
    stack_path(stack, &["deployments", id, "logs"])
}

/// `GET …/drift/runs/{driftRunId}`: a [`DriftRun`].
pub fn drift_run(stack: &StackRef, run_id: &str) -> Path {
    stack_path(stack, &["drift", "runs", run_id])
}

/// `UpdateInfo`: the update a version names.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateInfo {
    #[serde(rename = "updateID")]
    pub update_id: Option<String>,
}

/// `GetUpdateEventsResponse`. `continuationToken` is null once every event of a finished run has
/// been returned.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventsPage {
    #[serde(default, deserialize_with = "list")]
    pub events: Vec<EngineEvent>,
    pub continuation_token: Option<String>,
}

/// `EngineEvent`: one of its payload fields is set, as its `type` says.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineEvent {
    pub diagnostic_event: Option<DiagnosticEvent>,
    pub res_op_failed_event: Option<StepEvent>,
    pub resource_pre_event: Option<StepEvent>,
    pub res_outputs_event: Option<StepEvent>,
}

/// `DiagnosticEvent`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiagnosticEvent {
    pub urn: Option<String>,
    pub message: Option<String>,
    /// `debug`, `info`, `info#err`, `warning` or `error`.
    pub severity: Option<String>,
    pub ephemeral: Option<bool>,
}

/// `ResourcePreEvent`, `ResOutputsEvent` and `ResOpFailedEvent` all carry a step's metadata.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepEvent {
    #[serde(default)]
    pub metadata: StepMetadata,
    #[serde(default)]
    pub planning: bool,
}

/// `StepEventMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepMetadata {
    #[serde(default)]
    pub op: String,
    #[serde(default)]
    pub urn: String,
    /// Keys that changed with this step.
    #[serde(default, deserialize_with = "list")]
    pub diffs: Vec<String>,
    /// The resource's state after the step: `null` when there is none, as for a resource a
    /// refresh found deleted.
    pub new: Option<serde::de::IgnoredAny>,
    /// Property paths to their kind of difference; more precise than `diffs` when present.
    pub detailed_diff: Option<BTreeMap<String, serde_json::Value>>,
}

/// `GetDeploymentResponse`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub id: Option<String>,
    /// `update`, `preview`, `destroy`, `refresh`, `detect-drift`, `remediate-drift`.
    pub pulumi_operation: Option<String>,
    #[serde(default, deserialize_with = "list")]
    pub jobs: Vec<DeploymentJob>,
}

/// `DeploymentJob`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeploymentJob {
    #[serde(default, deserialize_with = "list")]
    pub steps: Vec<StepRun>,
}

/// `StepRun`: a step of a deployment's job (`not-started`, `running`, `failed`, `succeeded`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StepRun {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
}

/// One of `GetDeploymentUpdates`' items: an `UpdateInfo`, whose result is in its `info`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeploymentUpdate {
    #[serde(rename = "updateID")]
    pub update_id: Option<String>,
    pub info: Option<UpdateResult>,
}

/// `AppUpdateInfo`'s result (`not-started`, `in-progress`, `succeeded`, `failed`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpdateResult {
    pub result: Option<String>,
}

/// `DeploymentLogsStep`: a page of one step's log (step mode), `nextOffset` set when more follow.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepLogPage {
    #[serde(default, deserialize_with = "list")]
    pub lines: Vec<LogLine>,
    pub next_offset: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct LogLine {
    #[serde(default)]
    pub line: String,
}

/// Log lines asked for per page (`count`: 1 to 499).
pub const LOG_PAGE_LINES: u32 = 499;

/// `DriftRun`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftRun {
    pub detect_update: Option<DriftRunUpdate>,
}

/// `DriftRunUpdate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftRunUpdate {
    pub update_id: Option<String>,
}

impl Deployment {
    /// The first job's failed step, by index, with its name.
    pub fn failed_step(&self) -> Option<(usize, &str)> {
        let job = self.jobs.first()?;
        job.steps
            .iter()
            .position(|s| s.status == "failed")
            .map(|i| (i, job.steps[i].name.as_str()))
    }

    /// Where its update's engine events are: a preview deployment's are a preview's.
    pub fn run_kind(&self) -> RunKind {
        match self.pulumi_operation.as_deref() {
            Some("preview") => RunKind::Preview,
            _ => RunKind::Update,
        }
    }
}

/// `GetDeploymentUpdates`' answer: a list, which a deployment with no update may send as `null`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct DeploymentUpdates(#[serde(deserialize_with = "list")] pub Vec<DeploymentUpdate>);

/// Of a deployment's updates, the one that says why it failed: the last failed one, else the last.
pub fn failing_update(updates: &[DeploymentUpdate]) -> Option<&str> {
    updates
        .iter()
        .rev()
        .find(|u| {
            u.info
                .as_ref()
                .and_then(|i| i.result.as_deref())
                .is_some_and(|r| r == "failed")
        })
        .or(updates.last())
        .and_then(|u| u.update_id.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_stack_and_the_run() {
        let stack = StackRef {
            organization: "acme".into(),
            project: "site".into(),
            stack: "prod".into(),
        };
        assert_eq!(
            update(&stack, 42).join("/"),
            "api/stacks/acme/site/prod/updates/42"
        );
        assert_eq!(
            events(&stack, RunKind::Preview, "u-1").join("/"),
            "api/stacks/acme/site/prod/preview/u-1/events"
        );
        assert_eq!(
            deployment(&stack, 7).join("/"),
            "api/stacks/acme/site/prod/deployments/version/7"
        );
        assert_eq!(
            drift_run(&stack, "r").join("/"),
            "api/stacks/acme/site/prod/drift/runs/r"
        );
    }

    #[test]
    fn the_failing_update_is_the_last_failed_one() {
        let updates: Vec<DeploymentUpdate> = serde_json::from_str(
            r#"[{"updateID": "a", "info": {"result": "succeeded"}},
                {"updateID": "b", "info": {"result": "failed"}},
                {"updateID": "c", "info": {"result": "succeeded"}}]"#,
        )
        .unwrap();
        assert_eq!(failing_update(&updates), Some("b"));
        assert_eq!(failing_update(&updates[..1]), Some("a"));
        assert_eq!(failing_update(&[]), None);
    }

    #[test]
    fn lists_sent_as_null_are_empty() {
        let page: EventsPage =
            serde_json::from_str(r#"{"events": null, "continuationToken": null}"#).unwrap();
        assert!(page.events.is_empty());
        let updates: DeploymentUpdates = serde_json::from_str("null").unwrap();
        assert!(updates.0.is_empty());
        let job: DeploymentJob = serde_json::from_str(r#"{"steps": null}"#).unwrap();
        assert!(job.steps.is_empty());
    }

    #[test]
    fn a_deployment_says_which_step_failed() {
        let deployment: Deployment = serde_json::from_str(
            r#"{"id": "d", "jobs": [{"status": "failed", "steps": [
                {"name": "Get source", "status": "succeeded"},
                {"name": "Install dependencies", "status": "failed"}]}]}"#,
        )
        .unwrap();
        assert_eq!(deployment.failed_step(), Some((1, "Install dependencies")));
        assert_eq!(deployment.run_kind(), RunKind::Update);
    }
}

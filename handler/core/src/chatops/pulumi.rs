//! The Pulumi Cloud calls ChatOps makes, their answers, and what each failure tells the person
//! in Slack to do.
//!
//! - `status`: `GET /api/stacks/{org}/{project}/{stack}/updates/latest` (pulumi/pulumi
//!   `pkg/backend/httpstate/client/api_endpoints.go`, `getLatestStackUpdate`), an `UpdateInfo`
//!   with `requestedBy` (Pulumi Cloud's OpenAPI).
//! - the rest: `POST /api/stacks/{org}/{project}/{stack}/deployments` with `{"operation": …}`,
//!   which runs with the stack's saved deployment settings and answers 202 with a
//!   `CreateDeploymentResponse` (`id`, `version`, `consoleUrl`); 400 when the request cannot run,
//!   402 when the plan does not include it, 404 when the stack does not exist (OpenAPI,
//!   `CreateAPIDeploymentHandlerV2`).
//!
//! Pulumi Cloud's error bodies are `{"code": …, "message": …}` (pulumi/pulumi
//! `sdk/go/common/apitype`, `ErrorResponse`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Operation;
use crate::enrich::api::{Path, stack_path};
use crate::mrkdwn::{escape, truncate};
use crate::stack::StackRef;

pub fn latest_update(stack: &StackRef) -> Path {
    stack_path(stack, &["updates", "latest"])
}

pub fn deployments(stack: &StackRef) -> Path {
    stack_path(stack, &["deployments"])
}

/// `CreateDeploymentRequest` with the stack's saved settings (`inheritSettings` defaults to
/// true in the v2 handler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreateDeployment {
    pub operation: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentResponse {
    pub id: String,
    pub version: u64,
    #[serde(default)]
    pub console_url: Option<String>,
}

/// `UpdateInfo`, as far as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestUpdate {
    #[serde(default)]
    pub info: Option<AppUpdateInfo>,
    #[serde(default)]
    pub version: Option<u64>,
    #[serde(default)]
    pub requested_by: Option<UserInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUpdateInfo {
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub start_time: Option<i64>,
    #[serde(default)]
    pub end_time: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub resource_changes: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub github_login: Option<String>,
}

/// `ErrorResponse`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ErrorResponse {
    #[serde(default)]
    pub message: Option<String>,
}

/// The console's base URL for an API URL: `api.` becomes `app.` (pulumi/pulumi
/// `pkg/backend/httpstate/client/console.go`, `CloudConsoleURL`); `None` when it cannot be
/// told, and links are then left out rather than guessed.
pub fn console_url(api_url: &str) -> Option<String> {
    let (scheme, rest) = api_url.split_once("://")?;
    let host = rest.split('/').next()?;
    let console = host.strip_prefix("api.")?;
    Some(format!("{scheme}://app.{console}"))
}

/// What Pulumi Cloud's refusal means for the person who asked, and what they can do about it.
pub fn failure(
    status: u16,
    message: Option<&str>,
    operation: Operation,
    stack: &StackRef,
) -> String {
    let said = message
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .map(|m| {
            // Its words are payload text: escaped, so that they form no mention or link.
            format!(" Pulumi Cloud said: “{}”", escape(&truncate(m, 300)))
        })
        .unwrap_or_default();
    match status {
        400 | 422 if operation != Operation::Status => format!(
            "Pulumi Cloud would not start `{operation}` on `{stack}`.{said} A stack is run from \
             Slack with its saved deployment settings: check that `{stack}` has them (Stack → \
             Settings → Deploy in Pulumi Cloud)."
        ),
        401 => format!(
            "Pulumi Cloud refused the relay's access token (401).{said} Ask whoever runs the \
             relay to set a valid `pulumiAccessToken`."
        ),
        402 => {
            format!("Pulumi Cloud's plan for this organization does not include this (402).{said}")
        }
        403 => format!(
            "The relay's Pulumi access token may not {what} `{stack}` (403).{said} Give the \
             token's user or team access to the stack.",
            what = if operation == Operation::Status {
                "read"
            } else {
                "run deployments on"
            }
        ),
        404 if operation == Operation::Status => format!(
            "Pulumi Cloud has no update of `{stack}` to show (404): the stack does not exist, the \
             relay's token cannot see it, or it has never been updated. Check the name \
             (organization/project/stack, as `pulumi stack ls` shows it)."
        ),
        404 => format!(
            "Pulumi Cloud has no stack `{stack}` (404), or the relay's token cannot see it: check \
             the name (organization/project/stack, as `pulumi stack ls` shows it)."
        ),
        409 => format!(
            "`{stack}` is busy (409): an update or deployment is already running on it. Wait for \
             it to finish, then try again.{said}"
        ),
        429 => "Pulumi Cloud is rate-limiting the relay (429): try again in a minute.".to_owned(),
        500..=599 => format!(
            "Pulumi Cloud failed ({status}); nothing was started. Try again shortly (status: \
             https://www.pulumistatus.com)."
        ),
        _ => format!("Pulumi Cloud answered {status}.{said}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack() -> StackRef {
        StackRef::parse("acme/web/prod", None).unwrap()
    }

    #[test]
    fn the_calls_go_to_the_documented_paths() {
        assert_eq!(
            latest_update(&stack()),
            ["api", "stacks", "acme", "web", "prod", "updates", "latest"]
        );
        assert_eq!(
            deployments(&stack()),
            ["api", "stacks", "acme", "web", "prod", "deployments"]
        );
        assert_eq!(
            serde_json::to_string(&CreateDeployment {
                operation: Operation::Up.deployment().unwrap()
            })
            .unwrap(),
            r#"{"operation":"update"}"#
        );
    }

    #[test]
    fn the_console_is_the_apis_app_host() {
        assert_eq!(
            console_url("https://api.pulumi.com").as_deref(),
            Some("https://app.pulumi.com")
        );
        assert_eq!(
            console_url("https://api.pulumi.example.org/").as_deref(),
            Some("https://app.pulumi.example.org")
        );
        assert_eq!(console_url("http://127.0.0.1:9000"), None);
    }

    #[test]
    fn each_refusal_says_what_to_do() {
        let say = |status, message| failure(status, message, Operation::Up, &stack());
        assert!(say(400, Some("no source context")).contains("deployment settings"));
        assert!(say(400, Some("no source context")).contains("“no source context”"));
        assert!(say(401, None).contains("pulumiAccessToken"));
        assert!(say(403, None).contains("access to the stack"));
        assert!(say(404, None).contains("no stack `acme/web/prod`"));
        assert!(say(409, None).contains("already running"));
        assert!(say(429, None).contains("try again in a minute"));
        assert!(say(503, None).contains("nothing was started"));
        assert!(
            say(409, Some("<!channel> *x*")).contains("&lt;!channel&gt; *x*"),
            "Pulumi's words are escaped"
        );
    }

    #[test]
    fn an_update_info_reads_with_or_without_its_optional_parts() {
        let latest: LatestUpdate = serde_json::from_str(
            r#"{"info": {"kind": "update", "result": "failed", "startTime": 1700000000,
                "endTime": 1700000090, "resourceChanges": {"create": 2}},
                "version": 42, "updateID": "u", "latestVersion": 42,
                "requestedBy": {"name": "Morty Smith", "githubLogin": "morty"}}"#,
        )
        .unwrap();
        assert_eq!(latest.version, Some(42));
        assert_eq!(latest.info.unwrap().result.as_deref(), Some("failed"));
        assert_eq!(
            latest.requested_by.unwrap().github_login.as_deref(),
            Some("morty")
        );
        assert_eq!(
            serde_json::from_str::<LatestUpdate>("{}").unwrap(),
            LatestUpdate::default()
        );
    }
}

//! The Pulumi Cloud REST API client that adds why a run failed and what it changed to a message
//! ([`relay_core::enrich`] owns the rules: what to ask, the paths, how events fold).
//!
//! Every lookup is bounded as a whole ([`BUDGET`]) and goes through the relay's one HTTP client.
//! Whatever goes wrong (a timeout, 401, 403, 404, 5xx, an answer that is not what the API
//! describes) is an [`ApiError`] the caller logs: the message is then posted without the section,
//! never failed or retried for it. The token is only ever in the `Authorization` header, marked
//! sensitive, and appears in no error.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use relay_core::chatops::pulumi::{
    CreateDeployment, CreateDeploymentResponse, ErrorResponse, LatestUpdate,
};
use relay_core::enrich::api::{self, RunKind};
use relay_core::enrich::{Digest, Enrichment, MAX_LOG_LINES, StackRef, StepLog, Target};
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

/// The most one enrichment may take, all calls together: the message waits for it.
pub use relay_core::contract::ENRICHMENT_BUDGET as BUDGET;

/// Pages of engine events read at most, within the budget anyway: beyond them the message says
/// its counts are lower bounds ([`Enrichment::partial`]).
const MAX_EVENT_PAGES: usize = 50;
/// The longest a log line is kept, in characters (what is kept travels with a queued delivery).
const MAX_LOG_LINE_CHARS: usize = 300;
/// Pages of a deployment step's log read at most (each [`api::LOG_PAGE_LINES`] lines).
const MAX_LOG_PAGES: usize = 10;

/// Why Pulumi Cloud could not say more.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Pulumi Cloud did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("Pulumi Cloud answered {status} to GET /{path}{hint}")]
    Status {
        status: u16,
        path: String,
        hint: &'static str,
    },
    #[error("Pulumi Cloud's answer to {method} /{path} is not what its API describes: {why}")]
    Malformed {
        method: &'static str,
        path: String,
        why: String,
    },
    #[error("Pulumi Cloud could not be reached: {0}")]
    Unreachable(String),
    #[error("PULUMI_API_URL cannot take the path {0}")]
    Url(String),
}

/// The API as configured: where, and with which token.
pub struct PulumiApi {
    http: reqwest::Client,
    base: reqwest::Url,
    authorization: HeaderValue,
    budget: Duration,
}

impl std::fmt::Debug for PulumiApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PulumiApi")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Why the client cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("PULUMI_API_URL {0:?} is not an http(s) URL")]
    Url(String),
    #[error("PULUMI_ACCESS_TOKEN holds characters an HTTP header cannot carry")]
    Token,
}

impl PulumiApi {
    pub fn new(
        http: reqwest::Client,
        api_url: &str,
        token: &SecretString,
    ) -> Result<PulumiApi, ClientError> {
        let base = reqwest::Url::parse(api_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && !u.cannot_be_a_base())
            .ok_or_else(|| ClientError::Url(api_url.to_owned()))?;
        let mut authorization =
            HeaderValue::from_str(&format!("token {}", token.expose_secret().trim()))
                .map_err(|_| ClientError::Token)?;
        authorization.set_sensitive(true);
        Ok(PulumiApi {
            http,
            base,
            authorization,
            budget: BUDGET,
        })
    }

    /// What Pulumi Cloud says about `target`'s run, within the budget. When the budget runs out
    /// after some of a run's events were read, what they say is kept ([`Enrichment::partial`]).
    pub async fn enrich(&self, target: &Target) -> Result<Enrichment, ApiError> {
        let call = Call {
            api: self,
            deadline: Instant::now() + self.budget,
        };
        call.fetch(target).await
    }
}

/// One enrichment's calls, all before one deadline.
struct Call<'a> {
    api: &'a PulumiApi,
    deadline: Instant,
}

impl Call<'_> {
    async fn fetch(&self, target: &Target) -> Result<Enrichment, ApiError> {
        match target {
            Target::Update { stack, version, .. } => {
                let path = api::update(stack, *version);
                let info: api::UpdateInfo = self.get(&path, &[]).await?;
                let id = info.update_id.ok_or_else(|| missing(&path, "updateID"))?;
                self.events(stack, RunKind::Update, &id, Digest::new(false))
                    .await
            }
            Target::Preview {
                stack, update_id, ..
            } => {
                self.events(stack, RunKind::Preview, update_id, Digest::new(false))
                    .await
            }
            Target::Deployment { stack, version } => self.deployment(stack, *version).await,
            Target::Drift { stack, run_id } => {
                let path = api::drift_run(stack, run_id);
                let run: api::DriftRun = self.get(&path, &[]).await?;
                let id = run
                    .detect_update
                    .and_then(|u| u.update_id)
                    .ok_or_else(|| missing(&path, "detectUpdate.updateId"))?;
                // Its detection is a preview; the CLI reads every run's events, previews'
                // included, from `update/`: asked there when `preview/` does not know it.
                match self
                    .events(stack, RunKind::Preview, &id, Digest::new(true))
                    .await
                {
                    Err(ApiError::Status { status: 404, .. }) => {
                        self.events(stack, RunKind::Update, &id, Digest::new(true))
                            .await
                    }
                    other => other,
                }
            }
        }
    }

    /// A failed deployment: its update's failure reasons, else its failed step's last log lines
    /// (a deployment that failed before Pulumi ran, cloning or installing, has no update).
    async fn deployment(&self, stack: &StackRef, version: u64) -> Result<Enrichment, ApiError> {
        let path = api::deployment(stack, version);
        let deployment: api::Deployment = self.get(&path, &[]).await?;
        let id = deployment.id.clone().ok_or_else(|| missing(&path, "id"))?;
        // A deployment that stopped before Pulumi ran may have no updates to list (404 or none).
        let updates: api::DeploymentUpdates =
            match self.get(&api::deployment_updates(stack, &id), &[]).await {
                Err(ApiError::Status { status: 404, .. }) => api::DeploymentUpdates::default(),
                other => other?,
            };
        let updates = updates.0;
        if let Some(update_id) = api::failing_update(&updates) {
            let enrichment = self
                .events(stack, deployment.run_kind(), update_id, Digest::new(false))
                .await?;
            if !enrichment.errors.is_empty() || !enrichment.failed.is_empty() {
                return Ok(enrichment);
            }
        }
        let Some((step, name)) = deployment.failed_step() else {
            return Ok(Enrichment::default());
        };
        let lines = self.log_tail(stack, &id, step).await?;
        Ok(Enrichment {
            log: (!lines.is_empty()).then(|| StepLog {
                step: name.to_owned(),
                lines,
            }),
            ..Enrichment::default()
        })
    }

    /// Reads a run's engine events, every page, into `digest`. Boxed: four callers would each
    /// inline the paging loop (the Lambda zip counts every kilobyte, BENCHMARKS.md).
    fn events<'a>(
        &'a self,
        stack: &'a StackRef,
        kind: RunKind,
        update_id: &'a str,
        digest: Digest,
    ) -> BoxFuture<'a, Result<Enrichment, ApiError>> {
        Box::pin(self.read_events(stack, kind, update_id, digest))
    }

    async fn read_events(
        &self,
        stack: &StackRef,
        kind: RunKind,
        update_id: &str,
        mut digest: Digest,
    ) -> Result<Enrichment, ApiError> {
        let path = api::events(stack, kind, update_id);
        let mut token: Option<String> = None;
        for page_number in 1..=MAX_EVENT_PAGES {
            let query: Vec<(&str, String)> = token
                .iter()
                .map(|t| ("continuationToken", t.clone()))
                .collect();
            let page: api::EventsPage = match self.get(&path, &query).await {
                // Out of time with part of the run read: what it says is kept.
                Err(ApiError::Timeout(_)) if page_number > 1 => {
                    digest.truncated();
                    break;
                }
                other => other?,
            };
            page.events.iter().for_each(|e| digest.add(e));
            // Null once a finished run's events are all read; an empty page ends it too (a run
            // still being written hands out tokens for events that do not exist yet).
            match page.continuation_token {
                Some(next) if !next.is_empty() && !page.events.is_empty() => {
                    if page_number == MAX_EVENT_PAGES {
                        digest.truncated();
                    }
                    token = Some(next);
                }
                _ => break,
            }
        }
        Ok(digest.finish())
    }

    /// The last [`MAX_LOG_LINES`] lines of the first job's step `step`.
    async fn log_tail(
        &self,
        stack: &StackRef,
        id: &str,
        step: usize,
    ) -> Result<Vec<String>, ApiError> {
        let path = api::deployment_logs(stack, id);
        let mut tail = VecDeque::with_capacity(MAX_LOG_LINES + 1);
        let mut offset = 0;
        for _ in 0..MAX_LOG_PAGES {
            let query = [
                ("job", "0".to_owned()),
                ("step", step.to_string()),
                ("offset", offset.to_string()),
                ("count", api::LOG_PAGE_LINES.to_string()),
            ];
            let page: api::StepLogPage = self.get(&path, &query).await?;
            for line in page.lines {
                let line = relay_core::enrich::text::strip_colors(line.line.trim_end());
                let line = relay_core::mrkdwn::truncate(&line, MAX_LOG_LINE_CHARS).into_owned();
                if line.trim().is_empty() {
                    continue;
                }
                if tail.len() == MAX_LOG_LINES {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            match page.next_offset {
                Some(next) if next > offset => offset = next,
                _ => break,
            }
        }
        Ok(tail.into())
    }

    /// One GET, bounded by the enrichment's deadline, its answer read as `T`.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &[String],
        query: &[(&str, String)],
    ) -> Result<T, ApiError> {
        let body = tokio::time::timeout_at(self.deadline, self.api.body(path, query))
            .await
            .map_err(|_| ApiError::Timeout(self.api.budget))??;
        serde_json::from_slice(&body).map_err(|e| ApiError::Malformed {
            method: "GET",
            path: path.join("/"),
            why: e.to_string(),
        })
    }
}

type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl PulumiApi {
    /// One GET's body. Not generic, and boxed, so the request is in the binary once, not once
    /// per answer type.
    fn body<'a>(
        &'a self,
        path: &'a [String],
        query: &'a [(&'a str, String)],
    ) -> BoxFuture<'a, Result<axum::body::Bytes, ApiError>> {
        Box::pin(self.request(path, query))
    }

    /// `path` below the base URL, each segment percent-encoded.
    fn url(&self, path: &[String]) -> Result<reqwest::Url, ApiError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| ApiError::Url(path.join("/")))?
            .pop_if_empty()
            .extend(path);
        Ok(url)
    }

    async fn request(
        &self,
        path: &[String],
        query: &[(&str, String)],
    ) -> Result<axum::body::Bytes, ApiError> {
        let shown = path.join("/");
        let mut url = self.url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, api::ACCEPT)
            .send()
            .await
            // Without the URL: it is ours, and the error says enough.
            .map_err(|e| ApiError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ApiError::Status {
                status: status.as_u16(),
                path: shown,
                hint: match status.as_u16() {
                    401 => " (the access token is not valid)",
                    403 => " (the access token may not read this stack)",
                    404 => " (no such stack or run, or the token may not see it)",
                    _ => "",
                },
            });
        }
        response
            .bytes()
            .await
            .map_err(|e| ApiError::Unreachable(e.without_url().to_string()))
    }
}

/// Why a ChatOps call did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// Pulumi Cloud answered and refused: its status, and its `ErrorResponse` message.
    #[error("Pulumi Cloud answered {status}")]
    Refused {
        status: u16,
        message: Option<String>,
    },
    /// No answer in time, unreachable, or an answer that is not what the API describes.
    #[error(transparent)]
    Failed(#[from] ApiError),
}

impl PulumiApi {
    /// `status`: the stack's latest update ([`relay_core::chatops::pulumi`]).
    pub async fn latest_update(
        &self,
        stack: &StackRef,
        within: Duration,
    ) -> Result<LatestUpdate, OperationError> {
        let path = relay_core::chatops::pulumi::latest_update(stack);
        let body = self
            .operation(reqwest::Method::GET, &path, None, within)
            .await?;
        parse("GET", &path, &body)
    }

    /// Starts a Pulumi Deployments run of `operation` with the stack's saved settings. Sent
    /// once, never retried: a second request would be a second run.
    pub async fn start_deployment(
        &self,
        stack: &StackRef,
        operation: &'static str,
        within: Duration,
    ) -> Result<CreateDeploymentResponse, OperationError> {
        let path = relay_core::chatops::pulumi::deployments(stack);
        let request = serde_json::to_vec(&CreateDeployment { operation })
            .expect("a request always serializes");
        let body = self
            .operation(reqwest::Method::POST, &path, Some(request), within)
            .await?;
        parse("POST", &path, &body)
    }

    async fn operation(
        &self,
        method: reqwest::Method,
        path: &[String],
        body: Option<Vec<u8>>,
        within: Duration,
    ) -> Result<axum::body::Bytes, OperationError> {
        let url = self.url(path)?;
        let mut request = self
            .http
            .request(method, url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, api::ACCEPT)
            .timeout(within);
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        let unreachable = |e: reqwest::Error| {
            if e.is_timeout() {
                ApiError::Timeout(within)
            } else {
                ApiError::Unreachable(e.without_url().to_string())
            }
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorResponse>(&bytes)
                .ok()
                .and_then(|e| e.message);
            return Err(OperationError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        Ok(bytes)
    }
}

fn parse<T: DeserializeOwned>(
    method: &'static str,
    path: &[String],
    body: &[u8],
) -> Result<T, OperationError> {
    serde_json::from_slice(body).map_err(|e| {
        OperationError::Failed(ApiError::Malformed {
            method,
            path: path.join("/"),
            why: e.to_string(),
        })
    })
}

fn missing(path: &[String], field: &str) -> ApiError {
    ApiError::Malformed {
        method: "GET",
        path: path.join("/"),
        why: format!("it has no {field}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_not_in_the_clients_debug_output_and_a_bad_url_is_refused() {
        let token = SecretString::from("pul-very-secret");
        let api = PulumiApi::new(reqwest::Client::new(), "https://api.pulumi.com", &token).unwrap();
        assert!(!format!("{api:?}").contains("very-secret"));
        assert!(api.authorization.is_sensitive());
        assert!(matches!(
            PulumiApi::new(reqwest::Client::new(), "api.pulumi.com", &token),
            Err(ClientError::Url(_))
        ));
        let bad = SecretString::from("pul-\nnewline");
        assert!(matches!(
            PulumiApi::new(reqwest::Client::new(), "https://api.pulumi.com", &bad),
            Err(ClientError::Token)
        ));
    }
}

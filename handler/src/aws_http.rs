//! The AWS SDK's HTTP client, backed by reqwest: one HTTP/1.1 + rustls stack in the binary.
//!
//! The SDK's own client (`aws-smithy-http-client`) brings a second hyper client setup with HTTP/2
//! (`h2`), its own native-roots loading and tower layers: about a fifth of the Lambda zip for
//! the one `GetParameter` call a cold start makes (BENCHMARKS.md, "Lambda artifact"). No crate
//! adapts reqwest to the SDK's `HttpConnector` trait, so this module does, in the way the trait
//! documents: requests and responses are converted through the `http` 1.x types, transport
//! errors are classified (timeout / I/O / other) so the SDK's retry strategy treats them as its
//! own client's, and one pooled reqwest client serves every request.

use std::time::Duration;

use aws_sdk_ssm::config::SharedHttpClient;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use aws_types::SdkConfig;
use aws_types::region::Region;

/// What every AWS SDK client of the relay shares (SSM, DynamoDB): credentials, region and this
/// module's HTTP client, from environment variables only (`var` looks one up).
///
/// On Lambda the execution role's credentials are `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN`, and the region is `AWS_REGION`; `AWS_ENDPOINT_URL` points every client at a
/// local emulator (callers apply the per-service `AWS_ENDPOINT_URL_<SERVICE>`). `aws-config`'s
/// full chain (profiles, SSO, IMDS, STS) is left out on purpose: it was a fifth of the Lambda zip
/// (BENCHMARKS.md). Locally, export credentials first (`aws configure export-credentials --format env`).
pub fn sdk_config(var: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, String> {
    use aws_sdk_ssm::config::{BehaviorVersion, Credentials, SharedCredentialsProvider};
    let var = |name: &str| var(name).filter(|v| !v.is_empty());
    let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) else {
        return Err(
            "AWS credentials are not in the environment (AWS_ACCESS_KEY_ID, \
                    AWS_SECRET_ACCESS_KEY; Lambda sets them from the function's role)"
                .to_owned(),
        );
    };
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .ok_or("AWS_REGION is not set")?;
    // The SDK's default connect timeout; its read timeout is applied per request.
    let http = crate::slack::http_client_builder()
        .connect_timeout(Duration::from_millis(3100))
        .build()
        .map_err(|e| format!("could not build the HTTP client for AWS: {e}"))?;
    let credentials = Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment");
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(client(http));
    if let Some(url) = var("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(url);
    }
    Ok(config.build())
}

/// An SDK HTTP client sending through `http`, applying the SDK's read timeout per request.
///
/// `http` should carry the connect timeout (the SDK's default is 3.1 s): the SDK hands its
/// timeouts to the client at connector creation, after the reqwest client is built.
pub fn client(http: reqwest::Client) -> SharedHttpClient {
    http_client_fn(move |settings, _components| {
        SharedHttpConnector::new(Connector {
            http: http.clone(),
            read_timeout: settings.read_timeout(),
        })
    })
}

#[derive(Debug)]
struct Connector {
    http: reqwest::Client,
    read_timeout: Option<Duration>,
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.http.clone();
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let (parts, body) = request.into_parts();
            // AWS JSON protocol calls (SSM) have in-memory bodies; streaming uploads are not used.
            let Some(body) = body.bytes() else {
                return Err(ConnectorError::other(
                    "this relay's AWS HTTP client does not send streaming request bodies".into(),
                    None,
                ));
            };
            let mut builder = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body.to_vec());
            if let Some(timeout) = read_timeout {
                builder = builder.timeout(timeout);
            }
            let response = builder.send().await.map_err(classify)?;
            let status = response.status();
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(classify)?;
            let mut answer = axum::http::Response::new(SdkBody::from(body));
            *answer.status_mut() = status;
            *answer.headers_mut() = headers;
            HttpResponse::try_from(answer).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Sorts a transport failure the way the SDK's retry classifier expects: timeouts and I/O
/// failures (refused, reset, cut-off bodies) are transient, the rest is not.
fn classify(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

//! The relay's AWS clients (SSM Parameter Store, DynamoDB, SQS), configured once from the environment
//! and sending through the relay's one HTTP client ([`crate::http`]).
//!
//! The SDK's own HTTP client (`aws-smithy-http-client`) brings a second hyper client setup with HTTP/2
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

/// The AWS services the relay calls, configured once: credentials, region and the HTTP client
/// are shared; each service may have its own endpoint (an emulator, locally).
#[derive(Debug, Clone)]
pub struct Aws {
    sdk: SdkConfig,
    ssm_endpoint: Option<String>,
    dynamodb_endpoint: Option<String>,
    sqs_endpoint: Option<String>,
}

impl Aws {
    /// From environment variables only (`var` looks one up), sending through `http`.
    ///
    /// On Lambda the execution role's credentials are `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
    /// and `AWS_SESSION_TOKEN`, and the region is `AWS_REGION`. `AWS_ENDPOINT_URL` points every
    /// service at a local emulator, `AWS_ENDPOINT_URL_SSM` / `AWS_ENDPOINT_URL_DYNAMODB` /
    /// `AWS_ENDPOINT_URL_SQS` one service. `aws-config`'s full chain (profiles, SSO, IMDS, STS) is left out on purpose: it
    /// was a fifth of the Lambda zip (BENCHMARKS.md). Locally, export credentials first
    /// (`aws configure export-credentials --format env`).
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
        http: &reqwest::Client,
    ) -> Result<Aws, String> {
        use aws_sdk_ssm::config::{BehaviorVersion, Credentials, SharedCredentialsProvider};
        let var = |name: &str| var(name).filter(|v| !v.is_empty());
        let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(
                "AWS credentials are not in the environment (AWS_ACCESS_KEY_ID, \
                        AWS_SECRET_ACCESS_KEY; Lambda sets them from the function's role)"
                    .to_owned(),
            );
        };
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .ok_or("AWS_REGION is not set")?;
        let credentials =
            Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment");
        let mut config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .http_client(client(http.clone()));
        if let Some(url) = var("AWS_ENDPOINT_URL") {
            config = config.endpoint_url(url);
        }
        Ok(Aws {
            sdk: config.build(),
            ssm_endpoint: var("AWS_ENDPOINT_URL_SSM"),
            dynamodb_endpoint: var("AWS_ENDPOINT_URL_DYNAMODB"),
            sqs_endpoint: var("AWS_ENDPOINT_URL_SQS"),
        })
    }

    pub fn ssm(&self) -> aws_sdk_ssm::Client {
        let mut config = aws_sdk_ssm::config::Builder::from(&self.sdk);
        if let Some(url) = &self.ssm_endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_ssm::Client::from_conf(config.build())
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let mut config = aws_sdk_dynamodb::config::Builder::from(&self.sdk);
        if let Some(url) = &self.dynamodb_endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_dynamodb::Client::from_conf(config.build())
    }

    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        let mut config = aws_sdk_sqs::config::Builder::from(&self.sdk);
        if let Some(url) = &self.sqs_endpoint {
            config = config.endpoint_url(url);
        }
        aws_sdk_sqs::Client::from_conf(config.build())
    }
}

/// An SDK HTTP client sending through `http`, applying the SDK's read timeout per request.
///
/// `http` carries the connect timeout (the SDK's default, 3.1 s: [`crate::http::client`]); the SDK
/// hands its read timeout to the connector, which applies it per request.
fn client(http: reqwest::Client) -> SharedHttpClient {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clients_need_credentials_and_a_region_from_the_environment() {
        let http = crate::http::client(crate::http::Roots::BuiltIn).unwrap();
        fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }
        let no_keys = Aws::from_env(env(&[("AWS_REGION", "eu-west-1")]), &http).unwrap_err();
        assert!(no_keys.contains("AWS_ACCESS_KEY_ID"), "{no_keys}");
        let keys = [
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "s3cr3t-value"),
        ];
        let no_region = Aws::from_env(env(&keys), &http).unwrap_err();
        assert!(no_region.contains("AWS_REGION"), "{no_region}");
        assert!(!no_region.contains("s3cr3t-value"));
    }
}

//! The Lambda side of the tests: `cargo lambda watch --only-lambda-apis` (the real cargo-lambda
//! emulator of the Lambda runtime and invoke APIs) with this build's `handler` binary attached to
//! it as the function, as Lambda runs it. Running the binary ourselves avoids a second build by
//! cargo-lambda.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::fake_slack::{self, FakeSlack};
use crate::relay::{free_port, handler_binary};
use crate::{SECRET, fixtures_dir};

/// The emulator and the function attached to it; both killed on drop.
pub struct Watch {
    emulator: Child,
    function: Child,
    pub base: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        for child in [&mut self.function, &mut self.emulator] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How to tell that the function is up.
pub enum Ready {
    /// It serves HTTP (API Gateway and function URL events).
    Http,
    /// It answers this event with a 200.
    Invoke(Value),
}

/// The environment of a relay function posting to `slack`, as `infra` would configure it
/// (secrets given directly rather than through SSM).
pub fn relay_env(slack: &FakeSlack) -> Vec<(&'static str, String)> {
    vec![
        ("SLACK_API_URL", slack.api_url.clone()),
        ("SLACK_TOKEN", fake_slack::TOKEN.to_owned()),
        ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
        ("PULUMI_WEBHOOK_SECRET", SECRET.to_owned()),
    ]
}

impl Watch {
    /// Starts the emulator and the function with `env` (besides what Lambda itself sets);
    /// returns once the function answers through the emulator (`ready`).
    pub async fn start(env: Vec<(&'static str, String)>, ready: Ready) -> Watch {
        let port = free_port();
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .unwrap();
        let log = |name: &str| {
            let path = std::env::temp_dir().join(format!("lambda-{name}-{port}.log"));
            std::fs::File::create(path).unwrap()
        };
        let emulator_log = log("emulator");
        let emulator = Command::new("cargo")
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(workspace)
            .stdout(emulator_log.try_clone().unwrap())
            .stderr(emulator_log)
            .stdin(Stdio::null())
            .spawn()
            .expect("cargo lambda is installed (pip install cargo-lambda)");
        // Lambda's runtime client does not retry its first connection: wait for the emulator.
        let runtime_api = format!("127.0.0.1:{port}");
        let mut listening = false;
        for _ in 0..400 {
            if tokio::net::TcpStream::connect(&runtime_api).await.is_ok() {
                listening = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert!(
            listening,
            "cargo lambda watch did not listen on {runtime_api} within 10 s"
        );
        let function_log = log("function");
        let function = Command::new(handler_binary())
            .env_clear()
            .envs([
                (
                    "AWS_LAMBDA_RUNTIME_API",
                    format!("http://127.0.0.1:{port}/.rt/handler"),
                ),
                ("AWS_LAMBDA_FUNCTION_NAME", "handler".to_owned()),
                ("AWS_LAMBDA_FUNCTION_VERSION", "1".to_owned()),
                ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ])
            .envs(env)
            .stdout(function_log.try_clone().unwrap())
            .stderr(function_log)
            .spawn()
            .expect("the handler binary starts");
        let mut watch = Watch {
            emulator,
            function,
            base: format!("http://127.0.0.1:{port}"),
        };
        let function_log = std::env::temp_dir().join(format!("lambda-function-{port}.log"));
        watch.wait_ready(&ready, &function_log).await;
        watch
    }

    /// Waits (bounded) until the function, polling the emulator for work, answers through it:
    /// an HTTP function its banner at the function URL path, any other `ready` (an event it
    /// answers, e.g. an empty batch).
    /// A function that exits (a configuration it refuses) fails the test with its output, rather
    /// than leaving the emulator holding requests for it.
    async fn wait_ready(&mut self, ready: &Ready, function_log: &std::path::Path) {
        let client = reqwest::Client::new();
        for _ in 0..240 {
            if let Ok(Some(status)) = self.function.try_wait() {
                let output = std::fs::read_to_string(function_log).unwrap_or_default();
                panic!("the function exited ({status}) before serving:\n{output}");
            }
            let answered = match ready {
                Ready::Http => client
                    .get(format!("{}/lambda-url/handler/", self.base))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200),
                Ready::Invoke(event) => client
                    .post(format!(
                        "{}/2015-03-31/functions/handler/invocations",
                        self.base
                    ))
                    .json(event)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200),
            };
            if answered {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("cargo lambda watch did not serve the function within 60 s");
    }

    /// Invokes the function with `event` through the Lambda Invoke API; returns its response.
    pub async fn invoke(&self, event: &Value) -> Value {
        let url = format!("{}/2015-03-31/functions/handler/invocations", self.base);
        let response = reqwest::Client::new()
            .post(url)
            .json(event)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "the invoke itself succeeds");
        response.json().await.unwrap()
    }
}

/// The API Gateway v2 event fixture carrying `body` base64-encoded, with `signature`.
pub fn apigw_event(body: &[u8], signature: &str) -> Value {
    let path = fixtures_dir().join("lambda/apigw-v2-post.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(body)
        .into();
    event["headers"]["pulumi-webhook-signature"] = signature.into();
    event
}

/// The API Gateway v2 event of a Slack request to `path`: its form body base64-encoded (as HTTP
/// APIs pass bodies whose content type is not text), its Slack headers.
pub fn apigw_slack_event(path: &str, request: &crate::slack_app::SignedRequest) -> Value {
    let mut event = apigw_event(request.body.as_bytes(), "");
    let headers = event["headers"].as_object_mut().unwrap();
    headers.remove("pulumi-webhook-signature");
    headers.remove("pulumi-webhook-id");
    headers.remove("pulumi-webhook-kind");
    headers.insert("content-type".into(), request.content_type.into());
    headers.insert(
        "user-agent".into(),
        "Slackbot 1.0 (+https://api.slack.com/robots)".into(),
    );
    headers.insert(
        "x-slack-request-timestamp".into(),
        request.timestamp.clone().into(),
    );
    if let Some(signature) = &request.signature {
        headers.insert("x-slack-signature".into(), signature.clone().into());
    }
    event["rawPath"] = path.into();
    event["routeKey"] = format!("POST {path}").into();
    event["requestContext"]["routeKey"] = format!("POST {path}").into();
    event["requestContext"]["http"]["path"] = path.into();
    event["requestContext"]["http"]["userAgent"] =
        "Slackbot 1.0 (+https://api.slack.com/robots)".into();
    event
}

/// The JSON body of an API Gateway proxy response.
pub fn response_body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a body")).expect("a JSON body")
}

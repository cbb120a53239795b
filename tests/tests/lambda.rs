//! The Lambda front door, through `cargo lambda watch` (the real cargo-lambda runtime emulator):
//! API Gateway HTTP API (payload v2) events with base64 bodies go through `lambda_http` into the
//! same router, and signatures are checked over the decoded bytes.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use relay_tests::fake_slack::{self, FakeSlack};
use relay_tests::relay::{free_port, handler_binary};
use relay_tests::{SECRET, fixture, fixtures_dir, sign};
use serde_json::Value;

/// `cargo lambda watch --only-lambda-apis` (the emulator of the Lambda control plane and invoke
/// API) with this build's `handler` binary attached to it as the function, as Lambda runs it.
/// Running the binary ourselves avoids a second build by cargo-lambda.
struct Watch {
    emulator: Child,
    function: Child,
    base: String,
}

impl Drop for Watch {
    fn drop(&mut self) {
        for child in [&mut self.function, &mut self.emulator] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Watch {
    async fn start(slack: &FakeSlack) -> Watch {
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
                ("SLACK_API_URL", slack.api_url.clone()),
                ("SLACK_TOKEN", fake_slack::TOKEN.to_owned()),
                ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
                ("PULUMI_WEBHOOK_SECRET", SECRET.to_owned()),
            ])
            .stdout(function_log.try_clone().unwrap())
            .stderr(function_log)
            .spawn()
            .expect("the handler binary starts");
        let watch = Watch {
            emulator,
            function,
            base: format!("http://127.0.0.1:{port}"),
        };
        watch.wait_ready().await;
        watch
    }

    /// Waits (bounded) until the function, polling the emulator for work, answers through it.
    async fn wait_ready(&self) {
        let url = format!("{}/lambda-url/handler/", self.base);
        for _ in 0..240 {
            if let Ok(r) = reqwest::get(&url).await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!("cargo lambda watch did not serve the function within 60 s");
    }

    /// Invokes the function with `event` through the Lambda Invoke API; returns its response.
    async fn invoke(&self, event: &Value) -> Value {
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
fn apigw_event(body: &[u8], signature: &str) -> Value {
    let path = fixtures_dir().join("lambda/apigw-v2-post.json");
    let mut event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    event["body"] = base64::engine::general_purpose::STANDARD
        .encode(body)
        .into();
    event["headers"]["pulumi-webhook-signature"] = signature.into();
    event
}

fn response_body(response: &Value) -> Value {
    serde_json::from_str(response["body"].as_str().expect("a body")).expect("a JSON body")
}

#[tokio::test]
async fn api_gateway_events_are_verified_over_the_decoded_body_and_posted() {
    let slack = FakeSlack::start().await;
    let watch = Watch::start(&slack).await;
    let body = fixture("stack_update-destroy-failed");

    let response = watch.invoke(&apigw_event(&body, &sign(&body))).await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let answer = response_body(&response);
    assert_eq!(answer["ok"], true);
    let posts = slack.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(answer["ts"], posts[0].ts.as_str());
    assert!(posts[0].text().starts_with(":x: Destroy failed"));
    assert!(
        posts[0]
            .blocks_text()
            .contains("delivery `6f9a2b3c-lambda`")
    );

    // The same signature over the base64 text (not the bytes) must not pass.
    let encoded = base64::engine::general_purpose::STANDARD.encode(&body);
    let response = watch
        .invoke(&apigw_event(&body, &sign(encoded.as_bytes())))
        .await;
    assert_eq!(response["statusCode"], 401, "{response}");
    assert_eq!(response_body(&response)["error"], "invalid_signature");
    assert_eq!(slack.posts().len(), 1, "a refused event posts nothing");
}

#[tokio::test]
async fn function_url_requests_reach_the_same_router() {
    let slack = FakeSlack::start().await;
    let watch = Watch::start(&slack).await;
    let url = format!("{}/lambda-url/handler/", watch.base);

    let banner = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(banner.contains(env!("CARGO_PKG_VERSION")));

    let body = fixture("ping");
    let response = reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header("pulumi-webhook-kind", "ping")
        .header("pulumi-webhook-signature", sign(&body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(slack.posts().len(), 1);

    let response = reqwest::Client::new().put(&url).send().await.unwrap();
    assert_eq!(response.status(), 405);
}

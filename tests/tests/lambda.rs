//! The Lambda front door, through `cargo lambda watch` (the real cargo-lambda runtime emulator):
//! API Gateway HTTP API (payload v2) events with base64 bodies go through `lambda_http` into the
//! same router, and signatures are checked over the decoded bytes.

use base64::Engine as _;
use relay_tests::emulator::{Ready, Watch, apigw_event, relay_env, response_body};
use relay_tests::fake_slack::FakeSlack;
use relay_tests::{fixture, sign};

#[tokio::test]
async fn api_gateway_events_are_verified_over_the_decoded_body_and_posted() {
    let slack = FakeSlack::start().await;
    let watch = Watch::start(relay_env(&slack), Ready::Http).await;
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
    let watch = Watch::start(relay_env(&slack), Ready::Http).await;
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

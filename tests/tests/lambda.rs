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

/// ChatOps on Lambda: a slash command and a click arrive as API Gateway v2 events with
/// base64 form bodies, are verified over the decoded bytes, and are answered within Slack's
/// three seconds from inside the invocation (Lambda freezes once it answers).
#[tokio::test]
async fn slack_requests_arrive_as_form_encoded_api_gateway_events_and_are_answered() {
    use relay_tests::emulator::apigw_slack_event;
    use relay_tests::fake_pulumi::{self, FakePulumi};
    use relay_tests::slack_app::{Origin, SIGNING_SECRET, SlackApp};

    let slack = FakeSlack::start().await;
    let api = FakePulumi::start("chatops").await;
    let rules =
        std::fs::read_to_string(relay_tests::fixtures_dir().join("chatops/rules.json")).unwrap();
    let mut env = relay_env(&slack);
    env.extend([
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET.to_owned()),
        ("PULUMI_ACCESS_TOKEN", fake_pulumi::TOKEN.to_owned()),
        ("PULUMI_API_URL", api.api_url.clone()),
        ("CHATOPS", rules),
    ]);
    let watch = Watch::start(env, Ready::Http).await;
    let app = SlackApp::new("https://abc123.execute-api.us-east-1.amazonaws.com/");

    let command = app.command(
        "U0READER01",
        "status website/website-prod",
        &slack.response_url(),
    );
    let response = watch
        .invoke(&apigw_slack_event("/slack/commands", &command))
        .await;
    assert_eq!(response["statusCode"], 200, "{response}");
    let answer = response_body(&response);
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("update #42 failed · by Morty Smith"),
        "{answer}"
    );

    let again = watch
        .invoke(&apigw_slack_event("/slack/commands", &command))
        .await;
    assert_eq!(again["statusCode"], 401, "a replay is refused: {again}");

    let refresh = serde_json::json!({
        "type": "button", "action_id": "pulumi_run",
        "text": {"type": "plain_text", "text": "Refresh"},
        "value": r#"{"op":"refresh","stack":"crazy-adventures/website/website-dev"}"#
    });
    let click = app.click(
        "U0DEV00001",
        &refresh,
        &Origin::Ephemeral,
        &slack.response_url(),
    );
    let response = watch
        .invoke(&apigw_slack_event("/slack/interactions", &click))
        .await;
    assert_eq!(response["statusCode"], 200, "{response}");
    // Answered before the invocation returned: nothing is left to run once Lambda freezes.
    let answers = slack.responses();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(
        answers[0]["text"]
            .as_str()
            .unwrap()
            .contains("started `refresh`"),
        "{answers:?}"
    );
    let runs: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(runs.len(), 1);
}

//! How the relay answers Pulumi when Slack misbehaves. Permanent Slack errors are a 502 naming
//! Slack's error (no retry); transient ones are retried within the deadline and, if they persist,
//! answered 503 so that Pulumi Cloud redelivers. A 2xx is only ever given for a posted message.

use std::time::{Duration, Instant};

use handler::config::Output;
use relay_tests::fake_slack::{ARCHIVED_CHANNEL, FakeSlack, PRIVATE_CHANNEL, Reply};
use relay_tests::fixture;
use relay_tests::relay::{Answer, Delivery, InProcess, config, free_port, quick_retries};

async fn deliver_with(slack_url: &str, channel: Option<&str>, token: Option<&str>) -> Answer {
    let mut config = config(slack_url);
    if let Output::Slack {
        channel: c,
        token: t,
        ..
    } = &mut config.output
    {
        if let Some(channel) = channel {
            *c = channel.to_owned();
        }
        if let Some(token) = token {
            *t = token.into();
        }
    }
    let relay = InProcess::start(config).await;
    Delivery::signed("stack_update", fixture("stack_update-succeeded"))
        .send(&relay.url)
        .await
}

async fn deliver(slack: &FakeSlack) -> Answer {
    deliver_with(&slack.api_url, None, None).await
}

fn assert_answer(answer: &Answer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(answer.body["ok"], false);
    assert_eq!(answer.error(), error, "{:?}", answer.body);
}

#[tokio::test]
async fn success_answers_the_channel_and_timestamp_and_keeps_the_token_out_of_the_body() {
    let slack = FakeSlack::start().await;
    let answer = deliver(&slack).await;
    assert_eq!(answer.status, 200);
    let post = &slack.posts()[0];
    assert_eq!(
        answer.body,
        serde_json::json!({"ok": true, "channel": post.channel, "ts": post.ts})
    );
    assert!(post.body.get("token").is_none());
    assert_eq!(post.body["unfurl_links"], false);
}

#[tokio::test]
async fn a_wrong_token_is_a_502_naming_invalid_auth_without_retrying() {
    let slack = FakeSlack::start().await;
    let answer = deliver_with(&slack.api_url, None, Some("xoxb-wrong")).await;
    assert_answer(&answer, 502, "invalid_auth");
    assert!(answer.body["message"].as_str().unwrap().contains("token"));
    assert!(!answer.body.to_string().contains("xoxb-wrong"));
    assert_eq!(slack.attempts(), 1);
}

#[tokio::test]
async fn an_unknown_channel_is_a_502_naming_channel_not_found() {
    let slack = FakeSlack::start().await;
    let answer = deliver_with(&slack.api_url, Some("#nowhere"), None).await;
    assert_answer(&answer, 502, "channel_not_found");
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("SLACK_CHANNEL")
    );
    assert_eq!(slack.attempts(), 1);
}

#[tokio::test]
async fn a_channel_without_the_bot_is_a_502_naming_not_in_channel() {
    let slack = FakeSlack::start().await;
    let answer = deliver_with(&slack.api_url, Some(PRIVATE_CHANNEL), None).await;
    assert_answer(&answer, 502, "not_in_channel");
    assert!(answer.body["message"].as_str().unwrap().contains("/invite"));
}

#[tokio::test]
async fn an_archived_channel_is_a_502_naming_is_archived() {
    let slack = FakeSlack::start().await;
    assert_answer(
        &deliver_with(&slack.api_url, Some(ARCHIVED_CHANNEL), None).await,
        502,
        "is_archived",
    );
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let slack = FakeSlack::start().await;
    slack.script([Reply::RateLimited {
        retry_after_secs: 1,
    }]);
    let started = Instant::now();
    let answer = deliver(&slack).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was not honoured"
    );
    assert_eq!((slack.attempts(), slack.posts().len()), (2, 1));
}

#[tokio::test]
async fn a_retry_after_beyond_the_deadline_is_a_503_passing_retry_after_on() {
    let slack = FakeSlack::start().await;
    slack.script([Reply::RateLimited {
        retry_after_secs: 30,
    }]);
    let started = Instant::now();
    let answer = deliver(&slack).await;
    assert_answer(&answer, 503, "ratelimited");
    assert_eq!(answer.headers["retry-after"], "30");
    assert!(
        started.elapsed() < quick_retries().deadline,
        "gave up at once instead of waiting"
    );
    assert_eq!(slack.attempts(), 1);
}

#[tokio::test]
async fn ratelimited_as_an_ok_false_error_is_retried_too() {
    let slack = FakeSlack::start().await;
    slack.script([Reply::Error("ratelimited"), Reply::Error("internal_error")]);
    assert_eq!(deliver(&slack).await.status, 200);
    assert_eq!((slack.attempts(), slack.posts().len()), (3, 1));
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff() {
    let slack = FakeSlack::start().await;
    slack.script([Reply::Status(500), Reply::Status(503)]);
    assert_eq!(deliver(&slack).await.status, 200);
    assert_eq!((slack.attempts(), slack.posts().len()), (3, 1));
}

#[tokio::test]
async fn persistent_server_errors_are_a_503_after_bounded_retries() {
    let slack = FakeSlack::start().await;
    slack.script(std::iter::repeat_n(Reply::Status(500), 10));
    let answer = deliver(&slack).await;
    assert_answer(&answer, 503, "slack_unavailable");
    assert_eq!(slack.attempts(), quick_retries().max_attempts as usize);
    assert!(slack.posts().is_empty());
}

#[tokio::test]
async fn a_slow_answer_is_abandoned_and_retried() {
    let slack = FakeSlack::start().await;
    slack.script([Reply::Hang(Duration::from_secs(5))]);
    let answer = deliver(&slack).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert!(slack.attempts() >= 2);
}

#[tokio::test]
async fn slack_hanging_past_the_deadline_is_a_503_within_the_deadline() {
    let slack = FakeSlack::start().await;
    slack.script(std::iter::repeat_n(
        Reply::Hang(Duration::from_secs(30)),
        10,
    ));
    let started = Instant::now();
    let answer = deliver(&slack).await;
    assert_answer(&answer, 503, "slack_unavailable");
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("no answer within")
    );
    let budget = quick_retries().deadline + Duration::from_millis(500);
    assert!(started.elapsed() < budget, "took {:?}", started.elapsed());
}

#[tokio::test]
async fn unreachable_slack_is_a_503() {
    let url = format!("http://127.0.0.1:{}/api", free_port());
    let answer = deliver_with(&url, None, None).await;
    assert_answer(&answer, 503, "slack_unavailable");
}

#[tokio::test]
async fn a_non_json_answer_is_a_502() {
    let slack = FakeSlack::start().await;
    slack.script([Reply::NotJson]);
    assert_answer(&deliver(&slack).await, 502, "slack_bad_response");
}

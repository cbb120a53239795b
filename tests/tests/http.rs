//! The HTTP contract: signatures, bad input and routing. Every refusal is JSON
//! `{ok:false, error, message}` with the documented status, and nothing reaches Slack.

use relay_tests::fake_slack::FakeSlack;
use relay_tests::relay::{Answer, Delivery, InProcess, answer, config};
use relay_tests::{fixture, sign};

struct Setup {
    slack: FakeSlack,
    relay: InProcess,
}

async fn setup() -> Setup {
    let slack = FakeSlack::start().await;
    let relay = InProcess::start(config(&slack.api_url)).await;
    Setup { slack, relay }
}

impl Setup {
    /// Asserts the refusal's status and code, that it says why, and that Slack saw nothing.
    fn assert_refused(&self, answer: &Answer, status: u16, error: &str) {
        assert_eq!(answer.status, status, "{:?}", answer.body);
        assert_eq!(answer.body["ok"], false);
        assert_eq!(answer.error(), error, "{:?}", answer.body);
        assert!(
            answer.body["message"]
                .as_str()
                .is_some_and(|m| m.len() > 10)
        );
        assert_eq!(self.slack.attempts(), 0, "nothing may be posted");
    }
}

/// POSTs `body` to `url` with exactly `headers` (names may repeat).
async fn post_raw(url: &str, headers: &[(&str, String)], body: Vec<u8>) -> Answer {
    let mut request = reqwest::Client::new().post(url).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    answer(request.send().await.unwrap()).await
}

#[tokio::test]
async fn get_root_answers_the_banner_with_the_version() {
    let s = setup().await;
    let response = reqwest::get(&s.relay.url).await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}

#[tokio::test]
async fn a_correctly_signed_delivery_is_posted() {
    let s = setup().await;
    let answer = Delivery::signed("stack", fixture("stack-created"))
        .send(&s.relay.url)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(s.slack.posts().len(), 1);
}

#[tokio::test]
async fn an_unsigned_delivery_is_rejected_when_a_secret_is_set() {
    let s = setup().await;
    let mut delivery = Delivery::signed("stack", fixture("stack-created"));
    delivery.signature = None;
    s.assert_refused(&delivery.send(&s.relay.url).await, 401, "missing_signature");
}

#[tokio::test]
async fn a_signature_made_with_another_secret_is_rejected() {
    let s = setup().await;
    let body = fixture("stack-created");
    let mut delivery = Delivery::signed("stack", body.clone());
    delivery.signature = Some(relay_core::verify::WebhookSecret::new("wrong".into()).sign(&body));
    s.assert_refused(&delivery.send(&s.relay.url).await, 401, "invalid_signature");
}

#[tokio::test]
async fn a_body_changed_after_signing_is_rejected() {
    let s = setup().await;
    let mut delivery = Delivery::signed("stack", fixture("stack-created"));
    delivery.body.extend_from_slice(b" ");
    s.assert_refused(&delivery.send(&s.relay.url).await, 401, "invalid_signature");
}

#[tokio::test]
async fn a_non_hex_signature_is_rejected() {
    let s = setup().await;
    let mut delivery = Delivery::signed("stack", fixture("stack-created"));
    delivery.signature = Some("sha256=not-hex".into());
    s.assert_refused(
        &delivery.send(&s.relay.url).await,
        401,
        "malformed_signature",
    );
}

#[tokio::test]
async fn two_signature_headers_are_rejected() {
    let s = setup().await;
    let body = fixture("stack-created");
    s.assert_refused(
        &post_raw(
            &s.relay.url,
            &[
                ("content-type", "application/json".into()),
                ("pulumi-webhook-kind", "stack".into()),
                ("pulumi-webhook-signature", sign(&body)),
                ("pulumi-webhook-signature", sign(&body)),
            ],
            body,
        )
        .await,
        401,
        "duplicate_signature",
    );
}

#[tokio::test]
async fn without_a_configured_secret_unsigned_deliveries_are_accepted() {
    let slack = FakeSlack::start().await;
    let mut config = config(&slack.api_url);
    config.webhook_secret = None;
    let relay = InProcess::start(config).await;
    let mut delivery = Delivery::signed("stack", fixture("stack-created"));
    delivery.signature = None;
    assert_eq!(delivery.send(&relay.url).await.status, 200);
    assert_eq!(slack.posts().len(), 1);
}

#[tokio::test]
async fn invalid_json_is_a_400_that_says_where() {
    let s = setup().await;
    let answer = Delivery::signed("stack", b"{\"action\": ".to_vec())
        .send(&s.relay.url)
        .await;
    s.assert_refused(&answer, 400, "invalid_json");
    assert!(
        answer.body["message"].as_str().unwrap().contains("line 1"),
        "{:?}",
        answer.body
    );
}

#[tokio::test]
async fn deeply_nested_json_is_refused_not_a_stack_overflow() {
    let s = setup().await;
    let body = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes();
    s.assert_refused(
        &Delivery::signed("brand_new", body).send(&s.relay.url).await,
        400,
        "invalid_json",
    );
    // The relay keeps serving.
    assert_eq!(reqwest::get(&s.relay.url).await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413() {
    let s = setup().await;
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024)).into_bytes();
    let answer = Delivery::signed("stack", body).send(&s.relay.url).await;
    s.assert_refused(&answer, 413, "payload_too_large");
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_without_content_length_is_a_413() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let s = setup().await;
    let addr = s
        .relay
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = "POST / HTTP/1.1\r\nHost: relay\r\nContent-Type: application/json\r\n\
                Pulumi-Webhook-Kind: stack\r\nTransfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
    for _ in 0..20 {
        // The relay may answer and close before all chunks are sent.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(
        response.contains("\"error\":\"payload_too_large\""),
        "{response}"
    );
    assert_eq!(s.slack.attempts(), 0);
}

#[tokio::test]
async fn a_missing_kind_header_is_a_400_naming_it() {
    let s = setup().await;
    let body = fixture("stack-created");
    let answer = post_raw(
        &s.relay.url,
        &[
            ("content-type", "application/json".into()),
            ("pulumi-webhook-signature", sign(&body)),
        ],
        body,
    )
    .await;
    s.assert_refused(&answer, 400, "invalid_header");
    assert!(
        answer.body["message"]
            .as_str()
            .unwrap()
            .contains("pulumi-webhook-kind")
    );
}

#[tokio::test]
async fn a_non_json_content_type_is_a_415() {
    let s = setup().await;
    let body = fixture("stack-created");
    s.assert_refused(
        &post_raw(
            &s.relay.url,
            &[
                ("content-type", "application/x-www-form-urlencoded".into()),
                ("pulumi-webhook-kind", "stack".into()),
                ("pulumi-webhook-signature", sign(&body)),
            ],
            body,
        )
        .await,
        415,
        "unsupported_media_type",
    );
}

#[tokio::test]
async fn other_methods_are_a_405() {
    let s = setup().await;
    for method in [
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
        reqwest::Method::PATCH,
    ] {
        let response = reqwest::Client::new()
            .request(method, &s.relay.url)
            .send()
            .await
            .unwrap();
        s.assert_refused(&answer(response).await, 405, "method_not_allowed");
    }
}

#[tokio::test]
async fn other_paths_are_a_404() {
    let s = setup().await;
    let body = fixture("stack-created");
    let url = format!("{}webhook", s.relay.url);
    s.assert_refused(
        &post_raw(
            &url,
            &[
                ("pulumi-webhook-kind", "stack".into()),
                ("pulumi-webhook-signature", sign(&body)),
            ],
            body,
        )
        .await,
        404,
        "not_found",
    );
}

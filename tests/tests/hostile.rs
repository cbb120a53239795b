//! Hostile requests against the real `handler` binary, as one table: each gets its documented
//! status and error code as JSON, nothing reaches Slack, the process keeps serving, and neither
//! the logs nor the answers carry a secret or a valid signature.
//!
//! Requests are written as raw HTTP/1.1 so that anything can be sent: repeated or non-UTF-8
//! headers, bodies that lie, chunked bodies with no length.

use relay_tests::fake_slack::{self, FakeSlack};
use relay_tests::load::hex64_runs;
use relay_tests::relay::Process;
use relay_tests::{SECRET, fixture, sign};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One request, byte for byte.
struct Raw {
    method: &'static str,
    path: &'static str,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    chunked: bool,
}

impl Raw {
    /// A POST / with a JSON content type, `kind` and the given signature header values, and an
    /// id of its own (the relay posts each Pulumi-Webhook-ID once).
    fn post(kind: &str, body: Vec<u8>, signatures: &[String]) -> Raw {
        static SENT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let id = SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut headers = vec![
            ("Content-Type", b"application/json".to_vec()),
            ("Pulumi-Webhook-Kind", kind.as_bytes().to_vec()),
            ("Pulumi-Webhook-ID", format!("hostile-{id}").into_bytes()),
        ];
        headers.extend(
            signatures
                .iter()
                .map(|s| ("Pulumi-Webhook-Signature", s.as_bytes().to_vec())),
        );
        Raw {
            method: "POST",
            path: "/",
            headers,
            body,
            chunked: false,
        }
    }

    /// A POST / correctly signed for `body`.
    fn signed(kind: &str, body: Vec<u8>) -> Raw {
        let signature = sign(&body);
        Raw::post(kind, body, &[signature])
    }

    fn header(mut self, name: &'static str, value: &[u8]) -> Raw {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name, value.to_vec()));
        self
    }

    fn without(mut self, name: &str) -> Raw {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    fn chunked(mut self) -> Raw {
        self.chunked = true;
        self
    }

    /// Sends the request on a fresh connection and returns (status, body as JSON).
    async fn send(&self, addr: &str) -> (u16, Value) {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n",
            self.method, self.path
        )
        .into_bytes();
        for (name, value) in &self.headers {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
        if self.chunked {
            head.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        } else {
            head.extend_from_slice(
                format!("Content-Length: {}\r\n\r\n", self.body.len()).as_bytes(),
            );
        }
        // The relay may answer and close before the whole body is sent: write errors are expected.
        let _ = stream.write_all(&head).await;
        if self.chunked {
            for chunk in self.body.chunks(64 * 1024) {
                let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
                if stream.write_all(&framed).await.is_err() {
                    break;
                }
            }
            let _ = stream.write_all(b"0\r\n\r\n").await;
        } else {
            let _ = stream.write_all(&self.body).await;
        }
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response).await;
        let text = String::from_utf8_lossy(&response);
        let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
        (status, body)
    }
}

/// `fixture` with every string replaced by a long hostile one, the whole kept under 1 MiB.
fn huge_strings(name: &str) -> Vec<u8> {
    fn count(v: &Value) -> usize {
        match v {
            Value::String(_) => 1,
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    fn fill(v: &mut Value, s: &str) {
        match v {
            Value::String(old) => *old = s.to_owned(),
            Value::Array(a) => a.iter_mut().for_each(|v| fill(v, s)),
            Value::Object(o) => o.values_mut().for_each(|v| fill(v, s)),
            _ => {}
        }
    }
    let mut value: Value = serde_json::from_slice(&fixture(name)).unwrap();
    let unit = "<!channel> *b* `c` & <https://evil.example|click> ü ";
    let each = (900_000 / count(&value)).min(100_000) / unit.len();
    fill(&mut value, &unit.repeat(each.max(1)));
    let body = serde_json::to_vec(&value).unwrap();
    assert!(body.len() < 1024 * 1024, "{name}: {} bytes", body.len());
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_request_gets_its_documented_answer_and_the_relay_keeps_serving() {
    let slack = FakeSlack::start().await;
    let env = [
        ("SLACK_API_URL", slack.api_url.as_str()),
        ("SLACK_TOKEN", fake_slack::TOKEN),
        ("SLACK_CHANNEL", fake_slack::CHANNEL),
        ("PULUMI_WEBHOOK_SECRET", SECRET),
    ];
    let relay = Process::start(&[], &env).await;
    let addr = relay
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();

    let good = fixture("stack_update-succeeded");
    let good_signature = sign(&good);
    let ten_mb = format!("{{\"pad\":\"{}\"}}", "x".repeat(10 * 1024 * 1024)).into_bytes();
    let nested = |open: &str, close: &str| {
        [open.repeat(100_000), close.repeat(100_000)]
            .concat()
            .into_bytes()
    };
    let refused: Vec<(&str, Raw, u16, &str)> = vec![
        (
            "no signature",
            Raw::post("stack_update", good.clone(), &[]),
            401,
            "missing_signature",
        ),
        (
            "signature of another body",
            Raw::post("stack_update", good.clone(), &[sign(b"{}")]),
            401,
            "invalid_signature",
        ),
        (
            "signature made with another secret",
            Raw::post(
                "stack_update",
                good.clone(),
                &[relay_core::verify::WebhookSecret::new("other".into()).sign(&good)],
            ),
            401,
            "invalid_signature",
        ),
        (
            "two valid signature headers",
            Raw::post(
                "stack_update",
                good.clone(),
                &[good_signature.clone(), good_signature.clone()],
            ),
            401,
            "duplicate_signature",
        ),
        (
            "signature not hex",
            Raw::post("stack_update", good.clone(), &["zz".repeat(32)]),
            401,
            "malformed_signature",
        ),
        (
            "signature too short",
            Raw::post(
                "stack_update",
                good.clone(),
                &[good_signature[..40].to_owned()],
            ),
            401,
            "malformed_signature",
        ),
        (
            "empty signature",
            Raw::post("stack_update", good.clone(), &[String::new()]),
            401,
            "malformed_signature",
        ),
        (
            "10 MB body with its length",
            Raw::signed("stack_update", ten_mb.clone()),
            413,
            "payload_too_large",
        ),
        (
            "10 MB chunked body, no length",
            Raw::signed("stack_update", ten_mb.clone()).chunked(),
            413,
            "payload_too_large",
        ),
        (
            "truncated JSON",
            Raw::signed("stack_update", good[..good.len() / 2].to_vec()),
            400,
            "invalid_json",
        ),
        (
            "empty body",
            Raw::signed("stack_update", Vec::new()),
            400,
            "invalid_json",
        ),
        (
            "100 000 nested arrays",
            Raw::signed("stack_update", nested("[", "]")),
            400,
            "invalid_json",
        ),
        (
            "100 000 nested objects, unknown kind",
            Raw::signed("brand_new", nested("{\"a\":", "}")),
            400,
            "invalid_json",
        ),
        (
            "invalid UTF-8 in a string",
            Raw::signed("stack_update", b"{\"stackName\":\"\xff\xfe\"}".to_vec()),
            400,
            "invalid_json",
        ),
        (
            "NUL and control bytes outside strings",
            Raw::signed("stack", b"{\x00}".to_vec()),
            400,
            "invalid_json",
        ),
        (
            "text/plain",
            Raw::signed("stack_update", good.clone()).header("Content-Type", b"text/plain"),
            415,
            "unsupported_media_type",
        ),
        (
            "form-encoded",
            Raw::signed("stack_update", good.clone())
                .header("Content-Type", b"application/x-www-form-urlencoded"),
            415,
            "unsupported_media_type",
        ),
        (
            "missing kind",
            Raw::signed("stack_update", good.clone()).without("Pulumi-Webhook-Kind"),
            400,
            "invalid_header",
        ),
        (
            "empty kind",
            Raw::signed("stack_update", good.clone()).header("Pulumi-Webhook-Kind", b"  "),
            400,
            "invalid_header",
        ),
        (
            "non-UTF-8 kind",
            Raw::signed("stack_update", good.clone()).header("Pulumi-Webhook-Kind", b"st\xe4ck"),
            400,
            "invalid_header",
        ),
        (
            "PUT /",
            Raw {
                method: "PUT",
                ..Raw::signed("stack_update", good.clone())
            },
            405,
            "method_not_allowed",
        ),
        (
            "POST elsewhere",
            Raw {
                path: "/hooks",
                ..Raw::signed("stack_update", good.clone())
            },
            404,
            "not_found",
        ),
    ];
    let mut answers = Vec::new();
    for (case, request, status, error) in &refused {
        let (got, body) = request.send(&addr).await;
        assert_eq!(
            (got, body["error"].as_str()),
            (*status, Some(*error)),
            "{case}: {body}"
        );
        assert_eq!(body["ok"], false, "{case}");
        assert!(
            body["message"].as_str().is_some_and(|m| m.len() > 10),
            "{case}: says why: {body}"
        );
        answers.push(body.to_string());
    }
    assert_eq!(slack.attempts(), 0, "no refused request reaches Slack");

    // Huge hostile strings in every field are not an attack on the relay: they are relayed,
    // within Slack's limits (the fake Slack refuses anything over them), mentioning no one.
    let accepted = [
        "stack_update-succeeded",
        "deployment-failed",
        "team-updated",
        "policy_violation-mandatory",
        "drift_detection-drifted",
        "unknown-kind",
    ];
    for (i, name) in accepted.iter().enumerate() {
        let kind = name.split('-').next().unwrap();
        let kind = if *name == "policy_violation-mandatory" {
            "policy_violation_mandatory"
        } else {
            kind
        };
        let (status, body) = Raw::signed(kind, huge_strings(name)).send(&addr).await;
        assert_eq!(status, 200, "{name}: {body}");
        let post = &slack.posts()[i];
        let all_text = format!("{} {}", post.text(), post.blocks_text());
        assert!(
            !all_text.contains("<!channel>"),
            "{name}: a mention went through"
        );
        assert!(
            !all_text.contains("<https://evil"),
            "{name}: a forged link went through"
        );
        answers.push(body.to_string());
    }

    let (status, body) = Raw {
        method: "GET",
        body: Vec::new(),
        ..Raw::post("", Vec::new(), &[])
    }
    .send(&addr)
    .await;
    assert_eq!(status, 200, "still serving: {body}");
    let (status, _) = Raw::signed("stack_update", good.clone()).send(&addr).await;
    assert_eq!(status, 200, "still relaying");

    let logs = relay.stderr();
    for text in answers.iter().map(String::as_str).chain([logs.as_str()]) {
        assert!(!text.contains(fake_slack::TOKEN) && !text.contains(SECRET));
        assert!(
            !hex64_runs(text).contains(&good_signature.as_str()),
            "a valid signature leaked: {text}"
        );
    }
}

//! The real `handler` binary as a local server: the one-command local run, `--dry-run`, start-up
//! errors that name the variable to fix, structured logs without secrets, graceful shutdown.

use std::process::Command;

use relay_tests::fake_slack::{self, FakeSlack};
use relay_tests::relay::{Delivery, Process, handler_binary, run_to_exit};
use relay_tests::{SECRET, fixture};

fn slack_env(slack: &FakeSlack) -> Vec<(&'static str, String)> {
    vec![
        ("SLACK_API_URL", slack.api_url.clone()),
        ("SLACK_TOKEN", fake_slack::TOKEN.to_owned()),
        ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
        ("PULUMI_WEBHOOK_SECRET", SECRET.to_owned()),
    ]
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[tokio::test]
async fn the_binary_relays_a_signed_webhook_and_logs_one_line_per_delivery() {
    let slack = FakeSlack::start().await;
    let env = slack_env(&slack);
    let process = Process::start(&[], &as_refs(&env)).await;
    let mut delivery = Delivery::signed("stack_update", fixture("stack_update-succeeded"));
    delivery.id = "d-0001".into();
    let answer = delivery.send(&process.url).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(slack.posts().len(), 1);

    let (clean_exit, _, logs) = process.terminate();
    assert!(clean_exit, "SIGTERM is a graceful shutdown:\n{logs}");
    let deliveries: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|l| l["message"] == "delivered")
        .collect();
    assert_eq!(deliveries.len(), 1, "{logs}");
    let line = &deliveries[0];
    assert_eq!(line["id"], "d-0001");
    assert_eq!(line["kind"], "stack_update");
    assert_eq!(line["org"], "crazy-adventures");
    assert_eq!(line["stack"], "website-prod");
    assert_eq!(line["outcome"], "posted");
    assert!(line["latency_ms"].as_f64().is_some());
    for secret in [fake_slack::TOKEN, SECRET] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}

#[tokio::test]
async fn refusals_are_logged_without_the_signature_or_secrets() {
    let slack = FakeSlack::start().await;
    let env = slack_env(&slack);
    let process = Process::start(&[], &as_refs(&env)).await;
    let mut delivery = Delivery::signed("stack", fixture("stack-created"));
    let wrong = relay_core::verify::WebhookSecret::new("nope".into()).sign(&delivery.body);
    delivery.signature = Some(wrong.clone());
    let answer = delivery.send(&process.url).await;
    assert_eq!(answer.status, 401);
    let (_, _, logs) = process.terminate();
    assert!(logs.contains("\"outcome\":\"invalid_signature\""), "{logs}");
    for secret in [fake_slack::TOKEN, SECRET, wrong.as_str()] {
        assert!(!logs.contains(secret) && !answer.body.to_string().contains(secret));
    }
}

#[tokio::test]
async fn dry_run_prints_and_returns_the_message_without_a_token() {
    let process = Process::start(&["--dry-run"], &[]).await;
    let mut delivery = Delivery::signed("deployment", fixture("deployment-failed"));
    delivery.signature = None;
    let answer = delivery.send(&process.url).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["dry_run"], true);
    let text = answer.body["message"]["text"].as_str().unwrap();
    assert!(text.starts_with(":x: Deployment #127 failed"), "{text}");

    let (_, stdout, stderr) = process.terminate();
    let printed: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is the message as JSON");
    assert_eq!(printed["message"]["text"], text);
    assert!(
        stderr.contains("no webhook secret is set"),
        "warns once at start-up:\n{stderr}"
    );
}

#[test]
fn a_missing_channel_stops_start_up_naming_the_variable() {
    let (ok, stderr) = run_to_exit(&[("SLACK_TOKEN", "xoxb-secret-value")]);
    assert!(!ok);
    assert!(stderr.contains("SLACK_CHANNEL is not set"), "{stderr}");
    assert!(!stderr.contains("xoxb-secret-value"));
}

#[test]
fn a_missing_token_stops_start_up_naming_both_variables() {
    let (ok, stderr) = run_to_exit(&[("SLACK_CHANNEL", "#ops")]);
    assert!(!ok);
    assert!(
        stderr.contains("SLACK_TOKEN is not set") && stderr.contains("SLACK_TOKEN_PARAMETER"),
        "{stderr}"
    );
}

#[test]
fn a_bad_listen_address_is_a_clear_error() {
    let output = Command::new(handler_binary())
        .args(["--dry-run", "--listen", "not-an-address"])
        .env_clear()
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--listen"));
}

//! Durable delivery on the self-hosted relay: Pulumi Cloud never redelivers on its own, so what
//! Slack does not take in time is committed to the data directory, answered 202, and retried
//! until Slack takes it, exactly once; what Slack refuses for good is a dead letter that
//! `handler replay` posts after the cause is fixed. Everything through the real binary, its
//! data directory on disk, and the fake Slack on loopback.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use axum::body::Bytes;
use relay_tests::fake_slack::{self, FakeSlack, Reply};
use relay_tests::load::{self, Outcome, Shot, signed_mix_one_stack_each};
use relay_tests::relay::{Delivery, Process, drained, handler_binary, status};
use relay_tests::{SECRET, fixture, sign};
use serde_json::Value;

/// The relay's environment: a short inline deadline, and retries within a test's time.
fn env(slack: &FakeSlack) -> Vec<(&'static str, String)> {
    vec![
        ("SLACK_API_URL", slack.api_url.clone()),
        ("SLACK_TOKEN", fake_slack::TOKEN.to_owned()),
        ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
        ("PULUMI_WEBHOOK_SECRET", SECRET.to_owned()),
        ("SLACK_DEADLINE_MS", "300".to_owned()),
        ("RETRY_FIRST_MS", "50".to_owned()),
        ("RETRY_MAX_MS", "400".to_owned()),
    ]
}

async fn relay(slack: &FakeSlack, data_dir: &Path, args: &[&str]) -> Process {
    let env = env(slack);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut all = vec!["--data-dir", data_dir.to_str().unwrap()];
    all.extend_from_slice(args);
    Process::start(&all, &env).await
}

/// Slack down in every way it goes down: 503s, connection resets, and no answer at all.
fn slack_down(n: usize) -> Option<Reply> {
    Some(match n % 3 {
        0 => Reply::Status(503),
        1 => Reply::Reset,
        _ => Reply::Stall,
    })
}

/// Runs `handler <args> --data-dir <dir>` to its end: (success, stdout, stderr).
fn command(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(handler_binary())
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_clear()
        .output()
        .expect("the handler binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `handler dead-letters --json`, one object per dead letter.
fn dead_letters(dir: &Path) -> Vec<Value> {
    let (ok, out, err) = command(dir, &["dead-letters", "--json"]);
    assert!(ok, "dead-letters failed: {err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn json(outcome: &Outcome) -> Value {
    serde_json::from_slice(&outcome.body).unwrap_or(Value::Null)
}

/// Every delivery answered 200 or 202 is in Slack exactly once; one the relay never answered
/// (it was killed) at most once.
fn assert_each_posted_once(slack: &FakeSlack, outcomes: &[Outcome]) {
    let posts = slack.posts_by_delivery();
    for outcome in outcomes {
        let posted = posts.get(&outcome.id).copied().unwrap_or(0);
        match outcome.status {
            200 | 202 => assert_eq!(posted, 1, "{} ({}) posted once", outcome.id, outcome.status),
            0 => assert!(
                posted <= 1,
                "{} (never answered) posted {posted}×",
                outcome.id
            ),
            other => panic!("{} answered {other}: {}", outcome.id, json(outcome)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_slack_is_down_every_delivery_is_answered_200_or_202_and_posted_once_when_it_is_back()
{
    let slack = FakeSlack::start().await;
    slack.faults(slack_down);
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&slack, dir.path(), &[]).await;
    let shots = signed_mix_one_stack_each("down", 1_000);

    let outcomes = load::fire(&load::client(), &relay.url, shots, 50).await;

    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for outcome in &outcomes {
        *by_status.entry(outcome.status).or_default() += 1;
    }
    assert_eq!(by_status.get(&202), Some(&1_000), "{by_status:?}");
    assert!(outcomes.iter().all(|o| json(o)["queued"] == true));
    assert_eq!(slack.post_count(), 0);
    let during = status(&relay.url).await;
    assert_eq!(during["queued"], 1_000, "{during}");
    assert!(
        during["oldest_queued_age_s"].as_f64().unwrap() > 0.0,
        "{during}"
    );
    assert_eq!(during["dead_letters"], 0, "{during}");
    assert_eq!(
        during["last_slack_error"]["error"], "slack_unavailable",
        "{during}"
    );

    slack.faults(|_| None);
    let after = drained(&relay.url).await;
    assert_eq!(after["dead_letters"], 0, "{after}");
    assert_each_posted_once(&slack, &outcomes);
    assert_eq!(slack.post_count(), 1_000);
    let log = relay.stderr();
    assert!(
        log.contains(r#""outcome":"retry_scheduled""#),
        "each retry is logged"
    );
    assert!(
        log.contains(r#""message":"delivered from the queue""#),
        "each delivery from the queue is logged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_mid_outage_and_restarted_on_its_data_dir_loses_nothing_it_answered() {
    let slack = FakeSlack::start().await;
    slack.faults(slack_down);
    let dir = tempfile::tempdir().unwrap();
    let mut first = relay(&slack, dir.path(), &[]).await;
    let shots = signed_mix_one_stack_each("kill", 600);
    let (before, during): (Vec<Shot>, Vec<Shot>) = {
        let mut shots = shots;
        let during = shots.split_off(300);
        (shots, during)
    };
    let client = load::client();
    let mut outcomes = load::fire(&client, &first.url, before, 30).await;
    assert!(outcomes.iter().all(|o| o.status == 202));

    // kill -9 while the next 300 are arriving: some are answered, some cut off mid-request.
    let url = first.url.clone();
    let firing = tokio::spawn({
        let client = client.clone();
        async move { load::fire(&client, &url, during, 30).await }
    });
    while slack.attempts() < 450 {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.child.kill().expect("SIGKILL");
    first.child.wait().unwrap();
    outcomes.extend(firing.await.unwrap());
    assert!(outcomes.iter().any(|o| o.status == 0), "some were cut off");

    slack.faults(|_| None);
    let second = relay(&slack, dir.path(), &[]).await;
    drained(&second.url).await;
    assert_each_posted_once(&slack, &outcomes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_burst_is_waited_out_as_slack_asks_then_each_delivery_is_posted_once() {
    let slack = FakeSlack::start().await;
    slack.faults(|n| {
        (n <= 30).then_some(Reply::RateLimited {
            retry_after_secs: 1,
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&slack, dir.path(), &[]).await;
    let shots = signed_mix_one_stack_each("burst", 10);

    let outcomes = load::fire(&load::client(), &relay.url, shots, 10).await;
    assert!(outcomes.iter().all(|o| o.status == 202), "{outcomes:?}");
    drained(&relay.url).await;

    assert_each_posted_once(&slack, &outcomes);
    let waits: Vec<u64> = relay
        .stderr()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["outcome"] == "queued" || l["outcome"] == "retry_scheduled")
        .filter_map(|l| l["next_in_ms"].as_u64())
        .collect();
    assert!(!waits.is_empty(), "retries are logged with their wait");
    assert!(
        waits.iter().all(|ms| *ms >= 1_000),
        "no retry sooner than Slack's Retry-After: {waits:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_permanent_slack_error_is_dead_lettered_at_once_and_replay_posts_it_once_fixed() {
    let slack = FakeSlack::start().await;
    let channel_fixed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fixed = channel_fixed.clone();
    slack.faults(move |_| {
        (!fixed.load(std::sync::atomic::Ordering::SeqCst))
            .then_some(Reply::Error("channel_not_found"))
    });
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&slack, dir.path(), &[]).await;
    let shots = signed_mix_one_stack_each("dead", 3);

    let outcomes = load::fire(&load::client(), &relay.url, shots.clone(), 3).await;
    for outcome in &outcomes {
        let body = json(outcome);
        assert_eq!(outcome.status, 502, "{body}");
        assert_eq!(body["error"], "channel_not_found", "{body}");
        assert_eq!(body["dead_letter"], true, "{body}");
    }
    assert_eq!(slack.attempts(), 3, "a permanent error is not retried");
    let letters = dead_letters(dir.path());
    assert_eq!(letters.len(), 3, "{letters:?}");
    for letter in &letters {
        assert_eq!(letter["error"], "channel_not_found");
        assert_eq!(letter["attempts"], 1);
        assert_eq!(letter["organization"], "crazy-adventures", "{letter}");
        assert!(
            letter["stack"]
                .as_str()
                .unwrap()
                .starts_with("website-prod-")
        );
        assert!(letter["first_attempt"].as_str().unwrap().ends_with('Z'));
    }
    let seen = status(&relay.url).await;
    assert_eq!(seen["dead_letters"], 3, "{seen}");
    assert_eq!(
        seen["last_slack_error"]["error"], "channel_not_found",
        "{seen}"
    );

    // The channel is fixed; someone redelivers the first from Pulumi's log before the replay.
    channel_fixed.store(true, std::sync::atomic::Ordering::SeqCst);
    let first = &shots[0];
    let mut redelivery = Delivery::signed(first.kind, first.body.to_vec());
    redelivery.id = first.id.clone();
    assert_eq!(redelivery.send(&relay.url).await.status, 200);

    let (ok, out, err) = command(dir.path(), &["replay", "--all"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("re-queued 3"), "{out}");
    drained(&relay.url).await;
    let posts = slack.posts_by_delivery();
    for shot in &shots {
        assert_eq!(posts.get(&shot.id), Some(&1), "{} posted once", shot.id);
    }
    assert!(dead_letters(dir.path()).is_empty());
}

#[tokio::test]
async fn replaying_an_id_that_is_no_dead_letter_fails_naming_it() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let _relay = relay(&slack, dir.path(), &[]).await;
    let (ok, _, err) = command(dir.path(), &["replay", "42"]);
    assert!(!ok);
    assert!(err.contains("not dead letters here: 42"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_data_directory_answers_503_and_nothing_it_refused_is_posted() {
    let slack = FakeSlack::start().await;
    slack.faults(|_| Some(Reply::Status(503)));
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&slack, dir.path(), &["--max-data-mb", "1"]).await;
    // ~200 KB each: a handful fit under the cap.
    let padded = |i: usize| {
        let body = String::from_utf8(fixture("stack-created")).unwrap();
        let body = body.replacen(
            '{',
            &format!(
                "{{\"padding\":\"{}\",",
                "x".repeat(200_000) + &i.to_string()
            ),
            1,
        );
        let body = Bytes::from(body.replace("website-prod", &format!("website-prod-{i}")));
        Shot {
            id: format!("full-{i}"),
            kind: "stack",
            signature: Some(sign(&body)),
            body,
        }
    };
    let outcomes = load::fire(
        &load::client(),
        &relay.url,
        (0..12).map(padded).collect(),
        1,
    )
    .await;
    let refused: Vec<&Outcome> = outcomes.iter().filter(|o| o.status == 503).collect();
    assert!(!refused.is_empty(), "the cap is reached: {outcomes:?}");
    for outcome in &refused {
        assert_eq!(json(outcome)["error"], "queue_unavailable");
    }
    assert!(outcomes.iter().all(|o| [202, 503].contains(&o.status)));

    slack.faults(|_| None);
    drained(&relay.url).await;
    let posts = slack.posts_by_delivery();
    for outcome in &outcomes {
        let expected = usize::from(outcome.status == 202);
        assert_eq!(
            posts.get(&outcome.id).copied().unwrap_or(0),
            expected,
            "{} answered {}",
            outcome.id,
            outcome.status
        );
    }
}

#[tokio::test]
async fn a_second_relay_on_a_data_dir_in_use_is_refused_naming_it() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let _serving = relay(&slack, dir.path(), &[]).await;
    let env = env(&slack);
    let output = Command::new(handler_binary())
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains(&format!(
            "the data directory {} is in use by another relay",
            dir.path().display()
        )),
        "{err}"
    );
}

#[test]
fn commands_on_a_directory_without_relay_data_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = command(dir.path(), &["dead-letters"]);
    assert!(!ok);
    assert!(err.contains("holds no relay data"), "{err}");
}

#[tokio::test]
async fn the_self_hosted_relay_edits_a_deployments_message_as_its_status_changes() {
    let slack = FakeSlack::start().await;
    let dir = tempfile::tempdir().unwrap();
    let relay = relay(&slack, dir.path(), &[]).await;
    let send = |fixture_name: &str, id: &str| {
        let mut delivery = Delivery::signed("deployment", fixture(fixture_name));
        delivery.id = id.to_owned();
        delivery
    };
    let running = send("deployment-running", "dep-1").send(&relay.url).await;
    let succeeded = send("deployment-succeeded", "dep-2").send(&relay.url).await;
    let again = send("deployment-succeeded", "dep-2").send(&relay.url).await;

    assert_eq!(running.status, 200);
    assert_eq!(succeeded.body["outcome"], "updated", "{:?}", succeeded.body);
    assert_eq!(again.body["outcome"], "duplicate", "{:?}", again.body);
    assert_eq!(slack.posts().len(), 1);
    assert_eq!(slack.edits().len(), 1);
}

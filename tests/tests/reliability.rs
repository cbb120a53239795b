//! No webhook is lost and none is posted twice: thousands of signed deliveries through the real
//! `handler` binary, with a healthy Slack and with a Slack that rate-limits in bursts, fails,
//! stalls and resets connections in the middle of the load. The rule checked for every delivery:
//! a 200 means exactly one post; a 202 means it is queued and posted exactly once when Slack takes
//! it (Pulumi Cloud never redelivers on its own, so the relay retries); a 4xx never posts; no
//! delivery is answered 5xx while the queue can be written. Logs and answers never carry the
//! token, the webhook secret or a valid signature.

use std::collections::{HashMap, HashSet};

use relay_tests::fake_slack::{self, FakeSlack, Reply};
use relay_tests::load::{self, Outcome, Shot, hex64_runs, signed_mix_one_stack_each};
use relay_tests::relay::{Process, drained};
use relay_tests::{SECRET, sign};

async fn relay_binary(slack: &FakeSlack, deadline_ms: u32) -> Process {
    let deadline = deadline_ms.to_string();
    let env = [
        ("SLACK_API_URL", slack.api_url.as_str()),
        ("SLACK_TOKEN", fake_slack::TOKEN),
        ("SLACK_CHANNEL", fake_slack::CHANNEL),
        ("PULUMI_WEBHOOK_SECRET", SECRET),
        ("SLACK_DEADLINE_MS", deadline.as_str()),
        // Retries within a test's time: the schedule's shape, not its default hours.
        ("RETRY_FIRST_MS", "50"),
        ("RETRY_MAX_MS", "400"),
    ];
    Process::start(&[], &env).await
}

/// Neither the logs nor any answer contains a secret or one of the valid signatures sent.
fn assert_no_secrets(logs: &str, outcomes: &[Outcome], shots: &[Shot]) {
    let signatures: HashSet<&str> = shots
        .iter()
        .filter_map(|s| s.signature.as_deref())
        .collect();
    let answers: Vec<String> = outcomes
        .iter()
        .map(|o| String::from_utf8_lossy(&o.body).into_owned())
        .collect();
    for (what, text) in
        std::iter::once(("logs", logs)).chain(answers.iter().map(|a| ("answer", a.as_str())))
    {
        assert!(
            !text.contains(fake_slack::TOKEN),
            "the Slack token is in the {what}"
        );
        assert!(
            !text.contains(SECRET),
            "the webhook secret is in the {what}"
        );
        let leaked: Vec<&str> = hex64_runs(text)
            .into_iter()
            .filter(|run| signatures.contains(run))
            .collect();
        assert!(
            leaked.is_empty(),
            "valid signatures are in the {what}: {leaked:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_deliveries_at_200_concurrent_are_each_posted_exactly_once() {
    let slack = FakeSlack::start().await;
    let relay = relay_binary(&slack, 10_000).await;
    let shots = signed_mix_one_stack_each("nl", 10_000);

    let outcomes = load::fire(&load::client(), &relay.url, shots.clone(), 200).await;

    let not_ok: Vec<_> = outcomes
        .iter()
        .filter(|o| o.status != 200)
        .take(5)
        .collect();
    assert!(
        not_ok.is_empty(),
        "with a healthy Slack every delivery is 200: {not_ok:?}"
    );
    let posts = slack.posts_by_delivery();
    for shot in &shots {
        assert_eq!(
            posts.get(&shot.id),
            Some(&1),
            "delivery {} posted once",
            shot.id
        );
    }
    assert_eq!(
        slack.post_count(),
        shots.len(),
        "no post without a delivery"
    );
    assert_no_secrets(&relay.stderr(), &outcomes, &shots);
}

/// Slack misbehaves on a fixed schedule of its request numbers: a burst of 429s, 429s, 500s,
/// 503s, connection resets and stalls past the relay's deadline.
fn flaky_slack(n: usize) -> Option<Reply> {
    match n {
        300..=360 => Some(Reply::RateLimited {
            retry_after_secs: 1,
        }),
        _ if n.is_multiple_of(23) => Some(Reply::Stall),
        _ if n.is_multiple_of(13) => Some(Reply::Reset),
        _ if n.is_multiple_of(11) => Some(Reply::RateLimited {
            retry_after_secs: 1,
        }),
        _ if n.is_multiple_of(7) => Some(Reply::Status(500)),
        _ if n.is_multiple_of(5) => Some(Reply::Status(503)),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_slack_faults_every_delivery_is_answered_200_or_202_and_posted_exactly_once() {
    let slack = FakeSlack::start().await;
    slack.faults(flaky_slack);
    let relay = relay_binary(&slack, 1_500).await;
    // Every tenth delivery carries a wrong signature: it must be refused and never posted.
    let mut shots = signed_mix_one_stack_each("ft", 2_000);
    for shot in shots.iter_mut().step_by(10) {
        shot.signature = Some(sign(b"some other body"));
    }
    let forged: HashSet<String> = shots.iter().step_by(10).map(|s| s.id.clone()).collect();
    let client = load::client();

    let outcomes = load::fire(&client, &relay.url, shots.clone(), 50).await;

    let posts = slack.posts_by_delivery();
    let mut by_status: HashMap<u16, usize> = HashMap::new();
    for outcome in &outcomes {
        *by_status.entry(outcome.status).or_default() += 1;
        let posted = posts.get(&outcome.id).copied().unwrap_or(0);
        match outcome.status {
            200 => assert_eq!(
                posted, 1,
                "{} answered 200: posted exactly once",
                outcome.id
            ),
            202 => {
                let body: serde_json::Value = serde_json::from_slice(&outcome.body).unwrap();
                assert_eq!(body["queued"], true, "{body}");
            }
            401 => {
                assert!(
                    forged.contains(&outcome.id),
                    "{} refused wrongly",
                    outcome.id
                );
                assert_eq!(posted, 0, "a refused delivery is never posted");
            }
            other => panic!("{} answered {other}: {:?}", outcome.id, outcome.body),
        }
    }
    assert_eq!(by_status.get(&401), Some(&forged.len()));
    assert!(
        by_status.get(&200).copied().unwrap_or(0) > 1_000,
        "{by_status:?}"
    );
    assert!(
        by_status.get(&202).copied().unwrap_or(0) > 0,
        "the schedule is harsh enough that some deliveries must be queued: {by_status:?}"
    );

    // Slack is healthy again: the relay drains its queue without anyone redelivering.
    slack.faults(|_| None);
    drained(&relay.url).await;
    let posts = slack.posts_by_delivery();
    for shot in shots.iter().filter(|s| !forged.contains(&s.id)) {
        assert_eq!(
            posts.get(&shot.id),
            Some(&1),
            "{} posted exactly once in the end",
            shot.id
        );
    }
    assert_eq!(slack.post_count(), shots.len() - forged.len());
    assert_no_secrets(&relay.stderr(), &outcomes, &shots);
}

#[test]
fn the_signature_scan_finds_a_signature_inside_other_text() {
    let signature = sign(b"{}");
    let text = format!("reason=\"x{signature}\" other=abc");
    assert!(hex64_runs(&text).contains(&signature.as_str()));
}

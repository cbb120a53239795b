//! With a state table (DynamoDB, here moto's on loopback, through the relay's real AWS SDK calls):
//! each Pulumi delivery id is posted exactly once, a deployment keeps one message edited in place,
//! and a stack's update replies in the thread of its preview. Slack is the fake, `chat.update`
//! included.

use std::time::Duration;

use futures_util::future::join_all;
use handler::config::{Output, StateSettings};
use handler::slack::RetryPolicy;
use handler::state::StateTable;
use relay_core::channel_rules::ChannelRules;
use relay_tests::fake_slack::{self, FakeSlack, Reply};
use relay_tests::fixture;
use relay_tests::moto::Moto;
use relay_tests::relay::{Answer, Delivery, InProcess, Process, config, quick_retries};

const TABLE: &str = "relay-state";

struct Setup {
    slack: FakeSlack,
    relay: InProcess,
    table: StateTable,
    _moto: Moto,
}

/// Delivery state in `table` (the relay's default thread window is an hour).
fn kept_in(table: &str) -> StateSettings {
    StateSettings {
        table: table.to_owned(),
    }
}

/// Quick backoff, but seconds per attempt: an attempt that times out after the fake Slack
/// accepted the message is retried and posted twice (Slack's own gap: it has no idempotency key),
/// and a loaded 2-core CI machine running these tests in parallel must not hit that.
fn patient_retries() -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_secs(20),
        attempt_timeout: Duration::from_secs(10),
        ..quick_retries()
    }
}

/// moto with the table, the fake Slack, and the in-process relay keeping state in the table.
async fn setup_with_routes(routes: &str) -> Setup {
    setup_with(routes, patient_retries()).await
}

async fn setup_with(routes: &str, retry: RetryPolicy) -> Setup {
    let moto = Moto::start().await;
    let slack = FakeSlack::start().await;
    let table = moto.state_table(TABLE).await;
    let mut config = config(&slack.api_url);
    config.rules = ChannelRules::parse(routes).expect("valid routes");
    config.state = Some(kept_in(TABLE));
    if let Output::Slack { retry: policy, .. } = &mut config.output {
        *policy = retry;
    }
    Setup {
        relay: InProcess::start_with(config, &moto.clients()).await,
        slack,
        table,
        _moto: moto,
    }
}

async fn setup() -> Setup {
    setup_with_routes("[]").await
}

impl Setup {
    /// Delivers fixture `name` as `kind` with delivery id `id`.
    async fn send(&self, kind: &str, name: &str, id: &str) -> Answer {
        let mut delivery = Delivery::signed(kind, fixture(name));
        delivery.id = id.to_owned();
        delivery.send(&self.relay.url).await
    }

    /// Like [`Setup::send`], redelivering (as Pulumi does) while the answer asks for it.
    async fn send_until_delivered(&self, kind: &str, name: &str, id: &str) -> Answer {
        for _ in 0..500 {
            let answer = self.send(kind, name, id).await;
            if answer.status != 503 {
                return answer;
            }
            // Polling, not timing: the other invocation finishes in a few milliseconds.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{id} was still not delivered after 500 redeliveries");
    }
}

fn outcome(answer: &Answer) -> &str {
    answer.body["outcome"].as_str().unwrap_or("posted")
}

fn ts(answer: &Answer) -> &str {
    answer.body["ts"].as_str().expect("a ts in the answer")
}

// ---- exactly once -------------------------------------------------------------------------

#[tokio::test]
async fn a_redelivery_of_a_posted_id_answers_200_without_posting_again() {
    let s = setup().await;
    let first = s.send("stack", "stack-created", "id-1").await;
    let again = s.send("stack", "stack-created", "id-1").await;

    assert_eq!((first.status, outcome(&first)), (200, "posted"));
    assert_eq!((again.status, outcome(&again)), (200, "duplicate"));
    assert_eq!(
        ts(&again),
        ts(&first),
        "the answer points at the first post"
    );
    assert_eq!(s.slack.posts().len(), 1);
}

#[tokio::test]
async fn the_same_event_under_two_delivery_ids_is_posted_twice() {
    let s = setup().await;
    s.send("stack", "stack-created", "id-1").await;
    let second = s.send("stack", "stack-created", "id-2").await;

    assert_eq!((second.status, outcome(&second)), (200, "posted"));
    assert_eq!(
        s.slack.posts().len(),
        2,
        "deduplication is by delivery id, not by body"
    );
}

#[tokio::test]
async fn a_delivery_that_failed_is_posted_by_its_redelivery() {
    let s = setup().await;
    // Every attempt within the relay's (quick) deadline fails.
    s.slack.script(vec![Reply::Status(500); 4]);
    let failed = s.send("stack", "stack-created", "id-1").await;
    let redelivered = s.send("stack", "stack-created", "id-1").await;

    assert_eq!(failed.status, 503, "{:?}", failed.body);
    assert_eq!((redelivered.status, outcome(&redelivered)), (200, "posted"));
    assert_eq!(s.slack.posts().len(), 1);
}

#[tokio::test]
async fn concurrent_duplicate_deliveries_post_once_and_all_end_in_200() {
    let s = setup().await;
    let answers = join_all(
        (0..16).map(|_| s.send_until_delivered("stack_update", "stack_update-succeeded", "id-1")),
    )
    .await;

    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    let posted = answers.iter().filter(|a| outcome(a) == "posted").count();
    assert_eq!(posted, 1, "exactly one invocation posts");
    assert!(
        answers
            .iter()
            .all(|a| matches!(outcome(a), "posted" | "duplicate"))
    );
    assert_eq!(s.slack.posts().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_racing_through_slack_faults_post_every_id_exactly_once() {
    let s = setup().await;
    // Every fifth Slack call fails with a 500, every seventh is reset: some deliveries end in
    // 503 and are redelivered while their copies are in flight or already posted.
    s.slack.faults(|n| match n {
        _ if n.is_multiple_of(7) => Some(Reply::Reset),
        _ if n.is_multiple_of(5) => Some(Reply::Status(500)),
        _ => None,
    });
    let ids: Vec<String> = (0..40).map(|i| format!("id-{i:02}")).collect();
    let s = &s;
    // Three copies of each delivery at once, as Pulumi's retries and a double send could make.
    let answers =
        join_all(ids.iter().flat_map(|id| {
            (0..3).map(move |_| s.send_until_delivered("stack", "stack-created", id))
        }))
        .await;

    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    let posts = s.slack.posts_by_delivery();
    assert_eq!(posts.len(), ids.len(), "every id was posted: {posts:?}");
    assert!(posts.values().all(|n| *n == 1), "and only once: {posts:?}");
    for id in &ids {
        let tss: std::collections::HashSet<&str> = answers
            .iter()
            .zip(ids.iter().flat_map(|id| std::iter::repeat_n(id, 3)))
            .filter(|(_, answered)| *answered == id)
            .map(|(answer, _)| ts(answer))
            .collect();
        assert_eq!(
            tss.len(),
            1,
            "all copies of {id} point at one message: {tss:?}"
        );
    }
}

#[tokio::test]
async fn a_delivery_in_flight_elsewhere_answers_503_with_retry_after() {
    let s = setup().await;
    // Slack hangs the first delivery past a second one arriving.
    s.slack.script([Reply::Hang(Duration::from_millis(400))]);
    let slow = s.send("stack", "stack-created", "id-1");
    let duplicate = async {
        // Sent once the first has claimed the id: polled through the fake's attempt count.
        while s.slack.attempts() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        s.send("stack", "stack-created", "id-1").await
    };
    let (slow, duplicate) = tokio::join!(slow, duplicate);

    assert_eq!(duplicate.status, 503, "{:?}", duplicate.body);
    assert_eq!(duplicate.error(), "delivery_in_progress");
    assert!(duplicate.headers.contains_key("retry-after"));
    assert_eq!(slow.status, 200, "{:?}", slow.body);
    assert_eq!(s.slack.posts().len(), 1);
}

#[tokio::test]
async fn an_unreachable_state_table_answers_503_and_posts_nothing() {
    let moto = Moto::start().await;
    let slack = FakeSlack::start().await;
    // The table was never created: every DynamoDB call fails.
    let mut config = config(&slack.api_url);
    config.state = Some(kept_in("missing-table"));
    let relay = InProcess::start_with(config, &moto.clients()).await;
    let answer = Delivery::signed("stack", fixture("stack-created"))
        .send(&relay.url)
        .await;

    assert_eq!(answer.status, 503, "{:?}", answer.body);
    assert_eq!(answer.error(), "state_unavailable");
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("missing-table"), "{message}");
    assert!(
        slack.posts().is_empty(),
        "no post without the exactly-once record"
    );
}

// ---- one living message per deployment ----------------------------------------------------

#[tokio::test]
async fn a_deployment_edits_one_message_from_queued_to_succeeded() {
    let s = setup().await;
    let queued = s.send("deployment", "deployment-queued", "id-1").await;
    let running = s.send("deployment", "deployment-running", "id-2").await;
    let succeeded = s.send("deployment", "deployment-succeeded", "id-3").await;

    assert_eq!(
        [&queued, &running, &succeeded].map(outcome),
        ["posted", "updated", "updated"]
    );
    assert_eq!(s.slack.posts().len(), 1);
    assert_eq!(s.slack.edits().len(), 2);
    assert_eq!(ts(&succeeded), ts(&queued));
    let now = s.slack.message(ts(&queued)).expect("the message exists");
    assert!(now.text().contains("succeeded"), "{}", now.text());
}

#[tokio::test]
async fn an_older_status_arriving_late_leaves_the_newer_one_shown() {
    let s = setup().await;
    let queued = s.send("deployment", "deployment-queued", "id-1").await;
    s.send("deployment", "deployment-succeeded", "id-3").await;
    let late = s.send("deployment", "deployment-running", "id-2").await;

    assert_eq!((late.status, outcome(&late)), (200, "superseded"));
    assert_eq!(
        s.slack.edits().len(),
        1,
        "only succeeded edited the message"
    );
    let now = s.slack.message(ts(&queued)).unwrap();
    assert!(now.text().contains("succeeded"), "{}", now.text());
}

#[tokio::test]
async fn concurrent_statuses_of_one_deployment_share_one_message() {
    let s = setup().await;
    let answers = join_all([
        s.send_until_delivered("deployment", "deployment-queued", "id-1"),
        s.send_until_delivered("deployment", "deployment-running", "id-2"),
        s.send_until_delivered("deployment", "deployment-succeeded", "id-3"),
    ])
    .await;

    assert!(answers.iter().all(|a| a.status == 200), "{answers:?}");
    assert_eq!(s.slack.posts().len(), 1, "one message for the deployment");
    assert!(answers.iter().all(|a| ts(a) == ts(&answers[0])));
}

#[tokio::test]
async fn a_deleted_deployment_message_is_posted_afresh() {
    let s = setup().await;
    let queued = s.send("deployment", "deployment-queued", "id-1").await;
    s.slack.delete(ts(&queued));
    let running = s.send("deployment", "deployment-running", "id-2").await;
    let succeeded = s.send("deployment", "deployment-succeeded", "id-3").await;

    assert_eq!((running.status, outcome(&running)), (200, "posted"));
    assert_ne!(ts(&running), ts(&queued));
    assert_eq!(outcome(&succeeded), "updated", "the new message lives on");
    assert_eq!(ts(&succeeded), ts(&running));
}

#[tokio::test]
async fn a_failure_with_a_mention_edits_the_message_and_pings_in_its_thread() {
    // Editing a message notifies nobody in Slack, so the mention goes out as a reply.
    let s = setup_with_routes(r#"[{"name": "pager", "mention": "@here"}]"#).await;
    let queued = s.send("deployment", "deployment-queued", "id-1").await;
    let failed = s.send("deployment", "deployment-failed", "id-2").await;

    assert_eq!(outcome(&failed), "updated");
    let posts = s.slack.posts();
    assert_eq!(posts.len(), 2, "the first post and the ping");
    let ping = &posts[1];
    assert_eq!(ping.thread_ts(), Some(ts(&queued)));
    assert!(ping.broadcast(), "the ping is shown in the channel too");
    assert!(ping.text().contains("<!here>"), "{}", ping.text());
}

#[tokio::test]
async fn a_status_routed_to_another_channel_gets_a_message_there() {
    let s = setup_with_routes(&format!(
        r#"[{{"name": "failures", "events": ["deployment_failed"], "channel": "{}"}}]"#,
        fake_slack::ALERTS_CHANNEL
    ))
    .await;
    s.send("deployment", "deployment-queued", "id-1").await;
    let failed = s.send("deployment", "deployment-failed", "id-2").await;

    assert_eq!(outcome(&failed), "posted");
    assert_eq!(failed.body["channel"], fake_slack::ALERTS_CHANNEL_ID);
    assert!(s.slack.edits().is_empty());
}

// ---- an update under its preview ----------------------------------------------------------

#[tokio::test]
async fn an_update_replies_in_the_thread_of_its_stacks_preview() {
    let s = setup().await;
    let preview = s
        .send("stack_preview", "stack_preview-succeeded", "id-1")
        .await;
    let update = s
        .send("stack_update", "stack_update-succeeded", "id-2")
        .await;

    assert_eq!((update.status, outcome(&update)), (200, "replied"));
    assert_eq!(update.body["thread_ts"], ts(&preview));
    let reply = &s.slack.posts()[1];
    assert_eq!(reply.thread_ts(), Some(ts(&preview)));
    assert!(!reply.broadcast(), "a success stays in the thread");
}

#[tokio::test]
async fn a_failed_update_under_a_preview_is_also_shown_in_the_channel() {
    let s = setup().await;
    s.send("stack_preview", "stack_preview-succeeded", "id-1")
        .await;
    s.send("stack_update", "stack_update-destroy-failed", "id-2")
        .await;

    let reply = &s.slack.posts()[1];
    assert!(reply.thread_ts().is_some());
    assert!(reply.broadcast());
}

#[tokio::test]
async fn only_the_first_update_after_a_preview_replies_under_it() {
    let s = setup().await;
    s.send("stack_preview", "stack_preview-succeeded", "id-1")
        .await;
    s.send("stack_update", "stack_update-succeeded", "id-2")
        .await;
    let next = s
        .send("stack_update", "stack_update-succeeded", "id-3")
        .await;

    assert_eq!(outcome(&next), "posted");
    assert_eq!(s.slack.posts()[2].thread_ts(), None);
}

#[tokio::test]
async fn an_update_without_a_preview_is_a_new_message() {
    let s = setup().await;
    let update = s
        .send("stack_update", "stack_update-succeeded", "id-1")
        .await;

    assert_eq!(outcome(&update), "posted");
    assert_eq!(s.slack.posts()[0].thread_ts(), None);
}

#[tokio::test]
async fn a_preview_older_than_the_thread_window_is_not_replied_under() {
    let s = setup().await;
    s.send("stack_preview", "stack_preview-succeeded", "id-1")
        .await;
    // The window has passed: the preview's record is expired, though DynamoDB's TTL sweep (which
    // can lag by days) has not removed it yet.
    let preview = relay_core::event::Event::parse(
        relay_core::event::Kind::StackPreview,
        &fixture("stack_preview-succeeded"),
    )
    .unwrap();
    let origin = preview.origin();
    let key = relay_core::contract::state_table::preview_key(
        origin.organization.unwrap(),
        origin.project.unwrap(),
        origin.stack.unwrap(),
    )
    .unwrap();
    let anchor = s
        .table
        .find(&key)
        .await
        .unwrap()
        .expect("the preview is kept");
    s.table.anchor(&key, &anchor, Duration::ZERO).await.unwrap();

    let update = s
        .send("stack_update", "stack_update-succeeded", "id-2")
        .await;
    assert_eq!((update.status, outcome(&update)), (200, "posted"));
    assert_eq!(s.slack.posts()[1].thread_ts(), None);
}

// ---- the binary ---------------------------------------------------------------------------

#[tokio::test]
async fn the_binary_keeps_state_in_the_table_named_by_state_table() {
    let moto = Moto::start().await;
    let table = moto.state_table(TABLE).await;
    let slack = FakeSlack::start().await;
    let mut env = moto.env();
    env.extend([
        ("SLACK_API_URL", slack.api_url.clone()),
        ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
        ("SLACK_TOKEN", fake_slack::TOKEN.to_owned()),
        ("PULUMI_WEBHOOK_SECRET", relay_tests::SECRET.to_owned()),
        ("STATE_TABLE", TABLE.to_owned()),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let relay = Process::start(&[], &env).await;

    let send = || {
        let mut delivery = Delivery::signed("stack", fixture("stack-created"));
        delivery.id = "dup-1".into();
        delivery.send(&relay.url)
    };
    let first = send().await;
    let again = send().await;

    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(outcome(&again), "duplicate");
    assert_eq!(slack.posts().len(), 1);
    // In the table, not in the data directory the binary also has.
    let claim = table
        .claim("delivery#dup-1", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        matches!(claim, handler::state::Claim::AlreadyPosted(_)),
        "{claim:?}"
    );
}

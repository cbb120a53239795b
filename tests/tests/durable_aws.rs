//! Durable delivery as deployed on AWS: the relay function (API Gateway events through the
//! Lambda emulator) queues what Slack does not take into moto's SQS FIFO queue; the worker
//! function (`RELAY_ROLE=retry-worker`, same binary) gets the queue's messages as real SQS
//! events from a stand-in of Lambda's event source mapping ([`relay_tests::esm`]) and answers
//! with partial batch responses; `handler dead-letters` / `replay` work on the deployed queues.

use std::collections::HashMap;
use std::time::Duration;

use relay_tests::emulator::{Ready, Watch, apigw_event, relay_env, response_body};
use relay_tests::esm::{EventSourceMapping, depth};
use relay_tests::fake_slack::{FakeSlack, Reply};
use relay_tests::load::{Shot, signed_mix_one_stack_each};
use relay_tests::moto::{Moto, RetryQueues};
use relay_tests::relay::handler_binary;
use relay_tests::{fixture, sign};
use serde_json::{Value, json};

/// The deployed relay, on loopback.
struct Deployed {
    moto: Moto,
    queues: RetryQueues,
    slack: FakeSlack,
    web: Watch,
    worker: Watch,
    esm: EventSourceMapping,
}

/// Short waits, so that a test sees several attempts (each test sets `RETRY_FIRST_MS`); a short
/// Slack deadline, so that an inline attempt against a Slack that is down is over quickly.
const SCHEDULE: [(&str, &str); 3] = [
    ("RETRY_MAX_MS", "2000"),
    ("RETRY_FOR_MINUTES", "10"),
    ("SLACK_DEADLINE_MS", "300"),
];

impl Deployed {
    async fn start(first_retry_ms: &str) -> Deployed {
        let moto = Moto::start().await;
        let queues = moto.retry_queues("relay-retries").await;
        moto.state_table("relay-state").await;
        let slack = FakeSlack::start().await;
        let env = |worker: bool| {
            let mut env = relay_env(&slack);
            env.extend(moto.env());
            env.extend(queues.env());
            env.push(("STATE_TABLE", "relay-state".to_owned()));
            env.extend(SCHEDULE.iter().map(|(k, v)| (*k, v.to_string())));
            env.push(("RETRY_FIRST_MS", first_retry_ms.to_owned()));
            if worker {
                env.push(("RELAY_ROLE", "retry-worker".to_owned()));
            }
            env
        };
        let web = Watch::start(env(false), Ready::Http).await;
        let worker = Watch::start(env(true), Ready::Invoke(json!({ "Records": [] }))).await;
        let esm = EventSourceMapping::new(moto.sqs(), &queues);
        Deployed {
            moto,
            queues,
            slack,
            web,
            worker,
            esm,
        }
    }

    /// Sends `shot` through API Gateway to the relay function: (status, JSON body).
    async fn deliver(&self, shot: &Shot) -> (u64, Value) {
        let mut event = apigw_event(&shot.body, shot.signature.as_deref().unwrap());
        event["headers"]["pulumi-webhook-id"] = json!(shot.id);
        event["headers"]["pulumi-webhook-kind"] = json!(shot.kind);
        let response = self.web.invoke(&event).await;
        (
            response["statusCode"].as_u64().unwrap(),
            response_body(&response),
        )
    }

    /// `GET /status` through API Gateway (the route `infra` declares).
    async fn status(&self) -> Value {
        let mut event = apigw_event(b"", "");
        event["routeKey"] = json!("GET /status");
        event["rawPath"] = json!("/status");
        event["requestContext"]["http"]["method"] = json!("GET");
        event["requestContext"]["http"]["path"] = json!("/status");
        event["requestContext"]["routeKey"] = json!("GET /status");
        let response = self.web.invoke(&event).await;
        assert_eq!(response["statusCode"], 200, "{response}");
        response_body(&response)
    }

    /// `handler <args…>` against the deployed queues (AWS pointed at moto); (success, stdout,
    /// stderr).
    fn cli(&self, args: &[&str]) -> (bool, String, String) {
        let output = std::process::Command::new(handler_binary())
            .args(args)
            .args(["--dead-letter-queue", &self.queues.dead_letters])
            .env_clear()
            .envs(self.moto.env())
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// A `stack` (created) delivery of `stack`, with id `id`: a plain new message each time.
fn stack_created(id: &str, stack: &str) -> Shot {
    let body = String::from_utf8(fixture("stack-created"))
        .unwrap()
        .replace("website-prod", stack);
    Shot {
        id: id.to_owned(),
        kind: "stack",
        signature: Some(sign(body.as_bytes())),
        body: body.into_bytes().into(),
    }
}

fn the_queue_id(body: &Value) -> String {
    assert_eq!(body["queued"], true, "{body}");
    body["id"].as_str().expect("a queue id").to_owned()
}

/// RETRY_FIRST_MS is 2 s (the schedule's RETRY_MAX_MS, the most it may be): longer than
/// delivering the twelve shots takes on a loaded 2-core machine, so the first receive comes
/// before the last shot's retry is due (at 1 s it did not, 2 runs in 4, while another build ran).
#[tokio::test]
async fn what_slack_does_not_take_is_queued_in_sqs_and_the_worker_posts_each_once() {
    let aws = Deployed::start("2000").await;
    aws.slack.faults(|_| Some(Reply::Status(503)));
    let shots = signed_mix_one_stack_each("aws", 12);
    for shot in &shots {
        let (status, body) = aws.deliver(shot).await;
        assert_eq!(status, 202, "{body}");
        the_queue_id(&body);
    }
    assert_eq!(aws.esm.depth().await, 12, "each 202 is a message in SQS");
    assert_eq!(aws.slack.post_count(), 0);
    let status = aws.status().await;
    assert_eq!(status["queue"], true);
    assert_eq!(status["queued"], 12, "{status}");
    assert_eq!(status["dead_letters"], 0);

    aws.slack.faults(|_| None);
    let batches = aws.esm.drain(&aws.worker, Duration::from_secs(60)).await;
    let posts = aws.slack.posts_by_delivery();
    for shot in &shots {
        assert_eq!(
            posts.get(&shot.id),
            Some(&1),
            "{} posted once: {posts:?}",
            shot.id
        );
    }
    assert_eq!(aws.slack.post_count(), 12);
    // Not due when first seen (RETRY_FIRST_MS after the door's attempt): kept, not attempted.
    assert!(
        batches.iter().any(|b| !b.kept.is_empty()),
        "the first receive comes before the first retry is due: {batches:#?}"
    );
    assert_eq!(depth(&aws.moto.sqs(), &aws.queues.dead_letters).await, 0);
    assert_eq!(aws.status().await["queued"], 0);
}

#[tokio::test]
async fn a_kept_message_holds_back_the_rest_of_its_stack_and_the_others_are_deleted() {
    // Due at once, so that one receive holds every message.
    let aws = Deployed::start("1").await;
    aws.slack.faults(|_| Some(Reply::Status(503)));
    let other = &stack_created("other", "other-stack");
    let same_stack: Vec<Shot> = (0..3)
        .map(|i| stack_created(&format!("stack-{i}"), "held-stack"))
        .collect();
    for shot in same_stack.iter().chain([other]) {
        assert_eq!(aws.deliver(shot).await.0, 202);
    }
    aws.slack.faults(|_| None);
    // Slack rate-limits the first post (longer than its deadline), then takes everything.
    aws.slack.script([Reply::RateLimited {
        retry_after_secs: 2,
    }]);

    let event = aws.esm.receive().await.expect("messages");
    assert_eq!(event["Records"].as_array().unwrap().len(), 4, "{event:#}");
    let batch = aws.esm.deliver(&aws.worker, &event).await;
    let ids: Vec<&String> = batch.messages.iter().map(|(id, _)| id).collect();
    assert_eq!(
        batch.kept,
        ids[..3].iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        "the rate-limited head and the two behind it in its group are kept; the other stack's is done"
    );
    let posts = aws.slack.posts_by_delivery();
    assert_eq!(posts.get(&other.id), Some(&1));
    assert_eq!(
        posts.len(),
        1,
        "nothing of the held stack is posted: {posts:?}"
    );
    assert_eq!(
        aws.esm.depth().await,
        3,
        "the other stack's message was deleted"
    );

    // The group waits for its head (Retry-After 2 s), then goes in arrival order.
    assert!(
        aws.esm.receive().await.is_none(),
        "the group is held back while its head waits"
    );
    aws.esm.drain(&aws.worker, Duration::from_secs(30)).await;
    let order: Vec<String> = aws
        .slack
        .posts()
        .iter()
        .filter_map(|p| p.delivery_id())
        .filter(|id| id.starts_with("stack-"))
        .collect();
    assert_eq!(order, ["stack-0", "stack-1", "stack-2"]);
}

#[tokio::test]
async fn permanent_errors_are_dead_lettered_listed_and_replayed_from_the_deployed_queues() {
    let aws = Deployed::start("1").await;
    let shots = signed_mix_one_stack_each("dead", 2);

    // At the door: Slack refuses for good, so the delivery is buried at once and answered 502.
    aws.slack.script([Reply::Error("channel_not_found")]);
    let (status, body) = aws.deliver(&shots[0]).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "channel_not_found");
    assert_eq!(body["dead_letter"], true);
    let at_door = body["id"].as_str().unwrap().to_owned();

    // In the worker: queued by a Slack outage, then refused for good on the retry.
    aws.slack.faults(|_| Some(Reply::Status(503)));
    let (status, body) = aws.deliver(&shots[1]).await;
    assert_eq!(status, 202);
    let in_worker = the_queue_id(&body);
    aws.slack.faults(|_| None);
    aws.slack.script([Reply::Error("not_in_channel")]);
    aws.esm.drain(&aws.worker, Duration::from_secs(30)).await;
    assert_eq!(aws.slack.post_count(), 0);

    let (ok, listing, stderr) = aws.cli(&["dead-letters", "--json"]);
    assert!(ok, "{stderr}");
    let letters: HashMap<String, Value> = listing
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["id"].as_str().unwrap().to_owned(), v))
        .collect();
    assert_eq!(letters.len(), 2, "{listing}");
    assert_eq!(aws.status().await["dead_letters"], 2);
    assert_eq!(letters[&at_door]["error"], "channel_not_found");
    assert_eq!(letters[&at_door]["attempts"], 1);
    assert_eq!(letters[&at_door]["webhook_id"], shots[0].id.as_str());
    assert_eq!(letters[&in_worker]["error"], "not_in_channel");
    assert_eq!(letters[&in_worker]["attempts"], 2);
    assert!(
        letters[&in_worker]["stack"]
            .as_str()
            .unwrap()
            .starts_with("website-prod-")
    );
    // Listing hides nothing: the same two are there again.
    assert_eq!(aws.cli(&["dead-letters", "--json"]).1.lines().count(), 2);

    let (ok, _, stderr) = aws.cli(&["replay", "no-such-id"]);
    assert!(!ok);
    assert!(
        stderr.contains("not dead letters here: no-such-id"),
        "{stderr}"
    );

    // Meanwhile the first was redelivered from Pulumi's delivery log, and posted.
    let (status, body) = aws.deliver(&shots[0]).await;
    assert_eq!(status, 200, "{body}");

    let (ok, stdout, stderr) = aws.cli(&["replay", "--all"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("re-queued 2"), "{stdout}{stderr}");
    aws.esm.drain(&aws.worker, Duration::from_secs(30)).await;
    let posts = aws.slack.posts_by_delivery();
    for shot in &shots {
        assert_eq!(
            posts.get(&shot.id),
            Some(&1),
            "each posted once, the redelivered one not again by its replay: {posts:?}"
        );
    }
    assert_eq!(depth(&aws.moto.sqs(), &aws.queues.dead_letters).await, 0);
}

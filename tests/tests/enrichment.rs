//! Messages that say why a run failed and what it changed, read from the Pulumi Cloud REST API
//! (a fake on loopback, `relay_tests::fake_pulumi`) with an access token: each scenario's Slack
//! message, and every way the API can fail — each still posts, without the section, and says why
//! on the delivery's log line.

use relay_tests::fake_pulumi::{self, FakePulumi, Mode};
use relay_tests::fake_slack::{self, FakeSlack, Post, Reply};
use relay_tests::relay::{Delivery, InProcess, Process, config, drained};
use relay_tests::{SECRET, fixture};
use serde_json::Value;

use handler::config::PulumiSettings;

/// A relay that reads Pulumi Cloud at `api` with `token`.
async fn relay_with(slack: &FakeSlack, api: &FakePulumi, token: &str) -> InProcess {
    let mut config = config(&slack.api_url);
    config.pulumi = Some(PulumiSettings {
        api_url: api.api_url.clone(),
        token: token.into(),
    });
    InProcess::start(config).await
}

/// Delivers `fixtures/<webhook>.json` as `kind` to a relay reading the API scenario `scenario`,
/// and returns the one message posted and the fake API (for its requests).
async fn post(kind: &str, webhook: &str, scenario: &str) -> (Post, FakePulumi) {
    let slack = FakeSlack::start().await;
    let api = FakePulumi::start(scenario).await;
    let relay = relay_with(&slack, &api, fake_pulumi::TOKEN).await;
    let answer = Delivery::signed(kind, fixture(webhook))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let posts = slack.posts();
    assert_eq!(posts.len(), 1, "exactly one message");
    (posts.into_iter().next().unwrap(), api)
}

/// The message's section texts, one string each.
fn sections(post: &Post) -> Vec<String> {
    post.body["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "section")
        .filter_map(|b| b["text"]["text"].as_str().map(str::to_owned))
        .collect()
}

/// The one section starting with `heading` (bold), or a panic naming what there is.
fn section(post: &Post, heading: &str) -> String {
    let wanted = format!("*{heading}*");
    let all = sections(post);
    all.iter()
        .find(|s| s.starts_with(&wanted))
        .cloned()
        .unwrap_or_else(|| panic!("no {wanted} section in {all:#?}"))
}

#[tokio::test]
async fn a_failed_update_says_why_with_each_error_and_its_resource() {
    let (post, _) = post("stack_update", "stack_update-failed", "update-failed").await;
    let why = section(&post, "Why it failed");
    let lines: Vec<&str> = why.lines().collect();
    assert_eq!(
        lines,
        [
            "*Why it failed*",
            "`aws:s3/bucket:Bucket` *site*: creating S3 Bucket (site-7f3a): operation error S3: \
             CreateBucket, StatusCode: 403, AccessDenied: Access Denied",
            "`aws:iam/role:Role` *deployer*: updating IAM Role (deployer): MalformedPolicyDocument: \
             Invalid principal in policy",
        ],
        "the engine's own \"update failed\" and the warning are left out"
    );
    assert_eq!(
        section(&post, "Failed"),
        "*Failed* (2)\n`+ aws:s3/bucket:Bucket` site\n`~ aws:iam/role:Role` deployer"
    );
}

#[tokio::test]
async fn events_are_read_page_by_page_with_the_token_and_pulumis_media_type() {
    let (_, api) = post("stack_update", "stack_update-failed", "update-failed").await;
    let requests = api.requests();
    let paths: Vec<String> = requests
        .iter()
        .map(|r| match r.query.as_str() {
            "" => r.path.clone(),
            query => format!("{}?{query}", r.path),
        })
        .collect();
    let stack = "/api/stacks/crazy-adventures/website/website-prod";
    assert_eq!(
        paths,
        [
            format!("{stack}/updates/44"),
            format!("{stack}/update/7d3f4e2a-update-44/events"),
            format!("{stack}/update/7d3f4e2a-update-44/events?continuationToken=page-1"),
        ]
    );
    for request in &requests {
        assert_eq!(
            request.authorization.as_deref(),
            Some(format!("token {}", fake_pulumi::TOKEN).as_str())
        );
        assert_eq!(request.accept.as_deref(), Some("application/vnd.pulumi+8"));
    }
}

#[tokio::test]
async fn a_failed_preview_says_why_from_the_previews_events_and_what_it_planned() {
    let (post, api) = post("stack_preview", "stack_preview-failed", "preview-failed").await;
    let why = section(&post, "Why it failed");
    assert!(
        why.contains(
            "`aws:s3/bucket:Bucket` *site*: Preview failed: bucket name \"site\" is not valid"
        ),
        "{why}"
    );
    assert!(
        why.contains("\nError: cannot read config key website:domain at Object.&lt;anonymous&gt;"),
        "the SDK's header gives way to the error, escaped: {why}"
    );
    assert!(
        !why.contains("preview failed\n") && !why.ends_with("preview failed"),
        "{why}"
    );
    assert_eq!(
        section(&post, "Resources to change"),
        "*Resources to change* (1)\n`+ aws:s3/bucket:Bucket` site"
    );
    assert!(
        api.requests()
            .iter()
            .all(|r| r.path.contains("/preview/5e1c0b7a-preview/events")),
        "a preview is addressed by its ID: {:?}",
        api.requests()
    );
}

#[tokio::test]
async fn a_successful_update_lists_its_changed_resources_ten_then_a_count() {
    let (post, api) = post(
        "stack_update",
        "stack_update-14-changes",
        "update-14-changes",
    )
    .await;
    let changed = section(&post, "Changed resources");
    let lines: Vec<&str> = changed.lines().collect();
    assert_eq!(lines[0], "*Changed resources* (14)");
    assert_eq!(lines[1], "`+ aws:s3/bucketObject:BucketObject` page-0");
    assert_eq!(lines[9], "`~ aws:lambda/function:Function` fn-0");
    assert_eq!(lines[11], "+4 more");
    assert_eq!(lines.len(), 12);
    assert!(
        !sections(&post)
            .iter()
            .any(|s| s.starts_with("*Why it failed*")),
        "nothing failed"
    );
    assert_eq!(api.requests().len(), 4, "the update and its three pages");
}

#[tokio::test]
async fn a_failed_deployment_says_why_from_its_update() {
    let (post, api) = post("deployment", "deployment-failed", "deployment-failed").await;
    let why = section(&post, "Why it failed");
    assert!(
        why.contains(
            "`aws:iam/role:Role` *deployer*: updating IAM Role (deployer) tags: AccessDenied: \
             not authorized to perform iam:TagRole"
        ),
        "{why}"
    );
    let paths: Vec<String> = api.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths[0],
        "/api/stacks/crazy-adventures/website/website-prod/deployments/version/127"
    );
    assert_eq!(
        paths[1],
        "/api/stacks/crazy-adventures/website/website-prod/deployments/3c1d9f0e-dep-127/updates"
    );
}

#[tokio::test]
async fn a_deployment_that_failed_before_pulumi_ran_shows_its_steps_last_log_lines() {
    let (post, api) = post(
        "deployment",
        "deployment-failed",
        "deployment-failed-install",
    )
    .await;
    let log = section(&post, "Last lines of “Install dependencies”");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(
        lines[1..],
        [
            "```",
            "npm http fetch GET 200 https://registry.npmjs.org/pkg-9 12ms",
            "npm http fetch GET 200 https://registry.npmjs.org/pkg-10 12ms",
            "npm http fetch GET 200 https://registry.npmjs.org/pkg-11 12ms",
            "npm ERR! code ERESOLVE",
            "npm ERR! ERESOLVE unable to resolve dependency tree",
            "npm ERR! Found: @pulumi/aws@6.0.0",
            "npm ERR! Could not resolve dependency: peer @pulumi/pulumi@\"^4\"",
            "Error: Process completed with exit code 1.",
            "```",
        ],
        "the last eight lines that say something"
    );
    let offsets: Vec<String> = api
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/logs"))
        .map(|r| r.query)
        .collect();
    assert_eq!(
        offsets,
        [0, 5, 10, 15]
            .map(|o| format!("job=0&step=1&offset={o}&count=499"))
            .to_vec(),
        "the failed step, page by page"
    );
}

#[tokio::test]
async fn drift_lists_the_drifted_resources_and_what_differs() {
    let (post, api) = post(
        "drift_detection",
        "drift_detection-drifted",
        "drift-detected",
    )
    .await;
    assert_eq!(
        section(&post, "Drifted resources"),
        "*Drifted resources* (4)\n\
         `~ aws:s3/bucket:Bucket` site — tags.owner, versioning.enabled\n\
         `~ aws:iam/role:Role` deployer — maxSessionDuration\n\
         `~ aws:sqs/queue:Queue` jobs — visibilityTimeoutSeconds\n\
         `- aws:sns/topic:Topic` alerts",
        "the topic was deleted outside Pulumi"
    );
    let paths: Vec<String> = api.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths[1],
        "/api/stacks/crazy-adventures/website/website-prod/preview/2b3c4d5e-drift-detect/events",
        "a drift detection is a preview"
    );
}

#[tokio::test]
async fn a_drift_detection_preview_does_not_know_is_read_where_the_cli_reads_every_run() {
    let (post, api) = post(
        "drift_detection",
        "drift_detection-drifted",
        "drift-detected-update-path",
    )
    .await;
    assert!(section(&post, "Drifted resources").starts_with("*Drifted resources* (4)"));
    let paths: Vec<String> = api.requests().into_iter().map(|r| r.path).collect();
    let stack = "/api/stacks/crazy-adventures/website/website-prod";
    assert_eq!(
        paths[1..3],
        [
            format!("{stack}/preview/2b3c4d5e-drift-detect/events"),
            format!("{stack}/update/2b3c4d5e-drift-detect/events"),
        ],
        "404 from preview/, then update/"
    );
}

/// A message's blocks but its footer, which names the delivery.
fn without_footer(blocks: &Value) -> Vec<Value> {
    let blocks = blocks.as_array().expect("blocks");
    assert_eq!(
        blocks.last().unwrap()["type"],
        "context",
        "the footer is last"
    );
    blocks[..blocks.len() - 1].to_vec()
}

/// The message for `fixtures/stack_update-failed.json` from a relay without a Pulumi token, but
/// its footer.
async fn plain_message() -> Vec<Value> {
    let slack = FakeSlack::start().await;
    let relay = InProcess::start(config(&slack.api_url)).await;
    let answer = Delivery::signed("stack_update", fixture("stack_update-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200);
    without_footer(&slack.posts()[0].body["blocks"])
}

#[tokio::test]
async fn without_a_token_nothing_is_asked_and_the_message_is_as_before() {
    let slack = FakeSlack::start().await;
    let api = FakePulumi::start("update-failed").await;
    let relay = InProcess::start(config(&slack.api_url)).await;
    let answer = Delivery::signed("stack_update", fixture("stack_update-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200);
    assert!(api.requests().is_empty());
    let blocks = slack.posts()[0].body["blocks"].to_string();
    assert!(!blocks.contains("Why it failed"), "{blocks}");
    let rendered = relay_core::render::message(
        &relay_core::event::Event::parse(
            relay_core::event::Kind::StackUpdate,
            &fixture("stack_update-failed"),
        )
        .unwrap(),
        Some("x"),
    );
    assert_eq!(
        slack.posts()[0].body["text"],
        rendered.text(),
        "the message the relay always made"
    );
}

/// The relay binary with a Pulumi token, reading `api` (and logging to stderr).
async fn binary(
    slack: &FakeSlack,
    api: &FakePulumi,
    token: &str,
    extra: &[(&str, &str)],
) -> Process {
    let mut env = vec![
        ("SLACK_API_URL", slack.api_url.as_str()),
        ("SLACK_TOKEN", fake_slack::TOKEN),
        ("SLACK_CHANNEL", fake_slack::CHANNEL),
        ("PULUMI_WEBHOOK_SECRET", SECRET),
        ("PULUMI_API_URL", api.api_url.as_str()),
        ("PULUMI_ACCESS_TOKEN", token),
    ];
    env.extend_from_slice(extra);
    Process::start(&[], &env).await
}

/// The delivery log lines (`delivered`) of `logs`, by delivery id.
fn enrichment_by_delivery(logs: &str) -> Vec<(String, String)> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["id"].as_str().is_some_and(|id| id.starts_with("d-")))
        .filter(|l| l["enrichment"].is_string())
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l["enrichment"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_way_the_api_fails_still_posts_without_the_section_and_logs_why() {
    let slack = FakeSlack::start().await;
    let api = FakePulumi::start("update-failed").await;
    let relay = binary(&slack, &api, fake_pulumi::TOKEN, &[]).await;
    let plain = plain_message().await;

    let mut sent = Vec::new();
    let mut send = async |mode: Mode, webhook: &str| {
        api.set_mode(mode);
        let delivery = Delivery::signed("stack_update", fixture(webhook));
        let id = delivery.id.clone();
        let started = std::time::Instant::now();
        let answer = delivery.send(&relay.url).await;
        assert_eq!(answer.status, 200, "{mode:?}: {:?}", answer.body);
        sent.push(id);
        started.elapsed()
    };
    let stalled = send(Mode::Stall, "stack_update-failed").await;
    send(Mode::Status(500), "stack_update-failed").await;
    send(Mode::Status(403), "stack_update-failed").await;
    send(Mode::NotJson, "stack_update-failed").await;
    // A version the API does not know: 404.
    send(Mode::Normal, "stack_update-destroy-failed").await;
    send(Mode::Normal, "stack_update-failed").await;
    send(Mode::Normal, "stack-created").await;

    let posts = slack.posts();
    assert_eq!(posts.len(), 7, "every delivery is posted");
    for post in &posts[..4] {
        assert_eq!(
            without_footer(&post.body["blocks"]),
            plain,
            "as without a token"
        );
    }
    assert!(
        !posts[4].body["blocks"]
            .to_string()
            .contains("Why it failed")
    );
    assert!(
        posts[5].body["blocks"]
            .to_string()
            .contains("Why it failed")
    );
    assert!(
        stalled.as_millis() >= 2000 && stalled.as_millis() < 5000,
        "the budget is 2 s: {stalled:?}"
    );

    let (_, _, logs) = relay.terminate();
    assert!(
        !logs.contains(fake_pulumi::TOKEN),
        "the token is never logged"
    );
    let found = enrichment_by_delivery(&logs);
    let of = |i: usize| {
        found
            .iter()
            .find(|(id, _)| *id == sent[i])
            .map(|(_, e)| e.as_str())
            .unwrap_or_else(|| panic!("no log line for {}: {logs}", sent[i]))
    };
    assert_eq!(of(0), "failed: Pulumi Cloud did not answer within 2000 ms");
    assert!(
        of(1).starts_with("failed: Pulumi Cloud answered 500 to GET /api/stacks/"),
        "{}",
        of(1)
    );
    assert!(
        of(2).contains("answered 403") && of(2).contains("may not read this stack"),
        "{}",
        of(2)
    );
    assert!(of(3).starts_with("failed: Pulumi Cloud's answer to GET /api/stacks/crazy-adventures/website/website-prod/updates/44 is not what its API describes"), "{}", of(3));
    assert!(
        of(4).contains(
            "answered 404 to GET /api/stacks/crazy-adventures/website/website-prod/updates/43"
        ),
        "{}",
        of(4)
    );
    assert_eq!(of(5), "ok");
    assert_eq!(of(6), "skipped", "a stack event has no run to ask about");
}

#[tokio::test]
async fn a_wrong_token_is_a_401_logged_without_the_token() {
    let slack = FakeSlack::start().await;
    let api = FakePulumi::start("update-failed").await;
    let wrong = "pul-wrong-token-not-accepted";
    let relay = binary(&slack, &api, wrong, &[]).await;
    let answer = Delivery::signed("stack_update", fixture("stack_update-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(slack.posts().len(), 1);
    assert!(
        !slack.posts()[0].body["blocks"]
            .to_string()
            .contains("Why it failed"),
        "posted without the section"
    );
    assert!(!answer.body.to_string().contains(wrong));
    let (_, _, logs) = relay.terminate();
    assert!(!logs.contains(wrong), "{logs}");
    let found = enrichment_by_delivery(&logs);
    assert_eq!(found.len(), 1, "{logs}");
    assert!(
        found[0].1.contains("answered 401") && found[0].1.contains("access token is not valid"),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_queued_retry_shows_what_the_first_attempt_fetched_without_asking_again() {
    let slack = FakeSlack::start().await;
    let api = FakePulumi::start("update-failed").await;
    let relay = binary(
        &slack,
        &api,
        fake_pulumi::TOKEN,
        &[
            ("SLACK_DEADLINE_MS", "300"),
            ("RETRY_FIRST_MS", "50"),
            ("RETRY_MAX_MS", "100"),
        ],
    )
    .await;
    // Slack is down for the attempt at the door (every try within its deadline) and the worker's
    // first, then back.
    slack.faults(|n| (n <= 8).then_some(Reply::Status(503)));
    let answer = Delivery::signed("stack_update", fixture("stack_update-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 202, "{:?}", answer.body);
    let asked = api.requests().len();
    assert_eq!(asked, 3, "the door asked once (the update and two pages)");
    drained(&relay.url).await;
    let posts = slack.posts();
    assert_eq!(posts.len(), 1);
    assert!(
        posts[0].body["blocks"]
            .to_string()
            .contains("Why it failed"),
        "the retry shows the section"
    );
    assert_eq!(api.requests().len(), asked, "and did not ask again");
    let (_, _, logs) = relay.terminate();
    let found = enrichment_by_delivery(&logs);
    assert!(found.iter().any(|(_, e)| e == "reused"), "{found:?}");
}

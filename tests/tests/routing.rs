//! Routing through the real binary against the fake Slack: `ROUTES` picks the channel, mutes on
//! purpose (200 with the rule's name, nothing posted, one log line), mentions on failures only,
//! and a bad rule stops start-up with a message naming it.

use relay_tests::fake_slack::{self, FakeSlack};
use relay_tests::relay::{Delivery, Process, run_to_exit};
use relay_tests::{SECRET, fixture};
use serde_json::Value;

/// Three rules a team might write: dev previews are noise, production failures page the on-call
/// group in #alerts, everything else about production goes to #alerts, with `@here` for failures
/// the second rule does not list.
const ROUTES: &str = r##"[
    {"name": "quiet dev previews", "stack": "*-dev", "kinds": ["stack_preview"], "mute": true},
    {"name": "prod failures", "stack": "*-prod",
     "events": ["update_failed", "destroy_failed", "deployment_failed"],
     "channel": "#alerts", "mention": "<!subteam^S0ONCALL1>"},
    {"name": "prod", "stack": "*-prod", "channel": "#alerts", "mention": "@here"}
]"##;

fn env(slack: &FakeSlack, routes: &str) -> Vec<(&'static str, String)> {
    vec![
        ("SLACK_API_URL", slack.api_url.clone()),
        ("SLACK_TOKEN", fake_slack::TOKEN.to_owned()),
        ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
        ("PULUMI_WEBHOOK_SECRET", SECRET.to_owned()),
        ("ROUTES", routes.to_owned()),
    ]
}

async fn start(slack: &FakeSlack, routes: &str) -> Process {
    let env = env(slack, routes);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Process::start(&[], &env).await
}

/// A fixture with its `stackName` replaced (the fixtures are all about `website-prod`).
fn on_stack(name: &str, stack: &str) -> Vec<u8> {
    let mut body: Value = serde_json::from_slice(&fixture(name)).unwrap();
    body["stackName"] = Value::from(stack);
    serde_json::to_vec(&body).unwrap()
}

fn log_lines(logs: &str, message: &str) -> Vec<Value> {
    logs.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == message)
        .collect()
}

#[tokio::test]
async fn a_route_sends_matching_events_to_its_channel_and_the_rest_to_the_default() {
    let slack = FakeSlack::start().await;
    let relay = start(&slack, ROUTES).await;

    let prod = Delivery::signed("stack_update", fixture("stack_update-succeeded"))
        .send(&relay.url)
        .await;
    assert_eq!(prod.status, 200, "{:?}", prod.body);
    assert_eq!(prod.body["channel"], fake_slack::ALERTS_CHANNEL_ID);

    let staging = Delivery::signed(
        "stack_update",
        on_stack("stack_update-succeeded", "website-staging"),
    )
    .send(&relay.url)
    .await;
    assert_eq!(staging.status, 200, "{:?}", staging.body);
    assert_eq!(
        staging.body["channel"],
        fake_slack::CHANNEL_ID,
        "the default"
    );

    let channels: Vec<String> = slack.posts().into_iter().map(|p| p.channel).collect();
    assert_eq!(
        channels,
        [fake_slack::ALERTS_CHANNEL_ID, fake_slack::CHANNEL_ID]
    );
    let (_, _, logs) = relay.terminate();
    let routes: Vec<Value> = log_lines(&logs, "delivered")
        .iter()
        .map(|l| l["route"].clone())
        .collect();
    assert_eq!(routes, ["prod", "-"], "{logs}");
}

#[tokio::test]
async fn a_muted_event_answers_200_with_the_rule_posts_nothing_and_is_logged() {
    let slack = FakeSlack::start().await;
    let relay = start(&slack, ROUTES).await;
    let answer = Delivery::signed(
        "stack_preview",
        on_stack("stack_preview-succeeded", "website-dev"),
    )
    .send(&relay.url)
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        serde_json::json!({ "ok": true, "muted": "quiet dev previews" })
    );
    assert_eq!(slack.attempts(), 0, "Slack is not called at all");

    let (_, _, logs) = relay.terminate();
    let muted = log_lines(&logs, "muted");
    assert_eq!(muted.len(), 1, "{logs}");
    assert_eq!(muted[0]["route"], "quiet dev previews");
    assert_eq!(muted[0]["filter"], "preview_succeeded");
    assert_eq!(muted[0]["outcome"], "muted");
    assert_eq!(muted[0]["stack"], "website-dev");
}

#[tokio::test]
async fn a_failed_update_mentions_the_on_call_group_and_a_successful_one_does_not() {
    let slack = FakeSlack::start().await;
    let relay = start(&slack, ROUTES).await;
    let failed = Delivery::signed("stack_update", fixture("stack_update-destroy-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(failed.status, 200, "{:?}", failed.body);
    let succeeded = Delivery::signed("stack_update", fixture("stack_update-succeeded"))
        .send(&relay.url)
        .await;
    assert_eq!(succeeded.status, 200, "{:?}", succeeded.body);

    let posts = slack.posts();
    assert_eq!(posts.len(), 2);
    let mention = "<!subteam^S0ONCALL1>";
    assert!(posts[0].text().starts_with(mention), "{}", posts[0].text());
    let first_section = posts[0].body["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "section")
        .unwrap();
    assert!(
        first_section["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with(mention)
    );
    assert_eq!(posts[0].channel, fake_slack::ALERTS_CHANNEL_ID);
    // The success matched "prod", whose `mention` is for failures only.
    assert_eq!(posts[1].channel, fake_slack::ALERTS_CHANNEL_ID);
    let success = posts[1].body.to_string();
    assert!(
        !success.contains("<!here>") && !success.contains("subteam"),
        "a success pings no one: {success}"
    );
}

#[tokio::test]
async fn a_channel_slack_refuses_names_the_rule_that_chose_it() {
    let slack = FakeSlack::start().await;
    let routes = r##"[{"name": "secret project", "project": "website", "channel": "#private"}]"##;
    let relay = start(&slack, routes).await;
    let answer = Delivery::signed("stack_update", fixture("stack_update-succeeded"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.error(), "not_in_channel");
    let message = answer.body["message"].as_str().unwrap();
    assert!(
        message.contains("channel #private was chosen by the routes rule \"secret project\""),
        "{message}"
    );
}

#[tokio::test]
async fn dry_run_shows_the_channel_and_rule_a_route_chose() {
    let routes = r##"[{"name": "deploys", "kinds": ["deployment"], "channel": "#deploys"}]"##;
    let relay = Process::start(&["--dry-run"], &[("ROUTES", routes)]).await;
    let mut delivery = Delivery::signed("deployment", fixture("deployment-succeeded"));
    delivery.signature = None;
    let answer = delivery.send(&relay.url).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["channel"], "#deploys");
    assert_eq!(answer.body["route"], "deploys");
    let (_, stdout, _) = relay.terminate();
    let printed: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert_eq!(printed["channel"], "#deploys");
}

/// The binary with a token, a channel and `routes`, run until it exits.
fn with_routes(routes: &str) -> (bool, String) {
    run_to_exit(&[
        ("SLACK_TOKEN", "xoxb-secret-value"),
        ("SLACK_CHANNEL", "#ops"),
        ("ROUTES", routes),
    ])
}

#[test]
fn invalid_routes_stop_start_up_with_a_message_naming_the_rule() {
    let (ok, stderr) = with_routes(
        r##"[{"name": "prod", "stack": "*-prod", "channel": "#alerts"},
             {"name": "pager", "events": ["update_failure"], "mention": "@here"}]"##,
    );
    assert!(!ok);
    assert!(
        stderr.contains(
            r#"ROUTES is not valid: rule "pager" (routes[1]): `events` has "update_failure", which is not a Pulumi webhook filter name"#
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("xoxb-secret-value"));
}

#[test]
fn a_typo_in_a_field_name_stops_start_up_instead_of_routing_to_the_default() {
    let (ok, stderr) = with_routes(r##"[{"stack": "*-prod", "chanel": "#alerts"}]"##);
    assert!(!ok);
    assert!(
        stderr.contains("ROUTES is not valid: rule routes[0]: unknown field `chanel`"),
        "{stderr}"
    );
}

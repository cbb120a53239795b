//! ChatOps, the way back from Slack: a Slack app that signs its requests as Slack does
//! (`relay_tests::slack_app`), the relay's `/slack/commands` and `/slack/interactions`, a fake
//! Pulumi Cloud (`fixtures/pulumi-api/chatops.json`: latest updates, Deployments runs, and its
//! refusals) and a fake Slack holding the user groups and the `response_url`s.
//!
//! Who is who (`fixtures/chatops/rules.json`): U0DEV00001 may run everything but destroy on
//! `*-dev` stacks, members of S0ONCALL01 everything on the website project, U0READER01 only
//! `status`, and U0STRANGER nothing.

use std::time::{Duration, Instant};

use handler::config::{ChatopsSettings, DataDirSettings, PulumiSettings};
use relay_core::chatops::ChatopsRules;
use relay_core::slack_signing::SigningSecret;
use relay_tests::fake_pulumi::{self, FakePulumi, Mode};
use relay_tests::fake_slack::{self, FakeSlack};
use relay_tests::relay::{Answer, Delivery, InProcess, config};
use relay_tests::slack_app::{Origin, SIGNING_SECRET, SlackApp, now};
use relay_tests::{fixture, fixtures_dir};
use serde_json::{Value, json};

const DEV: &str = "U0DEV00001";
const ONCALL: &str = "U0ONCALL01";
const READER: &str = "U0READER01";
const STRANGER: &str = "U0STRANGER";
const ONCALL_GROUP: &str = "S0ONCALL01";
const PROD: &str = "crazy-adventures/website/website-prod";

struct Setup {
    slack: FakeSlack,
    api: FakePulumi,
    relay: InProcess,
    app: SlackApp,
}

fn rules() -> ChatopsRules {
    let json = std::fs::read_to_string(fixtures_dir().join("chatops/rules.json")).unwrap();
    ChatopsRules::parse(&json).expect("the fixture's rules are valid")
}

/// A relay with ChatOps on: the fixture's rules, Slack's example signing secret, the fake
/// Pulumi Cloud with `token`, and (when given) delivery state in `data_dir`.
async fn setup_with(token: &str, data_dir: Option<&std::path::Path>) -> Setup {
    let slack = FakeSlack::start().await;
    slack.set_group(ONCALL_GROUP, &["U0SOMEONE1", ONCALL]);
    let api = FakePulumi::start("chatops").await;
    let mut config = config(&slack.api_url);
    config.pulumi = Some(PulumiSettings {
        api_url: api.api_url.clone(),
        token: token.into(),
    });
    config.chatops = Some(ChatopsSettings {
        signing_secret: SigningSecret::new(SIGNING_SECRET.into()),
        rules: rules(),
    });
    config.data_dir = data_dir.map(|path| DataDirSettings {
        path: path.to_owned(),
        max_bytes: None,
    });
    let relay = InProcess::start(config).await;
    let app = SlackApp::new(&relay.url);
    Setup {
        slack,
        api,
        relay,
        app,
    }
}

async fn setup_with_token(token: &str) -> Setup {
    setup_with(token, None).await
}

async fn setup() -> Setup {
    setup_with_token(fake_pulumi::TOKEN).await
}

impl Setup {
    /// `/pulumi <text>` from `user`; the answer must be a 200 (Slack shows nothing else).
    async fn command(&self, user: &str, text: &str) -> Value {
        let answer = self
            .app
            .command(user, text, &self.slack.response_url())
            .send()
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }

    /// `user` clicks `button`; Slack only needs the 200.
    async fn click(&self, user: &str, button: &Value, origin: &Origin) {
        let answer = self
            .app
            .click(user, button, origin, &self.slack.response_url())
            .send()
            .await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
    }

    /// The requests that started (or tried to start) a Deployments run.
    fn deployments(&self) -> Vec<fake_pulumi::Request> {
        self.api
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .collect()
    }
}

fn text(answer: &Value) -> &str {
    answer["text"].as_str().unwrap_or_default()
}

fn ephemeral(answer: &Value) -> bool {
    answer["response_type"] == "ephemeral"
}

/// The buttons of a message or answer, as Slack would render them.
fn buttons(message: &Value) -> Vec<Value> {
    message["blocks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn refused(answer: &Answer) {
    assert_eq!(answer.status, 401, "{:?}", answer.body);
    assert_eq!(answer.body["ok"], false);
}

// --- verification

#[tokio::test]
async fn a_request_signed_as_slack_signs_it_is_answered() {
    let s = setup().await;
    let answer = s.command(STRANGER, "help").await;
    assert!(ephemeral(&answer));
    assert!(text(&answer).contains("/pulumi status <stack>"), "{answer}");
    assert!(
        text(&answer).contains("`project/stack` in `crazy-adventures`"),
        "the rules name one organization, so it may be left out: {answer}"
    );
}

#[tokio::test]
async fn a_stale_timestamp_is_refused_and_nothing_runs() {
    let s = setup().await;
    let body =
        serde_urlencoded::to_string([("command", "/pulumi"), ("text", "status x/y/z")]).unwrap();
    let answer = s
        .app
        .signed_at("slack/commands", body, now() - 301)
        .send()
        .await;
    refused(&answer);
    assert_eq!(answer.body["error"], "stale_request");
    assert!(s.api.requests().is_empty());
}

#[tokio::test]
async fn a_wrong_signature_is_refused() {
    let s = setup().await;
    let mut request = s
        .app
        .command(DEV, "preview website/website-dev", &s.slack.response_url());
    request.signature = Some(
        SigningSecret::new("another-app".into()).sign(&request.timestamp, request.body.as_bytes()),
    );
    let answer = request.send().await;
    refused(&answer);
    assert_eq!(answer.body["error"], "invalid_signature");
    assert!(s.api.requests().is_empty());
}

#[tokio::test]
async fn an_unsigned_request_is_refused() {
    let s = setup().await;
    let mut request = s
        .app
        .command(DEV, "preview website/website-dev", &s.slack.response_url());
    request.signature = None;
    let answer = request.send().await;
    refused(&answer);
    assert_eq!(answer.body["error"], "missing_signature");
}

#[tokio::test]
async fn a_replayed_request_is_refused_the_second_time() {
    let s = setup().await;
    let request = s
        .app
        .command(DEV, "preview website/website-dev", &s.slack.response_url());
    assert_eq!(request.send().await.status, 200);
    let again = request.send().await;
    refused(&again);
    assert_eq!(again.body["error"], "replayed_request");
    assert_eq!(s.deployments().len(), 1, "one run, not two");
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_refused() {
    let s = setup().await;
    let mut request = s.app.signed("slack/commands", r#"{"text":"help"}"#.into());
    request.content_type = "application/json";
    let answer = request.send().await;
    assert_eq!(answer.status, 415, "{:?}", answer.body);
    let request = s.app.signed("slack/commands", "text=help".into());
    let answer = request.send().await;
    assert_eq!(
        answer.status, 400,
        "no user or response_url: {:?}",
        answer.body
    );
    assert_eq!(answer.body["error"], "invalid_form");
}

#[tokio::test]
async fn without_a_signing_secret_the_endpoints_are_off() {
    let slack = FakeSlack::start().await;
    let relay = InProcess::start(config(&slack.api_url)).await;
    let app = SlackApp::new(&relay.url);
    let answer = app.command(DEV, "help", &slack.response_url()).send().await;
    assert_eq!(answer.status, 404, "{:?}", answer.body);
    assert_eq!(answer.body["error"], "chatops_off");
}

// --- commands

#[tokio::test]
async fn status_shows_the_latest_update_its_result_who_when_and_a_link() {
    let s = setup().await;
    let answer = s.command(READER, "status website/website-prod").await;
    assert!(ephemeral(&answer));
    let text = text(&answer);
    assert!(
        text.starts_with(
            "*`crazy-adventures/website/website-prod`*: :x: update #42 failed · by Morty Smith"
        ),
        "{text}"
    );
    assert!(text.contains("<!date^1733140095^"), "{text}");
    assert!(text.contains("Changes: create 1, update 1"), "{text}");
    let requests = s.api.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].path,
        "/api/stacks/crazy-adventures/website/website-prod/updates/latest"
    );
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(&*format!("token {}", fake_pulumi::TOKEN))
    );
}

#[tokio::test]
async fn preview_starts_a_deployment_at_once_and_says_so_in_the_channel() {
    let s = setup().await;
    let answer = s
        .command(DEV, "preview crazy-adventures/website/website-dev")
        .await;
    assert_eq!(answer["response_type"], "in_channel");
    assert_eq!(
        text(&answer),
        ":arrow_forward: <@U0DEV00001> started `preview` on `crazy-adventures/website/website-dev` \
         from Slack: <https://app.pulumi.com/crazy-adventures/website/website-dev/deployments/9|deployment #9>. \
         Its progress is posted here as it runs."
    );
    let runs = s.deployments();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].path,
        "/api/stacks/crazy-adventures/website/website-dev/deployments"
    );
    assert_eq!(runs[0].body, Some(json!({"operation": "preview"})));
}

#[tokio::test]
async fn up_asks_for_confirmation_naming_the_stack_and_runs_once_confirmed() {
    let s = setup().await;
    let prompt = s.command(ONCALL, &format!("up {PROD}")).await;
    assert!(ephemeral(&prompt));
    assert!(text(&prompt).contains(&format!("`up` changes the infrastructure of `{PROD}`")));
    assert!(
        s.deployments().is_empty(),
        "nothing runs before the confirmation"
    );
    let choices = buttons(&prompt);
    assert_eq!(choices.len(), 2, "Confirm and Cancel: {prompt}");

    s.click(ONCALL, &choices[0], &Origin::Ephemeral).await;
    let answers = s.slack.wait_for_responses(2).await;
    assert_eq!(
        answers[0]["replace_original"], true,
        "the prompt is replaced: {}",
        answers[0]
    );
    assert!(
        buttons(&answers[0]).is_empty(),
        "so it cannot be confirmed twice"
    );
    assert_eq!(answers[1]["response_type"], "in_channel");
    assert!(
        text(&answers[1]).contains("<@U0ONCALL01> started `up`"),
        "{}",
        answers[1]
    );
    let runs = s.deployments();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].body,
        Some(json!({"operation": "update"})),
        "Deployments calls `up` update"
    );
}

#[tokio::test]
async fn destroy_asks_too_and_cancel_runs_nothing() {
    let s = setup().await;
    let prompt = s.command(ONCALL, &format!("destroy {PROD}")).await;
    assert!(
        text(&prompt).contains("`destroy` deletes every resource of"),
        "{prompt}"
    );
    let choices = buttons(&prompt);
    assert_eq!(choices[0]["style"], "danger");
    s.click(ONCALL, &choices[1], &Origin::Ephemeral).await;
    let answers = s.slack.wait_for_responses(1).await;
    assert_eq!(answers[0]["replace_original"], true);
    assert!(text(&answers[0]).contains("was not run"), "{}", answers[0]);
    assert!(s.deployments().is_empty());
}

// --- authorization

#[tokio::test]
async fn a_user_no_rule_names_is_refused_ephemerally() {
    let s = setup().await;
    let answer = s.command(STRANGER, "status website/website-prod").await;
    assert!(ephemeral(&answer));
    assert!(
        text(&answer).contains(
            "<@U0STRANGER> may not run `status` on `crazy-adventures/website/website-prod`"
        ),
        "{answer}"
    );
    assert!(s.api.requests().is_empty());
}

#[tokio::test]
async fn a_stack_outside_the_rules_glob_is_refused() {
    let s = setup().await;
    let answer = s.command(DEV, "preview website/website-prod").await;
    assert!(text(&answer).contains("may not run `preview`"), "{answer}");
    assert!(s.api.requests().is_empty());
}

#[tokio::test]
async fn an_operation_the_rule_does_not_name_is_refused() {
    let s = setup().await;
    let answer = s.command(DEV, "destroy website/website-dev").await;
    assert!(text(&answer).contains("may not run `destroy`"), "{answer}");
    let answer = s.command(READER, "refresh website/website-dev").await;
    assert!(text(&answer).contains("may not run `refresh`"), "{answer}");
    assert!(s.api.requests().is_empty());
}

#[tokio::test]
async fn a_member_of_a_named_user_group_is_allowed() {
    let s = setup().await;
    let answer = s.command(ONCALL, "refresh website/website-prod").await;
    assert_eq!(answer["response_type"], "in_channel", "{answer}");
    assert_eq!(
        s.deployments()[0].body,
        Some(json!({"operation": "refresh"}))
    );
}

#[tokio::test]
async fn leaving_the_group_takes_the_permission_with_it() {
    let s = setup().await;
    s.slack.set_group(ONCALL_GROUP, &["U0SOMEONE1"]);
    let answer = s.command(ONCALL, "refresh website/website-prod").await;
    assert!(text(&answer).contains("may not run `refresh`"), "{answer}");
    assert!(s.api.requests().is_empty());
}

#[tokio::test]
async fn a_group_slack_no_longer_knows_has_no_members() {
    let s = setup().await;
    // The rules' S0ONCALL01 is gone from Slack (deleted), so nobody is in it.
    s.slack.remove_group(ONCALL_GROUP);
    let answer = s.command(ONCALL, "refresh website/website-prod").await;
    assert!(text(&answer).contains("may not run `refresh`"), "{answer}");
    assert!(s.api.requests().is_empty());
}

#[tokio::test]
async fn a_group_slack_will_not_list_refuses_and_says_which_scope_is_missing() {
    let s = setup().await;
    s.slack.refuse_groups("missing_scope");
    let answer = s.command(ONCALL, "refresh website/website-prod").await;
    assert!(ephemeral(&answer));
    assert!(text(&answer).contains("usergroups:read"), "{answer}");
    assert!(text(&answer).contains("Nothing was run"), "{answer}");
    assert!(s.api.requests().is_empty());
}

// --- bad input

#[tokio::test]
async fn an_unknown_subcommand_says_what_the_commands_are() {
    let s = setup().await;
    let answer = s.command(DEV, "deploy website/website-dev").await;
    assert!(ephemeral(&answer));
    assert!(
        text(&answer).contains("`deploy` is not a /pulumi command"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_malformed_stack_says_how_to_name_one() {
    let s = setup().await;
    let answer = s.command(DEV, "preview website-dev").await;
    assert!(
        text(&answer).contains("organization/project/stack"),
        "{answer}"
    );
    let answer = s.command(DEV, "preview").await;
    assert!(
        text(&answer).contains("`preview` needs a stack"),
        "{answer}"
    );
    assert!(s.api.requests().is_empty());
}

/// Every refusal of Pulumi Cloud, as the user sees it.
async fn refusal_for(s: &Setup, user: &str, command: &str) -> String {
    let answer = s.command(user, command).await;
    assert!(
        ephemeral(&answer),
        "errors are for the asker only: {answer}"
    );
    text(&answer).to_owned()
}

#[tokio::test]
async fn a_stack_pulumi_does_not_know_is_named_back() {
    let s = setup().await;
    let said = refusal_for(&s, ONCALL, "preview website/website-gone").await;
    assert!(
        said.contains("no stack `crazy-adventures/website/website-gone` (404)"),
        "{said}"
    );
}

#[tokio::test]
async fn a_stack_without_deployment_settings_says_where_to_set_them() {
    let s = setup().await;
    let said = refusal_for(&s, ONCALL, "refresh website/website-manual").await;
    assert!(said.contains("deployment settings"), "{said}");
    assert!(
        said.contains("no deployment settings found for stack"),
        "Pulumi's own words: {said}"
    );
}

#[tokio::test]
async fn a_busy_stack_says_to_wait() {
    let s = setup().await;
    let said = refusal_for(&s, ONCALL, "refresh website/website-busy").await;
    assert!(said.contains("already running"), "{said}");
}

#[tokio::test]
async fn a_token_without_access_to_the_stack_says_so() {
    let s = setup().await;
    let said = refusal_for(&s, ONCALL, "refresh website/website-locked").await;
    assert!(said.contains("(403)"), "{said}");
}

#[tokio::test]
async fn an_invalid_token_says_who_must_fix_it() {
    let s = setup_with_token("pul-revoked").await;
    let said = refusal_for(&s, READER, "status website/website-prod").await;
    assert!(
        said.contains("(401)") && said.contains("pulumiAccessToken"),
        "{said}"
    );
}

#[tokio::test]
async fn rate_limits_and_outages_say_to_try_again() {
    let s = setup().await;
    s.api.set_mode(Mode::Status(429));
    let said = refusal_for(&s, ONCALL, "refresh website/website-prod").await;
    assert!(
        said.contains("(429)") && said.contains("try again"),
        "{said}"
    );
    s.api.set_mode(Mode::Status(503));
    let said = refusal_for(&s, ONCALL, "refresh website/website-prod").await;
    assert!(said.contains("failed (503); nothing was started"), "{said}");
}

// --- Slack's three seconds

#[tokio::test]
async fn a_slow_pulumi_cloud_is_acknowledged_within_three_seconds_and_reported_later() {
    let s = setup().await;
    s.api.set_mode(Mode::Slow(Duration::from_secs(4)));
    let started = Instant::now();
    let answer = s.command(DEV, "preview website/website-dev").await;
    let acknowledged = started.elapsed();
    assert!(
        acknowledged < Duration::from_secs(3),
        "Slack waits 3 s at most: {acknowledged:?}"
    );
    assert!(ephemeral(&answer));
    assert!(text(&answer).contains("Asking Pulumi Cloud"), "{answer}");
    let later = s.slack.wait_for_responses(1).await;
    assert!(
        text(&later[0]).contains("started `preview`"),
        "{}",
        later[0]
    );
    assert_eq!(later[0]["response_type"], "in_channel");
}

// --- buttons on notifications

/// A webhook relayed with ChatOps on; the message Slack got.
async fn notified(s: &Setup, kind: &str, name: &str) -> fake_slack::Post {
    let answer = Delivery::signed(kind, fixture(name))
        .send(&s.relay.url)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    s.slack.posts().pop().expect("a message")
}

#[tokio::test]
async fn a_failed_update_offers_rerun_with_slacks_confirmation_and_refresh() {
    let s = setup().await;
    let post = notified(&s, "stack_update", "stack_update-failed").await;
    let offered = buttons(&post.body);
    let labels: Vec<&str> = offered
        .iter()
        .map(|b| b["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [":repeat: Re-run up", ":arrows_counterclockwise: Refresh"]
    );
    assert!(
        offered[0]["confirm"]["text"]["text"]
            .as_str()
            .unwrap()
            .contains(PROD),
        "Slack's dialog names the stack: {}",
        offered[0]
    );
}

#[tokio::test]
async fn drift_offers_remediate_and_refresh() {
    let s = setup().await;
    let post = notified(&s, "drift_detection", "drift_detection-drifted").await;
    let labels: Vec<String> = buttons(&post.body)
        .iter()
        .map(|b| b["text"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        labels,
        [
            ":adhesive_bandage: Remediate (up)",
            ":arrows_counterclockwise: Refresh"
        ]
    );
}

#[tokio::test]
async fn without_chatops_messages_have_no_buttons() {
    let slack = FakeSlack::start().await;
    let relay = InProcess::start(config(&slack.api_url)).await;
    let answer = Delivery::signed("stack_update", fixture("stack_update-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200);
    assert!(buttons(&slack.posts()[0].body).is_empty());
}

#[tokio::test]
async fn a_button_click_starts_the_run_and_replies_under_the_notification() {
    let s = setup().await;
    let post = notified(&s, "deployment", "deployment-failed").await;
    let refresh = buttons(&post.body)
        .into_iter()
        .find(|b| b["text"]["text"].as_str().unwrap().contains("Refresh"))
        .expect("a Refresh button");
    let on_message = Origin::Message {
        channel: post.channel.clone(),
        ts: post.ts.clone(),
    };
    s.click(ONCALL, &refresh, &on_message).await;
    let posts = s.slack.wait_for_posts(2).await;
    let reply = &posts[1];
    assert_eq!(
        reply.thread_ts(),
        Some(post.ts.as_str()),
        "a reply in the notification's thread"
    );
    assert!(
        reply.text().contains("<@U0ONCALL01> started `refresh` on"),
        "{}",
        reply.text()
    );
    assert_eq!(
        s.deployments()[0].body,
        Some(json!({"operation": "refresh"}))
    );
}

#[tokio::test]
async fn a_button_click_is_authorized_for_whoever_clicks() {
    let s = setup().await;
    let post = notified(&s, "stack_update", "stack_update-failed").await;
    let rerun = buttons(&post.body).remove(0);
    let on_message = Origin::Message {
        channel: post.channel.clone(),
        ts: post.ts.clone(),
    };
    s.click(STRANGER, &rerun, &on_message).await;
    let answers = s.slack.wait_for_responses(1).await;
    assert!(ephemeral(&answers[0]));
    assert_eq!(
        answers[0]["replace_original"], false,
        "the notification stays for others"
    );
    assert!(
        text(&answers[0]).contains("<@U0STRANGER> may not run `up`"),
        "{}",
        answers[0]
    );
    assert!(s.deployments().is_empty());
}

#[tokio::test]
async fn a_run_started_by_a_button_reports_under_its_notification_naming_who_started_it() {
    let data = tempfile::tempdir().unwrap();
    let s = setup_with(fake_pulumi::TOKEN, Some(data.path())).await;
    let failed = notified(&s, "deployment", "deployment-failed").await;
    let rerun = buttons(&failed.body).remove(0);
    let on_message = Origin::Message {
        channel: failed.channel.clone(),
        ts: failed.ts.clone(),
    };
    s.click(ONCALL, &rerun, &on_message).await;
    s.slack.wait_for_posts(2).await;
    assert_eq!(
        s.deployments()[0].body,
        Some(json!({"operation": "update"}))
    );

    // Pulumi Cloud's webhooks for the run it started (deployment #128).
    let running = notified(&s, "deployment", "chatops/deployment-128-running").await;
    assert_eq!(
        running.thread_ts(),
        Some(failed.ts.as_str()),
        "the run's living message replies under the notification"
    );
    assert!(
        running
            .blocks_text()
            .contains("Started from Slack by <@U0ONCALL01>"),
        "{}",
        running.blocks_text()
    );
    let answer = Delivery::signed("deployment", fixture("chatops/deployment-128-succeeded"))
        .send(&s.relay.url)
        .await;
    assert_eq!(answer.body["outcome"], "updated", "{:?}", answer.body);
    let now = s.slack.message(&running.ts).expect("the reply, edited");
    assert!(now.text().contains("succeeded"), "{}", now.text());
    assert!(
        now.blocks_text()
            .contains("Started from Slack by <@U0ONCALL01>"),
        "the line stays through every status: {}",
        now.blocks_text()
    );
}

#[tokio::test]
async fn a_run_not_started_from_slack_is_posted_as_before() {
    let data = tempfile::tempdir().unwrap();
    let s = setup_with(fake_pulumi::TOKEN, Some(data.path())).await;
    let running = notified(&s, "deployment", "chatops/deployment-128-running").await;
    assert_eq!(running.thread_ts(), None);
    assert!(!running.blocks_text().contains("Started from Slack"));
}

/// The binary's log: one JSON line per Slack request, saying who asked what on which stack and
/// what was decided, and never the signing secret, the tokens or the signature.
#[tokio::test]
async fn each_request_logs_one_line_with_who_what_where_and_the_decision() {
    use relay_tests::relay::Process;
    let slack = FakeSlack::start().await;
    let api = FakePulumi::start("chatops").await;
    let rules = std::fs::read_to_string(fixtures_dir().join("chatops/rules.json")).unwrap();
    let env = [
        ("SLACK_API_URL", slack.api_url.as_str()),
        ("SLACK_TOKEN", fake_slack::TOKEN),
        ("SLACK_CHANNEL", fake_slack::CHANNEL),
        ("SLACK_SIGNING_SECRET", SIGNING_SECRET),
        ("PULUMI_ACCESS_TOKEN", fake_pulumi::TOKEN),
        ("PULUMI_API_URL", api.api_url.as_str()),
        ("CHATOPS", rules.as_str()),
    ];
    let relay = Process::start(&[], &env).await;
    let app = SlackApp::new(&relay.url);
    let allowed = app.command(DEV, "preview website/website-dev", &slack.response_url());
    let signature = allowed.signature.clone().unwrap();
    assert_eq!(allowed.send().await.status, 200);
    let refused = app.command(
        STRANGER,
        "destroy website/website-prod",
        &slack.response_url(),
    );
    assert_eq!(refused.send().await.status, 200);

    let (_, _, logs) = relay.terminate();
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "chatops")
        .collect();
    assert_eq!(lines.len(), 2, "one line per request: {logs}");
    let fields = |line: &Value| {
        ["user", "operation", "stack", "decision", "rule", "outcome"]
            .map(|f| line[f].as_str().unwrap_or("?").to_owned())
    };
    assert_eq!(
        fields(&lines[0]),
        [
            DEV,
            "preview",
            "crazy-adventures/website/website-dev",
            "allowed",
            "developers",
            "started"
        ]
    );
    assert_eq!(
        fields(&lines[1]),
        [
            STRANGER,
            "destroy",
            "crazy-adventures/website/website-prod",
            "refused",
            "-",
            "refused"
        ]
    );
    for secret in [
        SIGNING_SECRET,
        fake_pulumi::TOKEN,
        fake_slack::TOKEN,
        signature.as_str(),
    ] {
        assert!(!logs.contains(secret), "{secret} is in the log");
    }
}

/// The Slack app manifest in the repository (one paste in api.slack.com/apps) points the slash
/// command and interactivity at the relay's paths and asks for the scopes the relay uses.
#[test]
fn the_slack_app_manifest_points_at_the_relays_paths_with_the_scopes_it_uses() {
    use relay_core::contract::http;
    use yaml_rust2::YamlLoader;
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/slack-app-manifest.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let manifest = &YamlLoader::load_from_str(&text).unwrap()[0];
    let command = &manifest["features"]["slash_commands"][0];
    assert_eq!(command["command"].as_str(), Some("/pulumi"));
    assert_eq!(
        command["url"].as_str(),
        Some(&*format!("RELAY_URL{}", http::SLACK_COMMANDS))
    );
    let interactivity = &manifest["settings"]["interactivity"];
    assert_eq!(interactivity["is_enabled"].as_bool(), Some(true));
    assert_eq!(
        interactivity["request_url"].as_str(),
        Some(&*format!("RELAY_URL{}", http::SLACK_INTERACTIONS))
    );
    let scopes: Vec<&str> = manifest["oauth_config"]["scopes"]["bot"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s.as_str())
        .collect();
    assert_eq!(scopes, ["chat:write", "commands", "usergroups:read"]);
}

/// The retry worker answers no Slack request and has no signing secret; told ChatOps is on
/// (`CHATOPS_BUTTONS=on`, which `infra` sets on it), what it retries gets the same buttons.
#[tokio::test]
async fn a_relay_told_chatops_is_on_elsewhere_adds_the_same_buttons() {
    let slack = FakeSlack::start().await;
    let mut config = config(&slack.api_url);
    config.chatops_buttons = true;
    let relay = InProcess::start(config).await;
    let answer = Delivery::signed("stack_update", fixture("stack_update-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(buttons(&slack.posts()[0].body).len(), 2);
    let app = SlackApp::new(&relay.url);
    let request = app.command(DEV, "help", &slack.response_url());
    assert_eq!(
        request.send().await.status,
        404,
        "but it answers no Slack request"
    );
}

#[tokio::test]
async fn confirming_twice_or_pressing_a_pressed_button_starts_one_run() {
    let s = setup().await;
    let prompt = s.command(ONCALL, &format!("up {PROD}")).await;
    let confirm = buttons(&prompt).remove(0);
    s.click(ONCALL, &confirm, &Origin::Ephemeral).await;
    s.slack.wait_for_responses(2).await;
    s.click(ONCALL, &confirm, &Origin::Ephemeral).await;
    let answers = s.slack.wait_for_responses(3).await;
    assert!(
        text(&answers[2]).contains("pressed less than a minute ago"),
        "{}",
        answers[2]
    );
    assert_eq!(s.deployments().len(), 1, "one run, not two");

    let post = notified(&s, "stack_update", "stack_update-failed").await;
    let refresh = buttons(&post.body).remove(1);
    let on_message = Origin::Message {
        channel: post.channel.clone(),
        ts: post.ts.clone(),
    };
    s.click(ONCALL, &refresh, &on_message).await;
    s.click(ONCALL, &refresh, &on_message).await;
    let answers = s.slack.wait_for_responses(4).await;
    assert!(
        text(&answers[3]).contains("already starting"),
        "{}",
        answers[3]
    );
    let refreshes = s
        .deployments()
        .into_iter()
        .filter(|r| r.body == Some(json!({"operation": "refresh"})))
        .count();
    assert_eq!(refreshes, 1);
}

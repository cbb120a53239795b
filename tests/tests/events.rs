//! Every event kind, end to end: a signed delivery over HTTP to the relay's router, formatted, and
//! posted to the fake Slack. Each test states what a reader of the Slack message must see.

use relay_tests::fake_slack::{CHANNEL_ID, FakeSlack, Post};
use relay_tests::fixture;
use relay_tests::relay::{Delivery, InProcess, config};

/// Delivers `fixtures/<name>.json` as `kind` and returns the one message Slack received.
async fn relay(kind: &str, name: &str) -> Post {
    let slack = FakeSlack::start().await;
    let relay = InProcess::start(config(&slack.api_url)).await;
    let mut delivery = Delivery::signed(kind, fixture(name));
    delivery.id = "d-0001".into();
    let answer = delivery.send(&relay.url).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let posts = slack.posts();
    assert_eq!(posts.len(), 1, "exactly one message is posted");
    let post = posts.into_iter().next().unwrap();
    assert_eq!(answer.body["ok"], true);
    assert_eq!(answer.body["channel"], CHANNEL_ID);
    assert_eq!(answer.body["ts"], post.ts.as_str());
    post
}

fn assert_mentions(post: &Post, needles: &[&str]) {
    let seen = format!("{}\n{}", post.text(), post.blocks_text());
    for needle in needles {
        assert!(seen.contains(needle), "message lacks {needle:?}:\n{seen}");
    }
}

#[tokio::test]
async fn stack_created_names_the_stack_and_who_created_it() {
    let post = relay("stack", "stack-created").await;
    assert_mentions(
        &post,
        &[
            "Stack created",
            "crazy-adventures/website/website-prod",
            "Morty Smith",
        ],
    );
}

#[tokio::test]
async fn stack_deleted_is_a_warning() {
    let post = relay("stack", "stack-deleted").await;
    assert!(
        post.text().starts_with(":warning: Stack deleted"),
        "{}",
        post.text()
    );
}

#[tokio::test]
async fn team_update_lists_members_and_stack_permissions() {
    let post = relay("team", "team-updated").await;
    assert_mentions(
        &post,
        &[
            "Team updated",
            "*platform*",
            "Rick Sanchez (rick)",
            "website/website-prod — admin",
            "*Members* (2)",
        ],
    );
}

#[tokio::test]
async fn a_successful_update_shows_result_changes_and_link() {
    let post = relay("stack_update", "stack_update-succeeded").await;
    assert!(
        post.text().starts_with(
            ":white_check_mark: Update succeeded: crazy-adventures/website/website-prod"
        )
    );
    assert_mentions(
        &post,
        &[
            "*Resource changes* (5): `+3` create  ·  `~2` update  ·  `10` unchanged",
            "<https://app.pulumi.com/crazy-adventures/website/website-prod/updates/42|View update>",
            "delivery `d-0001`",
        ],
    );
}

#[tokio::test]
async fn a_failed_destroy_stands_out() {
    let post = relay("stack_update", "stack_update-destroy-failed").await;
    assert!(
        post.text().starts_with(":x: Destroy failed:"),
        "{}",
        post.text()
    );
    let header = &post.body["blocks"][0];
    assert_eq!(header["type"], "header");
    assert!(
        header["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with(":x: Destroy failed")
    );
}

#[tokio::test]
async fn a_preview_shows_planned_changes_and_links_the_preview() {
    let post = relay("stack_preview", "stack_preview-succeeded").await;
    assert_mentions(
        &post,
        &[
            "Preview of update succeeded",
            "*Planned changes* (3)",
            "`+-2` replace",
            "|View preview>",
        ],
    );
}

#[tokio::test]
async fn deployment_statuses_each_get_their_own_emoji() {
    for (status, emoji) in [
        ("queued", ":information_source:"),
        ("running", ":hourglass_flowing_sand:"),
        ("succeeded", ":white_check_mark:"),
        ("failed", ":x:"),
    ] {
        let post = relay("deployment", &format!("deployment-{status}")).await;
        let expected =
            format!("{emoji} Deployment #127 {status}: crazy-adventures/website/website-prod");
        assert!(
            post.text().starts_with(&expected),
            "{status}: {}",
            post.text()
        );
        assert_mentions(&post, &["|View deployment>"]);
    }
}

#[tokio::test]
async fn detected_drift_is_a_warning_with_the_drifted_changes() {
    let post = relay("drift_detection", "drift_detection-drifted").await;
    assert!(
        post.text().starts_with(":warning: Drift detected"),
        "{}",
        post.text()
    );
    assert_mentions(
        &post,
        &[
            "`~3` update",
            "`-1` delete",
            "11bf162b-d9d5-4715-8f88-20dcd0e0b167",
            "|View drift run>",
        ],
    );
}

#[tokio::test]
async fn a_clean_drift_check_says_no_drift() {
    let post = relay("drift_detection", "drift_detection-clean").await;
    assert!(
        post.text().starts_with(":white_check_mark: No drift"),
        "{}",
        post.text()
    );
}

#[tokio::test]
async fn a_failed_remediation_stands_out() {
    let post = relay("drift_remediation", "drift_remediation-failed").await;
    assert!(
        post.text().starts_with(":x: Drift remediation failed"),
        "{}",
        post.text()
    );
    assert_mentions(&post, &["|View remediation>"]);
}

#[tokio::test]
async fn unicode_names_arrive_intact() {
    let post = relay("stack_update", "stack_update-unicode-names").await;
    assert_mentions(
        &post,
        &["ünïcödé/日本語プロジェクト/прод-🌍", "*Zoë Ørsted 🚀*"],
    );
}

#[tokio::test]
async fn missing_optional_fields_still_make_a_message() {
    let post = relay("stack_update", "stack_update-missing-fields").await;
    assert!(
        post.text().starts_with(":x: Update failed: dev"),
        "{}",
        post.text()
    );
    assert_mentions(&post, &["Pulumi Cloud ran *update*"]);
}

#[tokio::test]
async fn payload_text_cannot_mention_anyone_or_forge_links() {
    let post = relay("stack_update", "stack_update-mention-injection").await;
    let everything = post.body.to_string();
    for forbidden in ["<!channel>", "<!here>", "<@U123", "evil.example"] {
        assert!(
            !everything.contains(forbidden),
            "{forbidden} leaked into {everything}"
        );
    }
    assert_mentions(&post, &["&lt;!channel&gt; ping", "a&amp;b"]);
}

#[tokio::test]
async fn a_huge_team_fits_slacks_limits_and_says_how_many_were_left_out() {
    let post = relay("team", "team-huge").await;
    assert_mentions(&post, &["*Members* (2000)", "more", "*Stacks* (1500)"]);
}

#[tokio::test]
async fn huge_resource_change_lists_are_truncated_visibly() {
    let post = relay("stack_update", "stack_update-huge-resource-changes").await;
    assert_mentions(&post, &["`+5` create", "[truncated]"]);
}

#[tokio::test]
async fn an_unknown_kind_is_relayed_as_pretty_json() {
    let post = relay("change_request", "unknown-kind").await;
    assert!(
        post.text().contains("Pulumi `change_request` event"),
        "{}",
        post.text()
    );
    assert_mentions(
        &post,
        &[
            "```{\n  \"count\": 3",
            "does not know the `change_request` kind",
        ],
    );
    assert!(!post.body.to_string().contains("<!here>"));
}

#[tokio::test]
async fn a_huge_unknown_payload_is_split_and_truncated_within_limits() {
    let post = relay("brand_new_kind", "unknown-kind-huge").await;
    let blocks = post.body["blocks"].as_array().unwrap();
    let code_blocks = blocks
        .iter()
        .filter(|b| {
            b["text"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("```"))
        })
        .count();
    assert_eq!(code_blocks, 4);
    assert_mentions(&post, &["more characters)"]);
}

#[tokio::test]
async fn a_known_kind_with_an_unexpected_shape_is_relayed_raw_with_the_reason() {
    let post = relay("stack_update", "stack_update-wrong-shape").await;
    assert_mentions(
        &post,
        &[
            "did not have the documented shape",
            "invalid type",
            "\"resourceChanges\": \"many\"",
        ],
    );
}

#[tokio::test]
async fn a_mandatory_policy_violation_stands_out_and_shows_its_details() {
    let post = relay("policy_violation_mandatory", "policy_violation-mandatory").await;
    assert!(
        post.text()
            .starts_with(":x: Mandatory policy violation: crazy-adventures/website/website-prod"),
        "{}",
        post.text()
    );
    assert_mentions(
        &post,
        &[
            "*policyName*: s3-no-public-read",
            "Bucket 'assets' allows public read",
            "|View update>",
        ],
    );
}

#[tokio::test]
async fn a_policy_violation_without_a_level_is_a_warning() {
    let post = relay("policy_violation", "policy_violation-mandatory").await;
    assert!(
        post.text().starts_with(":warning: Policy violation:"),
        "{}",
        post.text()
    );
}

#[tokio::test]
async fn esc_environment_events_name_the_environment() {
    for (kind, name, expected) in [
        (
            "environment",
            "environment-created",
            "Environment created: crazy-adventures/website/prod",
        ),
        (
            "environment_revision",
            "environment_revision-created",
            "Environment revision created: crazy-adventures/website/prod",
        ),
        (
            "environment_revision_tag",
            "environment_revision_tag-created",
            "Revision tag created: crazy-adventures/website/prod",
        ),
        (
            "environment_tag",
            "environment_tag-deleted",
            ":warning: Environment tag deleted: crazy-adventures/website/prod",
        ),
    ] {
        let post = relay(kind, name).await;
        assert!(post.text().contains(expected), "{kind}: {}", post.text());
    }
    let post = relay(
        "environment_revision_tag",
        "environment_revision_tag-created",
    )
    .await;
    assert_mentions(
        &post,
        &["tag `stable` on revision 5 of ESC environment *website/prod*"],
    );
}

#[tokio::test]
async fn an_imported_environment_change_lists_the_affected_revisions() {
    let post = relay(
        "imported_environment_changed",
        "imported_environment_changed",
    )
    .await;
    assert_mentions(
        &post,
        &[
            "*website/base (revision 10)*, imported by *website/prod*, changed, affecting revisions 2, 5, 6, 7",
        ],
    );
}

#[tokio::test]
async fn a_ping_confirms_the_relay_is_connected() {
    let post = relay("ping", "ping").await;
    assert!(
        post.text().starts_with(":white_check_mark: Webhook ping"),
        "{}",
        post.text()
    );
    assert_mentions(
        &post,
        &[
            "Just a friendly ping",
            "This relay is connected",
            "<!date^1632735487^",
        ],
    );
}

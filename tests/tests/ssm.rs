//! Secrets from SSM Parameter Store, read with the AWS SDK for Rust at start-up, against a local
//! moto server (`pip install "moto[server]"`): the same calls the Lambda makes on AWS.

use std::process::Command;

use relay_tests::fake_slack::{self, FakeSlack};
use relay_tests::moto::Moto;
use relay_tests::relay::{Delivery, Process, free_port, handler_binary};
use relay_tests::{SECRET, fixture};

#[tokio::test]
async fn token_and_webhook_secret_are_read_from_secure_string_parameters() {
    let moto = Moto::start().await;
    moto.put_secure_string("/relay/slack-token", fake_slack::TOKEN)
        .await;
    moto.put_secure_string("/relay/webhook-secret", SECRET)
        .await;
    let slack = FakeSlack::start().await;

    let mut env = moto.env();
    env.extend([
        ("SLACK_API_URL", slack.api_url.clone()),
        ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
        ("SLACK_TOKEN_PARAMETER", "/relay/slack-token".to_owned()),
        (
            "PULUMI_WEBHOOK_SECRET_PARAMETER",
            "/relay/webhook-secret".to_owned(),
        ),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let relay = Process::start(&[], &env).await;

    // Accepted only if the secret came from SSM; posted only if the token did (the fake checks it).
    let answer = Delivery::signed("stack", fixture("stack-created"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(slack.posts().len(), 1);

    let mut unsigned = Delivery::signed("stack", fixture("stack-created"));
    unsigned.signature = None;
    assert_eq!(unsigned.send(&relay.url).await.status, 401);
}

#[tokio::test]
async fn a_missing_parameter_stops_start_up_naming_the_variable_and_parameter() {
    let moto = Moto::start().await;
    let output = Command::new(handler_binary())
        .args(["--listen", &format!("127.0.0.1:{}", free_port())])
        .env_clear()
        .envs(moto.env())
        .envs([
            ("SLACK_CHANNEL", "#ops"),
            ("SLACK_TOKEN_PARAMETER", "/relay/absent"),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("SLACK_TOKEN_PARAMETER") && stderr.contains("\"/relay/absent\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("ParameterNotFound"),
        "the SSM error is named:\n{stderr}"
    );
}

#[tokio::test]
async fn the_pulumi_access_token_is_read_from_its_secure_string_parameter() {
    use relay_tests::fake_pulumi::{self, FakePulumi};
    let moto = Moto::start().await;
    moto.put_secure_string("/relay/pulumi-access-token", fake_pulumi::TOKEN)
        .await;
    let slack = FakeSlack::start().await;
    let api = FakePulumi::start("update-failed").await;

    let mut env = moto.env();
    env.extend([
        ("SLACK_API_URL", slack.api_url.clone()),
        ("SLACK_CHANNEL", fake_slack::CHANNEL.to_owned()),
        ("SLACK_TOKEN", fake_slack::TOKEN.to_owned()),
        ("PULUMI_WEBHOOK_SECRET", SECRET.to_owned()),
        ("PULUMI_API_URL", api.api_url.clone()),
        (
            "PULUMI_ACCESS_TOKEN_PARAMETER",
            "/relay/pulumi-access-token".to_owned(),
        ),
    ]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let relay = Process::start(&[], &env).await;

    let answer = Delivery::signed("stack_update", fixture("stack_update-failed"))
        .send(&relay.url)
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    // The fake API answers only the token it knows: the section shows it came from SSM.
    let blocks = slack.posts()[0].body["blocks"].to_string();
    assert!(blocks.contains("Why it failed"), "{blocks}");
    let (_, _, logs) = relay.terminate();
    assert!(!logs.contains(fake_pulumi::TOKEN));
}

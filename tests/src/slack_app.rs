//! The Slack side of ChatOps: requests signed as Slack signs them (`X-Slack-Signature: v0=` HMAC
//! over `v0:{timestamp}:{body}`, `X-Slack-Request-Timestamp`), with the form bodies Slack sends
//! for a slash command and for a click (`block_actions`, the JSON in a `payload` field), and
//! ways to send them stale, wrongly signed, unsigned or twice.

use std::time::{SystemTime, UNIX_EPOCH};

use relay_core::slack_signing::SigningSecret;
use serde_json::{Value, json};

use crate::relay::{Answer, answer};

/// The signing secret of Slack's own documentation example ("Verifying requests from Slack").
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A signed request to send, and how: to be changed by tests before it goes.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub url: String,
    pub body: String,
    pub timestamp: String,
    pub signature: Option<String>,
    pub content_type: &'static str,
}

impl SignedRequest {
    pub async fn send(&self) -> Answer {
        let mut request = reqwest::Client::new()
            .post(&self.url)
            .header("content-type", self.content_type)
            .header("x-slack-request-timestamp", &self.timestamp)
            .body(self.body.clone());
        if let Some(signature) = &self.signature {
            request = request.header("x-slack-signature", signature);
        }
        answer(request.send().await.expect("the relay answers")).await
    }
}

/// A Slack app whose requests go to a relay at `relay_url` (ending in `/`).
pub struct SlackApp {
    pub relay_url: String,
    secret: SigningSecret,
}

/// Where a click came from: a notification in a channel, or an ephemeral prompt.
#[derive(Debug, Clone)]
pub enum Origin {
    Message { channel: String, ts: String },
    Ephemeral,
}

impl SlackApp {
    pub fn new(relay_url: &str) -> SlackApp {
        SlackApp {
            relay_url: relay_url.to_owned(),
            secret: SigningSecret::new(SIGNING_SECRET.into()),
        }
    }

    /// `body` to `path`, signed now.
    pub fn signed(&self, path: &str, body: String) -> SignedRequest {
        self.signed_at(path, body, now())
    }

    pub fn signed_at(&self, path: &str, body: String, timestamp: i64) -> SignedRequest {
        let timestamp = timestamp.to_string();
        let signature = self.secret.sign(&timestamp, body.as_bytes());
        SignedRequest {
            url: format!("{}{}", self.relay_url, path.trim_start_matches('/')),
            body,
            timestamp,
            signature: Some(signature),
            content_type: "application/x-www-form-urlencoded",
        }
    }

    /// `/pulumi <text>` typed by `user` in `#ops`, answered at `response_url`.
    pub fn command(&self, user: &str, text: &str, response_url: &str) -> SignedRequest {
        let body = serde_urlencoded::to_string([
            ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
            ("team_id", "T0001"),
            ("team_domain", "example"),
            ("channel_id", crate::fake_slack::CHANNEL_ID),
            ("channel_name", "ops"),
            ("user_id", user),
            ("user_name", "someone"),
            ("command", "/pulumi"),
            ("text", text),
            ("api_app_id", "A0APP0001"),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
        ])
        .unwrap();
        self.signed("slack/commands", body)
    }

    /// `user` clicking `button` (a Block Kit button element as the relay sent it) on a message.
    pub fn click(
        &self,
        user: &str,
        button: &Value,
        origin: &Origin,
        response_url: &str,
    ) -> SignedRequest {
        let container = match origin {
            Origin::Message { channel, ts } => json!({
                "type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false
            }),
            Origin::Ephemeral => json!({
                "type": "message", "message_ts": "1700000999.000100",
                "channel_id": crate::fake_slack::CHANNEL_ID, "is_ephemeral": true
            }),
        };
        let payload = json!({
            "type": "block_actions",
            "user": {"id": user, "username": "someone", "name": "someone", "team_id": "T0001"},
            "api_app_id": "A0APP0001",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "container": container,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
            "team": {"id": "T0001", "domain": "example"},
            "channel": {"id": crate::fake_slack::CHANNEL_ID, "name": "ops"},
            "response_url": response_url,
            "actions": [{
                "action_id": button["action_id"],
                "block_id": "pulumi_actions",
                "text": button["text"],
                "value": button["value"],
                "type": "button",
                "action_ts": "1700001000.000200"
            }]
        });
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.signed("slack/interactions", body)
    }
}

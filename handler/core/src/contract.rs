//! What the relay and its deployment (`infra`) must agree on: the environment variables the
//! function is configured with, the shape of the state table and its keys, and the size budgets
//! AWS imposes on both. One copy, so `pulumi up` and the running function cannot drift apart.

use std::time::Duration;

/// The environment variables the relay reads (README "Configuration").
pub mod env {
    pub const SLACK_CHANNEL: &str = "SLACK_CHANNEL";
    pub const SLACK_TOKEN: &str = "SLACK_TOKEN";
    pub const SLACK_TOKEN_PARAMETER: &str = "SLACK_TOKEN_PARAMETER";
    pub const PULUMI_WEBHOOK_SECRET: &str = "PULUMI_WEBHOOK_SECRET";
    pub const PULUMI_WEBHOOK_SECRET_PARAMETER: &str = "PULUMI_WEBHOOK_SECRET_PARAMETER";
    pub const SLACK_API_URL: &str = "SLACK_API_URL";
    pub const SLACK_DEADLINE_MS: &str = "SLACK_DEADLINE_MS";
    /// A JSON array of channel rules ([`crate::channel_rules`]); unset means every event goes
    /// to `SLACK_CHANNEL`.
    pub const ROUTES: &str = "ROUTES";
    /// The DynamoDB table holding delivery state; unset means no exactly-once bookkeeping and
    /// one new message per event.
    pub const STATE_TABLE: &str = "STATE_TABLE";
    /// How long after a preview the stack's update still replies in the preview's thread.
    pub const PREVIEW_THREAD_MINUTES: &str = "PREVIEW_THREAD_MINUTES";
    /// The log filter (`level` or `target=level,…`).
    pub const RUST_LOG: &str = "RUST_LOG";
    /// The wait after a queued delivery's first failed attempt, in ms ([`crate::retry`]).
    pub const RETRY_FIRST_MS: &str = "RETRY_FIRST_MS";
    /// The longest wait between two attempts of a queued delivery, in ms.
    pub const RETRY_MAX_MS: &str = "RETRY_MAX_MS";
    /// How long after its arrival a queued delivery is retried before it is dead-lettered.
    pub const RETRY_FOR_MINUTES: &str = "RETRY_FOR_MINUTES";
    /// On AWS, the SQS FIFO queue deliveries wait in for their retry ([`crate::contract::queue`]).
    pub const RETRY_QUEUE_URL: &str = "RETRY_QUEUE_URL";
    /// On AWS, the SQS FIFO queue dead letters are kept in (the retry queue's redrive target).
    pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";
    /// On Lambda, which events the function takes: unset, API Gateway's (the relay); `retry-worker`,
    /// the retry queue's (an SQS event source mapping).
    pub const RELAY_ROLE: &str = "RELAY_ROLE";
    /// A Pulumi Cloud access token: with one, messages say why a run failed and what it changed
    /// (read from the Pulumi Cloud REST API); without, they are what the webhook alone says.
    pub const PULUMI_ACCESS_TOKEN: &str = "PULUMI_ACCESS_TOKEN";
    /// The name of an SSM SecureString holding [`PULUMI_ACCESS_TOKEN`] (what `infra` sets).
    pub const PULUMI_ACCESS_TOKEN_PARAMETER: &str = "PULUMI_ACCESS_TOKEN_PARAMETER";
    /// The Pulumi Cloud REST API's base URL ([`super::DEFAULT_PULUMI_API_URL`] when unset).
    pub const PULUMI_API_URL: &str = "PULUMI_API_URL";
    /// The Slack app's signing secret: with it (and a Pulumi access token), the ChatOps
    /// endpoints ([`super::http`]) answer; without, they are off.
    pub const SLACK_SIGNING_SECRET: &str = "SLACK_SIGNING_SECRET";
    /// The name of an SSM SecureString holding [`SLACK_SIGNING_SECRET`] (what `infra` sets).
    pub const SLACK_SIGNING_SECRET_PARAMETER: &str = "SLACK_SIGNING_SECRET_PARAMETER";
    /// Who may do what from Slack: a JSON array of rules ([`crate::chatops::rules`]); unset or
    /// empty, nobody may do anything.
    pub const CHATOPS: &str = "CHATOPS";
    /// On the retry worker, which answers no Slack request (so has no signing secret): `on` when
    /// the relay function has ChatOps on, so that a retried message carries the same buttons and
    /// names who started a run from Slack, as its first attempt would have.
    pub const CHATOPS_BUTTONS: &str = "CHATOPS_BUTTONS";
}

/// The relay's HTTP paths that `infra` routes to the function.
pub mod http {
    /// Pulumi Cloud's webhooks.
    pub const WEBHOOKS: &str = "/";
    /// The queue's counts.
    pub const STATUS: &str = "/status";
    /// The Slack app's `/pulumi` slash command (its Request URL).
    pub const SLACK_COMMANDS: &str = "/slack/commands";
    /// The Slack app's interactivity Request URL: button clicks.
    pub const SLACK_INTERACTIONS: &str = "/slack/interactions";
}

/// What the deployed retry queue and its worker must agree on: `infra` sets the queues and the
/// event source mapping up with these, the worker relies on them.
pub mod queue {
    use std::time::Duration;

    /// [`super::env::RELAY_ROLE`]'s value on the worker function.
    pub const WORKER_ROLE: &str = "retry-worker";
    /// Messages per worker invocation. The worker sends them one after another (a stack's
    /// deliveries must stay in order), each within the Slack deadline.
    pub const BATCH_SIZE: u32 = 10;
    /// The worker function's timeout: a full batch at the default Slack deadline (10 s each). With
    /// a longer `SLACK_DEADLINE_MS` the worker leaves what it has no time for to the next
    /// invocation rather than be cut off mid-post.
    pub const WORKER_TIMEOUT: Duration = Duration::from_secs(120);
    /// The queues' default visibility timeout. AWS Lambda's SQS guide: "set the source queue's
    /// visibility timeout to at least six times the timeout that you configure on your function";
    /// CreateEventSourceMapping refuses one shorter than the function's timeout.
    pub const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(6 * 120);
    /// SQS's longest visibility timeout (ChangeMessageVisibility: 0 to 43 200 s).
    pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);
    /// The redrive policy's `maxReceiveCount` (SQS allows 1 to 1 000): only a backstop for a
    /// message the worker cannot finish at all (it crashes on it). The worker itself moves a
    /// delivery to the dead-letter queue when the retry schedule ends or Slack refuses it.
    pub const MAX_RECEIVE_COUNT: u32 = 1000;
    /// Both queues keep messages for SQS's longest retention, 14 days: longer than any retry
    /// schedule (`RETRY_FOR_MINUTES` at most 20 160) so none expires while it is retried.
    pub const RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
}

pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";
pub const DEFAULT_PULUMI_API_URL: &str = "https://api.pulumi.com";
pub const DEFAULT_PREVIEW_THREAD_MINUTES: u64 = 60;

/// The delivery-state table: one item per key, each deleted by DynamoDB once its expiry passes.
pub mod state_table {
    use std::time::Duration;

    /// The partition key attribute (a string: see the key functions below).
    pub const HASH_KEY: &str = "pk";
    /// The TTL attribute: epoch seconds after which DynamoDB deletes the item.
    pub const TTL_ATTRIBUTE: &str = "expires_at";

    /// How long delivery records are kept: far longer than anyone redelivers.
    pub const DELIVERY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
    /// How long a deployment's message stays editable by its later events.
    pub const DEPLOYMENT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

    /// DynamoDB allows 2 KiB partition keys; longer names (only hostile payloads have them) get
    /// no living message rather than an error.
    const MAX_KEY_BYTES: usize = 1024;

    /// The key of a deployment's living message, or `None` when a part is too long.
    pub fn deployment_key(org: &str, project: &str, stack: &str, version: u64) -> Option<String> {
        let key = format!("deployment#{org}/{project}/{stack}#{version}");
        (key.len() <= MAX_KEY_BYTES).then_some(key)
    }

    /// The key of the record of who started a deployment from Slack (ChatOps), or `None` when
    /// a part is too long.
    pub fn start_key(org: &str, project: &str, stack: &str, version: u64) -> Option<String> {
        let key = format!("start#{org}/{project}/{stack}#{version}");
        (key.len() <= MAX_KEY_BYTES).then_some(key)
    }

    /// The key of a stack's latest preview, or `None` when the names are too long.
    pub fn preview_key(org: &str, project: &str, stack: &str) -> Option<String> {
        let key = format!("preview#{org}/{project}/{stack}");
        (key.len() <= MAX_KEY_BYTES).then_some(key)
    }

    /// The key under which a Slack request's signature is remembered, so that it is taken once
    /// ([`crate::slack_signing::Verified::replay_key`], a hex digest).
    pub fn slack_request_key(replay_key: &str) -> String {
        format!("slack-request#{replay_key}")
    }

    /// The key of a delivery's exactly-once record, or `None` for an id too long to be Pulumi's.
    pub fn delivery_key(id: &str) -> Option<String> {
        (id.len() <= 200).then(|| format!("delivery#{id}"))
    }
}

/// Lambda refuses a function whose environment variables (names and values) exceed 4 KB.
pub const MAX_ENVIRONMENT_BYTES: usize = 4096;

/// The most `ROUTES` and `CHATOPS` may take together as compact JSON (they share it): the
/// relay's other variables take at most about
/// 1 130 bytes of [`MAX_ENVIRONMENT_BYTES`] (the parameter names, the state table's name and
/// the two queue URLs grow with the project and stack names, to 100 characters each, and the
/// channel's name to Slack's 80). It was 3 072 before the queue URLs.
pub const MAX_ROUTES_BYTES: usize = 2900;

/// How long the relay waits on Slack per delivery by default (`SLACK_DEADLINE_MS`).
pub const DEFAULT_SLACK_DEADLINE: Duration = Duration::from_secs(10);
/// The most the relay spends asking Pulumi Cloud's API about one delivery's run (all calls
/// together; [`crate::enrich`]): the message waits for it.
pub const ENRICHMENT_BUDGET: Duration = Duration::from_secs(2);
/// The function's timeout as `infra` deploys it: under API Gateway's 30 s, over the deadline.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(15);
/// How long one invocation holds a delivery id: past API Gateway's 30 s and the function's
/// timeout, so a claim outlives its holder only when the holder is dead.
pub const CLAIM_LEASE: Duration = Duration::from_secs(60);

const _: () = assert!(
    ENRICHMENT_BUDGET.as_secs() + DEFAULT_SLACK_DEADLINE.as_secs() < FUNCTION_TIMEOUT.as_secs()
        && FUNCTION_TIMEOUT.as_secs() < 30
        && CLAIM_LEASE.as_secs() > 30
);

#[cfg(test)]
mod tests {
    use super::state_table::*;

    #[test]
    fn keys_name_what_they_track() {
        assert_eq!(
            deployment_key("acme", "web", "prod", 7).as_deref(),
            Some("deployment#acme/web/prod#7")
        );
        assert_eq!(
            preview_key("acme", "web", "prod").as_deref(),
            Some("preview#acme/web/prod")
        );
        assert_eq!(delivery_key("ab-12").as_deref(), Some("delivery#ab-12"));
        assert_eq!(
            start_key("acme", "web", "prod", 7).as_deref(),
            Some("start#acme/web/prod#7")
        );
    }

    #[test]
    fn oversized_names_get_no_key_instead_of_a_dynamodb_error() {
        let long = "x".repeat(2000);
        assert_eq!(deployment_key(&long, "p", "s", 1), None);
        assert_eq!(preview_key("o", &long, "s"), None);
        assert_eq!(delivery_key(&long), None);
    }
}

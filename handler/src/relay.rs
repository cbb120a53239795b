//! The relay as configured, built once per process (once per Lambda container) in one step from
//! the [`Config`]: where messages go, which signature deliveries must carry, and which channel
//! rules they follow. [`Clients`] are what it calls out to.

use std::sync::OnceLock;
use std::time::Duration;

use relay_core::channel_rules::ChannelRules;
use relay_core::contract::{CLAIM_LEASE, env};
use relay_core::verify::WebhookSecret;

use crate::aws::Aws;
use relay_core::retry::RetrySchedule;

use crate::chatops::{ChatOps, Continuation};
use crate::config::{Config, DataDirSettings, Output};
use crate::living::{Living, Slack};
use crate::pulumi_api::PulumiApi;
use crate::queue::Queue;
#[cfg(feature = "local-store")]
use crate::queue::local::LocalQueue;
use crate::queue::sqs::SqsQueue;
use crate::slack::{ClientError, SlackClient};
#[cfg(feature = "local-store")]
use crate::state::local::LocalState;
use crate::state::{State, StateTable};

/// What the relay calls out to, set up once: one HTTP client (one connection pool, one TLS
/// setup) for Slack and AWS, and the AWS clients over it, made on first use, so that a relay
/// without SSM parameters or a state table needs no AWS credentials.
pub struct Clients {
    http: reqwest::Client,
    aws: OnceLock<Result<Aws, String>>,
    env: Box<Env>,
}

/// Looks up an environment variable.
type Env = dyn Fn(&str) -> Option<String> + Send + Sync;

impl Clients {
    /// `env` looks up the AWS environment variables ([`Aws::from_env`]).
    pub fn new(
        http: reqwest::Client,
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Clients {
        Clients {
            http,
            aws: OnceLock::new(),
            env: Box::new(env),
        }
    }

    /// The process's own environment.
    pub fn from_env() -> Result<Clients, reqwest::Error> {
        let var = |name: &str| std::env::var(name).ok();
        let http = crate::http::client(crate::http::Roots::from_env(var))?;
        Ok(Clients::new(http, var))
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The AWS clients, or why the environment does not allow them.
    pub fn aws(&self) -> Result<&Aws, String> {
        self.aws
            .get_or_init(|| Aws::from_env(&self.env, &self.http))
            .as_ref()
            .map_err(String::clone)
    }
}

/// Everything a delivery needs.
pub struct Relay {
    pub(crate) sink: Sink,
    pub(crate) secret: Option<WebhookSecret>,
    pub(crate) rules: ChannelRules,
    /// Where deliveries Slack did not take wait for their retry; `None`: answered 5xx instead.
    pub(crate) queue: Option<Queue>,
    pub(crate) retry: RetrySchedule,
    /// Pulumi Cloud's API, when a token is configured: why runs failed, what they changed.
    pub(crate) pulumi: Option<PulumiApi>,
    /// The Slack endpoints, when a signing secret is configured.
    pub(crate) chatops: Option<ChatOps>,
    /// Whether messages get ChatOps' buttons: ChatOps on here, or on the relay function this
    /// process is the retry worker of.
    pub(crate) buttons: bool,
}

pub(crate) enum Sink {
    /// `channel` is the default channel, for events no rule sends elsewhere.
    Slack {
        slack: Box<Slack>,
        channel: String,
    },
    DryRun {
        channel: Option<String>,
    },
}

/// Why the relay cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Slack(#[from] ClientError),
    #[error("{var} is set, but there is no DynamoDB client: {0}", var = env::STATE_TABLE)]
    State(String),
    #[error(transparent)]
    Pulumi(#[from] crate::pulumi_api::ClientError),
    #[error("{var} is set, but there is no SQS client: {0}", var = env::RETRY_QUEUE_URL)]
    Sqs(String),
    #[cfg(feature = "local-store")]
    #[error(transparent)]
    DataDir(#[from] crate::data_dir::OpenError),
    #[cfg(not(feature = "local-store"))]
    #[error("this build has no data directory (it was built without the local-store feature)")]
    NoDataDir,
}

impl Relay {
    pub fn new(config: Config, clients: &Clients) -> Result<Relay, StartError> {
        let pulumi = match &config.pulumi {
            Some(settings) => Some(PulumiApi::new(
                clients.http().clone(),
                &settings.api_url,
                &settings.token,
            )?),
            None => None,
        };
        let mut queue = None;
        let mut state_for_chatops = None;
        let sink = match config.output {
            Output::Slack {
                api_url,
                token,
                channel,
                retry,
            } => {
                let client = SlackClient::new(clients.http().clone(), &api_url, token, retry)?;
                let state = match config.state {
                    Some(settings) => Some(State::DynamoDb(StateTable::new(
                        clients.aws().map_err(StartError::State)?.dynamodb(),
                        &settings.table,
                    ))),
                    None => None,
                };
                queue = match &config.sqs {
                    Some(settings) => Some(Queue::Sqs(SqsQueue::new(
                        clients.aws().map_err(StartError::Sqs)?.sqs(),
                        &settings.queue_url,
                        &settings.dead_letter_queue_url,
                    ))),
                    None => None,
                };
                // The deployed relay's queue is SQS; a data directory is only for the local one.
                let data_dir = config.data_dir.as_ref().filter(|_| queue.is_none());
                let (state, local_queue) = open_data_dir(data_dir, state)?;
                queue = queue.or(local_queue);
                state_for_chatops = state.clone();
                let slack = match state {
                    None => Slack::Stateless(client),
                    Some(state) => Slack::Living(Living {
                        slack: client,
                        state,
                        thread_window: config.thread_window,
                        lease: CLAIM_LEASE,
                        starts: config.chatops.is_some() || config.chatops_buttons,
                    }),
                };
                Sink::Slack {
                    slack: Box::new(slack),
                    channel,
                }
            }
            Output::DryRun { channel } => Sink::DryRun { channel },
        };
        let buttons = config.chatops.is_some() || config.chatops_buttons;
        let chatops = match (config.chatops, &config.pulumi) {
            (Some(settings), Some(api)) => {
                Some(ChatOps::new(settings, &api.api_url, state_for_chatops))
            }
            _ => None,
        };
        Ok(Relay {
            sink,
            secret: config.webhook_secret,
            rules: config.rules,
            queue,
            retry: config.retry,
            pulumi,
            chatops,
            buttons,
        })
    }

    /// On Lambda, which freezes once it has answered: ChatOps then does all its work within
    /// Slack's acknowledgement ([`Continuation::WithinAck`]).
    pub fn answer_slack_within_the_request(&mut self) {
        if let Some(chatops) = &mut self.chatops {
            chatops.set_continuation(Continuation::WithinAck);
        }
    }

    /// ChatOps as configured, if it is.
    pub fn chatops(&self) -> Option<&ChatOps> {
        self.chatops.as_ref()
    }

    /// Where delivery state is kept, if it is.
    pub(crate) fn state_store(&self) -> Option<&State> {
        match &self.sink {
            Sink::Slack { slack, .. } => match slack.as_ref() {
                Slack::Living(living) => Some(&living.state),
                Slack::Stateless(_) => None,
            },
            Sink::DryRun { .. } => None,
        }
    }

    /// The Slack client, unless this is a dry run.
    pub(crate) fn slack_client(&self) -> Option<&SlackClient> {
        match &self.sink {
            Sink::Slack { slack, .. } => Some(match slack.as_ref() {
                Slack::Living(living) => &living.slack,
                Slack::Stateless(client) => client,
            }),
            Sink::DryRun { .. } => None,
        }
    }

    /// The queue deliveries wait in for their retry, if the relay has one.
    pub fn queue(&self) -> Option<&Queue> {
        self.queue.as_ref()
    }

    pub fn checks_signatures(&self) -> bool {
        self.secret.is_some()
    }

    /// Where delivery state is kept (a table's name, a database's path), and how long an
    /// update replies under its preview.
    pub fn state(&self) -> Option<(String, Duration)> {
        match &self.sink {
            Sink::Slack { slack, .. } => match slack.as_ref() {
                Slack::Living(living) => Some((living.state.name(), living.thread_window)),
                Slack::Stateless(_) => None,
            },
            Sink::DryRun { .. } => None,
        }
    }

    /// The bound on one call to Slack (none in a dry run, which makes none).
    pub fn slack_deadline(&self) -> Duration {
        match &self.sink {
            Sink::Slack { slack, .. } => match slack.as_ref() {
                Slack::Living(living) => living.slack.deadline(),
                Slack::Stateless(client) => client.deadline(),
            },
            Sink::DryRun { .. } => Duration::ZERO,
        }
    }

    /// The most asking Pulumi Cloud about a delivery's run may take (zero without a token).
    pub fn enrichment_budget(&self) -> Duration {
        if self.pulumi.is_some() {
            relay_core::contract::ENRICHMENT_BUDGET
        } else {
            Duration::ZERO
        }
    }

    pub fn rules(&self) -> &ChannelRules {
        &self.rules
    }
}

/// Opens the data directory, if one is configured: its queue, and its delivery state unless
/// `state` (DynamoDB) is already chosen.
#[cfg(feature = "local-store")]
fn open_data_dir(
    settings: Option<&DataDirSettings>,
    state: Option<State>,
) -> Result<(Option<State>, Option<Queue>), StartError> {
    use crate::data_dir::{DataDir, Opener};
    let Some(settings) = settings else {
        return Ok((state, None));
    };
    let data = DataDir::open(&settings.path, Opener::Server, settings.max_bytes)?;
    let state = state.or_else(|| Some(State::Local(LocalState::new(data.clone()))));
    Ok((state, Some(Queue::Local(LocalQueue::new(data)))))
}

#[cfg(not(feature = "local-store"))]
fn open_data_dir(
    settings: Option<&DataDirSettings>,
    state: Option<State>,
) -> Result<(Option<State>, Option<Queue>), StartError> {
    match settings {
        None => Ok((state, None)),
        Some(_) => Err(StartError::NoDataDir),
    }
}

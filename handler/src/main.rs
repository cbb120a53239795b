//! The relay's binary: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set (the relay behind API
//! Gateway, or with `RELAY_ROLE=retry-worker` the retry queue's worker), else a local server;
//! `dead-letters` and `replay` work on a data directory or on the deployed dead-letter queue.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
#[cfg(feature = "cli")]
use clap::Parser;
use handler::app::router;
use handler::config::{self, DataDirSettings};
use handler::queue::{Queue, sqs_worker};
use handler::relay::{Clients, Relay};
use lambda_http::aws_lambda_events::sqs::SqsEvent;
use lambda_http::{LambdaEvent, service_fn};
use relay_core::contract::{env, queue};
use tracing_subscriber::filter::Targets;

/// Relays Pulumi Cloud webhooks to Slack. Configured by environment variables (see README).
#[cfg_attr(feature = "cli", derive(Parser))]
#[cfg_attr(feature = "cli", command(version))]
struct Args {
    /// Address of the local HTTP server (ignored on Lambda).
    #[cfg_attr(feature = "cli", arg(long, default_value = "127.0.0.1:3000"))]
    listen: SocketAddr,
    /// Format messages and print them instead of posting to Slack; needs no token.
    #[cfg_attr(feature = "cli", arg(long))]
    dry_run: bool,
    /// The local server's data directory: its delivery queue, dead letters and delivery state
    /// (created if missing; one serving relay per directory).
    #[cfg_attr(
        feature = "cli",
        arg(long, global = true, default_value = "relay-data")
    )]
    data_dir: PathBuf,
    /// The most the data directory's database may grow to, in MiB; past it deliveries Slack
    /// does not take at once are answered 503 (default: as much as the disk holds).
    #[cfg_attr(feature = "cli", arg(long, value_parser = clap::value_parser!(u64).range(1..)))]
    max_data_mb: Option<u64>,
    /// For `dead-letters` and `replay`: the deployed relay's dead-letter queue URL (the stack's
    /// `deadLetterQueueUrl`; default: DEAD_LETTER_QUEUE_URL) instead of --data-dir. AWS
    /// credentials and region come from the environment.
    #[cfg_attr(feature = "cli", arg(long, global = true, value_name = "URL"))]
    dead_letter_queue: Option<String>,
    #[cfg_attr(feature = "cli", command(subcommand))]
    command: Option<Command>,
}

#[cfg_attr(feature = "cli", derive(clap::Subcommand))]
// Without the command line nothing names a command; `run_command` still handles each.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
enum Command {
    /// Lists the dead letters in --data-dir (works while a relay serves from it), or in
    /// --dead-letter-queue.
    DeadLetters {
        /// One JSON object per line instead of a table.
        #[cfg_attr(feature = "cli", arg(long))]
        json: bool,
    },
    /// Queues dead letters again; the relay serving from --data-dir (or the deployed worker)
    /// posts them, exactly once.
    Replay {
        /// Queue ids, as `dead-letters` lists them.
        #[cfg_attr(
            feature = "cli",
            arg(required_unless_present = "all", conflicts_with = "all")
        )]
        ids: Vec<String>,
        /// Every dead letter.
        #[cfg_attr(feature = "cli", arg(long))]
        all: bool,
    },
}

impl Args {
    #[cfg(feature = "cli")]
    fn from_command_line() -> anyhow::Result<Args> {
        Ok(Args::parse())
    }

    /// Without the `cli` feature (the Lambda zip: Lambda passes no arguments, and clap was a
    /// twentieth of the zip, BENCHMARKS.md), the defaults, and any argument is an error.
    #[cfg(not(feature = "cli"))]
    fn from_command_line() -> anyhow::Result<Args> {
        if std::env::args_os().len() > 1 {
            anyhow::bail!(
                "this build takes no command-line arguments: it was built without the `cli` \
                 feature, as the Lambda zip is; build with default features for --listen, \
                 --dry-run, dead-letters and replay"
            );
        }
        Ok(Args {
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            dry_run: false,
            data_dir: PathBuf::from("relay-data"),
            max_data_mb: None,
            dead_letter_queue: None,
            command: None,
        })
    }
}

// One thread: Lambda hands a container one request at a time, and a webhook relay's local load is far
// below what one core serves (BENCHMARKS.md: >10 000 deliveries/s). A single-threaded runtime has
// no cross-thread wake-ups or work stealing, which measurably lowers CPU per delivery.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::from_command_line()?;
    if let Some(command) = &args.command {
        return run_command(command, &args).await;
    }
    let on_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
    let worker = std::env::var(env::RELAY_ROLE).ok();
    let worker = match worker.as_deref() {
        None | Some("") => false,
        Some(queue::WORKER_ROLE) if on_lambda => true,
        Some(other) => anyhow::bail!(
            "{} is {other:?}: the only role is {:?}, and only on Lambda",
            env::RELAY_ROLE,
            queue::WORKER_ROLE
        ),
    };
    // `Targets` takes RUST_LOG's `target=level,level` form without the regex engine that
    // `EnvFilter` brings (a measurable part of the Lambda zip; see BENCHMARKS.md).
    let filter = std::env::var(env::RUST_LOG)
        .ok()
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    handler::log::init(filter);

    let clients = Clients::from_env().context("could not build the HTTP client")?;
    let config = config::load(
        |name| std::env::var(name).ok(),
        async || config::Ssm::new(clients.aws()),
        args.dry_run,
    )
    .await
    .context("the relay's configuration is incomplete")?;
    let mut config = config;
    if !on_lambda && !args.dry_run && config.sqs.is_none() {
        config.data_dir = Some(DataDirSettings {
            path: args.data_dir.clone(),
            max_bytes: args.max_data_mb.map(|mb| mb * 1024 * 1024),
        });
    }
    let mut relay = Relay::new(config, &clients).context("the relay cannot start")?;
    if on_lambda {
        relay.answer_slack_within_the_request();
    }
    if let Some(chatops) = relay.chatops() {
        tracing::info!(
            rules = chatops.rules().len(),
            "ChatOps on: POST /slack/commands and /slack/interactions"
        );
    }
    let relay = Arc::new(relay);
    if !relay.rules().is_empty() {
        let rules: Vec<&str> = relay.rules().names().collect();
        tracing::info!(rules = %rules.join(", "), "routes loaded");
    }
    if let Some((store, _)) = relay.state() {
        tracing::info!(store, "delivery state kept (exactly-once, living messages)");
    }
    match relay.queue() {
        #[cfg(feature = "local-store")]
        Some(Queue::Local(queue)) => {
            tracing::info!(
                data_dir = %args.data_dir.display(),
                "deliveries Slack does not take in time are queued and retried"
            );
            tokio::spawn(handler::queue::worker::run(relay.clone(), queue.clone()));
        }
        Some(Queue::Sqs(_)) if !worker => tracing::info!(
            "deliveries Slack does not take in time are queued in SQS for the retry worker"
        ),
        _ => {}
    }
    if worker {
        let Some(Queue::Sqs(queue)) = relay.queue().cloned() else {
            anyhow::bail!(
                "the retry worker needs its queues: {} and {}",
                env::RETRY_QUEUE_URL,
                env::DEAD_LETTER_QUEUE_URL
            );
        };
        let work = service_fn(move |event: LambdaEvent<SqsEvent>| {
            let (relay, queue) = (relay.clone(), queue.clone());
            async move {
                let deadline = event.context.deadline();
                Ok::<_, lambda_http::Error>(
                    sqs_worker::handle(&relay, &queue, event.payload, deadline).await,
                )
            }
        });
        return lambda_http::lambda_runtime::run(work)
            .await
            .map_err(|e| anyhow::anyhow!(e))
            .context("the Lambda runtime stopped");
    }
    if !relay.checks_signatures() && !worker {
        tracing::warn!(
            "no webhook secret is set (PULUMI_WEBHOOK_SECRET or PULUMI_WEBHOOK_SECRET_PARAMETER): \
             every request is accepted unsigned; use this only locally"
        );
    }
    let app = router(relay);

    if on_lambda {
        return lambda_http::run(app)
            .await
            .map_err(|e| anyhow::anyhow!(e))
            .context("the Lambda runtime stopped");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    tracing::info!(address = %listener.local_addr()?, dry_run = args.dry_run, "listening");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the HTTP server failed")
}

/// `dead-letters` or `replay`, on the deployed dead-letter queue when one is named, else on the
/// data directory.
async fn run_command(command: &Command, args: &Args) -> anyhow::Result<()> {
    let dead_letter_queue = args
        .dead_letter_queue
        .clone()
        .or_else(|| std::env::var(env::DEAD_LETTER_QUEUE_URL).ok())
        .filter(|url| !url.trim().is_empty());
    if let Some(url) = dead_letter_queue {
        #[cfg(feature = "admin")]
        return sqs_commands::run(command, &url).await;
        #[cfg(not(feature = "admin"))]
        anyhow::bail!(
            "this build has no commands for the deployed queue {url} (built without the admin feature)"
        );
    }
    #[cfg(feature = "local-store")]
    return commands::run(command, &args.data_dir);
    #[cfg(not(feature = "local-store"))]
    {
        let _ = command;
        anyhow::bail!(
            "this build has no data directory (built without the local-store feature); \
             give --dead-letter-queue"
        );
    }
}

/// `dead-letters` and `replay`: read and write the data directory a relay may be serving from.
#[cfg(feature = "local-store")]
mod commands {
    use std::path::Path;

    use anyhow::Context;
    use handler::data_dir::{DATABASE, DataDir, Opener};
    use handler::queue::local::LocalQueue;

    use super::Command;

    pub fn run(command: &Command, dir: &Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            dir.join(DATABASE).exists(),
            "{} holds no relay data (no {DATABASE}): give the --data-dir the relay serves from",
            dir.display()
        );
        let data = DataDir::open(dir, Opener::Command, None)?;
        let queue = LocalQueue::new(data);
        match command {
            Command::DeadLetters { json } => {
                let letters = queue.dead_letters()?;
                super::print_dead_letters(&letters, *json)?;
                eprintln!("{} dead letter(s) in {}", letters.len(), dir.display());
                Ok(())
            }
            Command::Replay { ids, all } => {
                let replayed = queue
                    .replay((!all).then_some(ids.as_slice()))
                    .context("could not re-queue")?;
                println!(
                    "re-queued {}: {}",
                    replayed.requeued.len(),
                    replayed.requeued.join(" ")
                );
                eprintln!(
                    "the relay serving from {} posts them (each at most once per Pulumi-Webhook-ID)",
                    dir.display()
                );
                anyhow::ensure!(
                    replayed.unknown.is_empty(),
                    "not dead letters here: {} (see `handler dead-letters`)",
                    replayed.unknown.join(" ")
                );
                Ok(())
            }
        }
    }
}

/// `dead-letters` and `replay` on the deployed dead-letter queue.
#[cfg(feature = "admin")]
mod sqs_commands {
    use anyhow::Context;
    use handler::queue::sqs::{Moved, SqsQueue};
    use handler::relay::Clients;

    use super::{Command, print_dead_letters};

    pub async fn run(command: &Command, dead_letter_queue: &str) -> anyhow::Result<()> {
        let clients = Clients::from_env().context("could not build the HTTP client")?;
        let aws = clients.aws().map_err(anyhow::Error::msg)?;
        let client = aws.sqs();
        // The retry queue is the one whose redrive policy names this dead-letter queue.
        let sources = client
            .list_dead_letter_source_queues()
            .queue_url(dead_letter_queue)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
            .with_context(|| format!("could not read the dead-letter queue {dead_letter_queue}"))?;
        let queue_url = match sources.queue_urls.as_slice() {
            [one] => one.clone(),
            [] => anyhow::bail!(
                "{dead_letter_queue} is no queue's dead-letter queue: give the stack's deadLetterQueueUrl"
            ),
            many => anyhow::bail!(
                "{dead_letter_queue} is the dead-letter queue of {} queues; the relay's has one",
                many.len()
            ),
        };
        let queue = SqsQueue::new(client, &queue_url, dead_letter_queue);
        match command {
            Command::DeadLetters { json } => {
                let letters = queue.dead_letters().await?;
                print_dead_letters(&letters, *json)?;
                eprintln!("{} dead letter(s) in {dead_letter_queue}", letters.len());
                Ok(())
            }
            Command::Replay { ids, all } => {
                let (replayed, moved) = queue
                    .replay((!all).then_some(ids.as_slice()))
                    .await
                    .context("could not re-queue")?;
                match moved {
                    Moved::ByTask(handle) => println!(
                        "SQS is moving every dead letter back to {queue_url} (message move task {handle})"
                    ),
                    Moved::OneByOne { task_refused } => {
                        if let Some(why) = task_refused {
                            eprintln!(
                                "SQS did not start a message move task ({why}); moving one by one"
                            );
                        }
                        println!(
                            "re-queued {}: {}",
                            replayed.requeued.len(),
                            replayed.requeued.join(" ")
                        )
                    }
                }
                eprintln!("the retry worker posts them (each at most once per Pulumi-Webhook-ID)");
                anyhow::ensure!(
                    replayed.unknown.is_empty(),
                    "not dead letters here: {} (see `handler dead-letters`)",
                    replayed.unknown.join(" ")
                );
                Ok(())
            }
        }
    }
}

/// The dead letters as a table, or one JSON object per line.
#[cfg(any(feature = "admin", feature = "local-store"))]
fn print_dead_letters(letters: &[handler::queue::DeadLetter], json: bool) -> anyhow::Result<()> {
    if json {
        for letter in letters {
            println!("{}", serde_json::to_string(letter)?);
        }
        return Ok(());
    }
    println!("id\tkind\torganization/project/stack\terror\tattempts\tfirst attempt\tlast attempt");
    for l in letters {
        let place = [&l.organization, &l.project, &l.stack]
            .map(|p| p.as_deref().unwrap_or("-"))
            .join("/");
        println!(
            "{}\t{}\t{place}\t{}\t{}\t{}\t{}",
            l.id,
            l.kind,
            l.error.as_deref().unwrap_or("-"),
            l.attempts,
            l.first_attempt.as_deref().unwrap_or("-"),
            l.last_attempt.as_deref().unwrap_or("-"),
        );
    }
    Ok(())
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight deliveries finish.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler can be installed");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}

//! The relay's binary: on AWS Lambda when `AWS_LAMBDA_RUNTIME_API` is set, else a local server.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use handler::app::router;
use handler::config;
use handler::relay::{Clients, Relay};
use relay_core::contract::env;
use tracing_subscriber::filter::Targets;

/// Relays Pulumi Cloud webhooks to Slack. Configured by environment variables (see README).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Address of the local HTTP server (ignored on Lambda).
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Format messages and print them instead of posting to Slack; needs no token.
    #[arg(long)]
    dry_run: bool,
}

// One thread: Lambda hands a container one request at a time, and a webhook relay's local load is far
// below what one core serves (BENCHMARKS.md: >10 000 deliveries/s). A single-threaded runtime has
// no cross-thread wake-ups or work stealing, which measurably lowers CPU per delivery.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let on_lambda = std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some();
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
    let relay = Relay::new(config, &clients).context("the relay cannot start")?;
    if !relay.rules().is_empty() {
        let rules: Vec<&str> = relay.rules().names().collect();
        tracing::info!(rules = %rules.join(", "), "routes loaded");
    }
    if let Some((table, _)) = relay.state() {
        tracing::info!(table, "delivery state kept in DynamoDB");
    }
    if !relay.checks_signatures() {
        tracing::warn!(
            "no webhook secret is set (PULUMI_WEBHOOK_SECRET or PULUMI_WEBHOOK_SECRET_PARAMETER): \
             every request is accepted unsigned; use this only locally"
        );
    }
    let app = router(Arc::new(relay));

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

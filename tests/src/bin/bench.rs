//! The load, cold-start and infra numbers of BENCHMARKS.md, measured in one run on this machine:
//!
//! - load: a fast fake Slack (this process) and, one at a time, the release `handler` binary,
//!   a bare axum "200 OK" server (the limit) and the original TypeScript handler logic on Node
//!   (`../shared/anchors/seed-node`), each sent the same signed deliveries at each concurrency;
//!   req/s, p50/p99 latency, the target's CPU time per request (user+sys from /proc) and peak RSS
//!   (VmHWM). The fake Slack is also measured directly, so the relay's added latency is known.
//! - cold start: process exec → first `200` on `GET /`, for the same three servers.
//! - infra: wall time of the release `infra` program on the stand-in Pulumi engine.
//!
//! Run it with `tests/bench/run.sh` (builds the release binaries first; see BENCHMARKS.md).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use clap::Parser;
use relay_tests::deploy::{self, with};
use relay_tests::engine::{self, Launch, Program};
use relay_tests::fake_slack::{self, FakeSlack};
use relay_tests::load::MIX;
use relay_tests::relay::{binary_in, free_port};
use relay_tests::{SECRET, fixture};

#[derive(Parser)]
struct Args {
    /// Measured requests per target and concurrency (after the warm-up).
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Unmeasured requests first (Node's JIT, connection pools).
    #[arg(long, default_value_t = 2_000)]
    warmup: usize,
    /// Concurrent connections, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "16,200")]
    concurrency: Vec<usize>,
    /// The Node handler's directory (`npm install` done); empty to skip Node.
    #[arg(long, default_value = "../shared/anchors/seed-node")]
    seed_node: String,
    /// Process starts per server for the cold-start median.
    #[arg(long, default_value_t = 25)]
    cold_starts: usize,
    /// Steady rate (req/s, 16 connections) for the added-latency runs; 0 skips them.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Extra environment for the relay, e.g. `--relay-env RUST_LOG=warn` (repeatable), for A/B runs.
    #[arg(long)]
    relay_env: Vec<String>,
    /// Only the load runs (skip cold start and infra).
    #[arg(long)]
    load_only: bool,
    /// Runs of the infra program.
    #[arg(long, default_value_t = 10)]
    infra_runs: usize,
    /// Only the cold starts, of bare axum and of the relay with its secrets in the environment,
    /// in SSM Parameter Store and with a state table (both against moto).
    #[arg(long)]
    cold_only: bool,
    /// Only the durable-delivery runs: the direct path against the queued path (Slack down),
    /// the drain once Slack is back, and the data directory's size.
    #[arg(long)]
    durable_only: bool,
    /// Another build of the relay whose cold starts are measured beside this one's, in the same
    /// run (e.g. the last commit's, for a before/after).
    #[arg(long)]
    compare_relay: Option<PathBuf>,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The directory this bench binary was built into (target/release).
fn profile_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Target {
    Relay,
    BareAxum,
    /// axum + one reqwest post of a fixed message per request: the floor of any relay on this stack.
    BareRelay,
    Node,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Relay => "relay (Rust, this repo)",
            Target::BareAxum => "bare axum 200 (limit)",
            Target::BareRelay => "bare forward: axum + 1 reqwest post (floor)",
            Target::Node => "seed handler (Node)",
        }
    }
}

/// A server under test, killed when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(target: Target, addr: SocketAddr, api_url: &str, seed_node: &Path) -> Command {
    let relay_env: Vec<String> = std::env::var("BENCH_RELAY_ENV")
        .map(|v| {
            v.split('\x1f')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    match target {
        Target::Relay => {
            // BENCH_HANDLER: another build of the relay (e.g. one with symbols, for perf).
            let binary = std::env::var_os("BENCH_HANDLER")
                .map_or_else(|| binary_in(&profile_dir(), "handler"), PathBuf::from);
            let mut c = Command::new(&binary);
            c.arg("--listen").arg(addr.to_string());
            data_dir_for(&binary, &mut c);
            c.env("SLACK_API_URL", api_url)
                .env("SLACK_TOKEN", fake_slack::TOKEN)
                .env("SLACK_CHANNEL", fake_slack::CHANNEL)
                .env("PULUMI_WEBHOOK_SECRET", SECRET);
            for pair in &relay_env {
                if let Some((k, v)) = pair.split_once('=') {
                    c.env(k, v);
                }
            }
            c
        }
        Target::BareAxum => {
            let mut c = Command::new(profile_dir().join("bare-axum"));
            c.arg(addr.to_string());
            c
        }
        Target::BareRelay => {
            let mut c = Command::new(profile_dir().join("bare-axum"));
            c.arg(addr.to_string()).arg(api_url);
            c.env("SLACK_TOKEN", fake_slack::TOKEN)
                .env("SLACK_CHANNEL", fake_slack::CHANNEL);
            c
        }
        Target::Node => {
            let mut c = Command::new("node");
            c.arg("server.js").current_dir(seed_node);
            c.env("PORT", addr.port().to_string())
                .env("SLACK_TOKEN", fake_slack::TOKEN)
                .env("SLACK_CHANNEL", fake_slack::CHANNEL)
                .env("SLACK_API_URL", format!("{api_url}/"));
            c
        }
    }
}

/// Spawns `command` (a server listening on `addr`) and waits for its first `200` on `GET /`;
/// returns it with the time that took.
fn serve(mut command: Command, addr: SocketAddr) -> (Server, Duration) {
    let started = Instant::now();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let server = Server { child, addr };
    // Polls as fast as connect() fails; bounded at 10 s.
    while get_status(addr) != Some(200) {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{command:?} did not start"
        );
        std::thread::sleep(Duration::from_micros(200));
    }
    (server, started.elapsed())
}

/// Cold starts of bare axum and of each relay build, with its secrets in the environment, in
/// SSM parameters, with a state table, and both (moto on loopback); medians and ratios to bare
/// axum, every row in this one run.
fn cold_starts_with_aws(args: &Args, runtime: &tokio::runtime::Runtime) {
    use relay_tests::moto::Moto;
    let moto = runtime.block_on(Moto::start());
    runtime.block_on(async {
        moto.put_secure_string("/bench/token", fake_slack::TOKEN)
            .await;
        moto.put_secure_string("/bench/secret", SECRET).await;
        moto.state_table("bench-state").await;
    });
    let aws: Vec<(String, String)> = moto
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let pairs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let direct = pairs(&[
        ("SLACK_TOKEN", fake_slack::TOKEN),
        ("PULUMI_WEBHOOK_SECRET", SECRET),
    ]);
    let parameters = pairs(&[
        ("SLACK_TOKEN_PARAMETER", "/bench/token"),
        ("PULUMI_WEBHOOK_SECRET_PARAMETER", "/bench/secret"),
    ]);
    let table = pairs(&[("STATE_TABLE", "bench-state")]);
    // The queue in SQS instead of a data directory: nothing is opened at start (the SQS client
    // makes no call until a delivery is queued), so beside the rows above it isolates what
    // opening the embedded database costs.
    let sqs = pairs(&[
        ("RETRY_QUEUE_URL", "http://127.0.0.1:9/123456789012/q.fifo"),
        (
            "DEAD_LETTER_QUEUE_URL",
            "http://127.0.0.1:9/123456789012/d.fifo",
        ),
    ]);
    let reused = std::env::temp_dir().join(format!("relay-bench-reused-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&reused);
    type Variant<'a> = (&'a str, Vec<(String, String)>, DataDir);
    let variants: Vec<Variant> = vec![
        ("secrets in the environment", direct.clone(), DataDir::Fresh),
        (
            "secrets in the environment, data directory reopened",
            direct.clone(),
            DataDir::Reused(reused.clone()),
        ),
        (
            "secrets in the environment, SQS queue (no data directory)",
            [direct.clone(), sqs, aws.clone()].concat(),
            DataDir::Fresh,
        ),
        (
            "secrets in SSM",
            [parameters.clone(), aws.clone()].concat(),
            DataDir::Fresh,
        ),
        (
            "STATE_TABLE",
            [direct, table.clone(), aws.clone()].concat(),
            DataDir::Fresh,
        ),
        (
            "SSM and STATE_TABLE",
            [parameters, table, aws].concat(),
            DataDir::Fresh,
        ),
    ];
    let median = |command: &dyn Fn(SocketAddr) -> Command| {
        let mut times: Vec<Duration> = (0..args.cold_starts)
            .map(|_| {
                let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
                serve(command(addr), addr).1
            })
            .collect();
        times.sort();
        percentile(&times, 0.5)
    };
    let bare = median(&|addr| {
        let mut c = Command::new(profile_dir().join("bare-axum"));
        c.arg(addr.to_string());
        c
    });
    println!(
        "\n## Cold start: exec → first 200 on GET / (median of {} runs each)\n",
        args.cold_starts
    );
    println!("| server | setting | median ms | ÷ bare axum |\n|---|---|---:|---:|");
    println!("| bare axum | | {} | 1.00 |", ms(bare));
    let mut relays = vec![("relay".to_owned(), binary_in(&profile_dir(), "handler"))];
    if let Some(other) = &args.compare_relay {
        relays.push((format!("relay ({})", other.display()), other.clone()));
    }
    // What the SSM rows wait for at the least: moto answering one GetParameter on a new
    // connection (the relay sends its two at once).
    let mut lookups: Vec<Duration> = (0..args.cold_starts)
        .map(|_| {
            let ssm = moto.ssm();
            let started = Instant::now();
            runtime
                .block_on(
                    ssm.get_parameter()
                        .name("/bench/token")
                        .with_decryption(true)
                        .send(),
                )
                .expect("moto answers");
            started.elapsed()
        })
        .collect();
    lookups.sort();
    println!(
        "| (moto: one GetParameter on a new connection) | | {} | |",
        ms(percentile(&lookups, 0.5))
    );
    for (variant, env, dir) in &variants {
        for (name, binary) in &relays {
            let time = median(&|addr| {
                let mut c = Command::new(binary);
                c.arg("--listen").arg(addr.to_string());
                match dir {
                    DataDir::Fresh => data_dir_for(binary, &mut c),
                    DataDir::Reused(path) => {
                        c.arg("--data-dir").arg(path);
                    }
                }
                c.env_clear()
                    .env("SLACK_API_URL", "http://127.0.0.1:9/api")
                    .env("SLACK_CHANNEL", fake_slack::CHANNEL)
                    .envs(env.iter().map(|(k, v)| (k, v)));
                c
            });
            println!(
                "| {name} | {variant} | {} | {:.2} |",
                ms(time),
                time.as_secs_f64() / bare.as_secs_f64()
            );
        }
    }
}

/// Blocking `GET /` on a fresh connection: the status code, if the server answered.
fn get_status(addr: SocketAddr) -> Option<u16> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_nodelay(true).ok()?;
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Starts `target` and returns it with the time from exec to its first `200` on `GET /`.
fn start(target: Target, api_url: &str, seed_node: &Path) -> (Server, Duration) {
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    serve(command(target, addr, api_url, seed_node), addr)
}

/// user+sys CPU time of a process, from /proc/<pid>/stat (clock ticks of 10 ms).
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, r)| r)
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Peak resident set size (VmHWM) in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

type MakeRequest = Arc<dyn Fn(&reqwest::Client, usize) -> reqwest::RequestBuilder + Send + Sync>;

/// Sends `n` requests from `concurrency` workers; returns each latency and the non-2xx count.
/// With `rate`, request i is due at start + i/rate and its latency counts from then, so a slow
/// answer cannot hide the requests queued behind it (no coordinated omission).
async fn drive(
    client: &reqwest::Client,
    concurrency: usize,
    n: usize,
    rate: Option<u32>,
    make: MakeRequest,
) -> (Vec<Duration>, usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = tokio::time::Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, make) = (client.clone(), next.clone(), make.clone());
        workers.spawn(async move {
            let (mut latencies, mut failed) = (Vec::new(), 0);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let started = match rate {
                    Some(rate) => {
                        let due = t0 + Duration::from_secs_f64(i as f64 / f64::from(rate));
                        tokio::time::sleep_until(due).await;
                        due
                    }
                    None => tokio::time::Instant::now(),
                };
                let ok = match make(&client, i).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies.push(started.elapsed());
                failed += usize::from(!ok);
            }
            (latencies, failed)
        });
    }
    let (mut all, mut failed) = (Vec::with_capacity(n), 0);
    while let Some(done) = workers.join_next().await {
        let (latencies, f) = done.unwrap();
        all.extend(latencies);
        failed += f;
    }
    all.sort();
    (all, failed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// A fresh data directory for each start of a relay that has one (builds before durable
/// delivery do not take `--data-dir`), so no run sees another's queue or state.
/// Where a cold start's data directory is.
enum DataDir {
    /// A new one per start ([`data_dir_for`]): the database is created.
    Fresh,
    /// The same one every start: the database is opened, as after a restart.
    Reused(std::path::PathBuf),
}

fn data_dir_for(binary: &std::path::Path, command: &mut Command) {
    static STARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let help = Command::new(binary).arg("--help").output();
    let takes_it = help.is_ok_and(|h| String::from_utf8_lossy(&h.stdout).contains("--data-dir"));
    if takes_it {
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("relay-bench-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        command.arg("--data-dir").arg(dir);
    }
}

struct LoadResult {
    target: String,
    concurrency: usize,
    rps: f64,
    p50: Duration,
    p99: Duration,
    failed: usize,
    cpu_per_req: Option<Duration>,
    peak_rss_kib: Option<u64>,
}

/// The CPU per request column, in µs.
fn cpu_cell(r: &LoadResult) -> String {
    r.cpu_per_req
        .map_or("-".into(), |c| format!("{:.1}", c.as_secs_f64() * 1e6))
}

/// The peak RSS column, in MiB.
fn rss_cell(r: &LoadResult) -> String {
    r.peak_rss_kib
        .map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

/// `n` deliveries of the mix, each with an id and a stack of its own, sent in turn: a relay with
/// delivery state posts each once (no duplicate ids, no deployment message edited by another's
/// status), so "every 200 is one post" holds for it as for the stateless ones.
fn webhook_requests(url: String, n: usize) -> MakeRequest {
    requests_of(
        url,
        relay_tests::load::signed_mix_one_stack_each("bench", n),
    )
}

/// Sends `shots` to `url` in turn, one per request, starting over after the last.
fn requests_of(url: String, shots: Vec<relay_tests::load::Shot>) -> MakeRequest {
    let sent = Arc::new(AtomicUsize::new(0));
    Arc::new(move |client, _| {
        let shot = &shots[sent.fetch_add(1, Ordering::Relaxed) % shots.len()];
        client
            .post(&url)
            .header("content-type", "application/json")
            .header("pulumi-webhook-id", &shot.id)
            .header("pulumi-webhook-kind", shot.kind)
            .header(
                "pulumi-webhook-signature",
                shot.signature.as_deref().unwrap_or_default(),
            )
            .body(shot.body.clone())
    })
}

/// What the relay itself sends Slack for the same deliveries, sent straight to the fake.
fn slack_requests(api_url: &str) -> MakeRequest {
    let url = format!("{api_url}/chat.postMessage");
    let bodies: Vec<Bytes> = MIX
        .iter()
        .map(|(kind, name)| {
            let event = relay_core::event::Event::parse(
                relay_core::event::Kind::parse(kind),
                &fixture(name),
            )
            .unwrap();
            let message = relay_core::render::message(&event, Some("bench"));
            Bytes::from(relay_core::slack::json::post_message_body(
                fake_slack::CHANNEL,
                &message,
            ))
        })
        .collect();
    Arc::new(move |client, i| {
        client
            .post(&url)
            .bearer_auth(fake_slack::TOKEN)
            .header("content-type", "application/json; charset=utf-8")
            .body(bodies[i % bodies.len()].clone())
    })
}

async fn load_run(
    args: &Args,
    slack: &FakeSlack,
    target: Option<Target>,
    concurrency: usize,
    rate: Option<u32>,
    seed_node: &Path,
) -> LoadResult {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let api_url = slack.api_url.clone();
    let (server, make) = match target {
        Some(target) => {
            let (server, _) = tokio::task::spawn_blocking({
                let (api_url, seed_node) = (api_url.clone(), seed_node.to_path_buf());
                move || start(target, &api_url, &seed_node)
            })
            .await
            .unwrap();
            let url = format!("http://{}/", server.addr);
            (
                Some(server),
                webhook_requests(url, args.warmup + args.requests),
            )
        }
        None => (None, slack_requests(&api_url)),
    };
    let pid = server.as_ref().map(|s| s.child.id());
    drive(&client, concurrency, args.warmup, None, make.clone()).await;
    let cpu_before = pid.map(cpu_time);
    let started = Instant::now();
    let (latencies, failed) = drive(&client, concurrency, args.requests, rate, make).await;
    let elapsed = started.elapsed();
    let cpu_per_req = pid
        .zip(cpu_before)
        .map(|(pid, before)| (cpu_time(pid) - before) / args.requests as u32);
    LoadResult {
        target: target
            .map_or("fake Slack alone (baseline)", Target::name)
            .to_owned(),
        concurrency,
        rps: args.requests as f64 / elapsed.as_secs_f64(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        failed,
        cpu_per_req,
        peak_rss_kib: pid.map(peak_rss_kib),
    }
}

/// Direct path vs queued path, side by side in one run, on one relay and data directory.
async fn durable(args: &Args) {
    use relay_tests::fake_slack::Reply;
    let slack = FakeSlack::start().await;
    let dir = std::env::temp_dir().join(format!("relay-bench-durable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut command = Command::new(binary_in(&profile_dir(), "handler"));
    command
        .arg("--listen")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(&dir)
        .env("SLACK_API_URL", &slack.api_url)
        .env("SLACK_TOKEN", fake_slack::TOKEN)
        .env("SLACK_CHANNEL", fake_slack::CHANNEL)
        .env("PULUMI_WEBHOOK_SECRET", SECRET)
        .env("SLACK_DEADLINE_MS", "100")
        // The backlog's head is retried every second while Slack is down.
        .env("RETRY_FIRST_MS", "1000")
        .env("RETRY_MAX_MS", "1000")
        .env("RUST_LOG", "error");
    let (server, _) = tokio::task::spawn_blocking(move || serve(command, addr))
        .await
        .unwrap();
    let pid = server.child.id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    let url = format!("http://{addr}/");
    let n = args.requests;
    // Direct: each delivery of a stack of its own, posted at once. Queued: one stack's
    // deliveries while Slack answers 503: the first waits out SLACK_DEADLINE_MS and is queued,
    // the rest are queued behind it at once (a stack's deliveries keep their order), which is
    // the cost of committing a delivery to disk; the drain is then that stack's backlog, one
    // delivery after another in arrival order.
    let direct = webhook_requests(url.clone(), n);
    let one_stack = requests_of(url.clone(), relay_tests::load::signed_mix("queued", n));
    println!("\n## Durable delivery: {n} deliveries per row, 16 connections\n");
    println!(
        "| path | answer | p50 ms | p99 ms | non-2xx | CPU µs/req |\n|---|---|---:|---:|---:|---:|"
    );
    for (path, answer, down, make) in [
        ("direct: Slack takes it", "200", false, direct),
        (
            "queued: Slack down, the stack's deliveries committed behind its first",
            "202",
            true,
            one_stack,
        ),
    ] {
        if down {
            slack.faults(|_| Some(Reply::Status(503)));
        }
        let before = cpu_time(pid);
        let (latencies, failed) = drive(&client, 16, n, None, make).await;
        let cpu = (cpu_time(pid) - before) / n as u32;
        println!(
            "| {path} | {answer} | {} | {} | {failed} | {:.1} |",
            ms(percentile(&latencies, 0.5)),
            ms(percentile(&latencies, 0.99)),
            cpu.as_secs_f64() * 1e6
        );
    }
    let bytes: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let status = |client: &reqwest::Client| {
        let request = client.get(format!("{url}status")).send();
        async move {
            request
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let queued = status(&client).await["queued"].as_u64().unwrap_or(0);
    println!(
        "\nData directory with {queued} queued deliveries (and the direct run's claims): {bytes} bytes, {:.0} bytes per queued delivery, {:.1} MB per 10 000",
        bytes as f64 / queued.max(1) as f64,
        bytes as f64 / queued.max(1) as f64 * 10_000.0 / 1e6
    );
    slack.faults(|_| None);
    // From the backlog's first delivery (its head's next retry) to an empty queue.
    while status(&client).await["queued"].as_u64() == Some(queued) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let left = status(&client).await["queued"].as_u64().unwrap_or(0);
    while status(&client).await["queued"] != 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed();
    println!(
        "Drain once Slack is back: {left} deliveries of one stack in {:.2} s, {:.0} deliveries/s (one after another, in arrival order)",
        drained.as_secs_f64(),
        left as f64 / drained.as_secs_f64()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}", a / b)
    }
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map_or("?", |m| m.trim_start_matches([' ', '\t', ':']));
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rev = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{date}, {cores} cores ({model}), commit {rev}")
}

fn main() {
    let args = Args::parse();
    // Read back by `command`, which runs on blocking threads without the arguments at hand.
    // SAFETY: set before any other thread exists.
    unsafe { std::env::set_var("BENCH_RELAY_ENV", args.relay_env.join("\x1f")) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let seed_node = workspace().join(&args.seed_node);
    let node = !args.seed_node.is_empty() && seed_node.join("node_modules").is_dir();
    println!("# Bench run: {}\n", machine());
    if !node {
        println!(
            "(Node handler skipped: {} has no node_modules; run `npm install` there)\n",
            seed_node.display()
        );
    }

    if args.cold_only {
        cold_starts_with_aws(&args, &runtime);
        return;
    }
    if args.durable_only {
        runtime.block_on(durable(&args));
        return;
    }

    // Load.
    let mut targets = vec![
        None,
        Some(Target::BareAxum),
        Some(Target::BareRelay),
        Some(Target::Relay),
    ];
    if node {
        targets.push(Some(Target::Node));
    }
    let mut results = Vec::new();
    let mut steady = Vec::new();
    runtime.block_on(async {
        let slack = FakeSlack::start_counting().await;
        for &concurrency in &args.concurrency {
            for &target in &targets {
                let before = slack.post_count();
                let result = load_run(&args, &slack, target, concurrency, None, &seed_node).await;
                let posted = slack.post_count() - before;
                eprintln!(
                    "measured {} at {concurrency}: {:.0} req/s, {posted} posts",
                    result.target, result.rps
                );
                if target.is_some_and(|t| t != Target::BareAxum) {
                    assert_eq!(
                        posted,
                        args.warmup + args.requests - result.failed,
                        "{}: every 200 is one post",
                        result.target
                    );
                }
                results.push(result);
            }
        }
        if args.rate > 0 {
            // Webhooks arrive at a modest rate, never in a saturating flood: CPU per delivery
            // here is the figure that matters in production, and it is free of the 2-core
            // contention that makes the closed-loop CPU figures vary from run to run.
            let steady_targets = [None, Some(Target::BareRelay), Some(Target::Relay)]
                .into_iter()
                .chain(node.then_some(Some(Target::Node)));
            for target in steady_targets {
                steady.push(load_run(&args, &slack, target, 16, Some(args.rate), &seed_node).await);
            }
        }
    });
    println!(
        "## Load: {} measured requests per row (after {} warm-up), mixed event kinds, signed\n",
        args.requests, args.warmup
    );
    println!("| target | conns | req/s | p50 ms | p99 ms | non-2xx | CPU µs/req | peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &results {
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            r.target,
            r.concurrency,
            r.rps,
            ms(r.p50),
            ms(r.p99),
            r.failed,
            cpu_cell(r),
            rss_cell(r),
        );
    }
    println!("\n### Ratios, pair by pair\n");
    println!(
        "| conns | Node CPU/req ÷ relay | Node CPU/req ÷ bare forward | Node peak RSS ÷ relay | relay req/s ÷ Node | relay CPU/req ÷ bare forward | relay CPU/req ÷ bare axum | relay p99 − fake Slack p99 (ms) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &c in &args.concurrency {
        let find = |name: &str| {
            results
                .iter()
                .find(|r| r.concurrency == c && r.target.starts_with(name))
        };
        let (relay, bare, forward, slack, node) = (
            find("relay").unwrap(),
            find("bare axum").unwrap(),
            find("bare forward").unwrap(),
            find("fake").unwrap(),
            find("seed"),
        );
        let cpu = |r: &LoadResult| r.cpu_per_req.unwrap_or_default().as_secs_f64();
        let rss = |r: &LoadResult| r.peak_rss_kib.unwrap_or_default() as f64;
        println!(
            "| {c} | {} | {} | {} | {} | {} | {} | {:.3} |",
            node.map_or("-".into(), |n| ratio(cpu(n), cpu(relay))),
            node.map_or("-".into(), |n| ratio(cpu(n), cpu(forward))),
            node.map_or("-".into(), |n| ratio(rss(n), rss(relay))),
            node.map_or("-".into(), |n| ratio(relay.rps, n.rps)),
            ratio(cpu(relay), cpu(forward)),
            ratio(cpu(relay), cpu(bare)),
            (relay.p99.as_secs_f64() - slack.p99.as_secs_f64()) * 1000.0,
        );
    }

    if let [slack, forward, relay, rest @ ..] = &steady[..] {
        println!(
            "\n## Steady {} req/s over 16 connections (open loop): added latency and CPU\n",
            args.rate
        );
        println!(
            "| target | p50 ms | p99 ms | non-2xx | CPU µs/req | peak RSS MiB |\n|---|---:|---:|---:|---:|---:|"
        );
        for r in &steady {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                r.target,
                ms(r.p50),
                ms(r.p99),
                r.failed,
                cpu_cell(r),
                rss_cell(r),
            );
        }
        println!(
            "\nRelay added latency: p50 {} ms, p99 {} ms.",
            ms(relay.p50.saturating_sub(slack.p50)),
            ms(relay.p99.saturating_sub(slack.p99))
        );
        let cpu = |r: &LoadResult| r.cpu_per_req.unwrap_or_default().as_secs_f64();
        println!(
            "At this rate, relay CPU/req ÷ bare forward CPU/req = {}.",
            ratio(cpu(relay), cpu(forward))
        );
        if let [node] = rest {
            println!(
                "At this rate, Node CPU/req ÷ relay CPU/req = {}; Node ÷ bare forward = {}.",
                ratio(cpu(node), cpu(relay)),
                ratio(cpu(node), cpu(forward))
            );
        }
    }

    if args.load_only {
        return;
    }

    // Cold start.
    println!(
        "\n## Cold start: exec → first 200 on GET / ({} runs each)\n",
        args.cold_starts
    );
    println!("| server | median ms | p90 ms | min ms |");
    println!("|---|---:|---:|---:|");
    let mut cold = vec![Target::BareAxum, Target::Relay];
    if node {
        cold.push(Target::Node);
    }
    let slack = runtime.block_on(FakeSlack::start_counting());
    for target in cold {
        let mut times: Vec<Duration> = (0..args.cold_starts)
            .map(|_| start(target, &slack.api_url, &seed_node).1)
            .collect();
        times.sort();
        println!(
            "| {} | {} | {} | {} |",
            target.name(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.9)),
            ms(times[0])
        );
    }

    // Infra on the stand-in engine.
    let zip = std::env::temp_dir().join("relay-bench-bootstrap.zip");
    write_dummy_zip(&zip);
    let program = with(
        Program {
            stack: "bench".into(),
            ..deploy::new_user(
                Launch::Binary(binary_in(&profile_dir(), "infra")),
                workspace(),
                false,
            )
        },
        "handlerZip",
        &zip.display().to_string(),
    );
    let mut times = Vec::new();
    let mut resources = 0;
    for _ in 0..args.infra_runs {
        let run = runtime.block_on(engine::run(&program));
        assert!(
            run.success && run.schema_errors.is_empty(),
            "{}\n{:?}",
            run.stderr,
            run.schema_errors
        );
        resources = run.registrations.len();
        times.push(run.elapsed);
    }
    times.sort();
    println!(
        "\n## Infra program on the stand-in engine (`pulumi up` path, {resources} resources, {} runs)\n",
        args.infra_runs
    );
    println!("| median ms | min ms | max ms |\n|---:|---:|---:|");
    println!(
        "| {} | {} | {} |",
        ms(percentile(&times, 0.5)),
        ms(times[0]),
        ms(*times.last().unwrap())
    );
}

/// The program reads only the archive's `bootstrap` ELF header (its architecture); the engine
/// hashes the bytes.
fn write_dummy_zip(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file(
        "bootstrap",
        zip::write::SimpleFileOptions::default().unix_permissions(0o755),
    )
    .unwrap();
    let mut elf = [0u8; 64];
    elf[..4].copy_from_slice(b"\x7fELF");
    elf[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
    zip.write_all(&elf).unwrap();
    zip.finish().unwrap();
}

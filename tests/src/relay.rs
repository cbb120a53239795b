//! Runs the relay for tests: in-process (the same router on a loopback port) or as the real
//! binary, and sends it webhooks over real HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use handler::app::router;
use handler::config::{Config, Output};
use handler::relay::{Clients, Relay};
use handler::slack::RetryPolicy;
use relay_core::verify::WebhookSecret;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::fake_slack::{CHANNEL, TOKEN};
use crate::{SECRET, sign};

/// A short retry policy so that failure tests finish in about a second.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        deadline: Duration::from_millis(1500),
        attempt_timeout: Duration::from_millis(500),
        first_backoff: Duration::from_millis(20),
        max_attempts: 4,
    }
}

/// A configuration posting to `api_url` with the fake's token, channel and [`SECRET`].
pub fn config(api_url: &str) -> Config {
    Config {
        thread_window: Duration::from_secs(3600),
        retry: Default::default(),
        sqs: None,
        data_dir: None,
        pulumi: None,
        chatops: None,
        chatops_buttons: false,
        output: Output::Slack {
            api_url: api_url.to_owned(),
            token: TOKEN.into(),
            channel: CHANNEL.to_owned(),
            retry: quick_retries(),
        },
        webhook_secret: Some(WebhookSecret::new(SECRET.into())),
        rules: Default::default(),
        state: None,
    }
}

/// The relay's router served on a loopback port inside the test process.
pub struct InProcess {
    pub url: String,
    server: JoinHandle<()>,
}

impl Drop for InProcess {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl InProcess {
    /// The relay of `config`, without AWS (no SSM parameters, no state table).
    pub async fn start(config: Config) -> InProcess {
        let clients = Clients::new(
            handler::http::client(handler::http::Roots::BuiltIn).expect("an HTTP client"),
            |_| None,
        );
        InProcess::start_with(config, &clients).await
    }

    /// The relay of `config`, calling out through `clients` (moto's, say).
    pub async fn start_with(config: Config, clients: &Clients) -> InProcess {
        InProcess::serve(Relay::new(config, clients).expect("the relay starts")).await
    }

    /// Serves an already built relay.
    pub async fn serve(relay: Relay) -> InProcess {
        let app = router(Arc::new(relay));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("relay serves");
        });
        InProcess {
            url: format!("http://{addr}/"),
            server,
        }
    }
}

/// An answer from the relay.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}

/// A webhook delivery to send.
pub struct Delivery<'a> {
    pub kind: &'a str,
    pub body: Vec<u8>,
    pub signature: Option<String>,
    pub id: String,
}

impl<'a> Delivery<'a> {
    /// A correctly signed delivery of `body` as `kind`, with an id of its own (`d-<n>`): a
    /// relay with delivery state posts each id once, as Pulumi means it.
    pub fn signed(kind: &'a str, body: Vec<u8>) -> Delivery<'a> {
        static SENT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
        let n = SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let signature = Some(sign(&body));
        Delivery {
            kind,
            body,
            signature,
            id: format!("d-{n:04}"),
        }
    }

    pub async fn send(self, url: &str) -> Answer {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .header("pulumi-webhook-id", &self.id)
            .header("pulumi-webhook-kind", self.kind)
            .body(self.body);
        if let Some(signature) = &self.signature {
            request = request.header("pulumi-webhook-signature", signature);
        }
        answer(request.send().await.expect("relay answers")).await
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        headers,
        body,
    }
}

/// The relay's `GET /status`.
pub async fn status(url: &str) -> Value {
    let response = reqwest::get(format!("{url}status"))
        .await
        .expect("GET /status");
    answer(response).await.body
}

/// Waits (bounded: two minutes) until the relay at `url` has no queued delivery left, and
/// returns its last status.
pub async fn drained(url: &str) -> Value {
    for _ in 0..2400 {
        let status = status(url).await;
        if status["queued"] == 0 {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the queue did not drain within two minutes: {}",
        status(url).await
    );
}

/// The `handler` binary of this build (see [`workspace_binary`]).
pub fn handler_binary() -> PathBuf {
    workspace_binary("handler")
}

/// Runs the relay binary with only `env` until it exits (start-up errors); returns (success,
/// stderr).
pub fn run_to_exit(env: &[(&str, &str)]) -> (bool, String) {
    let data_dir = tempfile::tempdir().unwrap();
    let output = Command::new(handler_binary())
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir.path())
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the relay binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A binary of this workspace's package `package` (its binary has the same name), as built by
/// `cargo test --workspace` (the README's test command) next to the tests. A binary older than
/// its package's sources fails the test rather than testing stale code.
pub fn workspace_binary(package: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/<test> → target/<profile>/<package>
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    binary_in(profile_dir, package)
}

/// `profile_dir/<package>`, checked to be newer than the package's sources.
pub fn binary_in(profile_dir: &std::path::Path, package: &str) -> PathBuf {
    let binary = profile_dir.join(package);
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: run `cargo test --workspace`",
                binary.display()
            )
        });
    let sources = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(package)
        .join("src");
    for entry in std::fs::read_dir(&sources).expect("package sources") {
        let modified = entry.unwrap().metadata().unwrap().modified().unwrap();
        assert!(
            modified <= built,
            "{} is older than its sources: run `cargo test --workspace`",
            binary.display()
        );
    }
    binary
}

/// The real binary running as a local server; killed when dropped. Its stdout and stderr are
/// drained as it runs (a full pipe would block the relay's logging), so they can be read at any
/// time.
pub struct Process {
    pub child: Child,
    pub url: String,
    stdout: Captured,
    stderr: Captured,
    /// The data directory made for it, unless the test gave one (`--data-dir`).
    _data_dir: Option<tempfile::TempDir>,
}

/// Output read from a pipe by a background thread.
struct Captured {
    bytes: Arc<std::sync::Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Captured {
    fn drain(mut pipe: impl std::io::Read + Send + 'static) -> Captured {
        let bytes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = bytes.clone();
        let reader = std::thread::spawn(move || {
            let mut chunk = [0u8; 16 * 1024];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        Captured {
            bytes,
            reader: Some(reader),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes.lock().unwrap()).into_owned()
    }

    /// Waits for the pipe to close (the process has exited) and returns everything.
    fn finish(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("pipe reader");
        }
        self.text()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    /// What the process has written to stderr (its JSON log lines) so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Stops the process with SIGTERM (as Lambda and systemd do) and returns
    /// (clean exit, stdout, stderr).
    pub fn terminate(mut self) -> (bool, String, String) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let status = self.child.wait().unwrap();
        let (out, err) = (self.stdout.finish(), self.stderr.finish());
        (status.success(), out, err)
    }
}

/// A free loopback port (bound then released; the binary binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Process {
    /// Starts the binary with only `env` (plus PATH) set and waits until `GET /` answers. Its
    /// data directory is a fresh one unless `args` name one.
    pub async fn start(args: &[&str], env: &[(&str, &str)]) -> Process {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let mut command = Command::new(handler_binary());
        let data_dir = (!args.contains(&"--data-dir")).then(|| tempfile::tempdir().unwrap());
        if let Some(dir) = &data_dir {
            command.arg("--data-dir").arg(dir.path());
        }
        command
            .arg("--listen")
            .arg(addr.to_string())
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("handler starts");
        let stdout = Captured::drain(child.stdout.take().expect("piped stdout"));
        let stderr = Captured::drain(child.stderr.take().expect("piped stderr"));
        let process = Process {
            child,
            url: format!("http://{addr}/"),
            stdout,
            stderr,
            _data_dir: data_dir,
        };
        process.wait_ready().await;
        process
    }

    async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        // Polls readiness with a bounded number of tries; the binary starts in milliseconds.
        for _ in 0..200 {
            if let Ok(r) = client.get(&self.url).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the handler did not answer GET {} within 5 s", self.url);
    }
}

//! Progress the user sees while `pulumi up` runs the program: messages sent through the engine's
//! `Log` RPC (`pulumirpc.Engine` at `PULUMI_ENGINE`).
//!
//! Pulumi Gestalt's language host buffers the program's stdout and stderr and shows them only if
//! the program fails (`pulumi-language-rust/main.go`, `Run`), so a Lambda build of several minutes
//! would otherwise look like a hang. The CLI shows `Log` messages live on the stack's row and lists
//! the non-ephemeral ones under "Diagnostics" at the end; ephemeral ones are only the row's current
//! status, replaced by the next (pulumi/pulumi `pkg/host/host_server.go` `Log`,
//! `pkg/backend/display/progress.go`). Severity INFO is shown by default; DEBUG only with `--debug`.
//!
//! Messages go through one thread that owns the gRPC client, in order. Without an engine (the
//! program run by hand) or when the engine cannot be reached, they go to stderr instead.

use std::sync::mpsc;

use pulumi_gestalt_proto::pulumi::pulumirpc::{
    LogRequest, LogSeverity, engine_client::EngineClient,
};

enum Message {
    Log {
        severity: LogSeverity,
        text: String,
        ephemeral: bool,
    },
    /// Answered once every message before it has been delivered.
    Flush(mpsc::Sender<()>),
}

/// A handle to report progress; clones share the one connection. Messages are delivered in
/// order by a thread of their own; [`Progress::flush`] waits for them before the program exits.
#[derive(Clone)]
pub struct Progress {
    sender: mpsc::Sender<Message>,
}

impl Progress {
    /// Connects to `PULUMI_ENGINE` (when set) and starts the delivery thread.
    pub fn start() -> Progress {
        let engine = std::env::var("PULUMI_ENGINE")
            .ok()
            .filter(|a| !a.is_empty());
        let (sender, receiver) = mpsc::channel();
        std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || deliver(engine, receiver))
            .expect("spawning the progress thread");
        Progress { sender }
    }

    /// A line the user keeps: shown live and listed under the stack's diagnostics.
    pub fn info(&self, text: impl Into<String>) {
        self.send(LogSeverity::Info, text.into(), false);
    }

    /// What is happening right now: shown live on the stack's row, replaced by the next status.
    pub fn status(&self, text: impl Into<String>) {
        self.send(LogSeverity::Info, text.into(), true);
    }

    /// A failure, shown as an error diagnostic of the stack (and on stderr, which the language
    /// host prints when the program fails).
    pub fn error(&self, text: impl Into<String>) {
        let text = text.into();
        eprintln!("error: {text}");
        self.send(LogSeverity::Error, text, false);
    }

    /// Blocks until every message sent so far has been delivered (or given up on).
    pub fn flush(&self) {
        let (done, wait) = mpsc::channel();
        if self.sender.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv();
        }
    }

    fn send(&self, severity: LogSeverity, text: String, ephemeral: bool) {
        let _ = self.sender.send(Message::Log {
            severity,
            text,
            ephemeral,
        });
    }
}

fn deliver(engine: Option<String>, receiver: mpsc::Receiver<Message>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the progress thread");
    let mut client = engine.and_then(|address| {
        runtime
            .block_on(EngineClient::connect(format!("http://{address}")))
            .ok()
    });
    for message in receiver {
        match message {
            Message::Flush(done) => {
                let _ = done.send(());
            }
            Message::Log {
                severity,
                text,
                ephemeral,
            } => {
                let delivered = client.as_mut().is_some_and(|client| {
                    let request = LogRequest {
                        severity: severity as i32,
                        message: text.clone(),
                        urn: String::new(),
                        stream_id: 0,
                        ephemeral,
                    };
                    runtime.block_on(client.log(request)).is_ok()
                });
                // Errors are on stderr already; other lines only when no engine took them.
                if !delivered && severity != LogSeverity::Error && !ephemeral {
                    eprintln!("{text}");
                }
            }
        }
    }
}

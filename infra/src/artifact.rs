//! The Lambda artifact: the `bootstrap.zip` given by `handlerZip`, or one built from this
//! workspace's `handler` while the resources that do not need it are registered.
//!
//! The build is `cargo lambda build --profile lambda --no-default-features` (no data directory:
//! on AWS the state is DynamoDB) for the chosen architecture (cargo-lambda
//! brings the zig linker for the cross build), made reproducible so that an unchanged handler
//! never looks like a new deployment:
//! - the paths a release binary embeds (panic locations of dependencies, under `CARGO_HOME`, and
//!   of generated code, under the target directory) are remapped to fixed names, so where the
//!   checkout or the Cargo home lives does not reach the binary;
//! - the zip is written by [`crate::bundle`] with fixed metadata, not by cargo-lambda, whose zip
//!   carries the binary's modification time.
//!
//! The same sources, `Cargo.lock`, Rust toolchain and cargo-lambda (zig) release then give the
//! same zip bytes on any machine: the engine hashes those bytes (`EnsureHashWithWD`).
//!
//! The archive's `path` is relative to the program's directory (`infra/`, where the engine
//! resolves relative archive paths: pulumi/pulumi `pkg/engine/project.go` `getPwdMain`, and
//! `archive.go` `readPath`), so it is the same string in every checkout. Archives compare by
//! hash alone (`archive.go` `Archive.Equals`), so a path that did differ would not redeploy.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pulumi_gestalt_model::ResolvedOutput;
use pulumi_gestalt_rust::{Output, PulumiAny, pulumi_any};

use crate::bundle;
use crate::progress::Progress;
use crate::settings::{Architecture, Settings};

/// Pulumi's marker for special values, and the one for archives (pulumi/pulumi
/// `sdk/go/common/resource/sig/sig.go`).
const SIG: &str = "4dabf18193072939515e22adb298388d";
const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";

/// How many of cargo's last lines a failed build reports.
const ERROR_TAIL: usize = 40;

/// Where the zip comes from.
pub enum Artifact {
    /// `handlerZip`, as the archive path to send.
    Given(String),
    /// Being built; the archive path arrives when the zip is written.
    Building(tokio::sync::oneshot::Receiver<String>),
}

impl Artifact {
    /// Starts the build (or takes `handlerZip`). A failed build reports why and ends the program:
    /// the function cannot be declared without its code.
    pub fn start(settings: &Settings, root: &Path, progress: &Progress) -> Artifact {
        if let Some(zip) = &settings.handler_zip {
            return Artifact::Given(archive_path(root, &root.join(zip)));
        }
        let (ready, building) = tokio::sync::oneshot::channel();
        let build = Build::new(root, settings.architecture);
        let progress = progress.clone();
        std::thread::Builder::new()
            .name("lambda-build".into())
            .spawn(move || match build.run(&progress) {
                Ok(path) => {
                    let _ = ready.send(path);
                }
                Err(problem) => {
                    progress.error(format!("{problem:#}"));
                    progress.flush();
                    std::process::exit(1);
                }
            })
            .expect("spawning the build thread");
        Artifact::Building(building)
    }

    /// The function's `code`: Pulumi's file archive, known once the zip is.
    pub fn archive(self) -> Output<PulumiAny> {
        Output::from_resolved_future(async move {
            let path = match self {
                Artifact::Given(path) => path,
                // A failed build exits the program, so the sender is only dropped by the exit.
                Artifact::Building(building) => building.await.unwrap_or_default(),
            };
            ResolvedOutput {
                value: Some(pulumi_any!({ SIG: ARCHIVE_SIG, "path": path })),
                secret: false,
                dependencies: Default::default(),
            }
        })
    }
}

/// `zip` as the engine should read it: relative to the program's directory (`infra/`, the
/// project's `main`, one level below the root) when it lies in the project, else as given.
fn archive_path(root: &Path, zip: &Path) -> String {
    match zip.strip_prefix(root) {
        Ok(inside) => Path::new("..").join(inside).display().to_string(),
        Err(_) => zip.display().to_string(),
    }
}

/// One reproducible `cargo lambda build` of the handler, and its zip.
struct Build {
    root: PathBuf,
    architecture: Architecture,
}

impl Build {
    fn new(root: &Path, architecture: Architecture) -> Build {
        Build {
            root: root.to_path_buf(),
            architecture,
        }
    }

    /// `<root>/target/lambda-<arch>`: cargo-lambda puts `handler/bootstrap` there.
    fn lambda_dir(&self) -> PathBuf {
        self.root
            .join("target")
            .join(format!("lambda-{}", self.architecture.lambda_name()))
    }

    fn run(&self, progress: &Progress) -> anyhow::Result<String> {
        let arch = self.architecture.lambda_name();
        progress.info(format!(
            "building the Lambda zip for {arch} with cargo lambda (the first build takes minutes; \
             set handlerZip to deploy a prebuilt one)"
        ));
        let started = Instant::now();
        self.compile(progress)?;
        let dir = self.lambda_dir().join("handler");
        let zip = dir.join("bootstrap.zip");
        let bundle = bundle::write(&dir.join(bundle::ENTRY), &zip)?;
        let path = archive_path(&self.root, &zip);
        progress.info(format!(
            "built the Lambda zip for {arch} in {}: {path}, {} bytes, sha256 {}",
            human(started.elapsed()),
            bundle.bytes,
            bundle.sha256
        ));
        Ok(path)
    }

    fn compile(&self, progress: &Progress) -> anyhow::Result<()> {
        // `cargo run` (what the language host runs) sets CARGO to itself: the same toolchain.
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut child = Command::new(cargo)
            .args(["lambda", "build", "--profile", "lambda", "--color", "never"])
            .arg(self.architecture.cargo_lambda_flag())
            .args(["--package", "handler", "--bin", "handler"])
            // No data directory (SQLite) on Lambda: its queue is SQS, its state DynamoDB. No
            // command line either (`cli`): Lambda passes no arguments.
            .arg("--no-default-features")
            .arg("--lambda-dir")
            .arg(self.lambda_dir())
            .env(
                "CARGO_ENCODED_RUSTFLAGS",
                reproducible_rustflags(&self.root),
            )
            .current_dir(&self.root)
            // Keep the program's stdout for Pulumi; cargo's progress is on stderr.
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context(
                "could not run `cargo lambda`: install it with `pip install cargo-lambda`, or set \
                 handlerZip to a prebuilt bootstrap.zip",
            )?;
        let mut tail = VecDeque::with_capacity(ERROR_TAIL);
        let stderr = child.stderr.take().expect("stderr is piped");
        for line in BufReader::new(stderr).lines() {
            let line = line.context("reading cargo lambda's output")?;
            let shown = line.trim();
            if !shown.is_empty() {
                progress.status(format!("cargo lambda build: {shown}"));
            }
            if tail.len() == ERROR_TAIL {
                tail.pop_front();
            }
            tail.push_back(line);
        }
        let status = child.wait().context("waiting for cargo lambda")?;
        if !status.success() {
            let output: Vec<String> = tail.into();
            bail!(
                "`cargo lambda build` failed ({status}); fix the build, or set handlerZip to a \
                 prebuilt bootstrap.zip. Its last lines:\n{}",
                output.join("\n")
            );
        }
        Ok(())
    }
}

/// Rust flags that keep machine-specific paths out of the binary, after any the user set.
/// Cargo reads `CARGO_ENCODED_RUSTFLAGS` (0x1f-separated, so paths with spaces survive) before
/// `RUSTFLAGS`, so both of the user's forms are carried over.
fn reproducible_rustflags(root: &Path) -> String {
    let mut flags: Vec<String> = match std::env::var("CARGO_ENCODED_RUSTFLAGS") {
        Ok(encoded) if !encoded.is_empty() => encoded.split('\u{1f}').map(str::to_owned).collect(),
        _ => std::env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
    };
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from);
    // rustc applies the last prefix that matches, so the most specific comes last.
    let remaps = [
        cargo_home.map(|p| (p, "/cargo")),
        Some((root.to_path_buf(), "/workspace")),
        target.map(|p| (p, "/target")),
    ];
    for (from, to) in remaps.into_iter().flatten() {
        let from = std::path::absolute(&from).unwrap_or(from);
        flags.push(format!("--remap-path-prefix={}={to}", from.display()));
    }
    flags.join("\u{1f}")
}

/// `3m 14s`, `52s`.
fn human(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    if seconds >= 60 {
        format!("{}m {}s", seconds / 60, seconds % 60)
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_in_the_project_is_sent_relative_to_the_program_directory() {
        let root = Path::new("/home/someone/relay");
        assert_eq!(
            archive_path(
                root,
                &root.join("target/lambda-arm64/handler/bootstrap.zip")
            ),
            "../target/lambda-arm64/handler/bootstrap.zip"
        );
        assert_eq!(
            archive_path(root, Path::new("/srv/artifacts/bootstrap.zip")),
            "/srv/artifacts/bootstrap.zip"
        );
    }

    #[test]
    fn elapsed_times_read_as_minutes_and_seconds() {
        assert_eq!(human(Duration::from_secs(194)), "3m 14s");
        assert_eq!(human(Duration::from_millis(52_900)), "52s");
    }

    #[test]
    fn the_checkout_and_the_cargo_home_are_remapped() {
        let flags = reproducible_rustflags(Path::new("/work/relay"));
        let flags: Vec<&str> = flags.split('\u{1f}').collect();
        assert!(
            flags.contains(&"--remap-path-prefix=/work/relay=/workspace"),
            "{flags:?}"
        );
        assert!(
            flags
                .iter()
                .any(|f| f.starts_with("--remap-path-prefix=") && f.ends_with("=/cargo")),
            "{flags:?}"
        );
    }
}

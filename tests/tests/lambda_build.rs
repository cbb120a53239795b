//! The Lambda zip as `pulumi up` builds it for a new user: reproducible (a relink or another
//! checkout gives the same bytes, so an unchanged handler is never redeployed), reported when it
//! fails, and never in the way of the resources that do not need it.
//!
//! In a test binary of their own: one of them relinks the shared arm64 build.

use std::path::{Path, PathBuf};

use relay_tests::deploy::{assert_ok, fresh, run_ok_on, workspace};
use relay_tests::engine::{self, Program, Run, Stack};

const FUNCTION: &str = "aws:lambda/function:Function";

/// The resources that need nothing from the Lambda zip.
const WITHOUT_THE_ZIP: &[(&str, &str)] = &[
    ("aws:ssm/parameter:Parameter", "slack-token"),
    ("aws:ssm/parameter:Parameter", "webhook-secret"),
    ("aws:cloudwatch/logGroup:LogGroup", "function-logs"),
    ("aws:cloudwatch/logGroup:LogGroup", "access-logs"),
    ("aws:dynamodb/table:Table", "state-table"),
    ("aws:iam/role:Role", "relay-role"),
    ("aws:apigatewayv2/api:Api", "http-api"),
    ("aws:apigatewayv2/stage:Stage", "default-stage"),
    (
        "random:index/randomPassword:RandomPassword",
        "webhook-secret",
    ),
];

fn registered(run: &Run, type_: &str, name: &str) -> bool {
    run.registrations
        .iter()
        .any(|r| r.type_ == type_ && r.name == name)
}

/// The built executable cargo keeps for the `lambda` profile (what a relink rewrites).
fn built_executables() -> Vec<PathBuf> {
    let deps = workspace().join("target/aarch64-unknown-linux-gnu/lambda/deps");
    std::fs::read_dir(&deps)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    name.starts_with("handler-") && p.extension().is_none()
                })
                .collect()
        })
        .unwrap_or_default()
}

fn bootstrap() -> PathBuf {
    workspace().join("target/lambda-arm64/handler/bootstrap")
}

fn code(run: &Run) -> serde_json::Value {
    run.resource(FUNCTION, "relay-function").inputs["code"].clone()
}

#[tokio::test]
async fn a_relinked_handler_deploys_nothing_new() {
    let mut stack = Stack::default();
    let first = run_ok_on(&mut stack, &fresh(false)).await;
    let linked = std::fs::metadata(bootstrap()).unwrap().modified().unwrap();
    // What `cargo clean`, another machine or CI does: the executable is linked again.
    let executables = built_executables();
    assert!(!executables.is_empty(), "no built handler under target/");
    for executable in executables {
        std::fs::remove_file(executable).unwrap();
    }
    let second = run_ok_on(&mut stack, &fresh(false)).await;
    let relinked = std::fs::metadata(bootstrap()).unwrap().modified().unwrap();
    assert!(relinked > linked, "the handler was not linked again");
    assert_eq!(code(&first), code(&second), "the archive's path and hash");
    let inputs = |run: &Run| {
        let mut all: Vec<_> = run
            .registrations
            .iter()
            .map(|r| (r.urn.clone(), r.inputs.clone()))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    };
    assert_eq!(inputs(&first), inputs(&second));
}

#[tokio::test]
async fn the_handler_embeds_no_path_of_this_machine() {
    let run = engine::run(&fresh(false)).await;
    assert_ok(&run);
    let binary = std::fs::read(bootstrap()).unwrap();
    let cargo_home = std::env::var("CARGO_HOME")
        .unwrap_or_else(|_| format!("{}/.cargo", std::env::var("HOME").unwrap()));
    let checkout = workspace().display().to_string();
    for path in [cargo_home.as_str(), checkout.as_str()] {
        let found = binary
            .windows(path.len())
            .filter(|w| *w == path.as_bytes())
            .count();
        assert_eq!(found, 0, "{path} appears {found} times in the bootstrap");
    }
    // They are there, under names that are the same everywhere.
    assert!(
        binary
            .windows(b"/cargo/registry/".len())
            .any(|w| w == b"/cargo/registry/"),
        "dependency paths are remapped, not gone"
    );
}

/// A `cargo` for the program that runs `script` (sh) first and then, if it did not exit, the
/// real cargo with the same arguments.
fn cargo_wrapper(dir: &Path, script: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let path = dir.join("cargo");
    std::fs::write(
        &path,
        format!("#!/bin/sh\n{script}\nexec '{cargo}' \"$@\"\n"),
    )
    .unwrap();
    let status = std::process::Command::new("chmod")
        .arg("+x")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

fn with_cargo(mut program: Program, cargo: &Path) -> Program {
    program
        .env
        .push(("CARGO".into(), cargo.display().to_string()));
    program
}

#[tokio::test]
async fn what_needs_no_zip_is_registered_while_the_zip_builds() {
    let dir = std::env::temp_dir().join(format!("relay-build-gate-{}", std::process::id()));
    let gate = dir.join("gate");
    std::fs::create_dir_all(&dir).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&gate)
        .status()
        .unwrap();
    assert!(made.success());
    // The build waits until the test opens the gate.
    let cargo = cargo_wrapper(&dir, &format!("read _ < '{}'", gate.display()));
    let program = with_cargo(fresh(false), &cargo);
    let mut running = engine::start(Stack::default(), &program).await;
    running
        .wait_for("every resource that needs no zip was registered", |run| {
            WITHOUT_THE_ZIP
                .iter()
                .all(|(type_, name)| registered(run, type_, name))
        })
        .await;
    running
        .wait_for("the build was announced", |run| {
            run.diagnostics()
                .iter()
                .any(|m| m.starts_with("building the Lambda zip"))
        })
        .await;
    assert!(
        !registered(&running.snapshot(), FUNCTION, "relay-function"),
        "the function was declared without its code"
    );
    let opened = tokio::task::spawn_blocking(move || std::fs::write(&gate, "go\n"));
    opened.await.unwrap().unwrap();
    let (_, run) = running.finish().await;
    assert_ok(&run);
    assert!(registered(&run, FUNCTION, "relay-function"));
    let built = run
        .logs
        .iter()
        .find(|log| log.message.starts_with("built the Lambda zip"))
        .expect("the build result");
    assert!(run.first_registration.unwrap() < built.at);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_failed_build_says_why_and_declares_no_function() {
    let dir = std::env::temp_dir().join(format!("relay-build-fail-{}", std::process::id()));
    let cargo = cargo_wrapper(
        &dir,
        "echo 'error[E0308]: mismatched types' >&2\necho '  --> handler/src/main.rs:3:5' >&2\nexit 101",
    );
    let run = engine::run(&with_cargo(fresh(false), &cargo)).await;
    assert!(!run.success);
    let errors = run.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0],
        "error: `cargo lambda build` failed (exit status: 101); fix the build, or set handlerZip \
         to a prebuilt bootstrap.zip. Its last lines:\nerror[E0308]: mismatched types\n  --> \
         handler/src/main.rs:3:5"
    );
    assert!(!registered(&run, FUNCTION, "relay-function"));
    std::fs::remove_dir_all(&dir).unwrap();
}

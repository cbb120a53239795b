//! The relay's own stack as the deploy tests run it: a new user's config, the `infra` program,
//! and the checks every successful run must pass.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::cli_config::StackValue;
use crate::engine::{self, Launch, Program, Run, Stack};
use crate::relay::workspace_binary;

pub const TOKEN: &str = "xoxb-111-222-SECRETTOKENVALUE";
pub const WEBHOOK_SECRET: &str = "given-webhook-secret-0123456789abcdef";

/// The directory holding `Pulumi.yaml`.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `pulumi up` (or `pulumi preview`) of stack `dev` set up as the README tells a new user: only
/// `pulumi config set slackToken … --secret` and `pulumi config set slackChannel '#ops'`. The
/// program builds the Lambda zip itself, as it does for them.
pub fn fresh(preview: bool) -> Program {
    new_user(
        Launch::Binary(workspace_binary("infra")),
        workspace(),
        preview,
    )
}

/// [`fresh`], with the program started by `launch` in the checkout at `root`.
pub fn new_user(launch: Launch, root: PathBuf, preview: bool) -> Program {
    Program {
        launch,
        stack: "dev".into(),
        organization: "acme".into(),
        root_directory: root,
        config: BTreeMap::from([
            ("slackToken".into(), StackValue::Secret(TOKEN.into())),
            ("slackChannel".into(), StackValue::Plain("#ops".into())),
        ]),
        preview,
        env: Vec::new(),
    }
}

/// `program` with `key` set as `pulumi config set key value` sets it.
pub fn with(mut program: Program, key: &str, value: &str) -> Program {
    program
        .config
        .insert(key.into(), StackValue::Plain(value.into()));
    program
}

/// `program` with `key` set with `--secret`.
pub fn with_secret(mut program: Program, key: &str, value: &str) -> Program {
    program
        .config
        .insert(key.into(), StackValue::Secret(value.into()));
    program
}

/// Asserts what holds for every run that should succeed: the program succeeded, every
/// registration fits its provider's schema and checks, and no input was computed from an unknown
/// as if it were a string.
pub fn assert_ok(run: &Run) {
    assert!(
        run.success,
        "the program failed: {:?}\n{}",
        run.errors(),
        run.stderr
    );
    assert!(
        run.schema_errors.is_empty(),
        "schema violations:\n{}",
        run.schema_errors.join("\n")
    );
    let embedded = run.embedded_unknowns();
    assert!(
        embedded.is_empty(),
        "inputs built around the unknown marker: {embedded:?}"
    );
}

/// Runs `program` on a new stack and asserts it succeeded.
pub async fn run_ok(program: &Program) -> Run {
    let run = engine::run(program).await;
    assert_ok(&run);
    run
}

/// Runs `program` on `stack` and asserts it succeeded.
pub async fn run_ok_on(stack: &mut Stack, program: &Program) -> Run {
    let run = stack.run(program).await;
    assert_ok(&run);
    run
}

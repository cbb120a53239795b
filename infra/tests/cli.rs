//! Run outside `pulumi up`, the program says how it is meant to be run instead of panicking.
//! (Having an integration test here also makes `cargo test --workspace` build the `infra` binary
//! that the stand-in engine tests in `tests/` run.)

use std::process::Command;

#[test]
fn without_the_language_host_environment_it_says_to_use_pulumi_up() {
    let output = Command::new(env!("CARGO_BIN_EXE_infra"))
        .env_clear()
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: PULUMI_PROJECT is not set: run this program with `pulumi up`"
    );
}

//! The command line contract: `--listen` (default 127.0.0.1:3000) and `--dry-run`.
//! (Having an integration test here also makes `cargo test --workspace` build the `handler`
//! binary that the end-to-end tests in `tests/` run.)

use std::process::Command;

#[test]
fn help_documents_listen_with_its_default_and_dry_run() {
    let output = Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    assert!(
        help.contains("--listen <LISTEN>") && help.contains("[default: 127.0.0.1:3000]"),
        "{help}"
    );
    assert!(help.contains("--dry-run"), "{help}");
}

#[test]
fn version_prints_the_package_version() {
    let output = Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("--version")
        .output()
        .unwrap();
    let version = String::from_utf8(output.stdout).unwrap();
    assert_eq!(
        version.trim(),
        format!("handler {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_flags_are_rejected() {
    let output = Command::new(env!("CARGO_BIN_EXE_handler"))
        .arg("--lisen")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--listen"));
}

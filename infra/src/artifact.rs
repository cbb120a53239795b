//! The Lambda artifact: the `bootstrap.zip` given by `handlerZip`, or one built from this
//! workspace's `handler` with `cargo lambda build` for the chosen architecture, so that a plain
//! `pulumi up` works without a separate build step.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::settings::Settings;

/// An absolute path to the zip to deploy (Pulumi archives need absolute paths to be stable).
pub fn handler_zip(settings: &Settings, root: &Path) -> anyhow::Result<PathBuf> {
    if let Some(zip) = &settings.handler_zip {
        return std::path::absolute(root.join(zip)).context("resolving handlerZip");
    }
    let arch = settings.architecture;
    let lambda_dir = std::path::absolute(
        root.join("target")
            .join(format!("lambda-{}", arch.lambda_name())),
    )
    .context("resolving the build directory")?;
    eprintln!(
        "building the handler for {} with cargo lambda (set handlerZip to skip)",
        arch.lambda_name()
    );
    let status = Command::new("cargo")
        .args(["lambda", "build", "--profile", "lambda", "--output-format", "zip", arch.cargo_lambda_flag()])
        .args(["--package", "handler", "--bin", "handler", "--lambda-dir"])
        .arg(&lambda_dir)
        .current_dir(root)
        // Keep the program's stdout for Pulumi; the build's chatter goes to stderr.
        .stdout(std::process::Stdio::null())
        .status()
        .context("could not run `cargo lambda`: install it with `pip install cargo-lambda`, or set handlerZip")?;
    if !status.success() {
        bail!(
            "`cargo lambda build` failed ({status}); fix the build, or set handlerZip to a prebuilt bootstrap.zip"
        );
    }
    let zip = lambda_dir.join("handler").join("bootstrap.zip");
    if !zip.is_file() {
        bail!(
            "`cargo lambda build` succeeded but {} is missing",
            zip.display()
        );
    }
    Ok(zip)
}

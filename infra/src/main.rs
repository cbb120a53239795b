//! The Pulumi program that deploys the relay to AWS: `pulumi up` runs it through Pulumi Gestalt's
//! Rust language host. Config is validated first, so a mistake is one clear line naming the key
//! and the `pulumi config set …` that fixes it, before anything is registered.

mod artifact;
mod policy;
mod register;
mod settings;
mod stack;

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = std::env::var_os("PULUMI_ROOT_DIRECTORY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".."));
    let settings = match settings::RawConfig::from_env().map(|raw| raw.validate(&root)) {
        Ok(Ok(settings)) => settings,
        Ok(Err(problem)) => {
            eprintln!("error: {problem}");
            return ExitCode::FAILURE;
        }
        Err(problem) => {
            eprintln!("error: {problem:#}");
            return ExitCode::FAILURE;
        }
    };
    let zip = match artifact::handler_zip(&settings, &root) {
        Ok(zip) => zip,
        Err(problem) => {
            eprintln!("error: {problem:#}");
            return ExitCode::FAILURE;
        }
    };
    match pulumi_gestalt_rust::run(|ctx| stack::declare(ctx, &settings, &zip)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            eprintln!("error: {problem:#}");
            ExitCode::FAILURE
        }
    }
}

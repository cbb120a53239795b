//! The Pulumi program that deploys the relay to AWS: `pulumi up` runs it through Pulumi Gestalt's
//! Rust language host. Config is validated first, so a mistake is one clear line naming the key
//! and the `pulumi config set …` that fixes it, before anything is registered. The Lambda zip is
//! then built in the background while everything that does not need it is registered, and what
//! takes time is reported to the CLI as it happens (`progress`).

mod artifact;
mod bundle;
mod plan;
mod policy;
mod progress;
mod register;
mod settings;
mod stack;
mod unknown;

use std::path::PathBuf;
use std::process::ExitCode;

use artifact::Artifact;
use plan::Plan;
use progress::Progress;

fn main() -> ExitCode {
    let progress = Progress::start();
    let code = run(&progress);
    progress.flush();
    code
}

fn run(progress: &Progress) -> ExitCode {
    let root = std::env::var_os("PULUMI_ROOT_DIRECTORY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".."));
    let settings = match settings::RawConfig::from_env().map(|raw| raw.validate(&root)) {
        Ok(Ok(settings)) => settings,
        Ok(Err(problem)) => {
            progress.error(problem.to_string());
            return ExitCode::FAILURE;
        }
        Err(problem) => {
            progress.error(format!("{problem:#}"));
            return ExitCode::FAILURE;
        }
    };
    let project = std::env::var("PULUMI_PROJECT").unwrap_or_default();
    let stack = std::env::var("PULUMI_STACK").unwrap_or_default();
    let plan = match Plan::new(&project, &stack, settings) {
        Ok(plan) => plan,
        Err(problem) => {
            progress.error(problem.to_string());
            return ExitCode::FAILURE;
        }
    };
    let code = Artifact::start(&plan.settings, &root, progress).archive();
    match pulumi_gestalt_rust::run(|ctx| stack::declare(ctx, &plan, &code)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(problem) => {
            progress.error(format!("{problem:#}"));
            ExitCode::FAILURE
        }
    }
}

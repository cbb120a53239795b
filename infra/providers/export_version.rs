//! Shared by the provider crates' build scripts (`#[path]`-included: build scripts cannot depend
//! on a workspace crate without making it a build dependency of its own).

use std::path::Path;

/// Makes the schema's `version` (the provider release Pulumi installs) a constant of the crate.
pub fn export_version(schema: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(schema)?)?;
    let version = doc["version"].as_str().ok_or("the schema has no version")?;
    println!("cargo::rustc-env=PULUMI_PROVIDER_VERSION={version}");
    Ok(())
}

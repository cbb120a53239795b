//! Generates the AWS bindings from the vendored schema subset, for the modules `infra` uses.

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = Path::new("schema.json");
    pulumi_gestalt_build::generate_from_schema_with_filter(
        schema,
        &[
            "apigatewayv2",
            "cloudwatch",
            "dynamodb",
            "iam",
            "lambda",
            "ssm",
        ],
    )?;
    export_version(schema)
}

/// Makes the schema's `version` (the provider release Pulumi installs) a constant of the crate.
fn export_version(schema: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(schema)?)?;
    let version = doc["version"].as_str().ok_or("the schema has no version")?;
    println!("cargo::rustc-env=PULUMI_PROVIDER_VERSION={version}");
    Ok(())
}

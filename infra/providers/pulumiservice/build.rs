//! Generates the Pulumi Cloud (`pulumiservice`) bindings (Webhook) from the vendored schema
//! subset, and exports the schema's `WebhookFilters` and `WebhookGroup` values so that config
//! is checked against exactly what the provider accepts.

use std::fmt::Write as _;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = Path::new("schema.json");
    // Every token is in the `index` module, which the generator keeps with an empty filter.
    pulumi_gestalt_build::generate_from_schema_with_filter(schema, &[])?;
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(schema)?)?;
    let version = doc["version"].as_str().ok_or("the schema has no version")?;
    println!("cargo::rustc-env=PULUMI_PROVIDER_VERSION={version}");
    export_enum_values(&doc)
}

/// Writes `enum_values.rs`: one `&[&str]` constant of the values of each enum config validates.
fn export_enum_values(doc: &serde_json::Value) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = String::new();
    for (constant, token) in [
        ("WEBHOOK_FILTERS", "pulumiservice:index:WebhookFilters"),
        ("WEBHOOK_GROUPS", "pulumiservice:index:WebhookGroup"),
        ("WEBHOOK_FORMATS", "pulumiservice:index:WebhookFormat"),
    ] {
        let values = doc["types"][token]["enum"]
            .as_array()
            .ok_or_else(|| format!("the schema has no enum {token}"))?
            .iter()
            .map(|v| v["value"].as_str().map(|s| format!("{s:?}")))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("{token} has a value that is not a string"))?;
        writeln!(
            out,
            "/// The values of `{token}` in the vendored schema.\npub const {constant}: &[&str] = &[{}];",
            values.join(", ")
        )?;
    }
    let dir = std::env::var("OUT_DIR")?;
    std::fs::write(Path::new(&dir).join("enum_values.rs"), out)?;
    Ok(())
}

//! Generates the random provider bindings (RandomPassword) from the vendored schema subset.

#[path = "../export_version.rs"]
mod export_version;

use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schema = Path::new("schema.json");
    pulumi_gestalt_build::generate_from_schema_with_filter(schema, &[])?;
    export_version::export_version(schema)
}

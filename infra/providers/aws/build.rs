//! Generates the AWS bindings from the vendored schema subset, for the modules `infra` uses.

#[path = "../export_version.rs"]
mod export_version;

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
            "sns",
            "sqs",
            "ssm",
        ],
    )?;
    export_version::export_version(schema)
}

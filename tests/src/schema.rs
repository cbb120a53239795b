//! Pulumi package schemas (the vendored subsets under `infra/providers/*/schema.json`), used to
//! check what a program registers the way the real provider would reject it: unknown resource
//! types or properties, missing required inputs, values of the wrong type (enum values
//! included), malformed archives, and secret properties sent in plain text.

use std::path::Path;

use serde_json::Value;

use crate::engine::{ARCHIVE_SIG, SIG, UNKNOWN, is_secret};

const ASSET_SIG: &str = "c44067f5952c0a294b673a41bacd8c17";

pub struct Schema {
    pub name: String,
    pub version: String,
    doc: Value,
}

/// Problems found in one registration.
#[derive(Debug, Default)]
pub struct Validation {
    pub errors: Vec<String>,
}

impl Schema {
    pub fn load(path: &Path) -> Schema {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Schema {
            name: doc["name"].as_str().expect("schema name").to_owned(),
            version: doc["version"].as_str().expect("schema version").to_owned(),
            doc,
        }
    }

    pub fn resource(&self, token: &str) -> Option<&Value> {
        self.doc["resources"].get(token)
    }

    /// The outputs of `token` that are not inputs: only the provider can set them.
    pub fn output_only(&self, token: &str) -> Vec<String> {
        let Some(resource) = self.resource(token) else {
            return Vec::new();
        };
        resource["properties"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, _)| key)
            .filter(|key| resource["inputProperties"].get(key.as_str()).is_none())
            .cloned()
            .collect()
    }

    pub fn has_output(&self, token: &str, property: &str) -> bool {
        self.resource(token)
            .and_then(|r| r["properties"].get(property))
            .is_some()
    }

    /// Checks a `RegisterResource` for `token` with `inputs` (JSON, secret wrappers kept).
    pub fn validate_registration(
        &self,
        token: &str,
        version: &str,
        inputs: &Value,
        preview: bool,
    ) -> Validation {
        let mut errors = Vec::new();
        let Some(resource) = self.resource(token) else {
            errors.push(format!(
                "the {} provider has no resource type {token}",
                self.name
            ));
            return Validation { errors };
        };
        if version != self.version {
            errors.push(format!(
                "provider version {version:?} is not the schema's {:?}",
                self.version
            ));
        }
        let declared = &resource["inputProperties"];
        let Some(inputs) = inputs.as_object() else {
            errors.push("inputs are not an object".into());
            return Validation { errors };
        };
        for (key, value) in inputs {
            match declared.get(key) {
                None => errors.push(format!("unknown input property `{key}`")),
                Some(spec) => {
                    // Pulumi Gestalt sends no `additionalSecretOutputs`, so a value the provider
                    // treats as secret must arrive wrapped, or the state would hold it in plain text.
                    let plain =
                        !value.is_null() && !is_secret(value) && value.as_str() != Some(UNKNOWN);
                    if spec["secret"] == true && plain {
                        errors.push(format!(
                            "input `{key}` is secret in the provider schema but was sent in plain text"
                        ));
                    }
                    self.check(spec, value, key, preview, &mut errors)
                }
            }
        }
        for required in resource["requiredInputs"].as_array().into_iter().flatten() {
            let key = required.as_str().unwrap_or_default();
            if inputs.get(key).is_none_or(|v| v.is_null()) {
                errors.push(format!("required input `{key}` is missing"));
            }
        }
        Validation { errors }
    }

    fn check(
        &self,
        spec: &Value,
        value: &Value,
        path: &str,
        preview: bool,
        errors: &mut Vec<String>,
    ) {
        let value = if is_secret(value) {
            &value["value"]
        } else {
            value
        };
        if value.is_null() {
            return;
        }
        if value.as_str() == Some(UNKNOWN) {
            if !preview {
                errors.push(format!("`{path}` is unknown during an update"));
            }
            return;
        }
        if let Some(alternatives) = spec.get("oneOf").and_then(Value::as_array) {
            let fits = alternatives.iter().any(|alt| {
                let mut alt_errors = Vec::new();
                self.check(alt, value, path, preview, &mut alt_errors);
                alt_errors.is_empty()
            });
            if !fits {
                errors.push(format!(
                    "`{path}` matches none of the allowed types: {value}"
                ));
            }
            return;
        }
        if let Some(reference) = spec.get("$ref").and_then(Value::as_str) {
            return self.check_ref(reference, value, path, preview, errors);
        }
        let ok = match spec["type"].as_str() {
            Some("string") => value.is_string(),
            Some("integer") => value.as_f64().is_some_and(|n| n.fract() == 0.0),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some("array") => match value.as_array() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.check(
                            &spec["items"],
                            item,
                            &format!("{path}[{i}]"),
                            preview,
                            errors,
                        );
                    }
                    true
                }
                None => false,
            },
            Some("object") => match value.as_object() {
                Some(map) => {
                    if let Some(item_spec) = spec.get("additionalProperties") {
                        for (k, v) in map {
                            self.check(item_spec, v, &format!("{path}.{k}"), preview, errors);
                        }
                    }
                    true
                }
                None => false,
            },
            other => {
                errors.push(format!("`{path}`: the schema has no type {other:?} here"));
                true
            }
        };
        if !ok {
            errors.push(format!(
                "`{path}` should be {} but is {value}",
                spec["type"]
            ));
        }
    }

    fn check_ref(
        &self,
        reference: &str,
        value: &Value,
        path: &str,
        preview: bool,
        errors: &mut Vec<String>,
    ) {
        match reference {
            "pulumi.json#/Any" => {}
            "pulumi.json#/Archive" => {
                let sources = ["path", "assets", "uri"]
                    .iter()
                    .filter(|k| value.get(**k).is_some())
                    .count();
                if value.get(SIG).and_then(Value::as_str) != Some(ARCHIVE_SIG) || sources != 1 {
                    errors.push(format!("`{path}` is not a Pulumi archive (signature and one of path/assets/uri): {value}"));
                }
            }
            "pulumi.json#/Asset" => {
                if value.get(SIG).and_then(Value::as_str) != Some(ASSET_SIG) {
                    errors.push(format!("`{path}` is not a Pulumi asset: {value}"));
                }
            }
            local => {
                let Some(token) = local.strip_prefix("#/types/") else {
                    errors.push(format!("`{path}`: unresolvable reference {local}"));
                    return;
                };
                let Some(ty) = self.doc["types"].get(token) else {
                    errors.push(format!("`{path}`: the schema lacks type {token}"));
                    return;
                };
                if let Some(variants) = ty.get("enum").and_then(Value::as_array) {
                    if !variants.iter().any(|v| v["value"] == *value) {
                        errors.push(format!(
                            "`{path}` is {value}, not one of the {token} values"
                        ));
                    }
                    return;
                }
                let Some(map) = value.as_object() else {
                    errors.push(format!(
                        "`{path}` should be an object ({token}) but is {value}"
                    ));
                    return;
                };
                for (k, v) in map {
                    match ty["properties"].get(k) {
                        None => errors.push(format!("`{path}.{k}` is not a property of {token}")),
                        Some(spec) => self.check(spec, v, &format!("{path}.{k}"), preview, errors),
                    }
                }
                for required in ty["required"].as_array().into_iter().flatten() {
                    let key = required.as_str().unwrap_or_default();
                    if map.get(key).is_none_or(|v| v.is_null()) {
                        errors.push(format!("`{path}.{key}` is required by {token}"));
                    }
                }
            }
        }
    }

    /// Adds every declared output the answer lacks (as null), and every key of nested object
    /// types, as the real provider's state always has them.
    pub fn complete_outputs(&self, token: &str, outputs: &mut Value) {
        let Some(resource) = self.resource(token) else {
            return;
        };
        let Some(map) = outputs.as_object_mut() else {
            return;
        };
        for (key, spec) in resource["properties"].as_object().into_iter().flatten() {
            let value = map.entry(key.clone()).or_insert(Value::Null);
            self.complete_value(spec, value);
        }
    }

    fn complete_value(&self, spec: &Value, value: &mut Value) {
        if is_secret(value) {
            return self.complete_value(spec, &mut value["value"]);
        }
        if let Some(token) = spec
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/types/"))
        {
            let ty = &self.doc["types"][token];
            if let (Some(props), Some(map)) = (ty["properties"].as_object(), value.as_object_mut())
            {
                for (key, spec) in props {
                    let inner = map.entry(key.clone()).or_insert(Value::Null);
                    self.complete_value(spec, inner);
                }
            }
            return;
        }
        match value {
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.complete_value(&spec["items"], item)),
            Value::Object(map) if spec.get("additionalProperties").is_some() => map
                .values_mut()
                .for_each(|v| self.complete_value(&spec["additionalProperties"], v)),
            _ => {}
        }
    }
}

//! What the Pulumi CLI does with a stack's config before `pulumi preview` or `pulumi up` runs the
//! program: validates it against the `config:` declarations of `Pulumi.yaml`, fills in their
//! defaults, and hands the result to the language host as `PULUMI_CONFIG` (all values text) and
//! `PULUMI_CONFIG_SECRET_KEYS`.
//!
//! Followed from pulumi/pulumi (v3.259), each rule where its source says so:
//! - a key of the project's namespace declared with neither `default` nor `value` is required, and
//!   every missing one is named in one error, sorted, quoted, joined with ", " and a final " and "
//!   (`pkg/workspace/config.go`: `mergeConfig`, `missingStackConfigurationKeysError`,
//!   `formatMissingKeys`);
//! - defaults and values of unset keys are then applied: strings, integers and booleans as their
//!   text, lists and maps as JSON (`createConfigValue`);
//! - then, for each declared key in sorted order and only if it declares a `type`, the first
//!   failing check stops the run: `secret: true` with a value not stored encrypted, then the type
//!   (`validateStackConfigValues`, `validateStackConfigValue`); the type rules are
//!   `sdk/go/common/workspace/project.go` `ValidateConfigValue` (an integer may be text that
//!   `strconv.Atoi` reads; a boolean is exactly "true" or "false"; a list or map only when the
//!   stack stores it structured);
//! - the CLI reports the error as `validating stack config: <error>` (`pkg/cmd/pulumi/operations/
//!   up.go` and `preview.go`), printed as `error: …` (`sdk/go/common/util/cmdutil/exit.go`);
//! - `PULUMI_CONFIG` maps `<namespace>:<key>` to text, structured values as compact JSON with
//!   secrets decrypted; the secret keys are the top-level keys with an encrypted value
//!   (`pkg/resource/deploy/source_eval.go` `Iterate`, `sdk/go/common/resource/config/map.go`
//!   `Decrypt` and `SecureKeys`; Pulumi Gestalt's host JSON-encodes both: `pulumi-language-rust/
//!   main.go` `constructConfig`).
//!
//! Assumed, as no test here needs more: `Pulumi.yaml` is valid (the CLI's schema checks of the
//! project file itself are not repeated), and no ESC environment adds config.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// A stack's config value as `pulumi config set` stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum StackValue {
    /// `pulumi config set key value`: text, whatever it looks like.
    Plain(String),
    /// `pulumi config set key value --secret`.
    Secret(String),
    /// `pulumi config set --path 'key[0].field' …`: a list or map.
    Structured(Value),
}

impl StackValue {
    fn secure(&self) -> bool {
        matches!(self, StackValue::Secret(_))
    }

    /// The text the program receives.
    fn text(&self) -> String {
        match self {
            StackValue::Plain(text) | StackValue::Secret(text) => text.clone(),
            StackValue::Structured(value) => value.to_string(),
        }
    }
}

/// One declaration under `config:`.
#[derive(Debug, Clone, PartialEq)]
pub struct Declaration {
    pub type_: Option<String>,
    pub items: Option<Box<Declaration>>,
    pub secret: bool,
    pub default: Option<Value>,
    pub value: Option<Value>,
}

/// What the CLI reads from `Pulumi.yaml`.
#[derive(Debug, Clone)]
pub struct Project {
    pub name: String,
    /// The program's directory (`main`), relative to the project root.
    pub main: String,
    pub config: BTreeMap<String, Declaration>,
}

impl Project {
    /// `<root>/Pulumi.yaml`.
    pub fn load(root: &Path) -> Project {
        let path = root.join("Pulumi.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Project::parse(&text)
    }

    pub fn parse(text: &str) -> Project {
        let docs = YamlLoader::load_from_str(text).unwrap_or_else(|e| panic!("Pulumi.yaml: {e}"));
        let doc = yaml_to_json(docs.first().expect("Pulumi.yaml has a document"));
        let name = doc["name"]
            .as_str()
            .expect("Pulumi.yaml has a name")
            .to_owned();
        let main = doc["main"]
            .as_str()
            .unwrap_or(".")
            .trim_end_matches('/')
            .to_owned();
        let config = doc["config"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, spec)| (key.clone(), declaration(spec)))
            .collect();
        Project { name, main, config }
    }
}

fn declaration(spec: &Value) -> Declaration {
    match spec {
        // Shorthand `key: value` is a default (`RewriteShorthandConfigValues`).
        Value::Object(map) => Declaration {
            type_: map.get("type").and_then(Value::as_str).map(str::to_owned),
            items: map.get("items").map(|items| Box::new(declaration(items))),
            secret: map.get("secret").and_then(Value::as_bool).unwrap_or(false),
            default: map.get("default").filter(|d| !d.is_null()).cloned(),
            value: map.get("value").filter(|v| !v.is_null()).cloned(),
        },
        shorthand => Declaration {
            type_: None,
            items: None,
            secret: false,
            default: Some(shorthand.clone()),
            value: None,
        },
    }
}

fn yaml_to_json(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Real(text) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Yaml::Integer(n) => Value::from(*n),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(yaml_to_json).collect()),
        Yaml::Hash(map) => Value::Object(
            map.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_owned(), yaml_to_json(v))))
                .collect(),
        ),
        Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
    }
}

/// What the language host is given: `PULUMI_CONFIG` and `PULUMI_CONFIG_SECRET_KEYS`.
#[derive(Debug, Clone, Default)]
pub struct ProgramConfig {
    pub values: BTreeMap<String, String>,
    pub secret_keys: BTreeSet<String>,
}

/// Validates `stack_config` (keys without the project's namespace, or `ns:key`) against the
/// project's declarations and applies the defaults, or returns the line the CLI prints.
pub fn merge(
    project: &Project,
    stack: &str,
    stack_config: &BTreeMap<String, StackValue>,
) -> Result<ProgramConfig, String> {
    let full = |key: &str| {
        if key.contains(':') {
            key.to_owned()
        } else {
            format!("{}:{key}", project.name)
        }
    };
    let mut merged: BTreeMap<String, StackValue> = stack_config
        .iter()
        .map(|(k, v)| (full(k), v.clone()))
        .collect();
    let mut missing = Vec::new();
    for (key, declaration) in &project.config {
        if merged.contains_key(&full(key)) {
            continue;
        }
        match declaration.value.as_ref().or(declaration.default.as_ref()) {
            Some(default) => {
                merged.insert(full(key), default_value(default));
            }
            None if !key.contains(':') || key.starts_with(&format!("{}:", project.name)) => {
                missing.push(key.clone());
            }
            None => {}
        }
    }
    if !missing.is_empty() {
        return Err(cli_error(format!(
            "Stack '{stack}' is missing configuration {} {}",
            if missing.len() == 1 {
                "value"
            } else {
                "values"
            },
            format_keys(&missing)
        )));
    }
    for (key, declaration) in &project.config {
        let Some(type_) = &declaration.type_ else {
            continue;
        };
        let Some(value) = merged.get(&full(key)) else {
            continue;
        };
        if declaration.secret && !value.secure() {
            return Err(cli_error(format!(
                "Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret"
            )));
        }
        let content = match value {
            StackValue::Structured(value) => value.clone(),
            StackValue::Plain(text) | StackValue::Secret(text) => Value::String(text.clone()),
        };
        if !fits(type_, declaration.items.as_deref(), &content) {
            return Err(cli_error(format!(
                "Stack '{stack}' with configuration key '{key}' must be of type '{}'",
                type_name(type_, declaration.items.as_deref())
            )));
        }
    }
    Ok(ProgramConfig {
        secret_keys: merged
            .iter()
            .filter(|(_, v)| v.secure())
            .map(|(k, _)| k.clone())
            .collect(),
        values: merged.into_iter().map(|(k, v)| (k, v.text())).collect(),
    })
}

fn cli_error(message: String) -> String {
    format!("error: validating stack config: {message}")
}

/// `createConfigValue`: strings, integers and booleans as their text, the rest as JSON.
fn default_value(default: &Value) -> StackValue {
    match default {
        Value::String(s) => StackValue::Plain(s.clone()),
        Value::Bool(b) => StackValue::Plain(b.to_string()),
        Value::Number(n) if n.is_i64() || n.is_u64() => StackValue::Plain(n.to_string()),
        other => StackValue::Structured(other.clone()),
    }
}

/// `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`.
fn format_keys(keys: &[String]) -> String {
    let mut keys: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    keys.sort();
    match keys.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => keys.concat(),
    }
}

/// `ValidateConfigValue`.
fn fits(type_: &str, items: Option<&Declaration>, content: &Value) -> bool {
    match type_ {
        "string" => content.is_string(),
        "integer" => match content {
            Value::Number(n) => n.as_f64().is_some_and(|f| f.fract() == 0.0),
            Value::String(text) => atoi(text),
            _ => false,
        },
        "boolean" => {
            matches!(content, Value::Bool(_)) || matches!(content.as_str(), Some("true" | "false"))
        }
        "object" => content.is_object(),
        "array" => match (content.as_array(), items) {
            (Some(elements), Some(items)) => elements.iter().all(|element| {
                fits(
                    items.type_.as_deref().unwrap_or("string"),
                    items.items.as_deref(),
                    element,
                )
            }),
            _ => false,
        },
        _ => false,
    }
}

/// Go's `strconv.Atoi`: an optional sign, then decimal digits, within 64 bits.
fn atoi(text: &str) -> bool {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && text.parse::<i64>().is_ok()
}

/// `InferFullTypeName`: `array<string>`, `array<array<integer>>`.
fn type_name(type_: &str, items: Option<&Declaration>) -> String {
    match (type_, items) {
        ("array", Some(items)) => format!(
            "array<{}>",
            type_name(
                items.type_.as_deref().unwrap_or("string"),
                items.items.as_deref()
            )
        ),
        _ => type_.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(yaml: &str) -> Project {
        Project::parse(yaml)
    }

    const PROJECT: &str = "name: p\nruntime: rust\nconfig:\n  a:\n    type: string\n  c:\n    type: string\n  b:\n    type: integer\n    default: 14\n  s:\n    type: string\n    secret: true\n    default: x\n  l:\n    default: []\n";

    fn plain(pairs: &[(&str, &str)]) -> BTreeMap<String, StackValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), StackValue::Plain(v.to_string())))
            .collect()
    }

    #[test]
    fn every_missing_key_is_named_once_sorted() {
        let err = merge(&project(PROJECT), "dev", &plain(&[("s", "x")])).unwrap_err();
        assert_eq!(
            err,
            "error: validating stack config: Stack 'dev' is missing configuration values 'a' and 'c'"
        );
        let err = merge(&project(PROJECT), "dev", &plain(&[("a", "1")])).unwrap_err();
        assert_eq!(
            err,
            "error: validating stack config: Stack 'dev' is missing configuration value 'c'"
        );
    }

    #[test]
    fn a_typed_secret_with_a_default_fails_when_the_stack_leaves_it_unset() {
        let err = merge(&project(PROJECT), "dev", &plain(&[("a", "1"), ("c", "2")])).unwrap_err();
        assert_eq!(
            err,
            "error: validating stack config: Stack 'dev' with configuration key 's' must be encrypted as it's secret"
        );
    }

    #[test]
    fn defaults_reach_the_program_as_text() {
        let mut config = plain(&[("a", "1"), ("c", "2")]);
        config.insert("s".into(), StackValue::Secret("x".into()));
        let merged = merge(&project(PROJECT), "dev", &config).unwrap();
        assert_eq!(merged.values["p:b"], "14");
        assert_eq!(merged.values["p:l"], "[]");
        assert_eq!(merged.secret_keys, BTreeSet::from(["p:s".to_owned()]));
    }

    #[test]
    fn an_integer_may_be_text_atoi_reads_and_nothing_else() {
        let mut config = plain(&[("a", "1"), ("c", "2")]);
        config.insert("s".into(), StackValue::Secret("x".into()));
        for good in ["14", "+14", "-5"] {
            config.insert("b".into(), StackValue::Plain(good.into()));
            assert!(merge(&project(PROJECT), "dev", &config).is_ok(), "{good}");
        }
        for bad in ["14.0", "two weeks", "", "1e3"] {
            config.insert("b".into(), StackValue::Plain(bad.into()));
            assert_eq!(
                merge(&project(PROJECT), "dev", &config).unwrap_err(),
                "error: validating stack config: Stack 'dev' with configuration key 'b' must be of type 'integer'",
                "{bad}"
            );
        }
    }

    #[test]
    fn a_structured_value_is_not_a_string() {
        let mut config = plain(&[("c", "2")]);
        config.insert("s".into(), StackValue::Secret("x".into()));
        config.insert(
            "a".into(),
            StackValue::Structured(serde_json::json!({"k": 1})),
        );
        assert_eq!(
            merge(&project(PROJECT), "dev", &config).unwrap_err(),
            "error: validating stack config: Stack 'dev' with configuration key 'a' must be of type 'string'"
        );
    }
}

//! `registerWebhook`: the optional Pulumi Cloud webhook this stack registers for itself, pointing
//! at the relay's URL with the relay's secret. Checked before anything is declared, with an error
//! naming the field and the `pulumi config set --path …` that fixes it.
//!
//! Choices a careful user would want spelled out (the README says them too):
//! - `scope` defaults to `stack`, the narrower one: an organization webhook sends every stack's
//!   events, which nobody should get by leaving a field out.
//! - `project` and `stack` have no default. The relay's own stack is almost never the one to
//!   watch (it only changes when the relay is updated), so guessing it would register a webhook
//!   that quietly never fires for the stacks the user meant.
//! - Filter and group names are the provider schema's `WebhookFilters` / `WebhookGroup` values,
//!   so `pulumi up` refuses what Pulumi Cloud would refuse, before anything is created.

use std::collections::BTreeSet;

use pulumi_gestalt_providers_pulumiservice as pulumiservice;
use serde_json::Value;

/// The fields `registerWebhook` takes.
const FIELDS: &[&str] = &[
    "scope",
    "pulumiOrganization",
    "project",
    "stack",
    "filters",
    "groups",
];

/// Filters Pulumi Cloud only sends to organization webhooks: stacks coming and going (the enum's
/// own documentation says so), and everything about ESC environments, which are not stack events.
fn organization_only_filter(name: &str) -> bool {
    matches!(name, "stack_created" | "stack_deleted")
        || name.starts_with("environment_")
        || name == "imported_environment_changed"
}

/// A validated `registerWebhook`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRegistration {
    /// The Pulumi Cloud organization that owns the webhook.
    pub organization: String,
    pub scope: Scope,
    /// Filter names; empty means every event.
    pub filters: Vec<String>,
    /// Group names; empty means none.
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every stack of the organization.
    Organization,
    /// One stack, `project/stack` of the organization.
    Stack { project: String, stack: String },
}

/// What is wrong with `registerWebhook`, phrased as what to run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "config `registerWebhook{field}` {problem}: {fix} (see \"Register the webhook in Pulumi Cloud\" in the README; `pulumi config get registerWebhook` shows it)"
)]
pub struct RegistrationError {
    /// The path below `registerWebhook` (`.filters[1]`), empty for the whole value.
    pub field: String,
    pub problem: String,
    pub fix: String,
}

pub fn problem(
    field: &str,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> RegistrationError {
    RegistrationError {
        field: field.to_owned(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// A name-like field: a string, or a number `pulumi config set --path` stored for one.
fn name_field(
    object: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, RegistrationError> {
    let text = match object.get(field) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(problem(
                &format!(".{field}"),
                format!("is {other}, not a name"),
                format!("run `pulumi config set --path registerWebhook.{field} <name>`"),
            ));
        }
    };
    // Pulumi organization, project and stack names are single path segments.
    if text.is_empty() || text.contains('/') || text.chars().any(char::is_whitespace) {
        return Err(problem(
            &format!(".{field}"),
            format!(
                "is {text:?}, which is not a Pulumi {} name (one word, no `/`)",
                field_noun(field)
            ),
            format!("run `pulumi config set --path registerWebhook.{field} <name>`"),
        ));
    }
    Ok(Some(text))
}

fn field_noun(field: &str) -> &'static str {
    match field {
        "pulumiOrganization" => "organization",
        "project" => "project",
        _ => "stack",
    }
}

/// A list of enum values (`filters`, `groups`): checked against `valid`, no duplicates, not empty.
fn enum_list(
    object: &serde_json::Map<String, Value>,
    field: &str,
    what: &str,
    valid: &[&str],
    example: &str,
) -> Result<Vec<String>, RegistrationError> {
    let items = match object.get(field) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(problem(
                &format!(".{field}"),
                format!("is {other}, not a list of {what}s"),
                format!("run `pulumi config set --path 'registerWebhook.{field}[0]' {example}`"),
            ));
        }
    };
    if items.is_empty() {
        return Err(problem(
            &format!(".{field}"),
            "is an empty list",
            format!("remove it with `pulumi config rm --path registerWebhook.{field}`"),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut names = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        let at = format!(".{field}[{index}]");
        let Some(name) = item.as_str() else {
            return Err(problem(
                &at,
                format!("is {item}, not a {what}"),
                format!("run `pulumi config set --path 'registerWebhook{at}' {example}`"),
            ));
        };
        if !valid.contains(&name) {
            return Err(problem(
                &at,
                format!(
                    "is {name:?}, which is not a Pulumi webhook {what}; valid {what}s: {}",
                    valid.join(", ")
                ),
                format!("run `pulumi config set --path 'registerWebhook{at}' {example}`"),
            ));
        }
        if !seen.insert(name) {
            return Err(problem(
                &at,
                format!("repeats {name:?}"),
                format!("remove it with `pulumi config rm --path 'registerWebhook{at}'`"),
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// Validates the `registerWebhook` config value (JSON, as the language host passes structured
/// config).
pub fn parse(json: &str) -> Result<WebhookRegistration, RegistrationError> {
    let start = "run `pulumi config set --path registerWebhook.pulumiOrganization <organization>` and the fields listed there";
    let value: Value = serde_json::from_str(json)
        .map_err(|_| problem("", format!("is {json:?}, not an object"), start))?;
    let Value::Object(object) = value else {
        return Err(problem("", format!("is {value}, not an object"), start));
    };
    if let Some(unknown) = object.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(problem(
            &format!(".{unknown}"),
            format!(
                "is not a field of registerWebhook (fields: {})",
                FIELDS.join(", ")
            ),
            format!("remove it with `pulumi config rm --path registerWebhook.{unknown}`"),
        ));
    }

    let scope_name = match object.get("scope") {
        None | Some(Value::Null) => "stack",
        Some(Value::String(s)) if s == "stack" || s == "organization" => s.as_str(),
        Some(other) => {
            return Err(problem(
                ".scope",
                format!("is {other}, but it must be organization or stack"),
                "run `pulumi config set --path registerWebhook.scope stack` (or organization)",
            ));
        }
    };
    let organization = name_field(&object, "pulumiOrganization")?.ok_or_else(|| {
        problem(
            ".pulumiOrganization",
            "is required (the Pulumi Cloud organization that owns the webhook)",
            "run `pulumi config set --path registerWebhook.pulumiOrganization <organization>`",
        )
    })?;
    let project = name_field(&object, "project")?;
    let stack = name_field(&object, "stack")?;
    let scope = if scope_name == "organization" {
        if let Some(field) = ["project", "stack"]
            .into_iter()
            .find(|f| object.contains_key(*f))
        {
            return Err(problem(
                &format!(".{field}"),
                "is only for scope stack (an organization webhook covers every stack)",
                format!(
                    "remove it with `pulumi config rm --path registerWebhook.{field}`, or run `pulumi config set --path registerWebhook.scope stack`"
                ),
            ));
        }
        Scope::Organization
    } else {
        let required = |field: &str, value: Option<String>| {
            value.ok_or_else(|| {
                problem(
                    &format!(".{field}"),
                    format!(
                        "is required with scope stack (the default): the {field} whose events to relay, which is not guessed"
                    ),
                    format!(
                        "run `pulumi config set --path registerWebhook.{field} <{field}>`, or `pulumi config set --path registerWebhook.scope organization` for every stack"
                    ),
                )
            })
        };
        Scope::Stack {
            project: required("project", project)?,
            stack: required("stack", stack)?,
        }
    };

    let filters = enum_list(
        &object,
        "filters",
        "filter",
        pulumiservice::WEBHOOK_FILTERS,
        "update_failed",
    )?;
    let groups = enum_list(
        &object,
        "groups",
        "group",
        pulumiservice::WEBHOOK_GROUPS,
        "stacks",
    )?;
    if matches!(scope, Scope::Stack { .. }) {
        let wrong_filter = filters
            .iter()
            .position(|f| organization_only_filter(f))
            .map(|i| (format!(".filters[{i}]"), &filters[i]));
        let wrong_group = groups
            .iter()
            .position(|g| g == "environments")
            .map(|i| (format!(".groups[{i}]"), &groups[i]));
        if let Some((at, name)) = wrong_filter.or(wrong_group) {
            return Err(problem(
                &at,
                format!(
                    "is {name:?}, which Pulumi Cloud only sends to organization webhooks, never to a stack webhook"
                ),
                format!(
                    "remove it with `pulumi config rm --path 'registerWebhook{at}'`, or run `pulumi config set --path registerWebhook.scope organization`"
                ),
            ));
        }
    }
    Ok(WebhookRegistration {
        organization,
        scope,
        filters,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(json: &str) -> String {
        parse(json).unwrap_err().to_string()
    }

    #[test]
    fn a_stack_webhook_with_filters_and_groups() {
        let registration = parse(
            r#"{"pulumiOrganization": "acme", "project": "website", "stack": "prod",
                "filters": ["update_failed", "drift_detected"], "groups": ["deployments"]}"#,
        )
        .unwrap();
        assert_eq!(
            registration,
            WebhookRegistration {
                organization: "acme".into(),
                scope: Scope::Stack {
                    project: "website".into(),
                    stack: "prod".into()
                },
                filters: vec!["update_failed".into(), "drift_detected".into()],
                groups: vec!["deployments".into()],
            }
        );
    }

    #[test]
    fn an_organization_webhook_needs_only_the_organization() {
        let registration =
            parse(r#"{"scope": "organization", "pulumiOrganization": "acme"}"#).unwrap();
        assert_eq!(registration.scope, Scope::Organization);
        assert!(registration.filters.is_empty() && registration.groups.is_empty());
    }

    #[test]
    fn numbers_stored_by_config_set_path_are_taken_as_names() {
        let registration =
            parse(r#"{"pulumiOrganization": "acme", "project": "web", "stack": 2024}"#).unwrap();
        assert_eq!(
            registration.scope,
            Scope::Stack {
                project: "web".into(),
                stack: "2024".into()
            }
        );
    }

    #[test]
    fn a_bad_filter_is_named_with_its_index_and_the_valid_names() {
        let err = message(
            r#"{"pulumiOrganization": "acme", "scope": "organization",
                "filters": ["update_failed", "update_failure"]}"#,
        );
        assert!(
            err.starts_with(
                "config `registerWebhook.filters[1]` is \"update_failure\", which is not a Pulumi webhook filter; valid filters: stack_created, stack_deleted, update_succeeded, update_failed,"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "run `pulumi config set --path 'registerWebhook.filters[1]' update_failed`"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_bad_group_is_named() {
        let err = message(
            r#"{"pulumiOrganization": "acme", "scope": "organization", "groups": ["stack"]}"#,
        );
        assert!(
            err.starts_with(
                "config `registerWebhook.groups[0]` is \"stack\", which is not a Pulumi webhook group; valid groups: stacks, deployments, environments"
            ),
            "{err}"
        );
    }

    #[test]
    fn the_organization_is_required() {
        let err = message(r#"{"scope": "organization"}"#);
        assert!(
            err.starts_with("config `registerWebhook.pulumiOrganization` is required"),
            "{err}"
        );
        assert!(
            err.contains(
                "pulumi config set --path registerWebhook.pulumiOrganization <organization>"
            ),
            "{err}"
        );
    }

    #[test]
    fn a_stack_webhook_names_its_stack_explicitly() {
        let err = message(r#"{"pulumiOrganization": "acme", "project": "website"}"#);
        assert!(
            err.starts_with("config `registerWebhook.stack` is required with scope stack"),
            "{err}"
        );
        let err = message(r#"{"pulumiOrganization": "acme", "stack": "prod"}"#);
        assert!(
            err.starts_with("config `registerWebhook.project` is required with scope stack"),
            "{err}"
        );
    }

    #[test]
    fn scope_must_be_organization_or_stack() {
        let err = message(r#"{"pulumiOrganization": "acme", "scope": "org"}"#);
        assert!(
            err.starts_with(
                "config `registerWebhook.scope` is \"org\", but it must be organization or stack"
            ),
            "{err}"
        );
    }

    #[test]
    fn an_organization_webhook_takes_no_stack() {
        let err =
            message(r#"{"pulumiOrganization": "acme", "scope": "organization", "project": "web"}"#);
        assert!(
            err.starts_with("config `registerWebhook.project` is only for scope stack"),
            "{err}"
        );
    }

    #[test]
    fn organization_only_events_are_refused_for_a_stack_webhook() {
        for (json, field) in [
            (
                r#""filters": ["update_failed", "stack_created"]"#,
                "filters[1]",
            ),
            (r#""filters": ["environment_created"]"#, "filters[0]"),
            (r#""groups": ["stacks", "environments"]"#, "groups[1]"),
        ] {
            let err = message(&format!(
                r#"{{"pulumiOrganization": "acme", "project": "p", "stack": "s", {json}}}"#
            ));
            assert!(
                err.starts_with(&format!("config `registerWebhook.{field}`"))
                    && err.contains("only sends to organization webhooks"),
                "{err}"
            );
        }
    }

    #[test]
    fn unknown_fields_empty_and_repeated_lists_are_refused() {
        let err =
            message(r#"{"pulumiOrganization": "acme", "scope": "organization", "filter": []}"#);
        assert!(
            err.starts_with("config `registerWebhook.filter` is not a field of registerWebhook"),
            "{err}"
        );
        let err =
            message(r#"{"pulumiOrganization": "acme", "scope": "organization", "filters": []}"#);
        assert!(
            err.starts_with("config `registerWebhook.filters` is an empty list"),
            "{err}"
        );
        let err = message(
            r#"{"pulumiOrganization": "acme", "scope": "organization", "filters": ["drift_detected", "drift_detected"]}"#,
        );
        assert!(
            err.starts_with("config `registerWebhook.filters[1]` repeats \"drift_detected\""),
            "{err}"
        );
    }

    #[test]
    fn names_are_single_segments_and_the_value_an_object() {
        let err = message(r#"{"pulumiOrganization": "acme/team", "scope": "organization"}"#);
        assert!(
            err.starts_with("config `registerWebhook.pulumiOrganization` is \"acme/team\""),
            "{err}"
        );
        let err = message("true");
        assert!(
            err.starts_with("config `registerWebhook` is true, not an object"),
            "{err}"
        );
        let err = message("stack");
        assert!(
            err.starts_with("config `registerWebhook` is \"stack\", not an object"),
            "{err}"
        );
    }
}

//! Who may do what from Slack: the `CHATOPS` rules, default deny.
//!
//! A JSON array of rules, each `{"name", "users": [Slack user IDs], "groups": [user group IDs],
//! "operations": [...], "organization" / "project" / "stack": globs as in routes}`. A request is
//! allowed when some rule names its user, or a user group the user is in, names its operation,
//! and matches its stack (every pattern the rule gives). No rule, no access. Every rule is
//! checked when read (the relay's start-up, and `pulumi up` through `infra`): an unknown field or
//! operation, an ID that is not a Slack user's or group's, a rule that names nobody… is an error
//! naming the rule, `rule "oncall" (chatops[1])`.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::Operation;
use crate::glob::Glob;
use crate::stack::StackRef;

/// The validated rules, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatopsRules {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    name: String,
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
    operations: BTreeSet<Operation>,
    organization: Option<Glob>,
    project: Option<Glob>,
    stack: Option<Glob>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: Option<String>,
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    operations: Vec<String>,
    organization: Option<String>,
    project: Option<String>,
    stack: Option<String>,
}

/// Why the rules are not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatopsRulesError {
    #[error("it is not JSON: {0}")]
    NotJson(String),
    #[error(
        "it must be a JSON array of rules, e.g. [{{\"name\": \"oncall\", \"users\": \
         [\"U0123ABCD\"], \"operations\": [\"status\", \"preview\"], \"stack\": \"*-prod\"}}]"
    )]
    NotArray,
    #[error("{rule}: {why}")]
    Rule { rule: RuleId, why: String },
}

pub use crate::rule_id::RuleId;

/// Slack IDs are an upper-case letter saying what they name, then upper-case letters and
/// digits: users `U…` (or `W…` on Enterprise Grid), user groups `S…`.
fn slack_id(id: &str, first: &[char]) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| first.contains(&c))
        && id.len() >= 3
        && id.len() <= 32
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

impl Rule {
    fn from_spec(index: usize, spec: RuleSpec) -> Result<Rule, String> {
        let name = match spec.name {
            Some(name) if name.trim().is_empty() => {
                return Err("`name` is empty; leave it out to call the rule by its index".into());
            }
            Some(name) => name,
            None => format!("chatops[{index}]"),
        };
        if let Some(user) = spec.users.iter().find(|u| !slack_id(u, &['U', 'W'])) {
            return Err(format!(
                "`users` has {user:?}, which is not a Slack user ID (U… or W…, as the user's \
                 profile shows under \"Copy member ID\"; names and @handles change, IDs do not)"
            ));
        }
        if let Some(group) = spec.groups.iter().find(|g| !slack_id(g, &['S'])) {
            return Err(format!(
                "`groups` has {group:?}, which is not a Slack user group ID (S…, from \
                 usergroups.list or the group's URL)"
            ));
        }
        if spec.users.is_empty() && spec.groups.is_empty() {
            return Err(
                "it names nobody: give `users` (Slack user IDs) or `groups` (user group IDs)"
                    .into(),
            );
        }
        if spec.operations.is_empty() {
            return Err("`operations` is empty, so it allows nothing".into());
        }
        let operations = spec
            .operations
            .iter()
            .map(|op| {
                Operation::parse(op).ok_or_else(|| {
                    format!(
                        "`operations` has {op:?}; the operations are status, preview, up, \
                         refresh and destroy"
                    )
                })
            })
            .collect::<Result<BTreeSet<_>, _>>()?;
        let glob = |field: &str, pattern: Option<String>| -> Result<Option<Glob>, String> {
            pattern
                .map(|p| Glob::new(&p).map_err(|why| format!("`{field}` {p:?} {why}")))
                .transpose()
        };
        Ok(Rule {
            name,
            users: spec.users.into_iter().collect(),
            groups: spec.groups.into_iter().collect(),
            operations,
            organization: glob("organization", spec.organization)?,
            project: glob("project", spec.project)?,
            stack: glob("stack", spec.stack)?,
        })
    }

    fn covers(&self, operation: Operation, stack: &StackRef) -> bool {
        let matches =
            |glob: &Option<Glob>, name: &str| glob.as_ref().is_none_or(|g| g.matches(name));
        self.operations.contains(&operation)
            && matches(&self.organization, &stack.organization)
            && matches(&self.project, &stack.project)
            && matches(&self.stack, &stack.stack)
    }
}

impl ChatopsRules {
    /// Parses and validates a JSON array of rules (the `CHATOPS` variable).
    pub fn parse(json: &str) -> Result<ChatopsRules, ChatopsRulesError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ChatopsRulesError::NotJson(e.to_string()))?;
        ChatopsRules::from_value(value)
    }

    /// Validates rules already parsed as JSON.
    pub fn from_value(value: serde_json::Value) -> Result<ChatopsRules, ChatopsRulesError> {
        let serde_json::Value::Array(items) = value else {
            return Err(ChatopsRulesError::NotArray);
        };
        let mut rules = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let id = RuleId::of("chatops", index, &item);
            let fail = |why: String| ChatopsRulesError::Rule {
                rule: id.clone(),
                why,
            };
            if !item.is_object() {
                return Err(fail("a rule must be a JSON object".into()));
            }
            let spec: RuleSpec = serde_json::from_value(item).map_err(|e| fail(e.to_string()))?;
            let rule = Rule::from_spec(index, spec).map_err(&fail)?;
            if rules.iter().any(|r: &Rule| r.name == rule.name) {
                return Err(fail(format!(
                    "another rule is also called {:?}: names say which rule allowed a request \
                     in the log, so they must differ",
                    rule.name
                )));
            }
            rules.push(rule);
        }
        Ok(ChatopsRules { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The one organization every rule is limited to, when they all name the same one without
    /// wildcards: then `project/stack` is enough to name a stack.
    pub fn single_organization(&self) -> Option<String> {
        let mut names = self
            .rules
            .iter()
            .map(|r| r.organization.as_ref().and_then(Glob::literal));
        let first = names.next()??;
        names
            .all(|n| n.as_deref() == Some(first.as_str()))
            .then_some(first)
    }

    /// The user groups whose members some rule would allow `operation` on `stack`: the only
    /// ones worth asking Slack about, and none when the user is allowed by name already.
    pub fn groups_to_check(&self, user: &str, operation: Operation, stack: &StackRef) -> Vec<&str> {
        if self.allowing(user, &[], operation, stack).is_some() {
            return Vec::new();
        }
        let mut groups: Vec<&str> = self
            .rules
            .iter()
            .filter(|r| r.covers(operation, stack))
            .flat_map(|r| r.groups.iter().map(String::as_str))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    /// The first rule allowing `user`, a member of `groups`, to run `operation` on `stack`;
    /// `None`: refused.
    pub fn allowing(
        &self,
        user: &str,
        groups: &[&str],
        operation: Operation,
        stack: &StackRef,
    ) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| {
                r.covers(operation, stack)
                    && (r.users.contains(user) || groups.iter().any(|g| r.groups.contains(*g)))
            })
            .map(|r| r.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(name: &str) -> StackRef {
        StackRef::parse(name, None).unwrap()
    }

    fn rules() -> ChatopsRules {
        ChatopsRules::parse(
            r#"[
              {"name": "devs", "users": ["U0DEV0001"], "operations": ["status", "preview", "refresh", "up"],
               "organization": "acme", "stack": "dev-*"},
              {"name": "oncall", "groups": ["S0ONCALL1"], "operations": ["status", "refresh", "up", "destroy"],
               "organization": "acme", "project": "web"}
            ]"#,
        )
        .unwrap()
    }

    #[test]
    fn a_named_user_may_run_the_rules_operations_on_matching_stacks() {
        let rules = rules();
        assert_eq!(
            rules.allowing("U0DEV0001", &[], Operation::Up, &stack("acme/api/dev-1")),
            Some("devs")
        );
    }

    #[test]
    fn another_user_is_refused() {
        assert_eq!(
            rules().allowing(
                "U0OTHER01",
                &[],
                Operation::Status,
                &stack("acme/api/dev-1")
            ),
            None
        );
    }

    #[test]
    fn a_stack_outside_the_glob_is_refused() {
        assert_eq!(
            rules().allowing("U0DEV0001", &[], Operation::Up, &stack("acme/api/prod")),
            None
        );
    }

    #[test]
    fn an_operation_the_rule_does_not_name_is_refused() {
        assert_eq!(
            rules().allowing(
                "U0DEV0001",
                &[],
                Operation::Destroy,
                &stack("acme/api/dev-1")
            ),
            None
        );
    }

    #[test]
    fn a_group_member_is_allowed_and_only_groups_that_could_allow_are_asked_about() {
        let rules = rules();
        let prod = stack("acme/web/prod");
        assert_eq!(
            rules.groups_to_check("U0OTHER01", Operation::Destroy, &prod),
            ["S0ONCALL1"]
        );
        assert_eq!(
            rules.allowing("U0OTHER01", &["S0ONCALL1"], Operation::Destroy, &prod),
            Some("oncall")
        );
        assert!(
            rules
                .groups_to_check("U0OTHER01", Operation::Preview, &prod)
                .is_empty(),
            "no rule lets a group preview web: nobody to ask about"
        );
        assert!(
            rules
                .groups_to_check("U0DEV0001", Operation::Up, &stack("acme/web/dev-2"))
                .is_empty(),
            "allowed by name: no lookup"
        );
    }

    #[test]
    fn no_rules_allow_nothing() {
        let rules = ChatopsRules::parse("[]").unwrap();
        assert!(rules.is_empty());
        assert_eq!(
            rules.allowing("U0DEV0001", &[], Operation::Status, &stack("a/b/c")),
            None
        );
    }

    #[test]
    fn one_literal_organization_lets_stacks_drop_it() {
        assert_eq!(rules().single_organization().as_deref(), Some("acme"));
        let open =
            ChatopsRules::parse(r#"[{"users": ["U0DEV0001"], "operations": ["status"]}]"#).unwrap();
        assert_eq!(open.single_organization(), None);
        let two = ChatopsRules::parse(
            r#"[{"users": ["U0DEV0001"], "operations": ["status"], "organization": "a"},
                {"users": ["U0DEV0001"], "operations": ["status"], "organization": "b"}]"#,
        )
        .unwrap();
        assert_eq!(two.single_organization(), None);
    }

    #[test]
    fn invalid_rules_are_named_with_what_is_wrong() {
        let err = |json: &str| ChatopsRules::parse(json).unwrap_err().to_string();
        assert!(err("{}").contains("JSON array"));
        assert_eq!(
            err(r#"[{"name": "x", "users": ["alice"], "operations": ["status"]}]"#),
            "rule \"x\" (chatops[0]): `users` has \"alice\", which is not a Slack user ID (U… or W…, as the user's profile shows under \"Copy member ID\"; names and @handles change, IDs do not)"
        );
        assert!(
            err(r#"[{"users": ["U0DEV0001"], "operations": ["deploy"]}]"#)
                .starts_with("rule chatops[0]: `operations` has \"deploy\"")
        );
        assert!(err(r#"[{"operations": ["status"]}]"#).contains("it names nobody"));
        assert!(err(r#"[{"users": ["U0DEV0001"], "operations": []}]"#).contains("allows nothing"));
        assert!(
            err(r#"[{"users": ["U0DEV0001"], "operations": ["up"], "stack": "a/b"}]"#)
                .contains("`stack` \"a/b\" has a `/`")
        );
        assert!(
            err(r#"[{"users": ["U0DEV0001"], "operations": ["up"], "channel": "ops"}]"#)
                .contains("unknown field `channel`")
        );
        assert!(
            err(r#"[{"groups": ["U0DEV0001"], "operations": ["up"]}]"#)
                .contains("not a Slack user group ID")
        );
        assert!(
            err(
                r#"[{"name": "a", "users": ["U0DEV0001"], "operations": ["up"]},
                {"name": "a", "users": ["U0DEV0002"], "operations": ["up"]}]"#
            )
            .contains("rule \"a\" (chatops[1]): another rule is also called \"a\"")
        );
    }
}

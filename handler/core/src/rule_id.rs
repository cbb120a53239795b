//! How the relay's two rule lists (`routes`, `chatops`) name a rule in their errors:
//! `rule "prod" (routes[2])`, or `rule chatops[1]` without a name.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleId {
    /// The list's name: `routes`, `chatops`.
    pub list: &'static str,
    pub index: usize,
    pub name: Option<String>,
}

impl RuleId {
    /// The rule `item` at `index` of `list`, named before its typed parse, so that even a rule
    /// that does not parse is named in the error.
    pub fn of(list: &'static str, index: usize, item: &serde_json::Value) -> RuleId {
        let name = item.get("name").and_then(|n| match n {
            serde_json::Value::String(name) => Some(name.clone()),
            // `pulumi config set --path` stores 2024 as a number.
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        });
        RuleId { list, index, name }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "rule {name:?} ({}[{}])", self.list, self.index),
            None => write!(f, "rule {}[{}]", self.list, self.index),
        }
    }
}

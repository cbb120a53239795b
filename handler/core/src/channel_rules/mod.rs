//! Routing: which Slack channel an event goes to, whom it notifies, or whether it is dropped.
//!
//! ChannelRules are an ordered list of rules, given as a JSON array (the `ROUTES` variable; `infra`
//! fills it from the stack's `routes` config and validates it with this same code at `pulumi up`).
//! A rule matches on the event's organization, project and stack (glob patterns with `*` and
//! `?`), its `Pulumi-Webhook-Kind` (`kinds`) and its outcome in Pulumi's filter names (`events`:
//! `update_failed`, `drift_detected` …; see [`Filter`]). All the conditions a rule gives must hold;
//! a rule without conditions matches everything. The first matching rule wins; when none does, the
//! message goes to the default channel (`SLACK_CHANNEL`) as if there were no routes.
//!
//! A matching rule either posts (to its `channel`, or the default one) with an optional
//! `mention` that is only added when the outcome is a failure ([`Filter::is_failure`]), or
//! `mute`s: the event is dropped on purpose, answered 200 and logged with the rule's name.
//!
//! Every rule is checked when the routes are read: an unknown field, kind or filter name, a
//! mention Slack would not notify, a pattern that can never match… is an error naming the rule
//! (`rule "prod" (routes[2])`), never a rule silently skipped.

mod rule;

use crate::event::{Event, Filters, Kind, Origin};
use rule::{Action, Rule, RuleSpec};

/// The validated routes, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelRules {
    rules: Vec<Rule>,
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// No rule matched (or there are no routes): the default channel, no mention.
    Default,
    /// A rule matched and says to post.
    Post {
        rule: &'a str,
        /// `None`: the default channel.
        channel: Option<&'a str>,
        /// Only present when the rule has one and the outcome is a failure.
        mention: Option<&'a str>,
    },
    /// A rule matched and says to drop the event.
    Mute { rule: &'a str },
}

impl Decision<'_> {
    /// The matching rule's name, if any.
    pub fn rule(&self) -> Option<&str> {
        match *self {
            Decision::Default => None,
            Decision::Post { rule, .. } | Decision::Mute { rule } => Some(rule),
        }
    }
}

/// Why the routes are not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelRulesError {
    #[error("it is not JSON: {0}")]
    NotJson(String),
    #[error(
        "it must be a JSON array of rules, e.g. [{{\"stack\": \"*-prod\", \"channel\": \"#prod-alerts\"}}]"
    )]
    NotArray,
    #[error("{rule}: {why}")]
    Rule { rule: RuleId, why: String },
}

pub use crate::rule_id::RuleId;

impl ChannelRules {
    /// Parses and validates a JSON array of rules (the `ROUTES` variable).
    pub fn parse(json: &str) -> Result<ChannelRules, ChannelRulesError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| ChannelRulesError::NotJson(e.to_string()))?;
        ChannelRules::from_value(value)
    }

    /// Validates rules already parsed as JSON.
    pub fn from_value(value: serde_json::Value) -> Result<ChannelRules, ChannelRulesError> {
        let serde_json::Value::Array(items) = value else {
            return Err(ChannelRulesError::NotArray);
        };
        let mut rules: Vec<Rule> = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let id = RuleId::of("routes", index, &item);
            let fail = |why: String| ChannelRulesError::Rule {
                rule: id.clone(),
                why,
            };
            if !item.is_object() {
                return Err(fail(format!(
                    "a rule must be a JSON object, not {}",
                    json_type(&item)
                )));
            }
            let spec: RuleSpec = serde_json::from_value(item).map_err(|e| fail(e.to_string()))?;
            let rule = Rule::from_spec(index, spec).map_err(fail)?;
            if let Some(earlier) = rules.iter().position(|r| r.name == rule.name) {
                return Err(fail(format!(
                    "the name {:?} is already used by routes[{earlier}]; names must be unique, \
                     since logs and muted answers report the rule by name",
                    rule.name
                )));
            }
            if let Some(catch_all) = rules.iter().find(|r| r.matches_everything()) {
                return Err(fail(format!(
                    "it can never match: the earlier rule {:?} has no conditions, so it takes \
                     every event first; put this rule before it",
                    catch_all.name
                )));
            }
            rules.push(rule);
        }
        Ok(ChannelRules { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The rules' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Chooses the route for `event`: the first rule that matches, else the default.
    pub fn decide(&self, event: &Event) -> Decision<'_> {
        if self.rules.is_empty() {
            return Decision::Default;
        }
        self.decide_for(&event.kind(), &event.origin(), event.filters())
    }

    /// [`ChannelRules::route`] from what the rules look at.
    pub fn decide_for(&self, kind: &Kind, origin: &Origin<'_>, filters: Filters) -> Decision<'_> {
        let Some(rule) = self.rules.iter().find(|r| r.matches(kind, origin, filters)) else {
            return Decision::Default;
        };
        match &rule.action {
            Action::Mute => Decision::Mute { rule: &rule.name },
            Action::Post { channel, mention } => Decision::Post {
                rule: &rule.name,
                channel: channel.as_deref(),
                mention: mention.as_deref().filter(|_| filters.is_failure()),
            },
        }
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{event, fixture};

    fn routes(json: &str) -> ChannelRules {
        ChannelRules::parse(json).unwrap_or_else(|e| panic!("{e}"))
    }

    // --- matching ---

    #[test]
    fn no_routes_is_the_default_route() {
        let routes = routes("[]");
        assert!(routes.is_empty());
        let update = fixture("stack_update", "stack_update-succeeded");
        assert_eq!(routes.decide(&update), Decision::Default);
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let routes = routes(
            r##"[
                {"name": "prod", "stack": "*-prod", "channel": "#prod"},
                {"name": "website", "project": "website", "channel": "#website"}
            ]"##,
        );
        let update = fixture("stack_update", "stack_update-succeeded"); // website/website-prod
        assert_eq!(
            routes.decide(&update),
            Decision::Post {
                rule: "prod",
                channel: Some("#prod"),
                mention: None
            }
        );
    }

    #[test]
    fn an_event_no_rule_matches_takes_the_default_route() {
        let routes = routes(r##"[{"stack": "*-dev", "channel": "#dev"}]"##);
        let update = fixture("stack_update", "stack_update-succeeded");
        assert_eq!(routes.decide(&update), Decision::Default);
    }

    #[test]
    fn every_condition_of_a_rule_must_hold() {
        let routes = routes(
            r##"[{"organization": "crazy-adventures", "project": "website", "stack": "website-prod",
                  "kinds": ["deployment"], "channel": "#deploys"}]"##,
        );
        let deployment = fixture("deployment", "deployment-succeeded");
        let update = fixture("stack_update", "stack_update-succeeded");
        assert_eq!(routes.decide(&deployment).rule(), Some("routes[0]"));
        assert_eq!(routes.decide(&update), Decision::Default, "kind differs");
    }

    #[test]
    fn events_match_any_of_the_event_filter_names() {
        let routes = routes(r##"[{"events": ["drift_detected"], "channel": "#drift"}]"##);
        let drifted = fixture("drift_detection", "drift_detection-drifted");
        let clean = fixture("drift_detection", "drift_detection-clean");
        assert_eq!(routes.decide(&drifted).rule(), Some("routes[0]"));
        assert_eq!(routes.decide(&clean), Decision::Default);
    }

    #[test]
    fn the_policy_violation_kind_matches_every_level() {
        let routes = routes(r##"[{"kinds": ["policy_violation"], "channel": "#policy"}]"##);
        for kind in [
            "policy_violation",
            "policy_violation_mandatory",
            "policy_violation_advisory",
        ] {
            let event = fixture(kind, "policy_violation-mandatory");
            assert_eq!(routes.decide(&event).rule(), Some("routes[0]"), "{kind}");
        }
    }

    #[test]
    fn a_pattern_never_matches_an_event_without_that_value() {
        let routes = routes(r##"[{"stack": "*", "channel": "#stacks"}]"##);
        assert_eq!(routes.decide(&fixture("ping", "ping")), Decision::Default);
        // ESC events have no stack; their environment name stands in for it.
        let env = fixture("environment", "environment-created");
        assert_eq!(routes.decide(&env).rule(), Some("routes[0]"));
    }

    #[test]
    fn the_mention_is_given_only_for_failures() {
        let routes = routes(r#"[{"name": "prod", "stack": "*-prod", "mention": "@here"}]"#);
        let failed = fixture("stack_update", "stack_update-destroy-failed");
        let succeeded = fixture("stack_update", "stack_update-succeeded");
        assert_eq!(
            routes.decide(&failed),
            Decision::Post {
                rule: "prod",
                channel: None,
                mention: Some("<!here>")
            }
        );
        assert_eq!(
            routes.decide(&succeeded),
            Decision::Post {
                rule: "prod",
                channel: None,
                mention: None
            }
        );
    }

    #[test]
    fn drift_counts_as_a_failure_for_mentions() {
        let routes = routes(r#"[{"mention": "<!subteam^S0123ABCD>"}]"#);
        let drifted = fixture("drift_detection", "drift_detection-drifted");
        let Decision::Post { mention, .. } = routes.decide(&drifted) else {
            panic!("posts");
        };
        assert_eq!(mention, Some("<!subteam^S0123ABCD>"));
    }

    #[test]
    fn a_muting_rule_mutes_by_name() {
        let routes = routes(
            r#"[{"name": "quiet dev previews", "stack": "dev-*", "kinds": ["stack_preview"], "mute": true}]"#,
        );
        let preview = event(
            "stack_preview",
            r#"{"stackName":"dev-eu","kind":"update","result":"succeeded"}"#,
        );
        assert_eq!(
            routes.decide(&preview),
            Decision::Mute {
                rule: "quiet dev previews"
            }
        );
    }
}

//! Routing: which Slack channel an event goes to, whom it notifies, or whether it is dropped.
//!
//! Routes are an ordered list of rules, given as a JSON array (the `ROUTES` variable; `infra`
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

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::event::{Event, Filter, Filters, Kind, Origin};

/// The validated routes, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    rules: Vec<Rule>,
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The given `name`, or `routes[i]`: used in errors, logs and the muted answer.
    name: String,
    organization: Option<Glob>,
    project: Option<Glob>,
    stack: Option<Glob>,
    kinds: Option<Vec<Kind>>,
    events: Option<Vec<Filter>>,
    action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    /// `channel` `None` is the default channel; `mention` is Slack's `<!here>`-style text.
    Post {
        channel: Option<String>,
        mention: Option<String>,
    },
    Mute,
}

/// What to do with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
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

impl Route<'_> {
    /// The matching rule's name, if any.
    pub fn rule(&self) -> Option<&str> {
        match *self {
            Route::Default => None,
            Route::Post { rule, .. } | Route::Mute { rule } => Some(rule),
        }
    }
}

/// Why the routes are not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    #[error("it is not JSON: {0}")]
    NotJson(String),
    #[error(
        "it must be a JSON array of rules, e.g. [{{\"stack\": \"*-prod\", \"channel\": \"#prod-alerts\"}}]"
    )]
    NotArray,
    #[error("{rule}: {why}")]
    Rule { rule: RuleId, why: String },
}

/// Names a rule in errors: `rule "prod-failures" (routes[2])`, or `rule routes[2]` without a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleId {
    pub index: usize,
    pub name: Option<String>,
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "rule {name:?} (routes[{}])", self.index),
            None => write!(f, "rule routes[{}]", self.index),
        }
    }
}

/// A rule as written. Unknown fields are refused so that a typo (`chanel`) is an error rather
/// than a rule that quietly posts to the default channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    organization: Option<String>,
    #[serde(default, deserialize_with = "text")]
    project: Option<String>,
    #[serde(default, deserialize_with = "text")]
    stack: Option<String>,
    kinds: Option<Vec<String>>,
    events: Option<Vec<String>>,
    channel: Option<String>,
    mention: Option<String>,
    mute: Option<bool>,
}

/// A string, or a number taken as its digits: `pulumi config set --path 'routes[0].stack' 2024`
/// stores `2024` as a number (pulumi/pulumi#5442), which is still meant as the name "2024".
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Text>::deserialize(deserializer)?.map(|t| t.0))
}

struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl serde::de::Visitor<'_> for TextVisitor {
    type Value = Text;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text(v.to_owned()))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Text, E> {
        Ok(Text(v.to_string()))
    }
}

impl Routes {
    /// Parses and validates a JSON array of rules (the `ROUTES` variable).
    pub fn parse(json: &str) -> Result<Routes, RoutesError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| RoutesError::NotJson(e.to_string()))?;
        Routes::from_value(value)
    }

    /// Validates rules already parsed as JSON.
    pub fn from_value(value: serde_json::Value) -> Result<Routes, RoutesError> {
        let serde_json::Value::Array(items) = value else {
            return Err(RoutesError::NotArray);
        };
        let mut rules: Vec<Rule> = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            // The name is read before the typed parse, so that even a rule that does not parse
            // is named in the error.
            let given_name = item.get("name").and_then(|n| match n {
                serde_json::Value::String(name) => Some(name.clone()),
                // As the typed parse reads it (`text`): `--path` stores 2024 as a number.
                serde_json::Value::Number(number) => Some(number.to_string()),
                _ => None,
            });
            let id = RuleId {
                index,
                name: given_name,
            };
            let fail = |why: String| RoutesError::Rule {
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
        Ok(Routes { rules })
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
    pub fn route(&self, event: &Event) -> Route<'_> {
        if self.rules.is_empty() {
            return Route::Default;
        }
        self.route_for(&event.kind(), &event.origin(), event.filters())
    }

    /// [`Routes::route`] from what the rules look at.
    pub fn route_for(&self, kind: &Kind, origin: &Origin<'_>, filters: Filters) -> Route<'_> {
        let Some(rule) = self.rules.iter().find(|r| r.matches(kind, origin, filters)) else {
            return Route::Default;
        };
        match &rule.action {
            Action::Mute => Route::Mute { rule: &rule.name },
            Action::Post { channel, mention } => Route::Post {
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

impl Rule {
    fn from_spec(index: usize, spec: RuleSpec) -> Result<Rule, String> {
        let name = match spec.name {
            Some(name) if name.trim().is_empty() => {
                return Err("`name` is empty; leave it out to call the rule by its index".into());
            }
            Some(name) => name,
            None => format!("routes[{index}]"),
        };
        let glob = |field: &str, pattern: Option<String>| -> Result<Option<Glob>, String> {
            pattern
                .map(|p| Glob::new(&p).map_err(|why| format!("`{field}` {p:?} {why}")))
                .transpose()
        };
        let organization = glob("organization", spec.organization)?;
        let project = glob("project", spec.project)?;
        let stack = glob("stack", spec.stack)?;
        let kinds = spec.kinds.map(parse_kinds).transpose()?;
        let events = spec.events.map(parse_events).transpose()?;
        if let (Some(kinds), Some(events)) = (&kinds, &events) {
            // Both must hold, so an event name of another kind makes the rule dead.
            if let Some(filter) = events
                .iter()
                .find(|f| !kinds.iter().any(|k| can_carry(k, **f)))
            {
                return Err(format!(
                    "it can never match: `events` has {filter}, which comes with kind {}, \
                     but `kinds` only allows {}",
                    filter.kind(),
                    kinds
                        .iter()
                        .map(Kind::as_str)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        let action = match (spec.mute, spec.channel, spec.mention) {
            (Some(true), None, None) => Action::Mute,
            (Some(true), _, _) => {
                return Err(
                    "`mute: true` drops the event, so it cannot have a `channel` or \
                            `mention` too"
                        .into(),
                );
            }
            (_, None, None) => {
                return Err(
                    "the rule does nothing: give it a `channel`, a `mention`, or \
                            `mute: true`"
                        .into(),
                );
            }
            (_, channel, mention) => {
                if mention.is_some() && !can_fail(kinds.as_deref(), events.as_deref()) {
                    return Err(
                        "`mention` is only added to failures, and this rule matches no failure \
                         (see which filter names are failures in the README); leave it out or \
                         widen `kinds` / `events`"
                            .into(),
                    );
                }
                Action::Post {
                    channel: channel.map(check_channel).transpose()?,
                    mention: mention.as_deref().map(parse_mention).transpose()?,
                }
            }
        };
        Ok(Rule {
            name,
            organization,
            project,
            stack,
            kinds,
            events,
            action,
        })
    }

    /// A rule without conditions: every event stops here.
    fn matches_everything(&self) -> bool {
        self.organization.is_none()
            && self.project.is_none()
            && self.stack.is_none()
            && self.kinds.is_none()
            && self.events.is_none()
    }

    fn matches(&self, kind: &Kind, origin: &Origin<'_>, filters: Filters) -> bool {
        // A pattern only matches a value the event has: a `stack` rule never matches a ping.
        let glob = |glob: &Option<Glob>, value: Option<&str>| match glob {
            None => true,
            Some(glob) => value.is_some_and(|v| glob.matches(v)),
        };
        glob(&self.organization, origin.organization)
            && glob(&self.project, origin.project)
            && glob(&self.stack, origin.stack)
            && self
                .kinds
                .as_ref()
                .is_none_or(|kinds| kinds.iter().any(|k| kind_matches(k, kind)))
            && self
                .events
                .as_ref()
                .is_none_or(|events| events.iter().any(|f| filters.contains(*f)))
    }
}

/// `policy_violation` in a rule also matches deliveries whose kind says the level
/// (`policy_violation_mandatory` / `_advisory`); every other kind matches only itself.
fn kind_matches(rule: &Kind, event: &Kind) -> bool {
    rule == event
        || (*rule == Kind::PolicyViolation(None) && matches!(event, Kind::PolicyViolation(_)))
}

/// Whether an event matching `kinds` and `events` can be a failure, which a mention needs.
fn can_fail(kinds: Option<&[Kind]>, events: Option<&[Filter]>) -> bool {
    let candidates: Vec<Filter> = match events {
        Some(events) => events.to_vec(),
        None => Filter::ALL.to_vec(),
    };
    candidates
        .iter()
        .any(|f| f.is_failure() && kinds.is_none_or(|kinds| kinds.iter().any(|k| can_carry(k, *f))))
}

/// Whether a delivery of kind `kind` can have the filter name `filter`. A level-specific policy
/// kind (`policy_violation_advisory`) only carries its own level's name, which is the kind's name.
fn can_carry(kind: &Kind, filter: Filter) -> bool {
    match kind {
        Kind::PolicyViolation(Some(_)) => filter.as_str() == kind.as_str(),
        Kind::PolicyViolation(None) => matches!(filter.kind(), Kind::PolicyViolation(_)),
        _ => *kind == filter.kind(),
    }
}

fn parse_kinds(names: Vec<String>) -> Result<Vec<Kind>, String> {
    let parse = |name: &str| match Kind::parse(name) {
        Kind::Unknown(_) => None,
        kind => Some(kind),
    };
    parse_list(
        &names,
        "kinds",
        "kind",
        parse,
        "Pulumi webhook kind; valid kinds",
        || Kind::NAMES.join(", "),
    )
}

fn parse_events(names: Vec<String>) -> Result<Vec<Filter>, String> {
    let valid = || {
        let names: Vec<&str> = Filter::ALL.iter().map(|f| f.as_str()).collect();
        names.join(", ")
    };
    parse_list(
        &names,
        "events",
        "event",
        Filter::parse,
        "Pulumi webhook filter name; valid names",
        valid,
    )
}

/// A non-empty list field (`kinds`, `events`) whose every name `parse` knows; an unknown name is
/// refused as not being `what`, listing the `valid` ones.
fn parse_list<T>(
    names: &[String],
    field: &str,
    each: &str,
    parse: impl Fn(&str) -> Option<T>,
    what: &str,
    valid: impl Fn() -> String,
) -> Result<Vec<T>, String> {
    if names.is_empty() {
        return Err(format!(
            "`{field}` is empty, so the rule could never match; leave it out to match every {each}"
        ));
    }
    names
        .iter()
        .map(|name| {
            parse(name).ok_or_else(|| {
                format!("`{field}` has {name:?}, which is not a {what}: {}", valid())
            })
        })
        .collect()
}

fn check_channel(channel: String) -> Result<String, String> {
    if channel.trim().is_empty() || channel.chars().any(char::is_whitespace) {
        return Err(format!(
            "`channel` {channel:?} is not a Slack channel: use a name such as #ops or an ID \
             such as C0123456789"
        ));
    }
    Ok(channel)
}

/// Checks a `mention` and returns it as Slack's mrkdwn, which is what notifies: `@here` is
/// `<!here>`, a user group is `<!subteam^S…>`, a user `<@U…>`. Several may be given, separated
/// by spaces. A bare handle such as `@oncall` is refused: Slack would show it as plain text and
/// notify no one.
fn parse_mention(text: &str) -> Result<String, String> {
    let hint = "use @here, @channel, <!subteam^S…> (a user group, by ID) or <@U…> (a user, by ID)";
    let mut out = Vec::new();
    for token in text.split_whitespace() {
        let ok = match token {
            "@here" | "<!here>" => "<!here>".to_owned(),
            "@channel" | "<!channel>" => "<!channel>".to_owned(),
            _ => {
                let id = |prefix: &str, first: &[char]| {
                    token
                        .strip_prefix(prefix)
                        .and_then(|t| t.strip_suffix('>'))
                        .filter(|id| slack_id(id, first))
                        .is_some()
                };
                if id("<!subteam^", &['S']) || id("<@", &['U', 'W']) {
                    token.to_owned()
                } else {
                    return Err(format!(
                        "`mention` {token:?} would not notify anyone in Slack: {hint}"
                    ));
                }
            }
        };
        out.push(ok);
    }
    if out.is_empty() {
        return Err(format!("`mention` is empty: {hint}"));
    }
    Ok(out.join(" "))
}

/// A Slack ID: one of `first`, then upper-case letters and digits.
fn slack_id(id: &str, first: &[char]) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| first.contains(&c))
        && id.len() > 1
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// A name pattern: `*` matches any run of characters (also none), `?` exactly one, everything
/// else itself, case-sensitively (Pulumi names are).
///
/// Hand-written rather than a crate: `globset` builds on `regex-automata`, which would add to the
/// Lambda zip for two wildcards, and `glob-match`'s path rules (`/`, `**`, `[…]`, `{…}`) mean
/// nothing for Pulumi names. Matching is the classic two-pointer wildcard walk, linear in practice
/// and at worst pattern × name steps, with no recursion.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Glob(Vec<char>);

impl Glob {
    fn new(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("is empty; leave the field out to match any value".into());
        }
        if pattern.contains('/') {
            return Err(
                "has a `/`: organization, project and stack are matched separately, \
                        so give each its own field"
                    .into(),
            );
        }
        if pattern.contains(['[', ']', '{', '}']) {
            return Err("uses […] or {…}: only * and ? are wildcards".into());
        }
        if pattern.trim() != pattern {
            return Err("starts or ends with a space, which no Pulumi name does".into());
        }
        // Organization, project, stack and ESC names are letters, digits, `-`, `_` and `.`.
        if let Some(c) = pattern
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '*' | '?')))
        {
            return Err(format!(
                "has {c:?}, which no Pulumi organization, project or stack name contains, so \
                 it can never match"
            ));
        }
        Ok(Glob(pattern.chars().collect()))
    }

    fn matches(&self, text: &str) -> bool {
        let pattern = &self.0;
        let (mut p, mut t) = (0, 0); // pattern index, text byte offset
        // Where the last `*` was, and how much text it has swallowed so far.
        let mut star: Option<(usize, usize)> = None;
        loop {
            let next = text[t..].chars().next();
            match (pattern.get(p), next) {
                (Some('*'), _) => {
                    p += 1;
                    star = Some((p, t));
                    continue;
                }
                (Some('?'), Some(c)) => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                (Some(&want), Some(c)) if want == c => {
                    p += 1;
                    t += c.len_utf8();
                    continue;
                }
                (None, None) => return true,
                _ => {}
            }
            // A mismatch: let the last `*` swallow one more character, or fail.
            let Some((after_star, swallowed)) = star else {
                return false;
            };
            let Some(c) = text[swallowed..].chars().next() else {
                return false;
            };
            star = Some((after_star, swallowed + c.len_utf8()));
            p = after_star;
            t = swallowed + c.len_utf8();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(json: &str) -> Routes {
        Routes::parse(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(json: &str) -> String {
        Routes::parse(json).unwrap_err().to_string()
    }

    /// A fixture from `tests/fixtures`, parsed as a delivery of `kind`.
    fn fixture(kind: &str, name: &str) -> Event {
        let path = format!(
            "{}/../../tests/fixtures/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let body = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Event::parse(Kind::parse(kind), &body).expect("fixtures are JSON")
    }

    fn event(kind: &str, json: &str) -> Event {
        Event::parse(Kind::parse(kind), json.as_bytes()).unwrap()
    }

    fn filter_names(event: &Event) -> Vec<&'static str> {
        event.filters().iter().map(Filter::as_str).collect()
    }

    // --- rules that could never do what they say are refused ---

    #[test]
    fn a_rule_after_a_catch_all_is_refused_because_it_is_unreachable() {
        let e = error(
            r##"[{"name": "all", "channel": "#ops"}, {"name": "prod", "stack": "*-prod", "channel": "#p"}]"##,
        );
        assert!(
            e.starts_with("rule \"prod\" (routes[1]): it can never match"),
            "{e}"
        );
        assert!(e.contains("\"all\""), "{e}");
    }

    #[test]
    fn a_level_specific_policy_kind_with_the_other_levels_event_is_refused() {
        let e = error(
            r##"[{"kinds": ["policy_violation_advisory"], "events": ["policy_violation_mandatory"], "channel": "#p"}]"##,
        );
        assert!(e.contains("it can never match"), "{e}");
        // The plain kind carries either level.
        routes(
            r##"[{"kinds": ["policy_violation"], "events": ["policy_violation_mandatory"], "channel": "#p"}]"##,
        );
    }

    #[test]
    fn a_mention_on_a_rule_that_matches_no_failure_is_refused() {
        let e = error(r##"[{"events": ["update_succeeded"], "mention": "@here"}]"##);
        assert!(e.contains("`mention` is only added to failures"), "{e}");
        let e = error(r##"[{"kinds": ["ping"], "mention": "@here"}]"##);
        assert!(e.contains("`mention` is only added to failures"), "{e}");
        routes(r##"[{"kinds": ["stack_update"], "mention": "@here"}]"##);
    }

    #[test]
    fn a_numeric_name_is_reported_as_written_even_when_the_rule_is_refused() {
        let e = error(r##"[{"name": 2024, "chanel": "#ops"}]"##);
        assert!(e.starts_with("rule \"2024\" (routes[0])"), "{e}");
    }

    #[test]
    fn a_pattern_with_a_character_no_pulumi_name_has_is_refused() {
        let e = error(r##"[{"stack": "#prod", "channel": "#p"}]"##);
        assert!(e.contains("`stack` \"#prod\" has '#'"), "{e}");
        routes(r##"[{"project": "web.v2_*", "stack": "eu-?", "channel": "#p"}]"##);
    }

    // --- outcomes: Pulumi's filter names, derived from the typed event ---

    #[test]
    fn a_failed_update_with_an_odd_field_is_still_a_failure() {
        // `resourceChanges` is not a map of counts: the body is relayed as JSON (Event::Other),
        // but its result still decides the filter name, and so the route and its mention.
        let odd = event(
            "stack_update",
            r#"{"stackName": "web-prod", "kind": "destroy", "result": "failed", "resourceChanges": "many"}"#,
        );
        assert!(matches!(odd, Event::Other(_)), "{odd:?}");
        assert_eq!(filter_names(&odd), ["destroy_failed"]);
        let deployment = event("deployment", r#"{"status": "failed", "version": "seven"}"#);
        assert_eq!(filter_names(&deployment), ["deployment_failed"]);
    }

    #[test]
    fn stack_updates_are_named_by_operation_and_result() {
        let cases = [
            (
                r#"{"kind":"update","result":"succeeded"}"#,
                "update_succeeded",
            ),
            (r#"{"kind":"update","result":"failed"}"#, "update_failed"),
            (r#"{"result":"failed"}"#, "update_failed"),
            (
                r#"{"kind":"destroy","result":"succeeded"}"#,
                "destroy_succeeded",
            ),
            (r#"{"kind":"refresh","result":"failed"}"#, "refresh_failed"),
            (
                r#"{"kind":"import","result":"succeeded"}"#,
                "import_succeeded",
            ),
            (
                r#"{"kind":"resource-import","result":"failed"}"#,
                "import_failed",
            ),
            (
                r#"{"kind":"update","result":"failed","isPreview":true}"#,
                "preview_failed",
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(
                filter_names(&event("stack_update", json)),
                [expected],
                "{json}"
            );
        }
        assert_eq!(
            filter_names(&fixture("stack_update", "stack_update-destroy-failed")),
            ["destroy_failed"]
        );
    }

    #[test]
    fn previews_are_preview_filters_whatever_operation_was_previewed() {
        assert_eq!(
            filter_names(&fixture("stack_preview", "stack_preview-succeeded")),
            ["preview_succeeded"]
        );
        let destroy = event("stack_preview", r#"{"kind":"destroy","result":"failed"}"#);
        assert_eq!(filter_names(&destroy), ["preview_failed"]);
    }

    #[test]
    fn an_unfinished_or_unknown_update_has_no_filter_name() {
        for json in [
            r#"{"kind":"update","result":"in-progress"}"#,
            r#"{"kind":"rename","result":"succeeded"}"#,
            r#"{"kind":"update"}"#,
        ] {
            assert!(
                filter_names(&event("stack_update", json)).is_empty(),
                "{json}"
            );
        }
    }

    #[test]
    fn deployments_are_named_by_status() {
        for (fixture_name, expected) in [
            ("deployment-queued", "deployment_queued"),
            ("deployment-running", "deployment_started"),
            ("deployment-succeeded", "deployment_succeeded"),
            ("deployment-failed", "deployment_failed"),
        ] {
            assert_eq!(
                filter_names(&fixture("deployment", fixture_name)),
                [expected]
            );
        }
        let accepted = event("deployment", r#"{"status":"accepted"}"#);
        assert_eq!(filter_names(&accepted), ["deployment_queued"]);
    }

    #[test]
    fn a_drift_run_that_found_drift_is_drift_detected_and_succeeded() {
        assert_eq!(
            filter_names(&fixture("drift_detection", "drift_detection-drifted")),
            ["drift_detected", "drift_detection_succeeded"]
        );
        assert_eq!(
            filter_names(&fixture("drift_detection", "drift_detection-clean")),
            ["drift_detection_succeeded"]
        );
        let failed = event("drift_detection", r#"{"status":"failed"}"#);
        assert_eq!(filter_names(&failed), ["drift_detection_failed"]);
    }

    #[test]
    fn drift_remediations_are_named_by_status() {
        assert_eq!(
            filter_names(&fixture("drift_remediation", "drift_remediation-failed")),
            ["drift_remediation_failed"]
        );
    }

    #[test]
    fn policy_violations_are_named_by_the_level_in_their_kind() {
        let body = "policy_violation-mandatory";
        assert_eq!(
            filter_names(&fixture("policy_violation_mandatory", body)),
            ["policy_violation_mandatory"]
        );
        assert_eq!(
            filter_names(&fixture("policy_violation_advisory", body)),
            ["policy_violation_advisory"]
        );
        // The documented kind does not say the level, and neither does any documented field.
        assert!(filter_names(&fixture("policy_violation", body)).is_empty());
    }

    #[test]
    fn stack_and_environment_events_are_named_by_their_action() {
        for (kind, fixture_name, expected) in [
            ("stack", "stack-created", "stack_created"),
            ("stack", "stack-deleted", "stack_deleted"),
            ("environment", "environment-created", "environment_created"),
            (
                "environment_revision",
                "environment_revision-created",
                "environment_revision_created",
            ),
            (
                "environment_revision_tag",
                "environment_revision_tag-created",
                "environment_revision_tag_created",
            ),
            (
                "environment_tag",
                "environment_tag-deleted",
                "environment_tag_deleted",
            ),
            (
                "imported_environment_changed",
                "imported_environment_changed",
                "imported_environment_changed",
            ),
        ] {
            assert_eq!(filter_names(&fixture(kind, fixture_name)), [expected]);
        }
    }

    #[test]
    fn pings_teams_and_unknown_kinds_have_no_filter_name() {
        assert!(filter_names(&fixture("ping", "ping")).is_empty());
        assert!(filter_names(&fixture("team", "team-updated")).is_empty());
        assert!(filter_names(&fixture("change_request", "unknown-kind")).is_empty());
    }

    #[test]
    fn every_filter_name_round_trips_and_belongs_to_a_known_kind() {
        for filter in Filter::ALL {
            assert_eq!(Filter::parse(filter.as_str()), Some(*filter));
            assert!(Kind::NAMES.contains(&filter.kind().as_str()), "{filter}");
        }
    }

    #[test]
    fn failures_are_failed_outcomes_drift_and_mandatory_violations() {
        let failures: Vec<&str> = Filter::ALL
            .iter()
            .filter(|f| f.is_failure())
            .map(|f| f.as_str())
            .collect();
        assert_eq!(
            failures,
            [
                "preview_failed",
                "update_failed",
                "destroy_failed",
                "refresh_failed",
                "import_failed",
                "deployment_failed",
                "drift_detected",
                "drift_detection_failed",
                "drift_remediation_failed",
                "policy_violation_mandatory",
            ]
        );
    }

    // --- matching ---

    #[test]
    fn no_routes_is_the_default_route() {
        let routes = routes("[]");
        assert!(routes.is_empty());
        let update = fixture("stack_update", "stack_update-succeeded");
        assert_eq!(routes.route(&update), Route::Default);
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
            routes.route(&update),
            Route::Post {
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
        assert_eq!(routes.route(&update), Route::Default);
    }

    #[test]
    fn every_condition_of_a_rule_must_hold() {
        let routes = routes(
            r##"[{"organization": "crazy-adventures", "project": "website", "stack": "website-prod",
                  "kinds": ["deployment"], "channel": "#deploys"}]"##,
        );
        let deployment = fixture("deployment", "deployment-succeeded");
        let update = fixture("stack_update", "stack_update-succeeded");
        assert_eq!(routes.route(&deployment).rule(), Some("routes[0]"));
        assert_eq!(routes.route(&update), Route::Default, "kind differs");
    }

    #[test]
    fn events_match_any_of_the_event_filter_names() {
        let routes = routes(r##"[{"events": ["drift_detected"], "channel": "#drift"}]"##);
        let drifted = fixture("drift_detection", "drift_detection-drifted");
        let clean = fixture("drift_detection", "drift_detection-clean");
        assert_eq!(routes.route(&drifted).rule(), Some("routes[0]"));
        assert_eq!(routes.route(&clean), Route::Default);
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
            assert_eq!(routes.route(&event).rule(), Some("routes[0]"), "{kind}");
        }
    }

    #[test]
    fn a_pattern_never_matches_an_event_without_that_value() {
        let routes = routes(r##"[{"stack": "*", "channel": "#stacks"}]"##);
        assert_eq!(routes.route(&fixture("ping", "ping")), Route::Default);
        // ESC events have no stack; their environment name stands in for it.
        let env = fixture("environment", "environment-created");
        assert_eq!(routes.route(&env).rule(), Some("routes[0]"));
    }

    #[test]
    fn globs_match_star_and_question_mark_and_nothing_else() {
        let glob = |p: &str| Glob::new(p).unwrap();
        assert!(glob("*").matches("anything"));
        assert!(glob("*").matches(""));
        assert!(glob("dev-*").matches("dev-"));
        assert!(glob("dev-*").matches("dev-eu-1"));
        assert!(!glob("dev-*").matches("prod-dev-1"));
        assert!(glob("*-prod").matches("website-prod"));
        assert!(!glob("*-prod").matches("website-prod-2"));
        assert!(glob("*-prod*").matches("website-prod-2"));
        assert!(glob("web?ite").matches("website"));
        assert!(!glob("web?ite").matches("webite"));
        assert!(glob("a*b*c").matches("a-b-b-c"));
        assert!(!glob("a*b*c").matches("a-c-b"));
        assert!(
            glob("прод-?").matches("прод-🌍"),
            "? is one character, not one byte"
        );
        assert!(!glob("Prod").matches("prod"), "case-sensitive");
        assert!(glob("a.b").matches("a.b") && !glob("a.b").matches("axb"));
    }

    #[test]
    fn matching_a_long_name_against_many_stars_stays_fast() {
        let name = "a".repeat(10_000);
        let pattern = format!("{}b", "*a".repeat(50));
        assert!(!Glob::new(&pattern).unwrap().matches(&name));
    }

    #[test]
    fn the_mention_is_given_only_for_failures() {
        let routes = routes(r#"[{"name": "prod", "stack": "*-prod", "mention": "@here"}]"#);
        let failed = fixture("stack_update", "stack_update-destroy-failed");
        let succeeded = fixture("stack_update", "stack_update-succeeded");
        assert_eq!(
            routes.route(&failed),
            Route::Post {
                rule: "prod",
                channel: None,
                mention: Some("<!here>")
            }
        );
        assert_eq!(
            routes.route(&succeeded),
            Route::Post {
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
        let Route::Post { mention, .. } = routes.route(&drifted) else {
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
            routes.route(&preview),
            Route::Mute {
                rule: "quiet dev previews"
            }
        );
    }

    #[test]
    fn mentions_are_written_as_slack_notifies() {
        let mention = |m: &str| parse_mention(m).unwrap();
        assert_eq!(mention("@here"), "<!here>");
        assert_eq!(mention("@channel"), "<!channel>");
        assert_eq!(mention("<!subteam^S0ONCALL1>"), "<!subteam^S0ONCALL1>");
        assert_eq!(mention("<@U024BE7LH> <@W0AB12>"), "<@U024BE7LH> <@W0AB12>");
    }

    #[test]
    fn numbers_from_pulumi_config_paths_are_names() {
        // `pulumi config set --path 'routes[0].stack' 2024` stores a number.
        let routes = routes(r##"[{"stack": 2024, "channel": "#y"}]"##);
        let update = event("stack_update", r#"{"stackName":"2024","result":"failed"}"#);
        assert_eq!(routes.route(&update).rule(), Some("routes[0]"));
    }

    // --- validation: every error names the rule ---

    #[test]
    fn routes_must_be_a_json_array() {
        assert!(error("{").starts_with("it is not JSON"));
        assert!(error(r##"{"channel": "#a"}"##).starts_with("it must be a JSON array"));
    }

    #[test]
    fn a_rule_that_is_not_an_object_is_named_by_index() {
        assert_eq!(
            error(r##"[{"channel": "#a"}, "#b"]"##),
            "rule routes[1]: a rule must be a JSON object, not a string"
        );
    }

    #[test]
    fn an_unknown_field_names_the_rule_and_the_field() {
        let err = error(r##"[{"name": "prod", "chanel": "#prod"}]"##);
        assert!(
            err.starts_with(r#"rule "prod" (routes[0]): unknown field `chanel`"#),
            "{err}"
        );
    }

    #[test]
    fn a_wrongly_typed_field_names_the_rule() {
        let err = error(r##"[{"name": "prod", "events": "update_failed", "channel": "#a"}]"##);
        assert!(
            err.starts_with(r#"rule "prod" (routes[0]): invalid type: string"#),
            "{err}"
        );
    }

    #[test]
    fn an_unknown_event_name_names_the_rule_and_lists_the_valid_ones() {
        let err = error(r##"[{"name": "fails", "events": ["update_failure"], "channel": "#a"}]"##);
        assert!(
            err.starts_with(
                r#"rule "fails" (routes[0]): `events` has "update_failure", which is not a Pulumi webhook filter name; valid names: stack_created, stack_deleted,"#
            ),
            "{err}"
        );
        assert!(err.contains("update_failed") && err.contains("drift_detected"));
    }

    #[test]
    fn an_unknown_kind_names_the_rule_and_lists_the_valid_ones() {
        let err = error(r##"[{"kinds": ["stack-update"], "channel": "#a"}]"##);
        assert!(
            err.starts_with(r#"rule routes[0]: `kinds` has "stack-update", which is not a Pulumi webhook kind; valid kinds: stack, team, stack_update,"#),
            "{err}"
        );
    }

    #[test]
    fn events_of_another_kind_than_the_rule_allows_are_refused() {
        let err = error(
            r##"[{"name": "x", "kinds": ["deployment"], "events": ["update_failed"], "channel": "#a"}]"##,
        );
        assert_eq!(
            err,
            r#"rule "x" (routes[0]): it can never match: `events` has update_failed, which comes with kind stack_update, but `kinds` only allows deployment"#
        );
    }

    #[test]
    fn empty_lists_are_refused() {
        assert!(error(r##"[{"kinds": [], "channel": "#a"}]"##).contains("`kinds` is empty"));
        assert!(error(r##"[{"events": [], "channel": "#a"}]"##).contains("`events` is empty"));
    }

    #[test]
    fn a_rule_that_does_nothing_is_refused() {
        assert_eq!(
            error(r#"[{"name": "prod", "stack": "*-prod"}]"#),
            r#"rule "prod" (routes[0]): the rule does nothing: give it a `channel`, a `mention`, or `mute: true`"#
        );
        assert!(error(r#"[{"stack": "*-prod", "mute": false}]"#).contains("the rule does nothing"));
    }

    #[test]
    fn mute_cannot_be_combined_with_channel_or_mention() {
        for rule in [
            r##"{"name": "m", "mute": true, "channel": "#a"}"##,
            r#"{"name": "m", "mute": true, "mention": "@here"}"#,
        ] {
            let err = error(&format!("[{rule}]"));
            assert!(
                err.starts_with(r#"rule "m" (routes[0]): `mute: true` drops the event"#),
                "{err}"
            );
        }
    }

    #[test]
    fn a_mention_slack_would_not_notify_is_refused() {
        for bad in [
            "@oncall",
            "oncall",
            "<!subteam^oncall>",
            "<@u123>",
            "<#C123>",
            " ",
        ] {
            let json = serde_json::json!([{"name": "pager", "mention": bad}]).to_string();
            let err = error(&json);
            assert!(
                err.starts_with(r#"rule "pager" (routes[0]): `mention` "#),
                "{bad}: {err}"
            );
            assert!(err.contains("<!subteam^S…>"), "{err}");
        }
    }

    #[test]
    fn a_channel_with_spaces_is_refused() {
        let err = error(r#"[{"name": "c", "channel": "prod alerts"}]"#);
        assert!(
            err.starts_with(
                r#"rule "c" (routes[0]): `channel` "prod alerts" is not a Slack channel"#
            ),
            "{err}"
        );
    }

    #[test]
    fn patterns_that_could_never_match_a_pulumi_name_are_refused() {
        for (pattern, why) in [
            ("", "is empty"),
            ("acme/website/prod", "has a `/`"),
            ("prod-[ab]", "uses […] or {…}: only * and ? are wildcards"),
            ("{dev,prod}", "uses […] or {…}"),
            (" prod", "starts or ends with a space"),
        ] {
            let json = serde_json::json!([{"name": "p", "stack": pattern, "channel": "#a"}]);
            let err = error(&json.to_string());
            assert!(
                err.starts_with(&format!(
                    r#"rule "p" (routes[0]): `stack` {pattern:?} {why}"#
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn names_must_be_unique_and_not_empty() {
        let err = error(r##"[{"name": "a", "channel": "#a"}, {"name": "a", "channel": "#b"}]"##);
        assert!(
            err.starts_with(r#"rule "a" (routes[1]): the name "a" is already used by routes[0]"#),
            "{err}"
        );
        assert!(error(r##"[{"name": "", "channel": "#a"}]"##).contains("`name` is empty"));
    }

    #[test]
    fn the_first_invalid_rule_is_reported_even_after_valid_ones() {
        let err = error(r##"[{"channel": "#a"}, {"name": "late", "mute": "yes"}]"##);
        assert!(
            err.starts_with(r#"rule "late" (routes[1]): invalid type"#),
            "{err}"
        );
    }
}

//! One channel rule: what it is written as, how it is checked (every error says what to fix),
//! and whether an event matches it.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::event::{Filter, Filters, Kind, Origin};
use crate::glob::Glob;

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The given `name`, or `routes[i]`: used in errors, logs and the muted answer.
    pub(super) name: String,
    organization: Option<Glob>,
    project: Option<Glob>,
    stack: Option<Glob>,
    kinds: Option<Vec<Kind>>,
    events: Option<Vec<Filter>>,
    pub(super) action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Action {
    /// `channel` `None` is the default channel; `mention` is Slack's `<!here>`-style text.
    Post {
        channel: Option<String>,
        mention: Option<String>,
    },
    Mute,
}

/// A rule as written. Unknown fields are refused so that a typo (`chanel`) is an error rather
/// than a rule that quietly posts to the default channel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RuleSpec {
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

impl Rule {
    pub(super) fn from_spec(index: usize, spec: RuleSpec) -> Result<Rule, String> {
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
    pub(super) fn matches_everything(&self) -> bool {
        self.organization.is_none()
            && self.project.is_none()
            && self.stack.is_none()
            && self.kinds.is_none()
            && self.events.is_none()
    }

    pub(super) fn matches(&self, kind: &Kind, origin: &Origin<'_>, filters: Filters) -> bool {
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

#[cfg(test)]
mod tests {
    use super::parse_mention;
    use crate::channel_rules::ChannelRules;
    use crate::testing::event;

    fn routes(json: &str) -> ChannelRules {
        ChannelRules::parse(json).unwrap_or_else(|e| panic!("{e}"))
    }

    fn error(json: &str) -> String {
        ChannelRules::parse(json).unwrap_err().to_string()
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
        assert_eq!(routes.decide(&update).rule(), Some("routes[0]"));
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

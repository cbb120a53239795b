//! The sections Pulumi Cloud's API adds to a run's message ([`crate::enrich`]): why it failed,
//! which resources it changed (or plans to, or drifted), and a failed deployment step's last log
//! lines. Every text is escaped; every list says how many did not fit.

use std::fmt::Write as _;

use super::run::sign;
use crate::enrich::{Change, Enrichment};
use crate::mrkdwn::{cat, escape};
use crate::slack::limits;

/// How a run's changes are headed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Changes {
    Made,
    Planned,
}

/// The sections for `enrichment`, in the order they are shown: each within Slack's section limit,
/// its list cut where the next item would not fit, and "+N more" saying what was left out.
pub(super) fn sections(enrichment: &Enrichment, changes: Changes) -> Vec<String> {
    let mut sections = Vec::with_capacity(4);
    if !enrichment.errors.is_empty() {
        let heading = if enrichment.partial {
            "*Why it failed* (from the first part of the run's log)"
        } else {
            "*Why it failed*"
        };
        let errors = enrichment.errors.iter().map(|error| {
            // One line per diagnostic keeps the list readable; the engine's own line breaks and
            // tabs become spaces.
            let flat = error.text.split_whitespace().collect::<Vec<_>>().join(" ");
            match &error.resource {
                Some(r) => cat!(
                    "`",
                    escape(&r.type_),
                    "` *",
                    escape(&r.name),
                    "*: ",
                    escape(&flat)
                ),
                None => escape(&flat).into_owned(),
            }
        });
        sections.push(list(heading.to_owned(), errors, enrichment.errors_total));
    }
    if !enrichment.failed.is_empty() {
        let heading = format!(
            "*Failed* ({}{})",
            enrichment.failed_total,
            at_least(enrichment)
        );
        let failed = enrichment.failed.iter().map(change_line);
        sections.push(list(heading, failed, enrichment.failed_total));
    }
    if let Some(log) = &enrichment.log {
        let mut text = cat!("*Last lines of “", escape(&log.step), "”*\n```");
        for line in &log.lines {
            text.push('\n');
            text.push_str(&escape(line));
        }
        text.push_str("\n```");
        sections.push(text);
    }
    if !enrichment.changes.is_empty() {
        let heading = match (enrichment.drift, changes) {
            (true, _) => "Drifted resources",
            (false, Changes::Planned) => "Resources to change",
            (false, Changes::Made) => "Changed resources",
        };
        let heading = format!(
            "*{heading}* ({}{})",
            enrichment.changes_total,
            at_least(enrichment)
        );
        let changed = enrichment.changes.iter().map(change_line);
        sections.push(list(heading, changed, enrichment.changes_total));
    }
    sections
}

/// `heading`, then one item per line while the section has room, then "+N more" for the rest of
/// `total`.
fn list(heading: String, items: impl Iterator<Item = String>, total: usize) -> String {
    // Room for the "+N more" line.
    const BUDGET: usize = limits::SECTION_TEXT - 24;
    let mut text = heading;
    let mut used = text.chars().count();
    let mut shown = 0;
    for item in items {
        let len = item.chars().count() + 1;
        if used + len > BUDGET {
            break;
        }
        text.push('\n');
        text.push_str(&item);
        used += len;
        shown += 1;
    }
    if total > shown {
        let _ = write!(text, "\n+{} more", total - shown);
    }
    text
}

/// `+ aws:s3/bucket:Bucket site`, as the CLI prints a step, with the properties that differ.
fn change_line(change: &Change) -> String {
    let sign = sign(&change.op).map_or_else(|| escape(&change.op).into_owned(), escape_sign);
    let mut line = cat!(
        "`",
        sign,
        " ",
        escape(&change.resource.type_),
        "` ",
        escape(&change.resource.name)
    );
    if !change.properties.is_empty() {
        let properties: Vec<_> = change.properties.iter().map(|p| escape(p)).collect();
        let _ = write!(line, " — {}", properties.join(", "));
    }
    line
}

fn escape_sign(sign: &str) -> String {
    escape(sign.trim()).into_owned()
}

/// `+` after a total counted from part of the run's events.
fn at_least(enrichment: &Enrichment) -> &'static str {
    if enrichment.partial { "+" } else { "" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::{Diagnostic, Resource, StepLog};

    fn change(op: &str, name: &str) -> Change {
        Change {
            op: op.into(),
            resource: Resource::new("aws:s3/bucket:Bucket", name),
            properties: Vec::new(),
        }
    }

    #[test]
    fn a_change_is_the_cli_sign_the_type_and_the_name() {
        assert_eq!(
            change_line(&change("create", "site")),
            "`+ aws:s3/bucket:Bucket` site"
        );
        assert_eq!(
            change_line(&change("read", "x")),
            "`&gt; aws:s3/bucket:Bucket` x"
        );
        assert_eq!(
            change_line(&change("zap", "x")),
            "`zap aws:s3/bucket:Bucket` x"
        );
    }

    #[test]
    fn diagnostics_name_their_resource_and_are_escaped() {
        let enrichment = Enrichment {
            errors: vec![Diagnostic {
                resource: Some(Resource::new("aws:s3/bucket:Bucket", "site")),
                text: "creating <bucket>:\n\t* AccessDenied".into(),
            }],
            errors_total: 7,
            failed: vec![change("create", "site")],
            failed_total: 1,
            ..Enrichment::default()
        };
        let sections = sections(&enrichment, Changes::Made);
        assert_eq!(
            sections,
            [
                "*Why it failed*\n`aws:s3/bucket:Bucket` *site*: creating &lt;bucket&gt;: * AccessDenied\n+6 more",
                "*Failed* (1)\n`+ aws:s3/bucket:Bucket` site"
            ]
        );
    }

    #[test]
    fn changes_beyond_those_kept_are_counted_and_drift_is_headed_as_drift() {
        let enrichment = Enrichment {
            changes: vec![change("update", "a")],
            changes_total: 14,
            ..Enrichment::default()
        };
        let made = sections(&enrichment, Changes::Made);
        assert_eq!(
            made,
            ["*Changed resources* (14)\n`~ aws:s3/bucket:Bucket` a\n+13 more"]
        );
        let planned = sections(&enrichment, Changes::Planned);
        assert!(planned[0].starts_with("*Resources to change*"));
        let drift = Enrichment {
            drift: true,
            ..enrichment
        };
        assert!(sections(&drift, Changes::Planned)[0].starts_with("*Drifted resources*"));
        let partial = Enrichment {
            partial: true,
            ..drift
        };
        assert!(
            sections(&partial, Changes::Made)[0].starts_with("*Drifted resources* (14+)"),
            "a count from part of the events is a lower bound"
        );
    }

    #[test]
    fn a_list_too_long_for_a_section_is_cut_between_items_and_counted() {
        let long = Diagnostic {
            resource: None,
            text: "&".repeat(390),
        };
        let enrichment = Enrichment {
            errors: vec![long; 5],
            errors_total: 5,
            failed: vec![change("create", "site")],
            failed_total: 1,
            ..Enrichment::default()
        };
        let sections = sections(&enrichment, Changes::Made);
        let why = &sections[0];
        assert!(why.chars().count() <= limits::SECTION_TEXT, "{}", why.len());
        // Each escaped diagnostic is 1 950 characters: one fits.
        assert!(why.ends_with("\n+4 more"), "{why}");
        assert_eq!(sections[1], "*Failed* (1)\n`+ aws:s3/bucket:Bucket` site");
    }

    #[test]
    fn a_step_log_is_a_code_block_with_its_lines_escaped() {
        let enrichment = Enrichment {
            log: Some(StepLog {
                step: "Install dependencies".into(),
                lines: vec!["npm ERR! ```".into(), "exit 1".into()],
            }),
            ..Enrichment::default()
        };
        assert_eq!(
            sections(&enrichment, Changes::Made),
            ["*Last lines of “Install dependencies”*\n```\nnpm ERR! ˋˋˋ\nexit 1\n```"]
        );
        assert!(sections(&Enrichment::default(), Changes::Made).is_empty());
    }
}

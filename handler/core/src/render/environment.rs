//! Pulumi ESC events: what happened to which environment, tag or revision.

use super::{Card, Tone, actor};
use crate::event::{EnvironmentEvent, EscKind};
use crate::mrkdwn::escape;

pub(super) fn environment(kind: EscKind, e: &EnvironmentEvent) -> Card {
    let origin = e.origin();
    let env_path = |project: Option<&str>, env: Option<&str>| {
        let path = [project, env]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("/");
        if path.is_empty() {
            "(unnamed)".to_owned()
        } else {
            path
        }
    };
    let env = env_path(origin.project, e.environment_name.as_deref());
    let action = e.action.as_deref().unwrap_or("changed");
    let tone = if action == "deleted" || action == "retracted" {
        Tone::Warn
    } else {
        Tone::Info
    };
    let revision = e.revision.map(|r| format!("revision {r}"));
    let tag = e
        .tag_name
        .as_deref()
        .map(|t| format!("tag `{}`", escape(t)));
    let (title, thing) = match kind {
        EscKind::Environment => ("Environment", "environment".to_owned()),
        EscKind::Revision => (
            "Environment revision",
            revision.clone().unwrap_or_else(|| "a revision".into()),
        ),
        EscKind::Tag => (
            "Environment tag",
            tag.clone().unwrap_or_else(|| "a tag".into()),
        ),
        EscKind::RevisionTag => (
            "Revision tag",
            [tag.clone(), revision.clone().map(|r| format!("on {r}"))]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
        ),
        EscKind::ImportedEnvironmentChanged => ("Imported environment changed", String::new()),
    };
    let summary = if kind == EscKind::ImportedEnvironmentChanged {
        let imported = e.imported_environment_reference.clone().unwrap_or_default();
        let mut imported_name = env_path(
            imported.project_name.as_deref(),
            imported.environment_name.as_deref(),
        );
        if let Some(r) = imported.revision {
            imported_name.push_str(&format!(" (revision {r})"));
        }
        let affected = e.affected_revisions.as_deref().unwrap_or_default();
        let affected = if affected.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = affected.iter().map(u64::to_string).collect();
            format!(", affecting revisions {}", list.join(", "))
        };
        format!(
            "*{}*, imported by *{}*, changed{affected}",
            escape(&imported_name),
            escape(&env)
        )
    } else {
        format!(
            "{} {} {thing} of ESC environment *{}*",
            actor(&origin),
            escape(action),
            escape(&env)
        )
    };
    let title = if kind == EscKind::ImportedEnvironmentChanged {
        title.to_owned()
    } else {
        format!("{title} {action}")
    };
    let mut card = Card::new(tone, title, summary);
    card.field("Environment", Some(&env));
    card.field("Tag", e.tag_name.as_deref());
    card.field("Revision", e.revision.map(|r| r.to_string()).as_deref());
    card
}

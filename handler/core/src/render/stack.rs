//! `stack` and `team` events: what happened to a stack or a team of the organization.

use super::{Card, Tone, actor, bulleted, where_};
use crate::event::{StackAction, StackEvent, Team, TeamAction, TeamEvent};
use crate::mrkdwn::{cat, escape};

pub(super) fn stack(e: &StackEvent) -> Card {
    let origin = e.origin();
    let (tone, verb) = match &e.action {
        Some(StackAction::Created) => (Tone::Info, "created"),
        Some(StackAction::Deleted) => (Tone::Warn, "deleted"),
        Some(StackAction::Other(action)) => (Tone::Info, action.as_str()),
        None => (Tone::Info, "changed"),
    };
    let summary = cat!(
        actor(&origin),
        " ",
        escape(verb),
        " stack ",
        where_(&origin)
    );
    let mut card = Card::new(tone, cat!("Stack ", verb), summary);
    card.field("Organization", origin.organization);
    card.field("Project", origin.project);
    card.field("Stack", origin.stack);
    card
}

pub(super) fn team(e: &TeamEvent) -> Card {
    let origin = e.origin();
    let verb = match &e.action {
        Some(TeamAction::Created) => "created",
        Some(TeamAction::Updated) => "updated",
        Some(TeamAction::Deleted) => "deleted",
        Some(TeamAction::Other(action)) => action.as_str(),
        None => "changed",
    };
    let unnamed = Team::default();
    let team = e.team.as_ref().unwrap_or(&unnamed);
    let name = team.name.as_deref().unwrap_or("(unnamed)");
    let summary = format!(
        "{} {} team *{}* in *{}*",
        actor(&origin),
        escape(verb),
        escape(name),
        escape(origin.organization.unwrap_or("the organization"))
    );
    let mut card = Card::new(Tone::Info, format!("Team {verb}"), summary);
    card.field("Team", Some(name));
    card.field("Organization", origin.organization);
    if !team.members.is_empty() {
        let members = team.members.iter().map(|m| {
            let name = m
                .name
                .as_deref()
                .or(m.github_login.as_deref())
                .unwrap_or("?");
            match (&m.name, &m.github_login) {
                (Some(_), Some(login)) => format!("{} ({})", escape(name), escape(login)),
                _ => escape(name).into_owned(),
            }
        });
        card.details
            .push(bulleted("Members", team.members.len(), members));
    }
    if !team.stacks.is_empty() {
        let stacks = team.stacks.iter().map(|s| {
            let path = [s.project_name.as_deref(), s.stack_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("/");
            match &s.permission {
                Some(p) => format!("{} — {}", escape(&path), escape(p)),
                None => escape(&path).into_owned(),
            }
        });
        card.details
            .push(bulleted("Stacks", team.stacks.len(), stacks));
    }
    card
}

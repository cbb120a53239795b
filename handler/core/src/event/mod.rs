//! Pulumi Cloud webhook payloads as Rust types: one type per event kind.
//!
//! Every field is optional, because real deliveries vary between Pulumi Cloud versions and event
//! sub-kinds. Fields whose values form a known set (results, statuses, operations) are enums with
//! an `Other` variant, so a new value from Pulumi is carried through instead of failing the parse.
//! A body that is valid JSON but does not fit its kind's type, and any kind this relay does not
//! know yet, becomes [`Event::Other`] with the raw JSON: nothing is ever dropped.

mod filter;
mod kind;
mod payload;
mod phase;

pub use filter::{Filter, Filters};
pub use kind::{Enforcement, EscKind, Kind};
pub use payload::*;
pub use phase::Phase;

use serde::Deserialize;

/// A parsed webhook delivery body.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Stack(StackEvent),
    Team(TeamEvent),
    StackUpdate(UpdateEvent),
    StackPreview(UpdateEvent),
    Deployment(DeploymentEvent),
    DriftDetection(DriftDetectionEvent),
    DriftRemediation(DriftRemediationEvent),
    PolicyViolation(Option<Enforcement>, PolicyViolationEvent),
    Esc(EscKind, EnvironmentEvent),
    Ping(PingEvent),
    /// Relayed as pretty-printed JSON: an unknown kind, or a body that does not fit its kind.
    Other(OtherEvent),
}

#[derive(Debug, Clone, PartialEq)]
pub struct OtherEvent {
    pub kind: Kind,
    pub payload: serde_json::Value,
    pub reason: OtherReason,
}

impl OtherEvent {
    /// The documented common fields, read from the JSON where present.
    pub fn origin(&self) -> Origin<'_> {
        let str_at = |path: &[&str]| at(&self.payload, path).and_then(|v| v.as_str());
        Origin {
            user: str_at(&["user", "name"]).or_else(|| str_at(&["user", "githubLogin"])),
            organization: str_at(&["organization", "githubLogin"])
                .or_else(|| str_at(&["organization", "name"])),
            project: str_at(&["projectName"]),
            stack: str_at(&["stackName"]),
        }
    }
}

/// The value at `path` (object keys): `Value::pointer` without its allocation per segment.
fn at<'v>(value: &'v serde_json::Value, path: &[&str]) -> Option<&'v serde_json::Value> {
    path.iter().try_fold(value, |value, key| value.get(key))
}

#[derive(Debug, Clone, PartialEq)]
pub enum OtherReason {
    UnknownKind,
    /// Valid JSON whose shape does not match the documented payload (serde's explanation).
    UnexpectedShape(String),
}

/// The body is not JSON at all: the only parse failure that is the sender's fault.
#[derive(Debug, thiserror::Error)]
#[error("the body is not valid JSON: {0}")]
pub struct InvalidJson(#[from] serde_json::Error);

impl Event {
    /// Parses `body` as the payload of a `kind` delivery.
    pub fn parse(kind: Kind, body: &[u8]) -> Result<Event, InvalidJson> {
        fn typed<'a, T: Deserialize<'a>>(
            kind: Kind,
            body: &'a [u8],
            wrap: impl FnOnce(T) -> Event,
        ) -> Result<Event, InvalidJson> {
            match serde_json::from_slice::<T>(body) {
                Ok(event) => Ok(wrap(event)),
                // Either not JSON (the caller's error) or JSON of another shape (relay it raw).
                Err(shape) => {
                    let payload = serde_json::from_slice(body)?;
                    Ok(Event::Other(OtherEvent {
                        kind,
                        payload,
                        reason: OtherReason::UnexpectedShape(shape.to_string()),
                    }))
                }
            }
        }
        match kind {
            Kind::Stack => typed(kind, body, Event::Stack),
            Kind::Team => typed(kind, body, Event::Team),
            Kind::StackUpdate => typed(kind, body, Event::StackUpdate),
            Kind::StackPreview => typed(kind, body, Event::StackPreview),
            Kind::Deployment => typed(kind, body, Event::Deployment),
            Kind::DriftDetection => typed(kind, body, Event::DriftDetection),
            Kind::DriftRemediation => typed(kind, body, Event::DriftRemediation),
            Kind::PolicyViolation(level) => typed(kind, body, |e| Event::PolicyViolation(level, e)),
            Kind::Esc(esc) => typed(kind, body, |e| Event::Esc(esc, e)),
            Kind::Ping => typed(kind, body, Event::Ping),
            Kind::Unknown(_) => Ok(Event::Other(OtherEvent {
                kind,
                payload: serde_json::from_slice(body)?,
                reason: OtherReason::UnknownKind,
            })),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Event::Stack(_) => Kind::Stack,
            Event::Team(_) => Kind::Team,
            Event::StackUpdate(_) => Kind::StackUpdate,
            Event::StackPreview(_) => Kind::StackPreview,
            Event::Deployment(_) => Kind::Deployment,
            Event::DriftDetection(_) => Kind::DriftDetection,
            Event::DriftRemediation(_) => Kind::DriftRemediation,
            Event::PolicyViolation(level, _) => Kind::PolicyViolation(*level),
            Event::Esc(esc, _) => Kind::Esc(*esc),
            Event::Ping(_) => Kind::Ping,
            Event::Other(other) => other.kind.clone(),
        }
    }

    /// The update or preview this event reports, and whether it was a preview
    /// ([`UpdateEvent::is_preview`]); `None` for every other kind.
    pub fn stack_run(&self) -> Option<(&UpdateEvent, bool)> {
        match self {
            Event::StackUpdate(e) => Some((e, e.is_preview(false))),
            Event::StackPreview(e) => Some((e, true)),
            _ => None,
        }
    }

    /// Who and where, for logs and messages; for raw events, read from the JSON if present.
    pub fn origin(&self) -> Origin<'_> {
        match self {
            Event::Stack(e) => e.origin(),
            Event::Team(e) => e.origin(),
            Event::StackUpdate(e) | Event::StackPreview(e) => e.origin(),
            Event::Deployment(e) => e.origin(),
            Event::DriftDetection(e) => e.origin(),
            Event::DriftRemediation(e) => e.origin(),
            Event::PolicyViolation(_, e) => e.origin(),
            Event::Esc(_, e) => Origin {
                stack: e.environment_name.as_deref(),
                ..e.origin()
            },
            Event::Ping(_) => Origin::default(),
            Event::Other(e) => e.origin(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept_not_rejected() {
        let event: UpdateEvent =
            serde_json::from_str(r#"{"kind":"teleport","result":"exploded"}"#).unwrap();
        assert_eq!(event.kind, Some(Operation::Other("teleport".into())));
        assert_eq!(event.result.as_ref().map(Status::as_str), Some("exploded"));
    }

    #[test]
    fn an_empty_object_parses_with_every_field_absent() {
        let event = Event::parse(Kind::Deployment, b"{}").unwrap();
        assert_eq!(event, Event::Deployment(DeploymentEvent::default()));
        assert_eq!(event.origin(), Origin::default());
    }

    #[test]
    fn nulls_count_as_absent() {
        let event = Event::parse(Kind::Stack, br#"{"user":null,"action":null}"#).unwrap();
        assert_eq!(event, Event::Stack(StackEvent::default()));
    }

    #[test]
    fn a_wrongly_typed_field_falls_back_to_raw_json_with_the_reason() {
        let body = br#"{"stackName":"dev","resourceChanges":"lots"}"#;
        let Event::Other(other) = Event::parse(Kind::StackUpdate, body).unwrap() else {
            panic!("expected a raw event");
        };
        assert_eq!(other.kind, Kind::StackUpdate);
        assert!(
            matches!(other.reason, OtherReason::UnexpectedShape(ref why) if why.contains("invalid type"))
        );
        assert_eq!(other.payload["stackName"], "dev");
    }

    #[test]
    fn a_non_object_body_is_relayed_raw() {
        let event = Event::parse(Kind::Stack, b"[1,2]").unwrap();
        assert!(matches!(event, Event::Other(_)));
    }

    #[test]
    fn invalid_json_is_an_error_for_known_and_unknown_kinds() {
        assert!(Event::parse(Kind::Stack, b"{").is_err());
        assert!(Event::parse(Kind::Unknown("x".into()), b"nope").is_err());
    }

    #[test]
    fn policy_violations_keep_undocumented_fields() {
        let body = br#"{"stackName":"prod","result":"failed","policyPack":"security","message":"no public buckets"}"#;
        let kind = Kind::parse("policy_violation_mandatory");
        let Event::PolicyViolation(Some(Enforcement::Mandatory), event) =
            Event::parse(kind, body).unwrap()
        else {
            panic!("expected a mandatory policy violation");
        };
        assert_eq!(event.result, Some(Status::Failed));
        assert_eq!(event.details["policyPack"], "security");
        assert!(!event.details.contains_key("stackName"));
    }

    #[test]
    fn raw_events_still_report_their_origin() {
        let body = br#"{"organization":{"githubLogin":"acme"},"stackName":"prod","user":{"githubLogin":"ann"}}"#;
        let event = Event::parse(Kind::Unknown("change_request".into()), body).unwrap();
        let origin = event.origin();
        assert_eq!(origin.organization, Some("acme"));
        assert_eq!(origin.stack, Some("prod"));
        assert_eq!(origin.user, Some("ann"));
    }
}

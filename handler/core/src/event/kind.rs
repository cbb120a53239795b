//! The `Pulumi-Webhook-Kind` header: which kinds of delivery the relay knows, declared once.

use std::fmt;

/// The `Pulumi-Webhook-Kind` header values this relay understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Stack,
    Team,
    StackUpdate,
    StackPreview,
    Deployment,
    DriftDetection,
    DriftRemediation,
    /// `policy_violation`; some senders use the filter names `policy_violation_mandatory` /
    /// `policy_violation_advisory` as the kind, which also say the enforcement level.
    PolicyViolation(Option<Enforcement>),
    /// A Pulumi ESC environment event.
    Esc(EscKind),
    /// The test delivery sent by Pulumi Cloud's "Ping" button and API.
    Ping,
    /// A kind Pulumi Cloud added after this relay was written.
    Unknown(String),
}

/// How a violated policy is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enforcement {
    Mandatory,
    Advisory,
}

/// The ESC (environments) event kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscKind {
    Environment,
    Revision,
    RevisionTag,
    Tag,
    ImportedEnvironmentChanged,
}

/// Declares the kinds once: their header names in order, and the kind each one parses to, so
/// parsing, naming and the list of names cannot disagree.
macro_rules! kinds {
    ($($name:literal => $variant:ident $(($($arg:tt)*))?,)*) => {
        impl Kind {
            /// The header values [`Kind::parse`] knows (everything else is [`Kind::Unknown`]).
            pub const NAMES: &[&str] = &[$($name,)*];

            pub fn parse(header: &str) -> Kind {
                match header {
                    $($name => Kind::$variant $(($($arg)*))?,)*
                    other => Kind::Unknown(other.to_owned()),
                }
            }

            pub fn as_str(&self) -> &str {
                match self {
                    $(Kind::$variant $(($($arg)*))? => $name,)*
                    Kind::Unknown(kind) => kind,
                }
            }
        }
    };
}

kinds! {
    "stack" => Stack,
    "team" => Team,
    "stack_update" => StackUpdate,
    "stack_preview" => StackPreview,
    "deployment" => Deployment,
    "drift_detection" => DriftDetection,
    "drift_remediation" => DriftRemediation,
    "policy_violation" => PolicyViolation(None),
    "policy_violation_mandatory" => PolicyViolation(Some(Enforcement::Mandatory)),
    "policy_violation_advisory" => PolicyViolation(Some(Enforcement::Advisory)),
    "environment" => Esc(EscKind::Environment),
    "environment_revision" => Esc(EscKind::Revision),
    "environment_revision_tag" => Esc(EscKind::RevisionTag),
    "environment_tag" => Esc(EscKind::Tag),
    "imported_environment_changed" => Esc(EscKind::ImportedEnvironmentChanged),
    "ping" => Ping,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_parses_to_a_kind_of_its_own_that_names_itself() {
        let kinds: Vec<Kind> = Kind::NAMES.iter().map(|name| Kind::parse(name)).collect();
        for (name, kind) in Kind::NAMES.iter().zip(&kinds) {
            assert!(!matches!(kind, Kind::Unknown(_)), "{name} is not known");
            assert_eq!(kind.as_str(), *name);
        }
        for (i, kind) in kinds.iter().enumerate() {
            assert!(!kinds[..i].contains(kind), "{kind} is listed twice");
        }
    }

    #[test]
    fn any_other_name_is_an_unknown_kind_kept_as_sent() {
        assert_eq!(Kind::parse("brand_new"), Kind::Unknown("brand_new".into()));
        assert_eq!(Kind::parse("brand_new").as_str(), "brand_new");
        assert_eq!(
            Kind::parse("Stack"),
            Kind::Unknown("Stack".into()),
            "case matters"
        );
    }
}

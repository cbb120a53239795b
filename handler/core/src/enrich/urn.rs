//! Pulumi URNs, read for what a message names: the resource's type and name.
//!
//! A URN is `urn:pulumi:{stack}::{project}::{qualified type}::{name}`, the qualified type being the
//! parents' types and the resource's own joined by `$`, and the name being everything after the
//! third `::` (names may contain `::`). pulumi/pulumi `sdk/go/common/resource/urn.go`
//! (`URN.QualifiedType`, `URN.Type`, `URN.Name`).

use serde::{Deserialize, Serialize};

/// The longest a type or name is kept, in characters (Pulumi allows any length).
pub const MAX_PART_CHARS: usize = 200;

/// A resource as messages name it: `aws:s3/bucket:Bucket site`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The resource's own type token (`aws:s3/bucket:Bucket`), without its parents'.
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
}

impl Resource {
    pub fn new(type_: impl Into<String>, name: impl Into<String>) -> Resource {
        Resource {
            type_: type_.into(),
            name: name.into(),
        }
    }

    /// The resource a URN names; `None` for text that is not a URN.
    pub fn from_urn(urn: &str) -> Option<Resource> {
        let rest = urn.strip_prefix("urn:pulumi:")?;
        let mut parts = rest.splitn(4, "::");
        let (_stack, _project) = (parts.next()?, parts.next()?);
        let qualified = parts.next()?;
        let name = parts.next()?;
        let type_ = qualified.rsplit('$').next().unwrap_or(qualified);
        // Bounded, as everything kept with a queued delivery is (an SQS message has a size limit).
        (!type_.is_empty()).then(|| {
            Resource::new(
                crate::mrkdwn::truncate(type_, MAX_PART_CHARS),
                crate::mrkdwn::truncate(name, MAX_PART_CHARS),
            )
        })
    }

    /// The stack's own resource, which every program has: a diagnostic about it is about the
    /// program, not a resource.
    pub fn is_stack(&self) -> bool {
        self.type_ == "pulumi:pulumi:Stack"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_and_name_come_from_the_urn() {
        assert_eq!(
            Resource::from_urn("urn:pulumi:prod::site::aws:s3/bucket:Bucket::site"),
            Some(Resource::new("aws:s3/bucket:Bucket", "site"))
        );
    }

    #[test]
    fn a_child_is_named_by_its_own_type_and_a_name_may_contain_colons() {
        assert_eq!(
            Resource::from_urn(
                "urn:pulumi:prod::site::my:index:Component$aws:iam/role:Role::svc::role"
            ),
            Some(Resource::new("aws:iam/role:Role", "svc::role"))
        );
    }

    #[test]
    fn text_that_is_not_a_urn_names_no_resource() {
        for text in [
            "",
            "arn:aws:s3:::bucket",
            "urn:pulumi:prod::site",
            "urn:pulumi:a::b::::n",
        ] {
            assert_eq!(Resource::from_urn(text), None, "{text}");
        }
        assert!(
            Resource::from_urn("urn:pulumi:prod::site::pulumi:pulumi:Stack::site-prod")
                .unwrap()
                .is_stack()
        );
    }
}

//! A stack as Pulumi Cloud's API paths and the CLI name it: `organization/project/stack`, the
//! organization by its login. Parsed from what people type in Slack, printed the same way.

use std::fmt;

/// A fully named stack.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackRef {
    pub organization: String,
    pub project: String,
    pub stack: String,
}

/// Why a typed stack name is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackRefError {
    #[error(
        "`{0}` is not a stack name: give it as organization/project/stack (e.g. acme/website/prod)"
    )]
    Shape(String),
    #[error(
        "`{0}` names no organization, and this relay serves more than one: give it as \
         organization/project/stack"
    )]
    NoOrganization(String),
    #[error(
        "`{text}` is not a stack name: its {part} {why}; Pulumi names are letters, digits, \
         `-`, `_` and `.`, up to 100 characters"
    )]
    Name {
        text: String,
        part: &'static str,
        why: &'static str,
    },
}

/// Pulumi's longest organization, project and stack names.
const MAX_NAME_CHARS: usize = 100;

impl StackRef {
    /// Reads `organization/project/stack`, or `project/stack` when `default_organization` (the
    /// one organization the relay serves) is given.
    pub fn parse(
        text: &str,
        default_organization: Option<&str>,
    ) -> Result<StackRef, StackRefError> {
        let text = text.trim();
        // Quoted back in backticks: a backtick of its own would end the quote early.
        let shown: String = text.chars().filter(|c| *c != '`').take(120).collect();
        let parts: Vec<&str> = text.split('/').collect();
        let (organization, project, stack) = match (parts.as_slice(), default_organization) {
            ([organization, project, stack], _) => (*organization, *project, *stack),
            ([project, stack], Some(organization)) => (organization, *project, *stack),
            ([_, _], None) => return Err(StackRefError::NoOrganization(shown)),
            _ => return Err(StackRefError::Shape(shown)),
        };
        for (part, name) in [
            ("organization", organization),
            ("project", project),
            ("stack", stack),
        ] {
            let why = if name.is_empty() {
                Some("is empty")
            } else if name.chars().count() > MAX_NAME_CHARS {
                Some("is too long")
            } else if !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                Some("has a character no Pulumi name has")
            } else if name.chars().all(|c| c == '.') {
                // `.` and `..` are path steps: the request would go elsewhere than asked.
                Some("is only dots")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(StackRefError::Name {
                    text: shown,
                    part,
                    why,
                });
            }
        }
        Ok(StackRef {
            organization: organization.to_owned(),
            project: project.to_owned(),
            stack: stack.to_owned(),
        })
    }
}

impl fmt::Display for StackRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.organization, self.project, self.stack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_name_reads_as_its_three_parts_and_prints_back() {
        let stack = StackRef::parse(" acme/web-site/prod.eu ", None).unwrap();
        assert_eq!(stack.organization, "acme");
        assert_eq!(stack.project, "web-site");
        assert_eq!(stack.stack, "prod.eu");
        assert_eq!(stack.to_string(), "acme/web-site/prod.eu");
    }

    #[test]
    fn project_and_stack_take_the_one_organization() {
        let stack = StackRef::parse("web/prod", Some("acme")).unwrap();
        assert_eq!(stack.to_string(), "acme/web/prod");
        assert_eq!(
            StackRef::parse("web/prod", None),
            Err(StackRefError::NoOrganization("web/prod".into()))
        );
    }

    #[test]
    fn malformed_names_say_which_part_is_wrong() {
        assert!(matches!(
            StackRef::parse("prod", Some("acme")),
            Err(StackRefError::Shape(_))
        ));
        assert!(matches!(
            StackRef::parse("a/b/c/d", None),
            Err(StackRefError::Shape(_))
        ));
        let err = StackRef::parse("acme//prod", None).unwrap_err();
        assert!(err.to_string().contains("project is empty"), "{err}");
        let err = StackRef::parse("acme/web/pr*d", None).unwrap_err();
        assert!(err.to_string().contains("stack has a character"), "{err}");
        for dots in ["acme/web/..", "acme/./prod", "../web/prod"] {
            let err = StackRef::parse(dots, None).unwrap_err();
            assert!(err.to_string().contains("is only dots"), "{err}");
        }
        assert!(StackRef::parse("acme/web/prod.eu", None).is_ok());
        assert!(
            StackRef::parse("acme/web/прод", None).is_err(),
            "Pulumi names are ASCII"
        );
        let long = format!("acme/web/{}", "s".repeat(101));
        assert!(
            StackRef::parse(&long, None)
                .unwrap_err()
                .to_string()
                .contains("too long")
        );
    }
}

//! Name patterns for organizations, projects and stacks, shared by the channel rules and the
//! ChatOps rules.

/// A name pattern: `*` matches any run of characters (also none), `?` exactly one, everything
/// else itself, case-sensitively (Pulumi names are).
///
/// Hand-written rather than a crate: `globset` builds on `regex-automata`, which would add to the
/// Lambda zip for two wildcards, and `glob-match`'s path rules (`/`, `**`, `[…]`, `{…}`) mean
/// nothing for Pulumi names. Matching is the classic two-pointer wildcard walk, linear in practice
/// and at worst pattern × name steps, with no recursion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob(Vec<char>);

impl Glob {
    pub(crate) fn new(pattern: &str) -> Result<Glob, String> {
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

    /// The one name the pattern matches, when it has no wildcard.
    pub(crate) fn literal(&self) -> Option<String> {
        (!self.0.iter().any(|c| matches!(c, '*' | '?'))).then(|| self.0.iter().collect())
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
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
}

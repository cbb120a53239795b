//! Diagnostic text as the engine stores it, made fit for a Slack message: without colour codes,
//! without the lines that only say that something failed, and short.

/// The longest one diagnostic may be in a message, in characters.
pub const MAX_DIAGNOSTIC_CHARS: usize = 400;

/// `message` without colour codes and blank lines, trimmed, with a leading `error:` and the
/// SDKs' "unhandled exception" headers removed and a lone multierror unwrapped; `None` when
/// nothing specific is left. `about_resource`: the diagnostic has a URN; the engine's own
/// summaries ("update failed") never do, and a provider may say "update failed" about a resource.
///
/// The text arrives as the engine made it: `<{%reset%}>text<{%reset%}>\n`, with the CLI's colour
/// tags (pulumi/pulumi `pkg/engine/eventsink.go` `StringifyDiag`; the CLI uploads events with
/// `display.ConvertEngineEvent`, which removes ANSI colours only).
pub fn clean(message: &str, about_resource: bool) -> Option<String> {
    let plain = strip_colors(message);
    let mut lines: Vec<&str> = plain
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty())
        .collect();
    if let Some(first) = lines.first_mut() {
        let trimmed = first.trim_start();
        *first = trimmed
            .strip_prefix("error:")
            .map_or(trimmed, str::trim_start);
    }
    // The SDKs' headers over the error that reached the program's top level: the error follows.
    if lines.len() > 1 && lines.first().is_some_and(|first| is_header(first)) {
        lines.remove(0);
    }
    let text = lines.join("\n");
    let text = without_urn(text.trim());
    let text = unwrap_single_error(&text);
    if text.is_empty() || (!about_resource && is_boilerplate(text)) {
        return None;
    }
    Some(crate::mrkdwn::truncate(text, MAX_DIAGNOSTIC_CHARS).into_owned())
}

/// `creating urn:pulumi:…::site: <error>` without its URN, which the message names already: the
/// Terraform bridge's providers wrap every error so (pulumi/pulumi-terraform-bridge
/// `pkg/tfbridge/provider.go`: "creating", "updating", "refreshing", "deleting", "diffing"). A
/// lone multierror after it is its error; anything else keeps the verb.
fn without_urn(text: &str) -> std::borrow::Cow<'_, str> {
    let Some((verb, rest)) = text.split_once(' ') else {
        return text.into();
    };
    let Some(urn) = rest.strip_prefix("urn:pulumi:") else {
        return text.into();
    };
    // The URN ends at the first ": " after its name (names rarely hold one; then less is cut).
    let Some((_, error)) = urn.split_once(": ") else {
        return text.into();
    };
    if !verb.chars().all(|c| c.is_ascii_lowercase()) {
        return text.into();
    }
    if error.trim_start().starts_with("1 error occurred:") {
        error.into()
    } else {
        format!("{verb}: {error}").into()
    }
}

/// `1 error occurred:\n\t* <error>` (hashicorp/go-multierror's format, which providers built on
/// the Terraform bridge return) is just `<error>`: the tidying pulumi/pulumi's own `pulumi do`
/// display applies (`pkg/cmd/pulumi/do/do_display.go`). Nested ones are unwrapped too.
fn unwrap_single_error(mut text: &str) -> &str {
    loop {
        let Some(rest) = text
            .find("1 error occurred:")
            .filter(|at| *at == 0 || text[..*at].ends_with(": "))
            .map(|at| (at, &text[at + "1 error occurred:".len()..]))
        else {
            return text;
        };
        let (at, rest) = rest;
        let Some(inner) = rest.trim_start().strip_prefix("* ") else {
            return text;
        };
        if at == 0 {
            text = inner.trim();
        } else {
            // "creating urn:…: 1 error occurred: * AccessDenied" keeps what it was doing.
            return text;
        }
    }
}

/// Whether a first line only announces the error on the lines after it: Node's "Running program
/// '…' failed with an unhandled exception:", Python's "Program failed with an unhandled
/// exception:", Go's "an unhandled error occurred: program failed:" (pulumi/pulumi
/// `sdk/nodejs/cmd/run/run.ts`, `sdk/python/cmd/pulumi-language-python-exec`, `sdk/go/pulumi/run.go`).
fn is_header(line: &str) -> bool {
    let line = line.trim();
    line.ends_with("failed with an unhandled exception:")
        || line == "Program failed with an unhandled exception:"
        || line == "an unhandled error occurred: program failed:"
}

/// Whether a diagnostic without a resource says no more than that the run failed: the engine's
/// `"{update|preview} {failed|canceled}"` (`pkg/resource/deploy/deployment_executor.go`,
/// `reportExecResult`), and a program that only exited non-zero (`program_source.go`: "an
/// unhandled error occurred: " + the language host's "program exited with non-zero exit code: N").
fn is_boilerplate(text: &str) -> bool {
    let text = text.trim();
    if matches!(
        text,
        "update failed" | "preview failed" | "update canceled" | "preview canceled"
    ) {
        return true;
    }
    let exit = text
        .strip_prefix("an unhandled error occurred: ")
        .unwrap_or(text)
        .to_ascii_lowercase();
    exit.strip_prefix("program exited with non-zero exit code: ")
        .is_some_and(|code| code.parse::<i64>().is_ok())
}

/// `text` without ANSI escape sequences (`ESC [ … letter`) and without the Pulumi CLI's colour
/// tags (`<{%reset%}>`, `<{%fg 1%}>`: pulumi/pulumi `sdk/go/common/diag/colors`).
pub fn strip_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(['\u{1b}', '<']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("\u{1b}[") {
            // Parameters and intermediates, then one final byte in @..~ (ECMA-48 CSI).
            let end = after
                .char_indices()
                .find(|(_, c)| ('@'..='~').contains(c))
                .map_or(after.len(), |(i, c)| i + c.len_utf8());
            rest = &after[end..];
        } else if let Some(after) = tail.strip_prefix("<{%") {
            match after.find("%}>") {
                Some(end) => rest = &after[end + 3..],
                None => {
                    out.push_str("<{%");
                    rest = after;
                }
            }
        } else {
            let c = tail.chars().next().unwrap_or_default();
            if c != '\u{1b}' {
                out.push(c);
            }
            rest = &tail[c.len_utf8()..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_tags_and_ansi_codes_are_removed() {
        assert_eq!(
            strip_colors("<{%fg 1%}>error: <{%reset%}>boom\u{1b}[0m \u{1b}[38;5;1mred\u{1b}[m"),
            "error: boom red"
        );
        assert_eq!(
            strip_colors("a < b and <{% not closed"),
            "a < b and <{% not closed"
        );
    }

    #[test]
    fn the_severity_word_blank_lines_and_trailing_space_go() {
        assert_eq!(
            clean(
                "  error: creating S3 Bucket: AccessDenied  \n\n\t* detail\n",
                true
            )
            .as_deref(),
            Some("creating S3 Bucket: AccessDenied\n\t* detail")
        );
    }

    #[test]
    fn a_long_diagnostic_is_cut_with_a_marker() {
        let long = "x".repeat(2 * MAX_DIAGNOSTIC_CHARS);
        let cut = clean(&long, true).unwrap();
        assert_eq!(cut.chars().count(), MAX_DIAGNOSTIC_CHARS);
        assert!(cut.ends_with(crate::mrkdwn::TRUNCATED));
    }

    #[test]
    fn nothing_left_is_nothing() {
        assert_eq!(clean("<{%reset%}>\n  \n", false), None);
    }

    #[test]
    fn the_engines_summaries_are_boilerplate_only_without_a_resource() {
        for text in [
            "<{%reset%}>update failed<{%reset%}>\n",
            "preview failed",
            "an unhandled error occurred: Program exited with non-zero exit code: 1",
            "program exited with non-zero exit code: 101",
        ] {
            assert_eq!(clean(text, false), None, "{text}");
        }
        assert_eq!(
            clean("update failed", true).as_deref(),
            Some("update failed")
        );
        assert_eq!(
            clean(
                "an unhandled error occurred: Failed to run command: exit status 101",
                false
            )
            .as_deref(),
            Some("an unhandled error occurred: Failed to run command: exit status 101")
        );
    }

    #[test]
    fn an_sdk_header_gives_way_to_the_error_under_it() {
        assert_eq!(
            clean(
                "Running program '/app' failed with an unhandled exception:\nError: bucket name taken\n",
                false
            )
            .as_deref(),
            Some("Error: bucket name taken")
        );
    }

    #[test]
    fn a_lone_multierror_is_its_error() {
        assert_eq!(
            clean(
                "1 error occurred:\n\t* 1 error occurred:\n\t* AccessDenied\n\n",
                true
            )
            .as_deref(),
            Some("AccessDenied")
        );
        let nested = "x: 1 error occurred:\n\t* AccessDenied";
        assert_eq!(clean(nested, true).as_deref(), Some(nested));
    }

    #[test]
    fn the_bridges_urn_prefix_goes_the_message_names_the_resource() {
        let bridged = "creating urn:pulumi:p::s::aws:s3/bucket:Bucket::b: 1 error occurred:\n\t* creating S3 Bucket (b): AccessDenied\n\n";
        assert_eq!(
            clean(bridged, true).as_deref(),
            Some("creating S3 Bucket (b): AccessDenied")
        );
        assert_eq!(
            clean(
                "deleting urn:pulumi:p::s::aws:s3/bucket:Bucket::b: BucketNotEmpty",
                true
            )
            .as_deref(),
            Some("deleting: BucketNotEmpty")
        );
    }
}

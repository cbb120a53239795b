//! Slack's mrkdwn, made safe and kept within limits: escaping of payload text (so a stack named
//! `<!channel>` pings no one), cutting at character boundaries with a visible marker (never
//! inside an entity or an open code block), and the only links a message makes (http(s)).

use std::borrow::Cow;

/// Joins string pieces (anything that derefs to `str`) into one exactly sized `String`.
///
/// Messages are built from short pieces; `format!` costs more per call than everything else
/// this module does (profile in BENCHMARKS.md), so the hot paths concatenate instead.
macro_rules! cat {
    ($($part:expr),+ $(,)?) => {{
        let parts: &[&str] = &[$(&*$part),+];
        let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        for part in parts {
            out.push_str(part);
        }
        out
    }};
}
pub(crate) use cat;

/// What is appended where text was cut.
pub const TRUNCATED: &str = "… [truncated]";

/// Whether `text` has at most `max_chars` characters; a character is at least one byte, so short
/// texts (nearly all) are answered without walking them.
pub(crate) fn fits(text: &str, max_chars: usize) -> bool {
    text.len() <= max_chars || text.char_indices().nth(max_chars).is_none()
}

/// [`truncate`] for an owned text: the same allocation when it fits.
pub(crate) fn fit(text: String, max_chars: usize) -> String {
    if fits(&text, max_chars) {
        text
    } else {
        truncate(&text, max_chars).into_owned()
    }
}

/// Cuts `text` to at most `max_chars` characters, ending with [`TRUNCATED`] when it was cut.
pub fn truncate(text: &str, max_chars: usize) -> Cow<'_, str> {
    if text.len() <= max_chars {
        return Cow::Borrowed(text);
    }
    match text.char_indices().nth(max_chars) {
        None => Cow::Borrowed(text),
        Some(_) => {
            let keep = max_chars.saturating_sub(TRUNCATED.chars().count());
            let end = text.char_indices().nth(keep).map_or(text.len(), |(i, _)| i);
            Cow::Owned(format!("{}{TRUNCATED}", &text[..end]))
        }
    }
}

/// Like [`truncate`], for escaped mrkdwn: never leaves half an entity (`&am`) or an open code
/// block behind the cut.
pub(crate) fn truncate_mrkdwn(text: &str, max_chars: usize) -> Cow<'_, str> {
    let cut = truncate(text, max_chars);
    let Cow::Owned(cut) = cut else { return cut };
    let mut body = &cut[..cut.len() - TRUNCATED.len()];
    if let Some(amp) = body.rfind('&')
        && !body[amp..].contains(';')
    {
        body = &body[..amp];
    }
    // An odd number of fences means the cut fell inside a code block: close it.
    let fence = if body.matches("```").count() % 2 == 1 {
        "\n```"
    } else {
        ""
    };
    let budget = max_chars.saturating_sub(TRUNCATED.chars().count() + fence.chars().count());
    let end = body
        .char_indices()
        .nth(budget)
        .map_or(body.len(), |(i, _)| i);
    Cow::Owned(format!("{}{fence}{TRUNCATED}", &body[..end]))
}

/// Escapes payload text for mrkdwn: `&`, `<`, `>` (Slack's control characters, which would
/// otherwise form mentions and links), and backtick fences that would end a code block early.
pub fn escape(text: &str) -> Cow<'_, str> {
    // All four are ASCII, and an ASCII byte is never part of a longer UTF-8 sequence: scanning
    // bytes and copying the runs between them is safe and much faster than char by char.
    let bytes = text.as_bytes();
    let Some(first) = bytes.iter().position(|&b| escaped_byte(b).is_some()) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    let mut copied = 0;
    for (at, &b) in bytes.iter().enumerate().skip(first) {
        if let Some(replacement) = escaped_byte(b) {
            out.push_str(&text[copied..at]);
            out.push_str(replacement);
            copied = at + 1;
        }
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// What [`escape`] writes for a byte, if it is one it replaces.
pub(crate) fn escaped_byte(b: u8) -> Option<&'static str> {
    match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        // A modifier letter that looks like a backtick but is not mrkdwn syntax.
        b'`' => Some("ˋ"),
        _ => None,
    }
}

/// Only http(s) URLs without characters that would break Slack's `<url|label>` syntax.
pub fn safe_url(url: &str) -> Option<&str> {
    let scheme = url.starts_with("https://") || url.starts_with("http://");
    // Real URLs are ASCII: checked a byte at a time (ASCII whitespace and controls are all
    // <= 0x20 or 0x7f). Others go char by char, as Unicode has more of both.
    let clean = if url.is_ascii() {
        !url.bytes()
            .any(|b| b <= b' ' || b == 0x7f || matches!(b, b'<' | b'>' | b'|'))
    } else {
        !url.contains(|c: char| c.is_whitespace() || c.is_control() || "<>|".contains(c))
    };
    (scheme && clean).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_leaves_short_text_alone() {
        assert!(matches!(truncate("héllo", 5), Cow::Borrowed("héllo")));
    }

    #[test]
    fn truncate_cuts_at_character_boundaries_with_a_marker() {
        let long = "é".repeat(100);
        let cut = truncate(&long, 20);
        assert_eq!(cut.chars().count(), 20);
        assert!(cut.ends_with(TRUNCATED));
        assert!(cut.starts_with("éé"));
    }

    #[test]
    fn truncate_mrkdwn_never_splits_an_entity() {
        let text = format!("{}&amp;{}", "a".repeat(14), "b".repeat(20));
        let marker = TRUNCATED.chars().count();
        let inside = truncate_mrkdwn(&text, 17 + marker);
        assert_eq!(inside, format!("{}{TRUNCATED}", "a".repeat(14)));
        let after = truncate_mrkdwn(&text, 19 + marker);
        assert_eq!(after, format!("{}&amp;{TRUNCATED}", "a".repeat(14)));
    }

    #[test]
    fn truncate_mrkdwn_closes_a_cut_code_block() {
        let text = format!("```{}```", "x".repeat(100));
        let cut = truncate_mrkdwn(&text, 50);
        assert_eq!(cut.matches("```").count(), 2, "{cut}");
        assert!(cut.chars().count() <= 50);
    }

    #[test]
    fn escape_neutralises_mentions_links_and_fences() {
        assert_eq!(escape("<!channel> & `x`"), "&lt;!channel&gt; &amp; ˋxˋ");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn escape_keeps_multibyte_text_around_replacements() {
        assert_eq!(escape("é<ü>`日&"), "é&lt;ü&gt;ˋ日&amp;");
    }

    #[test]
    fn unsafe_urls_are_not_linked() {
        assert_eq!(
            safe_url("https://app.pulumi.com/a"),
            Some("https://app.pulumi.com/a")
        );
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("https://x|<!here>"), None);
        for bad in [
            "https://a b",
            "https://a\tb",
            "https://a\x7fb",
            "https://a>b",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
        assert_eq!(safe_url("https://a\u{2028}b"), None);
        assert_eq!(safe_url("https://日本.jp/x"), Some("https://日本.jp/x"));
    }
}

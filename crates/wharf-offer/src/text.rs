//! Publisher text: Markdown rendered to HTML and sanitized to an allowlist, and the
//! checks on plain-text fields.

use std::collections::HashSet;
use std::sync::LazyLock;

/// Elements a rendered description may keep (the Azure Stack Hub gallery allowlist,
/// plus code, quotes, rules and tables that Markdown produces).
const ALLOWED_TAGS: &[&str] = &[
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "p",
    "ol",
    "ul",
    "li",
    "a",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
];
/// Link schemes a rendered description may keep.
const ALLOWED_SCHEMES: &[&str] = &["https", "http", "mailto"];

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::empty();
    b.tags(ALLOWED_TAGS.iter().copied().collect::<HashSet<_>>())
        .link_rel(Some("noopener noreferrer nofollow ugc"))
        .url_schemes(ALLOWED_SCHEMES.iter().copied().collect::<HashSet<_>>())
        .url_relative(ammonia::UrlRelative::Deny)
        .strip_comments(true);
    b.add_tag_attributes("a", ["href"]);
    b.add_tag_attributes("th", ["align"]);
    b.add_tag_attributes("td", ["align"]);
    b
});

/// Markdown (CommonMark with tables and strikethrough) rendered to HTML, then
/// sanitized: only [`ALLOWED_TAGS`], links only to `https:`, `http:` and `mailto:`
/// (no `javascript:` or `data:`, no relative links), no attributes but `href` and
/// table alignment, no scripts, styles, frames or event handlers (their text goes too).
pub fn render_markdown(source: &str) -> String {
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    let parser = pulldown_cmark::Parser::new_ext(source, options);
    let mut html = String::with_capacity(source.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    SANITIZER.clean(&html).to_string()
}

/// The words of a Markdown text without its markup (for search): text, code and
/// link text, with blocks and line breaks as spaces; raw HTML left out.
pub fn markdown_plain_text(source: &str) -> String {
    use pulldown_cmark::{Event, TagEnd};
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    let mut out = String::with_capacity(source.len());
    for event in pulldown_cmark::Parser::new_ext(source, options) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::Rule => out.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableCell | TagEnd::CodeBlock,
            ) => {
                out.push(' ');
            }
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether rendering `source` has to remove anything the publisher wrote: raw HTML
/// outside the allowlist (or with attributes), a link to a scheme other than
/// `https:`, `http:` or `mailto:`, an image.
pub fn removed_by_sanitizer(source: &str) -> bool {
    use pulldown_cmark::{Event, Tag};
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    pulldown_cmark::Parser::new_ext(source, options).any(|event| match event {
        Event::InlineHtml(tag) => !plain_allowed_tag(&tag),
        Event::Html(html) => {
            let kept = SANITIZER.clean(&html).to_string();
            kept.split_whitespace().ne(html.split_whitespace())
        }
        Event::Start(Tag::Link { dest_url, .. }) => {
            !matches!(url::Url::parse(&dest_url), Ok(u) if ALLOWED_SCHEMES.contains(&u.scheme()))
        }
        Event::Start(Tag::Image { .. }) => true,
        _ => false,
    })
}

/// An inline tag (`<b>`, `</em>`, `<br/>`) of the allowlist without attributes.
fn plain_allowed_tag(tag: &str) -> bool {
    let inner = tag.trim().trim_start_matches('<').trim_end_matches('>').trim_start_matches('/').trim_end_matches('/');
    ALLOWED_TAGS.contains(&inner.trim())
}

/// Length in characters (Unicode scalar values), as limits are stated.
pub fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Text on one line: 1 to `max` characters, not blank, no control characters.
pub fn one_line(s: &str, max: usize) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let len = chars(s);
    if len > max {
        return Err(format!("must be at most {max} characters long (got {len})"));
    }
    if s.chars().any(char::is_control) {
        return Err("must be one line without control characters".into());
    }
    Ok(())
}

/// Text that may span lines: 1 to `max` characters, no control characters but
/// newlines and tabs.
pub fn multi_line(s: &str, max: usize) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    let len = chars(s);
    if len > max {
        return Err(format!("must be at most {max} characters long (got {len})"));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Whether `c` is an emoji or pictograph (the listing name allows only ™ and ©).
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // mahjong to symbols and pictographs extended-A
        | 0x2600..=0x27BF   // miscellaneous symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows and stars used as emoji
        | 0xFE0F            // emoji presentation selector
        | 0x200D            // zero-width joiner of emoji sequences
        | 0x3030 | 0x303D | 0x3297 | 0x3299
        | 0x00AE            // ® (only ™ and © are allowed)
    )
}

/// One sentence: no sentence end (`.`, `!`, `?`) followed by more text.
pub fn one_sentence(s: &str) -> Result<(), String> {
    let t = s.trim();
    let mut it = t.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if matches!(c, '.' | '!' | '?')
            && let Some((_, next)) = it.peek()
            && next.is_whitespace()
            && t[i + 1..].trim_start().starts_with(|c: char| c.is_uppercase())
        {
            return Err("must be one sentence".into());
        }
    }
    Ok(())
}

/// An absolute `https` URL of at most 2,048 characters (`http` too when `allow_http`).
pub fn web_url(s: &str, allow_http: bool) -> Result<(), String> {
    if s.len() > 2048 {
        return Err("must be at most 2,048 characters long".into());
    }
    let u = url::Url::parse(s).map_err(|e| format!("is not a URL ({e})"))?;
    match u.scheme() {
        "https" => {}
        "http" if allow_http => {}
        other => return Err(format!("must be an https URL (got {other}:)")),
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err("must name a host".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("must not contain credentials".into());
    }
    Ok(())
}

/// A plausible e-mail address (the rule accounts use too).
pub fn email(s: &str) -> Result<(), String> {
    wharf_core::text::email_rule(s)
}

/// A phone number in international format: `+`, then 7 to 15 digits, optionally
/// grouped by spaces, dashes, dots or parentheses.
pub fn phone(s: &str) -> Result<(), String> {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let ok = s.starts_with('+')
        && (7..=15).contains(&digits)
        && s[1..].chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'));
    if ok { Ok(()) } else { Err("must be a phone number in international format, e.g. +31 20 123 4567".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_keeps_the_words_only() {
        let source =
            "# Fast DB\n\nA **fast** `kv` store.\n\n- one\n- two\n\n<script>x()</script>\n[docs](https://example.com)";
        assert_eq!(markdown_plain_text(source), "Fast DB A fast kv store. one two docs");
    }

    #[test]
    fn markdown_is_rendered_and_sanitized() {
        let source = "# Fast DB\n\nA **fast** database. [docs](https://example.com/docs) \
            [bad](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n\
            <script>alert('x')</script>\n\n<iframe src=\"https://evil.example\"></iframe>\n\n\
            <p onclick=\"steal()\">click</p>\n\n<img src=x onerror=alert(1)>\n\n- one\n- two\n";
        let html = render_markdown(source);
        insta::assert_snapshot!(html);
        for gone in ["script", "iframe", "onclick", "onerror", "javascript:", "data:", "<img"] {
            assert!(!html.contains(gone), "{gone} in {html}");
        }
        assert!(removed_by_sanitizer(source));
        assert!(!removed_by_sanitizer("A <b>bold</b> word and <em>more</em>.<br/>"));
        assert!(removed_by_sanitizer("A <span>styled</span> word."));
        assert!(removed_by_sanitizer("A <b onclick=\"x()\">word</b>."));
        assert!(removed_by_sanitizer("![logo](https://example.com/x.png)"));
        assert!(!removed_by_sanitizer(
            "# Title\n\nSome *text* with a [link](https://example.com) & \"quotes\".\n\n---\n\n| a | b |\n|---|:-:|\n| 1 | 2 |\n"
        ));
    }

    #[test]
    fn plain_text_rules() {
        assert!(one_sentence("Fast, managed PostgreSQL for Kubernetes.").is_ok());
        assert!(one_sentence("Version 1.2 of it, e.g. the best").is_ok());
        assert!(one_sentence("Fast database. Runs anywhere.").is_err());
        assert!(one_line("a\nb", 10).is_err());
        assert!(one_line(&"é".repeat(11), 10).is_err());
        assert!(multi_line("a\nb", 10).is_ok());
        assert!(web_url("https://example.com/privacy", false).is_ok());
        for bad in ["http://example.com", "javascript:alert(1)", "ftp://x.y", "https://u:p@x.y", "not a url"] {
            assert!(web_url(bad, false).is_err(), "{bad}");
        }
        assert!(phone("+31 20 123 4567").is_ok());
        assert!(phone("020 123").is_err());
        assert!(email("support@contoso.example").is_ok());
        assert!(is_emoji('🚀') && !is_emoji('™') && !is_emoji('©') && is_emoji('®'));
    }
}

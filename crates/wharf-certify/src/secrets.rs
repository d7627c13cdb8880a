//! Secrets in an image: private keys and common token formats, in the environment,
//! the config and the files. Matches are reported redacted: enough to find and
//! recognise the secret, never enough to use it.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// A kind of secret and how it looks.
struct Rule {
    id: &'static str,
    what: &'static str,
    pattern: Regex,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    // ASCII word boundaries (`(?-u)`): Unicode ones would make the scan of binary
    // files fall back to the slow engines.
    let rule = |id, what, pattern: &str| Rule {
        id,
        what,
        pattern: Regex::new(&format!("(?-u){pattern}")).expect("valid secret pattern"),
    };
    vec![
        // The header and a key's worth of base64 after it (a header alone is just the
        // string constant every TLS library carries).
        rule(
            "private-key",
            "a private key",
            r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----\r?\n(?:[A-Za-z-]+: [^\n]*\n)*\r?\n?[A-Za-z0-9+/=\r\n]{64,}",
        ),
        rule("aws-access-key", "an AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        rule("github-token", "a GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{36,255}\b"),
        rule("gitlab-token", "a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
        rule("slack-token", "a Slack token", r"\bxox[abpors]-[A-Za-z0-9-]{10,}\b"),
        rule("stripe-key", "a Stripe secret key", r"\b[rs]k_live_[A-Za-z0-9]{20,}\b"),
        rule("google-api-key", "a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
        rule("wharf-token", "a Wharf API token", r"\bwharf_pat_[A-Za-z0-9_-]{20,}\b"),
    ]
});

/// Files larger than this are not searched (they are not where secrets hide).
pub const MAX_SCANNED_BYTES: u64 = 8 << 20;

/// A secret found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The rule's id, e.g. `aws-access-key`.
    pub rule: &'static str,
    /// What it is, in words.
    pub what: &'static str,
    /// The match, redacted: its first 4 characters, then `…` and its length.
    pub redacted: String,
    /// 1-based line of the match.
    pub line: usize,
}

fn redact(m: &[u8]) -> String {
    let text = String::from_utf8_lossy(m);
    let head: String = text.chars().take(4).collect();
    format!("{head}…({} characters)", text.chars().count())
}

static SET: LazyLock<regex::bytes::RegexSet> = LazyLock::new(|| {
    regex::bytes::RegexSet::new(RULES.iter().map(|r| r.pattern.as_str())).expect("valid secret patterns")
});

/// Every secret in `bytes` (one pass over them when there is none).
pub fn scan(bytes: &[u8]) -> Vec<Secret> {
    let mut out = Vec::new();
    let hits = SET.matches(bytes);
    if !hits.matched_any() {
        return out;
    }
    for r in hits.iter().map(|i| &RULES[i]) {
        for m in r.pattern.find_iter(bytes) {
            let line = bytes[..m.start()].iter().filter(|&&b| b == b'\n').count() + 1;
            out.push(Secret { rule: r.id, what: r.what, redacted: redact(m.as_bytes()), line });
        }
    }
    out.sort_by_key(|s| s.line);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_found_and_redacted() {
        let text = b"key=AKIAABCDEFGHIJKLMNOP\ntoken: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\nQyNTUxOQAAACDnXz2eFq\n-----END OPENSSH PRIVATE KEY-----\n";
        let found = scan(text);
        let ids: Vec<&str> = found.iter().map(|s| s.rule).collect();
        assert_eq!(ids, ["aws-access-key", "github-token", "private-key"]);
        assert_eq!(found[0].redacted, "AKIA…(20 characters)");
        assert_eq!((found[1].line, found[2].line), (2, 3));
        assert!(scan(b"AKIA is a prefix; ghp_short; nothing here").is_empty());
        // A PEM header in a library's string table is not a key.
        assert!(scan(b"\0-----BEGIN RSA PRIVATE KEY-----\0-----END RSA PRIVATE KEY-----\0").is_empty());
    }
}

//! Text fields people type, parsed once at the boundary: e-mail addresses and labels
//! (display names, token names). Each type only holds text that keeps its rule, so a
//! surface that has one has checked it, and every surface checks it the same way.

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;
/// Longest API token name, in characters.
pub const MAX_TOKEN_NAME: usize = 64;
/// Longest e-mail address, in bytes (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;

/// The rule of a plausible e-mail address: one `@`, something on both sides, a dot in
/// the domain, no spaces, at most 254 bytes. (Whether it receives mail is not for us
/// to decide.) Shared by accounts and offer documents.
pub fn email_rule(s: &str) -> Result<(), String> {
    if s.len() > MAX_EMAIL {
        return Err(format!("must be at most {MAX_EMAIL} characters long"));
    }
    let ok = s.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
    });
    if !ok || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must be an e-mail address such as name@example.com".into());
    }
    Ok(())
}

/// The rule of free text shown to people: 1 to `max` characters, not blank, no
/// control characters.
pub fn label_rule(s: &str, max: usize) -> Result<(), String> {
    let len = s.chars().count();
    if s.trim().is_empty() {
        return Err("must not be empty".into());
    }
    if len > max {
        return Err(format!("must be at most {max} characters long (got {len})"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

text_newtype!(
    /// A plausible e-mail address ([`email_rule`]).
    Email,
    String,
    email_rule
);

text_newtype!(
    /// An organization's human-friendly name: 1 to 100 characters.
    DisplayName,
    String,
    |s| label_rule(s, MAX_DISPLAY_NAME)
);

text_newtype!(
    /// An API token's label: 1 to 64 characters.
    TokenName,
    String,
    |s| label_rule(s, MAX_TOKEN_NAME)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!("a@example.com".parse::<Email>().is_ok());
        for bad in ["", "a", "a@b", "@example.com", "a@.com", "a b@example.com", "a@b@c.com"] {
            assert!(bad.parse::<Email>().is_err(), "{bad}");
        }
        assert!("ACME Corp".parse::<DisplayName>().is_ok());
        assert_eq!(
            "x".repeat(101).parse::<DisplayName>().unwrap_err(),
            "must be at most 100 characters long (got 101)"
        );
        assert!(" ".parse::<DisplayName>().is_err());
        assert!("a\u{7}".parse::<TokenName>().is_err());
        assert!("x".repeat(65).parse::<TokenName>().is_err());
    }
}

//! Field rules shared by the handlers. Each returns the rule broken, so handlers can
//! collect every invalid field before answering.

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 100;
/// Longest token name, in characters.
pub const MAX_TOKEN_NAME: usize = 64;

/// A plausible e-mail address: one `@`, something on both sides, no spaces, at
/// most 254 characters. (Whether it receives mail is not for us to decide.)
pub fn email(s: &str) -> Result<(), String> {
    wharf_offer::text::email(s)
}

/// Free text shown to people: 1 to `max` characters, no control characters.
pub fn label(s: &str, max: usize) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(email("a@example.com").is_ok());
        for bad in ["", "a", "a@b", "@example.com", "a@.com", "a b@example.com", "a@b@c.com"] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(label("ACME Corp", 100).is_ok());
        assert_eq!(label(&"x".repeat(101), 100).unwrap_err(), "must be at most 100 characters long (got 101)");
        assert!(label(" ", 100).is_err());
        assert!(label("a\u{7}", 100).is_err());
    }
}

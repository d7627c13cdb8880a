//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): each delivery
//! carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`,
//! `v1,` then the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the
//! endpoint's secret, written `whsec_` then base64 of its bytes.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// The prefix of a secret's text.
const PREFIX: &str = "whsec_";

/// Why a secret or a signature is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// Not `whsec_` and base64 of 24 to 64 bytes.
    #[error("a webhook secret is whsec_ followed by base64 of 24 to 64 bytes")]
    BadSecret,
    /// No `v1` signature in the header matches.
    #[error("no signature matches")]
    Mismatch,
    /// The system's random source failed.
    #[error("no randomness for a webhook secret")]
    NoRandomness,
}

/// A webhook endpoint's signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Secret {
    /// A new random secret of 32 bytes.
    pub fn generate() -> Result<Secret, SignatureError> {
        let mut bytes = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SignatureError::NoRandomness)?;
        Ok(Secret(bytes))
    }

    /// A secret someone chose (a lead destination's): a `whsec_<base64>` secret is
    /// decoded as usual; any other text of 16 to 256 bytes is used as the key itself.
    pub fn from_text(text: &str) -> Result<Secret, SignatureError> {
        if let Ok(secret) = text.parse::<Secret>() {
            return Ok(secret);
        }
        if (16..=256).contains(&text.len()) {
            Ok(Secret(text.as_bytes().to_vec()))
        } else {
            Err(SignatureError::BadSecret)
        }
    }

    /// The secret as it is shown once and stored: `whsec_<base64>`.
    pub fn expose(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The `webhook-signature` value for a message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    /// Checks a `webhook-signature` value (one or more space-separated `v1,<sig>`).
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str) -> Result<(), SignatureError> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let message = message(id, timestamp, body);
        let matches = header
            .split_whitespace()
            .filter_map(|s| s.strip_prefix("v1,"))
            .any(|sig| STANDARD.decode(sig).is_ok_and(|tag| hmac::verify(&key, &message, &tag).is_ok()));
        if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        hmac::sign(&key, &message(id, timestamp, body)).as_ref().to_vec()
    }
}

impl std::str::FromStr for Secret {
    type Err = SignatureError;

    fn from_str(s: &str) -> Result<Secret, SignatureError> {
        let bytes = s.strip_prefix(PREFIX).and_then(|b| STANDARD.decode(b).ok()).ok_or(SignatureError::BadSecret)?;
        if (24..=64).contains(&bytes.len()) { Ok(Secret(bytes)) } else { Err(SignatureError::BadSecret) }
    }
}

fn message(id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut m = format!("{id}.{timestamp}.").into_bytes();
    m.extend_from_slice(body);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chosen_secrets_are_keys_unless_whsec() {
        let a = Secret::from_text("sixteen-chars-ok").unwrap();
        assert_eq!(a.0, b"sixteen-chars-ok");
        let b = Secret::from_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(b.0.len(), 24);
        assert!(Secret::from_text("short").is_err());
    }

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_specifications_example() {
        let secret: Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let timestamp = 1614265330;
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(secret.sign(id, timestamp, body), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(
            secret.verify(id, timestamp, body, "v1,bogus v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
            Ok(())
        );
        assert_eq!(
            secret.verify(id, timestamp + 1, body, &secret.sign(id, timestamp, body)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_refused() {
        let s = Secret::generate().unwrap();
        assert_eq!(s.expose().parse::<Secret>().unwrap(), s);
        assert_ne!(Secret::generate().unwrap(), s);
        for bad in ["", "whsec_", "whsec_!!!", "whsec_YWJj", "sk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
            assert_eq!(bad.parse::<Secret>(), Err(SignatureError::BadSecret), "{bad}");
        }
    }
}

//! The key ring that signs and verifies registry tokens.
//!
//! Keys are ECDSA P-256 (JOSE `ES256`), generated at first start and stored in the
//! database so that every node signs and verifies with the same keys. A key's id is
//! its RFC 7638 JWK thumbprint. The newest key signs; every stored key verifies and is
//! published as a JWK set at `/.well-known/jwks.json`.
//!
//! Verification only ever uses keys from this ring, looked up by the token's `kid`:
//! key material carried inside a token (`jwk`, `x5c`, `jku` headers) is ignored
//! (the registry bug CVE-2025-24976), and any algorithm but ES256, `none` included,
//! is refused before a key is consulted.

use std::collections::HashMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wharf_core::Timestamp;
use wharf_db::Db;
use wharf_db::keys::SigningKeyRecord;

use crate::{AuthError, TokenError};

const ALGORITHM: &str = "ES256";

struct VerifyingKey {
    key: DecodingKey,
    jwk: serde_json::Value,
}

/// Signing and verification keys.
pub struct KeyRing {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, VerifyingKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("signing_kid", &self.signing_kid).finish_non_exhaustive()
    }
}

/// A freshly generated key, ready to store.
pub fn generate_key() -> Result<SigningKeyRecord, AuthError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| AuthError::Internal("cannot generate a P-256 key".into()))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .map_err(|_| AuthError::Internal("cannot read back the generated key".into()))?;
    let point = pair.public_key().as_ref().to_vec();
    Ok(SigningKeyRecord {
        kid: thumbprint(&point)?,
        algorithm: ALGORITHM.into(),
        private_key: STANDARD.encode(pkcs8.as_ref()),
        public_key: STANDARD.encode(&point),
        created_at: Timestamp::now(),
        retired_at: None,
    })
}

/// x and y of an uncompressed P-256 point (`04 || x || y`), base64url.
fn coordinates(point: &[u8]) -> Result<(String, String), AuthError> {
    if point.len() != 65 || point[0] != 4 {
        return Err(AuthError::Internal("stored public key is not an uncompressed P-256 point".into()));
    }
    Ok((URL_SAFE_NO_PAD.encode(&point[1..33]), URL_SAFE_NO_PAD.encode(&point[33..])))
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(point: &[u8]) -> Result<String, AuthError> {
    let (x, y) = coordinates(point)?;
    let canonical = format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
    Ok(URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes())))
}

impl KeyRing {
    /// Loads the stored keys, generating and storing the first one when there is none.
    /// Safe when several nodes start at once: each may add a key, all are kept, the
    /// newest signs everywhere after the next load.
    pub async fn load_or_create(db: &Db) -> Result<KeyRing, AuthError> {
        let mut records = db.signing_keys().await?;
        if !records.iter().any(|r| r.retired_at.is_none()) {
            let key = generate_key()?;
            tracing::info!(key.id = %key.kid, "generated the registry token signing key");
            db.insert_signing_key(&key).await?;
            records = db.signing_keys().await?;
        }
        KeyRing::from_records(&records)
    }

    /// Builds a ring from stored keys (newest first).
    pub fn from_records(records: &[SigningKeyRecord]) -> Result<KeyRing, AuthError> {
        let mut verifying = HashMap::new();
        for r in records {
            if r.algorithm != ALGORITHM {
                return Err(AuthError::Internal(format!("key {} uses unsupported algorithm {}", r.kid, r.algorithm)));
            }
            let point = STANDARD
                .decode(&r.public_key)
                .map_err(|e| AuthError::Internal(format!("key {}: bad public key encoding: {e}", r.kid)))?;
            let (x, y) = coordinates(&point)?;
            let jwk = serde_json::json!({
                "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": r.kid, "alg": ALGORITHM, "use": "sig",
            });
            verifying.insert(r.kid.clone(), VerifyingKey { key: DecodingKey::from_ec_der(&point), jwk });
        }
        let active = records
            .iter()
            .filter(|r| r.retired_at.is_none())
            .max_by_key(|r| (r.created_at, r.kid.clone()))
            .ok_or_else(|| AuthError::Internal("no active signing key".into()))?;
        let pkcs8 = STANDARD
            .decode(&active.private_key)
            .map_err(|e| AuthError::Internal(format!("key {}: bad private key encoding: {e}", active.kid)))?;
        Ok(KeyRing { signing_kid: active.kid.clone(), signing: EncodingKey::from_ec_der(&pkcs8), verifying })
    }

    /// The id of the key that signs.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// The public keys as a JWK set.
    pub fn jwks(&self) -> serde_json::Value {
        let mut keys: Vec<_> = self.verifying.values().map(|k| k.jwk.clone()).collect();
        keys.sort_by(|a, b| a["kid"].as_str().cmp(&b["kid"].as_str()));
        serde_json::json!({ "keys": keys })
    }

    /// Signs claims with the newest key.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.signing_kid.clone());
        jsonwebtoken::encode(&header, claims, &self.signing).map_err(|e| AuthError::Internal(format!("signing: {e}")))
    }

    /// Verifies a token signed by one of our keys, checking expiry, audience and issuer.
    pub fn verify<T: DeserializeOwned>(&self, token: &str, audience: &str, issuer: &str) -> Result<T, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| TokenError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::ES256 {
            return Err(TokenError::Malformed(format!("algorithm {:?} is not accepted; tokens use ES256", header.alg)));
        }
        let key = header.kid.as_deref().and_then(|kid| self.verifying.get(kid)).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.leeway = 30;
        validation.set_audience(&[audience]);
        validation.set_issuer(&[issuer]);
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        validation.validate_nbf = true;
        jsonwebtoken::decode::<T>(token, &key.key, &validation).map(|data| data.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature | ErrorKind::ImmatureSignature => TokenError::Expired,
                ErrorKind::InvalidAudience | ErrorKind::InvalidIssuer => TokenError::WrongAudience,
                _ => TokenError::Malformed(e.to_string()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kid_is_the_rfc7638_thumbprint_and_jwks_lists_it() {
        let record = generate_key().unwrap();
        let ring = KeyRing::from_records(std::slice::from_ref(&record)).unwrap();
        assert_eq!(ring.signing_kid(), record.kid);
        let jwks = ring.jwks();
        let jwk = &jwks["keys"][0];
        assert_eq!(jwk["kid"], record.kid.as_str());
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        assert_eq!(
            URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes())),
            record.kid
        );
        assert!(!jwks.to_string().contains(&record.private_key), "private key never published");
    }
}

//! The marketplace's signature on the images it promotes, in cosign's format, so
//! that `cosign verify --key` and containers/image (`skopeo`, `podman` with a
//! `sigstoreSigned` policy) accept it.
//!
//! A signature is an OCI image manifest tagged `sha256-<hex>.sig` beside the signed
//! manifest. Each layer is a "simple signing" payload (media type
//! `application/vnd.dev.cosign.simplesigning.v1+json`): the signed manifest's digest
//! and a `docker-reference` naming the image as clients pull it
//! (`<registry host>/<repository>:<tag>`), with the ECDSA P-256 SHA-256 signature
//! (ASN.1 DER, base64) of the payload bytes in the layer's
//! `dev.cosignproject.cosign/signature` annotation. One layer per tag, so that
//! containers/image's default identity rule (`matchRepoDigestOrExact`) accepts a pull
//! by tag as well as by digest.
//!
//! The key is the operator's (`[marketplace] signing_key`, a PEM file: PKCS#8 or SEC1)
//! or, without one, generated at first use and kept in the database so that every
//! node signs with the same key. Its public key is published (PEM) for verifiers.
//!
//! aws-lc-rs does the cryptography: it is already the workspace's provider (rustls,
//! jsonwebtoken), so no second ECDSA implementation enters the build.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use wharf_oci::Digest;

use crate::AppError;

/// The database id of the generated key.
const KEY_ID: &str = "cosign";
/// The payload's media type.
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// The annotation that carries a payload's signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The marketplace's signing key.
pub struct Signer {
    pair: EcdsaKeyPair,
    public_pem: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("public_pem", &self.public_pem).finish_non_exhaustive()
    }
}

impl Signer {
    /// The key of a PEM file: `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC1), P-256.
    pub fn from_pem(pem: &str) -> Result<Signer, String> {
        let mut body = String::new();
        let mut inside = false;
        for line in pem.lines().map(str::trim) {
            if line.starts_with("-----BEGIN ") {
                if !line.contains("PRIVATE KEY") || line.contains("ENCRYPTED") {
                    return Err(format!(
                        "{line}: expected an unencrypted P-256 private key (BEGIN PRIVATE KEY or BEGIN EC PRIVATE KEY), e.g. from `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`"
                    ));
                }
                inside = true;
            } else if line.starts_with("-----END ") {
                break;
            } else if inside {
                body.push_str(line);
            }
        }
        if body.is_empty() {
            return Err("no PEM private key found".into());
        }
        let der = STANDARD.decode(&body).map_err(|e| format!("the PEM body is not base64: {e}"))?;
        let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_ASN1_SIGNING, &der)
            .map_err(|e| format!("not a P-256 private key: {e}"))?;
        Signer::from_pair(pair)
    }

    fn from_pair(pair: EcdsaKeyPair) -> Result<Signer, String> {
        let spki = pair.public_key().as_der().map_err(|_| "cannot encode the public key".to_owned())?;
        let public_pem = pem("PUBLIC KEY", spki.as_ref());
        Ok(Signer { pair, public_pem })
    }

    /// The key stored in the database, generated and stored first if there is none
    /// (when two nodes race, both end up with the first one stored).
    pub(crate) async fn stored(db: &wharf_db::Db) -> Result<Signer, AppError> {
        let (private, _) = match db.marketplace_key(KEY_ID).await? {
            Some(key) => key,
            None => {
                let rng = SystemRandom::new();
                let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
                    .map_err(|_| AppError::Internal("cannot generate a P-256 key".into()))?;
                let signer = Signer::from_pkcs8(pkcs8.as_ref())?;
                db.insert_marketplace_key(KEY_ID, &STANDARD.encode(pkcs8.as_ref()), &signer.public_pem).await?
            }
        };
        let der = STANDARD.decode(private).map_err(|e| AppError::Internal(format!("stored signing key: {e}")))?;
        Signer::from_pkcs8(&der)
    }

    fn from_pkcs8(der: &[u8]) -> Result<Signer, AppError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
            .map_err(|e| AppError::Internal(format!("stored signing key: {e}")))?;
        Signer::from_pair(pair).map_err(AppError::Internal)
    }

    /// The public key, PEM (`BEGIN PUBLIC KEY`), as `cosign verify --key` and
    /// containers/image's `keyPath` read it.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    /// The ASN.1 DER signature of `payload`, base64.
    pub fn sign(&self, payload: &[u8]) -> Result<String, AppError> {
        let sig =
            self.pair.sign(&SystemRandom::new(), payload).map_err(|_| AppError::Internal("signing failed".into()))?;
        Ok(STANDARD.encode(sig.as_ref()))
    }
}

/// The simple-signing payload claiming that `reference` (`host/repository:tag`) is
/// the manifest `digest`.
pub fn payload(reference: &str, digest: &Digest) -> Vec<u8> {
    let doc = json!({
        "critical": {
            "identity": {"docker-reference": reference},
            "image": {"docker-manifest-digest": digest.as_str()},
            "type": "cosign container image signature",
        },
        "optional": null,
    });
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The tag cosign keeps the signatures of `digest` under.
pub fn signature_tag(digest: &Digest) -> String {
    format!("{}-{}.sig", digest.algorithm(), digest.hex())
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};

    use super::*;

    #[test]
    fn a_signature_verifies_with_the_published_key_and_names_the_digest() {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap();
        let pem_key = pem("PRIVATE KEY", pkcs8.as_ref());
        let signer = Signer::from_pem(&pem_key).unwrap();
        let digest: Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef".parse().unwrap();
        let body = payload("127.0.0.1:5000/mp/acme/web/std/web:1.0", &digest);
        let sig = STANDARD.decode(signer.sign(&body).unwrap()).unwrap();
        let point = signer.pair.public_key().as_ref().to_vec();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &point).verify(&body, &sig).unwrap();
        let mut tampered = body.clone();
        tampered[20] ^= 1;
        assert!(UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &point).verify(&tampered, &sig).is_err());
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(doc["critical"]["image"]["docker-manifest-digest"], digest.as_str());
        assert!(signer.public_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert_eq!(signature_tag(&digest), format!("sha256-{}.sig", digest.hex()));
    }

    #[test]
    fn keys_that_are_not_p256_private_keys_are_refused_with_the_reason() {
        for (pem_text, why) in [
            ("", "no PEM private key"),
            ("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "unencrypted"),
            ("-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n", "not base64"),
            ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "not a P-256"),
        ] {
            let err = Signer::from_pem(pem_text).unwrap_err();
            assert!(err.contains(why), "{pem_text:?}: {err}");
        }
    }
}

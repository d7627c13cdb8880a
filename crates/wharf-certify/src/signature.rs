//! Publisher signatures in cosign's format: a signature manifest tagged
//! `sha256-<hex of the signed digest>.sig` whose layers are simple-signing payloads
//! (`{"critical": {"image": {"docker-manifest-digest": …}, "type": "cosign container image
//! signature", …}}`), each with its ECDSA P-256 signature (base64, ASN.1 DER, over the
//! SHA-256 of the payload) in the `dev.cosignproject.cosign/signature` annotation.
//!
//! A signature is valid when a payload names the certified image's digest, has the
//! cosign type, and verifies with one of the policy's public keys (PEM `PUBLIC KEY`,
//! ECDSA P-256, as `cosign generate-key-pair` writes them).

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use base64::Engine as _;
use serde::Deserialize;

use crate::image::Layout;

/// The annotation that carries a layer's signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";

/// The tag cosign stores the signatures of `digest` under.
pub fn signature_tag(digest: &str) -> String {
    digest.replacen(':', "-", 1) + ".sig"
}

/// A public key that verifies signatures.
#[derive(Debug, Clone)]
pub struct PublicKey {
    /// Where it came from (for messages).
    pub name: String,
    point: Vec<u8>,
}

/// The DER prefix of an ECDSA P-256 SubjectPublicKeyInfo (the 65-byte point follows).
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (ECDSA P-256).
    pub fn from_pem(name: &str, pem: &str) -> Result<PublicKey, String> {
        let body: String = pem
            .lines()
            .skip_while(|l| !l.starts_with("-----BEGIN PUBLIC KEY-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        if body.is_empty() {
            return Err(format!("{name}: not a PEM public key (-----BEGIN PUBLIC KEY-----)"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .map_err(|e| format!("{name}: the PEM body is not base64: {e}"))?;
        match der.strip_prefix(&P256_SPKI_PREFIX[..]) {
            Some(point) if point.len() == 65 && point[0] == 4 => {
                Ok(PublicKey { name: name.to_owned(), point: point.to_vec() })
            }
            _ => Err(format!("{name}: not an ECDSA P-256 public key (the key cosign generate-key-pair writes)")),
        }
    }

    /// Wraps a public key's uncompressed point (for tests and tools that hold the point).
    pub fn from_point(name: &str, point: &[u8]) -> PublicKey {
        PublicKey { name: name.to_owned(), point: point.to_vec() }
    }

    /// This key as PEM.
    pub fn to_pem(&self) -> String {
        let mut der = P256_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.point);
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
    }

    fn verifies(&self, payload: &[u8], signature: &[u8]) -> bool {
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &self.point).verify(payload, signature).is_ok()
    }
}

#[derive(Debug, Deserialize)]
struct SigManifest {
    #[serde(default)]
    layers: Vec<SigLayer>,
}

#[derive(Debug, Deserialize)]
struct SigLayer {
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct Payload {
    critical: Critical,
}

#[derive(Debug, Deserialize)]
struct Critical {
    #[serde(rename = "type")]
    kind: String,
    image: PayloadImage,
}

#[derive(Debug, Deserialize)]
struct PayloadImage {
    #[serde(rename = "docker-manifest-digest")]
    digest: String,
}

/// What the signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A payload for the digest verifies with this key.
    Valid(String),
    /// No signature, or none valid: why.
    Invalid(String),
}

/// Checks the signatures the layout holds for `digest` against `keys`.
pub fn check(layout: &Layout, digest: &str, keys: &[PublicKey]) -> Outcome {
    let tag = signature_tag(digest);
    let Some(manifest_digest) = layout.tagged(&tag) else {
        return Outcome::Invalid(format!(
            "the image has no signature (no {tag} in the layout; copy it with the image)"
        ));
    };
    let manifest: SigManifest = match layout.read_json(&manifest_digest) {
        Ok(m) => m,
        Err(e) => return Outcome::Invalid(format!("the signature manifest {manifest_digest} cannot be read: {e}")),
    };
    let mut why = Vec::new();
    for layer in &manifest.layers {
        let Some(sig) = layer.annotations.get(SIGNATURE_ANNOTATION) else { continue };
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig.trim()) else {
            why.push(format!("{}: the signature is not base64", layer.digest));
            continue;
        };
        let payload = match layout.read_blob(&layer.digest) {
            Ok(p) => p,
            Err(e) => {
                why.push(format!("{}: {e}", layer.digest));
                continue;
            }
        };
        match serde_json::from_slice::<Payload>(&payload) {
            Ok(p) if p.critical.image.digest != digest => {
                why.push(format!("a signature is for {}, not this image", p.critical.image.digest));
                continue;
            }
            Ok(p) if p.critical.kind != "cosign container image signature" => {
                why.push(format!("a signature payload has type {:?}", p.critical.kind));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                why.push(format!("a signature payload is not simple signing JSON: {e}"));
                continue;
            }
        }
        if let Some(k) = keys.iter().find(|k| k.verifies(&payload, &sig)) {
            return Outcome::Valid(k.name.clone());
        }
        why.push("a signature does not verify with any of the policy's keys".to_owned());
    }
    if why.is_empty() {
        why.push(format!("the signature manifest {manifest_digest} holds no signature"));
    }
    Outcome::Invalid(why.join("; "))
}

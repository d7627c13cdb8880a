//! Content digests as defined by the OCI image specification (`descriptor.md`).
//!
//! Only the registered algorithms are accepted, with their exact encoded lengths and
//! lowercase hex, which is stricter than the spec's general grammar on purpose: a
//! digest becomes part of a storage key, so anything we cannot verify is refused.

use std::fmt;
use std::str::FromStr;

/// A registered digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the default and the only algorithm most clients use.
    Sha256,
    /// SHA-512, accepted by the OCI specification.
    Sha512,
}

impl Algorithm {
    /// The algorithm's name as it appears before the colon.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex encoding of a digest of this algorithm.
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    /// A fresh streaming hasher for this algorithm.
    pub fn hasher(self) -> Hasher {
        Hasher::new(self)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "sha256" => Ok(Algorithm::Sha256),
            "sha512" => Ok(Algorithm::Sha512),
            other => Err(DigestError::UnsupportedAlgorithm(truncate(other))),
        }
    }
}

/// A validated digest such as `sha256:2c26b46b…`.
///
/// Stored in its canonical string form; `hex()` and `algorithm()` are views into it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    algorithm: Algorithm,
    text: String,
}

impl Digest {
    /// The digest's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The lowercase hex encoding (the part after the colon).
    pub fn hex(&self) -> &str {
        &self.text[self.algorithm.as_str().len() + 1..]
    }

    /// The canonical `algorithm:hex` form.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Digest of a complete byte slice.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = algorithm.hasher();
        hasher.update(bytes);
        hasher.finish()
    }

    fn from_parts(algorithm: Algorithm, hex: &str) -> Digest {
        Digest { algorithm, text: format!("{algorithm}:{hex}") }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.text)
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (alg, hex) = s.split_once(':').ok_or_else(|| DigestError::Malformed(truncate(s)))?;
        let algorithm: Algorithm = alg.parse()?;
        if hex.len() != algorithm.hex_len() {
            return Err(DigestError::WrongLength { algorithm, expected: algorithm.hex_len(), actual: hex.len() });
        }
        if !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(DigestError::NotLowercaseHex(truncate(s)));
        }
        Ok(Digest::from_parts(algorithm, hex))
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Why a string is not a digest we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// No `algorithm:` prefix.
    #[error("malformed digest {0:?}: expected ALGORITHM:HEX, e.g. sha256:<64 hex digits>")]
    Malformed(String),
    /// An algorithm other than sha256 or sha512.
    #[error("unsupported digest algorithm {0:?}: only sha256 and sha512 are accepted")]
    UnsupportedAlgorithm(String),
    /// The encoded part has the wrong length for its algorithm.
    #[error("a {algorithm} digest has {expected} hex digits, this one has {actual}")]
    WrongLength {
        /// The digest's algorithm.
        algorithm: Algorithm,
        /// Required number of hex digits.
        expected: usize,
        /// Number found.
        actual: usize,
    },
    /// Characters other than `0-9a-f` in the encoded part.
    #[error("digest {0:?} must be lowercase hexadecimal after the colon")]
    NotLowercaseHex(String),
}

/// Keeps error messages bounded when the input is hostile.
fn truncate(s: &str) -> String {
    const MAX: usize = 80;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A streaming hasher for one of the registered algorithms, on aws-lc's assembly
/// implementations (on CPUs without SHA extensions they run about twice as fast as
/// portable code, and hashing bounds how fast blobs can be pushed).
#[derive(Clone)]
pub struct Hasher {
    algorithm: Algorithm,
    context: aws_lc_rs::digest::Context,
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hasher({})", self.algorithm)
    }
}

impl Hasher {
    fn new(algorithm: Algorithm) -> Hasher {
        let alg = match algorithm {
            Algorithm::Sha256 => &aws_lc_rs::digest::SHA256,
            Algorithm::Sha512 => &aws_lc_rs::digest::SHA512,
        };
        Hasher { algorithm, context: aws_lc_rs::digest::Context::new(alg) }
    }

    /// The algorithm this hasher computes.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    /// Finishes and returns the digest.
    pub fn finish(self) -> Digest {
        let out = self.context.finish();
        Digest::from_parts(self.algorithm, &hex::encode(out.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashes_match_known_vectors() {
        assert_eq!(Digest::of(Algorithm::Sha256, b"").as_str(), EMPTY_SHA256);
        let d = Digest::of(Algorithm::Sha512, b"abc");
        assert!(d.hex().starts_with("ddaf35a193617aba"), "{d}");
        assert_eq!(d.hex().len(), 128);
    }

    #[test]
    fn streaming_equals_one_shot() {
        let data = vec![7u8; 100_000];
        let mut h = Algorithm::Sha256.hasher();
        for chunk in data.chunks(333) {
            h.update(chunk);
        }
        assert_eq!(h.finish(), Digest::of(Algorithm::Sha256, &data));
    }

    #[test]
    fn parse_table() {
        let cases: &[(&str, Result<(), &str>)] = &[
            (EMPTY_SHA256, Ok(())),
            ("sha256:e3b0", Err("has 64 hex digits, this one has 4")),
            ("sha256:../../../../etc/passwd", Err("has 64 hex digits")),
            ("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", Err("lowercase")),
            ("md5:d41d8cd98f00b204e9800998ecf8427e", Err("unsupported digest algorithm \"md5\"")),
            ("e3b0c44298fc", Err("expected ALGORITHM:HEX")),
            ("", Err("expected ALGORITHM:HEX")),
            ("sha256:zzb0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Err("lowercase")),
        ];
        for (input, expected) in cases {
            let got = input.parse::<Digest>();
            match (expected, got) {
                (Ok(()), Ok(d)) => assert_eq!(d.as_str(), *input),
                (Err(needle), Err(e)) => {
                    let msg = e.to_string();
                    assert!(msg.contains(needle), "{input:?}: {msg:?} lacks {needle:?}");
                }
                (want, got) => panic!("{input:?}: wanted {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn hostile_input_keeps_error_short() {
        let long = format!("x{}", "a".repeat(10_000));
        let msg = long.parse::<Digest>().unwrap_err().to_string();
        assert!(msg.len() < 200, "{}", msg.len());
    }

    #[test]
    fn serde_round_trip_and_rejection() {
        let d: Digest = serde_json::from_str(&format!("\"{EMPTY_SHA256}\"")).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{EMPTY_SHA256}\""));
        assert!(serde_json::from_str::<Digest>("\"sha256:nope\"").is_err());
    }
}

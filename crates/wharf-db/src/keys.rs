//! Token-signing keys, shared by every node through the database.
//!
//! The private key is stored here (PKCS#8, base64) so that several `wharf serve`
//! nodes behind a load balancer sign and verify with the same keys. Protect database
//! backups accordingly; retiring a key keeps it published until tokens it signed
//! have expired.

use sqlx::any::AnyRow;
use wharf_core::Timestamp;

use crate::pool::col;
use crate::{Db, DbError};

/// A stored signing key.
#[derive(Clone)]
pub struct SigningKeyRecord {
    /// Key id (the JWK thumbprint), carried in the `kid` header of every token.
    pub kid: String,
    /// JOSE algorithm name, e.g. `ES256`.
    pub algorithm: String,
    /// PKCS#8 private key, base64.
    pub private_key: String,
    /// Public key in the algorithm's raw encoding, base64.
    pub public_key: String,
    /// Creation time; the newest active key signs.
    pub created_at: Timestamp,
    /// Set when the key no longer signs.
    pub retired_at: Option<Timestamp>,
}

impl std::fmt::Debug for SigningKeyRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyRecord")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_key", &"<redacted>")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

fn from_row(row: &AnyRow) -> Result<SigningKeyRecord, DbError> {
    Ok(SigningKeyRecord {
        kid: col(row, "kid")?,
        algorithm: col(row, "algorithm")?,
        private_key: col(row, "private_key")?,
        public_key: col(row, "public_key")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        retired_at: col::<Option<i64>>(row, "retired_at")?.map(Timestamp::from_millis),
    })
}

impl Db {
    /// Stores a key. A key with the same id already stored is left as it is.
    pub async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_key, public_key, created_at, retired_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kid) DO NOTHING",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .bind(key.created_at.as_millis())
        .bind(key.retired_at.map(Timestamp::as_millis))
        .execute(self.writes())
        .await?;
        Ok(())
    }

    /// Every key, newest first (retired ones included: they still verify).
    pub async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, DbError> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, private_key, public_key, created_at, retired_at FROM signing_keys \
             ORDER BY created_at DESC, kid",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}

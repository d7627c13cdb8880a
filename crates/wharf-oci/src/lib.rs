//! Pure OCI types (digests, repository names, error codes) shared by the registry, the blob store and the certification engine.
//!
//! Nothing here does I/O. Values are parsed once at the boundary (`FromStr`) and are
//! valid by construction afterwards, so code that builds storage paths from a
//! [`Digest`] never sees `sha256:../../x`.

mod digest;
mod error_code;
pub mod manifest;
mod name;
mod reference;

pub use digest::{Algorithm, Digest, DigestError, Hasher};
pub use error_code::ErrorCode;
pub use name::{MAX_REPOSITORY_NAME_LEN, NameError, RepositoryName};
pub use reference::{Reference, reference};

//! The certification engine. No HTTP and no host file system writes: layers are read
//! as streams into an in-memory view of the image's files.
//!
//! - [`limits`]: how much an image may ask of the reader (sizes, ratios, counts, depths).
//! - [`check`]: every check by id, an enum.
//! - [`finding`]: what the engine reports, each with its evidence.
//! - [`layer`]: one layer, decompressed (gzip, zstd or none, told by its bytes) and
//!   walked entry by entry, every unsafe entry a finding.
//! - [`view`]: the image's final file view, layers applied in order with whiteouts.
//! - [`image`]: OCI image layouts, indexes resolved to one image per platform, blobs
//!   checked against their digests as they stream.
//! - [`policy`]: which checks block, warn or are off; the reader's limits.
//! - [`certify`]: the driver and the report (a verdict per platform and overall).
//! - [`package`]: a package found in an image, the SBOM's unit.
//! - [`sbom`]: packages found in the file view, as CycloneDX 1.5 and SPDX 2.3.
//! - [`secrets`]: private keys and token formats, reported redacted.
//! - [`gobuild`]: Go binaries' embedded module list, for the SBOM.
//! - [`render`]: the report for people, as SARIF 2.1.0 and as JUnit XML.

pub mod advisories;
pub mod binaries;
pub mod certify;
pub mod check;
pub mod clamd;
pub mod finding;
pub mod gobuild;
pub mod grade;
pub mod image;
pub mod layer;
pub mod limits;
pub mod package;
pub mod policy;
pub mod render;
pub mod rpmdb;
pub mod sbom;
mod scan;
pub mod secrets;
pub mod signature;
pub mod tarball;
pub mod versions;
pub mod view;
pub mod vulns;

pub use check::Check;
pub use finding::{Evidence, Finding, Severity};
pub use limits::Limits;

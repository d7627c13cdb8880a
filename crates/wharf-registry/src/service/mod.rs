//! The registry's logic, free of HTTP: repositories (through the cache) and their
//! creation on first push, storage quotas, blob links, manifests, tags, referrers
//! indexes, the catalog and upload sessions. Route modules (`routes/`) parse a request, call this module and write the
//! response; they never import each other.

pub(crate) mod blobs;
pub(crate) mod manifests;
pub(crate) mod referrers;
pub(crate) mod repos;
pub(crate) mod tags;
pub(crate) mod uploads;

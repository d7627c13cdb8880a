//! The registry's logic, free of HTTP: repositories (through the cache) and their
//! creation on first push, storage quotas, manifests, referrers indexes and upload
//! sessions. Route modules (`routes/`) parse a request, call this module and write the
//! response; they never import each other.

pub(crate) mod manifests;
pub(crate) mod referrers;
pub(crate) mod repos;
pub(crate) mod uploads;

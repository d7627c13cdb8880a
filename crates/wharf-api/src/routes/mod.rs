//! Handlers, one module per resource; the tree mirrors the URL tree.

pub(crate) mod advisories;
pub(crate) mod catalog;
pub(crate) mod offers;
pub(crate) mod orgs;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod webhooks;

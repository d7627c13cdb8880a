//! The application layer: Wharf's use cases, one function each.
//!
//! Every use case takes the acting [`Actor`] and typed input (names, e-mail
//! addresses, passwords and labels parsed by the surface into their `wharf-core` and
//! `wharf-auth` types, or the rules they broke: [`Parsed`]; so a rule cannot hold on
//! one surface and not another), checks what the actor may do, applies the rules
//! that need stored data, reports every invalid field at once, calls `wharf-db`, and
//! returns the API's views (`wharf-api-types`). REST handlers, `wharf admin`,
//! jobs and pages call these functions and never `wharf-db` directly; they only parse
//! their input and render the answer.
//!
//! Errors are [`AppError`]: what went wrong in the caller's terms, mapped to HTTP by
//! `wharf-api` and to exit codes by the CLI.

mod actor;
mod advisories;
pub mod bootstrap;
mod certification;
mod config;
mod error;
pub mod gc;
mod input;
mod offers;
mod orgs;
mod page;
pub mod pipeline;
mod registry;
mod tokens;
mod users;
mod views;

pub use actor::Actor;
pub use certification::StoredImage;
pub use config::{CertificationConfig, GcConfig, MarketplaceConfig};
pub use error::AppError;
pub use input::{Parsed, field, optional};
pub use offers::{CompareWith, Document, MediaFile, OfferChange, Saved};
pub use orgs::{NewOrg, Quota};
pub use page::{Listed, Paging};
pub use registry::RepositorySettings;
pub use tokens::{DEFAULT_TOKEN_DAYS, MAX_TOKEN_DAYS, NewToken};
pub use users::{NewUser, UserChanges};

use std::sync::Arc;

use wharf_auth::Authenticator;
use wharf_blob::BlobStore;
use wharf_db::Db;

/// What the use cases work on.
#[derive(Debug, Clone)]
pub struct App {
    db: Db,
    auth: Authenticator,
    blobs: BlobStore,
    categories: Arc<Vec<String>>,
    certification: Arc<certification::Settings>,
}

impl App {
    /// The application over `db` and `blobs`, with `auth` for credentials and tokens
    /// and the marketplace's `categories`.
    pub fn new(db: Db, auth: Authenticator, blobs: BlobStore, categories: Arc<Vec<String>>) -> App {
        App { db, auth, blobs, categories, certification: Arc::default() }
    }

    /// With the certification settings of `[certification]`: the policy file is read
    /// now, so a broken one stops the server at start.
    pub fn with_certification(mut self, config: &CertificationConfig) -> Result<App, AppError> {
        self.certification = Arc::new(certification::Settings::from_config(config)?);
        Ok(self)
    }
}

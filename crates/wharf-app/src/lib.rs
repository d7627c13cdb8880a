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

mod access;
mod actor;
mod advisories;
pub mod bootstrap;
pub mod catalog;
mod catalog_index;
mod certification;
mod config;
mod deployments;
mod error;
pub mod gc;
pub mod health;
pub mod idempotency;
mod input;
pub mod leads;
pub mod metering;
mod offers;
mod orgs;
pub mod packaging;
mod page;
pub mod pipeline;
mod registry;
pub mod release;
pub mod signing;
mod subscriptions;
mod tokens;
mod users;
mod views;
pub mod webhooks;

pub use actor::Actor;
pub use catalog::CatalogSearchInput;
pub use certification::StoredImage;
pub use config::{CertificationConfig, GcConfig, MarketplaceConfig, WebhookConfig};
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
    /// This node's in-memory catalog index.
    catalog: catalog_index::SharedIndex,
    certification: Arc<certification::Settings>,
    marketplace: Arc<Marketplace>,
    webhooks: Arc<webhooks::Settings>,
}

/// What the marketplace signs with and how clients name its registry.
#[derive(Debug, Default)]
struct Marketplace {
    /// `host[:port]` of the registry as clients reach it: signatures name images there.
    registry_host: String,
    /// The server's public URL, without a trailing `/`.
    public_url: String,
    /// The configured key (PEM), if any.
    configured_key: Option<String>,
    /// The key in use, loaded (or generated) at first use.
    signer: tokio::sync::OnceCell<signing::Signer>,
}

impl App {
    /// The application over `db` and `blobs`, with `auth` for credentials and tokens
    /// and the marketplace's `categories`.
    pub fn new(db: Db, auth: Authenticator, blobs: BlobStore, categories: Arc<Vec<String>>) -> App {
        App {
            db,
            auth,
            blobs,
            categories,
            catalog: catalog_index::SharedIndex::default(),
            certification: Arc::default(),
            marketplace: Arc::default(),
            webhooks: Arc::default(),
        }
    }

    /// With the certification settings of `[certification]`: the policy file is read
    /// now, so a broken one stops the server at start.
    pub fn with_certification(mut self, config: &CertificationConfig) -> Result<App, AppError> {
        self.certification = Arc::new(certification::Settings::from_config(config)?);
        Ok(self)
    }

    /// With the `[webhooks]` settings: where deliveries may go and how long they wait.
    pub fn with_webhooks(mut self, config: &WebhookConfig) -> Result<App, AppError> {
        self.webhooks = Arc::new(webhooks::Settings::from_config(config)?);
        Ok(self)
    }

    /// With the server's public URL (clients name the registry's images by its
    /// `host[:port]`) and the `[marketplace]` signing key: a key file that cannot be
    /// read or is not a P-256 private key stops the server at start.
    pub fn with_marketplace(mut self, public_url: &str, config: &MarketplaceConfig) -> Result<App, AppError> {
        let public_url = public_url.trim_end_matches('/');
        let rest = public_url.split_once("://").map_or(public_url, |(_, rest)| rest);
        let registry_host = rest.split('/').next().unwrap_or(rest);
        let configured_key = if config.signing_key.is_empty() {
            None
        } else {
            let pem = std::fs::read_to_string(&config.signing_key).map_err(|e| {
                AppError::field("/marketplace/signing_key", format!("{:?} cannot be read: {e}", config.signing_key))
            })?;
            signing::Signer::from_pem(&pem)
                .map_err(|e| AppError::field("/marketplace/signing_key", format!("{:?}: {e}", config.signing_key)))?;
            Some(pem)
        };
        self.marketplace = Arc::new(Marketplace {
            registry_host: registry_host.to_owned(),
            public_url: public_url.to_owned(),
            configured_key,
            ..Marketplace::default()
        });
        Ok(self)
    }
}

//! First start: the operator organization and the `admin` account.

use wharf_auth::password;
use wharf_core::{OrgKind, OrgName, UserName};
use wharf_db::DbError;
use wharf_db::users::NewUser;

use crate::{App, AppError};

/// The first operator's user name.
pub const ADMIN_USER: &str = "admin";
/// The operator organization created at first start.
pub const OPERATOR_ORG: &str = "operators";
/// The environment variable that sets the first operator's password.
pub const ADMIN_PASSWORD_VAR: &str = "WHARF_ADMIN_PASSWORD";

/// What the first-start check did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Users exist already: nothing to do.
    AlreadyBootstrapped,
    /// Created `admin` with the password from the environment.
    CreatedWithGivenPassword,
    /// Created `admin` with this generated password, to be shown once.
    CreatedWithGeneratedPassword(String),
}

impl App {
    /// Creates the operator organization and `admin` (its owner) when the database
    /// has no users, with the password from [`ADMIN_PASSWORD_VAR`] (`given`) or a
    /// generated one. Safe when several nodes start at once: the loser of the race
    /// finds the account taken and does nothing.
    pub async fn ensure_admin(&self, given: Option<&str>) -> Result<Outcome, AppError> {
        if self.db.count_users().await? > 0 {
            return Ok(Outcome::AlreadyBootstrapped);
        }
        let (secret, generated) = match given {
            Some(p) => {
                password::check_rule(p)
                    .map_err(|e| AppError::BadRequest(format!("{ADMIN_PASSWORD_VAR} is unusable: {e}")))?;
                (p.to_owned(), false)
            }
            None => (password::generate(), true),
        };
        let hash = password::hash(&secret).await?;
        let name: UserName = ADMIN_USER.parse().map_err(|e| AppError::Internal(format!("{e}")))?;
        let admin = match self.db.create_user(NewUser { name: &name, email: None, password_hash: Some(&hash) }).await {
            Ok(u) => u,
            Err(DbError::Conflict(_)) => return Ok(Outcome::AlreadyBootstrapped),
            Err(e) => return Err(e.into()),
        };
        let org: OrgName = OPERATOR_ORG.parse().map_err(|e| AppError::Internal(format!("{e}")))?;
        match self.db.create_org(&org, OrgKind::Operator, Some("Marketplace operators"), Some(admin.id)).await {
            Ok(_) | Err(DbError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user.name = ADMIN_USER, org.name = OPERATOR_ORG, "created the first operator account");
        Ok(if generated { Outcome::CreatedWithGeneratedPassword(secret) } else { Outcome::CreatedWithGivenPassword })
    }
}

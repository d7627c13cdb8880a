//! The command line: `wharf serve | migrate | worker | admin … | login | logout | whoami | org … | token … | offer … | catalog … | access … | subscription … | deploy | certify | advisories …`.
//!
//! Exit codes (also in `docs/cli.md`):
//! 0 success · 1 the operation failed · 2 usage error · 3 invalid configuration ·
//! 4 a service (database, blob store, server) is unreachable · 5 authentication failed.

mod account;
mod admin;
mod advisories;
mod catalog;
mod certify;
mod client;
mod offer;
mod publish;
mod serve;
mod subscribe;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::output::Format;

/// Wharf: a self-hostable marketplace for container software.
#[derive(Debug, Parser)]
#[command(name = "wharf", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (registry, token service, REST API) on the configured storage.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(ServerArgs),
    /// Run background job workers (as `wharf serve` does in-process) on the configured storage.
    Worker(ServerArgs),
    /// Administer users, organizations and tokens directly in the database.
    Admin(admin::AdminArgs),
    /// Log in to a Wharf server and store an API token for later commands.
    Login(client::LoginArgs),
    /// Revoke the stored token and forget it.
    Logout(client::LogoutArgs),
    /// Show who the stored credentials belong to.
    Whoami(client::WhoamiArgs),
    /// Organizations and their members, as the signed-in user.
    Org(account::OrgArgs),
    /// Your API tokens: create, list, revoke.
    Token(account::TokenArgs),
    /// Offers as code: write, check and publish offer files.
    Offer(offer::OfferArgs),
    /// The catalog customers browse: search listings, show one.
    Catalog(catalog::CatalogArgs),
    /// Access offers (the operator's plans and quotas), an organization's access plans and usage.
    Access(subscribe::AccessArgs),
    /// Subscriptions to plans of catalog items, and their pull secrets.
    Subscription(subscribe::SubscriptionArgs),
    /// Render a subscription's deployment with your values: a container command, a
    /// Compose file, Kubernetes manifests or a Helm install, images pinned by digest.
    Deploy(subscribe::DeployArgs),
    /// Certify an image locally: safe layer reading and the marketplace's policy checks.
    Certify(certify::CertifyArgs),
    /// The offline vulnerability advisory store (OSV) that `certify` checks against.
    Advisories(advisories::AdvisoriesArgs),
}

/// Where the server-side configuration comes from.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Configuration file (TOML; every key is documented in config/wharf.example.toml).
    #[arg(long, short = 'c', value_name = "FILE", env = "WHARF_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (overrides `data_dir`).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ServeArgs {
    #[command(flatten)]
    server: ServerArgs,
    /// Address to listen on, IP:PORT (overrides `listen`).
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,
}

/// Output options shared by commands that print data.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Format::Human)]
    output: Format,
}

/// An organization to create (`wharf org create`, `wharf admin org create`).
#[derive(Debug, Clone, Args)]
pub struct NewOrgArgs {
    /// Name (1-39 lowercase letters, digits, single hyphens).
    name: String,
    /// publisher, customer or operator.
    #[arg(long)]
    kind: String,
    /// Human-friendly name.
    #[arg(long)]
    display_name: Option<String>,
    /// Its first owner (default: you; with `wharf admin`, no one).
    #[arg(long)]
    owner: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// An organization, for commands that print it or its members.
#[derive(Debug, Clone, Args)]
pub struct OrgRefArgs {
    /// The organization.
    org: String,
    #[command(flatten)]
    output: OutputArgs,
}

/// A member of an organization, and (to set) their role.
#[derive(Debug, Clone, Args)]
pub struct MemberArgs {
    /// The organization.
    org: String,
    /// The user.
    user: String,
}

/// A member's new role.
#[derive(Debug, Clone, Args)]
pub struct SetMemberArgs {
    #[command(flatten)]
    member: MemberArgs,
    /// viewer, developer, admin or owner.
    #[arg(long)]
    role: String,
}

/// An API token to create (`wharf token create`, `wharf admin token create`).
#[derive(Debug, Clone, Args)]
pub struct NewTokenArgs {
    /// A label, unique among the owner's active tokens.
    #[arg(long)]
    name: String,
    /// Scopes (repeat or separate with commas): api:read, api:write, registry:pull,
    /// registry:push, registry:delete, admin.
    #[arg(long = "scope", required = true, value_delimiter = ',')]
    scopes: Vec<String>,
    /// Lifetime in days.
    #[arg(long, default_value_t = wharf_app::DEFAULT_TOKEN_DAYS, value_parser = clap::value_parser!(u32).range(1..=i64::from(wharf_app::MAX_TOKEN_DAYS)))]
    expires_in_days: u32,
}

/// What was created, as the command's output.
fn print_created_org(org: &wharf_api_types::OrgView, format: Format) {
    match format {
        Format::Json => crate::output::json(org),
        Format::Human => crate::output::line(format!("created {} organization {}", org.kind, org.name)),
    }
}

/// A failure with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// Process exit code.
    pub code: u8,
    /// What to tell the user.
    pub message: String,
}

/// Exit code: the operation failed (for `validate`-like commands: the input has errors).
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage error (clap uses it too).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: invalid configuration.
pub const EXIT_CONFIG: u8 = 3;
/// Exit code: a service is unreachable.
pub const EXIT_UNAVAILABLE: u8 = 4;
/// Exit code: authentication failed.
pub const EXIT_AUTH: u8 = 5;

impl Failure {
    fn new(code: u8, message: impl Into<String>) -> Failure {
        Failure { code, message: message.into() }
    }

    /// A failure whose explanation the command has printed already.
    fn silent(code: u8) -> Failure {
        Failure { code, message: String::new() }
    }
}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Self {
        Failure::new(EXIT_CONFIG, e.to_string())
    }
}

impl From<wharf_db::DbError> for Failure {
    fn from(e: wharf_db::DbError) -> Self {
        let code = match e {
            wharf_db::DbError::Connect { .. } | wharf_db::DbError::Unavailable(_) => EXIT_UNAVAILABLE,
            _ => EXIT_FAILED,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<wharf_app::AppError> for Failure {
    fn from(e: wharf_app::AppError) -> Self {
        let code = match e {
            wharf_app::AppError::Unavailable(_) => EXIT_UNAVAILABLE,
            wharf_app::AppError::Unauthenticated(_) => EXIT_AUTH,
            _ => EXIT_FAILED,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<wharf_client::ClientError> for Failure {
    fn from(e: wharf_client::ClientError) -> Self {
        let code = match &e {
            wharf_client::ClientError::Unreachable { .. } => EXIT_UNAVAILABLE,
            wharf_client::ClientError::Api { status: 401, .. } => EXIT_AUTH,
            _ => EXIT_FAILED,
        };
        Failure::new(code, e.to_string())
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::new(EXIT_FAILED, format!("{e:#}"))
    }
}

impl From<wharf_auth::AuthError> for Failure {
    fn from(e: wharf_auth::AuthError) -> Self {
        match e {
            wharf_auth::AuthError::Db(db) => db.into(),
            other => Failure::new(EXIT_FAILED, other.to_string()),
        }
    }
}

/// Runs the parsed command.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Serve(args) => serve::serve(args).await,
        Command::Migrate(args) => serve::migrate(args).await,
        Command::Worker(args) => serve::worker(args).await,
        Command::Admin(args) => admin::run(args).await,
        Command::Login(args) => client::login(args).await,
        Command::Logout(args) => client::logout(args).await,
        Command::Whoami(args) => client::whoami(args).await,
        Command::Org(args) => account::org(args).await,
        Command::Token(args) => account::token(args).await,
        Command::Offer(args) => offer::run(args).await,
        Command::Catalog(args) => catalog::run(args).await,
        Command::Access(args) => subscribe::access(args).await,
        Command::Subscription(args) => subscribe::subscription(args).await,
        Command::Deploy(args) => subscribe::deploy(args).await,
        Command::Certify(args) => certify::run(args).await,
        Command::Advisories(args) => tokio::task::spawn_blocking(move || advisories::run(args))
            .await
            .map_err(|e| Failure::new(EXIT_FAILED, format!("the advisory store command stopped: {e}")))?,
    }
}

impl ServerArgs {
    fn overrides(&self, listen: Option<String>) -> crate::config::Overrides {
        crate::config::Overrides { config_file: self.config.clone(), listen, data_dir: self.data_dir.clone() }
    }
}

#[cfg(test)]
mod tests {
    /// Clap checks the whole command tree (duplicate flags, bad defaults), which it
    /// otherwise does only when a command is first used.
    #[test]
    fn the_command_tree_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

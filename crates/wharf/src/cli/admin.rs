//! `wharf admin …`: operator bootstrap and user, organization and token management,
//! working directly on the configured database (the server may be running).

use std::io::{BufRead, IsTerminal};
use std::time::Duration;

use clap::{Args, Subcommand};
use serde::Serialize;
use wharf_auth::{AuthSettings, Authenticator, password};
use wharf_core::{OrgKind, OrgName, Role, Timestamp, TokenId, TokenScopes, UserName};
use wharf_db::Db;
use wharf_db::users::{NewUser, User};

use super::serve::open_database;
use super::{EXIT_FAILED, Failure, OutputArgs, ServerArgs};
use crate::config::Config;
use crate::output;
use crate::telemetry;

#[derive(Debug, Args)]
pub(super) struct AdminArgs {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage organizations and their members.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage users' API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage registry repositories.
    #[command(subcommand)]
    Repo(RepoCommand),
    /// Run a registry garbage collection now, and print what it removed.
    Gc {
        /// Count what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Nothing younger than this is collected (default: the configured `gc.grace`).
        #[arg(long, value_parser = humantime::parse_duration)]
        grace: Option<std::time::Duration>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RepoCommand {
    /// Change a repository's settings.
    Set {
        /// The repository, e.g. acme/app.
        name: String,
        /// Let anyone pull it without credentials.
        #[arg(long)]
        anonymous_pull: Option<bool>,
        /// Refuse to move or delete a tag once set.
        #[arg(long)]
        immutable_tags: Option<bool>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        /// Login name (1-39 lowercase letters, digits, single hyphens).
        name: String,
        /// Contact address.
        #[arg(long)]
        email: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "no_password")]
        password_stdin: bool,
        /// Create the user without a password (they can only use tokens).
        #[arg(long)]
        no_password: bool,
    },
    /// List users.
    List(OutputArgs),
    /// Set a user's password.
    SetPassword {
        /// The user.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it can no longer log in or use its tokens.
    Disable {
        /// The user.
        name: String,
    },
    /// Re-enable a disabled account.
    Enable {
        /// The user.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organization.
    Create {
        /// Name (1-39 lowercase letters, digits, single hyphens).
        name: String,
        /// publisher, customer or operator.
        #[arg(long)]
        kind: String,
        /// Its first owner.
        #[arg(long)]
        owner: Option<String>,
        /// Human-friendly name.
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List organizations.
    List(OutputArgs),
    /// List an organization's members.
    Members {
        /// The organization.
        org: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Add a member or change their role.
    SetMember {
        /// The organization.
        org: String,
        /// The user.
        user: String,
        /// viewer, developer, admin or owner.
        #[arg(long)]
        role: String,
    },
    /// Set (or with `none`, remove) an organization's registry storage quota.
    SetQuota {
        /// The organization.
        org: String,
        /// Bytes, with an optional unit (KiB, MiB, GiB, TiB), or `none`.
        quota: String,
    },
    /// Remove a member.
    RemoveMember {
        /// The organization.
        org: String,
        /// The user.
        user: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; the secret is printed once.
    Create {
        /// The owner.
        user: String,
        /// A label, unique among the user's active tokens.
        #[arg(long)]
        name: String,
        /// Scopes (repeat or separate with commas): api:read, api:write, registry:pull,
        /// registry:push, registry:delete, admin.
        #[arg(long = "scope", required = true, value_delimiter = ',')]
        scopes: Vec<String>,
        /// Lifetime in days.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: u32,
    },
    /// List a user's tokens.
    List {
        /// The owner.
        user: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Revoke a token.
    Revoke {
        /// The owner.
        user: String,
        /// The token id.
        id: i64,
    },
}

fn fail(message: impl Into<String>) -> Failure {
    Failure::new(EXIT_FAILED, message)
}

fn user_name(s: &str) -> Result<UserName, Failure> {
    s.parse().map_err(|e| fail(format!("invalid user name {s:?}: {e}")))
}

fn org_name(s: &str) -> Result<OrgName, Failure> {
    s.parse().map_err(|e| fail(format!("invalid organization name {s:?}: {e}")))
}

async fn find_user(db: &Db, name: &str) -> Result<User, Failure> {
    db.user_by_name(&user_name(name)?).await?.ok_or_else(|| fail(format!("no user named {name:?}")))
}

async fn find_org(db: &Db, name: &str) -> Result<wharf_db::orgs::Org, Failure> {
    db.org_by_name(&org_name(name)?).await?.ok_or_else(|| fail(format!("no organization named {name:?}")))
}

/// Reads a new password from stdin (`--password-stdin`) or, on a terminal, by
/// asking twice.
fn read_password(from_stdin: bool) -> Result<String, Failure> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| fail(format!("cannot read standard input: {e}")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        return Err(fail("no terminal to ask for the password on: pass --password-stdin and pipe it in"));
    }
    let first = rpassword::prompt_password("New password: ").map_err(|e| fail(e.to_string()))?;
    let second = rpassword::prompt_password("Repeat it: ").map_err(|e| fail(e.to_string()))?;
    if first != second {
        return Err(fail("the passwords differ"));
    }
    Ok(first)
}

async fn all_users(db: &Db) -> Result<Vec<User>, Failure> {
    let mut out: Vec<User> = Vec::new();
    loop {
        let page = db.list_users(out.last().map(|u| u.name.as_str()), 500).await?;
        let done = page.len() < 500;
        out.extend(page);
        if done {
            return Ok(out);
        }
    }
}

#[derive(Serialize)]
struct UserRow {
    name: String,
    email: Option<String>,
    disabled: bool,
    created_at: String,
}

#[derive(Serialize)]
struct OrgRow {
    name: String,
    kind: String,
    display_name: Option<String>,
    created_at: String,
}

#[derive(Serialize)]
struct MemberRow {
    user: String,
    role: String,
    since: String,
}

#[derive(Serialize)]
struct TokenRow {
    id: i64,
    name: String,
    scopes: String,
    state: &'static str,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

pub(super) async fn run(args: AdminArgs) -> Result<(), Failure> {
    let config = Config::load(&args.server.overrides(None))?;
    telemetry::init_logging(&crate::config::LogConfig { level: "warn".into(), ..config.log.clone() });
    let db = open_database(&config).await?;
    let result = dispatch(&db, &config, args.command).await;
    db.close().await;
    result
}

async fn dispatch(db: &Db, config: &Config, command: AdminCommand) -> Result<(), Failure> {
    match command {
        AdminCommand::User(c) => user(db, c).await,
        AdminCommand::Org(c) => org(db, c).await,
        AdminCommand::Token(c) => token(db, config.auth_settings(), c).await,
        AdminCommand::Repo(c) => repo(db, c).await,
        AdminCommand::Gc { dry_run, grace, output } => gc(db, config, dry_run, grace, output).await,
    }
}

async fn repo(db: &Db, command: RepoCommand) -> Result<(), Failure> {
    match command {
        RepoCommand::Set { name, anonymous_pull, immutable_tags } => {
            let repo_name: wharf_oci::RepositoryName =
                name.parse().map_err(|e| fail(format!("invalid repository name {name:?}: {e}")))?;
            let repo = db.repository(&repo_name).await?.ok_or_else(|| fail(format!("no repository named {name:?}")))?;
            let anonymous_pull = anonymous_pull.unwrap_or(repo.anonymous_pull);
            let immutable_tags = immutable_tags.unwrap_or(repo.immutable_tags);
            db.set_repository_flags(repo.id, anonymous_pull, immutable_tags).await?;
            output::line(format!("{name}: anonymous pull {anonymous_pull}, immutable tags {immutable_tags}"));
        }
    }
    Ok(())
}

async fn gc(
    db: &Db,
    config: &Config,
    dry_run: bool,
    grace: Option<std::time::Duration>,
    o: OutputArgs,
) -> Result<(), Failure> {
    let blobs = wharf_blob::BlobStore::open(&config.blob_options()).map_err(|e| fail(e.to_string()))?;
    let mut options = config.gc_options();
    options.dry_run = dry_run;
    if let Some(g) = grace {
        if g < crate::config::MIN_GC_GRACE {
            return Err(Failure::new(
                super::EXIT_USAGE,
                format!("--grace {} {}", humantime::format_duration(g), crate::config::GC_GRACE_RULE),
            ));
        }
        options.grace = g;
    }
    let report = wharf_registry::gc::collect(db, &blobs, &options).await.map_err(|e| fail(format!("{e:#}")))?;
    match o.output {
        crate::output::Format::Json => output::json(&report),
        crate::output::Format::Human => {
            let verb = if dry_run { "would remove" } else { "removed" };
            output::line(format!(
                "garbage collection {verb}: {} upload sessions, {} unused blob links, {} blobs ({} bytes), {} temporary objects ({} bytes) in {} ms",
                report.uploads_purged,
                report.links_removed,
                report.blobs_deleted,
                report.blob_bytes_freed,
                report.temporaries_removed,
                report.temporary_bytes_freed,
                report.duration_ms
            ));
        }
    }
    Ok(())
}

/// Parses `1048576`, `512MiB`, `10 GiB` or `none`.
fn parse_quota(s: &str) -> Result<Option<u64>, Failure> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: u64 = number.parse().map_err(|_| fail(format!("invalid quota {s:?}: write e.g. 500MiB, 20GiB or none")))?;
    let factor: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        other => return Err(fail(format!("invalid quota unit {other:?}: use B, KiB, MiB, GiB or TiB"))),
    };
    n.checked_mul(factor).map(Some).ok_or_else(|| fail(format!("quota {s:?} is too large")))
}

async fn user(db: &Db, command: UserCommand) -> Result<(), Failure> {
    match command {
        UserCommand::Create { name, email, password_stdin, no_password } => {
            let name = user_name(&name)?;
            let hash = if no_password { None } else { Some(password::hash(&read_password(password_stdin)?).await?) };
            db.create_user(NewUser { name: &name, email: email.as_deref(), password_hash: hash.as_deref() }).await?;
            output::line(format!("created user {name}"));
        }
        UserCommand::List(o) => {
            let rows: Vec<UserRow> = all_users(db)
                .await?
                .iter()
                .map(|u| UserRow {
                    name: u.name.to_string(),
                    email: u.email.clone(),
                    disabled: u.disabled_at.is_some(),
                    created_at: u.created_at.to_string(),
                })
                .collect();
            output::rows(o.output, &rows, &["name", "email", "disabled", "created"], |r| {
                vec![r.name.clone(), r.email.clone().unwrap_or_default(), r.disabled.to_string(), r.created_at.clone()]
            });
        }
        UserCommand::SetPassword { name, password_stdin } => {
            let user = find_user(db, &name).await?;
            let hash = password::hash(&read_password(password_stdin)?).await?;
            db.set_password_hash(user.id, &hash).await?;
            output::line(format!("password of {name} changed"));
        }
        UserCommand::Disable { name } => {
            db.set_user_disabled(find_user(db, &name).await?.id, true).await?;
            output::line(format!("disabled {name}: it can no longer log in or use its tokens"));
        }
        UserCommand::Enable { name } => {
            db.set_user_disabled(find_user(db, &name).await?.id, false).await?;
            output::line(format!("enabled {name}"));
        }
    }
    Ok(())
}

async fn org(db: &Db, command: OrgCommand) -> Result<(), Failure> {
    match command {
        OrgCommand::Create { name, kind, owner, display_name } => {
            let name = org_name(&name)?;
            let kind: OrgKind = kind.parse().map_err(fail)?;
            let owner = match owner {
                Some(o) => Some(find_user(db, &o).await?.id),
                None => None,
            };
            db.create_org(&name, kind, display_name.as_deref(), owner).await?;
            output::line(format!("created {kind} organization {name}"));
        }
        OrgCommand::List(o) => {
            let mut orgs: Vec<wharf_db::orgs::Org> = Vec::new();
            loop {
                let page = db.list_orgs(orgs.last().map(|x| x.name.as_str()), 500).await?;
                let done = page.len() < 500;
                orgs.extend(page);
                if done {
                    break;
                }
            }
            let rows: Vec<OrgRow> = orgs
                .iter()
                .map(|x| OrgRow {
                    name: x.name.to_string(),
                    kind: x.kind.to_string(),
                    display_name: x.display_name.clone(),
                    created_at: x.created_at.to_string(),
                })
                .collect();
            output::rows(o.output, &rows, &["name", "kind", "display name", "created"], |r| {
                vec![r.name.clone(), r.kind.clone(), r.display_name.clone().unwrap_or_default(), r.created_at.clone()]
            });
        }
        OrgCommand::Members { org, output: o } => {
            let org = find_org(db, &org).await?;
            let members = db.list_members(org.id, None, 10_000).await?;
            let rows: Vec<MemberRow> = members
                .iter()
                .map(|m| MemberRow {
                    user: m.user_name.to_string(),
                    role: m.role.to_string(),
                    since: m.since.to_string(),
                })
                .collect();
            output::rows(o.output, &rows, &["user", "role", "since"], |r| {
                vec![r.user.clone(), r.role.clone(), r.since.clone()]
            });
        }
        OrgCommand::SetMember { org, user, role } => {
            let role: Role = role.parse().map_err(fail)?;
            let o = find_org(db, &org).await?;
            let u = find_user(db, &user).await?;
            db.set_membership(o.id, u.id, role).await?;
            output::line(format!("{user} is now {role} of {org}"));
        }
        OrgCommand::SetQuota { org, quota } => {
            let o = find_org(db, &org).await?;
            let bytes = parse_quota(&quota)?;
            db.set_org_quota(o.id, bytes).await?;
            let used = db.org_storage_bytes(o.id).await?;
            match bytes {
                Some(b) => output::line(format!("{org}: storage quota {b} bytes ({used} bytes used)")),
                None => output::line(format!("{org}: no storage quota ({used} bytes used)")),
            }
        }
        OrgCommand::RemoveMember { org, user } => {
            let o = find_org(db, &org).await?;
            let u = find_user(db, &user).await?;
            match db.remove_membership(o.id, u.id).await? {
                Some(_) => output::line(format!("removed {user} from {org}")),
                None => return Err(fail(format!("{user} is not a member of {org}"))),
            }
        }
    }
    Ok(())
}

async fn token(db: &Db, settings: AuthSettings, command: TokenCommand) -> Result<(), Failure> {
    match command {
        TokenCommand::Create { user, name, scopes, expires_in_days } => {
            let owner = find_user(db, &user).await?;
            let scopes: TokenScopes = scopes.join(" ").parse().map_err(|e| fail(format!("{e}")))?;
            let auth = Authenticator::new(db.clone(), settings).await?;
            let expires = Timestamp::now().plus(Duration::from_secs(u64::from(expires_in_days) * 86_400));
            let (token, secret) = auth.create_api_token(&owner, &name, &scopes, Some(expires)).await?;
            output::line(format!("created token {} ({name}) for {user}, scopes {scopes}, expires {expires}", token.id));
            output::line("Its secret is shown only this once:");
            output::line(format!("\n    {secret}\n"));
        }
        TokenCommand::List { user, output: o } => {
            let owner = find_user(db, &user).await?;
            let tokens = db.list_tokens(owner.id, None, 10_000).await?;
            let now = Timestamp::now();
            let rows: Vec<TokenRow> = tokens
                .iter()
                .map(|t| TokenRow {
                    id: t.id.0,
                    name: t.name.clone(),
                    scopes: t.scopes.to_string(),
                    state: if t.revoked_at.is_some() {
                        "revoked"
                    } else if t.is_usable(now) {
                        "active"
                    } else {
                        "expired"
                    },
                    expires_at: t.expires_at.map(|e| e.to_string()),
                    last_used_at: t.last_used_at.map(|e| e.to_string()),
                })
                .collect();
            output::rows(o.output, &rows, &["id", "name", "scopes", "state", "expires", "last used"], |r| {
                vec![
                    r.id.to_string(),
                    r.name.clone(),
                    r.scopes.clone(),
                    r.state.to_owned(),
                    r.expires_at.clone().unwrap_or_else(|| "never".into()),
                    r.last_used_at.clone().unwrap_or_else(|| "never".into()),
                ]
            });
        }
        TokenCommand::Revoke { user, id } => {
            let owner = find_user(db, &user).await?;
            match db.revoke_token(owner.id, TokenId(id)).await? {
                Some(_) => output::line(format!("revoked token {id} of {user}")),
                None => return Err(fail(format!("{user} has no token {id}"))),
            }
        }
    }
    Ok(())
}

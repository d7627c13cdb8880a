//! `wharf admin …`: operator bootstrap and user, organization and token management,
//! working directly on the configured database (the server may be running).

use std::io::{BufRead, IsTerminal};

use clap::{Args, Subcommand};
use serde::Serialize;
use wharf_app::{Actor, App, Listed, NewOrg, NewToken, NewUser, Quota, UserChanges};
use wharf_auth::Authenticator;
use wharf_auth::password::NewPassword;
use wharf_core::{DisplayName, Email, OrgKind, OrgName, Role, TokenId, TokenName, TokenScopes, UserName};
use wharf_db::Db;

use super::serve::open_database;
use super::{
    EXIT_FAILED, Failure, MemberArgs, NewOrgArgs, NewTokenArgs, OrgRefArgs, OutputArgs, ServerArgs, SetMemberArgs,
};
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
    /// The server's vulnerability advisory store, which certification uses.
    #[command(subcommand)]
    Advisories(AdvisoriesCommand),
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
enum AdvisoriesCommand {
    /// Import an OSV archive (a ZIP of OSV JSON files, e.g. osv.dev's `<ecosystem>/all.zip`):
    /// a new snapshot of the store.
    Import {
        /// The archive.
        archive: std::path::PathBuf,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the store's snapshots, newest first.
    List(OutputArgs),
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
    Create(NewOrgArgs),
    /// List organizations.
    List(OutputArgs),
    /// List an organization's members.
    Members(OrgRefArgs),
    /// Add a member or change their role.
    SetMember(SetMemberArgs),
    /// Set (or with `none`, remove) an organization's registry storage quota.
    SetQuota {
        /// The organization.
        org: String,
        /// Bytes, with an optional unit (KiB, MiB, GiB, TiB), or `none`.
        quota: String,
    },
    /// Remove a member.
    RemoveMember(MemberArgs),
    /// Approve a publisher: its offers are certified only once approved.
    Approve(OrgRefArgs),
    /// Withdraw a publisher's approval.
    Revoke(OrgRefArgs),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user; the secret is printed once.
    Create {
        /// The owner.
        user: String,
        #[command(flatten)]
        token: NewTokenArgs,
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

/// An argument parsed into its type; `what` names it in the message.
fn parse<T>(what: &str, s: &str) -> Result<T, Failure>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| fail(format!("invalid {what} {s:?}: {e}")))
}

/// Reads a new password from stdin (`--password-stdin`) or, on a terminal, by
/// asking twice; it must keep the password rule.
fn read_password(from_stdin: bool) -> Result<NewPassword, Failure> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| fail(format!("cannot read standard input: {e}")))?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(fail("no terminal to ask for the password on: pass --password-stdin and pipe it in"));
        }
        let first = rpassword::prompt_password("New password: ").map_err(|e| fail(e.to_string()))?;
        let second = rpassword::prompt_password("Repeat it: ").map_err(|e| fail(e.to_string()))?;
        if first != second {
            return Err(fail("the passwords differ"));
        }
        first
    };
    text.parse().map_err(fail)
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
    let app = || async {
        let auth = Authenticator::new(db.clone(), config.auth_settings()).await?;
        let blobs = wharf_blob::BlobStore::open(&config.blob_options()).map_err(|e| fail(e.to_string()))?;
        config
            .application(db.clone(), auth, blobs)
            .map_err(|e| Failure::new(super::EXIT_CONFIG, format!("invalid configuration: {e}")))
    };
    match command {
        AdminCommand::User(c) => user(&app().await?, c).await,
        AdminCommand::Org(c) => org(&app().await?, c).await,
        AdminCommand::Token(c) => token(&app().await?, c).await,
        AdminCommand::Repo(c) => repo(&app().await?, c).await,
        AdminCommand::Advisories(c) => advisories(&app().await?, c).await,
        AdminCommand::Gc { dry_run, grace, output } => gc(&app().await?, config, dry_run, grace, output).await,
    }
}

async fn advisories(app: &App, command: AdvisoriesCommand) -> Result<(), Failure> {
    let print = |list: &[wharf_api_types::AdvisorySnapshotView], format| {
        output::rows(format, list, &["snapshot", "advisories", "imported", "source", "imported at", "by"], |s| {
            vec![
                s.id.to_string(),
                s.total.to_string(),
                s.imported.to_string(),
                s.source.clone(),
                s.imported_at.to_string(),
                s.imported_by.clone(),
            ]
        });
    };
    match command {
        AdvisoriesCommand::Import { archive, output: o } => {
            let bytes = std::fs::read(&archive).map_err(|e| fail(format!("cannot read {}: {e}", archive.display())))?;
            let name =
                archive.file_name().map_or_else(|| archive.display().to_string(), |n| n.to_string_lossy().into_owned());
            let done = app.import_advisories(&Actor::Console, &name, bytes.into()).await?;
            match o.output {
                crate::output::Format::Json => output::json(&done),
                crate::output::Format::Human => {
                    let s = &done.snapshot;
                    output::line(format!(
                        "imported {} advisories from {} (snapshot {}; {} withdrawn skipped, {} invalid): the store has {} in snapshot {}",
                        s.imported, s.source, s.snapshot, s.withdrawn, s.invalid, s.total, s.id
                    ));
                    for r in &done.rejected {
                        output::line(format!("  rejected {}: {}", r.name, r.reason));
                    }
                }
            }
        }
        AdvisoriesCommand::List(o) => print(&app.advisory_snapshots(&Actor::Console).await?, o.output),
    }
    Ok(())
}

async fn repo(app: &App, command: RepoCommand) -> Result<(), Failure> {
    match command {
        RepoCommand::Set { name, anonymous_pull, immutable_tags } => {
            let repo: wharf_oci::RepositoryName = parse("repository name", &name)?;
            let set = app.set_repository(&Actor::Console, &repo, anonymous_pull, immutable_tags).await?;
            output::line(format!(
                "{name}: anonymous pull {}, immutable tags {}",
                set.anonymous_pull, set.immutable_tags
            ));
        }
    }
    Ok(())
}

async fn gc(
    app: &App,
    config: &Config,
    dry_run: bool,
    grace: Option<std::time::Duration>,
    o: OutputArgs,
) -> Result<(), Failure> {
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
    let report = app.collect_garbage(&Actor::Console, &options).await?;
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

async fn user(app: &App, command: UserCommand) -> Result<(), Failure> {
    let console = &Actor::Console;
    match command {
        UserCommand::Create { name, email, password_stdin, no_password } => {
            let name: UserName = parse("user name", &name)?;
            let email: Option<Email> = email.map(|e| parse("e-mail address", &e)).transpose()?;
            let password = if no_password { None } else { Some(read_password(password_stdin)?) };
            app.create_user(console, NewUser { name: Ok(name.clone()), email: Ok(email), password: Ok(password) })
                .await?;
            output::line(format!("created user {name}"));
        }
        UserCommand::List(o) => {
            let users = Listed::all(async |paging| app.list_users(console, &paging).await).await?;
            output::rows(o.output, &users, &["name", "email", "disabled", "created"], |u| {
                vec![
                    u.name.clone(),
                    u.email.clone().unwrap_or_default(),
                    u.disabled.to_string(),
                    u.created_at.to_string(),
                ]
            });
        }
        UserCommand::SetPassword { name, password_stdin } => {
            let user = user_named(&name)?;
            app.user(console, &user).await?;
            let changes = UserChanges { password: Ok(Some(read_password(password_stdin)?)), ..UserChanges::default() };
            app.update_user(console, &user, changes).await?;
            output::line(format!("password of {name} changed"));
        }
        UserCommand::Disable { name } => {
            let changes = UserChanges { disabled: Some(true), ..UserChanges::default() };
            app.update_user(console, &user_named(&name)?, changes).await?;
            output::line(format!("disabled {name}: it can no longer log in or use its tokens"));
        }
        UserCommand::Enable { name } => {
            let changes = UserChanges { disabled: Some(false), ..UserChanges::default() };
            app.update_user(console, &user_named(&name)?, changes).await?;
            output::line(format!("enabled {name}"));
        }
    }
    Ok(())
}

/// A user named on the command line: not found when the name cannot be one.
fn user_named(name: &str) -> Result<UserName, Failure> {
    name.parse().map_err(|_| fail(format!("no user named {name:?}")))
}

async fn org(app: &App, command: OrgCommand) -> Result<(), Failure> {
    let console = &Actor::Console;
    match command {
        OrgCommand::Create(NewOrgArgs { name, kind, owner, display_name, output: o }) => {
            let name: OrgName = parse("organization name", &name)?;
            let kind: OrgKind = kind.parse().map_err(fail)?;
            let display_name: Option<DisplayName> = display_name.map(|d| parse("display name", &d)).transpose()?;
            let owner = owner.map(|o| user_named(&o)).transpose()?;
            let new =
                NewOrg { name: Ok(name.clone()), kind: Ok(kind), display_name: Ok(display_name), owner: Ok(owner) };
            super::print_created_org(&app.create_org(console, new).await?, o.output);
        }
        OrgCommand::List(o) => {
            let orgs = Listed::all(async |paging| app.list_orgs(console, &paging).await).await?;
            output::rows(o.output, &orgs, &["name", "kind", "display name", "created"], |x| {
                vec![
                    x.name.clone(),
                    x.kind.to_string(),
                    x.display_name.clone().unwrap_or_default(),
                    x.created_at.to_string(),
                ]
            });
        }
        OrgCommand::Members(OrgRefArgs { org, output: o }) => {
            let members = Listed::all(async |paging| app.members(console, &org, &paging).await).await?;
            output::rows(o.output, &members, &["user", "role", "since"], |m| {
                vec![m.user.clone(), m.role.to_string(), m.since.to_string()]
            });
        }
        OrgCommand::SetMember(SetMemberArgs { member: MemberArgs { org, user }, role }) => {
            let role: Role = role.parse().map_err(fail)?;
            app.set_member(console, &org, &user, role).await?;
            output::line(format!("{user} is now {role} of {org}"));
        }
        OrgCommand::SetQuota { org, quota } => {
            let bytes = parse_quota(&quota)?;
            let Quota { limit, used } = app.set_quota(console, &org, bytes).await?;
            match limit {
                Some(b) => output::line(format!("{org}: storage quota {b} bytes ({used} bytes used)")),
                None => output::line(format!("{org}: no storage quota ({used} bytes used)")),
            }
        }
        OrgCommand::Approve(args) => approval(app, args, true).await?,
        OrgCommand::Revoke(args) => approval(app, args, false).await?,
        OrgCommand::RemoveMember(MemberArgs { org, user }) => {
            app.remove_member(console, &org, &user).await?;
            output::line(format!("removed {user} from {org}"));
        }
    }
    Ok(())
}

/// Approves a publisher or withdraws its approval, and says where it stands.
async fn approval(app: &App, OrgRefArgs { org, output: o }: OrgRefArgs, approve: bool) -> Result<(), Failure> {
    let view = app.set_approval(&Actor::Console, &org, approve).await?;
    match (o.output, &view.approval) {
        (crate::output::Format::Json, _) => output::json(&view),
        (_, Some(a)) => output::line(format!("{org} is approved (by {} at {})", a.by, a.at)),
        (_, None) => output::line(format!("{org} is not approved: its offers will not be certified")),
    }
    Ok(())
}

async fn token(app: &App, command: TokenCommand) -> Result<(), Failure> {
    let console = &Actor::Console;
    match command {
        TokenCommand::Create { user, token: NewTokenArgs { name, scopes, expires_in_days } } => {
            let owner = user_named(&user)?;
            let name: TokenName = parse("token name", &name)?;
            let scopes: TokenScopes = scopes.join(" ").parse().map_err(|e| fail(format!("{e}")))?;
            let new = NewToken { name: Ok(name.clone()), scopes: Ok(scopes), expires_in_days };
            let created = app.create_token(console, Some(&owner), new).await?;
            let (token, secret) = (created.token, created.secret);
            let scopes: Vec<String> = token.scopes.iter().map(ToString::to_string).collect();
            let expires = token.expires_at.map_or_else(|| "never".to_owned(), |t| t.to_string());
            output::line(format!(
                "created token {} ({name}) for {user}, scopes {}, expires {expires}",
                token.id,
                scopes.join(" ")
            ));
            output::line("Its secret is shown only this once:");
            output::line(format!("\n    {secret}\n"));
        }
        TokenCommand::List { user, output: o } => {
            let owner = user_named(&user)?;
            let tokens = Listed::all(async |paging| app.list_tokens(console, Some(&owner), &paging).await).await?;
            let rows: Vec<TokenRow> = tokens
                .iter()
                .map(|t| TokenRow {
                    id: t.id.0,
                    name: t.name.clone(),
                    scopes: t.scopes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
                    state: t.state.as_str(),
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
            app.revoke_token(console, Some(&user_named(&user)?), TokenId(id)).await?;
            output::line(format!("revoked token {id} of {user}"));
        }
    }
    Ok(())
}

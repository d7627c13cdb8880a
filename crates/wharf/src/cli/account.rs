//! `wharf org …` and `wharf token …`: organizations, members and API tokens over the
//! REST API, as the signed-in user (the stored login, or `WHARF_URL` and `WHARF_TOKEN`).

use clap::{Args, Subcommand};
use wharf_api_types::{CreateOrgRequest, CreateTokenRequest, MemberView, OrgView, SetMemberRequest};
use wharf_core::TokenId;

use super::{Failure, MemberArgs, NewOrgArgs, NewTokenArgs, OrgRefArgs, OutputArgs, SetMemberArgs};
use crate::output::{self, Format};

/// Where the server is: `--server`, `WHARF_URL`, or the stored login's.
#[derive(Debug, Clone, Args)]
pub(super) struct ServerRef {
    /// Server URL (default: WHARF_URL, or the last server logged in to).
    #[arg(long, env = "WHARF_URL", global = true)]
    pub(super) server: Option<String>,
}

#[derive(Debug, Args)]
pub(super) struct OrgArgs {
    #[command(flatten)]
    server: ServerRef,
    #[command(subcommand)]
    command: OrgCommand,
}

#[derive(Debug, Subcommand)]
enum OrgCommand {
    /// Create an organization (operators).
    Create(NewOrgArgs),
    /// List your organizations (operators: all of them).
    List(OutputArgs),
    /// Show an organization and your role in it.
    Show(OrgRefArgs),
    /// List an organization's members.
    Members(OrgRefArgs),
    /// Add a member or change their role (admins; owner needs an owner).
    SetMember(SetMemberArgs),
    /// Remove a member (admins), or leave an organization (yourself).
    RemoveMember(MemberArgs),
}

#[derive(Debug, Args)]
pub(super) struct TokenArgs {
    #[command(flatten)]
    server: ServerRef,
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token (asks for your password: a token cannot mint tokens); the
    /// secret is printed once.
    Create {
        #[command(flatten)]
        token: NewTokenArgs,
        /// Your user name (default: the stored login's).
        #[arg(long, short = 'u', env = "WHARF_USERNAME")]
        username: Option<String>,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List your API tokens (never their secrets).
    List(OutputArgs),
    /// Revoke one of your API tokens.
    Revoke {
        /// The token id (see `wharf token list`).
        id: i64,
    },
}

fn print_orgs(orgs: &[OrgView], format: Format) {
    output::rows(format, orgs, &["name", "kind", "display name", "your role", "created"], |o| {
        vec![
            o.name.clone(),
            o.kind.to_string(),
            o.display_name.clone().unwrap_or_default(),
            o.role.map(|r| r.to_string()).unwrap_or_else(|| "-".into()),
            o.created_at.to_string(),
        ]
    });
}

pub(super) async fn org(args: OrgArgs) -> Result<(), Failure> {
    let client = super::client::connect(args.server.server.as_deref())?;
    match args.command {
        OrgCommand::Create(NewOrgArgs { name, kind, display_name, owner, output: o }) => {
            let org = client.create_org(&CreateOrgRequest { name, kind, display_name, owner }).await?;
            super::print_created_org(&org, o.output);
        }
        OrgCommand::List(o) => print_orgs(&client.orgs().await?, o.output),
        OrgCommand::Show(OrgRefArgs { org, output: o }) => {
            let org = client.org(&org).await?;
            match o.output {
                Format::Json => output::json(&org),
                Format::Human => print_orgs(std::slice::from_ref(&org), Format::Human),
            }
        }
        OrgCommand::Members(OrgRefArgs { org, output: o }) => {
            let members: Vec<MemberView> = client.members(&org).await?;
            output::rows(o.output, &members, &["user", "role", "since"], |m| {
                vec![m.user.clone(), m.role.to_string(), m.since.to_string()]
            });
        }
        OrgCommand::SetMember(SetMemberArgs { member: MemberArgs { org, user }, role }) => {
            let member = client.set_member(&org, &user, &SetMemberRequest { role }).await?;
            output::line(format!("{} is now {} of {org}", member.user, member.role));
        }
        OrgCommand::RemoveMember(MemberArgs { org, user }) => {
            client.remove_member(&org, &user).await?;
            output::line(format!("removed {user} from {org}"));
        }
    }
    Ok(())
}

pub(super) async fn token(args: TokenArgs) -> Result<(), Failure> {
    let server = args.server.server.as_deref();
    match args.command {
        TokenCommand::Create {
            token: NewTokenArgs { name, scopes, expires_in_days },
            username,
            password_stdin,
            output: o,
        } => {
            let client = super::client::with_password(server, username, password_stdin)?;
            let request = CreateTokenRequest { name, scopes, expires_in_days: Some(expires_in_days) };
            let created = client.create_token(&request).await?;
            match o.output {
                Format::Json => output::json(&created),
                Format::Human => {
                    let t = &created.token;
                    let scopes: Vec<String> = t.scopes.iter().map(ToString::to_string).collect();
                    let expires = t.expires_at.map_or_else(|| "never".to_owned(), |e| e.to_string());
                    output::line(format!(
                        "created token {} ({}), scopes {}, expires {expires}",
                        t.id,
                        t.name,
                        scopes.join(" ")
                    ));
                    output::line("Its secret is shown only this once:");
                    output::line(format!("\n    {}\n", created.secret));
                }
            }
        }
        TokenCommand::List(o) => {
            let tokens = super::client::connect(server)?.tokens().await?;
            output::rows(o.output, &tokens, &["id", "name", "scopes", "state", "expires", "last used"], |t| {
                vec![
                    t.id.to_string(),
                    t.name.clone(),
                    t.scopes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
                    t.state.as_str().to_owned(),
                    t.expires_at.map_or_else(|| "never".to_owned(), |e| e.to_string()),
                    t.last_used_at.map_or_else(|| "never".to_owned(), |e| e.to_string()),
                ]
            });
        }
        TokenCommand::Revoke { id } => {
            super::client::connect(server)?.revoke_token(TokenId(id)).await?;
            output::line(format!("revoked token {id}"));
        }
    }
    Ok(())
}

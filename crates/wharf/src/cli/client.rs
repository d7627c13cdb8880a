//! `wharf login`, `wharf logout`, `wharf whoami`, and the credentials file.
//!
//! `login` checks the user's password against the server, creates an API token
//! for this machine and stores the token (never the password) in
//! `<config dir>/wharf/credentials.toml` (`~/.config/wharf/` on Linux), a file only
//! its owner can read (0600) in a directory only its owner can enter (0700).
//!
//! Scripts and CI need no login: `WHARF_URL` names the server and `WHARF_TOKEN` holds
//! an API token; when `WHARF_TOKEN` is set, client commands use it instead of the
//! credentials file (documented in docs/cli.md).

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};
use wharf_api_types::CreateTokenRequest;
use wharf_client::pull::Credentials;
use wharf_client::{Auth, Client};
use wharf_core::{Timestamp, TokenId, TokenScope};

use super::{EXIT_AUTH, EXIT_FAILED, Failure, OutputArgs};
use crate::output::{self, Format};

const DEFAULT_SERVER: &str = "http://127.0.0.1:5000";

#[derive(Debug, Args)]
pub(super) struct LoginArgs {
    /// Server URL (default: the last server logged in to, or http://127.0.0.1:5000).
    #[arg(env = "WHARF_URL")]
    server: Option<String>,
    /// User name (asked for when absent).
    #[arg(long, short = 'u', env = "WHARF_USERNAME")]
    username: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Lifetime of the stored token, in days.
    #[arg(long, default_value_t = wharf_app::DEFAULT_TOKEN_DAYS, value_parser = clap::value_parser!(u32).range(1..=i64::from(wharf_app::MAX_TOKEN_DAYS)))]
    expires_in_days: u32,
}

#[derive(Debug, Args)]
pub(super) struct LogoutArgs {
    /// Server URL (default: the last server logged in to).
    #[arg(env = "WHARF_URL")]
    server: Option<String>,
}

#[derive(Debug, Args)]
pub(super) struct WhoamiArgs {
    /// Server URL (default: the last server logged in to).
    #[arg(env = "WHARF_URL")]
    server: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `wharf whoami -o json` prints.
#[derive(Serialize)]
struct Whoami<'a> {
    server: &'a str,
    user: &'a wharf_api_types::CurrentUserView,
}

/// The stored credentials of one server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerCredentials {
    username: String,
    token: String,
    token_id: TokenId,
    expires_at: Option<Timestamp>,
}

/// `credentials.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    /// The server used when a command names none.
    default: Option<String>,
    #[serde(default)]
    servers: BTreeMap<String, ServerCredentials>,
}

/// The stored credentials (user name, API token) of the Wharf server whose registry
/// is `registry` (`host:port`), if logged in there.
pub(super) fn registry_credentials(registry: &str) -> Result<Option<Credentials>, Failure> {
    let file = load_credentials()?;
    Ok(file.servers.iter().find_map(|(server, c)| {
        let url = url::Url::parse(server).ok()?;
        let host = url.host_str()?;
        let authority = match url.port_or_known_default() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        let plain = url.port().is_none() && registry == host;
        (authority == registry || plain).then(|| Credentials { user: c.username.clone(), secret: c.token.clone() })
    }))
}

fn fail(message: impl Into<String>) -> Failure {
    Failure::new(EXIT_FAILED, message)
}

fn credentials_path() -> Result<PathBuf, Failure> {
    let dir = dirs::config_dir().ok_or_else(|| fail("cannot find a configuration directory (is HOME set?)"))?;
    Ok(dir.join("wharf").join("credentials.toml"))
}

fn load_credentials() -> Result<CredentialsFile, Failure> {
    let path = credentials_path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text)
            .map_err(|e| fail(format!("{} is damaged ({e}); delete it and log in again", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(CredentialsFile::default()),
        Err(e) => Err(fail(format!("cannot read {}: {e}", path.display()))),
    }
}

/// Writes the file atomically: a 0600 temporary file in the same 0700 directory,
/// synced, then renamed over the old one.
fn save_credentials(file: &CredentialsFile) -> Result<PathBuf, Failure> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    let path = credentials_path()?;
    let dir = path.parent().ok_or_else(|| fail("credentials path has no parent"))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).ok();
    let text = toml::to_string(file).map_err(|e| fail(e.to_string()))?;
    let tmp = dir.join(format!(".credentials.toml.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(format!("cannot write {}: {e}", path.display()))
    })?;
    Ok(path)
}

/// The API token of `WHARF_TOKEN`, if set.
fn env_token() -> Option<String> {
    std::env::var("WHARF_TOKEN").ok().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

/// The server and token client commands use: `WHARF_TOKEN` with the named server (or
/// the stored default, or the local one) when set, else the stored login of `server`
/// (or of the default server).
fn session(server: Option<&str>) -> Result<(String, String), Failure> {
    let creds = load_credentials()?;
    if let Some(token) = env_token() {
        let server = normalise(server.or(creds.default.as_deref()).unwrap_or(DEFAULT_SERVER));
        return Ok((server, token));
    }
    let (server, entry) = stored(&creds, server)?;
    Ok((server, entry.token))
}

/// A client for `server` (or the default one) with `WHARF_TOKEN` or the stored login's token.
pub(super) fn connect(server: Option<&str>) -> Result<Client, Failure> {
    let (server, token) = session(server)?;
    Ok(Client::new(&server, Auth::Token(token))?)
}

/// A client for `server` (or the default one) with `WHARF_TOKEN` or the stored
/// login's token when there is one, else without credentials (for what anyone may
/// read).
pub(super) fn connect_or_anonymous(server: Option<&str>) -> Result<Client, Failure> {
    let creds = load_credentials()?;
    let target = server.map(normalise).or_else(|| creds.default.clone());
    let logged_in = target.as_ref().is_some_and(|s| creds.servers.contains_key(s));
    if env_token().is_some() || logged_in {
        return connect(server);
    }
    let server = target.unwrap_or_else(|| DEFAULT_SERVER.to_owned());
    Ok(Client::new(&server, Auth::Anonymous)?)
}

/// The server of the stored login, if any.
pub(super) fn stored_server() -> Result<Option<String>, Failure> {
    Ok(load_credentials()?.default)
}

fn normalise(server: &str) -> String {
    server.trim_end_matches('/').to_owned()
}

fn prompt(question: &str) -> Result<String, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(fail(format!("no terminal to ask for the {question} on: pass it as an option")));
    }
    eprint!("{question}: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| fail(e.to_string()))?;
    Ok(line.trim().to_owned())
}

pub(super) async fn login(args: LoginArgs) -> Result<(), Failure> {
    let mut creds = load_credentials()?;
    let server = normalise(args.server.as_deref().or(creds.default.as_deref()).unwrap_or(DEFAULT_SERVER));
    let username = match args.username {
        Some(u) => u,
        None => prompt("User name")?,
    };
    let password = read_password(&username, args.password_stdin)?;

    let with_password = Client::new(&server, Auth::Basic { user: username.clone(), secret: password })?;
    let me = with_password.current_user().await.map_err(|e| match e.status() {
        Some(401) => Failure::new(EXIT_AUTH, format!("login to {server} failed: invalid username or password")),
        _ => Failure::from(e),
    })?;
    let mut scopes = vec![
        TokenScope::ApiRead,
        TokenScope::ApiWrite,
        TokenScope::RegistryPull,
        TokenScope::RegistryPush,
        TokenScope::RegistryDelete,
    ];
    if me.operator_role.is_some() {
        scopes.push(TokenScope::Admin);
    }
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "this machine".into());
    let name = format!("wharf-cli on {host} at {}", Timestamp::now());
    let request = CreateTokenRequest {
        name,
        scopes: scopes.iter().map(ToString::to_string).collect(),
        expires_in_days: Some(args.expires_in_days),
    };
    let created = with_password.create_token(&request).await?;
    let (token, secret) = (created.token, created.secret);

    // Check that the new token works before storing it.
    let with_token = Client::new(&server, Auth::Token(secret.clone()))?;
    with_token.current_user().await?;

    let previous = creds.servers.insert(
        server.clone(),
        ServerCredentials {
            username: me.user.name.clone(),
            token: secret,
            token_id: token.id,
            expires_at: token.expires_at,
        },
    );
    creds.default = Some(server.clone());
    let path = save_credentials(&creds)?;
    // The token this login replaces is no longer needed.
    if let Some(old) = previous
        && let Ok(old_client) = Client::new(&server, Auth::Token(old.token))
    {
        let _ = old_client.revoke_token(old.token_id).await;
    }
    output::line(format!(
        "Logged in to {server} as {}. API token {} stored in {} (expires {}).",
        me.user.name,
        token.id,
        path.display(),
        token.expires_at.map_or_else(|| "never".to_owned(), |t| t.to_string())
    ));
    Ok(())
}

/// The password of `username`: the first line of standard input (`from_stdin`),
/// `WHARF_PASSWORD`, or asked for on the terminal.
fn read_password(username: &str, from_stdin: bool) -> Result<String, Failure> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(|e| fail(format!("cannot read standard input: {e}")))?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    } else if let Ok(p) = std::env::var("WHARF_PASSWORD") {
        Ok(p)
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {username}: ")).map_err(|e| fail(e.to_string()))
    } else {
        Err(fail("no terminal to ask for the password on: pass --password-stdin and pipe it in"))
    }
}

/// A client that signs in with a password, for what an API token may not do
/// (creating tokens): the user is `username`, or the stored login's.
pub(super) fn with_password(
    server: Option<&str>,
    username: Option<String>,
    from_stdin: bool,
) -> Result<Client, Failure> {
    let creds = load_credentials()?;
    let server = normalise(server.or(creds.default.as_deref()).unwrap_or(DEFAULT_SERVER));
    let username = match username.or_else(|| creds.servers.get(&server).map(|c| c.username.clone())) {
        Some(u) => u,
        None => prompt("User name")?,
    };
    let password = read_password(&username, from_stdin)?;
    Ok(Client::new(&server, Auth::Basic { user: username, secret: password })?)
}

fn stored(creds: &CredentialsFile, server: Option<&str>) -> Result<(String, ServerCredentials), Failure> {
    let server = normalise(server.or(creds.default.as_deref()).ok_or_else(|| {
        Failure::new(EXIT_AUTH, "not logged in to any server: run `wharf login SERVER --username NAME`")
    })?);
    let entry = creds
        .servers
        .get(&server)
        .cloned()
        .ok_or_else(|| Failure::new(EXIT_AUTH, format!("not logged in to {server}: run `wharf login {server}`")))?;
    Ok((server, entry))
}

pub(super) async fn logout(args: LogoutArgs) -> Result<(), Failure> {
    let mut creds = load_credentials()?;
    let (server, entry) = stored(&creds, args.server.as_deref())?;
    let client = Client::new(&server, Auth::Token(entry.token.clone()))?;
    match client.revoke_token(entry.token_id).await {
        Ok(()) => {}
        // Already revoked or expired: forgetting it is all that is left to do.
        Err(e) if matches!(e.status(), Some(401 | 404)) => {}
        Err(e) => return Err(Failure::from(e)),
    }
    creds.servers.remove(&server);
    if creds.default.as_deref() == Some(server.as_str()) {
        creds.default = creds.servers.keys().next().cloned();
    }
    save_credentials(&creds)?;
    output::line(format!("Logged out of {server}; token {} revoked.", entry.token_id));
    Ok(())
}

pub(super) async fn whoami(args: WhoamiArgs) -> Result<(), Failure> {
    let (server, token) = session(args.server.as_deref())?;
    let client = Client::new(&server, Auth::Token(token))?;
    let me = client.current_user().await.map_err(|e| match e.status() {
        Some(401) if env_token().is_some() => {
            Failure::new(EXIT_AUTH, format!("the token in WHARF_TOKEN does not work on {server} ({e})"))
        }
        Some(401) => Failure::new(
            EXIT_AUTH,
            format!("the stored token for {server} no longer works ({e}); run `wharf login {server}`"),
        ),
        _ => Failure::from(e),
    })?;
    match args.output.output {
        Format::Json => output::json(&Whoami { server: &server, user: &me }),
        Format::Human => {
            output::line(format!("{} on {server}", me.user.name));
            let scopes: Vec<String> = me.scopes.iter().map(ToString::to_string).collect();
            output::line(format!("scopes: {}", scopes.join(" ")));
            if let Some(role) = me.operator_role {
                output::line(format!("operator role: {role}"));
            }
        }
    }
    Ok(())
}

//! Configuration: one TOML file, `WHARF_…` environment overrides, command-line flags.
//!
//! Precedence, lowest first: built-in defaults, the file (`--config FILE` or
//! `WHARF_CONFIG`), environment variables, flags. Every key is documented in
//! `config/wharf.example.toml`, which a test keeps identical to the defaults.
//!
//! Environment variables name a key by its path in upper case, sections joined by a
//! double underscore: `database.url` is `WHARF_DATABASE__URL`, `listen` is
//! `WHARF_LISTEN`; lists are comma-separated. A `WHARF_…` variable that looks like a
//! key but names none is an error naming the closest key (a typo should not be silently
//! ignored): one that uses the `__` key path, starts with a section's name
//! (`WHARF_DATABASE_URL`) or is one or two letters from a top-level key (`WHARF_LISTN`).
//! Any other `WHARF_…` variable belongs to someone else (the client's `WHARF_URL` and
//! `WHARF_TOKEN`, for example, which a shell may export for other commands) and is left
//! alone; the client's own are listed in [`NOT_CONFIG_VARS`].
//!
//! Unknown keys, wrong types and broken rules are reported naming the key, where it
//! came from, and the rule.

mod rules;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
pub use wharf_api::ApiConfig;
pub use wharf_app::{CertificationConfig, GcConfig, MarketplaceConfig, WebhookConfig};
pub use wharf_auth::AuthConfig;
pub use wharf_blob::{BlobBackend, BlobConfig, LocalBlobConfig, S3BlobConfig};
pub use wharf_core::HumanDuration;
pub use wharf_db::DatabaseConfig;
pub use wharf_jobs::JobsConfig;
pub use wharf_registry::RegistryConfig;

/// `WHARF_…` variables of the command line that are not configuration keys, though some
/// look like one (`WHARF_REGISTRY_CREDS` starts with a section's name).
pub const NOT_CONFIG_VARS: &[&str] = &[
    "WHARF_CONFIG",
    "WHARF_ADMIN_PASSWORD",
    "WHARF_URL",
    "WHARF_TOKEN",
    "WHARF_USERNAME",
    "WHARF_PASSWORD",
    "WHARF_ADVISORIES",
    "WHARF_CLAMD",
    "WHARF_REGISTRY_CREDS",
];
/// Prefixes of variables used by the test suite and CI, also not configuration keys.
const NOT_CONFIG_PREFIXES: &[&str] = &["WHARF_TEST_", "WHARF_CI_"];

/// The shortest garbage-collection grace period: pushes in progress need time to
/// link what they upload. `gc.grace` and `wharf admin gc --grace` both keep to it.
pub const MIN_GC_GRACE: Duration = Duration::from_secs(60);

/// Why a shorter grace period is refused.
pub const GC_GRACE_RULE: &str = "must be at least 1m: pushes in progress need time to link what they upload";

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: String,
    /// Directory for the SQLite database, local blobs and other state.
    pub data_dir: PathBuf,
    /// URL clients use to reach this server; empty means `http://<listen>`.
    pub public_url: String,
    /// The metadata database.
    pub database: DatabaseConfig,
    /// The blob store.
    pub blob: BlobConfig,
    /// Registry token service.
    pub auth: AuthConfig,
    /// The OCI registry.
    pub registry: RegistryConfig,
    /// Garbage collection of the registry.
    pub gc: GcConfig,
    /// Background job workers.
    pub jobs: JobsConfig,
    /// How the marketplace certifies images.
    pub certification: CertificationConfig,
    /// REST API limits.
    pub api: ApiConfig,
    /// The marketplace: category taxonomy, signing key.
    pub marketplace: MarketplaceConfig,
    /// Publishers' webhooks: where deliveries may go.
    pub webhooks: WebhookConfig,
    /// HTTP server.
    pub server: ServerConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[server]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// How long in-flight requests may take to finish after SIGINT/SIGTERM.
    pub shutdown_timeout: HumanDuration,
    /// Time to receive a request's headers; on HTTP/1.1 also how long a keep-alive
    /// connection may wait for its next request.
    pub header_read_timeout: HumanDuration,
    /// A connection that moves no byte for this long while the server waits on it is closed.
    pub idle_timeout: HumanDuration,
    /// Connections served at once; past it new ones wait in the kernel's backlog.
    pub max_connections: usize,
    /// Bytes per second a request body must average over `body_rate_window` (0: no minimum).
    pub body_min_rate: u64,
    /// The window over which a request body's rate is measured.
    pub body_rate_window: HumanDuration,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// `[log]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `human` or `json`.
    pub format: LogFormat,
    /// A tracing filter: `info`, `debug`, `wharf=debug,tower_http=warn`, …
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:5000".into(),
            data_dir: PathBuf::from("./wharf-data"),
            public_url: String::new(),
            database: DatabaseConfig::default(),
            blob: BlobConfig::default(),
            auth: AuthConfig::default(),
            registry: RegistryConfig::default(),
            gc: GcConfig::default(),
            jobs: JobsConfig::default(),
            certification: CertificationConfig::default(),
            api: ApiConfig::default(),
            marketplace: MarketplaceConfig::default(),
            webhooks: WebhookConfig::default(),
            server: ServerConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            shutdown_timeout: HumanDuration(Duration::from_secs(30)),
            header_read_timeout: HumanDuration(Duration::from_secs(20)),
            idle_timeout: HumanDuration(Duration::from_secs(120)),
            max_connections: 4096,
            body_min_rate: 1024,
            body_rate_window: HumanDuration(Duration::from_secs(30)),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: LogFormat::Human, level: "info".into() }
    }
}

/// Where a setting came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    File(PathBuf),
    Env(String),
    Flag(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "in {}", p.display()),
            Origin::Env(v) => write!(f, "from environment variable {v}"),
            Origin::Flag(flag) => write!(f, "from {flag}"),
        }
    }
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A `WHARF_…` variable that looks like a key but names none.
    #[error(
        "environment variable {var} is not a configuration key; did you mean {closest}? (keys are listed in config/wharf.example.toml; `database.url` is WHARF_DATABASE__URL)"
    )]
    UnknownEnv {
        /// The variable.
        var: String,
        /// The variable of the closest key.
        closest: String,
    },
    /// Keys that are unknown, of the wrong type or break a rule.
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

/// Command-line settings that override the rest.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`
    pub config_file: Option<PathBuf>,
    /// `--listen ADDR`
    pub listen: Option<String>,
    /// `--data-dir DIR`
    pub data_dir: Option<PathBuf>,
}

impl Config {
    /// Loads the configuration from the process environment and `overrides`.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().filter(|(k, _)| k.starts_with("WHARF_")).collect();
        Config::load_from(overrides, &env)
    }

    /// Loads the configuration from an explicit environment (for tests).
    pub fn load_from(overrides: &Overrides, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
        let mut table = toml::Table::new();
        let mut origins: BTreeMap<String, Origin> = BTreeMap::new();

        let file = overrides
            .config_file
            .clone()
            .or_else(|| env.iter().find(|(k, _)| k == "WHARF_CONFIG").map(|(_, v)| PathBuf::from(v)));
        if let Some(path) = &file {
            let text =
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
            table = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Syntax { path: path.clone(), message: e.to_string() })?;
        }

        for (var, value) in env {
            if NOT_CONFIG_VARS.contains(&var.as_str()) || NOT_CONFIG_PREFIXES.iter().any(|p| var.starts_with(p)) {
                continue;
            }
            let Some(rest) = var.strip_prefix("WHARF_") else { continue };
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            let Some(default) = lookup(&defaults, &path) else {
                match claims_to_be_a_key(&defaults, rest) {
                    Some(closest) => return Err(ConfigError::UnknownEnv { var: var.clone(), closest }),
                    None => continue,
                }
            };
            let typed = match default {
                toml::Value::Integer(_) => value.trim().parse::<i64>().map(toml::Value::Integer).map_err(|_| {
                    ConfigError::Invalid(vec![format!(
                        "`{}` from environment variable {var}: expected an integer, got {value:?}",
                        path.join(".")
                    )])
                })?,
                toml::Value::Array(_) => toml::Value::Array(
                    value
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| toml::Value::String(v.to_owned()))
                        .collect(),
                ),
                toml::Value::Boolean(_) => match value.trim() {
                    "true" | "1" => toml::Value::Boolean(true),
                    "false" | "0" => toml::Value::Boolean(false),
                    _ => {
                        return Err(ConfigError::Invalid(vec![format!(
                            "`{}` from environment variable {var}: expected true or false, got {value:?}",
                            path.join(".")
                        )]));
                    }
                },
                _ => toml::Value::String(value.clone()),
            };
            insert(&mut table, &path, typed);
            origins.insert(path.join("."), Origin::Env(var.clone()));
        }
        if let Some(listen) = &overrides.listen {
            table.insert("listen".into(), toml::Value::String(listen.clone()));
            origins.insert("listen".into(), Origin::Flag("--listen"));
        }
        if let Some(dir) = &overrides.data_dir {
            table.insert("data_dir".into(), toml::Value::String(dir.display().to_string()));
            origins.insert("data_dir".into(), Origin::Flag("--data-dir"));
        }

        let where_ = |key: &str| -> String {
            // The most specific origin recorded for this key or one of its parents.
            let mut k = key.to_owned();
            loop {
                if let Some(o) = origins.get(&k) {
                    return format!(" ({o})");
                }
                match k.rfind('.') {
                    Some(i) => k.truncate(i),
                    None => break,
                }
            }
            file.as_ref().map(|f| format!(" ({})", Origin::File(f.clone()))).unwrap_or_default()
        };

        let config: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let key = e.path().to_string();
            // The first line is the rule; toml appends the key again ("in `x`"),
            // which we already name with its full path.
            let inner = e.into_inner().to_string();
            let inner = inner.lines().next().unwrap_or_default();
            let key_text = if key == "." { String::from("(top level)") } else { format!("`{key}`") };
            ConfigError::Invalid(vec![format!("{key_text}{}: {inner}", where_(&key))])
        })?;
        let problems: Vec<String> =
            config.rule_violations().into_iter().map(|(key, rule)| format!("`{key}`{}: {rule}", where_(key))).collect();
        if !problems.is_empty() {
            return Err(ConfigError::Invalid(problems));
        }
        Ok(config)
    }

    /// The database URL in effect: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite:{}?mode=rwc", self.data_dir.join("wharf.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// The URL clients reach this server at.
    pub fn public_url(&self) -> String {
        if !self.public_url.is_empty() {
            return self.public_url.trim_end_matches('/').to_owned();
        }
        match self.listen.parse::<SocketAddr>() {
            Ok(addr) if addr.ip().is_unspecified() => format!("http://127.0.0.1:{}", addr.port()),
            _ => format!("http://{}", self.listen),
        }
    }

    /// The local blob directory in effect.
    pub fn blob_dir(&self) -> PathBuf {
        if self.blob.local.path.is_empty() { self.data_dir.join("blobs") } else { PathBuf::from(&self.blob.local.path) }
    }

    /// Database options for `wharf-db`.
    pub fn db_options(&self) -> wharf_db::DbOptions {
        self.database.options(|| self.database_url())
    }

    /// Blob store options for `wharf-blob`.
    pub fn blob_options(&self) -> wharf_blob::StoreOptions {
        self.blob.options(self.blob_dir())
    }

    /// Token service settings for `wharf-auth`.
    pub fn auth_settings(&self) -> wharf_auth::AuthSettings {
        self.auth.settings(format!("{}/token", self.public_url()))
    }

    /// Registry settings for `wharf-registry`.
    pub fn registry_settings(&self) -> wharf_registry::RegistrySettings {
        self.registry.settings()
    }

    /// Garbage collection options (`dry_run` off).
    pub fn gc_options(&self) -> wharf_app::gc::GcOptions {
        self.gc.options(self.registry.upload_ttl.0)
    }

    /// The connection limits of `[server]`.
    pub fn connection_limits(&self) -> crate::http::Limits {
        crate::http::Limits {
            header_read_timeout: self.server.header_read_timeout.0,
            idle_timeout: self.server.idle_timeout.0,
            max_connections: self.server.max_connections,
            body_min_rate: self.server.body_min_rate,
            body_rate_window: self.server.body_rate_window.0,
        }
    }

    /// The application layer over these services, with the marketplace's categories.
    pub fn application(
        &self,
        db: wharf_db::Db,
        auth: wharf_auth::Authenticator,
        blobs: wharf_blob::BlobStore,
    ) -> Result<wharf_app::App, wharf_app::AppError> {
        wharf_app::App::new(db, auth, blobs, std::sync::Arc::new(self.marketplace.categories.clone()))
            .with_certification(&self.certification)?
            .with_webhooks(&self.webhooks)?
            .with_marketplace(&self.public_url(), &self.marketplace)
    }

    /// REST API limits for `wharf-api`.
    pub fn api_limits(&self) -> wharf_api::ApiConfig {
        self.api.clone()
    }

    /// The data directory, for messages.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
}

/// The variable of the key closest to `WHARF_<rest>`, when `rest` looks like a key:
/// it uses the `__` path, starts with a section's name, or is one or two letters away
/// from a top-level key. `None` for variables that are someone else's.
fn claims_to_be_a_key(defaults: &toml::Table, rest: &str) -> Option<String> {
    let lower = rest.to_ascii_lowercase();
    let section = |name: &str| lower == name || lower.starts_with(&format!("{name}_"));
    let looks_like_key =
        lower.contains("__")
            || defaults.iter().any(|(name, value)| {
                if value.is_table() { section(name) } else { strsim::levenshtein(&lower, name) <= 2 }
            });
    if !looks_like_key {
        return None;
    }
    let mut keys = Vec::new();
    env_names(defaults, "WHARF", &mut keys);
    let var = format!("WHARF_{}", rest.to_ascii_uppercase());
    // A key the variable begins (`…MAX_UPLOADS` for `…MAX_UPLOADS_PER_PRINCIPAL`), else the
    // fewest edits away.
    let begun = keys.iter().filter(|key| key.starts_with(&var)).min_by_key(|key| key.len()).cloned();
    begun.or_else(|| keys.into_iter().min_by_key(|key| strsim::levenshtein(key, &var)))
}

/// The variable of every key under `table`.
fn env_names(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (name, value) in table {
        let joint = if prefix == "WHARF" { "_" } else { "__" };
        let var = format!("{prefix}{joint}{}", name.to_ascii_uppercase());
        match value.as_table() {
            Some(section) => env_names(section, &var, out),
            None => out.push(var),
        }
    }
}

fn lookup<'a>(table: &'a toml::Table, path: &[String]) -> Option<&'a toml::Value> {
    let (first, rest) = path.split_first()?;
    let value = table.get(first)?;
    if rest.is_empty() {
        return if value.is_table() { None } else { Some(value) };
    }
    lookup(value.as_table()?, rest)
}

fn insert(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        table.insert(first.clone(), value);
        return;
    }
    let entry = table.entry(first.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !entry.is_table() {
        *entry = toml::Value::Table(toml::Table::new());
    }
    if let Some(t) = entry.as_table_mut() {
        insert(t, rest, value);
    }
}

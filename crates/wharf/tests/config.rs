//! Configuration loading: defaults, file, environment, flags, and every kind of
//! bad input answered with a message naming the key, where it came from and the rule.

use std::io::Write;
use std::path::PathBuf;

use insta::assert_snapshot;
use wharf::config::{BlobBackend, Config, Overrides};

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn load(toml: Option<&str>, env: &[(&str, &str)]) -> (Result<Config, String>, Option<tempfile::NamedTempFile>) {
    let f = toml.map(file);
    let overrides = Overrides { config_file: f.as_ref().map(|f| f.path().to_owned()), ..Overrides::default() };
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    (Config::load_from(&overrides, &env).map_err(|e| e.to_string()), f)
}

/// Replaces the temporary file's path so snapshots are stable.
fn err(toml: Option<&str>, env: &[(&str, &str)]) -> String {
    let (result, f) = load(toml, env);
    let msg = result.expect_err("configuration should be refused");
    match f {
        Some(f) => msg.replace(&f.path().display().to_string(), "wharf.toml"),
        None => msg,
    }
}

#[test]
fn no_configuration_means_embedded_defaults() {
    let (config, _) = load(None, &[]);
    let config = config.unwrap();
    assert_eq!(config, Config::default());
    assert_eq!(config.listen, "127.0.0.1:5000");
    assert_eq!(config.database_url(), "sqlite:./wharf-data/wharf.db?mode=rwc");
    assert_eq!(config.blob_dir(), PathBuf::from("./wharf-data/blobs"));
    assert_eq!(config.public_url(), "http://127.0.0.1:5000");
    assert_eq!(config.auth_settings().realm, "http://127.0.0.1:5000/token");
}

#[test]
fn precedence_is_defaults_file_env_flags() {
    let f = file("listen = \"127.0.0.1:6000\"\ndata_dir = \"/srv/file\"\n[database]\nmax_connections = 4\n");
    let env = vec![
        ("WHARF_DATA_DIR".to_owned(), "/srv/env".to_owned()),
        ("WHARF_DATABASE__MAX_CONNECTIONS".to_owned(), "8".to_owned()),
        ("WHARF_BLOB__LOCAL__FSYNC".to_owned(), "false".to_owned()),
        ("WHARF_REGISTRY__OPEN_NAMESPACES".to_owned(), "bench, scratch".to_owned()),
        ("WHARF_ADMIN_PASSWORD".to_owned(), "not a config key, ignored".to_owned()),
        ("WHARF_TEST_DB".to_owned(), "ignored too".to_owned()),
    ];
    let overrides =
        Overrides { config_file: Some(f.path().to_owned()), listen: Some("0.0.0.0:7000".into()), data_dir: None };
    let c = Config::load_from(&overrides, &env).unwrap();
    assert_eq!(c.listen, "0.0.0.0:7000", "flag beats file");
    assert_eq!(c.data_dir, PathBuf::from("/srv/env"), "env beats file");
    assert_eq!(c.database.max_connections, 8, "env integers are typed");
    assert!(!c.blob.local.fsync, "env booleans are typed");
    assert_eq!(c.registry.open_namespaces, ["bench", "scratch"], "env lists are comma-separated");
    assert_eq!(c.public_url(), "http://127.0.0.1:7000", "an unspecified listen address is reached on loopback");
    let overrides = Overrides { data_dir: Some("/srv/flag".into()), ..overrides };
    assert_eq!(Config::load_from(&overrides, &env).unwrap().data_dir, PathBuf::from("/srv/flag"));
}

#[test]
fn s3_and_postgres_settings_map_to_crate_options() {
    let (c, _) = load(
        Some(
            "[database]\nurl = \"postgres://w:pw@db:5432/wharf\"\n[blob]\nbackend = \"s3\"\n[blob.s3]\nendpoint = \"http://127.0.0.1:3900\"\nbucket = \"wharf\"\nprefix = \"prod\"\n",
        ),
        &[],
    );
    let c = c.unwrap();
    assert_eq!(c.blob.backend, BlobBackend::S3);
    assert_eq!(c.db_options().url, "postgres://w:pw@db:5432/wharf");
    match c.blob_options() {
        wharf_blob::StoreOptions::S3(s3) => {
            assert_eq!(
                (s3.endpoint.as_deref(), s3.bucket.as_str(), s3.prefix.as_str()),
                (Some("http://127.0.0.1:3900"), "wharf", "prod")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_toml() {
    assert_snapshot!(err(Some("listen = \"127.0.0.1:5000\n"), &[]), @r#"
    the configuration file wharf.toml is not valid TOML: TOML parse error at line 1, column 25
      |
    1 | listen = "127.0.0.1:5000
      |                         ^
    invalid basic string, expected `"`
    "#);
}

#[test]
fn unknown_keys_are_named() {
    assert_snapshot!(err(Some("lisen = \"127.0.0.1:5000\"\n"), &[]), @"
    invalid configuration:
      - `lisen` (in wharf.toml): unknown field `lisen`, expected one of `listen`, `data_dir`, `public_url`, `database`, `blob`, `auth`, `registry`, `gc`, `jobs`, `certification`, `api`, `marketplace`, `webhooks`, `server`, `log`
    ");
    assert_snapshot!(err(Some("[database]\nurll = \"x\"\n"), &[]), @"
    invalid configuration:
      - `database.urll` (in wharf.toml): unknown field `urll`, expected one of `url`, `max_connections`, `connect_timeout`, `sqlite_busy_timeout`
    ");
    assert_snapshot!(err(Some("[blob.s3]\nbukcet = \"x\"\n"), &[]), @"
    invalid configuration:
      - `blob.s3.bukcet` (in wharf.toml): unknown field `bukcet`, expected one of `endpoint`, `bucket`, `region`, `prefix`, `virtual_hosted_style`, `connect_timeout`, `request_timeout`, `max_retries`, `retry_timeout`
    ");
    assert_snapshot!(err(None, &[("WHARF_DATABSE__URL", "x")]), @"environment variable WHARF_DATABSE__URL is not a configuration key; did you mean WHARF_DATABASE__URL? (keys are listed in config/wharf.example.toml; `database.url` is WHARF_DATABASE__URL)");
    assert_snapshot!(err(None, &[("WHARF_BLOB", "s3")]), @"environment variable WHARF_BLOB is not a configuration key; did you mean WHARF_BLOB__BACKEND? (keys are listed in config/wharf.example.toml; `database.url` is WHARF_DATABASE__URL)");
}

/// Variables that look like keys are checked; the rest are someone else's. A shell that
/// exports the client's `WHARF_URL` and `WHARF_TOKEN`, or a tool's own `WHARF_…`, does
/// not stop the server.
#[test]
fn only_variables_that_look_like_keys_are_refused() {
    let (config, _) = load(
        None,
        &[
            ("WHARF_URL", "http://wharf.example"),
            ("WHARF_TOKEN", "wharf_x"),
            ("WHARF_SOMETHING_ELSE", "1"),
            ("WHARF_REGISTRY_CREDS", "a:b"),
            ("WHARF_CLAMD", "unix:/run/clamd"),
        ],
    );
    assert_eq!(config.unwrap(), Config::default());
    let refused = [
        ("WHARF_DATABASE_URL", "WHARF_DATABASE__URL"),
        ("WHARF_REGISTRY__MAX_UPLOADS", "WHARF_REGISTRY__MAX_UPLOADS_PER_PRINCIPAL"),
        ("WHARF_AUTH_TOKEN_TTL", "WHARF_AUTH__TOKEN_TTL"),
        ("WHARF_LISTN", "WHARF_LISTEN"),
        ("WHARF_PUBLIC_URI", "WHARF_PUBLIC_URL"),
        ("WHARF_GCC__GRACE", "WHARF_GC__GRACE"),
    ];
    for (var, closest) in refused {
        let message = err(None, &[(var, "1")]);
        assert!(
            message.starts_with(&format!(
                "environment variable {var} is not a configuration key; did you mean {closest}?"
            )),
            "{var}: {message}"
        );
    }
}

#[test]
fn wrong_types_and_values_name_key_origin_and_rule() {
    // (file contents, environment, what the message must contain)
    type Case<'a> = (Option<&'a str>, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            None,
            &[("WHARF_JOBS__WORKERS", "100")],
            "`jobs.workers` (from environment variable WHARF_JOBS__WORKERS): must be at most 64 (got 100)",
        ),
        (
            Some("[jobs]\npoll_interval = \"1ms\"\n"),
            &[],
            "`jobs.poll_interval` (in wharf.toml): must be between 10ms and 1m (got 1ms)",
        ),
        (
            Some("[database]\nmax_connections = \"lots\"\n"),
            &[],
            "`database.max_connections` (in wharf.toml): invalid type: string \"lots\", expected u32",
        ),
        (
            None,
            &[("WHARF_DATABASE__MAX_CONNECTIONS", "lots")],
            "`database.max_connections` from environment variable WHARF_DATABASE__MAX_CONNECTIONS: expected an integer, got \"lots\"",
        ),
        (
            None,
            &[("WHARF_BLOB__LOCAL__FSYNC", "yes")],
            "`blob.local.fsync` from environment variable WHARF_BLOB__LOCAL__FSYNC: expected true or false, got \"yes\"",
        ),
        (
            Some("[blob]\nbackend = \"gcs\"\n"),
            &[],
            "`blob.backend` (in wharf.toml): unknown variant `gcs`, expected `local` or `s3`",
        ),
        (
            Some("[auth]\ntoken_ttl = \"5 parsecs\"\n"),
            &[],
            "`auth.token_ttl` (in wharf.toml): invalid duration \"5 parsecs\"",
        ),
        (
            Some("listen = \"localhost\"\n"),
            &[],
            "`listen` (in wharf.toml): must be IP:PORT such as 127.0.0.1:5000 (got \"localhost\")",
        ),
        (
            None,
            &[("WHARF_LISTEN", "999.1.1.1:5000")],
            "`listen` (from environment variable WHARF_LISTEN): must be IP:PORT",
        ),
        (
            Some("[blob]\nbackend = \"s3\"\n"),
            &[],
            "`blob.s3.bucket` (in wharf.toml): is required when blob.backend = \"s3\"",
        ),
        (
            Some("[database]\nurl = \"mysql://root@db/wharf\"\n"),
            &[],
            "`database.url` (in wharf.toml): must be empty (SQLite in the data directory), sqlite:PATH or postgres://",
        ),
        (
            Some("[database]\nmax_connections = 0\n"),
            &[],
            "`database.max_connections` (in wharf.toml): must be between 1 and 1000 (got 0)",
        ),
        (
            Some("[auth]\ntoken_ttl = \"2d\"\n"),
            &[],
            "`auth.token_ttl` (in wharf.toml): must be between 30s and 24h (got 2days)",
        ),
        (
            Some("[api]\nmax_body_bytes = 10\n"),
            &[],
            "`api.max_body_bytes` (in wharf.toml): must be between 1024 and 1073741824 (got 10)",
        ),
        (
            Some("[api]\ndefault_page_size = 500\n"),
            &[],
            "`api.default_page_size` (in wharf.toml): must be between 1 and api.max_page_size (got 500)",
        ),
        (
            Some("public_url = \"ftp://example.com\"\n"),
            &[],
            "`public_url` (in wharf.toml): must be an http:// or https:// URL",
        ),
        (
            Some("[log]\nformat = \"xml\"\n"),
            &[],
            "`log.format` (in wharf.toml): unknown variant `xml`, expected `human` or `json`",
        ),
        (Some("[log]\nlevel = \"wharf=loud\"\n"), &[], "`log.level` (in wharf.toml): is not a valid filter"),
        (
            Some("[server]\nheader_read_timeout = \"0s\"\n"),
            &[],
            "`server.header_read_timeout` (in wharf.toml): must be between 1s and 1h (got 0s)",
        ),
        (
            Some("[server]\nidle_timeout = \"2h\"\n"),
            &[],
            "`server.idle_timeout` (in wharf.toml): must be between 1s and 1h",
        ),
        (Some("[server]\nmax_connections = 0\n"), &[], "`server.max_connections` (in wharf.toml): must be at least 1"),
        (
            Some("[registry]\nmax_uploads_per_principal = 0\n"),
            &[],
            "`registry.max_uploads_per_principal` (in wharf.toml): must be at least 1",
        ),
        (
            Some("[auth]\nmax_failures_per_address = 0\n"),
            &[],
            "`auth.max_failures_per_address` (in wharf.toml): must be at least 1",
        ),
        (
            Some("database = 5\n"),
            &[],
            "`database` (in wharf.toml): invalid type: integer `5`, expected struct DatabaseConfig",
        ),
    ];
    for (toml, env, needle) in cases {
        let msg = err(*toml, env);
        assert!(msg.starts_with("invalid configuration:\n  - "), "{msg}");
        assert!(msg.contains(needle), "{toml:?} {env:?}\n  got: {msg}\n  wanted: {needle}");
    }
    // Several broken rules are reported together.
    let msg = err(Some("listen = \"x\"\n[database]\nmax_connections = 0\n"), &[]);
    assert_eq!(msg.matches("\n  - ").count(), 2, "{msg}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let overrides = Overrides { config_file: Some("/nonexistent/wharf.toml".into()), ..Overrides::default() };
    let msg = Config::load_from(&overrides, &[]).unwrap_err().to_string();
    assert!(msg.starts_with("cannot read the configuration file /nonexistent/wharf.toml: "), "{msg}");
}

/// The shipped example is the defaults, and documents every key with a comment.
#[test]
fn example_file_documents_every_key_with_its_default() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/wharf.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let overrides = Overrides { config_file: Some(path), ..Overrides::default() };
    assert_eq!(Config::load_from(&overrides, &[]).unwrap(), Config::default(), "example values are the defaults");

    let defaults = toml::Table::try_from(Config::default()).unwrap();
    let example: toml::Table = text.parse().unwrap();
    fn keys(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in t {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match v.as_table() {
                Some(sub) => keys(&path, sub, out),
                None => out.push(path),
            }
        }
    }
    let (mut want, mut have) = (Vec::new(), Vec::new());
    keys("", &defaults, &mut want);
    keys("", &example, &mut have);
    want.sort();
    have.sort();
    assert_eq!(want, have, "every key appears in the example file");
    // Each key line is preceded by a comment line.
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.contains(" = ") && !line.starts_with('#') {
            assert!(i > 0 && lines[i - 1].starts_with('#'), "undocumented key: {line}");
        }
    }
}

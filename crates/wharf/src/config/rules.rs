//! The rules a configuration must keep beyond its types: every violation found in one
//! pass, each with its key.

use std::time::Duration;

use super::*;

impl Config {
    /// Rules that types alone do not express, as (key, rule) pairs.
    pub(super) fn rule_violations(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        if self.listen.parse::<SocketAddr>().is_err() {
            v.push(("listen", format!("must be IP:PORT such as 127.0.0.1:5000 (got {:?})", self.listen)));
        }
        if !self.public_url.is_empty() && !is_http_url(&self.public_url) {
            v.push(("public_url", format!("must be an http:// or https:// URL (got {:?})", self.public_url)));
        }
        if self.data_dir.as_os_str().is_empty() {
            v.push(("data_dir", "must not be empty".into()));
        }
        let url = &self.database.url;
        if !url.is_empty() && wharf_db::Backend::from_url(url).is_err() {
            v.push((
                "database.url",
                "must be empty (SQLite in the data directory), sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB"
                    .into(),
            ));
        }
        if !(1..=1000).contains(&self.database.max_connections) {
            v.push((
                "database.max_connections",
                format!("must be between 1 and 1000 (got {})", self.database.max_connections),
            ));
        }
        if self.blob.backend == BlobBackend::S3 && self.blob.s3.bucket.is_empty() {
            v.push(("blob.s3.bucket", "is required when blob.backend = \"s3\"".into()));
        }
        if !self.blob.s3.endpoint.is_empty() && !is_http_url(&self.blob.s3.endpoint) {
            v.push((
                "blob.s3.endpoint",
                format!("must be an http:// or https:// URL (got {:?})", self.blob.s3.endpoint),
            ));
        }
        let ttl = self.auth.token_ttl.0;
        if ttl < Duration::from_secs(30) || ttl > Duration::from_secs(86_400) {
            v.push((
                "auth.token_ttl",
                format!("must be between 30s and 24h (got {})", humantime::format_duration(ttl)),
            ));
        }
        for (key, value) in [("auth.issuer", &self.auth.issuer), ("auth.service", &self.auth.service)] {
            if value.is_empty() || value.chars().any(|c| c.is_control() || c == '"') {
                v.push((key, "must be non-empty, without quotes or control characters".into()));
            }
        }
        if !(4 * 1024 * 1024..=64 * 1024 * 1024).contains(&self.registry.max_manifest_bytes) {
            v.push((
                "registry.max_manifest_bytes",
                format!(
                    "must be between 4194304 (4 MiB, the specification's minimum) and 67108864 (got {})",
                    self.registry.max_manifest_bytes
                ),
            ));
        }
        if !(1..=10_000).contains(&self.registry.max_page) {
            v.push(("registry.max_page", format!("must be between 1 and 10000 (got {})", self.registry.max_page)));
        }
        for ns in &self.registry.open_namespaces {
            if ns.parse::<wharf_core::OrgName>().is_err() {
                v.push(("registry.open_namespaces", format!("{ns:?} is not an organization name")));
            }
        }
        if self.registry.cache_ttl.0 > Duration::from_secs(60) {
            v.push(("registry.cache_ttl", "must be at most 1m (0s turns the read caches off)".into()));
        }
        if self.registry.upload_ttl.0 < Duration::from_secs(60) {
            v.push(("registry.upload_ttl", "must be at least 1m".into()));
        }
        if self.gc.grace.0 < MIN_GC_GRACE {
            v.push(("gc.grace", GC_GRACE_RULE.into()));
        }
        if self.jobs.workers > 64 {
            v.push(("jobs.workers", format!("must be at most 64 (got {})", self.jobs.workers)));
        }
        let poll = self.jobs.poll_interval.0;
        if poll < Duration::from_millis(10) || poll > Duration::from_secs(60) {
            v.push((
                "jobs.poll_interval",
                format!("must be between 10ms and 1m (got {})", humantime::format_duration(poll)),
            ));
        }
        if !self.gc.interval.0.is_zero() && self.gc.interval.0 < Duration::from_secs(60) {
            v.push(("gc.interval", "must be 0s (off) or at least 1m".into()));
        }
        if !(1024..=1 << 30).contains(&self.api.max_body_bytes) {
            v.push((
                "api.max_body_bytes",
                format!("must be between 1024 and 1073741824 (got {})", self.api.max_body_bytes),
            ));
        }
        if self.marketplace.categories.is_empty() {
            v.push(("marketplace.categories", "must list at least one category".to_owned()));
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.marketplace.categories {
            let ok = !c.is_empty()
                && c.len() <= 50
                && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-')
                && !c.starts_with('-');
            if !ok {
                v.push((
                    "marketplace.categories",
                    format!("{c:?} is not a category id (lowercase letters, digits and '-', at most 50 characters)"),
                ));
            } else if !seen.insert(c) {
                v.push(("marketplace.categories", format!("lists {c:?} twice")));
            }
        }
        if !(1..=1000).contains(&self.api.max_page_size) {
            v.push(("api.max_page_size", format!("must be between 1 and 1000 (got {})", self.api.max_page_size)));
        }
        if self.api.default_page_size == 0 || self.api.default_page_size > self.api.max_page_size {
            v.push((
                "api.default_page_size",
                format!("must be between 1 and api.max_page_size (got {})", self.api.default_page_size),
            ));
        }
        let srv = &self.server;
        for (key, d, min) in [
            ("server.header_read_timeout", srv.header_read_timeout.0, Duration::from_secs(1)),
            ("server.idle_timeout", srv.idle_timeout.0, Duration::from_secs(1)),
            ("server.body_rate_window", srv.body_rate_window.0, Duration::from_secs(1)),
        ] {
            if d < min || d > Duration::from_secs(3600) {
                v.push((key, format!("must be between 1s and 1h (got {})", humantime::format_duration(d))));
            }
        }
        for (key, n) in [
            ("registry.max_uploads_per_principal", self.registry.max_uploads_per_principal),
            ("registry.max_uploads_per_repository", self.registry.max_uploads_per_repository),
        ] {
            if n == 0 {
                v.push((key, "must be at least 1".to_owned()));
            }
        }
        for (key, zero) in [
            ("auth.max_failures_per_user", self.auth.max_failures_per_user == 0),
            ("auth.max_failures_per_address", self.auth.max_failures_per_address == 0),
            ("server.max_connections", srv.max_connections == 0),
        ] {
            if zero {
                v.push((key, "must be at least 1".to_owned()));
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&self.log.level) {
            v.push(("log.level", format!("is not a valid filter ({e}); use e.g. \"info\" or \"wharf=debug,info\"")));
        }
        v
    }
}

fn is_http_url(s: &str) -> bool {
    url::Url::parse(s).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

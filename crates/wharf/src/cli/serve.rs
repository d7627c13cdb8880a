//! `wharf serve` and `wharf migrate`.

use std::time::Instant;

use wharf_auth::Authenticator;
use wharf_blob::BlobStore;
use wharf_db::Db;

use super::{EXIT_FAILED, EXIT_UNAVAILABLE, Failure, ServeArgs, ServerArgs};
use crate::config::Config;
use crate::server::{self, AppState};
use crate::{output, telemetry};
use wharf_app::bootstrap::{ADMIN_PASSWORD_VAR, ADMIN_USER, Outcome};

/// Opens the database named by the configuration and brings its schema up to date.
pub(crate) async fn open_database(config: &Config) -> Result<Db, Failure> {
    std::fs::create_dir_all(config.data_dir()).map_err(|e| {
        Failure::new(EXIT_FAILED, format!("cannot create the data directory {}: {e}", config.data_dir().display()))
    })?;
    let db = Db::connect(&config.db_options()).await?;
    db.migrate().await?;
    Ok(db)
}

pub(super) async fn migrate(args: ServerArgs) -> Result<(), Failure> {
    let config = Config::load(&args.overrides(None))?;
    telemetry::init_logging(&config.log);
    let db = open_database(&config).await?;
    let version = db.schema_version().await?;
    db.close().await;
    output::line(format!("database {} is at schema version {version}", db.redacted_url()));
    Ok(())
}

pub(super) async fn serve(args: ServeArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let config = Config::load(&args.server.overrides(args.listen))?;
    telemetry::init_logging(&config.log);
    telemetry::metrics();

    let db = open_database(&config).await?;
    tracing::info!(database = db.redacted_url(), backend = db.backend().as_str(), "database ready");

    let blobs = BlobStore::open(&config.blob_options()).map_err(|e| Failure::new(super::EXIT_CONFIG, e.to_string()))?;
    match blobs.check().await {
        Ok(()) => tracing::info!(blob_store = blobs.description(), "blob store ready"),
        // Keep serving: /readyz reports it and blob requests fail cleanly until it is back.
        Err(e) => {
            tracing::error!(blob_store = blobs.description(), error = %e, "blob store unreachable; /readyz will report unavailable")
        }
    }

    let auth = Authenticator::new(db.clone(), config.auth_settings()).await?;
    let given = std::env::var(ADMIN_PASSWORD_VAR).ok();
    let application = config
        .application(db.clone(), auth.clone(), blobs.clone())
        .map_err(|e| Failure::new(super::EXIT_CONFIG, format!("invalid configuration: {e}")))?;
    let outcome = application.ensure_admin(given.as_deref()).await?;

    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| Failure::new(EXIT_UNAVAILABLE, format!("cannot listen on {}: {e}", config.listen)))?;
    let url = config.public_url();
    tracing::info!(
        listen = %config.listen,
        url = %url,
        startup_ms = started.elapsed().as_millis() as u64,
        "Wharf is serving"
    );
    announce(&outcome, &url);

    warn_if_descriptors_are_short(config.server.max_connections);
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let worker = background(&config, &db, &blobs, &application, stop);
    let state = AppState::new(db.clone(), blobs, auth, application);
    let connections = state.connections.clone();
    let app = server::app(state, &config);
    let served = server::serve(
        listener,
        app,
        config.connection_limits(),
        connections,
        config.server.shutdown_timeout.0,
        stopping,
    )
    .await;
    // A job still running gets the same time to finish; if it does not, its lease
    // expires and it runs again later (jobs are durable and idempotent).
    if tokio::time::timeout(config.server.shutdown_timeout.0, worker).await.is_err() {
        tracing::warn!("a background job did not finish in time; it will run again");
    }
    db.close().await;
    tracing::info!("stopped");
    served.map_err(Failure::from)
}

/// The job runner and the scheduler of periodic jobs, until `stop` turns true.
fn background(
    config: &Config,
    db: &Db,
    blobs: &BlobStore,
    app: &wharf_app::App,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    use wharf_app::gc::{GcJob, PurgeUploadsJob};
    let runner = (config.jobs.workers > 0).then(|| runner(config, db, blobs, app));
    // Expired upload sessions are purged every 15 minutes (from the start), collections or not.
    let quarter = std::time::Duration::from_secs(15 * 60);
    every(std::time::Duration::ZERO, quarter, stop.clone(), {
        let db = db.clone();
        move || {
            let db = db.clone();
            async move {
                let key = Some(<PurgeUploadsJob as wharf_jobs::Job>::KIND);
                if let Err(e) = wharf_jobs::enqueue(&db, &PurgeUploadsJob, key).await {
                    tracing::error!(error = %format!("{e:#}"), "could not schedule the upload session purge");
                }
            }
        }
    });
    // Live versions without a catalog entry (a database from before the catalog).
    tokio::spawn({
        let db = db.clone();
        async move {
            let job = wharf_app::catalog::RebuildCatalog;
            if let Err(e) = wharf_jobs::enqueue(&db, &job, Some("catalog.rebuild")).await {
                tracing::error!(error = %format!("{e:#}"), "could not schedule the catalog rebuild");
            }
        }
    });
    let interval = config.gc.interval.0;
    if !interval.is_zero() {
        let db = db.clone();
        every(interval, interval, stop.clone(), move || {
            let db = db.clone();
            async move {
                match wharf_jobs::enqueue(&db, &GcJob { dry_run: false }, Some("registry.gc")).await {
                    Ok(Some(id)) => tracing::info!(job.id = id.0, "garbage collection scheduled"),
                    Ok(None) => tracing::info!("garbage collection already queued or running"),
                    Err(e) => tracing::error!(error = %format!("{e:#}"), "could not schedule garbage collection"),
                }
                let week_ago = wharf_core::Timestamp::now().as_millis() - 7 * 86_400_000;
                if let Err(e) = db.prune_jobs(wharf_core::Timestamp::from_millis(week_ago)).await {
                    tracing::warn!(error = %e, "could not prune finished jobs");
                }
            }
        });
    }
    tokio::spawn(async move {
        match runner {
            Some(runner) => runner.run_until(stopped(stop)).await,
            None => tracing::info!("no in-process job workers (jobs.workers = 0): run `wharf worker`"),
        }
    })
}

/// The job runner with every kind of job registered, as `[jobs]` configures it.
fn runner(config: &Config, db: &Db, blobs: &BlobStore, app: &wharf_app::App) -> wharf_jobs::Runner {
    use wharf_app::gc::{GcContext, GcJob, PurgeUploadsJob};
    let gc = GcContext { db: db.clone(), blobs: blobs.clone(), options: config.gc_options() };
    wharf_jobs::Runner::new(db.clone())
        .configured(&config.jobs)
        .register::<GcJob>(gc.clone())
        .register::<PurgeUploadsJob>(gc)
        .register::<wharf_app::pipeline::CertifyVersion>(app.clone())
        .register::<wharf_app::packaging::PackageVersion>(app.clone())
        .register::<wharf_app::release::ReleaseVersion>(app.clone())
        .register::<wharf_app::webhooks::DeliverWebhook>(app.clone())
        .register::<wharf_app::leads::DeliverLead>(app.clone())
        .register::<wharf_app::health::RegradeVersions>(app.clone())
        .register::<wharf_app::catalog::RebuildCatalog>(app.clone())
}

/// `wharf worker`: the background job workers of `wharf serve`, as a process of their
/// own on the same database and blob store, until SIGINT or SIGTERM (jobs in progress
/// finish first). Scheduling periodic jobs stays with `wharf serve`.
pub(super) async fn worker(args: ServerArgs) -> Result<(), Failure> {
    let config = Config::load(&args.overrides(None))?;
    telemetry::init_logging(&config.log);
    telemetry::metrics();
    let db = open_database(&config).await?;
    let blobs = BlobStore::open(&config.blob_options()).map_err(|e| Failure::new(super::EXIT_CONFIG, e.to_string()))?;
    let auth = Authenticator::new(db.clone(), config.auth_settings()).await?;
    let app = config
        .application(db.clone(), auth, blobs.clone())
        .map_err(|e| Failure::new(super::EXIT_CONFIG, format!("invalid configuration: {e}")))?;
    let workers = config.jobs.workers.max(1);
    tracing::info!(workers, database = db.redacted_url(), "job worker started");
    runner(&config, &db, &blobs, &app).workers(workers).run_until(crate::server::shutdown_signal()).await;
    db.close().await;
    tracing::info!("job worker stopped");
    Ok(())
}

/// Runs `tick` after `first`, then every `period`, until the server stops.
fn every<F, Fut>(
    first: std::time::Duration,
    period: std::time::Duration,
    stop: tokio::sync::watch::Receiver<bool>,
    mut tick: F,
) where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut timer = tokio::time::interval_at(tokio::time::Instant::now() + first, period);
        let mut stop = std::pin::pin!(stopped(stop));
        loop {
            tokio::select! {
                () = &mut stop => return,
                _ = timer.tick() => {}
            }
            tick().await;
        }
    });
}

async fn stopped(mut rx: tokio::sync::watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

fn announce(outcome: &Outcome, url: &str) {
    match outcome {
        Outcome::AlreadyBootstrapped => {}
        Outcome::CreatedWithGivenPassword => {
            output::line(format!(
                "Created the operator account \"{ADMIN_USER}\" with the password from {ADMIN_PASSWORD_VAR}."
            ));
            output::line(format!("Log in with:  wharf login {url} --username {ADMIN_USER}"));
        }
        Outcome::CreatedWithGeneratedPassword(password) => {
            output::line(format!(
                "Created the operator account \"{ADMIN_USER}\". Its generated password is shown only this once:\n\n    {password}\n"
            ));
            output::line(format!("Log in with:  wharf login {url} --username {ADMIN_USER}"));
            output::line("Change it with:  wharf admin user set-password admin");
        }
    }
}

/// Each connection holds a file descriptor, and so do the database, the blob store
/// and clamd: a `max_connections` the process cannot open is a misconfiguration
/// that only shows under load, so say it at start.
fn warn_if_descriptors_are_short(max_connections: usize) {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else { return };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse::<usize>().ok());
    if let Some(soft) = soft
        && soft < max_connections + 64
    {
        tracing::warn!(
            open_files_limit = soft,
            max_connections,
            "the process may open {soft} files but server.max_connections is {max_connections}: raise the limit (ulimit -n, LimitNOFILE=) or lower max_connections"
        );
    }
}

//! The durable job queue's runner.
//!
//! Every background action in Wharf is a [`Job`]: a serde payload stored in the
//! database (`wharf_db::jobs`), claimed by one worker at a time under a lease,
//! retried with exponential backoff when it fails, and run again when its worker
//! dies (the lease expires). Jobs must therefore be idempotent. This crate knows
//! nothing of what jobs do: the binary registers them.

mod config;

pub use config::JobsConfig;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wharf_core::{JobId, Timestamp};
use wharf_db::Db;

/// A kind of background work.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Its name in the queue; unique in the application.
    const KIND: &'static str;
    /// Attempts before the job is given up.
    const MAX_ATTEMPTS: u32 = 5;
    /// What the job needs to run (database, stores, settings).
    type Context: Clone + Send + Sync + 'static;
    /// Whom the job serves, for fair scheduling (e.g. a publisher organization):
    /// workers take turns between keys, so one key's many jobs do not hold back
    /// another's. Jobs with the same key (by default the empty one) share a lane.
    fn fair_key(&self) -> String {
        String::new()
    }
    /// Does the work. Must be idempotent: it may run again after a crash.
    fn run(&self, ctx: &Self::Context) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Idle workers of this process wait on it besides their poll interval.
static QUEUED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Tells this process's idle workers that a job was queued (committed), so they look
/// at once instead of at their next poll. [`enqueue`] calls it; code that queues a
/// [`new_job`] in a change's transaction calls it after the commit. Workers of other
/// processes find the job at their next poll.
pub fn queued() {
    QUEUED.notify_waiters();
}

/// Queues `job`. With a `dedup_key`, nothing is queued (and `None` returned) while a
/// job with that key is queued or running.
pub async fn enqueue<J: Job>(db: &Db, job: &J, dedup_key: Option<&str>) -> anyhow::Result<Option<JobId>> {
    let payload = serde_json::to_string(job)?;
    let id = db.enqueue_job(J::KIND, &payload, &job.fair_key(), dedup_key, J::MAX_ATTEMPTS, Timestamp::now()).await?;
    if id.is_some() {
        queued();
    }
    Ok(id)
}

/// `job` as a row to queue in the transaction of the change that calls for it
/// (`wharf_db` queues it with the change, or neither).
pub fn new_job<J: Job>(job: &J, dedup_key: Option<&str>) -> anyhow::Result<wharf_db::jobs::NewJob> {
    Ok(wharf_db::jobs::NewJob {
        kind: J::KIND.to_owned(),
        payload: serde_json::to_string(job)?,
        fair_key: job.fair_key(),
        dedup_key: dedup_key.map(str::to_owned),
        max_attempts: J::MAX_ATTEMPTS,
    })
}

type Handler = Arc<dyn Fn(String) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync>;

/// Claims and runs jobs.
#[derive(Clone)]
pub struct Runner {
    db: Db,
    handlers: HashMap<&'static str, Handler>,
    worker: String,
    lease: Duration,
    poll: Duration,
    backoff: Duration,
    workers: usize,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("worker", &self.worker).field("kinds", &self.handlers.keys()).finish()
    }
}

/// What [`Runner::run_once`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ran {
    /// No job was ready.
    Idle,
    /// A job ran and succeeded.
    Succeeded(JobId),
    /// A job failed; it will be retried.
    WillRetry(JobId),
    /// A job failed for the last time.
    GaveUp(JobId),
}

impl Runner {
    /// A runner on `db` with no job kinds yet.
    pub fn new(db: Db) -> Runner {
        Runner {
            db,
            handlers: HashMap::new(),
            worker: format!("{}-{}", std::process::id(), &uuid::Uuid::new_v4().simple().to_string()[..8]),
            lease: Duration::from_secs(300),
            poll: Duration::from_secs(5),
            backoff: Duration::from_secs(30),
            workers: 1,
        }
    }

    /// The workers and polling of `[jobs]` (at least one worker).
    pub fn configured(self, config: &JobsConfig) -> Runner {
        self.workers(config.workers)
            .poll_interval(config.poll_interval.0)
            .lease(config.lease.0.max(std::time::Duration::from_secs(1)))
            .backoff(config.backoff.0)
    }

    /// How many jobs run at once (at least one).
    pub fn workers(mut self, workers: usize) -> Runner {
        self.workers = workers.max(1);
        self
    }

    /// How long a claimed job is reserved before another worker may take it over
    /// (the runner renews it while the job runs).
    pub fn lease(mut self, lease: Duration) -> Runner {
        self.lease = lease;
        self
    }

    /// How often to look for work when idle.
    pub fn poll_interval(mut self, poll: Duration) -> Runner {
        self.poll = poll;
        self
    }

    /// The first retry delay; it doubles with every attempt.
    pub fn backoff(mut self, backoff: Duration) -> Runner {
        self.backoff = backoff;
        self
    }

    /// Runs jobs of kind `J` with `ctx`.
    pub fn register<J: Job>(mut self, ctx: J::Context) -> Runner {
        let handler: Handler = Arc::new(move |payload: String| {
            let ctx = ctx.clone();
            Box::pin(async move {
                let job: J = serde_json::from_str(&payload)?;
                job.run(&ctx).await
            })
        });
        self.handlers.insert(J::KIND, handler);
        self
    }

    /// Claims one ready job, runs it, and records the outcome.
    pub async fn run_once(&self) -> anyhow::Result<Ran> {
        let kinds: Vec<&str> = self.handlers.keys().copied().collect();
        let Some(job) = self.db.claim_job(&kinds, &self.worker, self.lease).await? else {
            return Ok(Ran::Idle);
        };
        let handler = self.handlers.get(job.kind.as_str()).cloned().ok_or_else(|| anyhow::anyhow!("no handler"))?;
        tracing::info!(job.id = job.id.0, job.kind = %job.kind, attempt = job.attempts, "job started");
        let started = std::time::Instant::now();
        // Renew the lease while the job runs, so a long job is not taken over.
        let renew = {
            let (db, id, lease) = (self.db.clone(), job.id, self.lease);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    if let Err(e) = db.extend_job(id, lease).await {
                        tracing::warn!(job.id = id.0, error = %e, "could not renew a job lease");
                    }
                }
            })
        };
        let outcome = tokio::spawn(handler(job.payload.clone())).await;
        renew.abort();
        let result = match outcome {
            Ok(r) => r,
            Err(e) => Err(anyhow::anyhow!("the job panicked: {e}")),
        };
        let kind = job.kind.clone();
        match result {
            Ok(()) => {
                self.db.finish_job(job.id).await?;
                metrics::counter!("wharf_jobs_total", "kind" => kind, "result" => "succeeded").increment(1);
                tracing::info!(job.id = job.id.0, job.kind = %job.kind, duration_ms = started.elapsed().as_millis() as u64, "job succeeded");
                Ok(Ran::Succeeded(job.id))
            }
            Err(e) if job.attempts < job.max_attempts => {
                let delay = self.backoff.saturating_mul(1 << job.attempts.saturating_sub(1).min(16));
                self.db.fail_job(job.id, &format!("{e:#}"), Some(Timestamp::now().plus(delay))).await?;
                metrics::counter!("wharf_jobs_total", "kind" => kind, "result" => "retried").increment(1);
                tracing::warn!(job.id = job.id.0, job.kind = %job.kind, attempt = job.attempts, retry_in_s = delay.as_secs(), error = %format!("{e:#}"), "job failed; will retry");
                Ok(Ran::WillRetry(job.id))
            }
            Err(e) => {
                self.db.fail_job(job.id, &format!("{e:#}"), None).await?;
                metrics::counter!("wharf_jobs_total", "kind" => kind, "result" => "failed").increment(1);
                tracing::error!(job.id = job.id.0, job.kind = %job.kind, attempts = job.attempts, error = %format!("{e:#}"), "job failed for good");
                Ok(Ran::GaveUp(job.id))
            }
        }
    }

    /// Runs jobs, [`workers`](Runner::workers) at a time, until `shutdown` resolves;
    /// jobs in progress finish first, and no new one starts after it.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send) {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let lanes: Vec<_> = (0..self.workers).map(|_| tokio::spawn(self.clone().lane(stopped.clone()))).collect();
        shutdown.await;
        let _ = stop.send(true);
        for lane in lanes {
            let _ = lane.await;
        }
    }

    /// One worker: claims and runs jobs one at a time until `stopped` turns true.
    async fn lane(self, mut stopped: tokio::sync::watch::Receiver<bool>) {
        while !*stopped.borrow() {
            // Registered before looking, so a job queued meanwhile is not missed.
            let queued = QUEUED.notified();
            tokio::pin!(queued);
            queued.as_mut().enable();
            let ran = match self.run_once().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "the job runner could not reach the queue");
                    Ran::Idle
                }
            };
            if ran != Ran::Idle {
                continue;
            }
            tokio::select! {
                // The sender gone (the runner dropped) stops the lane too.
                changed = stopped.changed() => if changed.is_err() { return },
                () = &mut queued => {}
                () = tokio::time::sleep(self.poll) => {}
            }
        }
    }
}

//! The job queue on a real database (SQLite, or PostgreSQL with WHARF_TEST_DB=postgres).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use wharf_db::testing::{backend_from_env, fresh};
use wharf_jobs::{Job, Ran, Runner, enqueue};

#[derive(Serialize, Deserialize)]
struct Flaky {
    fail_times: u32,
}

impl Job for Flaky {
    const KIND: &'static str = "flaky";
    const MAX_ATTEMPTS: u32 = 3;
    type Context = Arc<AtomicU32>;

    async fn run(&self, calls: &Self::Context) -> anyhow::Result<()> {
        let n = calls.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_times {
            anyhow::bail!("failure number {}", n + 1);
        }
        Ok(())
    }
}

#[tokio::test]
async fn jobs_retry_with_backoff_then_succeed_or_give_up() {
    let t = fresh(backend_from_env()).await;
    let calls = Arc::new(AtomicU32::new(0));
    let runner = Runner::new(t.db.clone()).backoff(Duration::ZERO).register::<Flaky>(calls.clone());
    assert_eq!(runner.run_once().await.unwrap(), Ran::Idle);

    let id = enqueue(&t.db, &Flaky { fail_times: 2 }, None).await.unwrap().unwrap();
    assert_eq!(runner.run_once().await.unwrap(), Ran::WillRetry(id));
    assert_eq!(t.db.job_state(id).await.unwrap().unwrap(), ("queued".into(), Some("failure number 1".into())));
    assert_eq!(runner.run_once().await.unwrap(), Ran::WillRetry(id));
    assert_eq!(runner.run_once().await.unwrap(), Ran::Succeeded(id));
    assert_eq!(t.db.job_state(id).await.unwrap().unwrap(), ("done".into(), None));

    calls.store(0, Ordering::SeqCst);
    let doomed = enqueue(&t.db, &Flaky { fail_times: 10 }, None).await.unwrap().unwrap();
    for _ in 0..2 {
        assert_eq!(runner.run_once().await.unwrap(), Ran::WillRetry(doomed));
    }
    assert_eq!(runner.run_once().await.unwrap(), Ran::GaveUp(doomed));
    assert_eq!(t.db.job_state(doomed).await.unwrap().unwrap().0, "failed");
    assert_eq!(runner.run_once().await.unwrap(), Ran::Idle);
}

#[tokio::test]
async fn dedup_keys_allow_one_pending_job() {
    let t = fresh(backend_from_env()).await;
    let first = enqueue(&t.db, &Flaky { fail_times: 0 }, Some("only-one")).await.unwrap();
    assert!(first.is_some());
    assert_eq!(enqueue(&t.db, &Flaky { fail_times: 0 }, Some("only-one")).await.unwrap(), None);
    let runner = Runner::new(t.db.clone()).register::<Flaky>(Arc::new(AtomicU32::new(0)));
    runner.run_once().await.unwrap();
    assert!(
        enqueue(&t.db, &Flaky { fail_times: 0 }, Some("only-one")).await.unwrap().is_some(),
        "done jobs free the key"
    );
}

/// A job whose worker died (its lease expired) is run again by another worker.
#[tokio::test]
async fn a_dead_workers_job_runs_again() {
    let t = fresh(backend_from_env()).await;
    let id = enqueue(&t.db, &Flaky { fail_times: 0 }, None).await.unwrap().unwrap();
    // A worker claims it with a short lease and "dies".
    let claimed = t.db.claim_job(&["flaky"], "dead-worker", Duration::from_millis(50)).await.unwrap().unwrap();
    assert_eq!(claimed.id, id);
    let other = Runner::new(t.db.clone()).register::<Flaky>(Arc::new(AtomicU32::new(0)));
    assert_eq!(other.run_once().await.unwrap(), Ran::Idle, "leased to the first worker");
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(other.run_once().await.unwrap(), Ran::Succeeded(id));
}

/// Two workers never run the same job.
#[tokio::test]
async fn concurrent_workers_claim_each_job_once() {
    let t = fresh(backend_from_env()).await;
    for _ in 0..20 {
        enqueue(&t.db, &Flaky { fail_times: 0 }, None).await.unwrap();
    }
    let calls = Arc::new(AtomicU32::new(0));
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let runner = Runner::new(t.db.clone()).register::<Flaky>(calls.clone());
            tokio::spawn(async move {
                let mut done = 0;
                while runner.run_once().await.unwrap() != Ran::Idle {
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for w in workers {
        total += w.await.unwrap();
    }
    assert_eq!((total, calls.load(Ordering::SeqCst)), (20, 20));
    let counts = t.db.job_counts().await.unwrap();
    assert_eq!(counts.iter().map(|c| (c.state.as_str(), c.count)).collect::<Vec<_>>(), [("done", 20)]);
}

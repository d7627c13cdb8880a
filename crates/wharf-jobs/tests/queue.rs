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

/// A job that records which key it served, and how many jobs ran at once.
#[derive(Serialize, Deserialize)]
struct Served {
    key: String,
    millis: u64,
}

#[derive(Clone, Default)]
struct Log {
    order: Arc<std::sync::Mutex<Vec<String>>>,
    running: Arc<AtomicU32>,
    most: Arc<AtomicU32>,
}

impl Job for Served {
    const KIND: &'static str = "served";
    type Context = Log;

    fn fair_key(&self) -> String {
        self.key.clone()
    }

    async fn run(&self, log: &Log) -> anyhow::Result<()> {
        let now = log.running.fetch_add(1, Ordering::SeqCst) + 1;
        log.most.fetch_max(now, Ordering::SeqCst);
        log.order.lock().unwrap().push(self.key.clone());
        tokio::time::sleep(Duration::from_millis(self.millis)).await;
        log.running.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

/// One publisher's flood does not hold back another publisher's one job: workers take
/// turns between fairness keys, whatever the order the jobs were queued in.
#[tokio::test]
async fn workers_take_turns_between_fairness_keys() {
    let t = fresh(backend_from_env()).await;
    for _ in 0..30 {
        enqueue(&t.db, &Served { key: "flood".into(), millis: 0 }, None).await.unwrap();
    }
    enqueue(&t.db, &Served { key: "other".into(), millis: 0 }, None).await.unwrap();
    enqueue(&t.db, &Served { key: "third".into(), millis: 0 }, None).await.unwrap();
    let log = Log::default();
    let runner = Runner::new(t.db.clone()).register::<Served>(log.clone());
    while runner.run_once().await.unwrap() != Ran::Idle {}
    let order = log.order.lock().unwrap().clone();
    assert_eq!(order.len(), 32);
    let at = |key: &str| order.iter().position(|k| k == key).unwrap();
    assert!(at("other") < 3 && at("third") < 3, "the others ran at {} and {} of 32", at("other"), at("third"));
}

/// `workers(n)` runs n jobs at once, and after shutdown no new job starts.
#[tokio::test]
async fn a_runner_runs_its_workers_at_once_and_stops_starting_jobs_at_shutdown() {
    let t = fresh(backend_from_env()).await;
    for i in 0..6 {
        enqueue(&t.db, &Served { key: format!("k{i}"), millis: 400 }, None).await.unwrap();
    }
    let log = Log::default();
    let runner =
        Runner::new(t.db.clone()).workers(3).poll_interval(Duration::from_millis(20)).register::<Served>(log.clone());
    let started = std::time::Instant::now();
    // Stop while the second round of three runs: those finish, nothing else starts.
    let order = log.order.clone();
    runner
        .run_until(async move {
            while order.lock().unwrap().len() < 6 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    assert_eq!(log.most.load(Ordering::SeqCst), 3, "three at a time");
    assert_eq!(log.running.load(Ordering::SeqCst), 0, "jobs in progress finished before run_until returned");
    assert!(started.elapsed() < Duration::from_millis(1500), "two rounds of 400 ms: {:?}", started.elapsed());

    for i in 0..4 {
        enqueue(&t.db, &Served { key: format!("late{i}"), millis: 300 }, None).await.unwrap();
    }
    let log = Log::default();
    let runner = Runner::new(t.db.clone()).workers(2).register::<Served>(log.clone());
    let order = log.order.clone();
    runner
        .run_until(async move {
            while order.lock().unwrap().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
    assert_eq!(log.order.lock().unwrap().len(), 2, "the two running finished; the other two did not start");
}

/// An idle worker starts a job queued in its own process at once, not at its next
/// poll; `queued()` after a job committed in a change's transaction does the same.
#[tokio::test]
async fn idle_workers_start_a_job_queued_in_their_process_at_once() {
    let t = fresh(backend_from_env()).await;
    let log = Log::default();
    let runner = Runner::new(t.db.clone()).poll_interval(Duration::from_secs(600)).register::<Served>(log.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(runner.run_until(async move {
        let _ = stopped.await;
    }));
    // The worker has looked once and now waits its ten-minute poll.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let queued_at = std::time::Instant::now();
    enqueue(&t.db, &Served { key: "a".into(), millis: 1 }, None).await.unwrap();
    while log.order.lock().unwrap().is_empty() {
        assert!(queued_at.elapsed() < Duration::from_secs(5), "the queued job did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let first = queued_at.elapsed();
    // A job queued by the database alone (as in a change's transaction), then announced.
    let payload = r#"{"key":"b","millis":1}"#;
    let now = wharf_core::Timestamp::now();
    t.db.enqueue_job(<Served as Job>::KIND, payload, "b", None, 5, now).await.unwrap();
    let queued_at = std::time::Instant::now();
    wharf_jobs::queued();
    while log.order.lock().unwrap().len() < 2 {
        assert!(queued_at.elapsed() < Duration::from_secs(5), "the announced job did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let second = queued_at.elapsed();
    let _ = stop.send(());
    running.await.unwrap();
    assert!(first < Duration::from_secs(1) && second < Duration::from_secs(1), "{first:?}, {second:?}");
}

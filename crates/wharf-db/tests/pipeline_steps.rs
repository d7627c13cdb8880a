//! The publishing pipeline's step records, identical on SQLite and PostgreSQL.

use std::time::Duration;

use wharf_core::{OfferKey, OrgKind, PipelineStep, StepState, Timestamp};
use wharf_db::Db;
use wharf_db::steps::{Pace, Progress};
use wharf_db::testing::fresh;

wharf_db::on_both_backends!(steps_record_runs_progress_and_outcomes, pace_is_learned_from_passed_runs);

/// A publisher's offer with `n` versions submitted (all but the last cancelled).
async fn versions(db: &Db, n: i64) -> OfferKey {
    let org = db.create_org(&"acme".parse().unwrap(), OrgKind::Publisher, None, None).await.unwrap();
    let offer = db.create_offer(org.id, &"db".parse().unwrap(), "{}", &[], "dev").await.unwrap();
    for i in 0..n {
        db.submit_version(offer.pk, None, "{}", Default::default(), None, "dev").await.unwrap();
        if i + 1 < n {
            // One version at a time is published: the earlier ones are cancelled.
            db.cancel_submission(offer.pk, "dev").await.unwrap();
        }
    }
    offer.pk
}

fn total(bytes: u64) -> Progress {
    Progress { bytes_total: bytes, images_total: 2, ..Progress::default() }
}

async fn steps_record_runs_progress_and_outcomes(backend: wharf_db::Backend) {
    let t = fresh(backend).await;
    let offer = versions(&t.db, 1).await;
    let step = t.db.start_step(offer, 1, PipelineStep::Certification, total(1000)).await.unwrap();
    assert_eq!((step.state, step.attempt, step.progress.bytes_total), (StepState::Running, 1, 1000));
    assert_eq!(step.estimate(None, Timestamp::now()), None, "nothing read, no history: no estimate");

    let half = Progress { bytes_done: 500, images_done: 1, files_done: 40, ..total(1000) };
    t.db.step_progress(offer, 1, PipelineStep::Certification, half).await.unwrap();
    let steps = t.db.version_steps(offer, 1).await.unwrap();
    assert_eq!(steps[0].progress, half);
    // Half read in the run so far: about as long again is left.
    let later = steps[0].started_at.plus(Duration::from_secs(10));
    let left = steps[0].estimate(None, later).unwrap();
    assert!((9.0..=11.0).contains(&left.as_secs_f64()), "{left:?}");

    // A crash or a retry starts the step again: one more attempt, progress from zero.
    let again = t.db.start_step(offer, 1, PipelineStep::Certification, total(1000)).await.unwrap();
    assert_eq!((again.attempt, again.progress.bytes_done), (2, 0));

    assert!(t.db.finish_step(offer, 1, PipelineStep::Certification, StepState::Passed, None).await.unwrap());
    assert!(
        !t.db.finish_step(offer, 1, PipelineStep::Certification, StepState::Failed, Some("late")).await.unwrap(),
        "a step ends once"
    );
    t.db.start_step(offer, 1, PipelineStep::Packaging, total(10)).await.unwrap();
    t.db.finish_step(offer, 1, PipelineStep::Packaging, StepState::Failed, Some("cannot sign")).await.unwrap();
    let steps = t.db.version_steps(offer, 1).await.unwrap();
    let seen: Vec<(PipelineStep, StepState, Option<&str>)> =
        steps.iter().map(|s| (s.step, s.state, s.message.as_deref())).collect();
    assert_eq!(
        seen,
        [
            (PipelineStep::Certification, StepState::Passed, None),
            (PipelineStep::Packaging, StepState::Failed, Some("cannot sign")),
        ]
    );
    assert!(steps.iter().all(|s| s.finished_at.is_some() && s.estimate(None, Timestamp::now()).is_none()));
}

async fn pace_is_learned_from_passed_runs(backend: wharf_db::Backend) {
    let t = fresh(backend).await;
    let offer = versions(&t.db, 3).await;
    assert_eq!(t.db.step_pace(PipelineStep::Certification, 20).await.unwrap(), None);
    for v in 1..=2 {
        t.db.start_step(offer, v, PipelineStep::Certification, total(2_000_000)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(40)).await;
        t.db.finish_step(offer, v, PipelineStep::Certification, StepState::Passed, None).await.unwrap();
    }
    // A failed run teaches nothing.
    t.db.start_step(offer, 3, PipelineStep::Certification, total(1)).await.unwrap();
    t.db.finish_step(offer, 3, PipelineStep::Certification, StepState::Failed, Some("findings")).await.unwrap();
    let pace = t.db.step_pace(PipelineStep::Certification, 20).await.unwrap().unwrap();
    assert_eq!(pace.runs, 2);
    assert!(pace.bytes_per_second > 0.0 && pace.bytes_per_second <= 2_000_000.0 / 0.04, "{pace:?}");

    // A new run of 4 MB at that pace: about twice a learned run's time.
    let run = t.db.start_step(offer, 3, PipelineStep::Certification, total(4_000_000)).await.unwrap();
    let left = run.estimate(Some(pace), Timestamp::now()).unwrap();
    let expected = Duration::from_secs_f64(4_000_000.0 / pace.bytes_per_second);
    assert_eq!(left, expected);
    let fast = Pace { bytes_per_second: 4_000_000.0, runs: 1 };
    assert_eq!(run.estimate(Some(fast), Timestamp::now()), Some(Duration::from_secs(1)));
}

//! The publishing pipeline, run as the job workers run it: the publisher's
//! eligibility, every frozen image certified from the marketplace's storage, the report
//! stored, Attention needed (with why) when something blocks; packaging into the
//! marketplace namespace, preview access, go-live and Live.

mod common;

use common::json;
use common::publishing::{
    BASE, OCI_MANIFEST, PERMISSIVE, bearer, get_manifest, offer, push_image, run_pipeline, setup, submit,
};
use reqwest::Method;
use serde_json::{Value, json};
use wharf_app::pipeline::CertifyVersion;
use wharf_core::{PipelineStep, StepState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unapproved_publisher_and_blocking_findings_stop_at_attention_needed() {
    let (app, application, _dir) = setup(None).await;
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let (key, view) = offer(&app).await;
    assert_eq!(view["state"], "attention_needed", "{view}");
    let steps = app.state.db.version_steps(key, v1).await.unwrap();
    assert_eq!((steps[0].step, steps[0].state), (PipelineStep::Certification, StepState::Failed));
    assert!(steps[0].message.as_deref().unwrap().contains("the publisher contoso is not approved"), "{steps:?}");

    // Approved, the publisher submits again: the stopped version is replaced, and the
    // built-in policy blocks what could not be checked (no clamd here).
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v2 = submit(&app).await;
    assert_eq!(v2, v1 + 1);
    run_pipeline(&app, &application).await;
    let (_, view) = offer(&app).await;
    let statuses: Vec<(i64, &str)> = view["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [(v2, "attention_needed"), (v1, "cancelled")]);
    let steps = app.state.db.version_steps(key, v2).await.unwrap();
    let step = &steps[0];
    assert_eq!(step.state, StepState::Failed);
    assert!(step.message.as_deref().unwrap().starts_with("certification failed: "), "{step:?}");
    assert_eq!((step.progress.images_done, step.progress.images_total), (1, 1));
    // The report is stored, every finding with whether it blocks.
    let digest = step.report.clone().expect("a stored report");
    let bytes = app.state.blobs.get(&digest, None).await.unwrap().bytes().await.unwrap();
    let report: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(report["verdict"], "fail");
    let checks: Vec<&str> = report["images"][0]["platforms"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["blocking"] == true)
        .map(|f| f["check"].as_str().unwrap())
        .collect();
    // (The image has no packages, so no advisory was missing for it.)
    assert_eq!(checks, ["malware.not-scanned"]);

    // A version whose certification failed cannot go live.
    let go_live = format!("{BASE}/db/go-live");
    let (status, problem) =
        json(app.as_user(Method::POST, "dev", &go_live).json(&json!({"version": v2})).send().await.unwrap()).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("only a version in preview can go live"), "{problem}");

    // Readable through the API and the CLI.
    let (status, steps) =
        json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v2}/steps")).send().await.unwrap()).await;
    assert_eq!(
        (status, steps[0]["step"].as_str(), steps[0]["state"].as_str()),
        (200, Some("certification"), Some("failed"))
    );
    assert_eq!(steps[0]["has_report"], true);
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v2}/report")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), report);
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/report")).send().await.unwrap();
    assert_eq!(r.status(), 404, "the unapproved submission was not certified");
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/9/steps")).send().await.unwrap();
    assert_eq!(r.status(), 404);
    let token = {
        let body = json!({"name": "cli", "scopes": ["api:read"]});
        let r = app.as_user(Method::POST, "dev", "/api/v1/user/tokens").json(&body).send().await.unwrap();
        json(r).await.1["secret"].as_str().unwrap().to_owned()
    };
    let cli = |args: &[&str]| {
        let out = common::wharf(args, &[("WHARF_URL".into(), app.url.clone()), ("WHARF_TOKEN".into(), token.clone())])
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = cli(&["offer", "status", "contoso/db"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("certification: failed (1/1 images, 1024 bytes): certification failed: 1 blocking finding(s)"),
        "{out}"
    );
    let (code, out) = cli(&["offer", "report", "contoso/db"]);
    assert_eq!(code, Some(0));
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), report);

    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let labels: Vec<&str> = history["items"].as_array().unwrap().iter().map(|e| e["label"].as_str().unwrap()).collect();
    assert_eq!(labels.iter().filter(|l| **l == "Attention needed").count(), 2, "{labels:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_that_meets_the_policy_is_certified_and_runs_once() {
    // The operator's policy: what cannot be checked here (clamd, advisories, a license
    // file, a signature) warns instead of blocking.
    let policy = "not_scanned = \"warn\"\nnot_evaluated = \"warn\"\nlicense_files = \"warn\"\nsignature = \"off\"\n";
    let (app, application, _dir) = setup(Some(policy)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let (key, view) = offer(&app).await;
    assert_eq!(view["state"], "preview", "{view}");
    let steps = app.state.db.version_steps(key, v1).await.unwrap();
    assert_eq!((steps[0].state, steps[0].message.as_deref()), (StepState::Passed, None), "{steps:?}");
    assert!(steps[0].report.is_some());
    // The job again (a worker died after the work): nothing changes, nothing is done twice.
    let job = CertifyVersion { offer: key, version: v1, publisher: "contoso".into() };
    wharf_jobs::enqueue(&app.state.db, &job, None).await.unwrap();
    run_pipeline(&app, &application).await;
    let again = app.state.db.version_steps(key, v1).await.unwrap();
    assert_eq!(again[0].attempt, 1, "a passed step is not run again");
    assert_eq!(again[0].state, StepState::Passed);
    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let certified = history["items"].as_array().unwrap().iter().filter(|e| e["label"] == "Certified").count();
    assert_eq!(certified, 1, "the history says it once: {history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certified_version_is_promoted_signed_previewed_and_goes_live() {
    let (app, application, _dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let dev_pull = bearer(&app, "dev", "repository:contoso/example-db:pull,delete").await;
    let (_, _, frozen) = get_manifest(&app, Some(&dev_pull), "contoso/example-db", "1.0.0").await;
    let v1 = submit(&app).await;

    // While the version is in the pipeline its frozen manifest cannot be deleted, and
    // moving the source tag changes nothing.
    let r = app
        .http
        .delete(format!("{}/v2/contoso/example-db/manifests/{frozen}", app.url))
        .header("authorization", &dev_pull)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("frozen by version 1 of offer \"db\""), "{body}");
    // The tag deleted, then pushed again with another image.
    let r = app
        .http
        .delete(format!("{}/v2/contoso/example-db/manifests/1.0.0", app.url))
        .header("authorization", &dev_pull)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let moved = push_image(&app, "contoso/example-db", "1.0.0", "something else").await;
    assert_ne!(moved.to_string(), frozen);

    run_pipeline(&app, &application).await;
    let (key, view) = offer(&app).await;
    assert_eq!(view["state"], "preview", "{view}");
    let steps: Vec<(PipelineStep, StepState)> =
        app.state.db.version_steps(key, v1).await.unwrap().iter().map(|s| (s.step, s.state)).collect();
    assert_eq!(
        steps,
        [
            (PipelineStep::Certification, StepState::Passed),
            (PipelineStep::Packaging, StepState::Passed),
            (PipelineStep::PublisherSignOff, StepState::Running)
        ]
    );

    // Both plans' images promoted by the frozen digest, signed.
    let (status, images) =
        json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/images")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{images}");
    let host = app.url.trim_start_matches("http://");
    let listed: Vec<(&str, &str, &str)> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["plan"].as_str().unwrap(), i["reference"].as_str().unwrap(), i["digest"].as_str().unwrap()))
        .collect();
    let free = format!("{host}/mp/contoso/db/free/example-db:1.0.0");
    let byol = format!("{host}/mp/contoso/db/byol-cluster/example-db:1.0.0");
    assert_eq!(listed, [("byol-cluster", byol.as_str(), frozen.as_str()), ("free", free.as_str(), frozen.as_str())]);
    let promoted = "mp/contoso/db/free/example-db";

    // In preview: the publisher and the preview audience pull; an outsider and an
    // anonymous caller get exactly what a missing repository answers.
    for user in ["dev", "cust"] {
        let auth = bearer(&app, user, &format!("repository:{promoted}:pull")).await;
        let (status, _, digest) = get_manifest(&app, Some(&auth), promoted, "1.0.0").await;
        assert_eq!((status, digest.as_str()), (200, frozen.as_str()), "{user}");
    }
    let outsider = bearer(&app, "outsider", &format!("repository:{promoted}:pull")).await;
    let refused = get_manifest(&app, Some(&outsider), promoted, "1.0.0").await;
    let missing_repo = "mp/contoso/db/free/nothing";
    let outsider_missing = bearer(&app, "outsider", &format!("repository:{missing_repo}:pull")).await;
    let missing = get_manifest(&app, Some(&outsider_missing), missing_repo, "1.0.0").await;
    assert_eq!(refused, missing);
    assert_eq!(refused.0, 401);
    assert_eq!(
        get_manifest(&app, None, promoted, "1.0.0").await,
        get_manifest(&app, None, missing_repo, "1.0.0").await
    );
    // Nobody pushes into the marketplace namespace, not even the publisher's owner.
    let push = bearer(&app, "dev", &format!("repository:{promoted}:pull,push")).await;
    let r = app
        .http
        .post(format!("{}/v2/{promoted}/blobs/uploads/", app.url))
        .header("authorization", &push)
        .send()
        .await
        .unwrap();
    assert!(matches!(r.status().as_u16(), 401 | 403), "{}", r.status());

    // The signature names the frozen digest and the pull reference; the SBOM and the
    // report are referrers of the promoted image.
    let dev = bearer(&app, "dev", &format!("repository:{promoted}:pull")).await;
    let sig_tag = format!("sha256-{}.sig", frozen.trim_start_matches("sha256:"));
    let r = app
        .http
        .get(format!("{}/v2/{promoted}/manifests/{sig_tag}", app.url))
        .header("authorization", &dev)
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sig: Value = r.json().await.unwrap();
    let layer = &sig["layers"][0];
    assert_eq!(layer["mediaType"], "application/vnd.dev.cosign.simplesigning.v1+json");
    assert!(layer["annotations"]["dev.cosignproject.cosign/signature"].as_str().is_some_and(|s| !s.is_empty()));
    let r = app
        .http
        .get(format!("{}/v2/{promoted}/blobs/{}", app.url, layer["digest"].as_str().unwrap()))
        .header("authorization", &dev)
        .send()
        .await
        .unwrap();
    let claim: Value = r.json().await.unwrap();
    assert_eq!(claim["critical"]["image"]["docker-manifest-digest"], frozen.as_str());
    assert_eq!(claim["critical"]["identity"]["docker-reference"], free.as_str());
    let r = app
        .http
        .get(format!("{}/v2/{promoted}/referrers/{frozen}", app.url))
        .header("authorization", &dev)
        .send()
        .await
        .unwrap();
    let referrers: Value = r.json().await.unwrap();
    let mut types: Vec<&str> =
        referrers["manifests"].as_array().unwrap().iter().map(|m| m["artifactType"].as_str().unwrap()).collect();
    types.sort_unstable();
    assert_eq!(types, ["application/vnd.cyclonedx+json", "application/vnd.wharf.certification.report.v1+json"]);
    // The SBOM, readable in full through the API.
    let (status, sboms) =
        json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/sboms")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{sboms}");
    assert_eq!(
        (sboms[0]["image"].as_str(), sboms[0]["platform"].as_str()),
        (Some(frozen.as_str()), Some("linux/amd64"))
    );
    let path = format!("{BASE}/db/versions/{v1}/sboms/{}", sboms[0]["digest"].as_str().unwrap());
    let (status, bom) = json(app.as_user(Method::GET, "dev", &path).send().await.unwrap()).await;
    assert_eq!((status, bom["bomFormat"].as_str()), (200, Some("CycloneDX")));
    let path = format!("{BASE}/db/versions/{v1}/sboms/sha256:{}", "0".repeat(64));
    assert_eq!(app.as_user(Method::GET, "dev", &path).send().await.unwrap().status(), 404);
    let r = app.http.get(format!("{}/api/v1/marketplace/signing-key", app.url)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));

    // Go-live: publisher admins only; an Idempotency-Key makes a retry change nothing.
    app.user("writer").await;
    app.member("contoso", "writer", wharf_core::Role::Developer).await;
    let go_live = format!("{BASE}/db/go-live");
    let r = app.as_user(Method::POST, "writer", &go_live).json(&json!({"version": v1})).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let send = |key: &'static str, version: i64| {
        app.as_user(Method::POST, "dev", &go_live)
            .header("idempotency-key", key)
            .json(&json!({"version": version}))
            .send()
    };
    let (status, first) = json(send("k-1", v1).await.unwrap()).await;
    assert_eq!((status, first["state"].as_str()), (202, Some("publish_in_progress")), "{first}");
    let (status, again) = json(send("k-1", v1).await.unwrap()).await;
    assert_eq!((status, &again), (202, &first));
    let (status, problem) = json(send("k-1", 99).await.unwrap()).await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("already used for a different request"), "{problem}");
    let r = app
        .as_user(Method::POST, "dev", &go_live)
        .header("idempotency-key", "")
        .json(&json!({"version": v1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    run_pipeline(&app, &application).await;
    let (_, view) = offer(&app).await;
    assert_eq!(view["state"], "live", "{view}");
    let steps: Vec<(PipelineStep, StepState)> =
        app.state.db.version_steps(key, v1).await.unwrap().iter().map(|s| (s.step, s.state)).collect();
    assert_eq!(steps.len(), 6, "{steps:?}");
    assert!(steps.iter().all(|(_, state)| *state == StepState::Passed), "{steps:?}");
    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let events: Vec<(&str, &str)> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["label"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .filter(|(label, _)| ["In preview", "Go live", "Went live"].contains(label))
        .collect();
    assert_eq!(events, [("In preview", "pipeline"), ("Go live", "dev"), ("Went live", "pipeline")]);

    // The source tag now holds another image: a new version that reuses the published
    // tag with it stops at Attention needed, the live version untouched.
    let v2 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let (_, view) = offer(&app).await;
    assert_eq!(view["state"], "attention_needed", "{view}");
    let steps = app.state.db.version_steps(key, v2).await.unwrap();
    let packaging = steps.iter().find(|s| s.step == PipelineStep::Packaging).unwrap();
    assert!(packaging.message.as_deref().unwrap().contains("published tags never change"), "{packaging:?}");
    let (status, _, digest) = get_manifest(&app, Some(&dev), promoted, "1.0.0").await;
    assert_eq!((status, digest.as_str()), (200, frozen.as_str()));

    // The steps' durations and failures are Prometheus metrics.
    let metrics = app.http.get(format!("{}/metrics", app.url)).send().await.unwrap().text().await.unwrap();
    for series in [
        "wharf_pipeline_step_duration_seconds_bucket{step=\"certification\",outcome=\"passed\"",
        "wharf_pipeline_step_duration_seconds_count{step=\"packaging\",outcome=\"passed\"}",
        "wharf_pipeline_step_failures_total{step=\"packaging\"}",
        "wharf_jobs{kind=\"pipeline.packaging\",state=\"done\"}",
    ] {
        assert!(metrics.contains(series), "{series} missing from /metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_preview_is_gone_and_a_superseded_version_stays_pullable() {
    let (app, application, _dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let promoted = "mp/contoso/db/free/example-db";
    let pull = |user: &'static str, reference: String| {
        let app = &app;
        async move {
            let auth = bearer(app, user, &format!("repository:{promoted}:pull")).await;
            get_manifest(app, Some(&auth), promoted, &reference).await
        }
    };
    // Version 1 goes live with 1.0.0.
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let go_live = format!("{BASE}/db/go-live");
    let r = app.as_user(Method::POST, "dev", &go_live).json(&json!({"version": v1})).send().await.unwrap();
    assert_eq!(r.status(), 202);
    run_pipeline(&app, &application).await;
    let first = pull("dev", "1.0.0".into()).await;
    assert_eq!(first.0, 200);

    // Version 2 adds 1.1.0 and reaches preview; the preview audience pulls it.
    push_image(&app, "contoso/example-db", "1.1.0", "db 1.1").await;
    let (_, draft) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/draft")).send().await.unwrap()).await;
    let mut doc = draft.clone();
    for plan in doc["plans"].as_array_mut().unwrap() {
        plan["images"][0]["tags"] = json!(["1.0.0", "1.1.0"]);
    }
    let (_, view) = offer(&app).await;
    let r = app
        .as_user(Method::PUT, "dev", &format!("{BASE}/db/draft"))
        .header("if-match", format!("\"r{}\"", view["revision"]))
        .json(&doc)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let v2 = submit(&app).await;
    run_pipeline(&app, &application).await;
    assert_eq!(offer(&app).await.1["state"], "preview");
    assert_eq!(pull("cust", "1.1.0".into()).await.0, 200);

    // Cancel before go-live: the preview is gone (its new tag too); the live version stays.
    let r = app.as_user(Method::POST, "dev", &format!("{BASE}/db/cancel")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, view) = offer(&app).await;
    assert_eq!(view["state"], "live", "{view}");
    assert_eq!(pull("dev", "1.1.0".into()).await.0, 404, "the cancelled preview's tag is gone");
    assert_eq!(pull("cust", "1.0.0".into()).await.0, 401, "the audience's access ended with the preview");
    assert_eq!(pull("dev", "1.0.0".into()).await, first);

    // Version 3 goes live: version 1 is superseded and its image stays pullable.
    let v3 = submit(&app).await;
    assert_eq!(v3, v2 + 1);
    run_pipeline(&app, &application).await;
    let r = app.as_user(Method::POST, "dev", &go_live).json(&json!({"version": v3})).send().await.unwrap();
    assert_eq!(r.status(), 202);
    run_pipeline(&app, &application).await;
    let (_, view) = offer(&app).await;
    let statuses: Vec<(i64, &str)> = view["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_i64().unwrap(), v["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, [(v3, "live"), (v2, "cancelled"), (v1, "superseded")]);
    assert_eq!(pull("dev", "1.0.0".into()).await, first);
    assert_eq!(pull("dev", "1.1.0".into()).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_watches_a_version_to_preview_and_takes_it_live() {
    let (app, application, _dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let token = {
        let body = json!({"name": "cli", "scopes": ["api:read", "api:write"]});
        let r = app.as_user(Method::POST, "dev", "/api/v1/user/tokens").json(&body).send().await.unwrap();
        json(r).await.1["secret"].as_str().unwrap().to_owned()
    };
    let env = [("WHARF_URL".to_owned(), app.url.clone()), ("WHARF_TOKEN".to_owned(), token)];
    // Runs the CLI while the pipeline's jobs run, as workers would, until it exits.
    let run_cli = |args: &'static [&'static str]| {
        let child = common::wharf(args, &env)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (app, application) = (&app, &application);
        async move {
            let waiting = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
            // Let the watch see the version before anything moves.
            tokio::time::sleep(std::time::Duration::from_millis(700)).await;
            while !waiting.is_finished() {
                common::publishing::run_jobs(app, application).await;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            let out = waiting.await.unwrap();
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            (out.status.code(), text(&out.stdout), text(&out.stderr))
        }
    };

    let v1 = submit(&app).await;
    let (code, stdout, stderr) = run_cli(&["offer", "status", "contoso/db", "--watch", "-o", "json"]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    let events: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(events.len() >= 2, "the watch saw the version move: {stdout}");
    assert_eq!((events[0]["status"].as_str(), events[0]["settled"].as_bool()), (Some("submitted"), Some(false)));
    let last = events.last().unwrap();
    assert_eq!(
        (last["version"].as_i64(), last["status"].as_str(), last["settled"].as_bool()),
        (Some(v1), Some("preview"), Some(true))
    );
    assert!(events.iter().all(|e| e["steps"].is_array()));

    let (code, stdout, stderr) = run_cli(&["offer", "sbom", "contoso/db"]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["bomFormat"], "CycloneDX");
    let (code, _, stderr) = run_cli(&["offer", "sbom", "contoso/db", "--platform", "linux/s390x"]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("it has: linux/amd64"), "{stderr}");

    let (code, stdout, stderr) = run_cli(&["offer", "go-live", "contoso/db", "--watch"]).await;
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("version {v1} of contoso/db goes live")), "{stdout}");
    assert!(stdout.contains(&format!("contoso/db version {v1}: Live (live)")), "{stdout}");
    assert!(stdout.contains("packaging_for_production: passed"), "{stdout}");

    // A version that stops at Attention needed ends the watch with exit code 1.
    push_image(&app, "contoso/example-db", "1.0.0", "moved").await;
    submit(&app).await;
    let (code, stdout, stderr) = run_cli(&["offer", "status", "contoso/db", "--watch"]).await;
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("stopped: attention needed"), "{stderr}");
    assert!(stdout.contains("packaging: failed"), "{stdout}");
    // Nothing to go live now.
    let (code, _, stderr) = run_cli(&["offer", "go-live", "contoso/db"]).await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("has no version in preview"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clamd_down_is_retried_then_stops_at_attention_needed_and_a_running_clamd_scans() {
    // What cannot be checked here warns; the malware scan keeps the built-in rule (block).
    let policy = "not_evaluated = \"warn\"\nlicense_files = \"warn\"\nsignature = \"off\"\n";
    // Nothing listens on port 1 of loopback.
    let (app, application, _dir) = common::publishing::setup_with(Some(policy), "127.0.0.1:1").await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v1 = submit(&app).await;
    let mut runs = Vec::new();
    for _ in 0..300 {
        runs.extend(common::publishing::run_jobs(&app, &application).await);
        if offer(&app).await.1["state"] != "publish_in_progress" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let retried = runs.iter().filter(|r| matches!(r, wharf_jobs::Ran::WillRetry(_))).count();
    assert_eq!(retried, 3, "{runs:?}");
    let (key, view) = offer(&app).await;
    assert_eq!(view["state"], "attention_needed", "{view}");
    let steps = app.state.db.version_steps(key, v1).await.unwrap();
    assert_eq!((steps[0].step, steps[0].attempt), (PipelineStep::Certification, 4));
    let why = steps[0].message.as_deref().unwrap();
    assert!(why.contains("(malware.not-scanned)"), "{why}");
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/report")).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    let finding = &report["images"][0]["platforms"][0]["findings"][0];
    assert_eq!(finding["check"], "malware.not-scanned", "{report}");
    assert!(finding["message"].as_str().unwrap().contains("clamd at tcp://127.0.0.1:1 is unreachable"), "{finding}");

    // With the CI's clamd running, the same image is scanned and certified.
    let clamd = std::env::var("WHARF_TEST_CLAMD").expect("WHARF_TEST_CLAMD: `.ci/services start` runs clamd");
    let (app, application, _dir) = common::publishing::setup_with(Some(policy), &clamd).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let (_, view) = offer(&app).await;
    assert_eq!(view["state"], "preview", "{view}");
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/report")).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    assert!(report["images"][0]["malware_scanner"].as_str().is_some_and(|s| s.contains("ClamAV")), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_submissions_from_one_publisher_does_not_hold_back_another() {
    let (app, application, _dir) = setup(Some(PERMISSIVE)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The flood: contoso submits ten offers.
    let base = common::publishing::document(&app).await;
    submit(&app).await;
    for i in 1..10 {
        let mut doc = base.clone();
        doc["id"] = json!(format!("db-{i}"));
        let r = app.as_user(Method::POST, "dev", BASE).json(&doc).send().await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        let r = app.as_user(Method::POST, "dev", &format!("{BASE}/db-{i}/submit")).send().await.unwrap();
        assert_eq!(r.status(), 201);
    }
    // Then another publisher submits one.
    app.org("tailspin", wharf_core::OrgKind::Publisher, "dev").await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/tailspin/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    push_image(&app, "tailspin/example-db", "1.0.0", "tailspin").await;
    let doc = common::publishing::document_for(&app, "tailspin").await;
    let tailspin = "/api/v1/orgs/tailspin/offers";
    let r = app.as_user(Method::POST, "dev", tailspin).json(&doc).send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = app.as_user(Method::POST, "dev", &format!("{tailspin}/db/submit")).send().await.unwrap();
    assert_eq!(r.status(), 201);

    // One worker, one job at a time: tailspin's version is in preview after at most a
    // couple of contoso's jobs, with the flood still waiting.
    let runner = wharf_jobs::Runner::new(app.state.db.clone())
        .register::<CertifyVersion>(application.clone())
        .register::<wharf_app::packaging::PackageVersion>(application.clone());
    let mut contoso_jobs = 0;
    loop {
        assert!(matches!(runner.run_once().await.unwrap(), wharf_jobs::Ran::Succeeded(_)));
        let (_, view) = json(app.as_user(Method::GET, "dev", &format!("{tailspin}/db")).send().await.unwrap()).await;
        if view["state"] == "preview" {
            break;
        }
        contoso_jobs += 1;
        assert!(contoso_jobs < 20, "tailspin never got its turn");
    }
    // Tailspin ran two jobs (certification, packaging); contoso at most one more.
    assert!(contoso_jobs <= 3, "tailspin waited behind {contoso_jobs} jobs");
    let (_, offers) = json(app.as_user(Method::GET, "dev", BASE).send().await.unwrap()).await;
    let waiting = offers["items"].as_array().unwrap().iter().filter(|o| o["state"] == "publish_in_progress").count();
    assert!(waiting >= 8, "the flood was still queued: {waiting} of 10 waiting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_advisories_regrade_versions_in_preview_and_live_from_their_sbom() {
    // Vulnerabilities keep the built-in rule (CVSS 7.0 and up blocks).
    let policy = "not_scanned = \"warn\"\nnot_evaluated = \"warn\"\nlicense_files = \"warn\"\nsignature = \"off\"\n";
    let (app, application, _dir) = setup(Some(policy)).await;
    let r = app.as_user(Method::PUT, "admin", "/api/v1/orgs/contoso/approval").send().await.unwrap();
    assert_eq!(r.status(), 200);
    // The image ships lodash 4.17.0.
    let package = br#"{"name": "lodash", "version": "4.17.0"}"#;
    let layer = common::tar::tar(&[("app/node_modules/lodash/package.json", package)]);
    common::publishing::push_image_with(&app, "contoso/example-db", "1.0.0", "db", layer).await;
    let v1 = submit(&app).await;
    run_pipeline(&app, &application).await;
    let health = format!("{BASE}/db/versions/{v1}/health");
    let (status, h) = json(app.as_user(Method::GET, "dev", &health).send().await.unwrap()).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!((h["grade"].as_str(), h["breaks_policy"].as_bool()), (Some("A"), Some(false)), "{h}");
    assert_eq!(h["advisory_snapshot"], Value::Null);
    // No advisories imported: the policy decides, and the report says so.
    let r = app.as_user(Method::GET, "dev", &format!("{BASE}/db/versions/{v1}/report")).send().await.unwrap();
    let report: Value = r.json().await.unwrap();
    let not_evaluated = report["images"][0]["platforms"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "vulnerability.not-evaluated")
        .cloned()
        .expect("a not-evaluated finding");
    assert_eq!(not_evaluated["blocking"], false, "the operator's policy lets it warn: {not_evaluated}");
    assert!(not_evaluated["message"].as_str().unwrap().contains("no advisories imported"), "{not_evaluated}");

    // The operator imports an advisory for it, fixed upstream a year and more ago.
    let advisory = json!({
        "id": "GHSA-test-lodash", "modified": "2025-10-02T00:00:00Z", "published": "2025-10-01T00:00:00Z",
        "summary": "Prototype pollution",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "npm", "name": "lodash"},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "4.17.21"}]}]}],
    });
    let import = |body: Vec<u8>| {
        app.as_user(Method::POST, "admin", "/api/v1/advisories?source=osv.zip")
            .header("content-type", "application/zip")
            .body(body)
            .send()
    };
    let zip = common::osv_zip(&[("npm/GHSA-test-lodash.json", advisory.to_string())]);
    let (status, done) = json(import(zip.clone()).await.unwrap()).await;
    assert_eq!(status, 201, "{done}");
    common::publishing::run_jobs(&app, &application).await;

    let (_, h) = json(app.as_user(Method::GET, "dev", &health).send().await.unwrap()).await;
    assert_eq!((h["grade"].as_str(), h["breaks_policy"].as_bool()), (Some("F"), Some(true)), "{h}");
    assert!(h["reason"].as_str().unwrap().starts_with("lodash 4.17.0 has GHSA-test-lodash (fixed in 4.17.21"), "{h}");
    assert_eq!(h["advisory_snapshot"], done["snapshot"]["id"]);
    assert_eq!(h["findings"][0]["check"], "vulnerability");
    let flagged: wharf_core::Timestamp = serde_json::from_value(h["flagged_at"].clone()).unwrap();
    let until: wharf_core::Timestamp = serde_json::from_value(h["grace_until"].clone()).unwrap();
    assert_eq!(until.as_millis() - flagged.as_millis(), 30 * 86_400 * 1000, "the built-in 30-day grace period");
    // Flagged, never withdrawn silently: still in preview, the change in its history.
    let (_, view) = offer(&app).await;
    assert_eq!(view["state"], "preview");
    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    let regraded: Vec<&str> = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["label"] == "Regraded")
        .map(|e| e["detail"].as_str().unwrap())
        .collect();
    assert_eq!(regraded, [format!("{v1}: A → F").as_str()]);

    // The same advisories again: re-evaluated, nothing changed, nothing recorded.
    let (status, _) = json(import(zip).await.unwrap()).await;
    assert_eq!(status, 201);
    common::publishing::run_jobs(&app, &application).await;
    let (_, again) = json(app.as_user(Method::GET, "dev", &health).send().await.unwrap()).await;
    assert_eq!((again["grade"].as_str(), &again["flagged_at"]), (Some("F"), &h["flagged_at"]));
    let (_, history) = json(app.as_user(Method::GET, "dev", &format!("{BASE}/db/history")).send().await.unwrap()).await;
    assert_eq!(history["items"].as_array().unwrap().iter().filter(|e| e["label"] == "Regraded").count(), 1);
}

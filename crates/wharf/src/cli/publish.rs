//! `wharf offer status --watch` and `wharf offer go-live`: following a version through
//! the publishing pipeline, and the publisher's sign-off.
//!
//! The watch follows the server's event stream (`…/versions/{version}/events`),
//! reconnecting when the connection drops (a server restart), and draws one progress
//! bar per step on a terminal (on stderr; nothing when it is not a terminal). It ends
//! when the version settles, with the exit code saying how: 0 in Preview (waiting for
//! go-live) or Live, 1 at Attention needed, cancelled or superseded. With
//! `--output json` each event is one JSON line on stdout.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use wharf_api_types::{ProgressEvent, StepView};
use wharf_client::{Client, ClientError};
use wharf_core::{StepState, VersionStatus};

use super::{EXIT_FAILED, Failure};
use crate::output::{self, Format};

/// How often a dropped watch is resumed before giving up.
const RECONNECTS: u32 = 30;

/// One pipeline step for people: `certification: failed (1/1 images, 3 MB): why`.
pub(super) fn step_line(s: &StepView) -> String {
    let mut line =
        format!("{}: {} ({}/{} images, {} bytes", s.step, s.state, s.images_done, s.images_total, s.bytes_done);
    if s.attempt > 1 {
        line.push_str(&format!(", attempt {}", s.attempt));
    }
    if let Some(left) = s.estimate_seconds {
        line.push_str(&format!(", about {} s left", left.ceil()));
    }
    line.push(')');
    if let Some(m) = &s.message {
        line.push_str(&format!(": {m}"));
    }
    line
}

/// Bars, one per step, on a terminal.
struct Bars {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
}

impl Bars {
    fn new() -> Bars {
        let target = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Bars { multi: MultiProgress::with_draw_target(target), bars: HashMap::new() }
    }

    fn show(&mut self, event: &ProgressEvent) {
        let style = ProgressStyle::with_template("{prefix:>26} [{bar:30}] {percent:>3}% {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        for s in &event.steps {
            let bar = self.bars.entry(s.step.to_string()).or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(1));
                bar.set_style(style.clone());
                bar.set_prefix(s.label.clone());
                bar
            });
            // Bytes when they are known, else images.
            let (done, total) =
                if s.bytes_total > 0 { (s.bytes_done, s.bytes_total) } else { (s.images_done, s.images_total.max(1)) };
            bar.set_length(total);
            bar.set_position(if s.state == StepState::Passed { total } else { done });
            let msg = match (s.state, s.estimate_seconds, &s.message) {
                (StepState::Running, Some(left), _) => format!("about {} s left", left.ceil()),
                (StepState::Failed, _, Some(why)) => format!("failed: {why}"),
                (state, _, _) => state.to_string(),
            };
            bar.set_message(msg);
            if s.state != StepState::Running && !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

/// Follows version `version` until it settles; prints each event (JSON) or the steps
/// as they end (human), and fails with exit code 1 unless it settled in Preview or Live.
pub(super) async fn watch(
    client: &Client,
    org: &str,
    offer: &str,
    version: i64,
    format: Format,
) -> Result<(), Failure> {
    let mut bars = Bars::new();
    let mut reconnects = 0;
    let last = loop {
        let result = client
            .watch_version(org, offer, version, |event| match format {
                Format::Json => output::json_line(event),
                Format::Human => bars.show(event),
            })
            .await;
        match result {
            Ok(last) => break last,
            Err(e @ (ClientError::Unreachable { .. } | ClientError::Protocol(_))) if reconnects < RECONNECTS => {
                reconnects += 1;
                tracing::debug!(error = %e, reconnects, "the watch dropped; resuming");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(reconnects.min(6)))).await;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if format == Format::Human {
        let _ = bars.multi.clear();
        output::line(format!("{org}/{offer} version {version}: {} ({})", last.status.label(), last.state));
        for s in &last.steps {
            output::line(step_line(s));
        }
    }
    match last.status {
        VersionStatus::Preview | VersionStatus::Live => Ok(()),
        status => Err(Failure::new(
            EXIT_FAILED,
            format!("version {version} of {org}/{offer} stopped: {}", status.label().to_lowercase()),
        )),
    }
}

/// `wharf offer go-live`: the version in preview (or `version`) goes live.
pub(super) async fn go_live(
    client: &Client,
    org: &str,
    offer: &str,
    version: Option<i64>,
    watch_it: bool,
    format: Format,
) -> Result<(), Failure> {
    let version = match version {
        Some(v) => v,
        None => {
            let view = client.offer(org, offer).await?;
            view.versions.iter().find(|v| v.status == VersionStatus::Preview).map(|v| v.version).ok_or_else(|| {
                Failure::new(EXIT_FAILED, format!("{org}/{offer} has no version in preview: nothing can go live"))
            })?
        }
    };
    let view = client.go_live(org, offer, version).await?;
    match format {
        Format::Json if !watch_it => output::json(&view),
        Format::Json => {}
        Format::Human => output::line(format!(
            "version {version} of {org}/{offer} goes live: packaging for production, then live ({})",
            view.state_label
        )),
    }
    if watch_it { watch(client, org, offer, version, format).await } else { Ok(()) }
}

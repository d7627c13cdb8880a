//! A pull storm against a running Wharf: `clients` clients at once, each getting a
//! token (with a password, or with an API token) and pulling an image, every blob
//! checked against its digest, 429s honoured. Run by `bench/pull-storm`, which starts
//! the server; it reports the server's peak memory when given its process id.
//!
//!   pull_storm URL ADMIN_PASSWORD [--clients N] [--users N] [--layers N] [--layer-mib N] [--pid PID]

#![allow(clippy::print_stdout, reason = "the benchmark reports on stdout")]

#[path = "../tests/common/storm.rs"]
mod storm;

use std::time::Duration;

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(base), Some(password)) = (args.get(1), args.get(2)) else {
        eprintln!(
            "usage: pull_storm URL ADMIN_PASSWORD [--clients N] [--users N] [--layers N] [--layer-mib N] [--pid PID]"
        );
        std::process::exit(2);
    };
    let clients = arg(&args, "--clients", 1000);
    let users = arg(&args, "--users", 50);
    let layers = arg(&args, "--layers", 2);
    let layer_mib = arg(&args, "--layer-mib", 10);
    let pid = arg(&args, "--pid", 0) as u32;
    for (org, tokens) in [("stormpw", false), ("stormtk", true)] {
        let credentials = storm::users(base, password, org, users, tokens).await;
        let image = storm::push(base, password, &format!("{org}/app"), "1.0", layers, layer_mib << 20).await;
        let outcome = storm::storm(base, clients, &credentials, &image).await;
        let bytes: u64 = image.blobs.iter().map(|(_, s)| s).sum();
        println!(
            "{clients} clients, {} ({users} users), image {:.1} MB: {} pulled, {} failed, {} retries after 429, slowest {:.2} s, all in {:.2} s ({:.0} MB/s){}",
            if tokens { "API tokens" } else { "passwords" },
            bytes as f64 / 1e6,
            outcome.ok,
            outcome.failed.len(),
            outcome.retried,
            outcome.slowest.as_secs_f64(),
            outcome.elapsed.as_secs_f64(),
            (bytes * outcome.ok as u64) as f64 / 1e6 / outcome.elapsed.max(Duration::from_millis(1)).as_secs_f64(),
            if pid > 0 { format!("; server peak RSS {} MiB", storm::peak_rss_kib(pid) / 1024) } else { String::new() }
        );
        for f in outcome.failed.iter().take(5) {
            println!("  failed: {f}");
        }
        if !outcome.failed.is_empty() {
            std::process::exit(1);
        }
    }
}

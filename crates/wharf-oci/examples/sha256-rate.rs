//! This machine's single-core SHA-256 rate with the implementation Wharf hashes
//! blobs with, the yardstick of the blob-push target (bench/registry prints it
//! beside the registry figures):
//!
//!     cargo run --release -p wharf-oci --example sha256-rate [MiB]
//!
//! Hashes the given amount (default 1024 MiB) in 1 MiB updates, three times, and
//! prints the best rate in MB/s (10^6 bytes per second).

use std::time::Instant;

use wharf_oci::Algorithm;

#[allow(clippy::print_stdout)] // the figure is the output
fn main() {
    let mib: usize = match std::env::args().nth(1).map(|a| a.parse()) {
        None => 1024,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: sha256-rate [MiB, a positive whole number]");
            std::process::exit(2);
        }
    };
    let buf: Vec<u8> = (0..1024 * 1024).map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut best = 0f64;
    for _ in 0..3 {
        let start = Instant::now();
        let mut h = Algorithm::Sha256.hasher();
        for _ in 0..mib {
            h.update(&buf);
        }
        let digest = h.finish();
        let rate = (mib * buf.len()) as f64 / start.elapsed().as_secs_f64() / 1e6;
        assert!(digest.as_str().starts_with("sha256:"));
        best = best.max(rate);
    }
    println!("{best:.0}");
}

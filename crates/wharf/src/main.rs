//! `wharf`: see `wharf --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    limit_malloc_arenas();
    let cli = wharf::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(wharf::cli::EXIT_FAILED);
        }
    };
    match runtime.block_on(wharf::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("error: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

/// glibc gives each thread that contends for `malloc` an arena of its own (up to 8
/// per core) and keeps freed memory in them, so with the blocking pool's threads
/// streaming blobs a server's resident memory settles at several times what it
/// uses. Two arenas keep it near what is in use (registry benchmark: peak RSS 129 MiB
/// with glibc's default, 54 MiB with two, same throughput). An operator's own
/// `MALLOC_ARENA_MAX`, which glibc has applied already, is left alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` only sets an allocator parameter, and no other thread
        // exists yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

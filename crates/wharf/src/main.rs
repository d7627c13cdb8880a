//! `wharf`: see `wharf --help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

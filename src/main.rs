//! The `innovate` binary: parse arguments, run the command, map the result to an exit code
//! (0 success, 1 error, 2 changes or drift present).

use clap::Parser;
use innovate::cli::{self, Cli};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage(err),
    };
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::run(cli)) {
        Ok(code) => code,
        Err(err) => {
            let text = err.to_string();
            // Blueprint errors arrive already formatted, one "error:" block each.
            if text.starts_with("error: ") {
                eprintln!("{text}")
            } else {
                eprintln!("error: {text}")
            }
            ExitCode::from(1)
        }
    }
}

/// Help and version exit 0; a usage error exits 1, not clap's 2, because 2 means "changes,
/// drift or findings present" to the scripts that run plan, drift and check.
fn usage(err: clap::Error) -> ExitCode {
    let _ = err.print();
    if err.use_stderr() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Logs go to stderr; `-v` info, `-vv` debug, RUST_LOG wins when set.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "innovate=info",
        _ => "innovate=debug,aws_smithy_runtime=debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}

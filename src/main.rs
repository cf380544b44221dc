//! The `diffuscope` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match diffuscope::cli::run(diffuscope::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(sentence) => {
            eprintln!("diffuscope: {sentence}");
            ExitCode::FAILURE
        }
    }
}

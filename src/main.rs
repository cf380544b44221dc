//! The `diffuscope` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: the network's activations are buffers of a few
/// megabytes, which glibc's malloc maps fresh from the kernel and returns on every forward pass
/// (page faults and zeroing were a quarter of a forward pass at batch 16); mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Ctrl-C, SIGTERM or SIGHUP during a write removes the temporary files in flight. Should the
    // handler not install, leftovers are still removed by the next write into their folder.
    let _installed = diffuscope::export::cleanup::remove_leftovers_on_signals();
    match diffuscope::cli::run(diffuscope::cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(sentence) => {
            eprintln!("diffuscope: {sentence}");
            ExitCode::FAILURE
        }
    }
}

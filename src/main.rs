//! The `diffuscope` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

/// mimalloc instead of the system allocator: the network's activations are buffers of a few
/// megabytes, which glibc's malloc maps fresh from the kernel and returns on every forward pass
/// (page faults and zeroing were a quarter of a forward pass at batch 16); mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its index in the v3 `mimalloc.h` that libmimalloc-sys
/// builds; the crate leaves the constant out on purpose).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long mimalloc keeps freed memory mapped before handing it back to the kernel, in ms.
///
/// The purge timer starts at the first free after a purge and is not extended by later frees, so
/// at mimalloc's default (1 s) a training step's activations (hundreds of megabytes, freed and
/// allocated again every 0.3 s) were handed back every second and faulted in again, each page
/// zeroed by the kernel: 12,000 page faults in 8 steps, and 17 % of the samples of `perf record`
/// in the kernel's page clearing. At 10 s the window still gives the memory back soon after a run
/// ends.
const PURGE_DELAY_MS: std::ffi::c_long = 10_000;

fn main() -> ExitCode {
    keep_freed_memory_longer();
    keep_candles_elementwise_operations_on_the_calling_thread();
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

/// Sets mimalloc's purge delay to [`PURGE_DELAY_MS`] unless the user chose one
/// (`MIMALLOC_PURGE_DELAY`); called first, before any thread starts.
#[expect(unsafe_code, reason = "one FFI call into the allocator's option table")]
fn keep_freed_memory_longer() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an integer in mimalloc's option table (index 15 is in range);
    // it is not thread-safe, and no other thread exists yet.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

/// Sets `CANDLE_NUM_THREADS=1` unless the user chose a value: candle's element-wise operations
/// (large ones go to a pool of its own, apart from rayon's) then run on the thread that asks.
///
/// Each pool worker spins 25,000 times after every operation before it sleeps; in a training
/// step, whose backward pass then added every gradient into a fresh tensor, that spinning took a
/// tenth of the samples (`perf record`) and a core from our kernels' threads. `bench train
/// --batch 64 --steps 20`, six alternating rounds: 6.6–7.5 s (9.8–10.1 s of CPU) against 7.1–7.9
/// s (11.0–12.2 s); with candle's autograd patched since (`vendor/candle-core`), two threads with
/// a spin limit of 0 or 100 were still no faster. Our kernels and candle's convolutions and
/// products use rayon's pool and are not affected.
#[expect(
    unsafe_code,
    reason = "setting an environment variable before any thread starts"
)]
fn keep_candles_elementwise_operations_on_the_calling_thread() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: no other thread exists yet, so nothing reads the environment meanwhile.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") }
    }
}

//! Keeping the pool's other threads awake through a forward pass.
//!
//! rayon's idle workers sleep after a few rounds without work, and waking one again (a futex; on a
//! virtual machine, an interrupt to a halted virtual CPU) costs tens of microseconds: as much as
//! many layers of a batch-1 forward pass take. ONNX Runtime's threads spin between operations for
//! the same reason. While [`with_warm_workers`] runs its function, one job per other thread of
//! the pool loops on [`rayon::yield_now`], which runs any pending work of the pool (the halves of
//! the kernels' parallel loops), and spins in between; the jobs end when the function returns (or
//! panics), or after [`MOST_SPIN`] at the latest.
//!
//! Between two looks at the clock a helper also yields its core to the operating system
//! ([`std::thread::yield_now`]), which returns at once when nothing else waits for the core. In
//! the window, the renderer's threads do wait for it where a software renderer (llvmpipe) draws:
//! a helper that only spun held its core while the thread it waited for was descheduled. A
//! guided DDPM-1000 run of 16 digits under Xvfb took 34.6–37.1 s in the window (the model's
//! threads 59.8 s of CPU) and now 32.4–34.9 s (51.8–55.5 s of CPU), against 25.1–30.0 s on the
//! command line; batch-1 passes alone were no slower (eight alternating rounds, medians 1.03 and
//! 1.00 ms).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The longest a helper spins: a bound for a function that never returns.
const MOST_SPIN: Duration = Duration::from_secs(1);

/// Spins between two looks at the clock (a look costs more than a spin).
const SPINS_PER_CLOCK_LOOK: u32 = 64;

/// [`with_warm_workers`] for a network whose inputs are on `device`: on the CPU, where our
/// kernels hand out the work; elsewhere `f` just runs.
pub fn with_warm_workers_on<R>(device: &candle_core::Device, f: impl FnOnce() -> R) -> R {
    if device.is_cpu() {
        with_warm_workers(f)
    } else {
        f()
    }
}

/// Runs `f` on this thread with the pool's other threads spinning, ready for the work `f` hands
/// out, instead of sleeping. Outside a rayon pool, or in a pool of one thread, just runs `f`.
pub fn with_warm_workers<R>(f: impl FnOnce() -> R) -> R {
    let Some(caller) = rayon::current_thread_index() else {
        return f();
    };
    let finished = Finished(Arc::new(AtomicBool::new(false)));
    for _ in 1..rayon::current_num_threads() {
        let finished = Arc::clone(&finished.0);
        rayon::spawn(move || {
            // The caller may pick this job up itself while it waits inside `f`: spinning there
            // would wait for its own return.
            if rayon::current_thread_index() != Some(caller) {
                spin_until(&finished);
            }
        });
    }
    f()
    // `finished` drops here, after `f`, and tells the helpers to stop.
}

/// Runs the pool's pending work, or spins, until `finished` (or for [`MOST_SPIN`]).
fn spin_until(finished: &AtomicBool) {
    let start = Instant::now();
    loop {
        for _ in 0..SPINS_PER_CLOCK_LOOK {
            if finished.load(Ordering::Acquire) {
                return;
            }
            if rayon::yield_now() != Some(rayon::Yield::Executed) {
                std::hint::spin_loop();
            }
        }
        if start.elapsed() > MOST_SPIN {
            return;
        }
        // Lets another thread that waits for this core run (see the module documentation).
        std::thread::yield_now();
    }
}

/// Set when dropped: the helpers stop when the function returns and when it panics.
struct Finished(Arc<AtomicBool>);

impl Drop for Finished {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_pool as pool;
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn returns_what_the_function_computes_and_frees_the_pool() {
        let pool = pool(3);
        let started = Instant::now();
        let sum = pool.install(|| {
            with_warm_workers(|| (0..10_000u64).into_par_iter().map(|i| i * i).sum::<u64>())
        });
        assert_eq!(sum, (0..10_000u64).map(|i| i * i).sum::<u64>());
        // Every thread takes new work at once: the helpers stopped when the function returned.
        pool.broadcast(|_| ());
        assert!(started.elapsed() < MOST_SPIN / 2, "{:?}", started.elapsed());
    }

    #[test]
    fn a_panic_in_the_function_stops_the_helpers_too() {
        let pool = pool(2);
        let started = Instant::now();
        let outcome = pool.install(|| {
            std::panic::catch_unwind(|| with_warm_workers(|| panic!("a broken layer")))
        });
        assert!(outcome.is_err());
        pool.broadcast(|_| ());
        assert!(started.elapsed() < MOST_SPIN / 2, "{:?}", started.elapsed());
    }

    #[test]
    fn outside_a_pool_it_just_runs_the_function() {
        assert_eq!(with_warm_workers(|| 6 * 7), 42);
    }
}

//! How often background news (a run's frames above all) repaints the window. Where a GPU draws the
//! window, 30 frames a second. Where a software renderer draws it (llvmpipe under Xvfb, a virtual
//! machine), every frame costs the cores the model needs, so twice a second: the run still visibly
//! moves. On a 2-core AMD EPYC a 1280×800 frame of the Reverse view cost llvmpipe's threads about
//! 105 ms of CPU; during a guided DDPM-1000 run (the model's threads: 70–72 s of CPU) they took
//! 17.8 s at four frames a second and 9.3 s at two (per-thread times from `/proc`). Input always
//! repaints at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The wait between repaints for background news where a GPU draws the window.
pub const WITH_A_GPU: Duration = Duration::from_millis(33);
/// The wait where the window is drawn on the CPU.
pub const ON_THE_CPU: Duration = Duration::from_millis(500);

/// The current wait between repaints for background news; shared with the threads that wake the
/// window.
#[derive(Debug)]
pub struct RepaintPacing {
    /// The wait, in milliseconds.
    interval_ms: AtomicU64,
}

impl Default for RepaintPacing {
    fn default() -> Self {
        Self {
            interval_ms: AtomicU64::new(millis(WITH_A_GPU)),
        }
    }
}

impl RepaintPacing {
    /// The wait before a repaint that background news asks for.
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms.load(Ordering::Relaxed))
    }

    /// Sets the pace for a window drawn on the CPU (`true`) or by a GPU.
    pub fn drawn_on_cpu(&self, on_cpu: bool) {
        let interval = if on_cpu { ON_THE_CPU } else { WITH_A_GPU };
        self.interval_ms.store(millis(interval), Ordering::Relaxed);
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_drawn_on_the_cpu_repaints_less_often() {
        let pacing = RepaintPacing::default();
        assert_eq!(pacing.interval(), WITH_A_GPU);
        pacing.drawn_on_cpu(true);
        assert_eq!(pacing.interval(), ON_THE_CPU);
        pacing.drawn_on_cpu(false);
        assert_eq!(pacing.interval(), WITH_A_GPU);
    }
}

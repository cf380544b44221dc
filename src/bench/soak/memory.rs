//! The soak's memory watch: a thread that reads the process's resident memory every few seconds,
//! and the verdict on growth after the warm-up.
//!
//! The verdict compares two windows of equal length that see the same random mix of work: the
//! highest resident memory during the warm-up (the first fifth of the time) and the highest during
//! the last fifth. Peaks, not means, because the level at any moment depends on which run or
//! export happens to be going (a guided 16-sample Heun run holds more than a 1-sample DDIM one); a
//! leak lifts every later peak. The least-squares slope after the warm-up is printed as well.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The share of the time counted as warm-up (allocator pools, thread stacks and caches filling).
pub const WARM_UP_SHARE: f64 = 0.2;
/// Growth allowed as a share of the warm-up peak…
pub const ALLOWED_SHARE: f64 = 0.15;
/// …or in bytes, whichever is larger.
pub const ALLOWED_BYTES: usize = 100_000_000;

/// One reading: seconds since the start, resident bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// Seconds since the soak started.
    pub secs: f64,
    /// Resident memory in bytes.
    pub bytes: usize,
}

/// Reads the resident memory every `interval` on a thread of its own until dropped.
pub struct MemoryWatch {
    readings: Arc<Mutex<Vec<Reading>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MemoryWatch {
    /// Starts reading now (the first reading is taken at once); `None` where the resident memory
    /// cannot be read (not Linux) or no thread starts.
    pub fn start(started: Instant, interval: Duration) -> Option<Self> {
        crate::process::resident_memory_bytes()?;
        let readings = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopped) = (Arc::clone(&readings), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("diffuscope-soak-memory".into())
            .spawn(move || {
                while !stopped.load(Ordering::Relaxed) {
                    if let Some(bytes) = crate::process::resident_memory_bytes() {
                        let secs = started.elapsed().as_secs_f64();
                        lock(&shared).push(Reading { secs, bytes });
                    }
                    std::thread::park_timeout(interval);
                }
            })
            .ok()?;
        Some(Self {
            readings,
            stop,
            thread: Some(thread),
        })
    }

    /// Every reading so far.
    pub fn readings(&self) -> Vec<Reading> {
        lock(&self.readings).clone()
    }
}

impl Drop for MemoryWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            // The thread only reads a file; a panic there has nothing left to report.
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Lowest, highest and latest resident memory of `readings`, in bytes.
pub fn min_max_now(readings: &[Reading]) -> Option<(usize, usize, usize)> {
    let now = readings.last()?.bytes;
    let min = readings.iter().map(|r| r.bytes).min()?;
    let max = readings.iter().map(|r| r.bytes).max()?;
    Some((min, max, now))
}

/// What the readings say about growth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Growth {
    /// The highest reading of the warm-up window.
    pub warm_up_peak: usize,
    /// The highest reading of the last window (as long as the warm-up).
    pub final_peak: usize,
    /// How much more the final peak may be than the warm-up peak.
    pub allowed: usize,
    /// Least-squares slope of the readings after the warm-up, in bytes per minute.
    pub slope_per_minute: f64,
}

impl Growth {
    /// Bytes the final peak is above the warm-up peak (0 if below).
    pub fn grown(&self) -> usize {
        self.final_peak.saturating_sub(self.warm_up_peak)
    }

    /// Whether the growth stayed within what is allowed.
    pub fn passed(&self) -> bool {
        self.grown() <= self.allowed
    }
}

/// The growth verdict over a soak of `total_secs`: `None` if either window has no reading.
pub fn growth(readings: &[Reading], total_secs: f64) -> Option<Growth> {
    let window = total_secs * WARM_UP_SHARE;
    let peak = |from: f64, to: f64| {
        readings
            .iter()
            .filter(|r| r.secs >= from && r.secs <= to)
            .map(|r| r.bytes)
            .max()
    };
    let warm_up_peak = peak(0.0, window)?;
    let final_peak = peak(total_secs - window, f64::INFINITY)?;
    let after: Vec<Reading> = readings
        .iter()
        .copied()
        .filter(|r| r.secs > window)
        .collect();
    Some(Growth {
        warm_up_peak,
        final_peak,
        allowed: allowed_growth(warm_up_peak),
        slope_per_minute: slope(&after) * 60.0,
    })
}

/// Growth allowed over a warm-up peak of `baseline` bytes: [`ALLOWED_SHARE`] of it or
/// [`ALLOWED_BYTES`], whichever is larger.
pub fn allowed_growth(baseline: usize) -> usize {
    ((baseline as f64 * ALLOWED_SHARE) as usize).max(ALLOWED_BYTES)
}

/// Least-squares slope of bytes over seconds (0 with fewer than two distinct times).
fn slope(readings: &[Reading]) -> f64 {
    let n = readings.len() as f64;
    if readings.len() < 2 {
        return 0.0;
    }
    let mean_t = readings.iter().map(|r| r.secs).sum::<f64>() / n;
    let mean_b = readings.iter().map(|r| r.bytes as f64).sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for r in readings {
        cov += (r.secs - mean_t) * (r.bytes as f64 - mean_b);
        var += (r.secs - mean_t).powi(2);
    }
    if var > 0.0 { cov / var } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MB: usize = 1_000_000;

    /// One reading a second for `secs` seconds, from `bytes(t)`.
    fn readings(secs: usize, bytes: impl Fn(f64) -> usize) -> Vec<Reading> {
        (0..=secs)
            .map(|s| Reading {
                secs: s as f64,
                bytes: bytes(s as f64),
            })
            .collect()
    }

    #[test]
    fn a_level_that_swings_but_does_not_climb_passes() {
        // 200 MB with a 60 MB swing every 7 s (runs of different sizes), peaks in every window.
        let flat = readings(1000, |t| {
            200 * MB
                + if (t as usize).is_multiple_of(7) {
                    60 * MB
                } else {
                    0
                }
        });
        let growth = growth(&flat, 1000.0).expect("no verdict");
        assert_eq!(growth.warm_up_peak, 260 * MB);
        assert_eq!(growth.final_peak, 260 * MB);
        assert!(growth.passed());
        assert!(growth.slope_per_minute.abs() < 0.1 * MB as f64);
    }

    #[test]
    fn a_steady_leak_fails_and_shows_in_the_slope() {
        // 1 MB per 10 s grows 80 MB from the warm-up's peak to the last one: within the 100 MB
        // floor. 3 MB per 10 s grows 240 MB: a failure.
        let small = readings(1000, |t| 200 * MB + (t / 10.0) as usize * MB);
        let growth_small = growth(&small, 1000.0).expect("no verdict");
        assert_eq!(growth_small.grown(), 80 * MB);
        assert!(growth_small.passed());
        let large = readings(1000, |t| 200 * MB + (t / 10.0) as usize * 3 * MB);
        let growth_large = growth(&large, 1000.0).expect("no verdict");
        assert_eq!(growth_large.grown(), 240 * MB);
        assert!(!growth_large.passed());
        let per_minute = growth_large.slope_per_minute / MB as f64;
        assert!((per_minute - 18.0).abs() < 0.5, "{per_minute} MB/min");
    }

    #[test]
    fn the_allowance_is_a_share_of_large_baselines_and_a_floor_for_small_ones() {
        assert_eq!(allowed_growth(200 * MB), ALLOWED_BYTES);
        assert_eq!(allowed_growth(2000 * MB), 300 * MB);
    }

    #[test]
    fn a_drop_is_no_growth_and_missing_windows_give_no_verdict() {
        let falling = readings(100, |t| 500 * MB - t as usize * MB);
        let growth_falling = growth(&falling, 100.0).expect("no verdict");
        assert_eq!(growth_falling.grown(), 0);
        assert!(growth_falling.passed());
        assert_eq!(growth(&[], 100.0), None);
        let early = readings(10, |_| MB);
        assert_eq!(growth(&early, 100.0), None, "no reading in the last window");
    }

    #[test]
    fn min_max_and_latest() {
        let r = readings(3, |t| [5, 1, 9, 4][t as usize]);
        assert_eq!(min_max_now(&r), Some((1, 9, 4)));
        assert_eq!(min_max_now(&[]), None);
    }
}

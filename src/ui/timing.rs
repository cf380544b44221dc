//! How long each window frame spends in our code (draining events, building the interface,
//! uploading textures), kept for the last frames so the p50/p99 can be reported. The GPU's own
//! rendering is not counted: with software rendering under Xvfb it says nothing about a laptop.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Frames remembered.
const KEPT: usize = 4096;

/// Recent frame times.
#[derive(Default)]
pub struct FrameTimes {
    started: Option<Instant>,
    times: VecDeque<Duration>,
}

impl FrameTimes {
    /// Marks the start of a frame's work.
    pub fn begin(&mut self) {
        self.started = Some(Instant::now());
    }

    /// Marks its end and keeps the time.
    pub fn end(&mut self) {
        if let Some(started) = self.started.take() {
            if self.times.len() == KEPT {
                self.times.pop_front();
            }
            self.times.push_back(started.elapsed());
        }
    }

    /// Forgets the frames so far (to measure from now on).
    pub fn clear(&mut self) {
        self.times.clear();
    }

    /// Frames measured.
    pub fn count(&self) -> usize {
        self.times.len()
    }

    /// The `q` quantile (0..=1) of the kept frame times, if any.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let mut sorted: Vec<Duration> = self.times.iter().copied().collect();
        sorted.sort_unstable();
        let last = sorted.len().checked_sub(1)?;
        let index = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
        sorted.get(index).copied()
    }
}

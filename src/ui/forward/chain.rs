//! The step-by-step chain, walked once per (picture, schedule, seed) on a background thread and kept
//! as display-ready frames, so that scrubbing in "walk step by step" mode is instant.
//!
//! Every step of a chain of T steps is kept, so the walk runs at a reduced resolution chosen to fit
//! [`MEMORY_BUDGET_BYTES`]. Dropping a [`ChainWalk`] drops its receiver; the thread notices at its next
//! send and stops, so a new seed or schedule cancels the old walk for free.

use std::sync::Arc;

use crossbeam_channel::{Receiver, bounded};

use crate::data::Picture;
use crate::diffusion::NoiseSchedule;
use crate::diffusion::forward::walk_chain;
use crate::diffusion::stats::{Histogram, noise_part_std};

/// Bytes the recorded frames of one walk may take (RGB bytes of every step).
pub const MEMORY_BUDGET_BYTES: usize = 192 << 20;

/// One recorded step of the chain, ready to draw.
#[derive(Clone, Debug)]
pub struct ChainFrame {
    /// RGB bytes of x_t at the walk's resolution.
    pub rgb: Vec<u8>,
    /// Histogram of x_t's values.
    pub histogram: Histogram,
    /// Standard deviation of x_t − √ᾱ_t·x0.
    pub noise_std: f64,
}

/// A chain being walked (or walked) in the background.
pub struct ChainWalk {
    /// Width of the recorded frames.
    pub width: usize,
    /// Height of the recorded frames.
    pub height: usize,
    frames: Vec<ChainFrame>,
    total: usize,
    receiver: Receiver<ChainFrame>,
}

impl ChainWalk {
    /// Starts walking the chain of `schedule` from `picture` with `seed`. `wake` is called after each
    /// frame is sent so the window can repaint; it must be cheap.
    pub fn start(
        picture: &Picture,
        schedule: &NoiseSchedule,
        seed: u64,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let total = schedule.steps() + 1;
        let pixel_budget = MEMORY_BUDGET_BYTES / (total * Picture::CHANNELS);
        let x0 = Arc::new(picture.fit_within(pixel_budget.max(1)));
        let (width, height) = (x0.width, x0.height);
        let (sender, receiver) = bounded(64);
        let schedule = schedule.clone();
        std::thread::Builder::new()
            .name("forward-chain".into())
            .spawn(move || {
                walk_chain(&schedule, &x0.values, seed, |t, x_t| {
                    let mut rgb = vec![0; x_t.len()];
                    crate::data::picture::values_to_rgb8(x_t, &mut rgb);
                    let frame = ChainFrame {
                        rgb,
                        histogram: Histogram::of_pixels(x_t),
                        noise_std: noise_part_std(x_t, &x0.values, schedule.signal_scale(t)),
                    };
                    let delivered = sender.send(frame).is_ok();
                    wake();
                    delivered
                });
            })?;
        Ok(Self {
            width,
            height,
            frames: Vec::with_capacity(total),
            total,
            receiver,
        })
    }

    /// Moves frames that have arrived into the record; call once per UI frame.
    pub fn drain(&mut self) {
        while let Ok(frame) = self.receiver.try_recv() {
            self.frames.push(frame);
        }
    }

    /// The recorded frame for timestep `t`, if the walk has reached it.
    pub fn frame(&self, t: usize) -> Option<&ChainFrame> {
        self.frames.get(t)
    }

    /// The latest recorded frame and its timestep.
    pub fn latest(&self) -> Option<(usize, &ChainFrame)> {
        self.frames.last().map(|f| (self.frames.len() - 1, f))
    }

    /// Steps recorded so far and steps in all (T + 1, counting t = 0).
    pub fn progress(&self) -> (usize, usize) {
        (self.frames.len(), self.total)
    }
}

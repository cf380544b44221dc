//! Training loops in candle (`diffuscope train`): objectives, AdamW, EMA, progress, atomic checkpoints.
//! Never imports egui or wgpu.
//!
//! The twin of `training/train_diffusion.py`: ε-, v- or flow-matching targets on the linear DDPM
//! schedule (T = 1000), AdamW with a linear warm-up then cosine decay, an exponential moving average
//! (EMA) of the weights, 10 % of labels replaced by "no class", all seeded.
//!
//! Code map:
//! - [`config`]: [`TrainConfig`], [`StepReport`] (one per step, to the caller), [`TrainSummary`].
//! - [`batch`]: one training batch (digits, labels, t, noise, x_t, target) as plain numbers, a pure
//!   function of (seed, step), so a resumed run draws exactly what an uninterrupted one would.
//! - [`lr`]: the learning-rate schedule.
//! - [`adam_w`]: [`adam_w::FusedAdamW`], candle's AdamW arithmetic in one parallel pass per weight.
//! - [`ema`]: [`Ema`], the averaged weights that are saved.
//! - [`init`]: seeded initial weights (candle's own random numbers cannot be seeded on the CPU).
//! - [`files`]: the checkpoint with metadata, the resume state, the loss log — all written atomically.
//! - [`error`]: [`TrainError`], each case with a sentence in both languages.
//! - [`trainer`]: [`train`], the loop itself.
//! - [`one_step`]: one training step taken apart for the Training view (x0, ε, x_t, output,
//!   target, squared error, loss).
//! - [`watch`]: a run watched while it trains: its averaged weights as a model or a checkpoint,
//!   and the digits they draw from fixed noise (the live grid, the strip over training).
//! - [`loss_by_t`]: a model's loss against the noise level, over fixed digits and noise.
//!
//! Invariant: the EMA and everything saved are plain (detached) tensors; only the optimiser's
//! variables carry autograd, and each step's graph is dropped when the step ends.

pub mod adam_w;
pub mod batch;
pub mod config;
pub mod ema;
pub mod error;
pub mod files;
pub mod init;
pub mod loss_by_t;
pub mod lr;
pub mod one_step;
pub mod trainer;
pub mod watch;

pub use config::{StepReport, TRAIN_STEPS_T, TrainConfig, TrainSummary};
pub use ema::Ema;
pub use error::TrainError;
pub use trainer::{train, train_watched};

//! What a training run is asked to do ([`TrainConfig`]), what it reports after every step
//! ([`StepReport`]) and what it hands back at the end ([`TrainSummary`]).

use std::path::PathBuf;

use candle_core::Device;

use crate::diffusion::objectives::Objective;
use crate::memory_budget::{self, BudgetError, Work, product};
use crate::model::config::UNetConfig;

/// T, the number of noising steps of the linear schedule the ε- and v-models are trained on; a flow
/// model sees its noise level σ ∈ [0, 1] as the timestep input 1000·σ.
pub const TRAIN_STEPS_T: usize = 1000;

/// Where the bundled digits come from, as written under `training_data` in a checkpoint.
pub const BUNDLED_TRAINING_DATA: &str =
    "assets/data/mnist10k (10,000 MNIST digits, scaled to [-1, 1])";

/// Everything that defines a training run. [`Default`] is the recipe of the shipped models
/// (`training/train_diffusion.py`'s defaults) with ε-prediction.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// What the network learns to predict.
    pub objective: Objective,
    /// Number of optimiser steps (≥ 1).
    pub steps: usize,
    /// Digits per step (≥ 1).
    pub batch: usize,
    /// Peak learning rate of AdamW (> 0).
    pub lr: f64,
    /// Steps of linear warm-up before the cosine decay (0: none).
    pub warmup: usize,
    /// The most the decay of the exponential moving average of the weights can reach, in [0, 1).
    /// The decay warms up, min(this, 1 − n^(−2/3)) after step n ([`super::ema::decay_after`]), so
    /// the average covers about the last n^(2/3) steps and reaches 0.999 after 31,623 steps.
    pub ema_decay: f64,
    /// Fraction of labels replaced by "no class" (for classifier-free guidance), in [0, 1].
    pub label_dropout: f64,
    /// Seed of everything random: initial weights, batches, timesteps, noise, label dropout.
    pub seed: u64,
    /// The network's sizes.
    pub unet: UNetConfig,
    /// Save the resume state every this many steps (≥ 1).
    pub save_every: usize,
    /// Where the network is trained.
    pub device: Device,
    /// The command that started the run, recorded under `command` in the checkpoint.
    pub command: String,
    /// What the digits are, recorded under `training_data` in the checkpoint.
    pub training_data: String,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            objective: Objective::Eps,
            steps: 3000,
            batch: 128,
            lr: 2e-3,
            warmup: 200,
            ema_decay: 0.999,
            label_dropout: 0.1,
            seed: 0,
            unet: UNetConfig::default(),
            save_every: 200,
            device: Device::Cpu,
            command: String::new(),
            training_data: BUNDLED_TRAINING_DATA.to_owned(),
        }
    }
}

/// Feature maps a training step keeps per digit and per value of one map at each resolution
/// (c0·28·28 + c1·14·14 + c2·7·7 values): the forward pass's activations that the backward pass
/// reads, and their gradients. Measured with `/usr/bin/time -v` on `diffuscope train` at batch 64
/// and 256 (the slope, rounded up).
const KEPT_MAPS_PER_DIGIT: u64 = 120;

impl TrainConfig {
    /// Bytes a training step holds at its peak (an estimate that errs high): every digit's
    /// activations and their gradients, plus the weights, their gradients, AdamW's two moments
    /// and the EMA copy (five copies of the parameters), and the digits themselves.
    pub fn memory_needed(&self) -> u64 {
        let [c0, c1, c2] = self.unet.channels.map(|c| c as u64);
        let per_map = c0 * 28 * 28 + c1 * 14 * 14 + c2 * 7 * 7;
        let batch = product(&[self.batch as u64, KEPT_MAPS_PER_DIGIT, per_map, 4]);
        let parameters = product(&[self.unet.parameter_count(), 5, 4]);
        batch.saturating_add(parameters)
    }

    /// Whether a step at this batch fits the memory budget.
    pub fn check_memory(&self) -> Result<(), BudgetError> {
        memory_budget::check(Work::Training, self.memory_needed())
    }
}

/// What happened in one optimiser step, handed to the caller's callback.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepReport {
    /// Steps done so far, this one included (1 after the first step).
    pub step: usize,
    /// Steps the run will take in all.
    pub steps: usize,
    /// Mean squared error of this step's batch (before the update).
    pub loss: f32,
    /// Learning rate used for this step.
    pub lr: f64,
    /// Digits per second during this step (batch ÷ the step's wall time).
    pub images_per_sec: f64,
    /// Wall time of the whole run so far, earlier sessions of a resumed run included.
    pub elapsed_secs: f64,
}

/// How a training run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSummary {
    /// Steps done in all (earlier sessions of a resumed run included).
    pub steps_done: usize,
    /// The step this session started from (0 for a fresh run).
    pub started_at: usize,
    /// Mean loss of the last 100 steps (fewer if fewer were done); NaN if no step was done.
    pub final_loss: f32,
    /// Wall time of the whole run, earlier sessions included.
    pub wall_time_secs: f64,
    /// Whether the caller stopped the run early: the resume state was saved and no checkpoint
    /// was written.
    pub stopped: bool,
    /// The checkpoint written (the EMA weights), unless the run was stopped.
    pub checkpoint: Option<PathBuf>,
    /// The loss log (CSV: step, loss, images per second).
    pub loss_log: PathBuf,
    /// The resume state, if one remains (after a stop).
    pub resume_state: Option<PathBuf>,
}

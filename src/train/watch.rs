//! A run watched while it trains: its averaged (EMA) weights as they are after a step, made into
//! a checkpoint's bytes, a model the samplers run, or a file; and the digits they draw from fixed
//! noise, so that the same sixteen starts gather into digits as training goes on (the live grid
//! of the Training view, and `diffuscope train --strip`).

use std::path::Path;

use candle_core::Device;

use super::config::TrainConfig;
use super::ema::Ema;
use super::error::TrainError;
use super::files::write_safetensors;
use super::trainer::{checkpoint_metadata, final_loss};
use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::i18n::Lang;
use crate::model::checkpoint::diffusion_model_from_bytes;
use crate::model::{CheckpointError, DiffusionModel};
use crate::sample::{ModelTraits, PrepareError, RunSettings, SampleError, sample};

/// Digits in a watch grid (4 × 4).
pub const WATCH_DIGITS: usize = 16;
/// The seed of the watch grid's noise, the same all run long.
pub const WATCH_SEED: u64 = 1;
/// Steps of the watch grid's sampler (DDIM for ε and v, Euler for flow matching).
pub const WATCH_STEPS: usize = 20;
/// Guidance of the watch grid.
pub const WATCH_GUIDANCE: f32 = 3.0;

/// A run's averaged weights after a step, with what saving them needs.
pub struct Averaged<'a> {
    /// The run's settings.
    pub config: &'a TrainConfig,
    /// The averaged weights.
    pub ema: &'a Ema,
    /// Every step's loss so far.
    pub losses: &'a [f32],
    /// Wall time of the run so far.
    pub elapsed_secs: f64,
}

impl Averaged<'_> {
    /// The weights as a checkpoint's bytes, its metadata saying how many steps made it.
    pub fn checkpoint_bytes(&self) -> Result<Vec<u8>, TrainError> {
        let tensors = self.ema.tensors().map(|(name, t)| (name.to_owned(), t));
        let bytes = safetensors::tensor::serialize(tensors, Some(self.metadata()))
            .map_err(|e| candle_core::Error::Msg(format!("cannot serialise the weights: {e}")))?;
        Ok(bytes)
    }

    /// Writes the weights as a checkpoint at `path` (atomically), which the Reverse view and
    /// `diffuscope sample --model PATH` open.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let tensors = self.ema.tensors().map(|(name, t)| (name.to_owned(), t));
        write_safetensors(path, tensors, self.metadata())
    }

    /// The weights as a model on the CPU.
    pub fn model(&self) -> Result<DiffusionModel, WatchError> {
        let bytes = self.checkpoint_bytes()?;
        Ok(diffusion_model_from_bytes(
            Path::new("training"),
            &bytes,
            &Device::Cpu,
        )?)
    }

    fn metadata(&self) -> std::collections::HashMap<String, String> {
        let done = TrainConfig {
            steps: self.losses.len(),
            ..self.config.clone()
        };
        checkpoint_metadata(&done, final_loss(self.losses), self.elapsed_secs)
    }
}

/// Why the watch grid could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The weights could not be saved or read back.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The weights did not make a model.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The model cannot make the run.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// Sampling failed.
    #[error(transparent)]
    Sample(#[from] SampleError),
}

impl WatchError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match self {
            Self::Train(error) => error.sentence(lang),
            Self::Checkpoint(error) => error.sentence(lang),
            Self::Prepare(error) => error.sentence(lang),
            Self::Sample(error) => error.sentence(lang),
        }
    }
}

/// The sampler of the watch grid for a model of `objective`: few steps and deterministic, so the
/// grid changes only because the weights do.
pub fn watch_sampler(objective: Objective) -> SamplerSpec {
    let kind = match objective {
        Objective::Flow => SamplerKind::FlowEuler,
        Objective::Eps | Objective::V | Objective::X0 => SamplerKind::Ddim,
    };
    SamplerSpec::new(kind, WATCH_STEPS)
}

/// [`WATCH_DIGITS`] digits drawn by `model` from the noise of [`WATCH_SEED`], sample k asking for
/// digit k mod 10 at guidance [`WATCH_GUIDANCE`]: the grid a run is watched by.
pub fn watch_grid(model: &DiffusionModel) -> Result<Vec<f32>, WatchError> {
    let traits = ModelTraits::of(&model.info)?;
    let settings = traits.prepare(RunSettings {
        sampler: watch_sampler(traits.objective),
        seed: WATCH_SEED,
        labels: (0..WATCH_DIGITS).map(|k| Some((k % 10) as u32)).collect(),
        guidance: WATCH_GUIDANCE,
    })?;
    Ok(sample(model, &settings, &mut |_| {
        std::ops::ControlFlow::Continue(())
    })?)
}

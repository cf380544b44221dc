//! Sampling: running a trained model backwards from noise to digits.
//!
//! Code map:
//! - [`guidance`]: classifier-free guidance, conditional and unconditional halves in one network call.
//! - [`run`]: [`sample`], the loop itself (written to be read by a student), reporting every step,
//!   and [`SamplingRun`], one run moved a network call at a time (so runs can take turns); the
//!   samplers it drives live in [`crate::diffusion::samplers`].
//! - [`prepare`]: a model and the user's [`RunSettings`] made into [`SampleSettings`], in one place
//!   for the worker, the command line and the bench.
//! - [`noise`]: the run's random draws, one stream per sample, so sample k of a seed does not
//!   depend on the batch size.
//! - [`grid`]: tiling a batch of samples into one picture; [`colormap`]: colours for signed ε̂.
//! - [`network`]: [`Denoiser`] for the candle [`DiffusionModel`](crate::model::DiffusionModel),
//!   and judging samples with the digit classifier.
//!
//! Invariant: everything here but [`network`] sees plain `f32` slices, never candle tensors, so the
//! loop can be tested with a fake network and its frames can cross the worker boundary as they are.

pub mod colormap;
pub mod grid;
pub mod guidance;
pub mod network;
pub mod noise;
pub mod prepare;
pub mod race;
pub mod run;
pub mod shape;

pub use grid::GridSpec;
pub use prepare::{ModelTraits, PrepareError, RunSettings};
pub use run::{
    GuidanceParts, RunStatus, SampleSettings, SamplingRun, StepFrame, sample, starting_noise,
};
pub use shape::ImageShape;

use crate::diffusion::samplers::PathPoint;
use crate::i18n::Lang;

/// The class id meaning "no class": the unconditional branch of classifier-free guidance.
pub use crate::model::NULL_CLASS;

/// A network that looks at noisy images and answers with its objective's prediction (ε, v or the
/// flow velocity, see [`crate::diffusion::objectives::Objective`]).
///
/// Images are single-channel, `height × width` values each, stored one after another.
pub trait Denoiser {
    /// The size of one image, (height, width).
    fn image_shape(&self) -> ImageShape;

    /// The network's output for a batch of `batch` noisy images `x_t` (`batch × height × width`
    /// values), each with its time input (`batch` values, see [`PathPoint::network_input`]) and class
    /// id (`batch` values, 0–9 or [`NULL_CLASS`]). Returns as many values as `x_t` has.
    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        classes: &[u32],
    ) -> Result<Vec<f32>, SampleError>;
}

/// Why a sampling run stopped early.
#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    /// The network could not run (for example, out of memory on the GPU).
    #[error("the network failed: {detail}")]
    Network {
        /// What the network library said, in English.
        detail: String,
    },
    /// The network gave an answer of the wrong size.
    #[error("the network returned {found} values instead of {expected}")]
    WrongOutputSize {
        /// Values expected (batch × height × width).
        expected: usize,
        /// Values returned.
        found: usize,
    },
    /// A value became NaN or infinite: sampling cannot go on. Its messages count steps from 1,
    /// as the captions and the window do.
    #[error("NaN or infinite values at step {} of {steps} ({point})", .step + 1)]
    NotFinite {
        /// The step index (0..steps) at which it happened.
        step: usize,
        /// The number of steps of the run.
        steps: usize,
        /// Where on the noise path that step was.
        point: PathPoint,
    },
    /// The caller asked the run to stop (the window's Stop button). Its messages count steps
    /// from 1.
    #[error("cancelled at step {}", .step + 1)]
    Cancelled {
        /// The step index (0..steps) at which it stopped, before its next network call.
        step: usize,
    },
}

impl SampleError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::Network { detail }, Lang::En) => {
                format!("The model could not run ({detail}).")
            }
            (Self::Network { detail }, Lang::Zh) => format!("模型无法运行（{detail}）。"),
            (Self::WrongOutputSize { expected, found }, Lang::En) => format!(
                "The model answered with {found} values instead of {expected}; it does not fit these images."
            ),
            (Self::WrongOutputSize { expected, found }, Lang::Zh) => {
                format!("模型输出了 {found} 个数值而不是 {expected} 个，它与这些图像不匹配。")
            }
            (Self::NotFinite { step, steps, point }, Lang::En) => format!(
                "Sampling stopped at step {} of {steps} ({point}): the model produced NaN or infinite values.",
                step + 1
            ),
            (Self::NotFinite { step, steps, point }, Lang::Zh) => format!(
                "采样在第 {} 步（共 {steps} 步，{point}）停止：模型产生了 NaN 或无穷大的数值。",
                step + 1
            ),
            (Self::Cancelled { step }, Lang::En) => {
                format!("Sampling was stopped at step {}.", step + 1)
            }
            (Self::Cancelled { step }, Lang::Zh) => format!("采样在第 {} 步被停止。", step + 1),
        }
    }
}

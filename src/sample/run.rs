//! The sampling loop: start from pure noise and let the model remove it, one step at a time.
//!
//! At every model evaluation the loop
//! 1. asks the network about the current noisy images x_t (with guidance, see [`super::guidance`]),
//! 2. turns its answer into the model's guess of the clean images x̂0 and of the noise ε̂
//!    ([`Objective::predict`]),
//! 3. reports the step (x_t, x̂0, ε̂) to whoever watches: a progress bar, or the window's frames,
//! 4. lets the sampler move x a little towards the image ([`crate::diffusion::samplers`]).
//!
//! Same seed, same model, same settings → bit-identical samples on the CPU: all randomness comes from
//! [`super::noise`], one stream for the start and one per step, each drawn per sample from (seed, k):
//! sample k of a seed starts from the same noise, and gets the same fresh noise at every step,
//! however many samples are made beside it.

use std::ops::ControlFlow;

use super::guidance::guided_output;
use super::noise::per_sample_noise;
use super::{Denoiser, SampleError};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::noise::NoiseStream;
use crate::diffusion::objectives::{Objective, Prediction};
use crate::diffusion::samplers::{PathPoint, SamplerSpec};

/// Everything that decides a run, besides the network.
#[derive(Clone, Debug)]
pub struct SampleSettings {
    /// What the network predicts.
    pub objective: Objective,
    /// The schedule the model was trained with. ε/v models use all of it; flow models only its T,
    /// which scales σ into the network's time input.
    pub schedule: NoiseSchedule,
    /// The sampler and its number of steps.
    pub sampler: SamplerSpec,
    /// The seed of every random draw of the run.
    pub seed: u64,
    /// One entry per image to make: the class it should be, or `None` for any digit.
    pub labels: Vec<Option<u32>>,
    /// Classifier-free guidance scale w (0 = unconditional, 1 = plain conditional).
    pub guidance: f32,
}

/// The noise the model sees with and without the class, when guidance mixed the two.
#[derive(Clone, Debug, PartialEq)]
pub struct GuidanceParts {
    /// ε̂ given each image's class.
    pub eps_conditional: Vec<f32>,
    /// ε̂ given "no class".
    pub eps_unconditional: Vec<f32>,
}

/// What the loop reports at each step.
#[derive(Clone, Copy, Debug)]
pub struct StepFrame<'a> {
    /// The step index, 0..`steps` (the order of the run, not the timestep).
    pub step: usize,
    /// The number of steps of the run.
    pub steps: usize,
    /// Where on the noise path the model looked.
    pub point: PathPoint,
    /// The noisy images the network looked at (batch × height × width values).
    pub x_t: &'a [f32],
    /// The model's guess of the clean images, ε̂ and v̂, from that look (after guidance).
    pub prediction: &'a Prediction,
    /// ε̂ with and without the class, when guidance mixed them.
    pub guidance: Option<&'a GuidanceParts>,
    /// Network calls made so far in this run, this one included (a guided call of 2B is one).
    pub network_calls: usize,
}

/// Runs the model from pure noise to images and returns them (batch × height × width values,
/// roughly in [−1, 1]).
///
/// `on_step` sees the first model evaluation of every step; returning [`ControlFlow::Break`] stops
/// the run with [`SampleError::Cancelled`] before the next network call. A NaN or infinite value
/// stops it with [`SampleError::NotFinite`], naming the step.
pub fn sample(
    denoiser: &dyn Denoiser,
    settings: &SampleSettings,
    on_step: &mut dyn FnMut(&StepFrame<'_>) -> ControlFlow<()>,
) -> Result<Vec<f32>, SampleError> {
    let (height, width) = denoiser.image_size();
    let (batch, pixels) = (settings.labels.len(), height * width);
    let mut sampler = settings.sampler.build(&settings.schedule);
    let steps = sampler.steps();
    let mut network_calls = 0;

    // x_T: pure Gaussian noise. Each image's noise depends only on the seed and its place k.
    let mut x = starting_noise(batch, pixels, settings.seed);

    while let Some(stage) = sampler.stage() {
        let not_finite = || SampleError::NotFinite {
            step: stage.step,
            steps,
            point: stage.point,
        };

        // 1–2. What does the model see in x_t?
        let output = guided_output(
            denoiser,
            &x,
            stage.point.network_input,
            &settings.labels,
            settings.guidance,
        )?;
        network_calls += 1;
        let at = stage.point.coefficients;
        let prediction = settings.objective.predict(&output.combined, &x, at);
        if !all_finite(&prediction.x0) || !all_finite(&prediction.eps) {
            return Err(not_finite());
        }

        // 3. Show what the model sees.
        if stage.begins_step {
            let guidance = output.halves.map(|halves| GuidanceParts {
                eps_conditional: settings.objective.predict(&halves.conditional, &x, at).eps,
                eps_unconditional: settings
                    .objective
                    .predict(&halves.unconditional, &x, at)
                    .eps,
            });
            let frame = StepFrame {
                step: stage.step,
                steps,
                point: stage.point,
                x_t: &x,
                prediction: &prediction,
                guidance: guidance.as_ref(),
                network_calls,
            };
            if on_step(&frame).is_break() {
                return Err(SampleError::Cancelled { step: stage.step });
            }
        }

        // 4. One move towards the image.
        let noise = stage.needs_noise.then(|| {
            per_sample_noise(
                batch,
                pixels,
                settings.seed,
                NoiseStream::SampleStep(stage.step),
            )
        });
        x = sampler.advance(&x, &prediction, noise.as_deref());
        if !all_finite(&x) {
            return Err(not_finite());
        }
    }
    Ok(x)
}

/// The pure noise x_T a run with `seed` starts from (`batch` images of `pixels` values): the window
/// shows it the moment Generate is pressed, before the model has answered.
pub fn starting_noise(batch: usize, pixels: usize, seed: u64) -> Vec<f32> {
    per_sample_noise(batch, pixels, seed, NoiseStream::SampleStart)
}

fn all_finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.is_finite())
}

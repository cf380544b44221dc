//! The sampling loop: start from pure noise and let the model remove it, one step at a time.
//!
//! At every step the loop
//! 1. asks the network about the current noisy images x_t (with guidance, see [`super::guidance`]),
//! 2. turns its answer into the model's guess of the clean images x̂0 and of the noise ε̂
//!    ([`Objective::predict`]),
//! 3. moves x_t a little towards x̂0: a DDPM step for ε/v models, an Euler step for flow models
//!    ([`crate::diffusion::ancestral`]),
//! 4. reports the step (x_t, x̂0, ε̂) to whoever watches: a progress bar, or the window's frames.
//!
//! Same seed, same model, same settings → bit-identical samples on the CPU: all randomness comes from
//! [`crate::diffusion::noise`], one stream for the start and one per step.

use std::ops::ControlFlow;

use super::guidance::guided_output;
use super::plan::{Timestep, plan};
use super::{Denoiser, SampleError};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::ancestral::{ddpm_step, euler_step};
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::diffusion::objectives::{Objective, Prediction};

/// Everything that decides a run, besides the network.
#[derive(Clone, Debug)]
pub struct SampleSettings {
    /// What the network predicts (it decides the sampler: DDPM for ε/v, Euler for flow).
    pub objective: Objective,
    /// The schedule the model was trained with. ε/v models use all of it; flow models only its T,
    /// which scales σ into the network's time input.
    pub schedule: NoiseSchedule,
    /// Number of steps (clamped to 1..=T for DDPM; at least 1 for Euler).
    pub steps: usize,
    /// The seed of every random draw of the run.
    pub seed: u64,
    /// One entry per image to make: the class it should be, or `None` for any digit.
    pub labels: Vec<Option<u32>>,
    /// Classifier-free guidance scale w (0 = unconditional, 1 = plain conditional).
    pub guidance: f32,
    /// Clip the guess x̂0 to the data range [−1, 1] before a DDPM step, as diffusers'
    /// `DDPMScheduler` does by default (`clip_sample=True`). Without it, strong guidance early in
    /// the run (where x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t divides by a tiny √ᾱ_t) drives digits to white.
    pub clip_x0: bool,
}

/// What the loop reports after each step.
#[derive(Clone, Copy, Debug)]
pub struct StepFrame<'a> {
    /// The step index, 0..`steps` (the order of the run, not the timestep).
    pub step: usize,
    /// The number of steps of the run.
    pub steps: usize,
    /// Where on the noise path this step started, and where it went.
    pub timestep: Timestep,
    /// The noisy images the network looked at (batch × height × width values).
    pub x_t: &'a [f32],
    /// The model's guess of the clean images, ε̂ and v̂, from that look.
    pub prediction: &'a Prediction,
}

/// Runs the model from pure noise to images and returns them (batch × height × width values,
/// roughly in [−1, 1]).
///
/// `on_step` sees every step; returning [`ControlFlow::Break`] stops the run with
/// [`SampleError::Cancelled`]. A NaN or infinite value stops it with [`SampleError::NotFinite`],
/// naming the step.
pub fn sample(
    denoiser: &dyn Denoiser,
    settings: &SampleSettings,
    on_step: &mut dyn FnMut(&StepFrame<'_>) -> ControlFlow<()>,
) -> Result<Vec<f32>, SampleError> {
    let (height, width) = denoiser.image_size();
    let len = settings.labels.len() * height * width;
    let schedule = &settings.schedule;
    let train_steps = schedule.steps();
    let steps = plan(settings.objective, train_steps, settings.steps);

    // x_T: pure Gaussian noise. Each image's noise depends only on its place in the batch.
    let mut x = standard_normal(len, settings.seed, NoiseStream::SampleStart);

    for (index, &timestep) in steps.iter().enumerate() {
        let not_finite = || SampleError::NotFinite {
            step: index,
            steps: steps.len(),
            timestep,
        };

        // 1–2. What does the model see in x_t?
        let output = guided_output(
            denoiser,
            &x,
            timestep.network_input(train_steps),
            &settings.labels,
            settings.guidance,
        )?;
        let mut prediction =
            settings
                .objective
                .predict(&output, &x, timestep.coefficients(schedule));
        if settings.clip_x0 && matches!(timestep, Timestep::Discrete { .. }) {
            prediction
                .x0
                .iter_mut()
                .for_each(|v| *v = v.clamp(-1.0, 1.0));
        }
        if !all_finite(&prediction.x0) || !all_finite(&prediction.eps) {
            return Err(not_finite());
        }

        // 3. One step towards the image.
        let next = match timestep {
            Timestep::Discrete { t, t_prev } => {
                let z = standard_normal(len, settings.seed, NoiseStream::SampleStep(index));
                ddpm_step(schedule, t, t_prev, &x, &prediction.x0, &z)
            }
            Timestep::Flow { sigma, sigma_next } => {
                euler_step(&x, &prediction.v, sigma, sigma_next)
            }
        };
        if !all_finite(&next) {
            return Err(not_finite());
        }

        // 4. Show what happened.
        let frame = StepFrame {
            step: index,
            steps: steps.len(),
            timestep,
            x_t: &x,
            prediction: &prediction,
        };
        if on_step(&frame).is_break() {
            return Err(SampleError::Cancelled { step: index + 1 });
        }
        x = next;
    }
    Ok(x)
}

fn all_finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.is_finite())
}

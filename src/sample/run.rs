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

use super::guidance::GuidedCall;
use super::noise::per_sample_noise;
use super::{Denoiser, ImageShape, SampleError};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::noise::NoiseStream;
use crate::diffusion::objectives::{Objective, Prediction};
use crate::diffusion::samplers::{PathPoint, Sampler, SamplerSpec};

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
    SamplingRun::new(settings.clone(), denoiser.image_shape()).finish(denoiser, on_step)
}

/// One run in progress: the noisy images x, the sampler's state and the settings. It moves one
/// network call at a time ([`SamplingRun::advance`]), so several runs can take turns on one
/// worker; a run's result does not depend on what ran between its calls.
pub struct SamplingRun {
    settings: SampleSettings,
    sampler: Box<dyn Sampler>,
    /// The current x_t (x_T before the first call, the image after the last).
    x: Vec<f32>,
    pixels: usize,
    network_calls: usize,
    /// The last step whose frame was shown (0 before any).
    shown_step: usize,
}

/// Where a run stands after a network call.
#[derive(Debug)]
pub enum RunStatus {
    /// More network calls are needed.
    Going,
    /// The run reached the image (batch × height × width values, roughly in [−1, 1]).
    Finished(Vec<f32>),
}

impl SamplingRun {
    /// A run at its start: x_T is pure Gaussian noise, each image's depending only on the seed and
    /// its place k. `image_shape` is (height, width) of one image.
    pub fn new(settings: SampleSettings, image_shape: ImageShape) -> Self {
        let pixels = image_shape.values();
        let sampler = settings.sampler.build(&settings.schedule, pixels);
        let x = starting_noise(settings.labels.len(), pixels, settings.seed);
        Self {
            settings,
            sampler,
            x,
            pixels,
            network_calls: 0,
            shown_step: 0,
        }
    }

    /// A run whose x_T is `start` instead of seeded noise (the playground's grid in the noise
    /// starts from the points of a mesh): as many values as x_T holds are taken from `start`; if
    /// it is shorter, the rest stay seeded noise.
    pub fn starting_from(settings: SampleSettings, image_shape: ImageShape, start: &[f32]) -> Self {
        let mut run = Self::new(settings, image_shape);
        let given = start.len().min(run.x.len());
        run.x[..given].copy_from_slice(&start[..given]);
        run
    }

    /// Runs to the end (as [`sample`] does) and returns the images.
    pub fn finish(
        mut self,
        denoiser: &dyn Denoiser,
        on_step: &mut dyn FnMut(&StepFrame<'_>) -> ControlFlow<()>,
    ) -> Result<Vec<f32>, SampleError> {
        loop {
            if let RunStatus::Finished(images) = self.advance(denoiser, on_step)? {
                return Ok(images);
            }
        }
    }

    /// The number of user-visible steps of the run.
    pub fn steps(&self) -> usize {
        self.sampler.steps()
    }

    /// The settings the run was made with.
    pub fn settings(&self) -> &SampleSettings {
        &self.settings
    }

    /// Network calls made so far.
    pub fn network_calls(&self) -> usize {
        self.network_calls
    }

    /// The last step whose frame `on_step` saw (0 before the first).
    pub fn shown_step(&self) -> usize {
        self.shown_step
    }

    /// One network call and the sampler's move after it: the whole of one turn of the loop.
    ///
    /// `on_step` sees the call when it begins a step; returning [`ControlFlow::Break`] ends the run
    /// with [`SampleError::Cancelled`].
    pub fn advance(
        &mut self,
        denoiser: &dyn Denoiser,
        on_step: &mut dyn FnMut(&StepFrame<'_>) -> ControlFlow<()>,
    ) -> Result<RunStatus, SampleError> {
        // 1. What does the model see in x_t? (Guidance asks with and without the class at once.)
        let Some(call) = self.next_call() else {
            return Ok(RunStatus::Finished(std::mem::take(&mut self.x)));
        };
        let output = denoiser.predict(&call.x, call.batch, &call.timestep_inputs, &call.classes)?;
        self.answer(&call, output, on_step)
    }

    /// The network call this turn needs, or `None` once x is the finished image. A worker may
    /// join the calls of several runs of one model into one network call.
    pub fn next_call(&self) -> Option<GuidedCall> {
        let stage = self.sampler.stage()?;
        let settings = &self.settings;
        Some(GuidedCall::new(
            &self.x,
            stage.point.network_input,
            &settings.labels,
            settings.guidance,
        ))
    }

    /// The number of images of [`Self::next_call`]'s call (0 once finished), without making it.
    pub fn next_call_images(&self) -> usize {
        if self.sampler.stage().is_none() {
            return 0;
        }
        GuidedCall::images(&self.settings.labels, self.settings.guidance)
    }

    /// The rest of the turn, given the network's answer `output` to `call` (from
    /// [`Self::next_call`]): the prediction, the frame shown, the sampler's move.
    pub fn answer(
        &mut self,
        call: &GuidedCall,
        output: Vec<f32>,
        on_step: &mut dyn FnMut(&StepFrame<'_>) -> ControlFlow<()>,
    ) -> Result<RunStatus, SampleError> {
        let Some(stage) = self.sampler.stage() else {
            return Ok(RunStatus::Finished(std::mem::take(&mut self.x)));
        };
        let settings = &self.settings;
        let (batch, steps) = (settings.labels.len(), self.sampler.steps());
        let not_finite = || SampleError::NotFinite {
            step: stage.step,
            steps,
            point: stage.point,
        };

        // 2. Its answer as the model's guess of x0 and of the noise.
        let output = call.answer(output)?;
        self.network_calls += 1;
        let at = stage.point.coefficients;
        let prediction = settings.objective.predict(&output.combined, &self.x, at);
        if !all_finite(&prediction.x0) || !all_finite(&prediction.eps) {
            return Err(not_finite());
        }

        // 3. Show what the model sees.
        if stage.begins_step {
            let guidance = output.halves.map(|halves| GuidanceParts {
                eps_conditional: settings
                    .objective
                    .predict(&halves.conditional, &self.x, at)
                    .eps,
                eps_unconditional: settings
                    .objective
                    .predict(&halves.unconditional, &self.x, at)
                    .eps,
            });
            let frame = StepFrame {
                step: stage.step,
                steps,
                point: stage.point,
                x_t: &self.x,
                prediction: &prediction,
                guidance: guidance.as_ref(),
                network_calls: self.network_calls,
            };
            self.shown_step = stage.step;
            if on_step(&frame).is_break() {
                return Err(SampleError::Cancelled { step: stage.step });
            }
        }

        // 4. One move towards the image.
        let noise = stage.needs_noise.then(|| {
            per_sample_noise(
                batch,
                self.pixels,
                settings.seed,
                NoiseStream::SampleStep(stage.step),
            )
        });
        self.x = self.sampler.advance(&self.x, &prediction, noise.as_deref());
        if !all_finite(&self.x) {
            return Err(not_finite());
        }
        Ok(match self.sampler.stage() {
            Some(_) => RunStatus::Going,
            None => RunStatus::Finished(std::mem::take(&mut self.x)),
        })
    }
}

/// The pure noise x_T a run with `seed` starts from (`batch` images of `pixels` values): the window
/// shows it the moment Generate is pressed, before the model has answered.
pub fn starting_noise(batch: usize, pixels: usize, seed: u64) -> Vec<f32> {
    per_sample_noise(batch, pixels, seed, NoiseStream::SampleStart)
}

fn all_finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.is_finite())
}

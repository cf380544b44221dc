//! DDPM ancestral sampling (Ho et al. 2020), step for step as diffusers' `DDPMScheduler` does it.
//!
//! From x_t, the model's guess x̂0 (clipped to [−1, 1] if asked) defines the Gaussian posterior
//! q(x_{t'} | x_t, x̂0) over the earlier image x_{t'} ([`Posterior`]); the step draws from it:
//! x_{t'} = c_x0·x̂0 + c_xt·x_t + std·z. The variance is β̃ (fixed-small) or β (fixed-large). As in
//! diffusers, noise is added at every step but the one from t = 1 (fixed-small's variance is floored
//! at 1e-20, so the last step of a strided run adds a negligible 1e-10·z).

use super::{DdpmVariance, PathPoint, Sampler, SamplerSpec, Stage, X0Guard};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::ancestral::Posterior;
use crate::diffusion::objectives::Prediction;

/// The smallest standard deviation diffusers lets a fixed-small step have (√ of its 1e-20 floor on
/// the variance).
const MIN_STD: f64 = 1e-10;

/// A DDPM run over the timesteps its spacing picks.
pub struct Ddpm {
    schedule: NoiseSchedule,
    timesteps: Vec<usize>,
    variance: DdpmVariance,
    guard: X0Guard,
    next: usize,
}

impl Ddpm {
    /// A run of `spec.steps` steps over `schedule`.
    pub fn new(schedule: &NoiseSchedule, spec: &SamplerSpec, guard: X0Guard) -> Self {
        Self {
            schedule: schedule.clone(),
            timesteps: spec.discrete_timesteps(schedule.steps()),
            variance: spec.variance,
            guard,
            next: 0,
        }
    }

    /// The timestep the step after `index` starts from, or 0 (the image) after the last.
    fn previous_timestep(&self, index: usize) -> usize {
        self.timesteps.get(index + 1).copied().unwrap_or(0)
    }

    /// The standard deviation of the fresh noise of the step from `t` to `t_prev`.
    fn noise_std(&self, posterior: &Posterior, t: usize, t_prev: usize) -> f64 {
        match self.variance {
            DdpmVariance::FixedSmall => posterior.std.max(MIN_STD),
            DdpmVariance::FixedLarge => {
                (1.0 - self.schedule.alpha_bar(t) / self.schedule.alpha_bar(t_prev)).sqrt()
            }
        }
    }
}

impl Sampler for Ddpm {
    fn steps(&self) -> usize {
        self.timesteps.len()
    }

    fn stage(&self) -> Option<Stage> {
        let t = *self.timesteps.get(self.next)?;
        Some(Stage {
            step: self.next,
            point: PathPoint::discrete(&self.schedule, t),
            begins_step: true,
            needs_noise: t > 1,
        })
    }

    fn advance(&mut self, x: &[f32], prediction: &Prediction, noise: Option<&[f32]>) -> Vec<f32> {
        let t = self.timesteps[self.next];
        let t_prev = self.previous_timestep(self.next);
        self.next += 1;

        let limited: Option<Vec<f32>> = self
            .guard
            .limited(&prediction.x0)
            .map(|x0| x0.into_iter().map(|v| v as f32).collect());
        let x0 = limited.as_deref().unwrap_or(&prediction.x0);
        let posterior = Posterior::new(&self.schedule, t, t_prev);
        let std = self.noise_std(&posterior, t, t_prev);
        posterior.sample(std, x, x0, noise)
    }
}

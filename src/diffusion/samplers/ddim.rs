//! DDIM (Song, Meng & Ermon 2021), step for step as diffusers' `DDIMScheduler` does it.
//!
//! DDIM reads the model's two guesses at x_t, the clean image x̂0 and the noise ε̂, and rebuilds the
//! image at the earlier timestep t' from them with the weights of t':
//!
//! > x_{t'} = √ᾱ_{t'}·x̂0 + √(1 − ᾱ_{t'} − σ²)·ε̂ + σ·z,  σ = η·√((1 − ᾱ_{t'})/(1 − ᾱ_t)·(1 − ᾱ_t/ᾱ_{t'})).
//!
//! With η = 0 (the default) no fresh noise is added: the whole run is a deterministic function of the
//! starting noise, and it can take large strides (50 steps instead of 1000). With η = 1 the noise has
//! the DDPM posterior's variance, and DDIM becomes DDPM. η must lie in [0, 1].
//!
//! When x̂0 is clipped to [−1, 1], ε̂ is worked out again from the clipped x̂0 (diffusers'
//! `use_clipped_model_output=True`), so that the two guesses still add up to x_t; diffusers'
//! default, keeping the model's ε̂, is there too (`DiffusersOptions::eps_from_clipped_x0`).
//!
//! One difference from diffusers: `DDIMScheduler` steps from t to t − ⌊T/n⌋ whatever the spacing,
//! which with "linspace" spacing (where the timesteps are ⌊(T − 1)/(n − 1)⌉ apart) lands x on a
//! different noise level than the next timestep the model is told. Here every step goes to the next
//! timestep of the list (as diffusers' `DDPMScheduler` does); with "leading" and "trailing" spacing
//! and n dividing T the two agree. diffusers' rule is there too (`DdimStep::Diffusers`), with its
//! `steps_offset` and `set_alpha_to_one = false`, for models trained elsewhere.

use super::{DdimStep, PathPoint, Sampler, SamplerSpec, Stage, X0Guard, guesses};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::ancestral::Posterior;
use crate::diffusion::objectives::Prediction;

/// A DDIM run over the timesteps its spacing picks.
pub struct Ddim {
    schedule: NoiseSchedule,
    timesteps: Vec<usize>,
    /// ⌊T/n⌋, the stride of diffusers' rule.
    stride: usize,
    step_rule: DdimStep,
    eps_from_clipped_x0: bool,
    /// Where the last step lands: 0 (ᾱ = 1) or 1 (the first training timestep's ᾱ).
    final_timestep: usize,
    eta: f64,
    guard: X0Guard,
    next: usize,
}

impl Ddim {
    /// A run of `spec.steps` steps over `schedule`, with `spec.eta`'s amount of fresh noise.
    pub fn new(schedule: &NoiseSchedule, spec: &SamplerSpec, guard: X0Guard) -> Self {
        Self {
            schedule: schedule.clone(),
            timesteps: spec.discrete_timesteps(schedule.steps()),
            stride: schedule.steps() / spec.steps.clamp(1, schedule.steps().max(1)),
            step_rule: spec.diffusers.ddim_step,
            eps_from_clipped_x0: spec.diffusers.eps_from_clipped_x0,
            final_timestep: usize::from(!spec.diffusers.set_alpha_to_one),
            eta: spec.eta,
            guard,
            next: 0,
        }
    }

    /// The timestep the step at `index` goes to: the next of the list (or t − ⌊T/n⌋ under
    /// diffusers' rule), or, past the first training timestep, the final one.
    fn previous_timestep(&self, index: usize) -> usize {
        let next = match self.step_rule {
            DdimStep::NextListed => self.timesteps.get(index + 1).copied(),
            DdimStep::Diffusers => self.timesteps[index]
                .checked_sub(self.stride)
                .filter(|&t| t >= 1),
        };
        next.unwrap_or(self.final_timestep)
    }

    /// The standard deviation σ of the fresh noise of the step from `t` to `t_prev`.
    /// η times the DDPM posterior's (fixed-small) standard deviation.
    fn noise_std(&self, t: usize, t_prev: usize) -> f64 {
        self.eta * Posterior::new(&self.schedule, t, t_prev).std
    }
}

impl Sampler for Ddim {
    fn steps(&self) -> usize {
        self.timesteps.len()
    }

    fn stage(&self) -> Option<Stage> {
        let t = *self.timesteps.get(self.next)?;
        Some(Stage {
            step: self.next,
            point: PathPoint::discrete(&self.schedule, t),
            begins_step: true,
            needs_noise: self.noise_std(t, self.previous_timestep(self.next)) > 0.0,
        })
    }

    fn advance(&mut self, x: &[f32], prediction: &Prediction, noise: Option<&[f32]>) -> Vec<f32> {
        let t = self.timesteps[self.next];
        let t_prev = self.previous_timestep(self.next);
        self.next += 1;

        let at = PathPoint::discrete(&self.schedule, t).coefficients;
        let (x0, mut eps) = guesses(x, prediction, at, self.guard);
        if !self.eps_from_clipped_x0 {
            eps = prediction.eps.iter().map(|&e| f64::from(e)).collect();
        }
        let alpha_bar_prev = self.schedule.alpha_bar(t_prev);
        let std = noise.map_or(0.0, |_| self.noise_std(t, t_prev));
        let x0_weight = alpha_bar_prev.sqrt();
        let eps_weight = (1.0 - alpha_bar_prev - std * std).max(0.0).sqrt();
        let z = |i: usize| noise.map_or(0.0, |z| f64::from(z[i]));
        (0..x.len())
            .map(|i| (x0_weight * x0[i] + eps_weight * eps[i] + std * z(i)) as f32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::objectives::Objective;
    use crate::diffusion::samplers::SamplerKind;
    use crate::diffusion::samplers::testing::linear_schedule;

    #[test]
    fn clipping_keeps_the_models_noise_guess_only_when_asked() {
        let schedule = linear_schedule();
        let step = |eps_from_clipped_x0: bool| {
            let mut spec = SamplerSpec::new(SamplerKind::Ddim, 4);
            spec.diffusers.eps_from_clipped_x0 = eps_from_clipped_x0;
            let mut ddim = Ddim::new(&schedule, &spec, X0Guard::new(&spec, 1));
            let Some(stage) = ddim.stage() else {
                panic!("a run of 4 steps has a first stage")
            };
            let at = stage.point.coefficients;
            // x̂0 = 3 lies outside [−1, 1]: clipped to 1 either way.
            let x = [(at.signal * 3.0 + at.noise * 0.5) as f32];
            let prediction = Objective::Eps.predict(&[0.5], &x, at);
            ddim.advance(&x, &prediction, None)[0]
        };
        // With ε̂ kept, x̂0 = 1 and ε̂ = 0.5 no longer add up to x_t: the step lands elsewhere.
        assert!((step(true) - step(false)).abs() > 1e-3);
    }

    #[test]
    fn noise_is_asked_for_only_when_eta_is_positive() {
        let schedule = linear_schedule();
        let mut spec = SamplerSpec::new(SamplerKind::Ddim, 10);
        let deterministic = Ddim::new(&schedule, &spec, X0Guard::new(&spec, 1));
        assert_eq!(deterministic.stage().map(|s| s.needs_noise), Some(false));
        spec.eta = 1.0;
        let mut stochastic = Ddim::new(&schedule, &spec, X0Guard::new(&spec, 1));
        let mut asked = Vec::new();
        while let Some(stage) = stochastic.stage() {
            asked.push(stage.needs_noise);
            let zeros = vec![0.0; 2];
            let prediction = Objective::Eps.predict(&zeros, &zeros, stage.point.coefficients);
            stochastic.advance(&zeros, &prediction, None);
        }
        // Every step but the last (to t = 0, where the variance is 0) adds noise.
        assert_eq!(asked.len(), 10);
        assert!(asked[..9].iter().all(|&a| a) && !asked[9]);
    }
}

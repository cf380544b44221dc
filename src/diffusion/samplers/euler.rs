//! Euler's method on the probability-flow ODE (Karras et al. 2022), step for step as diffusers'
//! `EulerDiscreteScheduler` does it for ε- and v-models.
//!
//! Divide x = a·x0 + s·ε by a and the path becomes X = x/a = x0 + σ·ε, with σ = s/a (the
//! noise-to-signal ratio; Karras et al.'s "variance-exploding" picture). Along it the ODE is simply
//! dX/dσ = ε̂: the noise the model sees is the direction to move in. Euler takes one straight step
//! per model evaluation,
//!
//! > X_{σ'} = X_σ + (σ' − σ)·ε̂,
//!
//! down to σ = 0, the image. This program keeps x in the model's own scale (x = a·X) and asks the
//! model at exactly the points diffusers does; frames therefore show the same x_t as everywhere
//! else.
//!
//! diffusers' default spacing, "linspace", spreads n timesteps evenly over 0..T−1 *without* rounding
//! them, so the model may be asked at t = 857.1: σ there is interpolated linearly between the σ of
//! the two neighbouring timesteps, and the network is told the fractional t. "leading" and
//! "trailing" give whole timesteps, as for the other samplers ([`Spacing`]).
//!
//! Two things of diffusers' pipelines are not part of the step and are not copied: its starting noise
//! is scaled by σ_max (not √(σ_max² + 1)) for "linspace" and "trailing", a difference of a few parts
//! in 10⁵ here; and x̂0 is never clipped there (this program clips it if asked, taking ε̂ from the
//! clipped x̂0, as diffusers' Heun does).

use super::sigma_ramp::sigma_to_index;
use super::{
    FinalSigma, MIN_ALPHA_BAR, PathPoint, Position, Sampler, SamplerSpec, Spacing, Stage, X0Guard,
    guesses,
};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::objectives::{Coefficients, Prediction};

/// A place on the path and its noise-to-signal ratio σ = s/a.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// Where the model is asked (or, for the last level, the image: σ = 0).
    pub point: PathPoint,
    /// σ = s/a there.
    pub sigma: f64,
}

impl Level {
    /// The level at timestep `t` (our convention, 1..=T, possibly fractional), with σ interpolated
    /// linearly between whole timesteps as diffusers' `np.interp` does.
    pub fn at_timestep(schedule: &NoiseSchedule, t: f64) -> Self {
        let low = (t.floor() as usize).clamp(1, schedule.steps());
        let weight = t - low as f64;
        let sigma = if weight > 0.0 && low < schedule.steps() {
            (1.0 - weight) * sigma_at(schedule, low) + weight * sigma_at(schedule, low + 1)
        } else {
            sigma_at(schedule, low)
        };
        Self::at(sigma, t)
    }

    /// The level of noise-to-signal ratio `sigma`, where the network is told timestep `t`.
    fn at(sigma: f64, t: f64) -> Self {
        let signal = 1.0 / sigma.mul_add(sigma, 1.0).sqrt();
        Self {
            point: PathPoint {
                coefficients: Coefficients {
                    signal,
                    noise: sigma * signal,
                },
                network_input: t as f32,
                position: Position::Timestep(t),
            },
            sigma,
        }
    }

    /// The image itself: σ = 0, a = 1, s = 0.
    pub fn image() -> Self {
        Self {
            point: PathPoint {
                coefficients: Coefficients {
                    signal: 1.0,
                    noise: 0.0,
                },
                network_input: 0.0,
                position: Position::Timestep(0.0),
            },
            sigma: 0.0,
        }
    }

    /// The levels of a run of diffusers' Euler and Heun schedulers: `spec.steps` steps (clamped
    /// to 1..=T) spread by `spec.spacing`, "leading" ones moved by `steps_offset`, followed by
    /// the image.
    pub fn run(schedule: &NoiseSchedule, spec: &SamplerSpec) -> Vec<Self> {
        let levels = Self::at_spacing(schedule, spec);
        let options = &spec.diffusers;
        let (Some(first), Some(last)) = (levels.first(), levels.last()) else {
            return vec![Self::image()];
        };
        let (min, max) = options.sigma_bounds;
        let ramp = options.sigma_ramp.sigmas(
            max.unwrap_or(first.sigma),
            min.unwrap_or(last.sigma),
            levels.len(),
        );
        let levels = match ramp {
            None => levels,
            Some(sigmas) => {
                let log_sigmas = log_sigmas(schedule);
                sigmas
                    .into_iter()
                    .map(|sigma| Self::at(sigma, sigma_to_index(sigma, &log_sigmas) + 1.0))
                    .collect()
            }
        };
        levels.into_iter().chain([Self::image()]).collect()
    }

    /// The levels at the timesteps of `spec`'s spacing (the image not included).
    fn at_spacing(schedule: &NoiseSchedule, spec: &SamplerSpec) -> Vec<Self> {
        let (spacing, train_steps) = (spec.spacing, schedule.steps());
        let n = spec.steps.clamp(1, train_steps);
        let offset = match spacing {
            Spacing::Leading => spec.diffusers.steps_offset,
            Spacing::Trailing | Spacing::Linspace => 0,
        };
        let timesteps: Vec<f64> = match spacing {
            // np.linspace(0, T − 1, n), not rounded, shifted to our t = index + 1.
            Spacing::Linspace => (0..n)
                .rev()
                .map(|k| {
                    let fraction = if n == 1 {
                        0.0
                    } else {
                        k as f64 / (n - 1) as f64
                    };
                    (train_steps - 1) as f64 * fraction + 1.0
                })
                .collect(),
            Spacing::Leading | Spacing::Trailing => spacing
                .timesteps(train_steps, n)
                .into_iter()
                .map(|t| (t + offset).min(train_steps) as f64)
                .collect(),
        };
        timesteps
            .into_iter()
            .map(|t| Self::at_timestep(schedule, t))
            .collect()
    }
}

/// σ = s/a at whole timestep `t`, ᾱ held at 2⁻²⁴ or above as diffusers' Euler does.
fn sigma_at(schedule: &NoiseSchedule, t: usize) -> f64 {
    let alpha_bar = schedule.alpha_bar(t).max(MIN_ALPHA_BAR);
    ((1.0 - alpha_bar) / alpha_bar).sqrt()
}

/// ln σ of timesteps 1..=T, increasing (diffusers' `log_sigmas`).
pub fn log_sigmas(schedule: &NoiseSchedule) -> Vec<f64> {
    (1..=schedule.steps())
        .map(|t| sigma_at(schedule, t).ln())
        .collect()
}

/// One Euler step in x's own scale: x_{σ'} = a'·(x/a + (σ' − σ)·d), for the derivative d = ε̂.
pub fn euler_move(x: &[f32], derivative: &[f64], from: &Level, to: &Level) -> Vec<f64> {
    let a = from.point.coefficients.signal;
    let dt = to.sigma - from.sigma;
    x.iter()
        .zip(derivative)
        .map(|(&x, &d)| f64::from(x) / a + dt * d)
        .collect()
}

/// A run of Euler steps over the levels of diffusers' `EulerDiscreteScheduler`.
pub struct Euler {
    levels: Vec<Level>,
    guard: X0Guard,
    next: usize,
}

impl Euler {
    /// A run of `spec.steps` steps over `schedule`, spread by `spec.spacing`; the last one lands
    /// on the image, or with `FinalSigma::SigmaMin` on the first training timestep's σ.
    pub fn new(schedule: &NoiseSchedule, spec: &SamplerSpec, guard: X0Guard) -> Self {
        let mut levels = Level::run(schedule, spec);
        if spec.diffusers.final_sigma == FinalSigma::SigmaMin
            && let Some(last) = levels.last_mut()
        {
            *last = Level::at_timestep(schedule, 1.0);
        }
        Self {
            levels,
            guard,
            next: 0,
        }
    }
}

impl Sampler for Euler {
    fn steps(&self) -> usize {
        self.levels.len() - 1
    }

    fn stage(&self) -> Option<Stage> {
        (self.next < self.steps()).then(|| Stage {
            step: self.next,
            point: self.levels[self.next].point,
            begins_step: true,
            needs_noise: false,
        })
    }

    fn advance(&mut self, x: &[f32], prediction: &Prediction, _noise: Option<&[f32]>) -> Vec<f32> {
        let (from, to) = (self.levels[self.next], self.levels[self.next + 1]);
        self.next += 1;
        let (_, eps) = guesses(x, prediction, from.point.coefficients, self.guard);
        let a = to.point.coefficients.signal;
        euler_move(x, &eps, &from, &to)
            .into_iter()
            .map(|big_x| (a * big_x) as f32)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::samplers::testing::linear_schedule;

    #[test]
    fn linspace_asks_at_fractional_timesteps_with_interpolated_sigmas() {
        let schedule = linear_schedule();
        let spec = SamplerSpec {
            spacing: Spacing::Linspace,
            ..SamplerSpec::new(super::super::SamplerKind::Euler, 8)
        };
        let levels = Level::run(&schedule, &spec);
        assert_eq!(levels.len(), 9);
        // np.linspace(0, 999, 8)[6] = 142.714…, our t = 143.714…
        let t = 999.0 / 7.0 + 1.0;
        assert!(
            matches!(levels[6].point.position, Position::Timestep(t6) if (t6 - t).abs() < 1e-9),
            "{:?}",
            levels[6].point.position
        );
        let sigma = |t: usize| (1.0 / schedule.alpha_bar(t) - 1.0).sqrt();
        let w = t.fract();
        let expected = (1.0 - w) * sigma(143) + w * sigma(144);
        assert!((levels[6].sigma - expected).abs() < 1e-12);
        let at = levels[6].point.coefficients;
        assert!((at.signal.powi(2) + at.noise.powi(2) - 1.0).abs() < 1e-12);
        assert!((at.noise / at.signal - expected).abs() < 1e-12);
        // Whole timesteps keep the schedule's own weights.
        let whole = Level::at_timestep(&schedule, 500.0).point.coefficients;
        assert!((whole.signal - schedule.signal_scale(500)).abs() < 1e-12);
        assert_eq!(levels[0].point.network_input, 1000.0);
        assert_eq!(levels[8], Level::image());
    }
}

//! Heun's method on the probability-flow ODE (Karras et al. 2022), step for step as diffusers'
//! `HeunDiscreteScheduler` does it for ε- and v-models.
//!
//! Heun is Euler with a correction: in the picture X = x/a = x0 + σ·ε of [`super::euler`], it first
//! takes an Euler step from σ to σ' with the slope d = ε̂ seen at σ, asks the model again at the
//! point it reached, and then redoes the step from σ with the *average* of the two slopes:
//!
//! > X̃ = X_σ + (σ' − σ)·d,   X_{σ'} = X_σ + (σ' − σ)·(d + d̃)/2,
//!
//! where d̃ is ε̂ seen at X̃. Two model evaluations per step buy second-order accuracy: the error of
//! a step shrinks with the cube of its size instead of the square. The last step, to σ = 0, is a
//! plain Euler step (one evaluation), as in diffusers, so n steps cost 2n − 1 evaluations. A frame
//! shows the first evaluation of each step.
//!
//! The steps visit the same levels as [`super::euler::Euler`] (fractional timesteps for
//! "linspace" spacing). x̂0 is clipped to [−1, 1] if asked (diffusers' `clip_sample`), and the slope
//! is then taken from the clipped x̂0.

use super::euler::{Level, euler_move};
use super::{Sampler, SamplerSpec, Stage, X0Guard, guesses};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::objectives::Prediction;

/// What the first half of a Heun step leaves for the second.
struct FirstHalf {
    /// X = x/a where the step began.
    start: Vec<f64>,
    /// The slope seen there.
    slope: Vec<f64>,
}

/// A run of Heun steps over the levels of diffusers' `HeunDiscreteScheduler`.
pub struct Heun {
    levels: Vec<Level>,
    guard: X0Guard,
    next: usize,
    first_half: Option<FirstHalf>,
}

impl Heun {
    /// A run of `spec.steps` steps over `schedule`, spread by `spec.spacing`.
    pub fn new(schedule: &NoiseSchedule, spec: &SamplerSpec, guard: X0Guard) -> Self {
        Self {
            levels: Level::run(schedule, spec),
            guard,
            next: 0,
            first_half: None,
        }
    }
}

impl Sampler for Heun {
    fn steps(&self) -> usize {
        self.levels.len() - 1
    }

    fn stage(&self) -> Option<Stage> {
        if self.next >= self.steps() {
            return None;
        }
        let correcting = self.first_half.is_some();
        let level = if correcting {
            self.levels[self.next + 1]
        } else {
            self.levels[self.next]
        };
        Some(Stage {
            step: self.next,
            point: level.point,
            begins_step: !correcting,
            needs_noise: false,
        })
    }

    fn advance(&mut self, x: &[f32], prediction: &Prediction, _noise: Option<&[f32]>) -> Vec<f32> {
        let (from, to) = (self.levels[self.next], self.levels[self.next + 1]);
        let a = to.point.coefficients.signal;
        let moved = if let Some(FirstHalf { start, slope }) = self.first_half.take() {
            // Second half: the slope at the Euler guess, averaged with the first one.
            let (_, eps) = guesses(x, prediction, to.point.coefficients, self.guard);
            self.next += 1;
            let dt = to.sigma - from.sigma;
            start
                .iter()
                .zip(&slope)
                .zip(&eps)
                .map(|((&big_x, &d), &d_tilde)| big_x + dt * (d + d_tilde) / 2.0)
                .collect()
        } else {
            let (_, eps) = guesses(x, prediction, from.point.coefficients, self.guard);
            let guess = euler_move(x, &eps, &from, &to);
            if self.next + 1 == self.steps() {
                // The last step, to the image, stays first-order.
                self.next += 1;
            } else {
                let start = x
                    .iter()
                    .map(|&x| f64::from(x) / from.point.coefficients.signal)
                    .collect();
                self.first_half = Some(FirstHalf { start, slope: eps });
            }
            guess
        };
        moved.into_iter().map(|big_x| (a * big_x) as f32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::objectives::Objective;
    use crate::diffusion::samplers::SamplerKind;
    use crate::diffusion::samplers::testing::linear_schedule;

    #[test]
    fn every_step_but_the_last_asks_twice() {
        let schedule = linear_schedule();
        let spec = SamplerSpec::new(SamplerKind::Heun, 4);
        let mut heun = Heun::new(&schedule, &spec, X0Guard::new(&spec, 1));
        let mut stages = Vec::new();
        while let Some(stage) = heun.stage() {
            stages.push((stage.step, stage.begins_step, stage.point.network_input));
            let x = vec![0.5_f32; 3];
            let prediction = Objective::Eps.predict(&x, &x, stage.point.coefficients);
            heun.advance(&x, &prediction, None);
        }
        assert_eq!(
            stages,
            [
                (0, true, 1000.0),
                (0, false, 750.0),
                (1, true, 750.0),
                (1, false, 500.0),
                (2, true, 500.0),
                (2, false, 250.0),
                (3, true, 250.0),
            ]
        );
    }
}

//! Heun steps along the straight path of a flow-matching model (diffusers'
//! `FlowMatchHeunDiscreteScheduler`, given the same σ as [`super::flow_euler`]).
//!
//! A flow model predicts the velocity u = dx/dσ of the path x_σ = (1 − σ)·x0 + σ·ε. Heun first takes
//! an Euler step with the velocity u seen at σ, asks the model again at the point it reached, and
//! redoes the step from σ with the average of the two velocities:
//!
//! > x̃ = x_σ + (σ' − σ)·u,   x_{σ'} = x_σ + (σ' − σ)·(u + ũ)/2.
//!
//! If the model's paths were really straight, u and ũ would agree and Heun would change nothing;
//! where they bend, the average follows the bend to second order. The last step, to σ = 0, is a
//! plain Euler step, as in diffusers, so n steps cost 2n − 1 evaluations; a frame shows the first
//! evaluation of each step. σ runs over 1 − k/n, k = 0..n.

use super::{PathPoint, Sampler, Stage};
use crate::diffusion::objectives::Prediction;

/// A flow Heun run of n steps.
pub struct FlowHeun {
    train_steps: usize,
    sigmas: Vec<f64>,
    next: usize,
    /// x where the current step began, and the velocity seen there, between its two evaluations.
    first_half: Option<(Vec<f64>, Vec<f64>)>,
}

impl FlowHeun {
    /// A run over `sigmas` (from 1 down to 0, at least two) for a model whose time input is
    /// T·σ with T = `train_steps`.
    pub fn new(train_steps: usize, sigmas: Vec<f64>) -> Self {
        Self {
            train_steps,
            sigmas,
            next: 0,
            first_half: None,
        }
    }
}

impl Sampler for FlowHeun {
    fn steps(&self) -> usize {
        self.sigmas.len() - 1
    }

    fn stage(&self) -> Option<Stage> {
        if self.next >= self.steps() {
            return None;
        }
        let correcting = self.first_half.is_some();
        let sigma = self.sigmas[self.next + usize::from(correcting)];
        Some(Stage {
            step: self.next,
            point: PathPoint::flow(sigma, self.train_steps),
            begins_step: !correcting,
            needs_noise: false,
        })
    }

    fn advance(&mut self, x: &[f32], prediction: &Prediction, _noise: Option<&[f32]>) -> Vec<f32> {
        let dt = self.sigmas[self.next + 1] - self.sigmas[self.next];
        let velocity = prediction.v.iter().map(|&u| f64::from(u));
        if let Some((start, first)) = self.first_half.take() {
            self.next += 1;
            start
                .iter()
                .zip(&first)
                .zip(velocity)
                .map(|((&x, &u), u_tilde)| (x + dt * (u + u_tilde) / 2.0) as f32)
                .collect()
        } else {
            let start: Vec<f64> = x.iter().map(|&x| f64::from(x)).collect();
            let first: Vec<f64> = velocity.collect();
            let guess = start
                .iter()
                .zip(&first)
                .map(|(&x, &u)| (x + dt * u) as f32)
                .collect();
            if self.next + 1 == self.steps() {
                // The last step, to the image, stays first-order.
                self.next += 1;
            } else {
                self.first_half = Some((start, first));
            }
            guess
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::objectives::Objective;

    #[test]
    fn every_step_but_the_last_asks_twice() {
        let mut heun = FlowHeun::new(1000, crate::diffusion::ancestral::flow_sigmas(3));
        let mut asked = Vec::new();
        while let Some(stage) = heun.stage() {
            asked.push((stage.step, stage.begins_step, stage.point.network_input));
            let x = vec![0.5_f32; 2];
            let prediction = Objective::Flow.predict(&x, &x, stage.point.coefficients);
            heun.advance(&x, &prediction, None);
        }
        let after_one = (1000.0_f64 * (1.0 - 1.0 / 3.0)) as f32;
        let after_two = (1000.0_f64 * (1.0 - 2.0 / 3.0)) as f32;
        assert_eq!(
            asked,
            [
                (0, true, 1000.0),
                (0, false, after_one),
                (1, true, after_one),
                (1, false, after_two),
                (2, true, after_two),
            ]
        );
    }
}

//! Euler steps along the straight path of a flow-matching model (diffusers'
//! `FlowMatchEulerDiscreteScheduler` with the sigmas given).
//!
//! The model predicts the velocity u = ε − x0 of the straight line x_σ = (1 − σ)·x0 + σ·ε; the
//! sampler follows it, x_{σ'} = x_σ + (σ' − σ)·u, over σ_k = 1 − k/n (pure noise to the image),
//! or over diffusers' own σ's (`FlowSigmas::Diffusers`).

use super::{PathPoint, Sampler, Stage};
use crate::diffusion::ancestral::euler_step;
use crate::diffusion::objectives::Prediction;

/// A flow Euler run of n steps.
pub struct FlowEuler {
    train_steps: usize,
    sigmas: Vec<f64>,
    next: usize,
}

impl FlowEuler {
    /// A run over `sigmas` (from 1 down to 0, at least two) for a model whose time input is
    /// T·σ with T = `train_steps`.
    pub fn new(train_steps: usize, sigmas: Vec<f64>) -> Self {
        Self {
            train_steps,
            sigmas,
            next: 0,
        }
    }
}

impl Sampler for FlowEuler {
    fn steps(&self) -> usize {
        self.sigmas.len() - 1
    }

    fn stage(&self) -> Option<Stage> {
        (self.next < self.steps()).then(|| Stage {
            step: self.next,
            point: PathPoint::flow(self.sigmas[self.next], self.train_steps),
            begins_step: true,
            needs_noise: false,
        })
    }

    fn advance(&mut self, x: &[f32], prediction: &Prediction, _noise: Option<&[f32]>) -> Vec<f32> {
        let (sigma, sigma_next) = (self.sigmas[self.next], self.sigmas[self.next + 1]);
        self.next += 1;
        euler_step(x, &prediction.v, sigma, sigma_next)
    }
}

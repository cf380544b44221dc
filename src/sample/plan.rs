//! The plan of a run: which points of the noise path it visits, from pure noise to the image.
//!
//! ε- and v-models walk the discrete timesteps t = T … 1 of their schedule with DDPM steps;
//! flow-matching models walk σ = 1 … 0 with Euler steps. The step *index* (0..n, the order of the
//! run) and the *timestep* t or σ (where on the path) are different things and named differently.

use std::fmt;

use crate::diffusion::NoiseSchedule;
use crate::diffusion::ancestral::{ddpm_timesteps, flow_sigmas};
use crate::diffusion::objectives::{Coefficients, Objective};

/// One step of a run: where it starts and where it goes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Timestep {
    /// A DDPM step of an ε- or v-model, from timestep `t` to the earlier `t_prev` (0 = the image).
    Discrete {
        /// Where the step starts, 1..=T.
        t: usize,
        /// Where it ends, 0..t.
        t_prev: usize,
    },
    /// An Euler step of a flow-matching model, from noise level `sigma` to `sigma_next` < `sigma`.
    Flow {
        /// Where the step starts, in (0, 1].
        sigma: f64,
        /// Where it ends, in [0, σ).
        sigma_next: f64,
    },
}

impl Timestep {
    /// The time input the network was trained with: t itself for ε/v models, and T·σ for flow
    /// models (the shipped flow models were given 1000·σ). `train_steps` is T.
    pub fn network_input(self, train_steps: usize) -> f32 {
        match self {
            Self::Discrete { t, .. } => t as f32,
            Self::Flow { sigma, .. } => (train_steps as f64 * sigma) as f32,
        }
    }

    /// The weights of x0 and ε in the x_t this step starts from.
    pub fn coefficients(self, schedule: &NoiseSchedule) -> Coefficients {
        match self {
            Self::Discrete { t, .. } => Coefficients::discrete(schedule, t),
            Self::Flow { sigma, .. } => Coefficients::flow(sigma),
        }
    }
}

impl fmt::Display for Timestep {
    /// "t = 880" or "σ = 0.420".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Discrete { t, .. } => write!(f, "t = {t}"),
            Self::Flow { sigma, .. } => write!(f, "σ = {sigma:.3}"),
        }
    }
}

/// The number of steps a run takes when none is asked for: every timestep (1000) for DDPM, 50
/// for the flow Euler sampler (straight paths need far fewer).
pub fn default_steps(objective: Objective, train_steps: usize) -> usize {
    match objective {
        Objective::Eps | Objective::V => train_steps,
        Objective::Flow => 50,
    }
}

/// The steps of a run of `steps` steps (at least 1; at most T for DDPM), in order.
pub fn plan(objective: Objective, train_steps: usize, steps: usize) -> Vec<Timestep> {
    match objective {
        Objective::Eps | Objective::V => {
            let ts = ddpm_timesteps(train_steps, steps);
            let t_prevs = ts.iter().skip(1).copied().chain([0]);
            ts.iter()
                .zip(t_prevs)
                .map(|(&t, t_prev)| Timestep::Discrete { t, t_prev })
                .collect()
        }
        Objective::Flow => flow_sigmas(steps)
            .windows(2)
            .map(|pair| Timestep::Flow {
                sigma: pair[0],
                sigma_next: pair[1],
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_run_from_noise_to_the_image() {
        let ddpm = plan(Objective::Eps, 1000, 4);
        assert_eq!(
            ddpm.first(),
            Some(&Timestep::Discrete {
                t: 1000,
                t_prev: 750
            })
        );
        assert_eq!(ddpm.last(), Some(&Timestep::Discrete { t: 250, t_prev: 0 }));
        let flow = plan(Objective::Flow, 1000, 2);
        assert_eq!(
            flow,
            [
                Timestep::Flow {
                    sigma: 1.0,
                    sigma_next: 0.5
                },
                Timestep::Flow {
                    sigma: 0.5,
                    sigma_next: 0.0
                }
            ]
        );
        assert_eq!(flow[1].network_input(1000), 500.0);
        assert_eq!(ddpm[1].network_input(1000), 750.0);
    }
}

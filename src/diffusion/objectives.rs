//! What the network is trained to predict (its *objective*), and how its output becomes the three views
//! the program shows: the clean image x̂0, the noise ε̂ and the velocity v̂.
//!
//! Every objective describes the same noisy image
//!
//! > x_t = a·x0 + s·ε,
//!
//! where ε ~ N(0, I) and the two [`Coefficients`] a (the signal's weight) and s (the noise's weight)
//! depend on how far along the noising path x_t lies:
//!
//! - discrete ε- and v-models (DDPM): a = √ᾱ_t, s = √(1−ᾱ_t), so a² + s² = 1;
//! - flow matching (rectified flow): a = 1 − σ, s = σ, a straight line from x0 (σ = 0) to ε (σ = 1).
//!
//! Given x_t and a, s, knowing any one of x0, ε (or a mix of them) gives the others, so the three
//! objectives are three ways of asking the network the same question. Each conversion is *linear* in the
//! network's output, which is why classifier-free guidance may mix raw outputs whatever the objective.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::NoiseSchedule;

/// What a network was trained to output, given x_t and the noise level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Objective {
    /// ε-prediction (Ho et al. 2020): the noise ε that was mixed in. diffusers' "epsilon".
    Eps,
    /// v-prediction (Salimans & Ho 2022): v = a·ε − s·x0. diffusers' "v_prediction".
    V,
    /// Flow matching / rectified flow (Lipman et al. 2023, Liu et al. 2023): the velocity u = ε − x0
    /// along the straight path x_σ = (1−σ)·x0 + σ·ε (u = dx_σ/dσ).
    Flow,
    /// x0-prediction: the clean image itself. diffusers' "sample".
    X0,
}

impl Objective {
    /// Every objective, in menu order.
    pub const ALL: [Self; 4] = [Self::Eps, Self::V, Self::Flow, Self::X0];

    /// The name on the command line and in checkpoint metadata: "eps", "v" or "flow".
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Eps => "eps",
            Self::V => "v",
            Self::Flow => "flow",
            Self::X0 => "x0",
        }
    }

    /// Whether x_t lies on the variance-preserving path of a β schedule (ε, v and x0 models)
    /// rather than on the straight flow path.
    pub fn is_discrete(self) -> bool {
        self != Self::Flow
    }

    /// Turns the network's `output` at the noisy image `x_t` into x̂0, ε̂ and v̂.
    ///
    /// With a = `at.signal`, s = `at.noise`:
    ///
    /// - [`Objective::Eps`] (output ε̂): x̂0 = (x_t − s·ε̂)/a, v̂ = a·ε̂ − s·x̂0.
    ///   Undefined where a = 0 (pure noise under a zero-terminal-SNR schedule): x̂0 is then infinite.
    /// - [`Objective::V`] (output v̂; assumes a² + s² = 1): x̂0 = a·x_t − s·v̂, ε̂ = s·x_t + a·v̂.
    /// - [`Objective::Flow`] (output u; a = 1 − σ, s = σ): x̂0 = x_t − σ·u, ε̂ = x_t + (1−σ)·u, and the
    ///   "v" of a flow model is its velocity u itself (not the v of v-prediction).
    /// - [`Objective::X0`] (output x̂0): ε̂ = (x_t − a·x̂0)/s, v̂ = a·ε̂ − s·x̂0. Undefined where
    ///   s = 0 (the image itself, where no model is asked).
    ///
    /// Arithmetic is done in f64 per pixel. `output` and `x_t` must have the same length.
    pub fn predict(self, output: &[f32], x_t: &[f32], at: Coefficients) -> Prediction {
        assert_eq!(output.len(), x_t.len(), "output and x_t differ in length");
        let Coefficients {
            signal: a,
            noise: s,
        } = at;
        let mut prediction = Prediction::with_capacity(output.len());
        for (&out, &x) in output.iter().zip(x_t) {
            let (out, x) = (f64::from(out), f64::from(x));
            let (x0, eps, v) = match self {
                Self::Eps => {
                    let x0 = (x - s * out) / a;
                    (x0, out, a * out - s * x0)
                }
                Self::V => (a * x - s * out, s * x + a * out, out),
                Self::Flow => (x - s * out, x + a * out, out),
                Self::X0 => {
                    let eps = (x - a * out) / s;
                    (out, eps, a * eps - s * out)
                }
            };
            prediction.x0.push(x0 as f32);
            prediction.eps.push(eps as f32);
            prediction.v.push(v as f32);
        }
        prediction
    }

    /// What the network should output for the noisy image a·x0 + s·ε: the training target.
    ///
    /// ε for [`Objective::Eps`], v = a·ε − s·x0 for [`Objective::V`] (diffusers' `get_velocity`), and
    /// u = ε − x0 for [`Objective::Flow`] (which does not depend on σ), x0 itself for
    /// [`Objective::X0`].
    pub fn training_target(self, x0: &[f32], eps: &[f32], at: Coefficients) -> Vec<f32> {
        assert_eq!(x0.len(), eps.len(), "x0 and ε differ in length");
        let Coefficients {
            signal: a,
            noise: s,
        } = at;
        match self {
            Self::Eps => eps.to_vec(),
            Self::V => x0
                .iter()
                .zip(eps)
                .map(|(&x0, &e)| (a * f64::from(e) - s * f64::from(x0)) as f32)
                .collect(),
            Self::Flow => x0.iter().zip(eps).map(|(&x0, &e)| e - x0).collect(),
            Self::X0 => x0.to_vec(),
        }
    }
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// A name that is not "eps", "v", "flow" or "x0".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown objective “{0}” (expected eps, v, flow or x0)")]
pub struct UnknownObjective(pub String);

impl FromStr for Objective {
    type Err = UnknownObjective;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|objective| objective.cli_name() == name)
            .ok_or_else(|| UnknownObjective(name.to_owned()))
    }
}

/// The weights of x0 and ε in a noisy image: x_t = `signal`·x0 + `noise`·ε.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coefficients {
    /// a, the weight of the clean image x0.
    pub signal: f64,
    /// s, the weight of the noise ε.
    pub noise: f64,
}

impl Coefficients {
    /// a = √ᾱ_t and s = √(1−ᾱ_t), at timestep t (0..=T) of a discrete schedule.
    pub fn discrete(schedule: &NoiseSchedule, t: usize) -> Self {
        Self {
            signal: schedule.signal_scale(t),
            noise: schedule.noise_scale(t),
        }
    }

    /// a = 1 − σ and s = σ, at noise level σ ∈ [0, 1] of the straight flow-matching path.
    pub fn flow(sigma: f64) -> Self {
        Self {
            signal: 1.0 - sigma,
            noise: sigma,
        }
    }

    /// The noisy image a·x0 + s·ε (the forward process; used to make training examples).
    pub fn noisy(self, x0: &[f32], eps: &[f32]) -> Vec<f32> {
        assert_eq!(x0.len(), eps.len(), "x0 and ε differ in length");
        x0.iter()
            .zip(eps)
            .map(|(&x0, &e)| (self.signal * f64::from(x0) + self.noise * f64::from(e)) as f32)
            .collect()
    }
}

/// The network's output turned into the three views the program shows, one value per pixel each.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prediction {
    /// x̂0, the model's current guess of the clean image.
    pub x0: Vec<f32>,
    /// ε̂, the noise the model believes is in x_t.
    pub eps: Vec<f32>,
    /// v̂: a·ε̂ − s·x̂0 for ε- and v-models; the velocity u = ε̂ − x̂0 for flow models.
    pub v: Vec<f32>,
}

impl Prediction {
    fn with_capacity(len: usize) -> Self {
        Self {
            x0: Vec::with_capacity(len),
            eps: Vec::with_capacity(len),
            v: Vec::with_capacity(len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::ScheduleConfig;
    use crate::diffusion::noise::{NoiseStream, standard_normal};

    fn max_diff(a: &[f32], b: &[f32]) -> f32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn names_round_trip() {
        for objective in Objective::ALL {
            assert_eq!(objective.cli_name().parse(), Ok(objective));
        }
        assert!("epsilon".parse::<Objective>().is_err());
    }

    /// Build x_t from a known x0 and ε, give each objective its exact target, and every view must
    /// come back: x0, ε and v (or u) all recovered.
    #[test]
    fn exact_targets_recover_x0_and_eps() {
        let n = 512;
        let x0: Vec<f32> = standard_normal(n, 1, NoiseStream::Jump)
            .iter()
            .map(|v| v.clamp(-1.0, 1.0))
            .collect();
        let eps = standard_normal(n, 2, NoiseStream::Jump);
        let schedule = NoiseSchedule::new(ScheduleConfig::default());
        let mut levels = Vec::new();
        for t in [1, 10, 250, 500, 900] {
            let at = Coefficients::discrete(&schedule, t);
            levels.extend([
                (Objective::Eps, at),
                (Objective::V, at),
                (Objective::X0, at),
            ]);
        }
        for sigma in [0.0, 0.3, 0.7, 1.0] {
            levels.push((Objective::Flow, Coefficients::flow(sigma)));
        }
        for (objective, at) in levels {
            let x_t = at.noisy(&x0, &eps);
            let target = objective.training_target(&x0, &eps, at);
            let p = objective.predict(&target, &x_t, at);
            // x̂0 is divided by a for ε-models, so its error grows as a shrinks.
            let x0_tolerance = if objective == Objective::Eps {
                1e-5 / at.signal as f32
            } else {
                1e-5
            };
            assert!(
                max_diff(&p.x0, &x0) <= x0_tolerance,
                "{objective} {at:?} x0"
            );
            assert!(max_diff(&p.eps, &eps) <= 1e-5, "{objective} {at:?} eps");
            let v = match objective {
                Objective::Flow => target,
                Objective::Eps | Objective::V | Objective::X0 => {
                    Objective::V.training_target(&x0, &eps, at)
                }
            };
            assert!(max_diff(&p.v, &v) <= 1e-5, "{objective} {at:?} v");
        }
    }

    /// On arbitrary data (not a real x_t) the views must still agree with each other:
    /// x_t = a·x̂0 + s·ε̂, and for ε/v models v̂ = a·ε̂ − s·x̂0.
    #[test]
    fn views_are_consistent_on_random_outputs() {
        let n = 256;
        let x_t = standard_normal(n, 3, NoiseStream::Jump);
        let output = standard_normal(n, 4, NoiseStream::Jump);
        let schedule = NoiseSchedule::new(ScheduleConfig::default());
        for t in [1, 100, 700] {
            let at = Coefficients::discrete(&schedule, t);
            for objective in [Objective::Eps, Objective::V] {
                let p = objective.predict(&output, &x_t, at);
                assert!(max_diff(&at.noisy(&p.x0, &p.eps), &x_t) <= 1e-5);
                let v = Objective::V.training_target(&p.x0, &p.eps, at);
                assert!(max_diff(&p.v, &v) <= 1e-5, "{objective} t={t}");
                // Feeding the other objective's view back in gives the same x̂0.
                let eps_again = Objective::Eps.predict(&p.eps, &x_t, at);
                let v_again = Objective::V.predict(&p.v, &x_t, at);
                assert!(max_diff(&eps_again.x0, &p.x0) <= 1e-5 / at.signal as f32);
                assert!(max_diff(&v_again.x0, &p.x0) <= 1e-5);
            }
        }
        for sigma in [0.1, 0.5, 0.9] {
            let at = Coefficients::flow(sigma);
            let p = Objective::Flow.predict(&output, &x_t, at);
            assert!(max_diff(&at.noisy(&p.x0, &p.eps), &x_t) <= 1e-5);
            let u: Vec<f32> = p.eps.iter().zip(&p.x0).map(|(e, x)| e - x).collect();
            assert!(max_diff(&u, &output) <= 1e-5);
        }
    }
}

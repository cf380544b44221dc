//! Samplers: the rules that walk x from pure noise to an image, given the model's predictions.
//!
//! Every sampler works on the same picture of the noise path: at each point, x = a·x0 + s·ε with
//! known weights a and s ([`Coefficients`]). ε- and v-models live on the variance-preserving path
//! of their β schedule (a = √ᾱ_t, s = √(1−ᾱ_t)); flow-matching models on the straight path
//! (a = 1 − σ, s = σ). A sampler only decides *where* to ask the model next and *how* to move x
//! once it has the model's guesses x̂0 and ε̂ there.
//!
//! A sampler is a small state machine, so the loop that calls the network (`crate::sample`) stays the
//! same for all of them:
//!
//! ```text
//! while let Some(stage) = sampler.stage() {      // where must the model look next?
//!     let prediction = model(x, stage.point);     // x̂0, ε̂ (and v̂) there
//!     let noise = stage.needs_noise.then(...);    // fresh N(0, 1) for stochastic steps
//!     x = sampler.advance(&x, &prediction, noise);
//! }
//! ```
//!
//! Most samplers need one model evaluation per step; second-order ones (Heun) need two, and report
//! only the first of them as the step's frame.
//!
//! Code map: [`spacing`] (which timesteps a run of n steps visits), [`ddpm`] (ancestral DDPM),
//! [`flow_euler`] (Euler on the straight flow path).

pub mod ddpm;
pub mod flow_euler;
pub mod spacing;

use std::fmt;

use super::NoiseSchedule;
use super::objectives::{Coefficients, Objective, Prediction};
pub use spacing::Spacing;

/// The samplers the program offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SamplerKind {
    /// DDPM ancestral sampling (Ho et al. 2020): stochastic, one draw of fresh noise per step.
    Ddpm,
    /// Euler along the straight path of a flow-matching model.
    FlowEuler,
}

impl SamplerKind {
    /// Every sampler, in the order menus list them.
    pub const ALL: [Self; 2] = [Self::Ddpm, Self::FlowEuler];

    /// The name on the command line (`--sampler ddpm`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Ddpm => "ddpm",
            Self::FlowEuler => "flow-euler",
        }
    }

    /// The name shown to people (the same in both languages: these are names of methods).
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Ddpm => "DDPM",
            Self::FlowEuler => "Euler (flow)",
        }
    }

    /// Whether this sampler can drive a model trained with `objective`.
    pub fn supports(self, objective: Objective) -> bool {
        match self {
            Self::Ddpm => objective != Objective::Flow,
            Self::FlowEuler => objective == Objective::Flow,
        }
    }

    /// The sampler used when none is asked for.
    pub fn default_for(objective: Objective) -> Self {
        match objective {
            Objective::Eps | Objective::V => Self::Ddpm,
            Objective::Flow => Self::FlowEuler,
        }
    }

    /// The number of steps used when none is asked for: every timestep for DDPM, 50 otherwise.
    pub fn default_steps(self, train_steps: usize) -> usize {
        match self {
            Self::Ddpm => train_steps,
            Self::FlowEuler => 50,
        }
    }
}

impl fmt::Display for SamplerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// A sampler name that is not one of [`SamplerKind::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown sampler “{0}”")]
pub struct UnknownSampler(pub String);

impl std::str::FromStr for SamplerKind {
    type Err = UnknownSampler;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.cli_name() == name)
            .ok_or_else(|| UnknownSampler(name.to_owned()))
    }
}

/// The variance of the fresh noise of a DDPM step (diffusers' `variance_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DdpmVariance {
    /// β̃_t = (1 − ᾱ_{t'})/(1 − ᾱ_t)·β_t, the true posterior's ("fixed_small", the default).
    #[default]
    FixedSmall,
    /// β_t itself, the prior's ("fixed_large"): noisier, as in the DDPM paper's CIFAR runs.
    FixedLarge,
}

/// Everything that decides a sampler, besides the schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplerSpec {
    /// Which sampler.
    pub kind: SamplerKind,
    /// How many steps (user-visible steps; a Heun step calls the model twice).
    pub steps: usize,
    /// How the steps are spread over the timesteps (discrete schedules only).
    pub spacing: Spacing,
    /// The DDPM noise variance.
    pub variance: DdpmVariance,
    /// Clip x̂0 to the data range [−1, 1] before a step, as diffusers' DDPM and DDIM schedulers
    /// do by default (`clip_sample=True`). Without it, strong guidance early in the run (where
    /// x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t divides by a tiny √ᾱ_t) drives digits to white.
    pub clip_x0: bool,
}

impl SamplerSpec {
    /// `kind` with `steps` steps and its usual settings (trailing spacing, fixed-small variance,
    /// x̂0 clipped).
    pub fn new(kind: SamplerKind, steps: usize) -> Self {
        Self {
            kind,
            steps,
            spacing: Spacing::Trailing,
            variance: DdpmVariance::FixedSmall,
            clip_x0: true,
        }
    }

    /// The sampler itself, for a model trained with `objective` on `schedule` (flow models use only
    /// the schedule's T, to scale σ into the network's time input).
    pub fn build(&self, schedule: &NoiseSchedule) -> Box<dyn Sampler> {
        match self.kind {
            SamplerKind::Ddpm => Box::new(ddpm::Ddpm::new(schedule, self)),
            SamplerKind::FlowEuler => {
                Box::new(flow_euler::FlowEuler::new(schedule.steps(), self.steps))
            }
        }
    }
}

/// Where on the noise path a place is, in the terms a person reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Position {
    /// A timestep t of a discrete schedule (fractional for samplers that interpolate).
    Timestep(f64),
    /// A noise level σ ∈ [0, 1] of the straight flow path.
    Sigma(f64),
}

/// A place on the noise path where the model is asked: x = a·x0 + s·ε there.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathPoint {
    /// The weights a and s of x0 and ε.
    pub coefficients: Coefficients,
    /// What the network is told the time is (t for ε/v models, T·σ for flow models).
    pub network_input: f32,
    /// The place, as shown to people.
    pub position: Position,
}

impl PathPoint {
    /// The point at timestep `t` (0..=T) of a discrete schedule.
    pub fn discrete(schedule: &NoiseSchedule, t: usize) -> Self {
        Self {
            coefficients: Coefficients::discrete(schedule, t),
            network_input: t as f32,
            position: Position::Timestep(t as f64),
        }
    }

    /// The point at noise level σ of the straight flow path of a model trained with T steps.
    pub fn flow(sigma: f64, train_steps: usize) -> Self {
        Self {
            coefficients: Coefficients::flow(sigma),
            network_input: (train_steps as f64 * sigma) as f32,
            position: Position::Sigma(sigma),
        }
    }

    /// The noise-to-signal ratio s/a there (the σ of Karras et al.; infinite in pure noise).
    pub fn noise_to_signal(&self) -> f64 {
        self.coefficients.noise / self.coefficients.signal
    }
}

impl fmt::Display for PathPoint {
    /// "t = 880", "t = 880.4" or "σ = 0.420".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Position::Timestep(t) if t.fract() == 0.0 => write!(f, "t = {t:.0}"),
            Position::Timestep(t) => write!(f, "t = {t:.1}"),
            Position::Sigma(sigma) => write!(f, "σ = {sigma:.3}"),
        }
    }
}

/// The next model evaluation a sampler needs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stage {
    /// The user-visible step this evaluation belongs to, 0..steps.
    pub step: usize,
    /// Where the model must look.
    pub point: PathPoint,
    /// Whether this evaluation begins its step (and so is the one a frame shows).
    pub begins_step: bool,
    /// Whether [`Sampler::advance`] needs fresh N(0, 1) noise after this evaluation.
    pub needs_noise: bool,
}

/// A rule for walking from noise to an image; see the module documentation.
pub trait Sampler: Send {
    /// The number of user-visible steps of the run.
    fn steps(&self) -> usize;

    /// The next model evaluation needed, or `None` once x is the finished image.
    fn stage(&self) -> Option<Stage>;

    /// Moves x on, given the model's prediction at the current [`Stage`]'s point and, if the stage
    /// asked for it, fresh N(0, 1) noise of x's length. Returns the new x.
    fn advance(&mut self, x: &[f32], prediction: &Prediction, noise: Option<&[f32]>) -> Vec<f32>;
}

/// Clips every value of x̂0 to [−1, 1], the range of the training images.
pub fn clip_to_data_range(x0: &[f32]) -> Vec<f32> {
    x0.iter().map(|v| v.clamp(-1.0, 1.0)).collect()
}

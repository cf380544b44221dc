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
//! Every sampler is checked against the diffusers scheduler it is named after (same points asked,
//! same x after every step, to 1e-5; `tests/sampler_golden.rs`).
//!
//! Code map:
//! - [`spacing`]: which timesteps a run of n steps visits;
//! - [`ddpm`]: ancestral DDPM, stochastic (`DDPMScheduler`);
//! - [`ddim`]: DDIM, deterministic for η = 0 (`DDIMScheduler`);
//! - [`euler`]: Euler on the probability-flow ODE in σ = s/a, with fractional timesteps
//!   (`EulerDiscreteScheduler`), and the σ levels [`euler::Level`] it shares with Heun;
//! - [`heun`]: Heun, two evaluations per step (`HeunDiscreteScheduler`);
//! - [`dpm_solver`]: DPM-Solver++(2M), second order from one evaluation per step
//!   (`DPMSolverMultistepScheduler`);
//! - [`flow_euler`]: Euler on the straight flow path (`FlowMatchEulerDiscreteScheduler`);
//! - [`flow_heun`]: Heun on the straight flow path (`FlowMatchHeunDiscreteScheduler`);
//! - [`diffusers_options`]: diffusers' options that change the numbers ([`DiffusersOptions`]),
//!   with [`x0_limit`] (clipping and dynamic thresholding of x̂0), [`sigma_ramp`] (Karras and
//!   exponential σ's) and [`flow_sigmas`] (diffusers' shifted flow σ's).

pub mod ddim;
pub mod ddpm;
pub mod diffusers_options;
pub mod dpm_solver;
pub mod euler;
pub mod flow_euler;
pub mod flow_heun;
pub mod flow_sigmas;
pub mod heun;
pub mod sigma_ramp;
pub mod spacing;
pub mod x0_limit;

use std::fmt;

use super::NoiseSchedule;
use super::objectives::{Coefficients, Objective, Prediction};
pub use diffusers_options::{DdimStep, DiffusersOptions, DpmSolverType, FinalSigma};
pub use flow_sigmas::{DynamicShift, FlowShift, FlowSigmas};
pub use sigma_ramp::SigmaRamp;
pub use spacing::Spacing;
pub use x0_limit::X0Limit;

/// The samplers the program offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SamplerKind {
    /// DDPM ancestral sampling (Ho et al. 2020): stochastic, one draw of fresh noise per step.
    Ddpm,
    /// DDIM (Song et al. 2021): deterministic for η = 0, DDPM-like for η = 1.
    Ddim,
    /// Euler on the probability-flow ODE (Karras et al. 2022), as diffusers' `EulerDiscreteScheduler`.
    Euler,
    /// Heun on the probability-flow ODE: two model evaluations per step, second order.
    Heun,
    /// DPM-Solver++(2M) (Lu et al. 2022): second order from one evaluation per step.
    DpmSolver2M,
    /// Euler along the straight path of a flow-matching model.
    FlowEuler,
    /// Heun along the straight path of a flow-matching model: two evaluations per step.
    FlowHeun,
}

impl SamplerKind {
    /// Whether diffusers steps it by a rule other than the formula's (DDIM's stride, flow
    /// matching's σ's): see [`DiffusersOptions`].
    pub fn has_diffusers_rule(self) -> bool {
        matches!(self, Self::Ddim | Self::FlowEuler | Self::FlowHeun)
    }

    /// Every sampler, in the order menus list them.
    pub const ALL: [Self; 7] = [
        Self::Ddpm,
        Self::Ddim,
        Self::Euler,
        Self::Heun,
        Self::DpmSolver2M,
        Self::FlowEuler,
        Self::FlowHeun,
    ];

    /// The name on the command line (`--sampler ddpm`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Ddpm => "ddpm",
            Self::Ddim => "ddim",
            Self::Euler => "euler",
            Self::Heun => "heun",
            Self::DpmSolver2M => "dpm++2m",
            Self::FlowEuler => "flow-euler",
            Self::FlowHeun => "flow-heun",
        }
    }

    /// The name shown to people (the same in both languages: these are names of methods).
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Ddpm => "DDPM",
            Self::Ddim => "DDIM",
            Self::Euler => "Euler",
            Self::Heun => "Heun",
            Self::DpmSolver2M => "DPM-Solver++ (2M)",
            Self::FlowEuler => "Euler (flow)",
            Self::FlowHeun => "Heun (flow)",
        }
    }

    /// Whether this sampler can drive a model trained with `objective`.
    pub fn supports(self, objective: Objective) -> bool {
        match self {
            Self::Ddpm | Self::Ddim | Self::Euler | Self::Heun | Self::DpmSolver2M => {
                objective != Objective::Flow
            }
            Self::FlowEuler | Self::FlowHeun => objective == Objective::Flow,
        }
    }

    /// The sampler used when none is asked for.
    pub fn default_for(objective: Objective) -> Self {
        match objective {
            Objective::Eps | Objective::V | Objective::X0 => Self::Ddpm,
            Objective::Flow => Self::FlowEuler,
        }
    }

    /// The number of steps used when none is asked for: every timestep for DDPM, 50 otherwise.
    pub fn default_steps(self, train_steps: usize) -> usize {
        match self {
            Self::Ddpm => train_steps,
            Self::Ddim
            | Self::Euler
            | Self::Heun
            | Self::DpmSolver2M
            | Self::FlowEuler
            | Self::FlowHeun => 50,
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
    /// x̂0 = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t divides by a tiny √ᾱ_t) drives digits to white. The other
    /// ε/v samplers clip too when asked (diffusers' Heun through `clip_sample`, DPM-Solver through
    /// `thresholding`; its Euler never clips), and then take ε̂ from the clipped x̂0.
    pub clip_x0: bool,
    /// DDIM's η ∈ [0, 1]: 0 adds no fresh noise (deterministic), 1 adds the DDPM posterior's.
    pub eta: f64,
    /// diffusers' timestep offset and DDIM rule (the program's rule unless a diffusers
    /// scheduler config asks otherwise).
    pub diffusers: DiffusersOptions,
}

impl SamplerSpec {
    /// `kind` with `steps` steps and its usual settings (trailing spacing, fixed-small variance,
    /// x̂0 clipped, η = 0).
    pub fn new(kind: SamplerKind, steps: usize) -> Self {
        Self {
            kind,
            steps,
            spacing: Spacing::Trailing,
            variance: DdpmVariance::FixedSmall,
            clip_x0: true,
            eta: 0.0,
            diffusers: DiffusersOptions::default(),
        }
    }

    /// The σ's a flow sampler visits, from 1 to 0, for a model trained with T = `train_steps`,
    /// on images of `image_len` values.
    pub fn flow_sigmas(&self, train_steps: usize, image_len: usize) -> Vec<f64> {
        self.diffusers
            .flow_sigmas
            .sigmas(self.steps, train_steps, image_len)
    }

    /// The timesteps DDPM and DDIM visit (1..=T, noisiest first): the spacing's, with
    /// `steps_offset` added to "leading" ones as diffusers does (never past T).
    pub fn discrete_timesteps(&self, train_steps: usize) -> Vec<usize> {
        let timesteps = self.spacing.timesteps(train_steps, self.steps);
        match self.spacing {
            Spacing::Leading => timesteps
                .into_iter()
                .map(|t| (t + self.diffusers.steps_offset).min(train_steps))
                .collect(),
            Spacing::Trailing | Spacing::Linspace => timesteps,
        }
    }

    /// The number of user-visible steps a run over `schedule` takes (`steps` clamped as the
    /// sampler's spacing allows).
    pub fn step_count(&self, schedule: &NoiseSchedule) -> usize {
        // The image's length changes the σ's and the clipping, never the number of steps.
        self.build(schedule, 1).steps()
    }

    /// The sampler itself, for a model trained on `schedule` (flow models use only the
    /// schedule's T, to scale σ into the network's time input), sampling images of `image_len`
    /// values each (for dynamic thresholding and dynamic shifting).
    pub fn build(&self, schedule: &NoiseSchedule, image_len: usize) -> Box<dyn Sampler> {
        let guard = X0Guard::new(self, image_len);
        match self.kind {
            SamplerKind::Ddpm => Box::new(ddpm::Ddpm::new(schedule, self, guard)),
            SamplerKind::Ddim => Box::new(ddim::Ddim::new(schedule, self, guard)),
            SamplerKind::Euler => Box::new(euler::Euler::new(schedule, self, guard)),
            SamplerKind::Heun => Box::new(heun::Heun::new(schedule, self, guard)),
            SamplerKind::DpmSolver2M => {
                Box::new(dpm_solver::DpmSolver2M::new(schedule, self, guard))
            }
            SamplerKind::FlowEuler => Box::new(flow_euler::FlowEuler::new(
                schedule.steps(),
                self.flow_sigmas(schedule.steps(), image_len),
            )),
            SamplerKind::FlowHeun => Box::new(flow_heun::FlowHeun::new(
                schedule.steps(),
                self.flow_sigmas(schedule.steps(), image_len),
            )),
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

/// The smallest ᾱ diffusers' Euler-type schedulers and its DPM-Solver allow (2⁻²⁴), so that
/// σ = s/a and λ = ln(a/s) stay finite under a zero-terminal-SNR schedule.
const MIN_ALPHA_BAR: f64 = 5.960_464_477_539_063e-8;

/// Whether and how a sampler holds x̂0 in range, and the length of one image of the batch.
#[derive(Clone, Copy, Debug)]
pub struct X0Guard {
    limit: Option<X0Limit>,
    image_len: usize,
}

impl X0Guard {
    /// The guard `spec` asks for (none unless it clips), for images of `image_len` values.
    pub fn new(spec: &SamplerSpec, image_len: usize) -> Self {
        Self {
            limit: spec.clip_x0.then_some(spec.diffusers.x0_limit),
            image_len,
        }
    }

    /// x̂0 held in range, or `None` where the sampler does not clip.
    pub fn limited(&self, x0: &[f32]) -> Option<Vec<f64>> {
        self.limit.map(|limit| limit.apply(x0, self.image_len))
    }
}

/// The model's guesses x̂0 and ε̂ at a point with weights `at`, in f64. Where `guard` changed
/// x̂0, ε̂ is worked out again, ε̂ = (x − a·x̂0)/s, so that x = a·x̂0 + s·ε̂ still holds
/// (diffusers' DDIM with `use_clipped_model_output=True`; for Euler and Heun this ε̂ is their
/// slope (x/a − x̂0)/σ).
fn guesses(
    x: &[f32],
    prediction: &Prediction,
    at: Coefficients,
    guard: X0Guard,
) -> (Vec<f64>, Vec<f64>) {
    assert!(
        x.len() == prediction.x0.len() && x.len() == prediction.eps.len(),
        "lengths differ"
    );
    let limited = guard.limited(&prediction.x0);
    (0..x.len())
        .map(|i| {
            let (x0, eps) = (f64::from(prediction.x0[i]), f64::from(prediction.eps[i]));
            match &limited {
                Some(limited) if limited[i] != x0 => (
                    limited[i],
                    (f64::from(x[i]) - at.signal * limited[i]) / at.noise,
                ),
                _ => (x0, eps),
            }
        })
        .unzip()
}

/// Helpers for the samplers' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    use super::Sampler;
    use crate::diffusion::noise::{NoiseStream, standard_normal};
    use crate::diffusion::objectives::Objective;
    use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};

    /// The shipped models' schedule: linear β from 1e-4 to 0.02, T = 1000.
    pub fn linear_schedule() -> NoiseSchedule {
        NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000))
    }

    /// Runs `sampler` from seeded noise with a perfect model of `objective` that knows the image
    /// (its x̂0 is always the image, its ε̂ whatever makes x from it), and returns the largest
    /// distance of the result from the image.
    pub fn run_oracle(sampler: &mut dyn Sampler, objective: Objective) -> f32 {
        let len = 32;
        let image: Vec<f32> = (0..len)
            .map(|i| i as f32 / (len - 1) as f32 * 1.8 - 0.9)
            .collect();
        let mut x = standard_normal(len, 11, NoiseStream::Jump);
        while let Some(stage) = sampler.stage() {
            let at = stage.point.coefficients;
            let eps: Vec<f32> = x
                .iter()
                .zip(&image)
                .map(|(&x, &x0)| ((f64::from(x) - at.signal * f64::from(x0)) / at.noise) as f32)
                .collect();
            let output = objective.training_target(&image, &eps, at);
            let prediction = objective.predict(&output, &x, at);
            let noise = stage
                .needs_noise
                .then(|| standard_normal(len, 12 + stage.step as u64, NoiseStream::Jump));
            x = sampler.advance(&x, &prediction, noise.as_deref());
        }
        x.iter()
            .zip(&image)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{linear_schedule, run_oracle};
    use super::{SamplerKind, SamplerSpec, Spacing};
    use crate::diffusion::objectives::Objective;

    /// With a perfect model (x̂0 always the image), every sampler lands on the image, whatever its
    /// spacing and number of steps.
    #[test]
    fn every_sampler_lands_on_the_image_with_a_perfect_model() {
        let schedule = linear_schedule();
        for kind in SamplerKind::ALL {
            for objective in Objective::ALL.into_iter().filter(|&o| kind.supports(o)) {
                for spacing in Spacing::ALL {
                    for steps in [1, 6, 10] {
                        let spec = SamplerSpec {
                            spacing,
                            ..SamplerSpec::new(kind, steps)
                        };
                        let error = run_oracle(&mut *spec.build(&schedule, 32), objective);
                        assert!(
                            error < 1e-4,
                            "{kind} {objective} {spacing} {steps} steps: off by {error}"
                        );
                    }
                }
            }
        }
    }
}

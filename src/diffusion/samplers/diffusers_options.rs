//! diffusers' options that change a sampler's numbers — where DDIM steps to and lands, where
//! Euler and DPM-Solver end, DPM-Solver's orders, how σ's are spread and x̂0 held in range — kept
//! in one [`DiffusersOptions`] whose defaults are the program's own rule (and diffusers' defaults).
//! A diffusers `scheduler_config.json` sets them (`crate::model::scheduler_config`), and so does
//! the Reverse view's "Step as diffusers does".

use super::{FlowSigmas, SigmaRamp, X0Limit};

/// Where DDIM steps to from timestep t.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DdimStep {
    /// To the next timestep of the list (the formula's rule, as diffusers' DDPM does): every step
    /// lands x on the noise level the model is told next.
    #[default]
    NextListed,
    /// To t − ⌊T/n⌋ (diffusers' `DDIMScheduler`): with "linspace" spacing, or n not dividing T,
    /// x lands on a level other than the next timestep's.
    Diffusers,
}

/// How DPM-Solver's second-order step reads the slope between two x̂0's (diffusers'
/// `solver_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum DpmSolverType {
    /// At the middle of the step (the default).
    #[default]
    Midpoint,
    /// As Heun's method weighs it.
    Heun,
}

impl DpmSolverType {
    /// diffusers' name ("midpoint", "heun"), as run files record it.
    pub fn diffusers_name(self) -> &'static str {
        match self {
            Self::Midpoint => "midpoint",
            Self::Heun => "heun",
        }
    }

    /// The value of diffusers' name.
    pub fn from_diffusers_name(name: &str) -> Option<Self> {
        [Self::Midpoint, Self::Heun]
            .into_iter()
            .find(|value| value.diffusers_name() == name)
    }
}

/// Where Euler's and DPM-Solver's last step lands (diffusers' `final_sigmas_type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FinalSigma {
    /// σ = 0: the image (the formula's, and diffusers' default "zero").
    #[default]
    Zero,
    /// The σ of the first training timestep ("sigma_min"): the run stops a hair short of the image.
    SigmaMin,
}

impl FinalSigma {
    /// diffusers' name ("zero", "sigma_min"), as run files record it.
    pub fn diffusers_name(self) -> &'static str {
        match self {
            Self::Zero => "zero",
            Self::SigmaMin => "sigma_min",
        }
    }

    /// The value of diffusers' name.
    pub fn from_diffusers_name(name: &str) -> Option<Self> {
        [Self::Zero, Self::SigmaMin]
            .into_iter()
            .find(|value| value.diffusers_name() == name)
    }
}

/// diffusers' options that move the timesteps or DDIM's last step; the defaults are the
/// program's own rule and diffusers' defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DiffusersOptions {
    /// `steps_offset`: added to "leading" timesteps (DDPM and DDIM), as diffusers does.
    pub steps_offset: usize,
    /// DDIM's step rule.
    pub ddim_step: DdimStep,
    /// `set_alpha_to_one`: DDIM's last step lands on ᾱ = 1 (the image); otherwise on the ᾱ of
    /// the first training timestep.
    pub set_alpha_to_one: bool,
    /// The σ's of flow Euler and flow Heun.
    pub flow_sigmas: FlowSigmas,
    /// How x̂0 is held in range when the sampler clips (`clip_sample_range`, `thresholding`).
    pub x0_limit: X0Limit,
    /// Where Euler's and DPM-Solver's last step lands (`final_sigmas_type`).
    pub final_sigma: FinalSigma,
    /// DPM-Solver's `lower_order_final`: a first-order last step in runs of fewer than 15 steps
    /// (it is first-order anyway when the last σ is 0).
    pub lower_order_final: bool,
    /// DPM-Solver's `euler_at_final`: a first-order last step always.
    pub euler_at_final: bool,
    /// How Euler's, Heun's and DPM-Solver's σ's are spread (`use_karras_sigmas`,
    /// `use_exponential_sigmas`).
    pub sigma_ramp: SigmaRamp,
    /// Euler's `sigma_min` and `sigma_max`: the ends of a ramp, where given (else the run's
    /// smallest and largest σ).
    pub sigma_bounds: (Option<f64>, Option<f64>),
    /// DPM-Solver's highest order, 1 to 3 (`solver_order`; 2 unless a config says otherwise).
    pub dpm_order: u8,
    /// DPM-Solver's second-order rule (`solver_type`).
    pub dpm_solver_type: DpmSolverType,
    /// When DDIM clips x̂0, whether ε̂ is worked out again from the clipped x̂0 (the program's
    /// rule, so that the two guesses still add up to x_t) or kept as the model said (diffusers'
    /// default, `use_clipped_model_output = False`).
    pub eps_from_clipped_x0: bool,
}

impl Default for DiffusersOptions {
    fn default() -> Self {
        Self {
            steps_offset: 0,
            ddim_step: DdimStep::NextListed,
            set_alpha_to_one: true,
            flow_sigmas: FlowSigmas::Even,
            eps_from_clipped_x0: true,
            x0_limit: X0Limit::default(),
            final_sigma: FinalSigma::Zero,
            lower_order_final: true,
            euler_at_final: false,
            sigma_ramp: SigmaRamp::Schedule,
            sigma_bounds: (None, None),
            dpm_order: 2,
            dpm_solver_type: DpmSolverType::Midpoint,
        }
    }
}

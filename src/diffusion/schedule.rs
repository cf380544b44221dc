//! Noise schedules: β_t for t = 1..=T and everything derived from it (α_t, ᾱ_t, σ_t, SNR, log-SNR),
//! computed in f64 exactly as diffusers' `DDPMScheduler` defines them.

use serde::{Deserialize, Serialize};

/// The shape of the β_t curve.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ScheduleKind {
    /// β_t linear in t (Ho et al. 2020, DDPM); diffusers "linear".
    Linear,
    /// ᾱ follows a squared cosine (Nichol & Dhariwal 2021); diffusers "squaredcos_cap_v2".
    #[default]
    Cosine,
    /// β_t follows a sigmoid over [-6, 6]; diffusers "sigmoid".
    Sigmoid,
    /// √β_t linear in t (Stable Diffusion); diffusers "scaled_linear".
    ScaledLinear,
}

impl ScheduleKind {
    /// Every kind, in menu order.
    pub const ALL: [Self; 4] = [
        Self::Linear,
        Self::Cosine,
        Self::Sigmoid,
        Self::ScaledLinear,
    ];

    /// The name used on the command line and in diffusers' `beta_schedule` where they differ.
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Cosine => "cosine",
            Self::Sigmoid => "sigmoid",
            Self::ScaledLinear => "scaled-linear",
        }
    }

    /// The (β_start, β_end) pair diffusers uses by default for this shape (unused by cosine).
    pub fn default_beta_range(self) -> (f64, f64) {
        match self {
            Self::Linear | Self::Sigmoid | Self::Cosine => (1e-4, 0.02),
            Self::ScaledLinear => (0.000_85, 0.012),
        }
    }
}

/// Everything that defines a schedule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleConfig {
    /// The shape of β_t.
    pub kind: ScheduleKind,
    /// T, the number of noising steps (≥ 1).
    pub steps: usize,
    /// β at t = 1 (linear, sigmoid, scaled-linear).
    pub beta_start: f64,
    /// β at t = T (linear, sigmoid, scaled-linear).
    pub beta_end: f64,
    /// Rescale so that ᾱ_T = 0 exactly (Lin et al. 2023, "Common diffusion noise schedules are flawed").
    pub zero_terminal_snr: bool,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self::new(ScheduleKind::default(), 1000)
    }
}

impl ScheduleConfig {
    /// The smallest and largest T the program offers.
    pub const STEPS_RANGE: std::ops::RangeInclusive<usize> = 10..=1000;

    /// A schedule of `kind` with `steps` steps and that kind's default β range.
    pub fn new(kind: ScheduleKind, steps: usize) -> Self {
        let (beta_start, beta_end) = kind.default_beta_range();
        Self {
            kind,
            steps,
            beta_start,
            beta_end,
            zero_terminal_snr: false,
        }
    }

    /// This schedule with its numbers in the ranges the program offers, for settings read from
    /// disk (edited or damaged): T clamped to [`Self::STEPS_RANGE`], and the kind's default β range
    /// unless both βs are finite, in (0, 1) and in order.
    pub fn within_offered(self) -> Self {
        let (start, end) = (self.beta_start, self.beta_end);
        let usable = |b: f64| b > 0.0 && b < 1.0;
        let (beta_start, beta_end) = if usable(start) && usable(end) && start <= end {
            (start, end)
        } else {
            self.kind.default_beta_range()
        };
        Self {
            steps: self
                .steps
                .clamp(*Self::STEPS_RANGE.start(), *Self::STEPS_RANGE.end()),
            beta_start,
            beta_end,
            ..self
        }
    }
}

/// A computed schedule. Index `t` of every table runs over `0..=T`; entry 0 is the clean image
/// (β_0 = 0, ᾱ_0 = 1), so `alpha_bar(t)` reads like the formulas.
#[derive(Clone, Debug, PartialEq)]
pub struct NoiseSchedule {
    config: ScheduleConfig,
    /// Whether β's were listed one by one ([`Self::from_betas`]) rather than made by a formula.
    listed: bool,
    betas: Vec<f64>,
    alpha_bars: Vec<f64>,
}

/// Largest β the cosine schedule allows (diffusers' `max_beta`), so that no step destroys everything.
const COSINE_MAX_BETA: f64 = 0.999;
/// Offset s of the cosine schedule, keeping β_1 from being vanishingly small.
const COSINE_OFFSET: f64 = 0.008;

impl NoiseSchedule {
    /// Computes the schedule for `config` (T is clamped to at least 1).
    pub fn new(config: ScheduleConfig) -> Self {
        let steps = config.steps.max(1);
        let mut betas = match config.kind {
            ScheduleKind::Linear => linspace(config.beta_start, config.beta_end, steps),
            ScheduleKind::ScaledLinear => {
                linspace(config.beta_start.sqrt(), config.beta_end.sqrt(), steps)
                    .into_iter()
                    .map(|b| b * b)
                    .collect()
            }
            ScheduleKind::Sigmoid => linspace(-6.0, 6.0, steps)
                .into_iter()
                .map(|x| sigmoid(x) * (config.beta_end - config.beta_start) + config.beta_start)
                .collect(),
            ScheduleKind::Cosine => cosine_betas(steps),
        };
        if config.zero_terminal_snr {
            betas = rescale_zero_terminal_snr(&betas);
        }
        Self::of_betas(ScheduleConfig { steps, ..config }, false, betas)
    }

    /// The schedule of β_1…β_T listed one by one (diffusers' `trained_betas`; at least one, each
    /// in (0, 1)), rescaled to zero terminal SNR if asked. Its [`Self::config`] says linear from
    /// the first β to the last: no formula makes the list ([`Self::is_listed`]).
    pub fn from_betas(betas: &[f64], zero_terminal_snr: bool) -> Self {
        let (first, last) = (
            betas.first().copied().unwrap_or(0.0),
            betas.last().copied().unwrap_or(0.0),
        );
        let config = ScheduleConfig {
            beta_start: first,
            beta_end: last,
            zero_terminal_snr,
            ..ScheduleConfig::new(ScheduleKind::Linear, betas.len())
        };
        let betas = if zero_terminal_snr {
            rescale_zero_terminal_snr(betas)
        } else {
            betas.to_vec()
        };
        Self::of_betas(config, true, betas)
    }

    /// Whether the β's were listed one by one rather than made by the config's formula.
    pub fn is_listed(&self) -> bool {
        self.listed
    }

    /// The schedule of β_1…β_T = `betas`, with ᾱ worked out.
    fn of_betas(config: ScheduleConfig, listed: bool, mut betas: Vec<f64>) -> Self {
        let steps = betas.len();
        let mut alpha_bars = Vec::with_capacity(steps + 1);
        alpha_bars.push(1.0);
        let mut product = 1.0;
        for beta in &betas {
            product *= 1.0 - beta;
            alpha_bars.push(product);
        }
        betas.insert(0, 0.0);
        Self {
            config,
            listed,
            betas,
            alpha_bars,
        }
    }

    /// The configuration this schedule was computed from.
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// T, the number of noising steps.
    pub fn steps(&self) -> usize {
        self.config.steps
    }

    /// β_t, the variance of the noise added at step t (β_0 = 0).
    pub fn beta(&self, t: usize) -> f64 {
        self.betas[t]
    }

    /// α_t = 1 − β_t.
    pub fn alpha(&self, t: usize) -> f64 {
        1.0 - self.betas[t]
    }

    /// ᾱ_t = ∏_{s ≤ t} α_s, the fraction of signal variance left at t.
    pub fn alpha_bar(&self, t: usize) -> f64 {
        self.alpha_bars[t]
    }

    /// √ᾱ_t, the weight of x0 in x_t.
    pub fn signal_scale(&self, t: usize) -> f64 {
        self.alpha_bars[t].sqrt()
    }

    /// σ_t = √(1 − ᾱ_t), the weight of ε in x_t.
    pub fn noise_scale(&self, t: usize) -> f64 {
        (1.0 - self.alpha_bars[t]).max(0.0).sqrt()
    }

    /// Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t) (infinite at t = 0, zero with zero terminal SNR at T).
    pub fn snr(&self, t: usize) -> f64 {
        let alpha_bar = self.alpha_bars[t];
        alpha_bar / (1.0 - alpha_bar)
    }

    /// Natural logarithm of the SNR.
    pub fn log_snr(&self, t: usize) -> f64 {
        self.snr(t).ln()
    }

    /// ᾱ_t for t = 1..=T, the values diffusers calls `alphas_cumprod`.
    pub fn alphas_cumprod(&self) -> &[f64] {
        &self.alpha_bars[1..]
    }

    /// β_t for t = 1..=T, diffusers' `betas`.
    pub fn betas(&self) -> &[f64] {
        &self.betas[1..]
    }
}

/// `n` evenly spaced values from `start` to `end` inclusive, like `torch.linspace`.
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (end - start) / (n - 1) as f64;
    (0..n).map(|i| start + step * i as f64).collect()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// β_t from ᾱ(τ) = cos²((τ + s)/(1 + s) · π/2), τ = t/T, capped at 0.999 (diffusers' `betas_for_alpha_bar`).
fn cosine_betas(steps: usize) -> Vec<f64> {
    let alpha_bar = |tau: f64| {
        ((tau + COSINE_OFFSET) / (1.0 + COSINE_OFFSET) * std::f64::consts::FRAC_PI_2)
            .cos()
            .powi(2)
    };
    (0..steps)
        .map(|i| {
            let t1 = i as f64 / steps as f64;
            let t2 = (i + 1) as f64 / steps as f64;
            (1.0 - alpha_bar(t2) / alpha_bar(t1)).min(COSINE_MAX_BETA)
        })
        .collect()
}

/// Shifts and scales √ᾱ so that √ᾱ_T = 0 while √ᾱ_1 is unchanged, then recovers β
/// (Lin et al. 2023, Algorithm 1; diffusers' `rescale_zero_terminal_snr`).
fn rescale_zero_terminal_snr(betas: &[f64]) -> Vec<f64> {
    let mut product = 1.0;
    let sqrt_alpha_bars: Vec<f64> = betas
        .iter()
        .map(|beta| {
            product *= 1.0 - beta;
            product.sqrt()
        })
        .collect();
    let (first, last) = match (sqrt_alpha_bars.first(), sqrt_alpha_bars.last()) {
        (Some(&first), Some(&last)) if first > last => (first, last),
        _ => return betas.to_vec(),
    };
    let alpha_bars: Vec<f64> = sqrt_alpha_bars
        .iter()
        .map(|s| ((s - last) * first / (first - last)).powi(2))
        .collect();
    let mut previous = 1.0;
    alpha_bars
        .iter()
        .map(|&alpha_bar| {
            let alpha = alpha_bar / previous;
            previous = alpha_bar;
            1.0 - alpha
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_zero_is_the_clean_image() {
        let schedule = NoiseSchedule::new(ScheduleConfig::default());
        assert_eq!(schedule.alpha_bar(0), 1.0);
        assert_eq!(schedule.beta(0), 0.0);
        assert_eq!(schedule.noise_scale(0), 0.0);
        assert_eq!(schedule.alphas_cumprod().len(), 1000);
    }

    #[test]
    fn linear_endpoints_match_the_config() {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000));
        assert!((schedule.beta(1) - 1e-4).abs() < 1e-15);
        assert!((schedule.beta(1000) - 0.02).abs() < 1e-15);
    }

    #[test]
    fn zero_terminal_snr_reaches_zero_and_keeps_the_first_step() {
        for kind in ScheduleKind::ALL {
            let plain = NoiseSchedule::new(ScheduleConfig::new(kind, 1000));
            let config = ScheduleConfig {
                zero_terminal_snr: true,
                ..ScheduleConfig::new(kind, 1000)
            };
            let rescaled = NoiseSchedule::new(config);
            assert!(rescaled.alpha_bar(1000).abs() < 1e-12, "{kind:?}");
            assert!((rescaled.alpha_bar(1) - plain.alpha_bar(1)).abs() < 1e-12);
            assert_eq!(rescaled.snr(1000), 0.0);
        }
    }

    #[test]
    fn a_single_step_schedule_is_valid() {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1));
        assert_eq!(schedule.steps(), 1);
        assert!((schedule.beta(1) - 1e-4).abs() < 1e-15);
    }
}

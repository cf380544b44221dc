//! Where the σ's of Euler, Heun and DPM-Solver may come from besides the schedule's own timesteps:
//! a ramp between the largest and smallest σ of n steps — Karras et al.'s (2022), evenly spaced in
//! σ^(1/ρ) with ρ = 7, which spends more steps at low noise, or an exponential one, evenly spaced
//! in log σ (diffusers' `use_karras_sigmas`, `use_exponential_sigmas`). The model is then asked at
//! the timestep where each σ falls on the schedule ([`sigma_to_index`], diffusers'
//! `_sigma_to_t`): fractional for Euler and Heun, rounded (or cut) for DPM-Solver.

/// ρ of Karras et al.'s ramp (the value of their paper and of diffusers).
const KARRAS_RHO: f64 = 7.0;

/// How a run's σ's are spread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SigmaRamp {
    /// At the spacing's timesteps (the program's and diffusers' default).
    #[default]
    Schedule,
    /// Karras et al.'s ramp (`use_karras_sigmas`).
    Karras,
    /// Evenly in log σ (`use_exponential_sigmas`).
    Exponential,
}

impl SigmaRamp {
    /// The name run files record: "schedule", "karras" or "exponential".
    pub fn name(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Karras => "karras",
            Self::Exponential => "exponential",
        }
    }

    /// The ramp of that name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Schedule, Self::Karras, Self::Exponential]
            .into_iter()
            .find(|ramp| ramp.name() == name)
    }

    /// `steps` σ's from `max` down to `min` along this ramp (`None` for [`Self::Schedule`], which
    /// has no ramp).
    pub fn sigmas(self, max: f64, min: f64, steps: usize) -> Option<Vec<f64>> {
        let along = |k: usize| {
            if steps <= 1 {
                0.0
            } else {
                k as f64 / (steps - 1) as f64
            }
        };
        match self {
            Self::Schedule => None,
            Self::Karras => {
                let (high, low) = (max.powf(1.0 / KARRAS_RHO), min.powf(1.0 / KARRAS_RHO));
                Some(
                    (0..steps)
                        .map(|k| (high + along(k) * (low - high)).powf(KARRAS_RHO))
                        .collect(),
                )
            }
            Self::Exponential => {
                let (high, low) = (max.ln(), min.ln());
                Some(
                    (0..steps)
                        .map(|k| (high + along(k) * (low - high)).exp())
                        .collect(),
                )
            }
        }
    }
}

/// Where σ falls among the schedule's σ's, as a fractional 0-based index (diffusers' timestep):
/// `log_sigmas` holds ln σ of the training timesteps in increasing order; σ is placed between
/// the two neighbours its log lies between, linearly in log σ, and held within the table.
pub fn sigma_to_index(sigma: f64, log_sigmas: &[f64]) -> f64 {
    if log_sigmas.len() < 2 {
        return 0.0;
    }
    let log_sigma = sigma.max(1e-10).ln();
    let below = log_sigmas
        .iter()
        .rposition(|&log| log_sigma >= log)
        .unwrap_or(0)
        .min(log_sigmas.len() - 2);
    let (low, high) = (log_sigmas[below], log_sigmas[below + 1]);
    let weight = ((low - log_sigma) / (low - high)).clamp(0.0, 1.0);
    (1.0 - weight) * below as f64 + weight * (below + 1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_run_from_the_largest_to_the_smallest_sigma() {
        for ramp in [SigmaRamp::Karras, SigmaRamp::Exponential] {
            let sigmas = ramp.sigmas(80.0, 0.002, 10).unwrap();
            assert!((sigmas[0] - 80.0).abs() < 1e-9 && (sigmas[9] - 0.002).abs() < 1e-12);
            assert!(sigmas.windows(2).all(|w| w[0] > w[1]), "{sigmas:?}");
        }
        // Karras spends more steps at low noise than the exponential ramp's middle.
        let karras = SigmaRamp::Karras.sigmas(80.0, 0.002, 11).unwrap();
        let exponential = SigmaRamp::Exponential.sigmas(80.0, 0.002, 11).unwrap();
        assert!(karras[5] > exponential[5]);
        assert_eq!(SigmaRamp::Schedule.sigmas(1.0, 0.1, 3), None);
        for ramp in [
            SigmaRamp::Schedule,
            SigmaRamp::Karras,
            SigmaRamp::Exponential,
        ] {
            assert_eq!(SigmaRamp::from_name(ramp.name()), Some(ramp));
        }
    }

    #[test]
    fn a_sigma_falls_between_its_neighbours_in_log_sigma() {
        let log_sigmas = [0.0f64, 1.0, 2.0, 3.0];
        assert_eq!(sigma_to_index(1.0f64.exp(), &log_sigmas), 1.0);
        assert!((sigma_to_index(1.5f64.exp(), &log_sigmas) - 1.5).abs() < 1e-12);
        // Outside the table: held at its ends.
        assert_eq!(sigma_to_index(0.5, &log_sigmas), 0.0);
        assert_eq!(sigma_to_index(100.0, &log_sigmas), 3.0);
    }
}

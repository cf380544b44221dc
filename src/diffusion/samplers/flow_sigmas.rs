//! The noise levels σ a flow sampler visits: the formula's n equal steps, or diffusers' own
//! (`FlowMatchEulerDiscreteScheduler.set_timesteps` and its Heun twin).
//!
//! diffusers spreads n σ's evenly from 1 down to the smallest training σ, bends them all towards
//! the noisy end by the shift σ ↦ s·σ/(1 + (s − 1)·σ), may stretch them so that the last one is
//! `shift_terminal`, and appends 0. The shift s is either fixed (`shift`), or — with
//! `use_dynamic_shifting` — grows with the image's size: μ is read off a straight line through
//! (`base_image_seq_len`, `base_shift`) and (`max_image_seq_len`, `max_shift`) at the image's
//! sequence length, and s = e^μ ("exponential") or μ ("linear"). A fixed shift also shifts the
//! smallest training σ once more where it is made; a dynamic one does not (diffusers does both).
//!
//! diffusers' pipelines for transformers count an image's length in latent patches; for the
//! pixel-space networks here it is the number of values in one image.

use std::fmt;
use std::str::FromStr;

/// The noise levels a flow sampler visits.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum FlowSigmas {
    /// σ = 1 − k/n: n equal steps from pure noise to the image (the formula's).
    #[default]
    Even,
    /// diffusers' rule: see the module documentation.
    Diffusers {
        /// How σ's are bent towards the noisy end.
        shift: FlowShift,
        /// `shift_terminal`: the last σ before 0, if the run is stretched to end there.
        terminal: Option<f64>,
    },
}

/// diffusers' shift of flow σ's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FlowShift {
    /// A fixed s (`shift`; 1 leaves σ as it is).
    Fixed(f64),
    /// `use_dynamic_shifting`: s from the image's sequence length.
    Dynamic(DynamicShift),
}

/// The line μ(sequence length) of diffusers' dynamic shifting, and how μ becomes s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DynamicShift {
    /// μ at `base_seq_len`.
    pub base_shift: f64,
    /// μ at `max_seq_len`.
    pub max_shift: f64,
    /// `base_image_seq_len`.
    pub base_seq_len: f64,
    /// `max_image_seq_len`.
    pub max_seq_len: f64,
    /// `time_shift_type = "linear"`: s = μ (otherwise "exponential": s = e^μ).
    pub linear: bool,
}

impl DynamicShift {
    /// s for an image of `seq_len` values.
    pub fn shift_for(&self, seq_len: usize) -> f64 {
        let slope = (self.max_shift - self.base_shift) / (self.max_seq_len - self.base_seq_len);
        let mu = self.base_shift + slope * (seq_len as f64 - self.base_seq_len);
        if self.linear { mu } else { mu.exp() }
    }

    /// Whether diffusers could use these numbers: finite, the two lengths apart.
    pub fn is_valid(&self) -> bool {
        [
            self.base_shift,
            self.max_shift,
            self.base_seq_len,
            self.max_seq_len,
        ]
        .iter()
        .all(|v| v.is_finite())
            && self.base_seq_len != self.max_seq_len
    }
}

impl FlowSigmas {
    /// The σ's of a run of `steps` steps (from 1 to 0, `steps + 1` values) for a model trained
    /// with T = `train_steps`, on images of `image_len` values.
    pub fn sigmas(&self, steps: usize, train_steps: usize, image_len: usize) -> Vec<f64> {
        let steps = steps.max(1);
        let Self::Diffusers { shift, terminal } = *self else {
            return (0..=steps).map(|k| 1.0 - k as f64 / steps as f64).collect();
        };
        let smallest = 1.0 / train_steps.max(1) as f64;
        let (s, lowest) = match shift {
            FlowShift::Fixed(s) => (s, shifted(s, smallest)),
            FlowShift::Dynamic(line) => (line.shift_for(image_len), smallest),
        };
        let mut sigmas: Vec<f64> = (0..steps)
            .map(|k| {
                let along = if steps == 1 {
                    0.0
                } else {
                    k as f64 / (steps - 1) as f64
                };
                shifted(s, 1.0 + (lowest - 1.0) * along)
            })
            .collect();
        if let (Some(terminal), Some(&last)) = (terminal, sigmas.last()) {
            // 1 − σ scaled so that the last σ becomes `terminal`.
            let scale = (1.0 - last) / (1.0 - terminal);
            for sigma in &mut sigmas {
                *sigma = 1.0 - (1.0 - *sigma) / scale;
            }
        }
        sigmas.push(0.0);
        sigmas
    }

    /// Whether the numbers are ones diffusers could use.
    pub fn is_valid(&self) -> bool {
        match self {
            Self::Even => true,
            Self::Diffusers { shift, terminal } => {
                let shift_ok = match shift {
                    FlowShift::Fixed(s) => s.is_finite() && *s > 0.0,
                    FlowShift::Dynamic(line) => line.is_valid(),
                };
                shift_ok && terminal.is_none_or(|t| t.is_finite() && (0.0..1.0).contains(&t))
            }
        }
    }
}

/// σ ↦ s·σ/(1 + (s − 1)·σ).
fn shifted(s: f64, sigma: f64) -> f64 {
    s * sigma / (1.0 + (s - 1.0) * sigma)
}

impl fmt::Display for FlowShift {
    /// "3" or "dynamic exponential 0.5 1.15 256 4096", as run files record it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(s) => write!(f, "{s}"),
            Self::Dynamic(line) => write!(
                f,
                "dynamic {} {} {} {} {}",
                if line.linear { "linear" } else { "exponential" },
                line.base_shift,
                line.max_shift,
                line.base_seq_len,
                line.max_seq_len
            ),
        }
    }
}

/// Text that is not a [`FlowShift`].
#[derive(Debug, thiserror::Error)]
#[error("not a flow shift: “{0}”")]
pub struct BadFlowShift(String);

impl FromStr for FlowShift {
    type Err = BadFlowShift;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadFlowShift(text.to_owned());
        let number = |word: &str| word.parse::<f64>().map_err(|_| bad());
        let words: Vec<&str> = text.split_whitespace().collect();
        match words.as_slice() {
            [s] => Ok(Self::Fixed(number(s)?)),
            [
                "dynamic",
                kind @ ("linear" | "exponential"),
                base,
                max,
                base_len,
                max_len,
            ] => Ok(Self::Dynamic(DynamicShift {
                base_shift: number(base)?,
                max_shift: number(max)?,
                base_seq_len: number(base_len)?,
                max_seq_len: number(max_len)?,
                linear: *kind == "linear",
            })),
            _ => Err(bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_sigmas_take_equal_steps() {
        assert_eq!(
            FlowSigmas::Even.sigmas(4, 1000, 784),
            [1.0, 0.75, 0.5, 0.25, 0.0]
        );
    }

    #[test]
    fn exponential_dynamic_shifting_is_a_fixed_shift_of_e_to_the_mu_over_unshifted_sigmas() {
        let line = DynamicShift {
            base_shift: 0.5,
            max_shift: 1.15,
            base_seq_len: 256.0,
            max_seq_len: 4096.0,
            linear: false,
        };
        // μ at 784 values: 0.5 + 0.65·528/3840.
        let mu = 0.5 + 0.65 * 528.0 / 3840.0;
        assert!((line.shift_for(784) - f64::exp(mu)).abs() < 1e-12);
        let dynamic = FlowSigmas::Diffusers {
            shift: FlowShift::Dynamic(line),
            terminal: None,
        }
        .sigmas(5, 1000, 784);
        let s = mu.exp();
        let expected: Vec<f64> = (0..5)
            .map(|k| shifted(s, 1.0 + (0.001 - 1.0) * k as f64 / 4.0))
            .chain([0.0])
            .collect();
        for (got, want) in dynamic.iter().zip(&expected) {
            assert!((got - want).abs() < 1e-12, "{dynamic:?}");
        }
    }

    #[test]
    fn a_terminal_sigma_stretches_the_run_to_end_there() {
        let sigmas = FlowSigmas::Diffusers {
            shift: FlowShift::Fixed(3.0),
            terminal: Some(0.1),
        }
        .sigmas(6, 1000, 784);
        assert!((sigmas[0] - 1.0).abs() < 1e-12);
        assert!((sigmas[5] - 0.1).abs() < 1e-12);
        assert_eq!(sigmas[6], 0.0);
    }

    #[test]
    fn the_text_form_reads_back() {
        for shift in [
            FlowShift::Fixed(3.0),
            FlowShift::Dynamic(DynamicShift {
                base_shift: 0.5,
                max_shift: 1.15,
                base_seq_len: 256.0,
                max_seq_len: 4096.0,
                linear: true,
            }),
        ] {
            assert_eq!(shift.to_string().parse::<FlowShift>().ok(), Some(shift));
        }
        assert!("dynamic cubic 1 2 3 4".parse::<FlowShift>().is_err());
    }
}

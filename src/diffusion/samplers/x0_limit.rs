//! Holding the model's guess x̂0 inside the data range before a step.
//!
//! Early in a run x̂0 = (x_t − s·ε̂)/a divides by a tiny a, and a guess far outside the images'
//! range [−1, 1] drives the picture to white or black. diffusers' schedulers offer two remedies,
//! and the program reproduces both:
//! - **clipping** every value to [−r, r] (`clip_sample`, with r = `clip_sample_range`, 1 by
//!   default);
//! - **dynamic thresholding** (Saharia et al. 2022, "Imagen"; `thresholding`): for each image, s is
//!   the `dynamic_thresholding_ratio` quantile of |x̂0|, held within [1, `sample_max_value`]; x̂0 is
//!   clipped to [−s, s] and divided by s. Where s = 1 this is plain clipping; where the guess is
//!   too bright overall it is scaled back rather than flattened.

use std::fmt;
use std::str::FromStr;

/// How x̂0 is held in range when the sampler's clipping is on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum X0Limit {
    /// Every value clipped to [−range, range].
    Clip {
        /// r (1: the data range).
        range: f64,
    },
    /// Dynamic thresholding, image by image.
    Dynamic {
        /// The quantile of |x̂0| taken as the image's threshold s (diffusers' 0.995).
        ratio: f64,
        /// The largest s (diffusers' `sample_max_value`).
        ceiling: f64,
    },
}

impl Default for X0Limit {
    /// Clipping to the data range [−1, 1].
    fn default() -> Self {
        Self::Clip { range: 1.0 }
    }
}

impl X0Limit {
    /// Whether the numbers are ones diffusers accepts: a positive finite range, a ratio in (0, 1]
    /// and a ceiling of at least 1.
    pub fn is_valid(self) -> bool {
        match self {
            Self::Clip { range } => range.is_finite() && range > 0.0,
            Self::Dynamic { ratio, ceiling } => {
                ratio > 0.0 && ratio <= 1.0 && ceiling.is_finite() && ceiling >= 1.0
            }
        }
    }

    /// `x0` held within the limit; dynamic thresholding takes each image of `image_len` values
    /// on its own (`image_len` = 0 treats all of `x0` as one image).
    pub fn apply(self, x0: &[f32], image_len: usize) -> Vec<f64> {
        match self {
            Self::Clip { range } => x0
                .iter()
                .map(|&v| f64::from(v).clamp(-range, range))
                .collect(),
            Self::Dynamic { ratio, ceiling } => {
                let image_len = if image_len == 0 { x0.len() } else { image_len };
                x0.chunks(image_len.max(1))
                    .flat_map(|image| {
                        let s = quantile_of_magnitudes(image, ratio).clamp(1.0, ceiling);
                        image.iter().map(move |&v| f64::from(v).clamp(-s, s) / s)
                    })
                    .collect()
            }
        }
    }
}

/// The `ratio` quantile of |v| over `values`, interpolated linearly between the two nearest
/// ranks as `torch.quantile` does.
fn quantile_of_magnitudes(values: &[f32], ratio: f64) -> f64 {
    let mut magnitudes: Vec<f64> = values.iter().map(|v| f64::from(v.abs())).collect();
    if magnitudes.is_empty() {
        return 0.0;
    }
    magnitudes.sort_by(f64::total_cmp);
    let position = ratio.clamp(0.0, 1.0) * (magnitudes.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(magnitudes.len() - 1);
    let weight = position - below as f64;
    magnitudes[below] + weight * (magnitudes[above] - magnitudes[below])
}

impl fmt::Display for X0Limit {
    /// "clip 1" or "dynamic 0.995 1.5", as run files record it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Clip { range } => write!(f, "clip {range}"),
            Self::Dynamic { ratio, ceiling } => write!(f, "dynamic {ratio} {ceiling}"),
        }
    }
}

/// Text that is not a valid [`X0Limit`].
#[derive(Debug, thiserror::Error)]
#[error("not a limit of x̂0: “{0}”")]
pub struct BadX0Limit(String);

impl FromStr for X0Limit {
    type Err = BadX0Limit;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadX0Limit(text.to_owned());
        let words: Vec<&str> = text.split_whitespace().collect();
        let number = |word: &str| word.parse::<f64>().map_err(|_| bad());
        let limit = match words.as_slice() {
            ["clip", range] => Self::Clip {
                range: number(range)?,
            },
            ["dynamic", ratio, ceiling] => Self::Dynamic {
                ratio: number(ratio)?,
                ceiling: number(ceiling)?,
            },
            _ => return Err(bad()),
        };
        if limit.is_valid() {
            Ok(limit)
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_holds_every_value_within_the_range() {
        let limited = X0Limit::Clip { range: 1.5 }.apply(&[-3.0, -1.0, 0.5, 2.0], 0);
        assert_eq!(limited, [-1.5, -1.0, 0.5, 1.5]);
    }

    #[test]
    fn dynamic_thresholding_scales_each_image_by_its_own_quantile() {
        // Image 1: |x̂0| = 0.5, 1, 2, 4; its 0.5 quantile is 1.5 → clipped to ±1.5, divided by 1.5.
        // Image 2 lies within [−1, 1]: s = 1, nothing changes.
        let x0 = [0.5, -1.0, 2.0, -4.0, 0.1, -0.2, 0.3, 0.9];
        let limit = X0Limit::Dynamic {
            ratio: 0.5,
            ceiling: 3.0,
        };
        let limited = limit.apply(&x0, 4);
        let expected = [0.5 / 1.5, -1.0 / 1.5, 1.0, -1.0, 0.1, -0.2, 0.3, 0.9];
        for (got, want) in limited.iter().zip(expected) {
            assert!((got - f64::from(want as f32)).abs() < 1e-7, "{limited:?}");
        }
        // The ceiling caps s.
        let capped = X0Limit::Dynamic {
            ratio: 1.0,
            ceiling: 2.0,
        }
        .apply(&[4.0, -1.0], 2);
        assert_eq!(capped, [1.0, -0.5]);
    }

    #[test]
    fn the_text_form_reads_back() {
        for limit in [
            X0Limit::Clip { range: 1.0 },
            X0Limit::Dynamic {
                ratio: 0.995,
                ceiling: 1.5,
            },
        ] {
            assert_eq!(limit.to_string().parse::<X0Limit>().ok(), Some(limit));
        }
        for bad in [
            "clip",
            "clip -1",
            "dynamic 0 2",
            "dynamic 0.9 0.5",
            "round 1",
        ] {
            assert!(bad.parse::<X0Limit>().is_err(), "{bad}");
        }
    }
}

//! Timestep spacing: which timesteps of a discrete schedule a run of n steps visits.
//!
//! diffusers offers three rules (`timestep_spacing`), and results differ visibly at small n, so the
//! program offers them too. In diffusers' indices i = 0..T−1 (our t = i + 1):
//! - **leading**: i_k = k·⌊T/n⌋, largest first (the DDIM paper's; never reaches the noisiest step),
//! - **trailing**: i_k = round(T − k·T/n) − 1 (always starts in pure noise; Lin et al. 2024),
//! - **linspace**: n values evenly from 0 to T − 1, rounded.

use std::fmt;

/// How the steps of a run are spread over the timesteps 1..=T.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Spacing {
    /// Multiples of ⌊T/n⌋ from the clean end (diffusers' "leading").
    Leading,
    /// Evenly from T down, always starting at T (diffusers' "trailing").
    #[default]
    Trailing,
    /// n evenly spaced values over the whole range, rounded (diffusers' "linspace").
    Linspace,
}

impl Spacing {
    /// Every spacing, in the order menus list them.
    pub const ALL: [Self; 3] = [Self::Leading, Self::Trailing, Self::Linspace];

    /// The name on the command line, as diffusers spells it.
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Leading => "leading",
            Self::Trailing => "trailing",
            Self::Linspace => "linspace",
        }
    }

    /// The timesteps (our convention, 1..=T) a run of `steps` steps visits, noisiest first.
    /// `steps` is clamped to 1..=T.
    pub fn timesteps(self, train_steps: usize, steps: usize) -> Vec<usize> {
        let train_steps = train_steps.max(1);
        let n = steps.clamp(1, train_steps);
        let indices: Vec<usize> = match self {
            Self::Leading => {
                let ratio = train_steps / n;
                (0..n).rev().map(|k| k * ratio).collect()
            }
            Self::Trailing => {
                let ratio = train_steps as f64 / n as f64;
                (0..n)
                    .map(|k| (train_steps as f64 - k as f64 * ratio).round_ties_even() as usize - 1)
                    .collect()
            }
            Self::Linspace => {
                let last = (train_steps - 1) as f64;
                (0..n)
                    .rev()
                    .map(|k| {
                        let value = if n == 1 {
                            0.0
                        } else {
                            last * k as f64 / (n - 1) as f64
                        };
                        value.round_ties_even() as usize
                    })
                    .collect()
            }
        };
        indices.into_iter().map(|i| i + 1).collect()
    }
}

impl fmt::Display for Spacing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// A spacing name that is not one of [`Spacing::ALL`].
#[derive(Debug, thiserror::Error)]
#[error("unknown timestep spacing “{0}”")]
pub struct UnknownSpacing(pub String);

impl std::str::FromStr for Spacing {
    type Err = UnknownSpacing;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|spacing| spacing.cli_name() == name)
            .ok_or_else(|| UnknownSpacing(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spacings_match_diffusers() {
        // numpy: (np.arange(0, 10) * 100).round()[::-1] + 1 etc., shifted to our t = i + 1.
        assert_eq!(
            Spacing::Leading.timesteps(1000, 10),
            [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]
        );
        assert_eq!(
            Spacing::Trailing.timesteps(1000, 10),
            [1000, 900, 800, 700, 600, 500, 400, 300, 200, 100]
        );
        // np.linspace(0, 999, 10).round() = 0, 111, 222, 333, 444, 555, 666, 777, 888, 999.
        assert_eq!(
            Spacing::Linspace.timesteps(1000, 10),
            [1000, 889, 778, 667, 556, 445, 334, 223, 112, 1]
        );
        assert_eq!(Spacing::Trailing.timesteps(1000, 3), [1000, 667, 333]);
        assert_eq!(Spacing::Trailing.timesteps(5, 50), [5, 4, 3, 2, 1]);
        assert_eq!(Spacing::Linspace.timesteps(1000, 1), [1]);
        assert_eq!(Spacing::Trailing.timesteps(1000, 0), [1000]);
    }
}

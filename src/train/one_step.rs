//! One training step taken apart, as the Training view shows it: a real digit x0, a point of the
//! noise path, seeded noise ε → x_t = a·x0 + s·ε → the network's output → the target its objective
//! asks for → the squared error of every pixel and their mean, the loss. The same arithmetic as
//! a training batch (`batch.rs`), for one example whose every part is kept.
//!
//! Points of the path are given as a fraction of the way from the data (0) to pure noise (1), so
//! that one slider serves every objective: t = fraction·T on a discrete schedule (at least 1),
//! σ = fraction on the straight flow path.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::mnist::{Digits, PIXELS};
use crate::diffusion::noise::{NoiseStream, fill_standard_normal, splitmix64};
use crate::diffusion::objectives::{Coefficients, Objective};
use crate::i18n::Lang;
use crate::sample::{Denoiser, ModelTraits, SampleError};

/// Where on a model's noise path: the weights of x0 and ε, and the network's time input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathLevel {
    /// The fraction of the way to pure noise it was asked for (0–1).
    pub fraction: f64,
    /// The timestep t (1..=T) of a discrete schedule; `None` on the flow path.
    pub timestep: Option<usize>,
    /// a and s.
    pub coefficients: Coefficients,
    /// What the network is told: t for ε and v, T·σ for flow matching (as in training).
    pub time_input: f32,
}

impl PathLevel {
    /// The point `fraction` (clamped to 0–1) of the way along `traits`' path.
    pub fn at(traits: &ModelTraits, fraction: f64) -> Self {
        let fraction = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            1.0
        };
        let steps = traits.schedule.steps();
        if traits.objective.is_discrete() {
            let t = ((fraction * steps as f64).round() as usize).clamp(1, steps.max(1));
            Self {
                fraction,
                timestep: Some(t),
                coefficients: Coefficients::discrete(&traits.schedule, t),
                time_input: t as f32,
            }
        } else {
            Self {
                fraction,
                timestep: None,
                coefficients: Coefficients::flow(fraction),
                time_input: (fraction * steps as f64) as f32,
            }
        }
    }

    /// The signal-to-noise ratio a²/s² (infinite at the data itself).
    pub fn snr(&self) -> f64 {
        let Coefficients { signal, noise } = self.coefficients;
        (signal * signal) / (noise * noise)
    }
}

/// Which example a step is made of.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepChoice {
    /// The digit's index in the data set.
    pub digit: usize,
    /// How far along the noise path (0–1).
    pub fraction: f64,
    /// The seed of ε.
    pub noise_seed: u64,
}

impl StepChoice {
    /// The example step `step` of a run seeded `seed` draws, as training draws its examples: a
    /// digit uniformly among `digits`, t uniformly in 1..=T (σ uniformly in [0, 1) for flow
    /// matching), fresh noise.
    pub fn drawn(seed: u64, step: u64, digits: usize, traits: &ModelTraits) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(step);
        let digit = rng.random_range(0..digits.max(1));
        let fraction = if traits.objective.is_discrete() {
            let steps = traits.schedule.steps().max(1);
            rng.random_range(1..=steps) as f64 / steps as f64
        } else {
            rng.random::<f64>()
        };
        Self {
            digit,
            fraction,
            // Short enough to read and type in the window.
            noise_seed: splitmix64(seed ^ splitmix64(step)) % 1_000_000,
        }
    }
}

/// Every part of one training step, each image [`PIXELS`] values.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainingStep {
    /// What it was made of.
    pub choice: StepChoice,
    /// The model's objective (what its output and target are).
    pub objective: Objective,
    /// The digit's label, given to the network as its class.
    pub label: u32,
    /// The point of the path.
    pub level: PathLevel,
    /// The real digit, in [−1, 1].
    pub x0: Vec<f32>,
    /// The noise, N(0, 1).
    pub eps: Vec<f32>,
    /// a·x0 + s·ε.
    pub x_t: Vec<f32>,
    /// The network's output: ε̂, v̂ or the velocity û.
    pub output: Vec<f32>,
    /// What it should have output: ε, v = a·ε − s·x0 or u = ε − x0.
    pub target: Vec<f32>,
    /// (output − target)² per pixel.
    pub squared_error: Vec<f32>,
    /// The mean of `squared_error`: this example's loss.
    pub loss: f64,
}

/// Why a step could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The digit asked for is not in the data set.
    #[error("there is no digit {index} among {count}")]
    NoSuchDigit {
        /// The index asked for.
        index: usize,
        /// Digits in the set.
        count: usize,
    },
    /// The network failed or gave a wrong-sized answer.
    #[error(transparent)]
    Network(#[from] SampleError),
}

impl StepError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::NoSuchDigit { index, count }, Lang::En) => {
                format!("There is no digit number {index}: the data set has {count}.")
            }
            (Self::NoSuchDigit { index, count }, Lang::Zh) => {
                format!("没有第 {index} 个数字：数据集只有 {count} 个。")
            }
            (Self::Network(error), lang) => error.sentence(lang),
        }
    }
}

/// The example a step is made of, before the network sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct NoisyExample {
    /// The real digit, in [−1, 1].
    pub x0: Vec<f32>,
    /// Its label.
    pub label: u32,
    /// The point of the path.
    pub level: PathLevel,
    /// The noise, N(0, 1), seeded by the choice.
    pub eps: Vec<f32>,
    /// a·x0 + s·ε.
    pub x_t: Vec<f32>,
}

/// The digit, level and noise of `choice` on `traits`' path, and x_t made of them.
pub fn noisy_example(
    traits: &ModelTraits,
    data: &Digits,
    choice: StepChoice,
) -> Result<NoisyExample, StepError> {
    let no_digit = || StepError::NoSuchDigit {
        index: choice.digit,
        count: data.count,
    };
    let x0 = data.image_unit(choice.digit).ok_or_else(no_digit)?;
    let label = data
        .label(choice.digit)
        .map(u32::from)
        .ok_or_else(no_digit)?;
    let level = PathLevel::at(traits, choice.fraction);
    let mut eps = vec![0.0; PIXELS];
    fill_standard_normal(&mut eps, choice.noise_seed, NoiseStream::Jump);
    let x_t = level.coefficients.noisy(&x0, &eps);
    Ok(NoisyExample {
        x0,
        label,
        level,
        eps,
        x_t,
    })
}

/// Takes the step `choice` with `model`: the network runs once, on one image.
pub fn take_step(
    model: &dyn Denoiser,
    traits: &ModelTraits,
    data: &Digits,
    choice: StepChoice,
) -> Result<TrainingStep, StepError> {
    let NoisyExample {
        x0,
        label,
        level,
        eps,
        x_t,
    } = noisy_example(traits, data, choice)?;
    let output = model.predict(&x_t, 1, &[level.time_input], &[label])?;
    let target = traits
        .objective
        .training_target(&x0, &eps, level.coefficients);
    let squared_error: Vec<f32> = output
        .iter()
        .zip(&target)
        .map(|(o, t)| (o - t) * (o - t))
        .collect();
    let loss = mean(&squared_error);
    Ok(TrainingStep {
        choice,
        objective: traits.objective,
        label,
        level,
        x0,
        eps,
        x_t,
        output,
        target,
        squared_error,
        loss,
    })
}

/// The mean of `values` in f64 (0 for none).
pub(crate) fn mean(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len().max(1) as f64
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
    use crate::sample::ImageShape;

    /// A network that always answers its value (also `loss_by_t`'s tests').
    pub(in crate::train) struct Constant(pub f32);

    impl Denoiser for Constant {
        fn image_shape(&self) -> ImageShape {
            ImageShape::grey(28, 28)
        }

        fn predict(
            &self,
            x_t: &[f32],
            _: usize,
            _: &[f32],
            _: &[u32],
        ) -> Result<Vec<f32>, SampleError> {
            Ok(vec![self.0; x_t.len()])
        }
    }

    /// The linear schedule of T = 1000 with `objective`.
    pub(in crate::train) fn traits(objective: Objective) -> ModelTraits {
        ModelTraits {
            objective,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        }
    }

    fn digits() -> Digits {
        Digits {
            images: (0..2 * PIXELS).map(|i| (i * 7 % 256) as u8).collect(),
            labels: vec![3, 8],
            count: 2,
        }
    }

    #[test]
    fn levels_span_the_path_of_each_objective() {
        let eps = traits(Objective::Eps);
        assert_eq!(PathLevel::at(&eps, 0.0).timestep, Some(1));
        assert_eq!(PathLevel::at(&eps, 0.5).time_input, 500.0);
        assert_eq!(PathLevel::at(&eps, 7.0).timestep, Some(1000));
        assert_eq!(PathLevel::at(&eps, f64::NAN).timestep, Some(1000));
        let flow = PathLevel::at(&traits(Objective::Flow), 0.25);
        assert_eq!((flow.timestep, flow.time_input), (None, 250.0));
        assert_eq!(flow.coefficients, Coefficients::flow(0.25));
        assert!((flow.snr() - 9.0).abs() < 1e-12);
    }

    #[test]
    fn a_step_keeps_every_part_and_its_loss_is_the_mean_squared_error() {
        for objective in [Objective::Eps, Objective::V, Objective::Flow] {
            let traits = traits(objective);
            let choice = StepChoice {
                digit: 1,
                fraction: 0.3,
                noise_seed: 5,
            };
            let step = take_step(&Constant(0.0), &traits, &digits(), choice).unwrap();
            assert_eq!(step.label, 8);
            let a = step.level.coefficients;
            for p in [0, 300, 783] {
                let x_t = a.signal as f32 * step.x0[p] + a.noise as f32 * step.eps[p];
                assert!((step.x_t[p] - x_t).abs() < 1e-6);
                // The network answered 0, so each pixel's error is its target squared.
                assert_eq!(step.squared_error[p], step.target[p] * step.target[p]);
            }
            let expected = mean(&step.target.iter().map(|t| t * t).collect::<Vec<_>>());
            assert!((step.loss - expected).abs() < 1e-12);
            let same = take_step(&Constant(0.0), &traits, &digits(), choice).unwrap();
            assert_eq!(same, step, "the same choice takes the same step");
        }
    }

    #[test]
    fn drawn_steps_follow_training_and_a_missing_digit_is_named() {
        let traits = traits(Objective::Eps);
        let a = StepChoice::drawn(1, 0, 2, &traits);
        assert_eq!(a, StepChoice::drawn(1, 0, 2, &traits));
        assert_ne!(a, StepChoice::drawn(1, 1, 2, &traits));
        assert!(a.digit < 2 && a.fraction > 0.0 && a.fraction <= 1.0);
        let choice = StepChoice { digit: 2, ..a };
        let error = take_step(&Constant(0.0), &traits, &digits(), choice).unwrap_err();
        assert!(matches!(
            error,
            StepError::NoSuchDigit { index: 2, count: 2 }
        ));
    }
}

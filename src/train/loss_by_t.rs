//! Which t are hard: a model's training loss measured at fixed points of its noise path, over a
//! fixed set of real digits, each with its own seeded noise (the same ε at every level, so the
//! curve moves with the level and not with the draw).
//!
//! Two figures per level: the loss the model was trained on (the mean squared error of its own
//! output against its objective's target) and the error of the clean image it implies,
//! mean (x̂0 − x0)². They differ by a weight that depends only on the level: for ε-prediction
//! |ε̂ − ε|² = SNR·|x̂0 − x0|², for v-prediction (SNR + 1)·|x̂0 − x0|², for flow matching
//! |û − u|² = |x̂0 − x0|²/σ², which is why ε's own loss is largest near t = 0 while every model's
//! x̂0 is worst in the noise.

use std::ops::ControlFlow;

use super::one_step::{PathLevel, mean};
use crate::data::mnist::{Digits, PIXELS};
use crate::diffusion::noise::{NoiseStream, fill_standard_normal, splitmix64};
use crate::diffusion::objectives::Objective;
use crate::sample::{Denoiser, ModelTraits, SampleError};

/// Images per network call.
const BATCH: usize = 64;

/// What to measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LossCurveSpec {
    /// Points of the path; level k of n is (k/n)² of the way to pure noise, so that the small t
    /// where ε-prediction struggles are sampled finely.
    pub levels: usize,
    /// How many digits: the last ones of the data set (the 1,000 the classifier never saw).
    pub digits: usize,
    /// The seed of the noise.
    pub seed: u64,
}

/// The loss at one level.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LevelLoss {
    /// The point of the path.
    pub level: PathLevel,
    /// The mean squared error of the network's output against its target.
    pub loss: f64,
    /// The mean squared error of the x̂0 it implies against x0.
    pub x0_error: f64,
}

/// The fractions of the path measured: (k/n)² for k = 1..=n.
pub fn level_fractions(levels: usize) -> Vec<f64> {
    (1..=levels)
        .map(|k| (k as f64 / levels as f64).powi(2))
        .collect()
}

/// Measures `model` at every level of `spec` on the last `spec.digits` digits of `data` (each
/// with its own label as its class). `on_level` hears the number of levels done after each and
/// may stop the measurement; the levels measured until then are returned.
pub fn loss_by_level(
    model: &dyn Denoiser,
    traits: &ModelTraits,
    data: &Digits,
    spec: LossCurveSpec,
    on_level: &mut dyn FnMut(usize) -> ControlFlow<()>,
) -> Result<Vec<LevelLoss>, SampleError> {
    let count = spec.digits.min(data.count);
    let first = data.count - count;
    let mut x0 = vec![0.0f32; count * PIXELS];
    let mut labels = Vec::with_capacity(count);
    for (k, image) in x0.chunks_exact_mut(PIXELS).enumerate() {
        data.write_image_unit(first + k, image);
        labels.push(data.label(first + k).map_or(0, u32::from));
    }
    let mut eps = vec![0.0f32; count * PIXELS];
    for (k, noise) in eps.chunks_exact_mut(PIXELS).enumerate() {
        fill_standard_normal(
            noise,
            splitmix64(spec.seed ^ (first + k) as u64),
            NoiseStream::Jump,
        );
    }
    let mut measured = Vec::with_capacity(spec.levels);
    for fraction in level_fractions(spec.levels) {
        let level = PathLevel::at(traits, fraction);
        measured.push(measure_level(
            model,
            traits.objective,
            level,
            (&x0, &eps),
            &labels,
        )?);
        if on_level(measured.len()).is_break() {
            break;
        }
    }
    Ok(measured)
}

/// The loss and x̂0 error at `level` over the digits `x0` with noise `eps`, in batches.
fn measure_level(
    model: &dyn Denoiser,
    objective: Objective,
    level: PathLevel,
    (x0, eps): (&[f32], &[f32]),
    labels: &[u32],
) -> Result<LevelLoss, SampleError> {
    let at = level.coefficients;
    let (mut loss_sum, mut x0_sum) = (0.0, 0.0);
    let batches = x0.chunks(BATCH * PIXELS).zip(eps.chunks(BATCH * PIXELS));
    for ((x0, eps), labels) in batches.zip(labels.chunks(BATCH)) {
        let x_t = at.noisy(x0, eps);
        let n = labels.len();
        let output = model.predict(&x_t, n, &vec![level.time_input; n], labels)?;
        let target = objective.training_target(x0, eps, at);
        let squared: Vec<f32> = output
            .iter()
            .zip(&target)
            .map(|(o, t)| (o - t) * (o - t))
            .collect();
        loss_sum += mean(&squared) * n as f64;
        let guess = objective.predict(&output, &x_t, at).x0;
        let missed: Vec<f32> = guess
            .iter()
            .zip(x0)
            .map(|(g, x)| (g - x) * (g - x))
            .collect();
        x0_sum += mean(&missed) * n as f64;
    }
    let n = labels.len().max(1) as f64;
    Ok(LevelLoss {
        level,
        loss: loss_sum / n,
        x0_error: x0_sum / n,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::one_step::tests::{Constant, traits};

    /// A network that answers 0 for every pixel.
    const ZERO: Constant = Constant(0.0);

    /// 100 digits, all black (−1), so that every target is known in closed form.
    fn black_digits() -> Digits {
        Digits {
            images: vec![0; 100 * PIXELS],
            labels: vec![4; 100],
            count: 100,
        }
    }

    fn measure(objective: Objective, digits: usize) -> Vec<LevelLoss> {
        let spec = LossCurveSpec {
            levels: 5,
            digits,
            seed: 1,
        };
        let mut never = |_| ControlFlow::Continue(());
        loss_by_level(&ZERO, &traits(objective), &black_digits(), spec, &mut never).unwrap()
    }

    #[test]
    fn a_network_that_answers_zero_loses_what_its_targets_weigh() {
        // ε-prediction: the loss of answering 0 is E[ε²] = 1 at every level (78,400 draws:
        // within 0.02); its x̂0 is x_t/a = x0 + (s/a)·ε, off by 1/SNR in the mean square.
        for level in measure(Objective::Eps, 100) {
            assert!((level.loss - 1.0).abs() < 0.02, "{level:?}");
            assert!(
                (level.x0_error * level.level.snr() - 1.0).abs() < 0.02,
                "{level:?}"
            );
        }
        // Flow: the target ε − x0 with x0 = −1 has E[(ε + 1)²] = 2; x̂0 = x_t, off by σ·(ε + 1),
        // so its error is 2σ².
        for level in measure(Objective::Flow, 100) {
            let sigma = level.level.fraction;
            assert!((level.loss - 2.0).abs() < 0.04, "{level:?}");
            assert!(
                (level.x0_error - 2.0 * sigma * sigma).abs() < 0.04,
                "{level:?}"
            );
        }
        // v-prediction: v = a·ε − s·x0 = a·ε + s, E[v²] = a² + s² = 1; x̂0 = a·x_t is off by
        // a·(a·x0 + s·ε) − x0 = −a² + a·s·ε + 1 = s² + a·s·ε, whose mean square is s⁴ + a²s² = s².
        for level in measure(Objective::V, 100) {
            let s = level.level.coefficients.noise;
            assert!((level.loss - 1.0).abs() < 0.02, "{level:?}");
            assert!((level.x0_error - s * s).abs() < 0.02, "{level:?}");
        }
    }

    #[test]
    fn levels_are_finer_near_the_data_and_a_measurement_can_stop() {
        let fractions = level_fractions(4);
        assert_eq!(fractions, vec![1.0 / 16.0, 0.25, 9.0 / 16.0, 1.0]);
        let spec = LossCurveSpec {
            levels: 10,
            digits: 3,
            seed: 2,
        };
        let mut heard = Vec::new();
        let mut stop_after_two = |done| {
            heard.push(done);
            if done == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let traits = traits(Objective::Eps);
        let measured =
            loss_by_level(&ZERO, &traits, &black_digits(), spec, &mut stop_after_two).unwrap();
        assert_eq!((measured.len(), heard), (2, vec![1, 2]));
        // More digits than the set has: all of them.
        assert_eq!(measure(Objective::Eps, 1_000).len(), 5);
    }
}

//! The Clock lesson's arithmetic: how a denoiser is told t. The sinusoidal embedding of every t
//! as a heat map, how alike the embeddings of two times are (a t × t matrix of cosine
//! similarities, for the sinusoid and for what a network's time MLP makes of it), and the same
//! noisy digit shown to a model told t and to one that is not, at several noise levels.
//!
//! Nothing here draws; the Clock view ([`crate::ui`]) runs these on background jobs.

pub mod attention_run;
pub mod coordinates;

use candle_core::{Device, Tensor};

use crate::data::mnist::Digits;
use crate::i18n::Lang;
use crate::model::layers::sinusoid_values;
use crate::model::{CheckpointError, DenoisingNetwork, load_diffusion_model, resolve_model};
use crate::sample::{Denoiser, ModelTraits};
use crate::train::one_step::{StepChoice, StepError, mean, take_step};

/// A table of numbers to draw as a heat map, row by row.
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub columns: usize,
    /// `rows × columns` values, row by row.
    pub values: Vec<f32>,
}

/// The time input of column `column` of `columns` spread evenly over t = 1..=`steps`.
pub fn column_time(column: usize, columns: usize, steps: usize) -> f32 {
    if columns < 2 {
        return 1.0;
    }
    1.0 + column as f32 * (steps.max(1) - 1) as f32 / (columns - 1) as f32
}

/// The time inputs of `count` columns spread over t = 1..=`steps`.
pub fn spread_times(count: usize, steps: usize) -> Vec<f32> {
    (0..count).map(|c| column_time(c, count, steps)).collect()
}

/// The sinusoidal embedding of `columns` times spread over 1..=`steps`: one row per dimension of
/// the embedding (`dim` rows: the cosines, then the sines), one column per time, values in [−1, 1].
pub fn sinusoid_heat_map(dim: usize, steps: usize, columns: usize) -> HeatMap {
    let embedded: Vec<Vec<f32>> = spread_times(columns, steps)
        .into_iter()
        .map(|t| sinusoid_values(t, dim))
        .collect();
    let values = (0..dim)
        .flat_map(|row| embedded.iter().map(move |column| column[row]))
        .collect();
    HeatMap {
        rows: dim,
        columns,
        values,
    }
}

/// The cosine similarity of every pair of `vectors`: an n × n table, 1 on the diagonal (0 where a
/// vector is all zeros).
pub fn cosine_similarities(vectors: &[Vec<f32>]) -> HeatMap {
    let norms: Vec<f64> = vectors.iter().map(|v| dot(v, v).sqrt()).collect();
    let n = vectors.len();
    let mut values = Vec::with_capacity(n * n);
    for (a, norm_a) in vectors.iter().zip(&norms) {
        for (b, norm_b) in vectors.iter().zip(&norms) {
            let scale = norm_a * norm_b;
            values.push(if scale > 0.0 {
                (dot(a, b) / scale) as f32
            } else {
                0.0
            });
        }
    }
    HeatMap {
        rows: n,
        columns: n,
        values,
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// How alike the sinusoids of `count` times spread over 1..=`steps` are.
pub fn sinusoid_similarities(dim: usize, steps: usize, count: usize) -> HeatMap {
    let vectors: Vec<Vec<f32>> = spread_times(count, steps)
        .into_iter()
        .map(|t| sinusoid_values(t, dim))
        .collect();
    cosine_similarities(&vectors)
}

/// What a network's time MLP makes of `count` times spread over 1..=`steps`, as a similarity
/// table, with the length of its sinusoid; `None` for a network that is not told t.
pub fn network_similarities(
    net: &DenoisingNetwork,
    device: &Device,
    steps: usize,
    count: usize,
) -> candle_core::Result<Option<(HeatMap, usize)>> {
    let t = Tensor::from_vec(spread_times(count, steps), count, device)?;
    let Some((embedded, dim)) = net.time_embedding(&t)? else {
        return Ok(None);
    };
    let vectors: Vec<Vec<f32>> = embedded.to_device(&Device::Cpu)?.to_vec2()?;
    Ok(Some((cosine_similarities(&vectors), dim)))
}

/// [`network_similarities`] of model `name` (a file or a shipped model), opened on the CPU;
/// what went wrong as a sentence in English and in Chinese.
pub fn model_clock(
    name: &str,
    steps: usize,
    count: usize,
) -> Result<Option<(HeatMap, usize)>, (String, String)> {
    let sentence = |e: &CheckpointError| (e.sentence(Lang::En), e.sentence(Lang::Zh));
    let path = resolve_model(name).map_err(|e| sentence(&e))?;
    let model = load_diffusion_model(&path, &Device::Cpu).map_err(|e| sentence(&e))?;
    network_similarities(&model.net, &Device::Cpu, steps, count).map_err(|e| {
        (
            format!("The network could not run: {e}"),
            format!("网络无法运行：{e}"),
        )
    })
}

/// A model's guesses for one noisy digit, and how far each is from the truth.
#[derive(Clone, Debug, PartialEq)]
pub struct Guess {
    /// x̂0, its guess of the clean digit.
    pub x0: Vec<f32>,
    /// ε̂, the noise it thinks it sees.
    pub eps: Vec<f32>,
    /// The mean squared error of x̂0 against the real digit.
    pub x0_error: f64,
    /// The mean squared error of ε̂ against the real noise.
    pub eps_error: f64,
}

/// One noise level of the comparison.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeComparison {
    /// How far along the noise path (0: the digit, 1: pure noise).
    pub fraction: f64,
    /// The timestep t, on a discrete schedule.
    pub timestep: Option<usize>,
    /// The noisy digit both models see.
    pub x_t: Vec<f32>,
    /// The model told t.
    pub told: Guess,
    /// The model that is not.
    pub blind: Guess,
}

/// A model and what it was trained on.
pub type ModelRef<'a> = (&'a dyn Denoiser, &'a ModelTraits);

/// Shows digit `digit` noised with seed `noise_seed` at each of `fractions` to a model told t and
/// to one that is not (both trained on the same path, so that they see the same x_t).
pub fn compare_told_and_blind(
    told: ModelRef<'_>,
    blind: ModelRef<'_>,
    data: &Digits,
    (digit, noise_seed): (usize, u64),
    fractions: &[f64],
) -> Result<Vec<TimeComparison>, StepError> {
    fractions
        .iter()
        .map(|&fraction| {
            let choice = StepChoice {
                digit,
                fraction,
                noise_seed,
            };
            let told_guess = guess(told, data, choice)?;
            let blind_guess = guess(blind, data, choice)?;
            Ok(TimeComparison {
                fraction: told_guess.0.level.fraction,
                timestep: told_guess.0.level.timestep,
                x_t: told_guess.0.x_t.clone(),
                told: told_guess.1,
                blind: blind_guess.1,
            })
        })
        .collect()
}

fn guess(
    (model, traits): ModelRef<'_>,
    data: &Digits,
    choice: StepChoice,
) -> Result<(crate::train::one_step::TrainingStep, Guess), StepError> {
    let step = take_step(model, traits, data, choice)?;
    let prediction = traits
        .objective
        .predict(&step.output, &step.x_t, step.level.coefficients);
    let error = |guess: &[f32], truth: &[f32]| {
        mean(
            &guess
                .iter()
                .zip(truth)
                .map(|(g, t)| (g - t) * (g - t))
                .collect::<Vec<_>>(),
        )
    };
    let made = Guess {
        x0_error: error(&prediction.x0, &step.x0),
        eps_error: error(&prediction.eps, &step.eps),
        x0: prediction.x0,
        eps: prediction.eps,
    };
    Ok((step, made))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heat_map_holds_the_sinusoid_of_each_column_time() {
        let map = sinusoid_heat_map(8, 1000, 5);
        assert_eq!((map.rows, map.columns, map.values.len()), (8, 5, 40));
        assert_eq!(spread_times(5, 1000), [1.0, 250.75, 500.5, 750.25, 1000.0]);
        for column in 0..5 {
            let expected = sinusoid_values(column_time(column, 5, 1000), 8);
            for (row, value) in expected.iter().enumerate() {
                assert_eq!(map.values[row * 5 + column], *value);
            }
        }
        // The first dimension is cos(t·1): it changes fastest.
        assert_eq!(map.values[0], 1f32.cos());
    }

    #[test]
    fn similarities_are_one_on_the_diagonal_symmetric_and_fall_with_distance() {
        let table = sinusoid_similarities(32, 1000, 50);
        let at = |i: usize, j: usize| table.values[i * 50 + j];
        for i in 0..50 {
            assert!((at(i, i) - 1.0).abs() < 1e-6);
            for j in 0..50 {
                assert!((at(i, j) - at(j, i)).abs() < 1e-6);
            }
        }
        // Nearby times look more alike than distant ones.
        assert!(at(20, 21) > at(20, 30) && at(20, 30) > at(20, 45));
        let zero = cosine_similarities(&[vec![0.0, 0.0], vec![1.0, 0.0]]);
        assert_eq!(zero.values, [0.0, 0.0, 0.0, 1.0]);
    }
}

//! One training batch as plain numbers: which digits, which labels (some dropped to "no class"),
//! which noise level, the noise itself, the noisy images x_t and the target the network should
//! output. A pure function of (seed, step): the same step of the same run always draws the same batch,
//! whether or not the run was interrupted and resumed.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::mnist::{Digits, PIXELS};
use crate::diffusion::NoiseSchedule;
use crate::diffusion::noise::{NoiseStream, fill_standard_normal, splitmix64};
use crate::diffusion::objectives::{Coefficients, Objective};

/// A batch ready to become tensors; every image is 784 values, digit after digit.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    /// Which digit of the data set each example is.
    pub indices: Vec<usize>,
    /// The class given to the network: the digit's label, or the "no class" id.
    pub labels: Vec<u32>,
    /// The network's timestep input: t ∈ 1..=T for ε and v, 1000·σ for flow matching.
    pub t_input: Vec<f32>,
    /// The noisy images x_t = a·x0 + s·ε.
    pub x_t: Vec<f32>,
    /// What the network should output (ε, v or ε − x0).
    pub target: Vec<f32>,
}

/// What a batch is drawn with.
#[derive(Clone, Copy, Debug)]
pub struct BatchSpec<'a> {
    /// The objective (decides how the noise level is drawn and what the target is).
    pub objective: Objective,
    /// The discrete schedule of the ε- and v-objectives (unused by flow matching).
    pub schedule: &'a NoiseSchedule,
    /// Examples per batch.
    pub batch: usize,
    /// Probability of replacing a label by `null_class`.
    pub label_dropout: f64,
    /// The "no class" id.
    pub null_class: u32,
    /// The run's seed.
    pub seed: u64,
}

/// Draws the batch of step `step` (0-based). Digits are drawn uniformly with replacement, as
/// `torch.randint` does in the reference trainer. Returns an empty batch if `data` is empty.
pub fn draw_batch(data: &Digits, spec: &BatchSpec<'_>, step: usize) -> Batch {
    let n = spec.batch;
    let mut batch = Batch {
        indices: Vec::with_capacity(n),
        labels: Vec::with_capacity(n),
        t_input: Vec::with_capacity(n),
        x_t: Vec::with_capacity(n * PIXELS),
        target: Vec::with_capacity(n * PIXELS),
    };
    if data.is_empty() {
        return batch;
    }
    // The choices of this step come from their own ChaCha stream; the noise from its own seed.
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(step as u64);
    let mut noise = vec![0.0f32; n * PIXELS];
    fill_standard_normal(
        &mut noise,
        step_noise_seed(spec.seed, step),
        NoiseStream::Jump,
    );
    let steps_t = spec.schedule.steps();
    let mut x0 = vec![0.0f32; PIXELS];
    for eps in noise.chunks_exact(PIXELS) {
        let index = rng.random_range(0..data.count);
        let dropped = rng.random::<f64>() < spec.label_dropout;
        let label = data.label(index).map_or(spec.null_class, u32::from);
        let (at, t_input) = match spec.objective {
            Objective::Flow => {
                let sigma = rng.random::<f64>();
                (Coefficients::flow(sigma), (sigma * steps_t as f64) as f32)
            }
            Objective::Eps | Objective::V | Objective::X0 => {
                let t = rng.random_range(1..=steps_t);
                (Coefficients::discrete(spec.schedule, t), t as f32)
            }
        };
        data.write_image_unit(index, &mut x0);
        batch.indices.push(index);
        batch
            .labels
            .push(if dropped { spec.null_class } else { label });
        batch.t_input.push(t_input);
        batch.x_t.extend(at.noisy(&x0, eps));
        batch
            .target
            .extend(spec.objective.training_target(&x0, eps, at));
    }
    batch
}

/// The noise seed of step `step` of a run seeded with `seed` (SplitMix64 mixing, so that nearby
/// seeds and steps give unrelated noise).
fn step_noise_seed(seed: u64, step: usize) -> u64 {
    splitmix64(seed ^ splitmix64(step as u64 ^ 0x7472_6169_6e00_0000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::{ScheduleConfig, ScheduleKind};

    fn digits() -> Digits {
        Digits {
            images: (0..3 * PIXELS).map(|i| (i % 251) as u8).collect(),
            labels: vec![0, 7, 9],
            count: 3,
        }
    }

    #[test]
    fn same_step_same_batch_other_step_other_batch() {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000));
        let spec = BatchSpec {
            objective: Objective::V,
            schedule: &schedule,
            batch: 8,
            label_dropout: 0.5,
            null_class: 10,
            seed: 3,
        };
        let data = digits();
        let a = draw_batch(&data, &spec, 5);
        assert_eq!(a, draw_batch(&data, &spec, 5));
        assert_ne!(a, draw_batch(&data, &spec, 6));
        assert_ne!(a, draw_batch(&data, &BatchSpec { seed: 4, ..spec }, 5));
        assert_eq!(a.x_t.len(), 8 * PIXELS);
        assert_eq!(a.target.len(), 8 * PIXELS);
        assert!(a.t_input.iter().all(|&t| (1.0..=1000.0).contains(&t)));
        for (&index, &label) in a.indices.iter().zip(&a.labels) {
            assert!(label == 10 || label == u32::from(data.labels[index]));
        }
    }

    #[test]
    fn flow_targets_are_noise_minus_image() {
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000));
        let spec = BatchSpec {
            objective: Objective::Flow,
            schedule: &schedule,
            batch: 4,
            label_dropout: 0.0,
            null_class: 10,
            seed: 1,
        };
        let data = digits();
        let batch = draw_batch(&data, &spec, 0);
        assert!(batch.labels.iter().all(|&y| y != 10));
        for (i, &index) in batch.indices.iter().enumerate() {
            let sigma = f64::from(batch.t_input[i]) / 1000.0;
            let x0 = data.image_unit(index).unwrap_or_default();
            for p in [0, 400, 783] {
                let u = f64::from(batch.target[i * PIXELS + p]);
                let x_t = f64::from(batch.x_t[i * PIXELS + p]);
                // x_t = (1 − σ)·x0 + σ·ε and u = ε − x0, so x_t − σ·u = x0.
                assert!((x_t - sigma * u - f64::from(x0[p])).abs() < 1e-3);
            }
        }
    }
}

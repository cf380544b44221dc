//! The coordinates lesson's arithmetic, for the digit transformer: where each patch attends at a
//! noise level (every block's attention weights for one noisy digit), and how alike the position
//! encodings of two patches are — learned vectors compared by cosine similarity; for 2D RoPE, the
//! mean over its frequency pairs of cos(angle difference), the factor a turn puts on a query–key
//! score between two patches — both kinds side by side, whichever the model uses.

use std::sync::Arc;

use candle_core::{Device, Tensor};

use super::HeatMap;
use crate::data::mnist::Digits;
use crate::i18n::Lang;
use crate::model::dit::rope::rope_angles;
use crate::model::{DigitDiT, Positions, load_diffusion_model, resolve_model};
use crate::sample::ModelTraits;
use crate::train::one_step::{NoisyExample, StepChoice, StepError, noisy_example};

/// A transformer and what it was trained on.
pub type Transformer = (Arc<DigitDiT>, ModelTraits);

/// Opens model `name` (a file or a shipped model) on the CPU, if it is a digit transformer; what
/// went wrong as a sentence in English and in Chinese.
pub fn open_transformer(name: &str) -> Result<Transformer, (String, String)> {
    let sentence = |e: &crate::model::CheckpointError| (e.sentence(Lang::En), e.sentence(Lang::Zh));
    let path = resolve_model(name).map_err(|e| sentence(&e))?;
    let model = load_diffusion_model(&path, &Device::Cpu).map_err(|e| sentence(&e))?;
    let traits =
        ModelTraits::of(&model.info).map_err(|e| (e.sentence(Lang::En), e.sentence(Lang::Zh)))?;
    let Some(net) = model.net.transformer() else {
        return Err((
            format!("{name} is not a transformer: it has no patches."),
            format!("{name} 不是 Transformer：它没有图块。"),
        ));
    };
    Ok((Arc::new(net.clone()), traits))
}

/// Every block's attention for one noisy digit.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionMaps {
    /// The noisy digit the transformer saw.
    pub x_t: Vec<f32>,
    /// The timestep, on a discrete schedule.
    pub timestep: Option<usize>,
    /// Patches along each side.
    pub grid: usize,
    /// Heads per block.
    pub heads: usize,
    /// Per block, `heads × tokens × tokens` weights: row i is where patch i looks.
    pub blocks: Vec<Vec<f32>>,
}

impl AttentionMaps {
    /// Where patch `patch` looks in block `block`: head `head`'s weights over every patch, or
    /// the heads' mean when `head` is `None` (`grid²` values summing to 1).
    pub fn of_patch(&self, block: usize, patch: usize, head: Option<usize>) -> Vec<f32> {
        let tokens = self.grid * self.grid;
        let Some(weights) = self.blocks.get(block) else {
            return vec![0.0; tokens];
        };
        let row = |h: usize| &weights[(h * tokens + patch) * tokens..][..tokens];
        match head {
            Some(h) if h < self.heads => row(h).to_vec(),
            _ => (0..tokens)
                .map(|j| (0..self.heads).map(|h| row(h)[j]).sum::<f32>() / self.heads as f32)
                .collect(),
        }
    }
}

/// Runs the digit `choice` (its label as the class) noised to `choice.fraction` through `net`,
/// keeping every block's attention.
pub fn attention_maps(
    (net, traits): (&DigitDiT, &ModelTraits),
    data: &Digits,
    choice: StepChoice,
) -> Result<AttentionMaps, StepError> {
    let NoisyExample {
        label, level, x_t, ..
    } = noisy_example(traits, data, choice)?;
    let network = |e: candle_core::Error| {
        StepError::Network(crate::sample::SampleError::Network {
            detail: e.to_string(),
        })
    };
    let run = || -> candle_core::Result<Vec<Vec<f32>>> {
        let x = Tensor::from_vec(x_t.clone(), (1, 1, 28, 28), &Device::Cpu)?;
        let t = Tensor::new(&[level.time_input], &Device::Cpu)?;
        let y = Tensor::new(&[label], &Device::Cpu)?;
        let (_, blocks) = net.forward_with_attention(&x, &t, &y)?;
        blocks.iter().map(|w| w.flatten_all()?.to_vec1()).collect()
    };
    let blocks = run().map_err(network)?;
    let config = net.config();
    Ok(AttentionMaps {
        x_t,
        timestep: level.timestep,
        grid: config.grid(),
        heads: config.heads,
        blocks,
    })
}

/// How alike the positions of every two patches are under each kind of positions, side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct PositionMaps {
    /// The positions the model uses.
    pub own: Positions,
    /// Learned positions (`tokens × tokens` cosine similarities of the vectors): the model's own
    /// table, or for a model without one the shipped learned transformer's; `None` if that could
    /// not be opened.
    pub learned: Option<HeatMap>,
    /// 2D RoPE on the model's patch grid and head size: the mean over its frequency pairs of
    /// cos(angle difference), a formula, the same for every RoPE model of this shape.
    pub rope: HeatMap,
}

/// Both kinds of position similarity for `net`; `learned_reference` is asked for a transformer
/// with learned positions only when `net` has none of its own.
pub fn position_maps(
    net: &DigitDiT,
    learned_reference: impl FnOnce() -> Option<Arc<DigitDiT>>,
) -> candle_core::Result<PositionMaps> {
    let config = net.config();
    let learned = match net.position_embedding() {
        Some(table) => Some(learned_similarities(table)?),
        None => match learned_reference() {
            Some(reference) => reference
                .position_embedding()
                .map(learned_similarities)
                .transpose()?,
            None => None,
        },
    };
    Ok(PositionMaps {
        own: config.positions,
        learned,
        rope: rope_similarities(config.grid(), config.head_dim()),
    })
}

/// Cosine similarities of the rows of a learned position table.
fn learned_similarities(table: &Tensor) -> candle_core::Result<HeatMap> {
    let rows: Vec<Vec<f32>> = table.to_device(&Device::Cpu)?.to_vec2()?;
    Ok(super::cosine_similarities(&rows))
}

/// 2D RoPE's similarity of every two patches of a `grid × grid` picture, for heads of
/// `head_dim` values: the mean over the frequency pairs of cos(angle difference).
pub fn rope_similarities(grid: usize, head_dim: usize) -> HeatMap {
    let angles = rope_angles(grid, head_dim);
    let n = angles.len();
    let mut values = Vec::with_capacity(n * n);
    for a in &angles {
        for b in &angles {
            let sum: f32 = a.iter().zip(b).map(|(x, y)| (x - y).cos()).sum();
            values.push(sum / a.len().max(1) as f32);
        }
    }
    HeatMap {
        rows: n,
        columns: n,
        values,
    }
}

#[cfg(test)]
mod tests {
    use candle_core::DType;
    use candle_nn::{VarBuilder, VarMap};

    use super::*;
    use crate::data::mnist::PIXELS;
    use crate::diffusion::objectives::Objective;
    use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
    use crate::model::DiTConfig;

    fn small(positions: Positions) -> DigitDiT {
        let config = DiTConfig {
            dim: 16,
            depth: 2,
            heads: 2,
            sinusoid_dim: 8,
            positions,
            ..DiTConfig::default()
        };
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        DigitDiT::new(&config, vb).unwrap()
    }

    #[test]
    fn attention_rows_sum_to_one_and_the_mean_is_over_heads() {
        let net = small(Positions::Rope);
        let traits = ModelTraits {
            objective: Objective::Eps,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        };
        let data = Digits {
            images: (0..PIXELS).map(|i| (i * 7 % 256) as u8).collect(),
            labels: vec![4],
            count: 1,
        };
        let choice = StepChoice {
            digit: 0,
            fraction: 0.5,
            noise_seed: 3,
        };
        let maps = attention_maps((&net, &traits), &data, choice).unwrap();
        assert_eq!((maps.grid, maps.heads, maps.blocks.len()), (7, 2, 2));
        assert_eq!(maps.timestep, Some(500));
        for head in [None, Some(0), Some(1)] {
            let row = maps.of_patch(1, 24, head);
            assert_eq!(row.len(), 49);
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let mean = maps.of_patch(0, 3, None);
        let (a, b) = (maps.of_patch(0, 3, Some(0)), maps.of_patch(0, 3, Some(1)));
        assert!((mean[7] - (a[7] + b[7]) / 2.0).abs() < 1e-7);
        let missing = StepChoice { digit: 1, ..choice };
        assert!(attention_maps((&net, &traits), &data, missing).is_err());
    }

    #[test]
    fn position_maps_show_both_kinds_and_borrow_a_learned_table_when_needed() {
        let learned_net = Arc::new(small(Positions::Learned));
        let none =
            position_maps(&small(Positions::None), || Some(Arc::clone(&learned_net))).unwrap();
        assert_eq!(none.own, Positions::None);
        let borrowed = none.learned.as_ref().unwrap();
        assert_eq!((borrowed.rows, borrowed.columns), (49, 49));
        let own = position_maps(&learned_net, || panic!("a learned model has its own")).unwrap();
        assert_eq!(own.learned.as_ref(), Some(borrowed));
        let rope = position_maps(&small(Positions::Rope), || None).unwrap();
        assert!(rope.learned.is_none(), "no reference to borrow from");
        let at = |i: usize, j: usize| rope.rope.values[i * 49 + j];
        assert!((at(10, 10) - 1.0).abs() < 1e-6);
        // RoPE sees only the offset: (0,0)→(1,2) is (3,3)→(4,5).
        assert!((at(0, 9) - at(24, 33)).abs() < 1e-5);
        assert!(at(24, 25) > at(24, 27));
        assert_eq!(rope.rope, none.rope, "the same formula on the same shape");
    }
}

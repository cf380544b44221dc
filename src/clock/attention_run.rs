//! The transformer's attention over a whole reverse run: a digit made from noise (DDIM, or Euler
//! for a flow model, with classifier-free guidance), and at every step where each patch looked. The weights shown are
//! those of the very network call that moved the run, for the image being made (the conditional
//! half of a guided call), so what the window draws is what the sampler used.

use std::ops::ControlFlow;
use std::sync::Mutex;

use candle_core::{Device, Tensor};

use super::coordinates::AttentionMaps;
use crate::diffusion::samplers::{Position, SamplerKind, SamplerSpec};
use crate::model::DigitDiT;
use crate::sample::{
    Denoiser, ImageShape, ModelTraits, RunSettings, SampleError, SampleSettings, sample,
};

/// The most steps a watched run may take: every step keeps its attention (4 blocks × 4 heads ×
/// 49 × 49 weights, 154 KB), so the run's memory stays under 40 MB.
pub const MAX_WATCHED_STEPS: usize = 250;

/// What run to watch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WatchedRun {
    /// The digit asked for (0–9; a larger one is taken as 9).
    pub class: u32,
    /// The seed of the starting noise.
    pub seed: u64,
    /// Steps, 1..=[`MAX_WATCHED_STEPS`] (others are brought into that range).
    pub steps: usize,
    /// Classifier-free guidance scale w.
    pub guidance: f32,
}

/// One step of a watched run.
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionFrame {
    /// The step, 0..`steps`.
    pub step: usize,
    /// The run's number of steps.
    pub steps: usize,
    /// The noisy digit at this step and every block's attention over it.
    pub maps: AttentionMaps,
}

/// The DiT as a [`Denoiser`] that keeps the first image's attention from its last call.
struct Watching<'a> {
    net: &'a DigitDiT,
    last_attention: Mutex<Vec<Vec<f32>>>,
}

impl Denoiser for Watching<'_> {
    fn image_shape(&self) -> ImageShape {
        let config = self.net.config();
        ImageShape {
            channels: config.in_channels,
            height: config.image_size,
            width: config.image_size,
        }
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        classes: &[u32],
    ) -> Result<Vec<f32>, SampleError> {
        let config = self.net.config();
        let (channels, side) = (config.in_channels, config.image_size);
        let per_image = config.heads * config.tokens() * config.tokens();
        let run = || -> candle_core::Result<(Vec<f32>, Vec<Vec<f32>>)> {
            let x = Tensor::from_slice(x_t, (batch, channels, side, side), &Device::Cpu)?;
            let t = Tensor::from_slice(timestep_input, batch, &Device::Cpu)?;
            let y = Tensor::from_slice(classes, batch, &Device::Cpu)?;
            let (output, blocks) = self.net.forward_with_attention(&x, &t, &y)?;
            let first_image = blocks
                .iter()
                .map(|weights| weights.flatten_all()?.narrow(0, 0, per_image)?.to_vec1())
                .collect::<candle_core::Result<_>>()?;
            Ok((output.flatten_all()?.to_vec1()?, first_image))
        };
        let (output, attention) = run().map_err(|e| SampleError::Network {
            detail: e.to_string(),
        })?;
        if let Ok(mut last) = self.last_attention.lock() {
            *last = attention;
        }
        Ok(output)
    }
}

/// Makes digit `run.class` from seeded noise with `net`, handing every step's noisy digit and
/// attention to `on_frame` (which may stop the run with [`ControlFlow::Break`]: then
/// [`SampleError::Cancelled`]); returns the finished digit.
pub fn watch_run(
    (net, traits): (&DigitDiT, &ModelTraits),
    run: WatchedRun,
    on_frame: &mut dyn FnMut(AttentionFrame) -> ControlFlow<()>,
) -> Result<Vec<f32>, SampleError> {
    let settings = watched_settings(traits, run)?;
    let watching = Watching {
        net,
        last_attention: Mutex::new(Vec::new()),
    };
    let config = net.config();
    let pixels = config.in_channels * config.image_size * config.image_size;
    let images = sample(&watching, &settings, &mut |frame| {
        // Each step's call is seen once, so its attention is moved out rather than copied.
        let blocks = watching
            .last_attention
            .lock()
            .map(|mut last| std::mem::take(&mut *last))
            .unwrap_or_default();
        let timestep = match frame.point.position {
            Position::Timestep(t) => Some(t.round() as usize),
            Position::Sigma(_) => None,
        };
        on_frame(AttentionFrame {
            step: frame.step,
            steps: frame.steps,
            maps: AttentionMaps {
                x_t: frame.x_t[..pixels].to_vec(),
                timestep,
                grid: config.grid(),
                heads: config.heads,
                blocks,
            },
        })
    })?;
    Ok(images)
}

/// The sampling settings of a watched run: one image of the asked class, by a deterministic
/// sampler the model's objective takes (DDIM, or Euler along a flow model's straight path).
fn watched_settings(traits: &ModelTraits, run: WatchedRun) -> Result<SampleSettings, SampleError> {
    let steps = run.steps.clamp(1, MAX_WATCHED_STEPS);
    let sampler = match SamplerKind::default_for(traits.objective) {
        SamplerKind::Ddpm => SamplerKind::Ddim,
        deterministic => deterministic,
    };
    traits
        .prepare(RunSettings {
            sampler: SamplerSpec::new(sampler, steps),
            seed: run.seed,
            labels: vec![Some(run.class.min(9))],
            guidance: run.guidance,
        })
        .map_err(|e| SampleError::Network {
            detail: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use candle_core::DType;
    use candle_nn::{VarBuilder, VarMap};

    use super::*;
    use crate::diffusion::objectives::Objective;
    use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
    use crate::model::{DiTConfig, Positions};

    fn small() -> DigitDiT {
        let config = DiTConfig {
            dim: 16,
            depth: 2,
            heads: 2,
            sinusoid_dim: 8,
            positions: Positions::Rope,
            ..DiTConfig::default()
        };
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        DigitDiT::new(&config, vb).unwrap()
    }

    fn traits() -> ModelTraits {
        ModelTraits {
            objective: Objective::V,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        }
    }

    #[test]
    fn every_step_brings_the_attention_of_the_call_that_moved_the_run() {
        let net = small();
        let run = WatchedRun {
            class: 7,
            seed: 5,
            steps: 6,
            guidance: 3.0,
        };
        let mut frames = Vec::new();
        let image = watch_run((&net, &traits()), run, &mut |frame| {
            frames.push(frame);
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(image.len(), 784);
        assert_eq!(frames.len(), 6);
        let steps: Vec<usize> = frames.iter().map(|f| f.step).collect();
        assert_eq!(steps, [0, 1, 2, 3, 4, 5]);
        // DDIM's six steps go down from near T; the first frame is the starting noise.
        let times: Vec<usize> = frames.iter().filter_map(|f| f.maps.timestep).collect();
        assert_eq!(times.len(), 6);
        assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
        for frame in &frames {
            assert_eq!(frame.maps.blocks.len(), 2);
            assert_eq!(frame.maps.blocks[0].len(), 2 * 49 * 49);
            let row = frame.maps.of_patch(1, 30, None);
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        // The first frame's x_t is the run's seeded starting noise, and the attention is the
        // conditional image's: what a plain forward pass on that x_t and class gives.
        let start = crate::sample::starting_noise(1, 784, 5);
        assert_eq!(frames[0].maps.x_t, start);
        let x = Tensor::from_vec(start, (1, 1, 28, 28), &Device::Cpu).unwrap();
        let t = Tensor::new(&[frames[0].maps.timestep.unwrap() as f32], &Device::Cpu).unwrap();
        let y = Tensor::new(&[7u32], &Device::Cpu).unwrap();
        let (_, blocks) = net.forward_with_attention(&x, &t, &y).unwrap();
        let expected: Vec<f32> = blocks[1].flatten_all().unwrap().to_vec1().unwrap();
        let largest = expected
            .iter()
            .zip(&frames[0].maps.blocks[1])
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        // Measured 0 here (the same arithmetic); 1e-6 leaves room for another summation order
        // where the guided call's batch of 2 is blocked differently.
        assert!(largest < 1e-6, "{largest}");
    }

    #[test]
    fn a_watched_run_stops_when_asked() {
        let net = small();
        let run = WatchedRun {
            class: 1,
            seed: 2,
            steps: 40,
            guidance: 1.0,
        };
        let mut seen = 0;
        let result = watch_run((&net, &traits()), run, &mut |_| {
            seen += 1;
            if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(matches!(result, Err(SampleError::Cancelled { .. })));
        assert_eq!(seen, 3);
    }
}

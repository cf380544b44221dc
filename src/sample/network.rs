//! The bridge between the sampling loop's plain `f32` slices and the candle networks: the digit UNet
//! as a [`Denoiser`], the schedule a checkpoint was trained with, and the classifier as a judge.

use candle_core::{Device, Tensor};

use super::{Denoiser, ImageShape, SampleError};
use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use crate::model::checkpoint::FLOW_SCHEDULE;
use crate::model::{DiffusionInfo, DiffusionModel, DigitClassifier};

/// Side of the digit images the shipped models make, in pixels.
pub const DIGIT_SIDE: usize = 28;

impl Denoiser for DiffusionModel {
    fn image_shape(&self) -> ImageShape {
        let (channels, height, width) = self.net.image_shape();
        ImageShape {
            channels,
            height,
            width,
        }
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        classes: &[u32],
    ) -> Result<Vec<f32>, SampleError> {
        let run = || -> candle_core::Result<Vec<f32>> {
            let (channels, height, width) = self.net.image_shape();
            let x = Tensor::from_slice(x_t, (batch, channels, height, width), &self.device)?;
            let t = Tensor::from_slice(timestep_input, batch, &self.device)?;
            let y = Tensor::from_slice(classes, batch, &self.device)?;
            self.net
                .forward(&x, &t, &y)?
                .flatten_all()?
                .to_vec1::<f32>()
        };
        run().map_err(|e| network_error(&e))
    }
}

/// The noise schedule a checkpoint was trained with (its `schedule`, `train_steps_T`, and
/// `beta_start`/`beta_end` metadata), or `None` if its name is not one this program knows.
///
/// Flow-matching models have no β schedule; they get a linear one of the same T, of which the
/// sampler only uses T (to turn σ into the network's time input).
pub fn model_schedule(info: &DiffusionInfo) -> Option<NoiseSchedule> {
    if let Some(betas) = &info.trained_betas {
        return (betas.len() == info.train_steps_t)
            .then(|| NoiseSchedule::from_betas(betas, info.zero_terminal_snr));
    }
    let kind = if info.schedule == FLOW_SCHEDULE {
        ScheduleKind::Linear
    } else {
        ScheduleKind::ALL
            .into_iter()
            .find(|kind| kind.cli_name() == info.schedule)?
    };
    let mut config = ScheduleConfig::new(kind, info.train_steps_t.max(1));
    config.zero_terminal_snr = info.zero_terminal_snr;
    if let Some(beta_start) = info.beta_start {
        config.beta_start = beta_start;
    }
    if let Some(beta_end) = info.beta_end {
        config.beta_end = beta_end;
    }
    Some(NoiseSchedule::new(config))
}

/// The digit the classifier sees in each of `count` images (28×28 values each, in [−1, 1]).
pub fn judge(
    classifier: &DigitClassifier,
    device: &Device,
    images: &[f32],
    count: usize,
) -> Result<Vec<u32>, SampleError> {
    Tensor::from_slice(images, (count, 1, DIGIT_SIDE, DIGIT_SIDE), device)
        .and_then(|batch| classifier.classify(&batch))
        .map_err(|e| network_error(&e))
}

fn network_error(error: &candle_core::Error) -> SampleError {
    SampleError::Network {
        detail: error.to_string(),
    }
}

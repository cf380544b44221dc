//! A recorded step of a run, as plain data the window can keep: x_t, x̂0 and ε̂ of every image,
//! stored as f16 (half the memory of f32, and far more precision than a screen shows: a 1000-step
//! run of 64 digits with guidance keeps ~500 MB).

use half::f16;

use crate::diffusion::samplers::PathPoint;
use crate::sample::{ImageShape, StepFrame};

/// One step of a run, every image of the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// The step index, 0..`steps`.
    pub step: usize,
    /// Steps in the run.
    pub steps: usize,
    /// Where on the noise path the model looked (t or σ, and the weights a, s).
    pub point: PathPoint,
    /// Network calls so far, this step's included.
    pub network_calls: usize,
    /// Images in the batch.
    pub batch: usize,
    /// The size of one image, (height, width).
    pub image_shape: ImageShape,
    /// The noisy images the model looked at.
    pub x_t: Vec<f16>,
    /// The model's guess of the clean images.
    pub x0: Vec<f16>,
    /// The noise the model believes is in x_t (after guidance).
    pub eps: Vec<f16>,
    /// ε̂ with and without the class, when guidance mixed them.
    pub guidance: Option<GuidanceFrame>,
}

/// The two noise predictions classifier-free guidance mixed at a step.
#[derive(Clone, Debug, PartialEq)]
pub struct GuidanceFrame {
    /// ε̂ given each image's class.
    pub eps_conditional: Vec<f16>,
    /// ε̂ given "no class".
    pub eps_unconditional: Vec<f16>,
}

impl Frame {
    /// The frame of a step the sampling loop reported, for a batch of `batch` images of
    /// `image_shape`.
    pub fn record(step: &StepFrame<'_>, batch: usize, image_shape: ImageShape) -> Self {
        Self {
            x0: to_half(&step.prediction.x0),
            eps: to_half(&step.prediction.eps),
            guidance: step.guidance.map(|parts| GuidanceFrame {
                eps_conditional: to_half(&parts.eps_conditional),
                eps_unconditional: to_half(&parts.eps_unconditional),
            }),
            ..Self::record_x_t(step, batch, image_shape)
        }
    }

    /// [`Frame::record`] with x_t alone: the model's guesses x̂0 and ε̂ left empty (what a GIF of
    /// x_t needs; keeping them would triple the memory of a long run).
    pub fn record_x_t(step: &StepFrame<'_>, batch: usize, image_shape: ImageShape) -> Self {
        Self {
            step: step.step,
            steps: step.steps,
            point: step.point,
            network_calls: step.network_calls,
            batch,
            image_shape,
            x_t: to_half(step.x_t),
            x0: Vec::new(),
            eps: Vec::new(),
            guidance: None,
        }
    }

    /// A frame of zeros: step `step` (from 0) of `steps`, `batch` images of 2×2 pixels, at
    /// t = 10 of the default schedule; for tests.
    #[cfg(test)]
    pub fn zeros(step: usize, steps: usize, batch: usize) -> Self {
        let schedule = crate::diffusion::NoiseSchedule::new(Default::default());
        let values = vec![f16::ZERO; batch * 4];
        Self {
            step,
            steps,
            point: PathPoint::discrete(&schedule, 10),
            network_calls: step + 1,
            batch,
            image_shape: ImageShape::grey(2, 2),
            x_t: values.clone(),
            x0: values.clone(),
            eps: values,
            guidance: None,
        }
    }

    /// Values per image (channels × height × width).
    pub fn values_per_image(&self) -> usize {
        self.image_shape.values()
    }

    /// Image `index` of `values` (one of this frame's buffers), as f32.
    pub fn image(&self, values: &[f16], index: usize) -> Vec<f32> {
        let pixels = self.values_per_image();
        values
            .get(index * pixels..(index + 1) * pixels)
            .map_or_else(Vec::new, |image| image.iter().map(|v| v.to_f32()).collect())
    }

    /// Bytes this frame keeps in memory.
    pub fn memory_bytes(&self) -> usize {
        let buffers = 3 + 2 * usize::from(self.guidance.is_some());
        buffers * self.x_t.len() * size_of::<f16>() + size_of::<Self>()
    }
}

/// f32 → f16, value by value.
pub fn to_half(values: &[f32]) -> Vec<f16> {
    values.iter().map(|&v| f16::from_f32(v)).collect()
}

/// f16 → f32, value by value.
pub fn to_full(values: &[f16]) -> Vec<f32> {
    values.iter().map(|v| v.to_f32()).collect()
}

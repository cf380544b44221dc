//! One point of a quality-against-steps chart: make `samples` digits with one sampler and step
//! count, read them with the classifier and measure them against the [`Reference`].
//!
//! The digits are made in chunks of [`CHUNK`] (a network batch that keeps memory small whatever
//! the number of samples), chunk c of seed s with its own seed, [`chunk_seed`]`(s, c)`. With a
//! class-conditional run, sample k asks for digit k mod 10, so every digit is asked as often.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use candle_core::Device;

use super::features::{Reading, read_images};
use super::report::{QualityReport, Reference};
use crate::diffusion::noise::splitmix64;
use crate::diffusion::samplers::SamplerSpec;
use crate::i18n::Lang;
use crate::model::DigitClassifier;
use crate::model::classifier::DIGIT_CLASSES;
use crate::sample::network::DIGIT_SIDE;
use crate::sample::{
    Denoiser, ImageShape, ModelTraits, PrepareError, RunSettings, SampleError, StepFrame, sample,
};

/// Samples per network batch.
pub const CHUNK: usize = 100;

/// Mixed into the chunk index of [`chunk_seed`] ("CHUNK\0\0\0").
const CHUNK_TAG: u64 = 0x4348_554E_4B00_0000;

/// The seed of chunk `index` of an evaluation seeded with `seed`.
pub fn chunk_seed(seed: u64, index: usize) -> u64 {
    splitmix64(seed ^ splitmix64(CHUNK_TAG ^ index as u64))
}

/// What one evaluation point asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct PointSpec {
    /// The sampler and its steps.
    pub sampler: SamplerSpec,
    /// How many digits to make.
    pub samples: usize,
    /// Classifier-free guidance w; 0 makes unconditional digits (no class asked).
    pub guidance: f32,
    /// The seed of the whole point.
    pub seed: u64,
}

impl PointSpec {
    /// The digit each sample is asked to be: k mod 10, or none when unguided.
    pub fn asked(&self) -> Vec<Option<u32>> {
        (0..self.samples)
            .map(|k| (self.guidance > 0.0).then_some((k % DIGIT_CLASSES) as u32))
            .collect()
    }
}

/// A measured point.
#[derive(Clone, Debug, PartialEq)]
pub struct PointResult {
    /// Network calls each sample took (NFE; a guided call of 2B counts once).
    pub network_calls: usize,
    /// The measures.
    pub report: QualityReport,
    /// Time spent making the digits.
    pub sampling_time: Duration,
}

/// Why a point could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// The model cannot make this run.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// Sampling failed, or was cancelled.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// The classifier failed.
    #[error("the classifier failed: {0}")]
    Classifier(String),
    /// The model does not make 28×28 grey digits, the only images the classifier reads.
    #[error("the model makes {0} images, not 28×28 digits")]
    NotDigits(ImageShape),
    /// Fewer samples than the measures need.
    #[error("at least {least} samples are needed to measure")]
    TooFew {
        /// The fewest samples measurable.
        least: usize,
    },
}

impl LabError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match self {
            Self::Prepare(error) => error.sentence(lang),
            Self::Sample(error) => error.sentence(lang),
            Self::Classifier(detail) => match lang {
                Lang::En => format!("The digit classifier could not read the samples ({detail})."),
                Lang::Zh => format!("数字分类器无法读取这些样本（{detail}）。"),
            },
            Self::NotDigits(shape) => match lang {
                Lang::En => format!(
                    "The quality measures read 28×28 grey digits, and this model makes {shape} images."
                ),
                Lang::Zh => {
                    format!("质量评估只读取 28×28 的灰度数字，而这个模型生成的是 {shape} 图像。")
                }
            },
            Self::TooFew { least } => match lang {
                Lang::En => format!("Measuring needs at least {least} samples."),
                Lang::Zh => format!("评估至少需要 {least} 个样本。"),
            },
        }
    }
}

/// The fewest samples a point measures (precision and recall need more than k + 1).
pub const LEAST_SAMPLES: usize = 10;

/// Makes and measures one point. `on_step` hears (samples finished so far, this chunk's network
/// calls so far) at every step; returning `Break` cancels.
pub fn measure_point(
    denoiser: &dyn Denoiser,
    traits: &ModelTraits,
    (classifier, device): (&DigitClassifier, &Device),
    reference: &Reference,
    spec: &PointSpec,
    on_step: &mut dyn FnMut(usize, usize) -> ControlFlow<()>,
) -> Result<PointResult, LabError> {
    let shape = denoiser.image_shape();
    if shape != ImageShape::grey(DIGIT_SIDE, DIGIT_SIDE) {
        return Err(LabError::NotDigits(shape));
    }
    if spec.samples < LEAST_SAMPLES {
        return Err(LabError::TooFew {
            least: LEAST_SAMPLES,
        });
    }
    let asked = spec.asked();
    let started = Instant::now();
    let mut images = Vec::new();
    let mut network_calls = 0;
    for (index, labels) in asked.chunks(CHUNK).enumerate() {
        let settings = traits.prepare(RunSettings {
            sampler: spec.sampler.clone(),
            seed: chunk_seed(spec.seed, index),
            labels: labels.to_vec(),
            guidance: spec.guidance,
        })?;
        let done = index * CHUNK;
        let mut on_frame = |frame: &StepFrame<'_>| {
            network_calls = frame.network_calls;
            on_step(done, frame.network_calls)
        };
        images.extend(sample(denoiser, &settings, &mut on_frame)?);
    }
    let sampling_time = started.elapsed();
    let reading: Reading = read_images(classifier, device, &images)
        .map_err(|e| LabError::Classifier(e.to_string()))?;
    let report = reference
        .measure(&reading, &asked)
        .ok_or(LabError::TooFew {
            least: LEAST_SAMPLES,
        })?;
    Ok(PointResult {
        network_calls,
        report,
        sampling_time,
    })
}

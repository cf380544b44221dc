//! A session of the evaluation lab, as the window's background job runs it: a list of points
//! (sampler, steps, seed) of one model measured against the real digits one after another,
//! reporting progress and stopping when asked. The real digits' [`Reference`] is computed once
//! and handed back, for the next session to reuse.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use candle_core::Device;

use super::features::read_images;
use super::lab::{PointResult, PointSpec, measure_point};
use super::report::{QualityReport, Reference};
use crate::data::mnist::{MnistError, PIXELS, byte_to_unit, load_bundled_digits};
use crate::i18n::Lang;
use crate::model::{DigitClassifier, load_classifier, resolve_model};
use crate::sample::{Denoiser, ModelTraits};

/// A model the job can run: the network and what a run needs to know of it.
pub type LabModel = (Box<dyn Denoiser + Send + Sync>, ModelTraits);

/// Opens a model by name (the real checkpoints, or a fake in the tests); errors are sentences
/// (English, Chinese).
pub type ModelOpener = Arc<dyn Fn(&str) -> Result<LabModel, (String, String)> + Send + Sync>;

/// What to measure.
#[derive(Clone, Debug)]
pub struct LabRequest {
    /// The model's name.
    pub model: String,
    /// The points, in order.
    pub points: Vec<PointSpec>,
    /// Real digits the reference and its floor use (both halves), when none is kept yet.
    pub real_digits: usize,
}

/// A measured point, with what it asked.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The point.
    pub spec: PointSpec,
    /// What it measured.
    pub result: PointResult,
}

/// How the job ended.
#[derive(Debug)]
pub struct LabOutcome {
    /// The reference it measured against (kept by the view for the next job).
    pub reference: Option<Arc<Reference>>,
    /// The real-vs-real floor at the points' number of samples.
    pub floor: Option<QualityReport>,
    /// The points measured before it ended.
    pub measured: Vec<Measured>,
    /// Why it stopped early (English, Chinese), or `None` when it measured every point.
    pub stopped: Option<(String, String)>,
}

/// Progress the view shows: samples finished over all points.
pub struct LabProgress {
    /// Samples made so far.
    pub samples: AtomicUsize,
    /// Set by Cancel; the job stops before its next network call.
    pub cancel: AtomicBool,
}

/// Runs `request`: loads the classifier, the reference (unless `kept`), the model, then every
/// point in turn.
pub fn run_lab(
    request: &LabRequest,
    open: &ModelOpener,
    kept: Option<Arc<Reference>>,
    progress: &LabProgress,
) -> LabOutcome {
    let mut outcome = LabOutcome {
        reference: kept,
        floor: None,
        measured: Vec::new(),
        stopped: None,
    };
    let device = Device::Cpu;
    let classifier =
        match resolve_model("digits-classifier").and_then(|path| load_classifier(&path, &device)) {
            Ok((_, classifier)) => classifier,
            Err(error) => {
                outcome.stopped = Some((error.sentence(Lang::En), error.sentence(Lang::Zh)));
                return outcome;
            }
        };
    if outcome.reference.is_none() {
        match bundled_reference(&classifier, &device, request.real_digits) {
            Ok(reference) => outcome.reference = Some(Arc::new(reference)),
            Err(error) => {
                outcome.stopped = Some((error.sentence(Lang::En), error.sentence(Lang::Zh)));
                return outcome;
            }
        }
    }
    let Some(reference) = outcome.reference.clone() else {
        return outcome;
    };
    let samples = request.points.first().map_or(0, |p| p.samples);
    outcome.floor = reference.floor(samples);
    let (model, traits) = match open(&request.model) {
        Ok(model) => model,
        Err(why) => {
            outcome.stopped = Some(why);
            return outcome;
        }
    };
    let mut finished = 0;
    for spec in &request.points {
        let mut on_step = |done: usize, _calls: usize| {
            progress.samples.store(finished + done, Ordering::Relaxed);
            if progress.cancel.load(Ordering::Relaxed) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        match measure_point(
            model.as_ref(),
            &traits,
            (&classifier, &device),
            &reference,
            spec,
            &mut on_step,
        ) {
            Ok(result) => outcome.measured.push(Measured {
                spec: spec.clone(),
                result,
            }),
            Err(error) => {
                outcome.stopped = Some((error.sentence(Lang::En), error.sentence(Lang::Zh)));
                return outcome;
            }
        }
        finished += spec.samples;
        progress.samples.store(finished, Ordering::Relaxed);
    }
    outcome
}

/// Why the real digits could not be made into a reference.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// The bundled digits could not be read.
    #[error(transparent)]
    Digits(#[from] MnistError),
    /// The classifier failed on them.
    #[error("the classifier failed: {0}")]
    Classifier(String),
    /// Too few digits to measure against.
    #[error("too few real digits")]
    TooFew,
}

impl ReferenceError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match self {
            Self::Digits(error) => error.sentence(lang),
            Self::Classifier(detail) => match lang {
                Lang::En => {
                    format!("The digit classifier could not read the real digits ({detail}).")
                }
                Lang::Zh => format!("数字分类器无法读取真实数字（{detail}）。"),
            },
            Self::TooFew => lang
                .pick(
                    "Too few real digits to measure against.",
                    "真实数字太少，无法评估。",
                )
                .to_owned(),
        }
    }
}

/// The first `count` bundled digits (all of them, at most) read by the classifier and made into
/// the reference: the first half measured against, the second kept for the floor.
pub fn bundled_reference(
    classifier: &DigitClassifier,
    device: &Device,
    count: usize,
) -> Result<Reference, ReferenceError> {
    let digits = load_bundled_digits()?;
    let count = count.min(digits.count);
    let images: Vec<f32> = digits.images[..count * PIXELS]
        .iter()
        .map(|&b| byte_to_unit(b))
        .collect();
    let reading = read_images(classifier, device, &images)
        .map_err(|e| ReferenceError::Classifier(e.to_string()))?;
    let labels: Vec<u32> = digits.labels[..count]
        .iter()
        .map(|&l| u32::from(l))
        .collect();
    Reference::new(&reading, &labels).ok_or(ReferenceError::TooFew)
}

/// Opens the shipped models (or model files) with candle on the CPU.
pub fn candle_opener() -> ModelOpener {
    Arc::new(|name: &str| {
        let sentence =
            |e: &crate::model::CheckpointError| (e.sentence(Lang::En), e.sentence(Lang::Zh));
        let path = resolve_model(name).map_err(|e| sentence(&e))?;
        let model =
            crate::model::load_diffusion_model(&path, &Device::Cpu).map_err(|e| sentence(&e))?;
        let traits = ModelTraits::of(&model.info)
            .map_err(|e| (e.sentence(Lang::En), e.sentence(Lang::Zh)))?;
        Ok((Box::new(model) as Box<dyn Denoiser + Send + Sync>, traits))
    })
}

//! The worker's protocol: what the window may ask ([`Request`]) and what the worker tells it
//! ([`Event`]). Both enums are closed, and every event of a run names the run's [`RunId`], so the
//! window can ignore what belongs to a run it no longer shows.

use std::path::PathBuf;
use std::time::Duration;

use super::WorkerError;
use super::frame::Frame;
use crate::diffusion::NoiseSchedule;
use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::SamplerSpec;
use crate::model::DeviceChoice;
pub use crate::sample::RunSettings;
use crate::sample::{ImageShape, ModelTraits};

/// The number the window gives a run; events of the run carry it back.
pub type RunId = u64;

/// The number the window gives a model request; its answer carries it back, so an answer to a
/// request the user has since replaced can be told apart.
pub type LoadId = u64;

/// Where a model comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelSource {
    /// A model shipped with the program, by name (`digits-eps`).
    Shipped(String),
    /// A checkpoint file chosen by the user.
    File(PathBuf),
}

impl ModelSource {
    /// The name people see: the shipped name, or the file's name.
    pub fn label(&self) -> String {
        match self {
            Self::Shipped(name) => name.clone(),
            Self::File(path) => path.file_stem().map_or_else(
                || path.display().to_string(),
                |s| s.to_string_lossy().into_owned(),
            ),
        }
    }
}

/// What the window asks of the worker.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    /// Load a model and hold it under the request's number, beside the models already held.
    /// Answered by [`Event::ModelLoaded`] or [`Event::ModelFailed`] with the same `id`.
    LoadModel {
        /// The request's number, and the model's from then on.
        id: LoadId,
        /// The model.
        source: ModelSource,
    },
    /// Let model `id` go (runs already using it finish with it).
    ReleaseModel(LoadId),
    /// Start run `id` with model `model`, beside any runs going on: runs take turns, one network
    /// call each. Answered by frames and progress, then exactly one of [`Event::Finished`],
    /// [`Event::Cancelled`] or [`Event::Failed`].
    Start {
        /// The run's number.
        id: RunId,
        /// The model, by the number of the request that loaded it.
        model: LoadId,
        /// What to make.
        settings: RunSettings,
    },
    /// Stop run `id` before its next network call (ignored if it is not going).
    Cancel(RunId),
    /// End the worker thread (dropping the [`super::Worker`] sends it too).
    Shutdown,
}

/// What a loaded model is, for the window.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSummary {
    /// Where it came from.
    pub source: ModelSource,
    /// What its network predicts.
    pub objective: Objective,
    /// The schedule it was trained with.
    pub schedule: NoiseSchedule,
    /// The size of one image, (height, width).
    pub image_shape: ImageShape,
    /// Where it runs, and why.
    pub device: DeviceChoice,
    /// Every metadata entry of the checkpoint (steps, loss, command…).
    pub metadata: Vec<(String, String)>,
    /// The sampler the model came with (a diffusers pipeline folder's scheduler), if any.
    pub scheduler: Option<SamplerSpec>,
}

impl ModelSummary {
    /// What a run needs to know of the model.
    pub fn traits(&self) -> ModelTraits {
        ModelTraits {
            objective: self.objective,
            schedule: self.schedule.clone(),
        }
    }
}

/// What the worker tells the window.
#[derive(Debug)]
pub enum Event {
    /// A model was loaded and is held under the request's number, ready to run.
    ModelLoaded {
        /// The request.
        id: LoadId,
        /// The model.
        summary: Box<ModelSummary>,
    },
    /// A model could not be loaded; the models held before stay.
    ModelFailed {
        /// The request.
        id: LoadId,
        /// What was asked for.
        source: ModelSource,
        /// Why it failed.
        error: WorkerError,
    },
    /// One recorded step of run `id`: what the model saw and guessed.
    Frame {
        /// The run.
        id: RunId,
        /// The step's images.
        frame: Box<Frame>,
    },
    /// How far run `id` has come (sent after every step's frame; small, for progress bars).
    Progress {
        /// The run.
        id: RunId,
        /// Steps done.
        done: usize,
        /// Steps in all.
        total: usize,
        /// Network calls so far.
        network_calls: usize,
        /// Time since the run started.
        elapsed: Duration,
    },
    /// Run `id` reached the image.
    Finished {
        /// The run.
        id: RunId,
        /// The finished images (batch × height × width values, roughly in [−1, 1]).
        samples: Vec<f32>,
        /// Network calls of the whole run.
        network_calls: usize,
        /// Wall time of the whole run.
        elapsed: Duration,
    },
    /// Run `id` was stopped at a step, on request.
    Cancelled {
        /// The run.
        id: RunId,
        /// The last step whose frame was sent (0 also when it never started: then no frame came).
        step: usize,
    },
    /// Run `id` failed: no model, a network error, NaN, or a panic inside the run.
    Failed {
        /// The run.
        id: RunId,
        /// Why.
        error: WorkerError,
    },
}

impl Event {
    /// The run an event belongs to, if it belongs to one.
    pub fn run_id(&self) -> Option<RunId> {
        match self {
            Self::ModelLoaded { .. } | Self::ModelFailed { .. } => None,
            Self::Frame { id, .. }
            | Self::Progress { id, .. }
            | Self::Finished { id, .. }
            | Self::Cancelled { id, .. }
            | Self::Failed { id, .. } => Some(*id),
        }
    }
}

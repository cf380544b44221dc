//! How the worker turns a [`ModelSource`] into a model it can run: the [`ModelLoader`] trait, and
//! [`CandleLoader`], which reads the shipped safetensors checkpoints onto the chosen device.

use candle_core::Device;

use super::WorkerError;
use super::protocol::{ModelSource, ModelSummary};
use crate::model::{
    DeviceChoice, DevicePreference, choose_device, device_for, load_diffusion_model, resolve_model,
};
use crate::sample::{Denoiser, ModelTraits};

/// A model ready to run, and what the window should know about it.
pub struct LoadedModel {
    /// The network.
    pub denoiser: Box<dyn Denoiser + Send + Sync>,
    /// Its description.
    pub summary: ModelSummary,
}

/// Something that can load models: the real checkpoints, or a fake in the tests. It lives on the
/// worker thread.
pub trait ModelLoader: Send {
    /// Loads the model `source` names.
    fn load(&mut self, source: &ModelSource) -> Result<LoadedModel, WorkerError>;
}

/// Loads checkpoints with candle onto the best device available (chosen once, on first use).
#[derive(Default)]
pub struct CandleLoader {
    device: Option<(Device, DeviceChoice)>,
}

impl CandleLoader {
    /// A loader onto the device `preference` picks (the benches' `--device`).
    pub fn on(preference: DevicePreference) -> Self {
        Self {
            device: Some(device_for(preference)),
        }
    }
}

impl ModelLoader for CandleLoader {
    fn load(&mut self, source: &ModelSource) -> Result<LoadedModel, WorkerError> {
        let (device, reason) = self.device.get_or_insert_with(choose_device).clone();
        let path = match source {
            ModelSource::Shipped(name) => resolve_model(name)?,
            ModelSource::File(path) => path.clone(),
        };
        let model = load_diffusion_model(&path, &device)?;
        let ModelTraits {
            objective,
            schedule,
        } = ModelTraits::of(&model.info)?;
        let summary = ModelSummary {
            source: source.clone(),
            objective,
            schedule,
            image_shape: model.image_shape(),
            device: reason,
            metadata: model
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            scheduler: model
                .scheduler
                .as_ref()
                .map(|config| config.sampler.clone()),
        };
        Ok(LoadedModel {
            denoiser: Box::new(model),
            summary,
        })
    }
}

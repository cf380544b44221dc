//! A fake model for the worker and window tests (no files, no GPU): a network whose answer is a
//! fixed function of its input, which can be told to be slow or to panic, and a loader of it that
//! fails on the name "broken" and says when the worker lets it go.
#![allow(dead_code, reason = "each test crate uses the parts it needs")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use diffuscope::diffusion::objectives::Objective;
use diffuscope::diffusion::samplers::SamplerSpec;
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::model::DeviceChoice;
use diffuscope::sample::{Denoiser, ImageShape, PrepareError, SampleError};
use diffuscope::worker::{LoadedModel, ModelLoader, ModelSource, ModelSummary, WorkerError};

/// A network of `side × side` images of `channels` channels: out = 0.5·x + 0.01·class +
/// 1e-4·time input.
pub struct FakeNetwork {
    pub side: usize,
    pub channels: usize,
    pub calls: Arc<AtomicUsize>,
    pub panic_on_call: Option<usize>,
    pub delay: Duration,
}

impl Denoiser for FakeNetwork {
    fn image_shape(&self) -> ImageShape {
        ImageShape {
            channels: self.channels,
            ..ImageShape::grey(self.side, self.side)
        }
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        classes: &[u32],
    ) -> Result<Vec<f32>, SampleError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        assert_ne!(
            Some(call),
            self.panic_on_call,
            "the fake network was told to panic"
        );
        std::thread::sleep(self.delay);
        let pixels = x_t.len() / batch;
        Ok(x_t
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let image = i / pixels;
                0.5 * x + 0.01 * classes[image] as f32 + timestep_input[image] * 1e-4
            })
            .collect())
    }
}

/// Loads [`FakeNetwork`]s: ε models with a linear schedule of `train_steps` steps.
pub struct FakeLoader {
    pub side: usize,
    /// 1 (grey) or 3 (colour).
    pub channels: usize,
    /// A shipped model that alone makes colour images, if any.
    pub colour_model: Option<&'static str>,
    pub train_steps: usize,
    pub calls: Arc<AtomicUsize>,
    pub panic_on_call: Option<usize>,
    pub delay: Duration,
    /// Set when the worker thread drops the loader.
    pub dropped: Arc<AtomicBool>,
    /// The scheduler the models come with, as a diffusers pipeline's do.
    pub scheduler: Option<SamplerSpec>,
}

impl FakeLoader {
    /// A loader of quick, well-behaved networks of `side × side` images.
    pub fn new(side: usize, train_steps: usize) -> Self {
        Self {
            side,
            channels: 1,
            colour_model: None,
            train_steps,
            calls: Arc::new(AtomicUsize::new(0)),
            panic_on_call: None,
            delay: Duration::ZERO,
            dropped: Arc::new(AtomicBool::new(false)),
            scheduler: None,
        }
    }

    /// The same loader, whose models come with `scheduler` (as a diffusers pipeline folder's).
    #[must_use]
    pub fn with_scheduler(mut self, scheduler: SamplerSpec) -> Self {
        self.scheduler = Some(scheduler);
        self
    }

    /// The same loader, whose networks make colour images.
    #[must_use]
    pub fn in_colour(mut self) -> Self {
        self.channels = 3;
        self
    }

    /// The same loader, whose shipped model `name` alone makes colour images.
    #[must_use]
    pub fn in_colour_for(mut self, name: &'static str) -> Self {
        self.colour_model = Some(name);
        self
    }

    /// The same loader, whose networks wait `delay` in every call.
    #[must_use]
    pub fn slow(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The same loader, whose networks panic in call number `call` (counted from 0, over all).
    #[must_use]
    pub fn panicking_on(mut self, call: Option<usize>) -> Self {
        self.panic_on_call = call;
        self
    }
}

impl Drop for FakeLoader {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

impl ModelLoader for FakeLoader {
    fn load(&mut self, source: &ModelSource) -> Result<LoadedModel, WorkerError> {
        if *source == ModelSource::Shipped("broken".into()) {
            return Err(WorkerError::Prepare(PrepareError::UnknownSchedule {
                name: "broken".into(),
            }));
        }
        let schedule = ScheduleConfig::new(ScheduleKind::Linear, self.train_steps);
        let colour = self
            .colour_model
            .is_some_and(|name| *source == ModelSource::Shipped(name.into()));
        let network = FakeNetwork {
            side: self.side,
            channels: if colour { 3 } else { self.channels },
            calls: Arc::clone(&self.calls),
            panic_on_call: self.panic_on_call,
            delay: self.delay,
        };
        let image_shape = network.image_shape();
        Ok(LoadedModel {
            denoiser: Box::new(network),
            summary: ModelSummary {
                source: source.clone(),
                objective: Objective::Eps,
                schedule: NoiseSchedule::new(schedule),
                image_shape,
                device: DeviceChoice::CpuAsked,
                metadata: Vec::new(),
                scheduler: self.scheduler.clone(),
            },
        })
    }
}

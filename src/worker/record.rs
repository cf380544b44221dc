//! A run as it is kept after the fact: its settings, every recorded frame and the finished images,
//! so the window can scrub any step without recomputing and exports can replay it.

use std::sync::Arc;
use std::time::Duration;

use super::frame::Frame;
use super::protocol::RunSettings;
use crate::diffusion::samplers::DiffusersOptions;
use crate::i18n::Lang;
use crate::sample::{GridSpec, ImageShape};

/// Everything recorded of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The model's name (`digits-eps`, or a file's name).
    pub model: String,
    /// What the run was asked to make.
    pub settings: RunSettings,
    /// The size of one image, (height, width).
    pub image_shape: ImageShape,
    /// The recorded steps, in order (shared, so an export can take them without copying).
    pub frames: Vec<Arc<Frame>>,
    /// The finished images, once the run has reached them.
    pub samples: Option<Vec<f32>>,
    /// The pure noise x_T the run starts from (shown before the first step arrives).
    pub start: Vec<f32>,
    /// Wall time of the run so far (the whole run, once finished).
    pub elapsed: Option<Duration>,
    /// Network calls so far (the whole run's, once finished; a guided call of 2B counts once).
    pub network_calls: usize,
    /// The run file it was opened from (its name), if it was not made in this session.
    pub opened_from: Option<String>,
}

impl RunRecord {
    /// An empty record of a run about to start.
    pub fn new(model: String, settings: RunSettings, image_shape: ImageShape) -> Self {
        Self {
            model,
            settings,
            image_shape,
            frames: Vec::new(),
            samples: None,
            start: Vec::new(),
            elapsed: None,
            network_calls: 0,
            opened_from: None,
        }
    }

    /// Images in the batch.
    pub fn batch(&self) -> usize {
        self.settings.labels.len()
    }

    /// The square grid the batch is laid out in.
    pub fn grid(&self) -> GridSpec {
        GridSpec::square_for(self.batch())
    }

    /// Bytes the frames keep in memory.
    pub fn memory_bytes(&self) -> usize {
        self.frames.iter().map(|f| f.memory_bytes()).sum::<usize>()
            + self
                .samples
                .as_ref()
                .map_or(0, |s| s.len() * size_of::<f32>())
    }

    /// The one-line description used in GIF captions (English, like every caption):
    /// "DDIM · 50 steps · w = 3 · seed 1".
    pub fn describe(&self) -> String {
        self.describe_in(Lang::En)
    }

    /// [`Self::describe`] in `lang`, for the window ("DDIM · 50 步 · w = 3 · 种子 1").
    pub fn describe_in(&self, lang: Lang) -> String {
        let settings = &self.settings;
        let steps = self
            .frames
            .first()
            .map_or(settings.sampler.steps, |f| f.steps);
        let mut text = format!(
            "{} · {steps} {}",
            settings.sampler.kind.display_name(),
            lang.pick("steps", "步")
        );
        if settings.sampler.diffusers != DiffusersOptions::default() {
            text.push_str(lang.pick(" (diffusers' rule)", "（diffusers 规则）"));
        }
        if settings.labels.iter().any(Option::is_some) {
            text.push_str(&format!(" · w = {}", settings.guidance));
        }
        text.push_str(&format!(
            " · {} {}",
            lang.pick("seed", "种子"),
            settings.seed
        ));
        text
    }
}

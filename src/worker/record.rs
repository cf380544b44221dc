//! A run as it is kept after the fact: its settings, every recorded frame and the finished images,
//! so the window can scrub any step without recomputing and exports can replay it.

use std::sync::Arc;

use super::frame::Frame;
use super::protocol::RunSettings;
use crate::sample::GridSpec;

/// Everything recorded of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    /// The model's name (`digits-eps`, or a file's name).
    pub model: String,
    /// What the run was asked to make.
    pub settings: RunSettings,
    /// The size of one image, (height, width).
    pub image_size: (usize, usize),
    /// The recorded steps, in order (shared, so an export can take them without copying).
    pub frames: Vec<Arc<Frame>>,
    /// The finished images, once the run has reached them.
    pub samples: Option<Vec<f32>>,
    /// The pure noise x_T the run starts from (shown before the first step arrives).
    pub start: Vec<f32>,
}

impl RunRecord {
    /// An empty record of a run about to start.
    pub fn new(model: String, settings: RunSettings, image_size: (usize, usize)) -> Self {
        Self {
            model,
            settings,
            image_size,
            frames: Vec::new(),
            samples: None,
            start: Vec::new(),
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

    /// The one-line description used in captions and the status line:
    /// "DDIM · 50 steps · w = 3 · seed 1".
    pub fn describe(&self) -> String {
        let settings = &self.settings;
        let mut text = format!(
            "{} · {} steps",
            settings.sampler.kind.display_name(),
            self.frames
                .first()
                .map_or(settings.sampler.steps, |f| f.steps)
        );
        if settings.labels.iter().any(Option::is_some) {
            text.push_str(&format!(" · w = {}", settings.guidance));
        }
        text.push_str(&format!(" · seed {}", settings.seed));
        text
    }
}

//! How the window starts, from the command line: flags that override the choices remembered from
//! the last session, so a lesson can be prepared by a script
//! (`diffuscope --lang zh --image cat.png --view reverse --sampler ddpm --steps 1000 --zoom 1.5`).

use std::path::Path;

use super::app::AppSettings;
use super::lesson::Lesson;
use super::reverse::ReverseView;
use super::reverse::state::ReverseSettings;
use crate::data::load::{LoadError, LoadedPicture, load_picture_from_path};
use crate::diffusion::samplers::SamplerKind;
use crate::i18n::Lang;

/// The window's flags. Each one given replaces the remembered choice, as if made in the window (so
/// it is remembered in turn); each one left out keeps it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WindowOptions {
    /// Open this lesson (its file's name, the lesson) on its first slide, after the other flags.
    pub lesson: Option<(String, Lesson)>,
    /// Open on this view (by its key) instead of the last one used.
    pub view: Option<String>,
    /// The interface language.
    pub lang: Option<Lang>,
    /// Forward view: this photo instead of the last bundled one, read before the window opens.
    pub image: Option<StartImage>,
    /// Reverse view: the sampler.
    pub sampler: Option<SamplerKind>,
    /// Reverse view: steps of a run.
    pub steps: Option<usize>,
    /// Reverse view: samples per run (1, 4, 16 or 64).
    pub samples: Option<u32>,
    /// Reverse view: start a run as soon as the model is loaded.
    pub generate: bool,
    /// The zoom of the whole interface (what Ctrl+= and Ctrl+− change).
    pub zoom: Option<f32>,
    /// Open full screen.
    pub fullscreen: bool,
    /// Open in presentation mode.
    pub present: bool,
    /// Print, after each run, the time each window frame spent in our code during it (p50/p99),
    /// the time to the first frame and the memory in use, on stderr.
    pub frame_stats: bool,
}

impl WindowOptions {
    /// `settings` with these options applied.
    pub fn apply(&self, mut settings: AppSettings) -> AppSettings {
        if let Some(view) = &self.view {
            settings.view.clone_from(view);
        }
        if let Some(lang) = self.lang {
            settings.lang = Some(lang);
        }
        if self.present {
            settings.presentation.on = true;
        }
        if (self.sampler, self.steps, self.samples) == (None, None, None) {
            return settings;
        }
        let mut reverse: ReverseSettings = settings.view_settings(ReverseView::KEY);
        if let Some(sampler) = self.sampler {
            sampler.cli_name().clone_into(&mut reverse.sampler);
        }
        if let Some(steps) = self.steps {
            reverse.steps = steps.max(1);
        }
        if let Some(samples) = self.samples {
            let side = (1..=8_u32).find(|side| side * side >= samples).unwrap_or(8);
            reverse.grid_side = side;
        }
        settings.with_view_settings(ReverseView::KEY, &reverse)
    }
}

/// A photo for the Forward view, decoded before the window opens (`--image`), so that a file
/// that is not a picture stops the program with the loader's sentence instead of opening a
/// window that shows something else.
#[derive(Clone, Debug, PartialEq)]
pub struct StartImage {
    /// The decoded photo.
    pub loaded: LoadedPicture,
    /// The file's name, as the view shows it.
    pub name: String,
}

impl StartImage {
    /// Reads the photo at `path`.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let loaded = load_picture_from_path(path)?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Self { loaded, name })
    }
}

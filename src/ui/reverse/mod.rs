//! The Reverse view: a trained model turns noise into digits while the class watches, and every
//! step can be scrubbed afterwards.
//!
//! `state` holds what is shown (free of egui) and applies the worker's events; `view` draws it;
//! `textures` turns the shown step into GPU textures; `export` writes GIFs and PNGs in the
//! background. The model itself runs on the [`Worker`] thread: this view only sends requests and
//! drains events, so the window never waits for the network.

mod export;
pub mod state;
mod textures;
mod view;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use self::export::ReverseExport;
use self::state::{Applied, ReverseSettings, ReverseState};
use self::textures::Textures;
use super::file_picker::{FilePicker, FileRequest};
use super::jobs::{Job, Poll};
use super::message::Message;
use crate::i18n::Lang;
use crate::worker::{
    ModelLoader, ModelSource, Request, Worker, WorkerError, default_model_threads,
};

/// Most events applied per window frame, so a flood of frames never delays drawing.
const MAX_EVENTS_PER_FRAME: usize = 256;

/// What a file chosen in the Reverse view is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReversePick {
    /// A model checkpoint to load.
    OpenModel,
    /// Where to write the shown run as a GIF.
    ExportGif,
    /// Where to save the grid on screen as a PNG.
    SavePng,
}

/// Everything the Reverse view owns.
pub struct ReverseView {
    /// What is shown.
    pub state: ReverseState,
    worker: Option<Worker>,
    textures: Textures,
    export: ReverseExport,
    /// Asks for files: the system's dialog, or a picker in the window where there is none.
    pub picker: FilePicker<ReversePick>,
    examples: Option<Job<Vec<Vec<f32>>>>,
    /// The banner message (an error sentence or a confirmation).
    pub message: Option<Message>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl ReverseView {
    /// A view with `settings`; its worker loads models with `loader` and starts loading the
    /// chosen one at once. `wake` asks the window to repaint and may be called from any thread.
    pub fn new(
        settings: ReverseSettings,
        loader: Box<dyn ModelLoader>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let mut view = Self {
            state: ReverseState::new(settings),
            worker: None,
            textures: Textures::default(),
            export: ReverseExport::default(),
            picker: FilePicker::new(Arc::clone(&wake)),
            examples: None,
            message: None,
            wake: Arc::clone(&wake),
        };
        match Worker::spawn(loader, default_model_threads(), wake) {
            Ok(worker) => view.worker = Some(worker),
            Err(error) => view.message = Some(Message::error(error.sentence(Lang::En), None)),
        }
        let model = view.state.settings.model.clone();
        view.load_model(ModelSource::Shipped(model), Lang::En);
        // The real digits for "side by side" (parsing the 10,000 shipped digits takes a moment).
        view.examples = Job::spawn("load-example-digits", Arc::clone(&view.wake), |_| {
            example_digits()
        })
        .ok();
        view
    }

    /// Applies the worker's events and advances playback. Call before drawing.
    pub fn logic(&mut self, ctx: &egui::Context, lang: Lang) {
        if let Some(worker) = &self.worker {
            for _ in 0..MAX_EVENTS_PER_FRAME {
                let Some(event) = worker.try_recv() else {
                    break;
                };
                if let Applied::Error(error) = self.state.apply(event) {
                    self.message = Some(Message::error(error.sentence(lang), None));
                }
            }
            if !worker.is_alive() && self.message.is_none() {
                self.message = Some(Message::error(WorkerError::Gone.sentence(lang), None));
            }
        }
        if let Some(message) = self.export.poll(lang) {
            self.message = Some(message);
        }
        if let Some(job) = &self.examples {
            match job.poll() {
                Poll::Running => {}
                Poll::Done(examples) => {
                    self.state.set_examples(examples);
                    self.examples = None;
                }
                Poll::Lost => {
                    self.state.set_examples(Vec::new());
                    self.examples = None;
                }
            }
        }
        if self.state.playing {
            let dt = f64::from(ctx.input(|i| i.stable_dt)).min(0.1);
            self.state.advance(dt);
            ctx.request_repaint();
        }
    }

    /// Draws the view into `ui`.
    /// Draws the signed panels (ε̂, guidance) with the colour-map shader from now on.
    pub fn draw_signed_panels_on_gpu(&mut self) {
        self.textures.signed_on_gpu = true;
        self.textures.forget();
    }

    /// Draws the view into `ui`.
    pub fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::reverse_ui(self, ui, lang);
    }

    /// Draws the in-window file picker when it is shown, and acts on the file chosen. The window
    /// calls it before anything else is drawn, so the picker takes the keys while it is shown and
    /// Tab starts in it.
    pub fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) {
        match self.picker.ui(ctx, lang) {
            Some((ReversePick::OpenModel, path)) => self.load_model(ModelSource::File(path), lang),
            Some((ReversePick::ExportGif, path)) => self.export_gif(path, lang),
            Some((ReversePick::SavePng, path)) => self.save_png(path, lang),
            None => {}
        }
    }

    /// Loads a model in the background; the current one stays usable until it is ready.
    pub fn load_model(&mut self, source: ModelSource, lang: Lang) {
        if let ModelSource::Shipped(name) = &source {
            self.state.settings.model.clone_from(name);
        }
        self.state.loading_model = Some(source.clone());
        if !self.send(Request::LoadModel(source), lang) {
            self.state.load_not_sent();
        }
    }

    /// Starts a run with the current settings (replacing any run going on).
    pub fn generate(&mut self, lang: Lang) {
        match self.state.begin_run() {
            Some((id, settings)) => {
                self.textures.forget();
                if !self.send(Request::Start { id, settings }, lang) {
                    self.state.run_not_sent();
                }
            }
            // A model is still loading: Generate waits for it (the button is greyed out).
            None if self.state.loading_model.is_some() => {}
            None => {
                self.message = Some(Message::error(WorkerError::NoModel.sentence(lang), None));
            }
        }
    }

    /// Stops the run going on, before its next network call.
    pub fn cancel(&mut self, lang: Lang) {
        if let Some(id) = self.state.current_run {
            self.send(Request::Cancel(id), lang);
        }
    }

    /// Asks for a model file (the system's dialog or the in-window picker), then loads it. The
    /// picker speaks the window's language, so `_lang` is not needed here.
    pub fn choose_and_load(&mut self, _lang: Lang) {
        let request = FileRequest::open(
            ("Open a model", "打开模型"),
            "safetensors",
            &["safetensors"],
        );
        self.picker.ask(ReversePick::OpenModel, request);
    }

    /// Exports the shown run as a GIF to `path` in the background, with the dialog's settings.
    pub fn export_gif(&mut self, path: PathBuf, lang: Lang) {
        if self.is_exporting() {
            return;
        }
        match self.state.record.as_ref() {
            Some(record) if !record.frames.is_empty() => {
                let request = export::GifRequest::new(record, &self.state);
                if let Err(error) = self.export.start_gif(request, path, Arc::clone(&self.wake)) {
                    self.message = Some(Message::error(error.to_string(), None));
                }
            }
            _ => self.message = Some(Message::error(nothing_to_export(lang), None)),
        }
    }

    /// Saves the grid on screen as a PNG to `path` in the background.
    pub fn save_png(&mut self, path: PathBuf, lang: Lang) {
        if self.is_exporting() {
            return;
        }
        match textures::shown_grid(&self.state) {
            Some(picture) => {
                if let Err(error) = self.export.start_png(picture, path, Arc::clone(&self.wake)) {
                    self.message = Some(Message::error(error.to_string(), None));
                }
            }
            None => self.message = Some(Message::error(nothing_to_export(lang), None)),
        }
    }

    /// Asks where to save the GIF, then exports it.
    pub fn choose_and_export_gif(&mut self, _lang: Lang) {
        if self.is_exporting() || self.state.timeline_len() == 0 {
            return;
        }
        let request = FileRequest::save(
            ("Export the run as GIF", "把这次运行导出为 GIF"),
            "GIF",
            &["gif"],
            "reverse.gif",
        );
        self.picker.ask(ReversePick::ExportGif, request);
    }

    /// Asks where to save the PNG, then saves it.
    pub fn choose_and_save_png(&mut self, _lang: Lang) {
        if self.is_exporting() || self.state.record.is_none() {
            return;
        }
        let request = FileRequest::save(
            ("Save the grid as PNG", "把网格保存为 PNG"),
            "PNG",
            &["png"],
            "reverse.png",
        );
        self.picker.ask(ReversePick::SavePng, request);
    }

    /// Whether an export is being written.
    pub fn is_exporting(&self) -> bool {
        self.export.is_running()
    }

    /// Sends a request to the worker; on failure shows why and returns `false`.
    fn send(&mut self, request: Request, lang: Lang) -> bool {
        let sent = self
            .worker
            .as_ref()
            .ok_or(WorkerError::Gone)
            .and_then(|worker| worker.send(request));
        match sent {
            Ok(()) => true,
            Err(error) => {
                self.message = Some(Message::error(error.sentence(lang), None));
                false
            }
        }
    }
}

/// The first shipped digit of each class, 784 values in [−1, 1] each (empty if the set cannot be
/// read, which the tests of `data::mnist` rule out for a correct build).
fn example_digits() -> Vec<Vec<f32>> {
    let Ok(digits) = crate::data::mnist::load_bundled_digits() else {
        return Vec::new();
    };
    (0..10_u8)
        .map(|class| {
            digits
                .labels
                .iter()
                .position(|&label| label == class)
                .and_then(|i| digits.image_unit(i))
                .unwrap_or_default()
        })
        .collect()
}

fn nothing_to_export(lang: Lang) -> &'static str {
    lang.pick(
        "There is nothing to export yet: press Generate first.",
        "还没有可导出的内容：请先点击“生成”。",
    )
}

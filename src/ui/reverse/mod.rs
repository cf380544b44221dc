//! The Reverse view: a trained model turns noise into digits while the class watches, and every
//! step can be scrubbed afterwards.
//!
//! `state` holds what is shown (free of egui) and applies the worker's events; `view` draws it;
//! `textures` turns the shown step into GPU textures; `export` writes GIFs and PNGs in the
//! background; `history` keeps the previous runs, `runs` saves and opens run files and `runs_view`
//! lists the runs; `scheduler_summary` says what a pipeline folder's own scheduler sets. The model itself runs on the [`Worker`] thread: this view only sends requests
//! and drains events, so the window never waits for the network.

mod export;
pub mod history;
mod runs;
mod runs_view;
mod scheduler_summary;
pub mod state;
mod textures;
mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use self::export::ReverseExport;
use self::runs::{RunFileDone, RunFiles};
use self::state::{Applied, ReverseSettings, ReverseState};
use self::textures::Textures;
use super::file_picker::{FilePicker, FileRequest};
use super::jobs::{Job, Poll, job_not_started};
use super::message::Message;
use super::views::{KeyHelp, View, ViewSetup, read_settings_slide, settings_slide};
use crate::i18n::Lang;
use crate::model::shipped::shipped;
use crate::render::GpuViews;
use crate::render::lane::upload_failed_sentence;
use crate::worker::{
    ModelLoader, ModelSource, Request, RunId, Worker, WorkerError, default_model_threads, run_file,
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
    /// Where to save the run on screen as a run file.
    SaveRun,
    /// A run file to open.
    OpenRun,
}

/// Everything the Reverse view owns.
pub struct ReverseView {
    /// What is shown.
    pub state: ReverseState,
    worker: Option<Worker>,
    textures: Textures,
    export: ReverseExport,
    run_files: RunFiles,
    /// Asks for files: the system's dialog, or a picker in the window where there is none.
    pub picker: FilePicker<ReversePick>,
    examples: Option<Job<Vec<Vec<f32>>>>,
    /// The banner message (an error sentence or a confirmation).
    pub message: Option<Message>,
    wake: Arc<dyn Fn() + Send + Sync>,
    /// What the user asked for while the view was drawn, done right after.
    asked: Vec<ReverseCommand>,
}

/// What the user asked for in the Reverse view's drawing, done by [`ReverseView::apply`].
#[derive(Clone, Debug, PartialEq)]
pub enum ReverseCommand {
    /// Start a run with the current settings (replacing the one going on).
    Generate,
    /// Stop the run going on.
    Cancel,
    /// Load this model.
    LoadModel(ModelSource),
    /// Choose a model file, then load it.
    ChooseModelFile,
    /// Choose a diffusers pipeline folder, then load it.
    ChooseModelFolder,
    /// Choose where to write the run on screen as a GIF, then write it.
    ExportGif,
    /// Choose where to save the grid on screen as a PNG, then save it.
    SavePng,
    /// Choose where to save the run on screen as a run file, then save it.
    SaveRun,
    /// Choose a run file, then show it.
    OpenRun,
    /// Show this kept run.
    ShowKept(RunId),
    /// Take over the settings the run on screen was made with.
    UseShownSettings,
    /// Put the settings back to their defaults.
    ResetSettings,
}

impl ReverseView {
    /// [`View::key`] of the Reverse view.
    pub const KEY: &'static str = "reverse";

    /// The view as the window builds it, from the remembered settings, with the setup's model
    /// loader.
    pub fn from_setup(setup: &mut ViewSetup) -> Self {
        let settings = setup.settings_of(Self::KEY);
        let loader = setup.take_loader();
        Self::new(settings, loader, Arc::clone(&setup.wake))
    }

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
            run_files: RunFiles::default(),
            picker: FilePicker::new(Arc::clone(&wake)),
            examples: None,
            message: None,
            wake: Arc::clone(&wake),
            asked: Vec::new(),
        };
        match Worker::spawn(loader, default_model_threads(), wake) {
            Ok(worker) => view.worker = Some(worker),
            Err(error) => view.message = Some(Message::error_in(|l| error.sentence(l), None)),
        }
        let model = view.state.settings.model.clone();
        view.load_model(ModelSource::Shipped(model));
        // The real digits for "side by side" (parsing the 10,000 shipped digits takes a moment).
        view.examples = Job::spawn("load-example-digits", Arc::clone(&view.wake), |_| {
            example_digits()
        })
        .ok();
        view
    }

    /// Collects a finished save or open.
    fn poll_run_files(&mut self) {
        match self.run_files.poll() {
            None => {}
            Some(RunFileDone::Message(message)) => self.message = Some(message),
            Some(RunFileDone::Opened(record)) => {
                if self.state.show_opened(*record) {
                    self.textures.forget();
                } else {
                    self.message = Some(Message::error_in(|l| busy_sentence(l).into(), None));
                }
            }
        }
    }

    /// Says which kept runs were let go to stay within the memory budget.
    fn mention_dropped_runs(&mut self) {
        if self.state.dropped.is_empty() {
            return;
        }
        let dropped = std::mem::take(&mut self.state.dropped);
        let budget_gb = self.state.history.budget_bytes() as f64 / 1e9;
        self.message = Some(Message::info_in(|lang| {
            let runs: Vec<String> = dropped
                .iter()
                .map(|run| {
                    let [en, zh] = &run.described;
                    match lang {
                        Lang::En => format!("run {} ({en})", run.number),
                        Lang::Zh => format!("运行 {}（{zh}）", run.number),
                    }
                })
                .collect();
            match lang {
                Lang::En => format!(
                    "To stay within {budget_gb:.1} GB of memory, the oldest kept runs were let go: {}. “Save run…” keeps a run for good.",
                    runs.join(", ")
                ),
                Lang::Zh => format!(
                    "为了把内存控制在 {budget_gb:.1} GB 以内，最早保留的运行已被释放：{}。用“保存运行…”可以长期保留一次运行。",
                    runs.join("、")
                ),
            }
        }));
    }

    /// Shows kept run `number` instead of the one on screen (not while a run streams).
    pub fn show_kept(&mut self, number: u64) {
        if self.state.show_kept(number) {
            self.textures.forget();
        }
    }

    /// Puts the view's settings back to their defaults (loading the default model if another
    /// one is in use).
    pub fn reset_settings(&mut self) {
        let defaults = ReverseSettings::default();
        let model = ModelSource::Shipped(defaults.model.clone());
        let in_use = (self.state.loading_model.clone())
            .or_else(|| self.state.model.as_ref().map(|m| m.source.clone()));
        self.state.settings = defaults;
        if in_use.as_ref() != Some(&model) {
            self.load_model(model);
        }
    }

    /// Takes over the settings the run on screen was made with, loading its model if it is a
    /// shipped one other than the model in use, so Generate makes it again.
    pub fn use_shown_settings(&mut self) {
        let Some(record) = &self.state.record else {
            return;
        };
        let (settings, model) = (record.settings.clone(), record.model.clone());
        self.state.settings.adopt(&settings);
        if shipped(&model).is_some() && self.state.settings.model != model {
            self.load_model(ModelSource::Shipped(model));
        }
    }

    /// Saves the run on screen as a run file at `path`, in the background.
    pub fn save_run(&mut self, path: PathBuf) {
        if self.run_files.is_running() {
            return;
        }
        if self.state.is_running() {
            self.message = Some(Message::error_in(|l| busy_sentence(l).into(), None));
            return;
        }
        match &self.state.record {
            Some(record) if !record.frames.is_empty() => {
                let record = record.clone();
                let wake = Arc::clone(&self.wake);
                if let Err(error) = self.run_files.start_save(record, path, wake) {
                    self.message = Some(job_not_started(&error));
                }
            }
            _ => self.message = Some(Message::error_in(|l| nothing_to_export(l).into(), None)),
        }
    }

    /// Opens the run file at `path` in the background; it is shown once read.
    pub fn open_run(&mut self, path: PathBuf) {
        if self.run_files.is_running() {
            return;
        }
        if self.state.is_running() {
            self.message = Some(Message::error_in(|l| busy_sentence(l).into(), None));
            return;
        }
        if let Err(error) = self.run_files.start_open(path, Arc::clone(&self.wake)) {
            self.message = Some(job_not_started(&error));
        }
    }

    /// Whether a run file is being written or read.
    pub fn is_busy_with_run_file(&self) -> bool {
        self.run_files.is_running()
    }

    /// Draws the signed panels (ε̂, guidance) with the colour-map shader from now on.
    pub fn draw_signed_panels_on_gpu(&mut self) {
        self.textures.signed_on_gpu = true;
        self.textures.forget();
    }

    /// Notes what the user asked for while drawing; it is done once the view is drawn.
    pub fn ask(&mut self, command: ReverseCommand) {
        self.asked.push(command);
    }

    /// Does what the user asked for: the one place the view's drawing leads to actions.
    pub fn apply(&mut self, command: ReverseCommand) {
        match command {
            ReverseCommand::Generate => self.generate(),
            ReverseCommand::Cancel => self.cancel(),
            ReverseCommand::LoadModel(source) => self.load_model(source),
            ReverseCommand::ChooseModelFile => self.choose_and_load(),
            ReverseCommand::ChooseModelFolder => self.choose_folder_and_load(),
            ReverseCommand::ExportGif => self.choose_and_export_gif(),
            ReverseCommand::SavePng => self.choose_and_save_png(),
            ReverseCommand::SaveRun => self.choose_and_save_run(),
            ReverseCommand::OpenRun => self.choose_and_open_run(),
            ReverseCommand::ShowKept(number) => self.show_kept(number),
            ReverseCommand::UseShownSettings => self.use_shown_settings(),
            ReverseCommand::ResetSettings => self.reset_settings(),
        }
    }

    /// Loads a model in the background; the current one stays usable until it is ready.
    pub fn load_model(&mut self, source: ModelSource) {
        if let ModelSource::Shipped(name) = &source {
            self.state.settings.model.clone_from(name);
        }
        let id = self.state.begin_load(source.clone());
        if !self.send(Request::LoadModel { id, source }) {
            self.state.load_not_sent();
        }
    }

    /// Starts a run with the current settings (replacing any run going on).
    pub fn generate(&mut self) {
        match self.state.begin_run() {
            Some(start) => {
                self.textures.forget();
                if let Some(replaced) = start.replaces {
                    self.send(Request::Cancel(replaced));
                }
                let (id, model, settings) = (start.id, start.model, start.settings);
                if !self.send(Request::Start {
                    id,
                    model,
                    settings,
                }) {
                    self.state.run_not_sent();
                }
            }
            // A model is still loading: Generate waits for it (the button is greyed out).
            None if self.state.loading_model.is_some() => {}
            None => {
                self.message = Some(Message::error_in(
                    |l| WorkerError::NoModel.sentence(l),
                    None,
                ));
            }
        }
    }

    /// Stops the run going on, before its next network call.
    pub fn cancel(&mut self) {
        if let Some(id) = self.state.current_run {
            self.send(Request::Cancel(id));
        }
    }

    /// Asks for a model file (the system's dialog or the in-window picker), then loads it.
    pub fn choose_and_load(&mut self) {
        let request = FileRequest::open(
            ("Open a model", "打开模型"),
            "safetensors",
            &["safetensors"],
        );
        self.picker.ask(ReversePick::OpenModel, request);
    }

    /// Asks for a diffusers pipeline folder, then loads it.
    pub fn choose_folder_and_load(&mut self) {
        let request = FileRequest::folder(
            (
                "Open a diffusers pipeline folder",
                "打开 diffusers 管线文件夹",
            ),
            "diffusers pipeline",
        );
        self.picker.ask(ReversePick::OpenModel, request);
    }

    /// Exports the shown run as a GIF to `path` in the background, with the dialog's settings.
    pub fn export_gif(&mut self, path: PathBuf) {
        if self.is_exporting() {
            return;
        }
        match self.state.record.as_ref() {
            Some(record) if !record.frames.is_empty() => {
                let request = export::GifRequest::new(record, &self.state);
                if let Err(error) = self.export.start_gif(request, path, Arc::clone(&self.wake)) {
                    self.message = Some(job_not_started(&error));
                }
            }
            _ => self.message = Some(Message::error_in(|l| nothing_to_export(l).into(), None)),
        }
    }

    /// Saves the grid on screen as a PNG to `path` in the background.
    pub fn save_png(&mut self, path: PathBuf) {
        if self.is_exporting() {
            return;
        }
        match textures::shown_grid(&self.state) {
            Some(picture) => {
                if let Err(error) = self.export.start_png(picture, path, Arc::clone(&self.wake)) {
                    self.message = Some(job_not_started(&error));
                }
            }
            None => self.message = Some(Message::error_in(|l| nothing_to_export(l).into(), None)),
        }
    }

    /// Asks where to save the GIF, then exports it.
    pub fn choose_and_export_gif(&mut self) {
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
    pub fn choose_and_save_png(&mut self) {
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

    /// Asks where to save the run on screen, then saves it.
    pub fn choose_and_save_run(&mut self) {
        if self.run_files.is_running() || self.state.record.is_none() {
            return;
        }
        let request = FileRequest::save(
            ("Save the run", "保存这次运行"),
            "Diffuscope run",
            &[run_file::EXTENSION],
            format!("run-{}.{}", self.state.shown_run, run_file::EXTENSION),
        );
        self.picker.ask(ReversePick::SaveRun, request);
    }

    /// Asks for a run file, then opens it.
    pub fn choose_and_open_run(&mut self) {
        if self.run_files.is_running() {
            return;
        }
        let request = FileRequest::open(
            ("Open a saved run", "打开保存的运行"),
            "Diffuscope run",
            &[run_file::EXTENSION],
        );
        self.picker.ask(ReversePick::OpenRun, request);
    }

    /// Whether an export is being written.
    pub fn is_exporting(&self) -> bool {
        self.export.is_running()
    }

    /// Sends a request to the worker; on failure shows why and returns `false`.
    fn send(&mut self, request: Request) -> bool {
        let sent = self
            .worker
            .as_ref()
            .ok_or(WorkerError::Gone)
            .and_then(|worker| worker.send(request));
        match sent {
            Ok(()) => true,
            Err(error) => {
                self.message = Some(Message::error_in(|l| error.sentence(l), None));
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

impl View for ReverseView {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.pick("Reverse: noise → digits", "反向：噪声 → 数字")
    }

    /// Applies the worker's events and advances playback.
    fn logic(&mut self, ctx: &egui::Context, _lang: Lang) {
        if let Some(why) = self.textures.lane.take_failure() {
            // The shader cannot take the panels: they are drawn on the CPU from now on.
            self.textures.signed_on_gpu = false;
            self.textures.forget();
            self.message = Some(Message::error_in(
                move |l| upload_failed_sentence(&why, l),
                None,
            ));
        }
        if let Some(worker) = &self.worker {
            for _ in 0..MAX_EVENTS_PER_FRAME {
                let Some(event) = worker.try_recv() else {
                    break;
                };
                match self.state.apply(event) {
                    Applied::Nothing => {}
                    Applied::Error(error) => {
                        self.message = Some(Message::error_in(|l| error.sentence(l), None));
                    }
                    // If the queue is full the model stays held until the window closes.
                    Applied::Release(id) => {
                        let _ = worker.send(Request::ReleaseModel(id));
                    }
                }
            }
            if !worker.is_alive() && self.message.is_none() {
                self.message = Some(Message::error_in(|l| WorkerError::Gone.sentence(l), None));
            }
        }
        if let Some(message) = self.export.poll() {
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
        self.poll_run_files();
        self.mention_dropped_runs();
        // Playback follows the wall clock, so a slow or busy window plays as fast as a quick one.
        self.state.tick(Instant::now());
        if self.state.playing {
            ctx.request_repaint();
        }
    }

    /// Draws the in-window file picker when it is shown, and acts on the file chosen. The window
    /// calls it before anything else is drawn, so the picker takes the keys while it is shown and
    /// Tab starts in it.
    fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) {
        match self.picker.ui(ctx, lang) {
            Some((ReversePick::OpenModel, path)) => self.load_model(ModelSource::File(path)),
            Some((ReversePick::ExportGif, path)) => self.export_gif(path),
            Some((ReversePick::SavePng, path)) => self.save_png(path),
            Some((ReversePick::SaveRun, path)) => self.save_run(path),
            Some((ReversePick::OpenRun, path)) => self.open_run(path),
            None => {}
        }
    }

    /// Draws the view into `ui`, then does what the user asked for.
    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::reverse_ui(self, ui, lang);
        for command in std::mem::take(&mut self.asked) {
            self.apply(command);
        }
    }

    fn settings_json(&self) -> String {
        serde_json::to_string(&self.state.settings).unwrap_or_default()
    }

    fn slide_state(&self) -> serde_json::Value {
        settings_slide(&self.state.settings)
    }

    fn reads_slide_state(&self, state: &serde_json::Value) -> bool {
        read_settings_slide::<ReverseSettings>(state).is_some()
    }

    /// The grid, then the selected sample's x_t, guess of x0 and guess of ε (as the panels under
    /// the grid, in that order).
    fn pictures(&self, lang: Lang) -> Vec<(String, image::RgbImage)> {
        let mut pictures: Vec<(String, image::RgbImage)> = textures::shown_grid(&self.state)
            .map(|grid| (lang.pick("The samples", "样本").to_owned(), grid))
            .into_iter()
            .collect();
        if let Some([x_t, x0, eps]) = textures::sample_pictures(&self.state) {
            pictures.extend([
                (
                    lang.pick("x_t: what the model sees", "x_t：模型看到的")
                        .to_owned(),
                    x_t,
                ),
                (lang.pick("guess of x0", "x0 的猜测").to_owned(), x0),
                (lang.pick("guess of ε", "ε 的猜测").to_owned(), eps),
            ]);
        }
        pictures
    }

    /// Takes the slide's settings; a different shipped model is loaded (a model file's name is
    /// not a path, so the model loaded stays).
    fn show_slide_state(&mut self, state: &serde_json::Value) {
        let Some(mut settings) = read_settings_slide::<ReverseSettings>(state) else {
            return;
        };
        let model = std::mem::replace(&mut settings.model, self.state.settings.model.clone());
        self.state.settings = settings;
        if model != self.state.settings.model && shipped(&model).is_some() {
            self.load_model(ModelSource::Shipped(model));
        }
    }

    /// Takes a dropped model (`.safetensors`) or run file (`.dsrun`); the first of them is opened.
    fn drop_files(&mut self, paths: Vec<PathBuf>) -> bool {
        let extension = |path: &PathBuf| {
            path.extension()
                .map(|e| e.to_string_lossy().to_lowercase())
                .unwrap_or_default()
        };
        for path in paths {
            match extension(&path).as_str() {
                _ if path.is_dir() => self.load_model(ModelSource::File(path)),
                "safetensors" => self.load_model(ModelSource::File(path)),
                "dsrun" => self.open_run(path),
                _ => continue,
            }
            return true;
        }
        false
    }

    fn show_message(&mut self, message: Message) {
        self.message = Some(message);
    }

    fn keys(&self, lang: Lang) -> Vec<KeyHelp> {
        KeyHelp::table(
            lang,
            &[
                ("G / Enter", "generate", "生成"),
                ("Esc", "stop the run", "停止"),
                ("← →", "step through the run", "单步移动"),
                ("Shift+← →", "ten steps", "大步移动"),
                ("Home / End", "first / last step", "Home / End"),
                ("Space", "play / pause", "播放/暂停"),
                ("Ctrl+E", "export a GIF", "导出 GIF"),
                ("Ctrl+S", "save a PNG", "保存 PNG"),
            ],
        )
    }

    /// Draws the signed panels (ε̂, guidance) with the colour-map shader where the window's
    /// device built it.
    fn use_gpu_views(&mut self, gpu: &GpuViews) {
        if gpu.texture_limit().is_some() {
            self.draw_signed_panels_on_gpu();
        }
    }
}

fn busy_sentence(lang: Lang) -> &'static str {
    lang.pick(
        "A run is being made: stop it (Esc) or let it finish first.",
        "正在生成一次运行：请先停止（Esc）或等它完成。",
    )
}

fn nothing_to_export(lang: Lang) -> &'static str {
    lang.pick(
        "There is nothing to export yet: press Generate first.",
        "还没有可导出的内容：请先点击“生成”。",
    )
}

//! The Forward view: a photo dissolves into noise as t goes from 0 to T.
//!
//! `state` holds what is shown (free of egui); `view` draws it; `export` is the GIF/PNG dialog;
//! `chain` walks the step-by-step chain in the background. This file ties them together and owns
//! the actions the user can take (open a photo, export), each running off the UI thread.

mod chain;
pub(crate) mod export;
mod figures;
pub mod slide;
pub mod state;
mod textures;
mod view;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;

use self::export::ExportDialog;
use self::state::{ForwardSettings, ForwardState, PictureSource};
use self::textures::Textures;
use super::file_picker::{FilePicker, FileRequest};
use super::jobs::{Job, Poll, job_not_started};
use super::message::Message;
use super::views::{KeyHelp, View, ViewSetup};
use crate::data::bundled::BundledPhoto;
use crate::data::load::{
    LoadError, LoadedPicture, load_picture_from_bytes, load_picture_from_path,
};
use crate::i18n::{Lang, Text};
use crate::render::GpuViews;
use crate::render::forward::ForwardInputs;
use crate::render::lane::{GpuLane, upload_failed_sentence};

type LoadResult = Result<(LoadedPicture, PictureSource), LoadError>;

/// The images the Forward view opens.
const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp"];

/// What a file chosen in the Forward view is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardPick {
    /// A photo to open.
    OpenImage,
    /// Where to save the x_t frame as a PNG.
    SavePng,
    /// Where to write the sweep as a GIF.
    ExportGif,
}

/// What the user asked for in the Forward view's drawing, done by [`ForwardView::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForwardCommand {
    /// Show a bundled photo.
    OpenBundled(BundledPhoto),
    /// Choose a photo file.
    ChoosePhoto,
    /// Show the GIF export's settings.
    OpenExportDialog,
    /// Choose where to write the GIF, then write it.
    ExportGif,
    /// Choose where to save x_t as a PNG, then save it.
    SavePng,
}

/// Everything the Forward view owns.
pub struct ForwardView {
    /// What is shown.
    pub state: ForwardState,
    textures: Textures,
    loading: Option<Job<LoadResult>>,
    export: ExportDialog,
    /// Asks for files: the system's dialog, or a picker in the window where there is none.
    pub picker: FilePicker<ForwardPick>,
    /// The banner message (an error sentence or a confirmation).
    pub message: Option<Message>,
    wake: Arc<dyn Fn() + Send + Sync>,
    /// Where x_t is drawn by the forward shader (a wgpu window whose pipelines were built): the
    /// largest picture side the GPU's textures take. `None`: x_t is uploaded as a CPU texture.
    pub gpu_texture_limit: Option<usize>,
    /// The shader's inputs for the state's current picture and ε, by inputs revision.
    gpu_inputs: Option<(u64, Arc<ForwardInputs>)>,
    /// What the user asked for while the view was drawn, done right after.
    asked: Vec<ForwardCommand>,
    /// The view's place in the GPU resources.
    gpu_lane: GpuLane,
}

impl ForwardView {
    /// [`View::key`] of the Forward view.
    pub const KEY: &'static str = "forward";

    /// The view as the window builds it, from the remembered settings.
    pub fn from_setup(setup: &mut ViewSetup) -> Self {
        Self::new(setup.settings_of(Self::KEY), Arc::clone(&setup.wake))
    }

    /// A view with `settings`, showing the bundled photo they name. `wake` asks the window to repaint
    /// and may be called from any thread.
    pub fn new(settings: ForwardSettings, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let photo = settings.photo;
        // A bundled photo that does not decode is a build defect; fall back to the cat, then to grey.
        let loaded = photo
            .load()
            .or_else(|_| BundledPhoto::Cat.load())
            .unwrap_or_else(|_| LoadedPicture {
                picture: crate::data::Picture::filled(64, 64, 0.0),
                original_width: 64,
                original_height: 64,
                scaled_down: false,
            });
        Self {
            state: ForwardState::new(settings, loaded, PictureSource::Bundled(photo)),
            textures: Textures::default(),
            loading: None,
            export: ExportDialog::default(),
            picker: FilePicker::new(Arc::clone(&wake)),
            message: None,
            wake,
            gpu_texture_limit: None,
            gpu_inputs: None,
            asked: Vec::new(),
            gpu_lane: GpuLane::new(),
        }
    }

    /// The forward shader's inputs (x0's bytes and ε) for what the state shows, rebuilt only when
    /// the picture or the noise changed.
    fn gpu_inputs(&mut self) -> (u64, Arc<ForwardInputs>) {
        let revision = self.state.inputs_revision();
        match &self.gpu_inputs {
            Some((r, inputs)) if *r == revision => (revision, Arc::clone(inputs)),
            _ => {
                let picture = self.state.picture();
                let inputs = Arc::new(ForwardInputs {
                    width: picture.width,
                    height: picture.height,
                    x0_rgb: picture.to_rgb8(),
                    eps: self.state.eps().to_vec(),
                });
                self.gpu_inputs = Some((revision, Arc::clone(&inputs)));
                (revision, inputs)
            }
        }
    }

    /// Notes what the user asked for while drawing; it is done once the view is drawn.
    pub fn ask(&mut self, command: ForwardCommand) {
        self.asked.push(command);
    }

    /// Does what the user asked for: the one place the view's drawing leads to actions.
    pub fn apply(&mut self, command: ForwardCommand) {
        match command {
            ForwardCommand::OpenBundled(photo) => self.open_bundled(photo),
            ForwardCommand::ChoosePhoto => self.choose_and_open(),
            ForwardCommand::OpenExportDialog => self.open_export_dialog(),
            ForwardCommand::ExportGif => self.choose_and_export_gif(),
            ForwardCommand::SavePng => self.choose_and_save_png(),
        }
    }

    /// Whether a photo is being loaded.
    pub fn is_loading(&self) -> bool {
        self.loading.is_some()
    }

    /// Loads `photo` in the background and shows it when done.
    pub fn open_bundled(&mut self, photo: BundledPhoto) {
        self.start_loading(move || photo.load().map(|p| (p, PictureSource::Bundled(photo))));
    }

    /// Loads the image at `path` in the background; on failure the current photo stays.
    pub fn open_path(&mut self, path: PathBuf) {
        self.start_loading(move || {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            load_picture_from_path(&path).map(|p| (p, PictureSource::File(name)))
        });
    }

    /// Loads an image from bytes in the background (used by tests and for pasted data).
    pub fn open_bytes(&mut self, name: String, bytes: Vec<u8>) {
        self.start_loading(move || {
            load_picture_from_bytes(&bytes).map(|p| (p, PictureSource::File(name)))
        });
    }

    /// Asks for an image (the system's dialog or the in-window picker), then opens it.
    pub fn choose_and_open(&mut self) {
        let request = FileRequest::open(
            ("Open an image", "选择要打开的图片"),
            "PNG, JPEG, WebP, GIF, BMP",
            IMAGE_EXTENSIONS,
        );
        self.picker.ask(ForwardPick::OpenImage, request);
    }

    /// Opens the GIF export dialog.
    pub fn open_export_dialog(&mut self) {
        self.export.open = true;
    }

    /// Asks where to save the current x_t frame, then saves it as a PNG. Playing stops, so the
    /// frame saved is the one named.
    pub fn choose_and_save_png(&mut self) {
        self.state.playing = false;
        let name = format!("x_t-{}.png", self.state.t);
        let request = FileRequest::save(
            ("Save x_t as PNG", "把 x_t 保存为 PNG"),
            "PNG",
            &["png"],
            name,
        );
        self.picker.ask(ForwardPick::SavePng, request);
    }

    /// Asks where to write the sweep GIF, then exports it with the dialog's settings.
    pub fn choose_and_export_gif(&mut self) {
        let request = FileRequest::save(
            ("Export the sweep as GIF", "把扫描导出为 GIF"),
            "GIF",
            &["gif"],
            "forward.gif",
        );
        self.picker.ask(ForwardPick::ExportGif, request);
    }

    /// Saves the current x_t frame (at the picture's resolution, captioned) to `path` in the background.
    pub fn save_png(&mut self, path: PathBuf) {
        let request = export::FrameRequest::from_state(&mut self.state);
        self.export.start_png(request, path, Arc::clone(&self.wake));
    }

    /// Exports the sweep as a GIF to `path` in the background, with the dialog's settings.
    pub fn export_gif(&mut self, path: PathBuf) {
        let request = export::SweepRequest::from_state(&self.state);
        self.export.start_gif(request, path, Arc::clone(&self.wake));
    }

    /// Whether an export is running.
    pub fn is_exporting(&self) -> bool {
        self.export.is_running()
    }

    fn start_loading(&mut self, load: impl FnOnce() -> LoadResult + Send + 'static) {
        match Job::spawn("load-image", Arc::clone(&self.wake), move |_| load()) {
            Ok(job) => self.loading = Some(job),
            Err(e) => self.message = Some(job_not_started(&e)),
        }
    }

    fn finish_loading(&mut self, lang: Lang) {
        let Some(job) = &self.loading else {
            return;
        };
        match job.poll() {
            Poll::Running => return,
            Poll::Done(Ok((loaded, source))) => {
                self.message = loaded
                    .note(lang)
                    .map(|_| Message::info_in(|l| loaded.note(l).unwrap_or_default()));
                self.state.set_picture(loaded, source);
            }
            Poll::Done(Err(error)) => {
                self.message = Some(Message::error_in(|l| error.sentence(l), error.details()));
            }
            Poll::Lost => {
                self.message = Some(Message::error_in(
                    |l| l.tr(Text::BackgroundFailed).into(),
                    None,
                ));
            }
        }
        self.loading = None;
    }
}

impl View for ForwardView {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.tr(Text::ViewForward)
    }

    /// Brings state up to date: finished jobs, the background walk, playing time.
    fn logic(&mut self, ctx: &egui::Context, lang: Lang) {
        self.finish_loading(lang);
        if let Some(why) = self.gpu_lane.take_failure() {
            // The shader cannot take the picture: x_t is uploaded as a CPU texture from now on.
            self.gpu_texture_limit = None;
            self.message = Some(Message::error_in(
                move |l| upload_failed_sentence(&why, l),
                None,
            ));
        }
        if let Some(message) = self.export.poll() {
            self.message = Some(message);
        }
        self.state.sync(&self.wake);
        self.export.refresh_estimate(&self.state, &self.wake);
        if self.state.playing {
            self.state.advance_to(ctx.input(|i| i.time));
            ctx.request_repaint();
        }
    }

    /// Draws the in-window file picker when it is shown, and acts on the file chosen.
    fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) {
        match self.picker.ui(ctx, lang) {
            Some((ForwardPick::OpenImage, path)) => self.open_path(path),
            Some((ForwardPick::SavePng, path)) => self.save_png(path),
            Some((ForwardPick::ExportGif, path)) => self.export_gif(path),
            None => {}
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::forward_ui(self, ui, lang);
        for command in std::mem::take(&mut self.asked) {
            self.apply(command);
        }
    }

    fn settings_json(&self) -> String {
        serde_json::to_string(&self.state.settings).unwrap_or_default()
    }

    fn slide_state(&self) -> serde_json::Value {
        serde_json::to_value(self.slide()).unwrap_or_default()
    }

    fn reads_slide_state(&self, state: &serde_json::Value) -> bool {
        slide::read_slide(state).is_some()
    }

    fn figures(&self, lang: Lang) -> Vec<crate::export::figure::Figure> {
        figures::figures(self, lang)
    }

    fn pictures(&self, lang: Lang) -> Vec<(String, image::RgbImage)> {
        figures::pictures(self, lang)
    }

    fn show_slide_state(&mut self, state: &serde_json::Value) {
        if let Some(slide) = slide::read_slide(state) {
            self.show(slide);
        }
    }

    /// Opens the first file dropped (a photo, or a sentence saying why it is not one).
    fn drop_files(&mut self, paths: Vec<PathBuf>) -> bool {
        match paths.into_iter().next() {
            Some(path) => {
                self.open_path(path);
                true
            }
            None => false,
        }
    }

    fn show_message(&mut self, message: Message) {
        self.message = Some(message);
    }

    fn keys(&self, lang: Lang) -> Vec<KeyHelp> {
        KeyHelp::table(
            lang,
            &[
                ("← →", "step t", "单步移动 t"),
                ("Shift+← →", "big steps", "大步移动"),
                ("Home / End", "t = 0 / t = T", "t = 0 / t = T"),
                ("Space", "play / pause", "播放/暂停"),
                ("Ctrl+O", "open a photo", "打开"),
                ("Ctrl+E", "export a GIF", "导出 GIF"),
                ("Ctrl+S", "save a PNG", "保存 PNG"),
            ],
        )
    }

    /// Draws x_t with the forward shader where the window's device built it; otherwise says once
    /// why the pictures are CPU textures.
    fn use_gpu_views(&mut self, gpu: &GpuViews) {
        match gpu.texture_limit() {
            Some(limit) => self.gpu_texture_limit = Some(limit),
            None => self.message = Some(Message::info_in(|l| gpu.describe_in(l))),
        }
    }
}

//! The export dialog of the Forward view (GIF of the sweep, PNG of the current frame) and the
//! background jobs that write them. Both call the same code as `diffuscope export forward`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use eframe::egui;

use super::state::{ForwardState, GifExportSettings};
use crate::data::load::LoadedPicture;
use crate::diffusion::forward::Noising;
use crate::diffusion::{NoiseSchedule, ScheduleConfig};
use crate::export::budget::{ByteSize, Describe as _, choose, write_within};
use crate::export::forward::{Sweep, SweepAnimation, SweepPlan, caption};
use crate::export::{ExportError, GifSettings, Repeat, add_caption, write_png};
use crate::i18n::{Lang, Text};
use crate::ui::gif_size::{self, Estimator, SavedGif};
use crate::ui::jobs::{Job, Poll, job_not_started};
use crate::ui::message::Message;

/// Everything needed to export the sweep, copied out of the view so the job owns it.
pub struct SweepRequest {
    picture: Arc<LoadedPicture>,
    schedule: NoiseSchedule,
    noising: Noising,
    seed: u64,
    settings: GifExportSettings,
}

impl SweepRequest {
    /// The sweep the view currently shows, with the dialog's settings.
    pub fn from_state(state: &ForwardState) -> Self {
        Self {
            picture: Arc::clone(&state.loaded),
            schedule: state.schedule().clone(),
            noising: state.settings.noising,
            seed: state.settings.seed,
            settings: state.settings.export,
        }
    }

    /// What the size of the GIF depends on.
    fn key(&self) -> SweepKey {
        SweepKey {
            picture: Arc::clone(&self.picture),
            schedule: *self.schedule.config(),
            noising: self.noising,
            seed: self.seed,
            frames: self.settings.frames,
            width: effective_width(self.settings.width, self.picture.picture.width),
            limit: self.limit(),
        }
    }

    fn limit(&self) -> Option<ByteSize> {
        gif_size::limit(self.settings.limit_size, self.settings.max_mb)
    }

    fn gif_settings(&self) -> GifSettings {
        GifSettings {
            fps: self.settings.fps,
            repeat: self.settings.repeats.map_or(Repeat::Forever, Repeat::Times),
            ..GifSettings::default()
        }
    }

    /// Runs `work` on the sweep as an animation with the dialog's frames and width.
    fn with_animation<R>(&self, work: impl FnOnce(&SweepAnimation<'_>) -> R) -> R {
        let picture = &self.picture.picture;
        let sweep = Sweep {
            picture,
            schedule: &self.schedule,
            noising: self.noising,
            seed: self.seed,
            frames: self.settings.frames,
            width: effective_width(self.settings.width, picture.width),
        };
        let text = |t| caption(t, &self.schedule, self.noising);
        work(&SweepAnimation::new(sweep, &text))
    }
}

/// What the size of the sweep's GIF depends on: when it changes, the size is estimated again.
#[derive(Clone)]
struct SweepKey {
    picture: Arc<LoadedPicture>,
    schedule: ScheduleConfig,
    noising: Noising,
    seed: u64,
    frames: usize,
    width: usize,
    limit: Option<ByteSize>,
}

impl PartialEq for SweepKey {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.picture, &other.picture)
            && (self.schedule, self.noising, self.seed)
                == (other.schedule, other.noising, other.seed)
            && (self.frames, self.width, self.limit) == (other.frames, other.width, other.limit)
    }
}

/// A plan in words, for the expected-size line.
fn describe_plan(lang: Lang, plan: &SweepPlan) -> String {
    plan.describe(lang)
}

/// The frame the view currently shows, as drawn, with its caption.
pub struct FrameRequest {
    image: image::RgbImage,
    caption: String,
}

impl FrameRequest {
    /// The x_t on screen now (in chain mode, at the walk's resolution, exactly as shown).
    pub fn from_state(state: &mut ForwardState) -> Option<Self> {
        let noising = state.settings.noising;
        let text = caption(state.t, state.schedule(), noising);
        let image = state.x_t_image()?;
        let (w, h) = (
            u32::try_from(image.width).ok()?,
            u32::try_from(image.height).ok()?,
        );
        Some(Self {
            image: image::RgbImage::from_raw(w, h, image.rgb.clone())?,
            caption: text,
        })
    }
}

/// What finished exports report: the file written, how many frames it holds and, for a GIF, its
/// size and what a size limit chose.
type ExportOutcome = Result<(PathBuf, usize, Option<SavedGif>), ExportError>;

/// The dialog's open state, the GIF's expected size, and the running export, if any.
#[derive(Default)]
pub struct ExportDialog {
    /// Whether the GIF dialog is shown.
    pub open: bool,
    job: Option<(usize, Job<ExportOutcome>)>,
    estimator: Estimator<SweepKey, SweepPlan>,
    /// What the size was last asked for.
    shown: Option<SweepKey>,
    /// The banner for an export that could not start, until it is shown.
    not_started: Option<Message>,
}

impl ExportDialog {
    /// While the dialog is open, estimates the size of the GIF the view and the dialog's settings
    /// would give, in the background, whenever they change. Call before drawing.
    pub fn refresh_estimate(&mut self, state: &ForwardState, wake: &Arc<dyn Fn() + Send + Sync>) {
        if !self.open {
            return;
        }
        let request = SweepRequest::from_state(state);
        let key = request.key();
        self.estimator.refresh(&key, wake, move || {
            let limit = request.limit();
            request.with_animation(|animation| choose(animation, &request.gif_settings(), limit))
        });
        self.shown = Some(key);
    }

    /// Whether an export is being written.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Starts writing the sweep GIF to `path`.
    pub fn start_gif(
        &mut self,
        request: SweepRequest,
        path: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) {
        let frames = request.settings.frames;
        let job = Job::spawn("export-gif", wake, move |progress| {
            let count = || {
                progress.fetch_add(1, Ordering::Relaxed);
            };
            let limit = request.limit();
            let written = request.with_animation(|animation| {
                write_within(&path, animation, &request.gif_settings(), limit, &count)
            })?;
            let saved = SavedGif::new(&written, limit, &describe_plan);
            Ok((path, written.frames, Some(saved)))
        });
        self.start(frames, job);
    }

    /// Starts writing one captioned frame as a PNG to `path`.
    pub fn start_png(
        &mut self,
        request: Option<FrameRequest>,
        path: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) {
        let Some(request) = request else {
            return;
        };
        let job = Job::spawn("export-png", wake, move |_| {
            let framed = add_caption(&request.image, &request.caption);
            write_png(&path, &framed).map(|()| (path, 1, None))
        });
        self.start(1, job);
    }

    fn start(&mut self, frames: usize, job: std::io::Result<Job<ExportOutcome>>) {
        match job {
            Ok(job) => self.job = Some((frames, job)),
            Err(error) => self.not_started = Some(job_not_started(&error)),
        }
    }

    /// Collects a finished export as a message for the banner.
    pub fn poll(&mut self) -> Option<Message> {
        if let Some(message) = self.not_started.take() {
            return Some(message);
        }
        let (_, job) = self.job.as_ref()?;
        let message = match job.poll() {
            Poll::Running => return None,
            Poll::Done(Ok((path, frames, gif))) => Message::info_in(|lang| match &gif {
                Some(gif) => gif_size::saved_gif_sentence(lang, &path, frames, gif),
                None => saved_sentence(lang, &path, frames),
            }),
            Poll::Done(Err(error)) => {
                Message::error_in(|lang| error.sentence(lang), Some(error.to_string()))
            }
            Poll::Lost => Message::error_in(|lang| lang.tr(Text::BackgroundFailed).into(), None),
        };
        self.job = None;
        Some(message)
    }

    /// Progress of the running export: (frames done, frames in all).
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.job
            .as_ref()
            .map(|(total, job)| (job.progress().min(*total), *total))
    }
}

/// "Saved reverse.gif (60 frames)." in either language.
pub(crate) fn saved_sentence(lang: Lang, path: &Path, frames: usize) -> String {
    let name = path.display();
    match (lang, frames) {
        (Lang::En, 1) => format!("Saved {name}."),
        (Lang::En, n) => format!("Saved {name} ({n} frames)."),
        (Lang::Zh, 1) => format!("已保存 {name}。"),
        (Lang::Zh, n) => format!("已保存 {name}（{n} 帧）。"),
    }
}

/// Draws the GIF dialog when open. Returns `true` when the user pressed Export (the caller then asks
/// for a file name, so the dialog itself never blocks).
pub fn export_dialog_ui(
    ctx: &egui::Context,
    lang: Lang,
    dialog: &mut ExportDialog,
    settings: &mut GifExportSettings,
    picture_width: usize,
) -> bool {
    if !dialog.open {
        return false;
    }
    let mut export = false;
    let modal = egui::Modal::new(egui::Id::unique("forward-export")).show(ctx, |ui| {
        ui.heading(lang.tr(Text::ExportTitle));
        egui::Grid::new("export-grid")
            .num_columns(2)
            .spacing([16.0, 8.0])
            .show(ui, |ui| {
                ui.label(lang.tr(Text::Frames));
                ui.add(egui::DragValue::new(&mut settings.frames).range(2..=500));
                ui.end_row();
                ui.label(lang.tr(Text::FramesPerSecond));
                ui.add(
                    egui::DragValue::new(&mut settings.fps)
                        .range(1.0..=50.0)
                        .speed(0.2),
                );
                ui.end_row();
                let label = ui.label(lang.tr(Text::Width));
                width_ui(ui, label.id, lang, &mut settings.width, picture_width);
                ui.end_row();
                let label = ui.label(lang.pick("Size limit", "大小上限"));
                let (on, max_mb) = (&mut settings.limit_size, &mut settings.max_mb);
                gif_size::limit_ui(ui, label.id, lang, on, max_mb);
                ui.end_row();
                ui.label(lang.tr(Text::Loop));
                ui.horizontal(|ui| {
                    ui.radio_value(&mut settings.repeats, None, lang.tr(Text::LoopForever));
                    ui.radio_value(&mut settings.repeats, Some(0), lang.tr(Text::LoopOnce));
                    if let Some(n) = &mut settings.repeats {
                        ui.label(lang.tr(Text::LoopTimes));
                        ui.add(egui::DragValue::new(n).range(0..=100));
                    }
                });
                ui.end_row();
            });
        if let Some(key) = &dialog.shown {
            let expected = dialog.estimator.expected(key);
            gif_size::expected_ui(ui, lang, &expected, key.limit, &describe_plan);
        }
        ui.separator();
        ui.horizontal(|ui| {
            if ui.button(lang.tr(Text::Export)).clicked() {
                export = true;
            }
            if ui.button(lang.tr(Text::Cancel)).clicked() {
                dialog.open = false;
            }
        });
    });
    if modal.should_close() {
        dialog.open = false;
    }
    if export {
        dialog.open = false;
    }
    export
}

/// The width a GIF gets: the chosen one, or the picture's own while `width` is 0.
pub fn effective_width(width: usize, picture_width: usize) -> usize {
    if width == 0 { picture_width } else { width }
}

/// The width row: pixels, and "same as the picture". While `width` is 0 the picture's own width is
/// shown but never stored, so the next picture gets its own width too; only a width the user types
/// or drags persists.
fn width_ui(
    ui: &mut egui::Ui,
    label: egui::Id,
    lang: Lang,
    width: &mut usize,
    picture_width: usize,
) {
    ui.horizontal(|ui| {
        let mut shown = effective_width(*width, picture_width);
        let drag = egui::DragValue::new(&mut shown)
            .range(16..=4096)
            .clamp_existing_to_range(false);
        if ui.add(drag).labelled_by(label).changed() {
            *width = shown;
        }
        let mut same = *width == 0;
        let text = lang.pick("Same as the picture", "与图片相同");
        if ui.checkbox(&mut same, text).changed() {
            *width = if same { 0 } else { picture_width };
        }
    });
}

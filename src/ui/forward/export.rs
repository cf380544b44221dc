//! The export dialog of the Forward view (GIF of the sweep, PNG of the current frame) and the
//! background jobs that write them. Both call the same code as `diffuscope export forward`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use eframe::egui;

use super::state::{ForwardState, GifExportSettings};
use crate::data::load::LoadedPicture;
use crate::diffusion::NoiseSchedule;
use crate::diffusion::forward::Noising;
use crate::export::forward::{Sweep, caption, sweep_frames};
use crate::export::{ExportError, GifSettings, Repeat, add_caption, write_gif, write_png};
use crate::i18n::{Lang, Text};
use crate::ui::jobs::{Job, Poll};
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

/// What finished exports report: the file written and how many frames it holds.
type ExportOutcome = Result<(PathBuf, usize), ExportError>;

/// The dialog's open state and the running export, if any.
#[derive(Default)]
pub struct ExportDialog {
    /// Whether the GIF dialog is shown.
    pub open: bool,
    job: Option<(usize, Job<ExportOutcome>)>,
}

impl ExportDialog {
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
            let picture = &request.picture.picture;
            let width = match request.settings.width {
                0 => picture.width,
                w => w,
            };
            let sweep = Sweep {
                picture,
                schedule: &request.schedule,
                noising: request.noising,
                seed: request.seed,
                frames,
                width,
            };
            let text = |t| caption(t, &request.schedule, request.noising);
            let count = || {
                progress.fetch_add(1, Ordering::Relaxed);
            };
            let images = sweep_frames(&sweep, &text, &count);
            let settings = GifSettings {
                fps: request.settings.fps,
                repeat: request
                    .settings
                    .repeats
                    .map_or(Repeat::Forever, Repeat::Times),
                hold_last_s: 0.0,
            };
            write_gif(&path, &images, &settings, &|_| {}).map(|()| (path, images.len()))
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
            write_png(&path, &framed).map(|()| (path, 1))
        });
        self.start(1, job);
    }

    fn start(&mut self, frames: usize, job: std::io::Result<Job<ExportOutcome>>) {
        if let Ok(job) = job {
            self.job = Some((frames, job));
        }
    }

    /// Collects a finished export as a message for the banner.
    pub fn poll(&mut self, lang: Lang) -> Option<Message> {
        let (_, job) = self.job.as_ref()?;
        let message = match job.poll() {
            Poll::Running => return None,
            Poll::Done(Ok((path, frames))) => Message::info(saved_sentence(lang, &path, frames)),
            Poll::Done(Err(error)) => Message::error(error.sentence(lang), Some(error.to_string())),
            Poll::Lost => Message::error(lang.tr(Text::BackgroundFailed), None),
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
                ui.label(lang.tr(Text::Width));
                if settings.width == 0 {
                    settings.width = picture_width;
                }
                ui.add(egui::DragValue::new(&mut settings.width).range(16..=2048));
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

//! The Reverse view's exports (GIF of the run, PNG of the grid on screen), written by background
//! jobs with the same code as `diffuscope sample --gif/--png`, and the GIF options in the panel
//! (which steps, how large, a size limit, the expected size).

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;
use image::RgbImage;

use super::ReverseView;
use super::state::{MAX_GIF_FRAMES, ReverseState};
use crate::export::budget::{ByteSize, Describe as _, choose, write_within};
use crate::export::reverse::{GifSubject, ReverseFrames, RunAnimation, RunPlan, chosen_frames};
use crate::export::{ExportError, GifSettings, write_png};
use crate::i18n::{Lang, Text};
use crate::ui::forward::export::saved_sentence;
use crate::ui::gif_size::{self, Estimator, SavedGif};
use crate::ui::jobs::{Job, Poll};
use crate::ui::message::Message;
use crate::worker::{Frame, RunRecord};

/// Seconds the finished images stay at the end of a GIF.
const HOLD_LAST_S: f32 = 2.0;

type ExportOutcome = Result<(PathBuf, usize, Option<SavedGif>), ExportError>;

/// The part of a run a GIF needs, handed to the job: the run (its frames shared with the view, so
/// no image is copied on the window's thread) and the choices.
pub struct GifRequest {
    record: RunRecord,
    options: ReverseFrames,
    fps: f32,
    limit: Option<ByteSize>,
}

impl GifRequest {
    /// The run `record` with the choices in `state`'s settings.
    pub fn new(record: &RunRecord, state: &ReverseState) -> Self {
        let settings = &state.settings;
        let subject = if settings.gif_selected_only {
            GifSubject::Sample(state.selected)
        } else {
            GifSubject::Grid(record.grid())
        };
        Self {
            record: record.clone(),
            options: ReverseFrames {
                subject,
                stride: settings.gif_stride_for(record.frames.len()),
                scale: settings.gif_scale.clamp(1, 16),
            },
            fps: settings.gif_fps,
            limit: gif_size::limit(settings.gif_limit_size, settings.gif_max_mb),
        }
    }

    fn gif_settings(&self) -> GifSettings {
        GifSettings {
            fps: self.fps,
            hold_last_s: HOLD_LAST_S,
            ..GifSettings::default()
        }
    }

    fn animation(&self) -> RunAnimation<'_> {
        RunAnimation {
            record: &self.record,
            options: self.options,
        }
    }

    /// What the size of the GIF depends on.
    fn key(&self) -> RunKey {
        RunKey {
            first: self.record.frames.first().cloned(),
            recorded: self.record.frames.len(),
            finished: self.record.samples.is_some(),
            options: self.options,
            limit: self.limit,
        }
    }
}

/// What the size of a run's GIF depends on (the run is told apart by its first frame).
#[derive(Clone)]
struct RunKey {
    first: Option<Arc<Frame>>,
    recorded: usize,
    finished: bool,
    options: ReverseFrames,
    limit: Option<ByteSize>,
}

impl PartialEq for RunKey {
    fn eq(&self, other: &Self) -> bool {
        let same_run = match (&self.first, &other.first) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        same_run
            && (self.recorded, self.finished) == (other.recorded, other.finished)
            && (self.options, self.limit) == (other.options, other.limit)
    }
}

/// A plan in words, for the expected-size line.
fn describe_plan(lang: Lang, plan: &RunPlan) -> String {
    plan.describe(lang)
}

/// The export running, if any, and the GIF's expected size.
#[derive(Default)]
pub struct ReverseExport {
    job: Option<Job<ExportOutcome>>,
    estimator: Estimator<RunKey, RunPlan>,
}

impl ReverseExport {
    /// Writes the GIF in the background (fails only if no thread can be started).
    pub fn start_gif(
        &mut self,
        request: GifRequest,
        path: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<()> {
        let job = Job::spawn("export-reverse-gif", wake, move |_| {
            let settings = request.gif_settings();
            let written = write_within(
                &path,
                &request.animation(),
                &settings,
                request.limit,
                &|| {},
            )?;
            let saved = SavedGif::new(&written, request.limit, &describe_plan);
            Ok((path, written.frames, Some(saved)))
        });
        self.job = Some(job?);
        Ok(())
    }

    /// Writes the PNG (enlarged 8 times, crisp) in the background.
    pub fn start_png(
        &mut self,
        picture: RgbImage,
        path: PathBuf,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<()> {
        let job = Job::spawn("export-reverse-png", wake, move |_| {
            let (w, h) = picture.dimensions();
            let big = image::imageops::resize(
                &picture,
                w * 8,
                h * 8,
                image::imageops::FilterType::Nearest,
            );
            write_png(&path, &big).map(|()| (path, 1, None))
        });
        self.job = Some(job?);
        Ok(())
    }

    /// Whether an export is being written.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Collects a finished export as a message for the banner.
    pub fn poll(&mut self) -> Option<Message> {
        let job = self.job.as_ref()?;
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
}

/// The GIF options of the Export section: which steps, speed, enlargement, the frame count, only
/// the selected sample, the size limit and the expected size.
pub fn gif_options_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let recorded = view.state.record.as_ref().map(|r| r.frames.len());
    let settings = &mut view.state.settings;
    stride_ui(ui, lang, &mut settings.gif_stride, recorded);
    labelled_slider(
        ui,
        lang.pick("Frames per second", "每秒帧数"),
        egui::Slider::new(&mut settings.gif_fps, 1.0..=50.0),
    );
    labelled_slider(
        ui,
        lang.pick("Enlarge", "放大倍数"),
        egui::Slider::new(&mut settings.gif_scale, 1..=16),
    );
    if let Some(record) = &view.state.record {
        let frames = record.frames.len();
        let stride = settings.gif_stride_for(frames);
        let count = chosen_frames(frames, stride).len() + usize::from(record.samples.is_some());
        ui.label(match lang {
            Lang::En if stride == 1 => format!("The GIF will have {count} frames (every step)."),
            Lang::En => format!("The GIF will have {count} frames (one every {stride} steps)."),
            Lang::Zh => format!("GIF 将有 {count} 帧（每 {stride} 步一帧）。"),
        });
    }
    ui.checkbox(
        &mut settings.gif_selected_only,
        lang.pick("Only the selected sample", "只导出选中的样本"),
    );
    let label = ui.label(lang.pick("Size limit", "大小上限"));
    gif_size::limit_ui(
        ui,
        label.id,
        lang,
        &mut settings.gif_limit_size,
        &mut settings.gif_max_mb,
    );
    expected_size_ui(view, ui, lang);
}

/// The "every n-th step" slider. It shows the stride the GIF will use: the chosen one, or the
/// smallest that keeps a long run under [`MAX_GIF_FRAMES`] frames (the slider starts there); only
/// a stride the user moves it to is stored.
fn stride_ui(ui: &mut egui::Ui, lang: Lang, stride: &mut usize, recorded: Option<usize>) {
    let least = recorded.map_or(1, |n| n.div_ceil(MAX_GIF_FRAMES - 1).max(1));
    let mut shown = (*stride).max(least);
    let slider = egui::Slider::new(&mut shown, least..=least.max(100)).logarithmic(true);
    if labelled_slider(ui, lang.pick("Every n-th step", "每隔 n 步一帧"), slider).changed() {
        *stride = shown;
    }
}

/// The expected size of the GIF of the run on screen, estimated in the background while this
/// section is open and no run is going on.
fn expected_size_ui(view: &mut ReverseView, ui: &mut egui::Ui, lang: Lang) {
    let record = match &view.state.record {
        Some(record) if !record.frames.is_empty() && !view.state.is_running() => record,
        _ => return,
    };
    let request = GifRequest::new(record, &view.state);
    let key = request.key();
    view.export.estimator.refresh(&key, &view.wake, move || {
        choose(&request.animation(), &request.gif_settings(), request.limit)
    });
    let expected = view.export.estimator.expected(&key);
    gif_size::expected_ui(ui, lang, &expected, key.limit, &describe_plan);
}

fn labelled_slider(ui: &mut egui::Ui, text: &str, slider: egui::Slider<'_>) -> egui::Response {
    let label = ui.label(text);
    ui.add(slider).labelled_by(label.id)
}

//! The Reverse view's exports (GIF of the run, PNG of the grid on screen), written by background
//! jobs with the same code as `diffuscope sample --gif/--png`.

use std::path::PathBuf;
use std::sync::Arc;

use image::RgbImage;

use super::state::ReverseState;
use crate::export::reverse::{GifSubject, ReverseFrames, chosen_frames, reverse_frames};
use crate::export::{ExportError, GifSettings, write_gif, write_png};
use crate::i18n::{Lang, Text};
use crate::ui::forward::export::saved_sentence;
use crate::ui::jobs::{Job, Poll};
use crate::ui::message::Message;
use crate::worker::RunRecord;

/// Seconds the finished images stay at the end of a GIF.
const HOLD_LAST_S: f32 = 2.0;

type ExportOutcome = Result<(PathBuf, usize), ExportError>;

/// The part of a run a GIF needs, handed to the job: the frames the stride picks, shared with the
/// view (no image is copied on the window's thread).
pub struct GifRequest {
    record: RunRecord,
    options: ReverseFrames,
    fps: f32,
}

impl GifRequest {
    /// The run `record` with the choices in `state`'s settings.
    pub fn new(record: &RunRecord, state: &ReverseState) -> Self {
        let settings = &state.settings;
        let stride = settings.gif_stride_for(record.frames.len());
        let mut slim = RunRecord::new(
            record.model.clone(),
            record.settings.clone(),
            record.image_size,
        );
        slim.frames = chosen_frames(record.frames.len(), stride)
            .into_iter()
            .filter_map(|i| record.frames.get(i).cloned())
            .collect();
        slim.samples.clone_from(&record.samples);
        let subject = if settings.gif_selected_only {
            GifSubject::Sample(state.selected)
        } else {
            GifSubject::Grid(record.grid())
        };
        Self {
            record: slim,
            options: ReverseFrames {
                subject,
                stride: 1,
                scale: settings.gif_scale.clamp(1, 16),
            },
            fps: settings.gif_fps,
        }
    }
}

/// The export running, if any.
#[derive(Default)]
pub struct ReverseExport {
    job: Option<Job<ExportOutcome>>,
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
            let frames = reverse_frames(&request.record, &request.options);
            let settings = GifSettings {
                fps: request.fps,
                hold_last_s: HOLD_LAST_S,
                ..GifSettings::default()
            };
            write_gif(&path, &frames, &settings, &|_| {}).map(|()| (path, frames.len()))
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
            write_png(&path, &big).map(|()| (path, 1))
        });
        self.job = Some(job?);
        Ok(())
    }

    /// Whether an export is being written.
    pub fn is_running(&self) -> bool {
        self.job.is_some()
    }

    /// Collects a finished export as a message for the banner.
    pub fn poll(&mut self, lang: Lang) -> Option<Message> {
        let job = self.job.as_ref()?;
        let message = match job.poll() {
            Poll::Running => return None,
            Poll::Done(Ok((path, frames))) => Message::info(saved_sentence(lang, &path, frames)),
            Poll::Done(Err(error)) => Message::error(error.sentence(lang), Some(error.to_string())),
            Poll::Lost => Message::error(lang.tr(Text::BackgroundFailed), None),
        };
        self.job = None;
        Some(message)
    }
}

//! The Playground's files, each read or written on a job of its own: points opened from a CSV file
//! (or dropped on the window) become the drawing; the data saved as CSV; the forward and reverse
//! processes of the trained diffusion model exported as a GIF.

use std::path::Path;

use crate::i18n::Lang;
use crate::toy::animation::write_animation;
use crate::toy::points_file::{read_points, write_points};
use crate::toy::{Point, ToySampler};
use crate::ui::message::Message;

/// What a file chosen in the picker is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaygroundPick {
    /// Points to learn.
    OpenPoints,
    /// Where to save the data.
    SavePoints,
    /// Where to write the GIF.
    ExportGif,
}

/// What a finished job hands back.
pub enum FileOutcome {
    /// Points read from a file.
    Opened(Vec<Point>),
    /// A file written; the banner's sentence.
    Written(Message),
    /// Something failed; the banner's sentence.
    Failed(Message),
}

/// The file's name as the user should read it.
fn shown(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

/// Reads the points of the CSV file at `path`.
pub fn open_points(path: &Path) -> FileOutcome {
    match read_points(path) {
        Ok(points) => FileOutcome::Opened(points),
        Err(error) => {
            let name = shown(path);
            FileOutcome::Failed(Message::error_in(move |l| error.sentence(&name, l), None))
        }
    }
}

/// Writes `points` to `path` as CSV.
pub fn save_points(path: &Path, points: &[Point]) -> FileOutcome {
    let name = shown(path);
    let count = points.len();
    match write_points(path, points) {
        Ok(()) => FileOutcome::Written(Message::info_in(move |l| {
            l.pick(
                format!("Saved {count} points to “{name}”."),
                format!("已把 {count} 个点保存到“{name}”。"),
            )
        })),
        Err(error) => FileOutcome::Failed(Message::error_in(move |l| error.sentence(l), None)),
    }
}

/// What the GIF shows: the data, the trained model, the preview's sampler steps and seed.
pub struct GifJob {
    /// The data points (the first 2000 are drawn).
    pub data: Vec<Point>,
    /// The model.
    pub sampler: ToySampler,
    /// Sampler steps.
    pub steps: usize,
    /// Seeds the forward noise and the samples.
    pub seed: u64,
    /// The captions' language.
    pub lang: Lang,
}

/// Writes the forward and reverse processes to `path` as a GIF.
pub fn export_gif(path: &Path, job: &GifJob) -> FileOutcome {
    let name = shown(path);
    match write_animation(
        path,
        &job.sampler,
        &job.data,
        (job.seed, job.steps),
        job.lang,
    ) {
        Ok((count, bytes)) => FileOutcome::Written(Message::info_in(move |l| {
            let kb = bytes / 1024;
            l.pick(
                format!("Saved the animation to “{name}” ({count} frames, {kb} KB)."),
                format!("已把动画保存到“{name}”（{count} 帧，{kb} KB）。"),
            )
        })),
        Err(error) => FileOutcome::Failed(Message::error_in(move |l| error.sentence(l), None)),
    }
}

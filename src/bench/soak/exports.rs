//! The soak's exports: a finished run written as a GIF, a PNG and a run file into a folder of the
//! soak's own, each read back and compared with what was written, the folder checked for leftovers
//! (temporary files), and the outputs deleted.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::RgbImage;

use crate::export::reverse::{GifSubject, ReverseFrames, reverse_frames};
use crate::export::{GifSettings, write_gif, write_png};
use crate::i18n::Lang;
use crate::sample::grid::tile;
use crate::worker::RunRecord;
use crate::worker::run_file::{open_run, save_run};

/// Frames a GIF shows at most (besides the finished images).
const GIF_FRAMES: usize = 12;
/// Enlargement of the exported pictures.
const SCALE: u32 = 3;
/// The largest mean difference, in levels of 0–255, allowed between a frame and its decoded GIF
/// frame (the GIF's 256 colours).
const GIF_MEAN_ERROR: f64 = 2.0;

/// What one round of exports wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportFigures {
    /// Bytes of the GIF, the PNG and the run file together.
    pub bytes: u64,
    /// Wall time of writing, reading back and deleting them.
    pub elapsed: Duration,
}

/// Writes `record` (a finished run) into `folder` as `soak-{n}.gif`, `.png` and `.dsrun`, reads
/// each back and compares, checks the folder holds nothing else, and deletes them. Errors are one
/// sentence.
pub fn export_round_trip(
    record: &RunRecord,
    folder: &Path,
    n: u64,
) -> Result<ExportFigures, String> {
    let started = Instant::now();
    let path = |ext: &str| folder.join(format!("soak-{n}.{ext}"));
    let paths = [
        path("gif"),
        path("png"),
        path(crate::worker::run_file::EXTENSION),
    ];
    let result = write_and_check(record, &paths);
    let bytes = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let leftovers = leftovers(folder, &paths);
    for p in &paths {
        // A file that was never written is not there to delete.
        let _ = std::fs::remove_file(p);
    }
    result?;
    leftovers?;
    Ok(ExportFigures {
        bytes,
        elapsed: started.elapsed(),
    })
}

fn write_and_check(record: &RunRecord, [gif, png, run]: &[PathBuf; 3]) -> Result<(), String> {
    let samples = record
        .samples
        .as_deref()
        .ok_or("the run to export has not finished")?;
    let grid = record.grid();
    let options = ReverseFrames {
        subject: GifSubject::Grid(grid),
        stride: record.frames.len().div_ceil(GIF_FRAMES).max(1),
        scale: SCALE,
    };
    let frames = reverse_frames(record, &options);
    // Newer versions return the file's size; it is read from the disk below either way.
    write_gif(gif, &frames, &GifSettings::default(), &|_| {}).map_err(|e| e.sentence(Lang::En))?;
    check_gif(gif, &frames)?;

    let picture = tile(samples, record.image_shape, grid, SCALE);
    write_png(png, &picture).map_err(|e| e.sentence(Lang::En))?;
    let decoded = image::open(png)
        .map_err(|e| format!("{} does not decode: {e}", png.display()))?
        .to_rgb8();
    if decoded != picture {
        return Err(format!(
            "{} decodes to other pixels than were written",
            png.display()
        ));
    }

    save_run(run, record).map_err(|e| e.sentence(Lang::En))?;
    let opened = open_run(run).map_err(|e| e.sentence(Lang::En))?;
    let same = opened.model == record.model
        && opened.settings == record.settings
        && opened.image_shape == record.image_shape
        && opened.frames == record.frames
        && opened.samples == record.samples
        && opened.start == record.start
        && opened.network_calls == record.network_calls;
    if !same {
        return Err(format!(
            "{} opens as another run than was saved",
            run.display()
        ));
    }
    Ok(())
}

/// Decodes the GIF at `path` as a viewer shows it and compares every frame with `frames`.
fn check_gif(path: &Path, frames: &[RgbImage]) -> Result<(), String> {
    let fail = |detail: String| format!("{} does not read back: {detail}", path.display());
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let decoder = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(file))
        .map_err(|e| fail(e.to_string()))?;
    let decoded = image::AnimationDecoder::into_frames(decoder)
        .collect_frames()
        .map_err(|e| fail(e.to_string()))?;
    if decoded.len() != frames.len() {
        return Err(fail(format!(
            "{} frames, not {}",
            decoded.len(),
            frames.len()
        )));
    }
    for (index, (shown, written)) in decoded.iter().zip(frames).enumerate() {
        let shown = shown.buffer();
        if shown.dimensions() != written.dimensions() {
            return Err(fail(format!("frame {} has another size", index + 1)));
        }
        let total: u64 = shown
            .pixels()
            .zip(written.pixels())
            .flat_map(|(a, b)| (0..3).map(move |c| u64::from(a.0[c].abs_diff(b.0[c]))))
            .sum();
        let mean = total as f64 / (3 * written.pixels().len()).max(1) as f64;
        if mean > GIF_MEAN_ERROR {
            return Err(fail(format!(
                "frame {} is {mean:.1} levels away from what was written on average",
                index + 1
            )));
        }
    }
    Ok(())
}

/// An error naming whatever else is in `folder` besides `expected` (a temporary file left behind).
fn leftovers(folder: &Path, expected: &[PathBuf]) -> Result<(), String> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| format!("{} cannot be listed: {e}", folder.display()))?;
    let others: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| !expected.contains(p))
        .map(|p| p.display().to_string())
        .collect();
    if others.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the export left files behind: {}",
            others.join(", ")
        ))
    }
}

//! Animated GIFs: each frame gets its own 256-colour palette, quantised in parallel.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use super::ExportError;
use super::atomic::{self, WriteFailure};

/// The `speed` given to the NeuQuant quantiser (1 = slowest, best; 30 = fastest, worst).
///
/// NeuQuant learns its palette from every `speed`-th pixel. At 10 it learns from ~13 000 of a
/// 451×317 frame's 143 000 pixels, plenty for photographs and noise, and quantises 60 such frames
/// in about a third of a second on two cores (the goal is one second).
const QUANTISER_SPEED: i32 = 10;

/// The shortest frame delay, in centiseconds, that browsers honour (shorter ones get slowed to 10).
const MIN_DELAY_CS: u16 = 2;

/// How a GIF repeats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Repeat {
    /// Loops for ever.
    #[default]
    Forever,
    /// Plays once and then repeats this many more times; `Times(0)` plays once.
    Times(u16),
}

impl From<Repeat> for gif::Repeat {
    fn from(repeat: Repeat) -> Self {
        match repeat {
            Repeat::Forever => Self::Infinite,
            Repeat::Times(times) => Self::Finite(times),
        }
    }
}

/// How an animation is played back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GifSettings {
    /// Frames per second. The GIF stores a delay in whole centiseconds, so the speed is rounded
    /// (and capped at 50 frames per second, the fastest browsers show).
    pub fps: f32,
    /// How often the animation repeats.
    pub repeat: Repeat,
}

impl Default for GifSettings {
    fn default() -> Self {
        Self {
            fps: 10.0,
            repeat: Repeat::Forever,
        }
    }
}

impl GifSettings {
    /// The delay between frames in centiseconds: `round(100 / fps)`, at least 2.
    ///
    /// A speed that is zero, negative or not a number gives the slowest delay a GIF can store.
    pub fn delay_cs(&self) -> u16 {
        if self.fps.is_nan() || self.fps <= 0.0 {
            return u16::MAX;
        }
        let delay = (100.0 / self.fps).round().min(f32::from(u16::MAX));
        // In range by the `min` above and the `fps > 0` check; the cast truncates nothing.
        (delay as u16).max(MIN_DELAY_CS)
    }
}

/// Writes the frames as an animated GIF, atomically (a temporary file in the destination folder,
/// then a rename; on any error nothing is left behind).
///
/// All frames must have the size of the first, at most 65 535 pixels each way. `on_frame` is
/// called after each frame is encoded with the number of frames encoded so far (1, 2, … up to
/// `frames.len()`, in that order), for progress bars; it may be called from worker threads.
pub fn write_gif(
    path: &Path,
    frames: &[image::RgbImage],
    settings: &GifSettings,
    on_frame: &(dyn Fn(usize) + Sync),
) -> Result<(), ExportError> {
    let first = frames.first().ok_or(ExportError::NoFrames)?;
    let encode_error = |detail: String| ExportError::Encode {
        path: path.to_path_buf(),
        detail,
    };
    let (width, height) = first.dimensions();
    let (Ok(width16), Ok(height16)) = (u16::try_from(width), u16::try_from(height)) else {
        return Err(encode_error(format!(
            "a GIF can be at most 65535 pixels each way, and the frames are {width}×{height}"
        )));
    };
    if width == 0 || height == 0 {
        return Err(encode_error("the frames are empty (0 pixels)".to_owned()));
    }
    if let Some((index, frame)) = frames
        .iter()
        .enumerate()
        .find(|(_, frame)| frame.dimensions() != (width, height))
    {
        let (w, h) = frame.dimensions();
        return Err(encode_error(format!(
            "frame {} is {w}×{h} but the first is {width}×{height}",
            index + 1
        )));
    }
    // Fail on a bad folder now rather than after the slow part.
    atomic::check_folder(path)?;

    let delay = settings.delay_cs();
    let done = Mutex::new(0_usize);
    let encoded: Vec<gif::Frame<'static>> = frames
        .par_iter()
        .map(|image| {
            let mut frame =
                gif::Frame::from_rgb_speed(width16, height16, image.as_raw(), QUANTISER_SPEED);
            frame.delay = delay;
            frame.make_lzw_pre_encoded();
            // Counting and reporting under one lock keeps the reported numbers in order.
            let mut count = done.lock().unwrap_or_else(PoisonError::into_inner);
            *count += 1;
            on_frame(*count);
            frame
        })
        .collect();

    atomic::write_atomically(path, |out| {
        let mut encoder = gif::Encoder::new(out, width16, height16, &[])?;
        encoder.set_repeat(settings.repeat.into())?;
        for frame in &encoded {
            encoder.write_lzw_pre_encoded_frame(frame)?;
        }
        encoder.into_inner()?;
        Ok::<(), WriteFailure>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(fps: f32) -> u16 {
        GifSettings {
            fps,
            repeat: Repeat::Forever,
        }
        .delay_cs()
    }

    #[test]
    fn delay_is_rounded_centiseconds() {
        assert_eq!(delay(10.0), 10);
        assert_eq!(delay(12.0), 8); // 8.33
        assert_eq!(delay(15.0), 7); // 6.67
        assert_eq!(delay(1.0), 100);
        assert_eq!(delay(0.001), u16::MAX);
    }

    #[test]
    fn delay_is_at_least_two_centiseconds() {
        assert_eq!(delay(60.0), 2);
        assert_eq!(delay(1000.0), 2);
    }

    #[test]
    fn nonsense_speeds_give_the_slowest_delay() {
        assert_eq!(delay(0.0), u16::MAX);
        assert_eq!(delay(-5.0), u16::MAX);
        assert_eq!(delay(f32::NAN), u16::MAX);
    }
}

//! Animated GIFs: each frame gets its own palette of at most 256 colours, computed in parallel
//! (the first frame's serves as the global palette, and frames that share it carry none).

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use super::ExportError;
use super::atomic::{self, WriteFailure};
use super::quantise::quantise;

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
    /// How long the last frame stays, in seconds (0 = as long as any other), so a finished picture
    /// can be looked at before the loop starts again.
    pub hold_last_s: f32,
}

impl Default for GifSettings {
    fn default() -> Self {
        Self {
            fps: 10.0,
            repeat: Repeat::Forever,
            hold_last_s: 0.0,
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

    /// The delay of the last frame in centiseconds: the hold, if longer than the usual delay.
    pub fn last_delay_cs(&self) -> u16 {
        let hold = if self.hold_last_s.is_finite() && self.hold_last_s > 0.0 {
            // In range by the `min`; the cast truncates nothing.
            (self.hold_last_s * 100.0).round().min(f32::from(u16::MAX)) as u16
        } else {
            0
        };
        hold.max(self.delay_cs())
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
    atomic::check_destination(path)?;

    let delay = settings.delay_cs();
    let done = Mutex::new(0_usize);
    // Colour reduction and compression, the slow part, run on all cores; writing is sequential.
    let encoded: Vec<gif::Frame<'static>> = frames
        .par_iter()
        .map(|image| {
            let indexed = quantise(image.width(), image.height(), image.as_raw());
            let mut frame = gif::Frame {
                width: width16,
                height: height16,
                delay,
                palette: Some(indexed.palette),
                buffer: Cow::Owned(indexed.indices),
                ..gif::Frame::default()
            };
            frame.make_lzw_pre_encoded();
            // Counting and reporting under one lock keeps the reported numbers in order.
            let mut count = done.lock().unwrap_or_else(PoisonError::into_inner);
            *count += 1;
            on_frame(*count);
            frame
        })
        .collect();

    // The first frame's palette doubles as the global one, and frames that share it carry none.
    // (With an empty global table the encoder writes two black entries, and Pillow then reads
    // frames whose colours are all grey as black.)
    let global: Vec<u8> = encoded
        .first()
        .and_then(|frame| frame.palette.clone())
        .unwrap_or_default();
    atomic::write_atomically(path, |out| {
        let mut encoder = gif::Encoder::new(out, width16, height16, &global)?;
        encoder.set_repeat(settings.repeat.into())?;
        let last = encoded.len() - 1;
        for (index, frame) in encoded.iter().enumerate() {
            let shares_global = frame.palette.as_deref() == Some(global.as_slice());
            if index == last || shares_global {
                let mut written = frame.clone();
                if index == last {
                    written.delay = settings.last_delay_cs();
                }
                if shares_global {
                    written.palette = None;
                }
                encoder.write_lzw_pre_encoded_frame(&written)?;
            } else {
                encoder.write_lzw_pre_encoded_frame(frame)?;
            }
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
            ..GifSettings::default()
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

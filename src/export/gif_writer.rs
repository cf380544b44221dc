//! Animated GIFs: the first frame whole, later ones only where they changed (transparent pixels let
//! the frame before show through); one shared palette when all frames together have at most 255
//! colours, else a palette of at most 256 colours per frame. Frames are encoded as they come
//! ([`super::gif_stream`]); colour reduction and compression run on all cores.

use std::path::Path;

use super::ExportError;
use super::atomic::{self, WriteFailure};
use super::gif_stream::{Halt, Stop, stream_gif};

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

/// How an animation is played back, and how closely it is kept.
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
    /// How far (in levels of 0–255, per channel) a pixel may drift from what is on screen before a
    /// later frame writes it again; 0 writes every change. Larger values make smaller files.
    pub tolerance: u8,
}

impl Default for GifSettings {
    fn default() -> Self {
        Self {
            fps: 10.0,
            repeat: Repeat::Forever,
            hold_last_s: 0.0,
            tolerance: 0,
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
/// `frames.len()`, in that order), for progress bars. Returns the size of the file in bytes.
pub fn write_gif(
    path: &Path,
    frames: &[image::RgbImage],
    settings: &GifSettings,
    on_frame: &dyn Fn(usize),
) -> Result<u64, ExportError> {
    if frames.is_empty() {
        return Err(ExportError::NoFrames);
    }
    check_frames(frames).map_err(|detail| ExportError::Encode {
        path: path.to_path_buf(),
        detail,
    })?;
    // Fail on a bad folder now rather than after the slow part.
    atomic::check_destination(path)?;
    let source = |each: &mut dyn FnMut(image::RgbImage) -> Result<(), Stop>| {
        frames.iter().try_for_each(|frame| each(frame.clone()))
    };
    let frame_bytes = frames.first().map_or(0, |f| f.as_raw().len() as u64);
    let done = std::cell::Cell::new(0);
    let count = || {
        done.set(done.get() + 1);
        on_frame(done.get());
    };
    let mut size = 0;
    atomic::write_atomically(path, |out| {
        let sizes = (frame_bytes, frames.len());
        match stream_gif(out, &source, sizes, settings, None, &count) {
            Ok((_, bytes, _)) => {
                size = bytes;
                Ok(())
            }
            Err(Halt::Encode(error)) => Err(WriteFailure::from(error)),
            Err(Halt::OverLimit { .. }) => Err(WriteFailure::Encode("over the limit".to_owned())),
        }
    })?;
    Ok(size)
}

/// Why frames cannot become a GIF (none, empty, too large, or of different sizes), in English.
pub(crate) fn check_frames(frames: &[image::RgbImage]) -> Result<(), String> {
    let first = frames.first().ok_or("there are no frames")?;
    check_frame_size(first.dimensions())?;
    if let Some((index, frame)) = frames
        .iter()
        .enumerate()
        .find(|(_, frame)| frame.dimensions() != first.dimensions())
    {
        let (w, h) = frame.dimensions();
        let (width, height) = first.dimensions();
        return Err(format!(
            "frame {} is {w}×{h} but the first is {width}×{height}",
            index + 1
        ));
    }
    Ok(())
}

/// Why frames of this size cannot be in a GIF (too large or empty), in English.
pub(crate) fn check_frame_size((width, height): (u32, u32)) -> Result<(), String> {
    if u16::try_from(width).is_err() || u16::try_from(height).is_err() {
        return Err(format!(
            "a GIF can be at most 65535 pixels each way, and the frames are {width}×{height}"
        ));
    }
    if width == 0 || height == 0 {
        return Err("the frames are empty (0 pixels)".to_owned());
    }
    Ok(())
}

/// Bytes a compressed frame takes in the file: control extension, descriptor, palette and data.
pub(crate) fn frame_bytes(frame: &gif::Frame<'_>) -> u64 {
    let palette = frame.palette.as_ref().map_or(0, |p| table_bytes(p));
    // The LZW data's first byte is the minimum code size; the rest goes in blocks of at most 255
    // bytes with a length byte each, then a terminator.
    let data = frame.buffer.len().saturating_sub(1);
    (8 + 10 + palette + 1 + data + data.div_ceil(255) + 1) as u64
}

/// Bytes of a colour table: its colours padded to a power of two, at least 2.
pub(crate) fn table_bytes(palette: &[u8]) -> usize {
    3 * (palette.len() / 3).max(2).next_power_of_two()
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

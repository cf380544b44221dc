//! Animated GIFs: the first frame whole, later ones only where they changed (transparent pixels let
//! the frame before show through); one shared palette when all frames together have at most 255
//! colours, else a palette of at most 256 colours per frame. Colour reduction and compression run
//! on all cores.

use std::borrow::Cow;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;

use super::ExportError;
use super::atomic::{self, WriteFailure};
use super::delta::{self, Patch};
use super::quantise;

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
/// `frames.len()`, in that order), for progress bars; it may be called from worker threads.
/// Returns the size of the file in bytes.
pub fn write_gif(
    path: &Path,
    frames: &[image::RgbImage],
    settings: &GifSettings,
    on_frame: &(dyn Fn(usize) + Sync),
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
    let bytes = encode_gif(frames, settings, on_frame).map_err(|detail| ExportError::Encode {
        path: path.to_path_buf(),
        detail,
    })?;
    write_bytes(path, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Writes an encoded file atomically.
pub(crate) fn write_bytes(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    atomic::write_atomically(path, |out| {
        out.write_all(bytes)?;
        Ok::<(), WriteFailure>(())
    })
}

/// Why frames cannot become a GIF (none, empty, too large, or of different sizes), in English.
pub(crate) fn check_frames(frames: &[image::RgbImage]) -> Result<(), String> {
    let first = frames.first().ok_or("there are no frames")?;
    let (width, height) = first.dimensions();
    if u16::try_from(width).is_err() || u16::try_from(height).is_err() {
        return Err(format!(
            "a GIF can be at most 65535 pixels each way, and the frames are {width}×{height}"
        ));
    }
    if width == 0 || height == 0 {
        return Err("the frames are empty (0 pixels)".to_owned());
    }
    if let Some((index, frame)) = frames
        .iter()
        .enumerate()
        .find(|(_, frame)| frame.dimensions() != (width, height))
    {
        let (w, h) = frame.dimensions();
        return Err(format!(
            "frame {} is {w}×{h} but the first is {width}×{height}",
            index + 1
        ));
    }
    Ok(())
}

/// The frames as a GIF file in memory (see [`write_gif`]).
pub(crate) fn encode_gif(
    frames: &[image::RgbImage],
    settings: &GifSettings,
    on_frame: &(dyn Fn(usize) + Sync),
) -> Result<Vec<u8>, String> {
    check_frames(frames)?;
    let encoded = encode_frames(frames, settings, on_frame);
    let (width, height) = frames.first().map_or((0, 0), |f| f.dimensions());
    encoded
        .assemble((to_u16(width), to_u16(height)), settings)
        .map_err(|e| e.to_string())
}

/// Every frame compressed, with the file's global palette.
pub(crate) struct Encoded {
    /// The frames in order; those whose palette is the global one carry none.
    pub frames: Vec<gif::Frame<'static>>,
    /// The global palette, `[r, g, b, …]`.
    pub global: Vec<u8>,
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

impl Encoded {
    /// The whole file: header, global palette, loop count, frames, trailer.
    pub(crate) fn assemble(
        &self,
        (width, height): (u16, u16),
        settings: &GifSettings,
    ) -> Result<Vec<u8>, gif::EncodingError> {
        let mut encoder = gif::Encoder::new(Vec::new(), width, height, &self.global)?;
        encoder.set_repeat(settings.repeat.into())?;
        for frame in &self.frames {
            encoder.write_lzw_pre_encoded_frame(frame)?;
        }
        encoder.into_inner()
    }
}

/// Differencing, colour reduction and compression of every frame (the frames must pass
/// [`check_frames`]); the slow part runs on all cores.
///
/// The first frame is written whole, every later one only where it changed (see [`delta`]).
/// When all frames together have at most 255 colours they share one palette, kept exactly;
/// otherwise each frame gets its own, and the first frame's doubles as the global one.
/// (With an empty global table the encoder writes two black entries, and Pillow then reads frames
/// whose colours are all grey as black.)
pub(crate) fn encode_frames(
    frames: &[image::RgbImage],
    settings: &GifSettings,
    on_frame: &(dyn Fn(usize) + Sync),
) -> Encoded {
    encode_patches(
        &delta::patches(frames, settings.tolerance),
        settings,
        on_frame,
    )
}

/// Colour reduction and compression of patches made by [`delta`] (the first a whole frame).
pub(crate) fn encode_patches(
    patches: &[Patch],
    settings: &GifSettings,
    on_frame: &(dyn Fn(usize) + Sync),
) -> Encoded {
    let delay = settings.delay_cs();
    let any_transparent = patches.iter().any(Patch::has_transparency);
    let shared = {
        let colours: Vec<(&[u8], Option<&[bool]>)> = patches
            .iter()
            .map(|patch| (patch.rgb.as_slice(), patch.opaque.as_deref()))
            .collect();
        quantise::shared_exact_palette(&colours, 256 - usize::from(any_transparent))
    };
    let done = Mutex::new(0_usize);
    let last = patches.len().saturating_sub(1);
    let mut encoded: Vec<gif::Frame<'static>> = patches
        .par_iter()
        .enumerate()
        .map(|(index, patch)| {
            let (palette, indices, transparent) = reduce(patch, shared.as_deref());
            let mut frame = gif::Frame {
                left: to_u16(patch.left),
                top: to_u16(patch.top),
                width: to_u16(patch.width),
                height: to_u16(patch.height),
                delay: if index == last {
                    settings.last_delay_cs()
                } else {
                    delay
                },
                dispose: gif::DisposalMethod::Keep,
                transparent,
                palette,
                buffer: Cow::Owned(indices),
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
    let global = match shared {
        // One more entry for the transparent index, so it lies inside the table.
        Some(mut palette) => {
            if any_transparent {
                palette.extend([0, 0, 0]);
            }
            palette
        }
        None => encoded
            .first()
            .and_then(|frame| frame.palette.clone())
            .unwrap_or_default(),
    };
    for frame in &mut encoded {
        if frame.palette.as_deref() == Some(global.as_slice()) {
            frame.palette = None;
        }
    }
    Encoded {
        frames: encoded,
        global,
    }
}

/// A patch as palette indices: with the shared palette when there is one (then the frame carries
/// none), else with its own; and the transparent index, if the patch has transparent pixels.
fn reduce(patch: &Patch, shared: Option<&[u8]>) -> (Option<Vec<u8>>, Vec<u8>, Option<u8>) {
    let transparent_needed = patch.has_transparency();
    if let Some(palette) = shared {
        let transparent = u8::try_from(palette.len() / 3).unwrap_or(u8::MAX);
        let indices = quantise::index_in(palette, &patch.rgb, patch.opaque.as_deref(), transparent);
        return (None, indices, transparent_needed.then_some(transparent));
    }
    match patch.opaque.as_deref().filter(|_| transparent_needed) {
        Some(opaque) => {
            let (indexed, transparent) = quantise::quantise_masked(&patch.rgb, opaque);
            (Some(indexed.palette), indexed.indices, Some(transparent))
        }
        None => {
            let indexed = quantise::quantise(patch.width, patch.height, &patch.rgb);
            (Some(indexed.palette), indexed.indices, None)
        }
    }
}

/// `n` as a GIF dimension (callers have checked it fits).
fn to_u16(n: u32) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
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

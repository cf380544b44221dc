//! A GIF written while its frames are made, so an export holds a few frames at a time however many
//! it has: each frame is cut to what changed ([`Differ`]), reduced to a palette and compressed,
//! a few at once on all cores ([`frames_at_once`]), and written before the next ones are made.
//!
//! All frames share one palette when together they have at most [`SHARED_COLOURS`] colours (one
//! more index is kept for transparent pixels). The file's header holds that palette, so it must be
//! known before the first frame is written: [`SharedPalette`] gathers it in a pass over the frames
//! first, which stops at the first frame that brings the count over (a photo's first frame does).
//! Otherwise each frame has its own palette, and the first frame's is the file's global one.

use std::borrow::Cow;
use std::io::{self, Write};

use image::RgbImage;
use rayon::prelude::*;

use super::delta::{Differ, Patch};
use super::gif_writer::{GifSettings, check_frame_size};
use super::quantise::{self, ColourSet};

/// The most colours a palette shared by all frames holds: 256 less the transparent index.
pub const SHARED_COLOURS: usize = 255;
/// Roughly what the frames being made and encoded at once may take: more frames than cores are
/// never made at once, fewer when frames are large (one frame is always allowed).
pub const IN_FLIGHT_BYTES: u64 = 256_000_000;

/// How many frames of `frame_bytes` each are made and encoded at once: one per core, as many as
/// fit in [`IN_FLIGHT_BYTES`], at least one.
pub fn frames_at_once(frame_bytes: u64) -> usize {
    let fit = usize::try_from(IN_FLIGHT_BYTES / frame_bytes.max(1)).unwrap_or(usize::MAX);
    fit.clamp(1, rayon::current_num_threads().max(1))
}

/// Returned by whoever takes frames to stop an animation early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop;

/// Something that makes frames in order and hands each to the function it is given, stopping when
/// that returns [`Stop`] (and then returning it).
pub type FrameSource<'a> =
    &'a dyn Fn(&mut dyn FnMut(RgbImage) -> Result<(), Stop>) -> Result<(), Stop>;

/// Hands the frames `make(0)`, `make(1)`, … `make(count − 1)` to `each` in order, making
/// `at_once` of them at a time on all cores.
pub fn in_order(
    count: usize,
    at_once: usize,
    make: &(dyn Fn(usize) -> RgbImage + Sync),
    each: &mut dyn FnMut(RgbImage) -> Result<(), Stop>,
) -> Result<(), Stop> {
    if at_once <= 1 {
        // On this thread: a frame made on a worker thread and dropped here goes back to that
        // thread's allocator only when it next runs, so large frames would pile up.
        return (0..count).try_for_each(|index| each(make(index)));
    }
    for start in (0..count).step_by(at_once) {
        let end = count.min(start + at_once);
        let frames: Vec<RgbImage> = (start..end).into_par_iter().map(make).collect();
        for frame in frames {
            each(frame)?;
        }
    }
    Ok(())
}

/// Why a streamed GIF was not finished.
#[derive(Debug)]
pub enum Halt {
    /// The encoder or the writer failed.
    Encode(gif::EncodingError),
    /// The file grew over the size limit; `expected` is what the whole file would have been, as
    /// far as can be told from the frames written so far.
    OverLimit {
        /// The expected size of the whole file in bytes.
        expected: u64,
    },
}

/// Writes the GIF of the frames `source` makes, each `frame_bytes` large, into `out` as they are
/// made; returns the writer, the file's size and its number of frames. When frames might share a
/// palette `source` is asked twice (see the module documentation). With a `limit` in bytes, the
/// writing stops as soon as the file is larger; `count` frames are expected (for that estimate).
/// `on_frame` is called after each frame is added.
pub fn stream_gif<W: Write>(
    out: W,
    source: FrameSource<'_>,
    (frame_bytes, count): (u64, usize),
    settings: &GifSettings,
    limit: Option<u64>,
    on_frame: &dyn Fn(),
) -> Result<(W, u64, usize), Halt> {
    let mut colours = SharedPalette::default();
    let shared = source(&mut |frame| {
        if colours.add(&frame) {
            Ok(())
        } else {
            Err(Stop)
        }
    })
    .ok()
    .and_then(|()| colours.finish());
    let mut stream = GifStream::new(out, *settings, shared, frames_at_once(frame_bytes));
    let over = |bytes: u64, frames: usize| Halt::OverLimit {
        expected: bytes.saturating_mul(count.max(frames) as u64) / frames.max(1) as u64,
    };
    let mut halted = None;
    let made = source(&mut |frame| {
        let pushed = stream
            .push(frame)
            .map_err(Halt::Encode)
            .and_then(|()| match limit {
                Some(limit) if stream.bytes() > limit => Err(over(stream.bytes(), stream.frames())),
                _ => Ok(()),
            });
        on_frame();
        pushed.map_err(|halt| {
            halted = Some(halt);
            Stop
        })
    });
    if made.is_err() {
        return Err(halted.unwrap_or_else(|| Halt::Encode(broken())));
    }
    let (out, bytes, frames) = stream.finish().map_err(Halt::Encode)?;
    match limit {
        Some(limit) if bytes > limit => Err(over(bytes, frames)),
        _ => Ok((out, bytes, frames)),
    }
}

/// Bytes a streamed GIF holds at its peak when its frames are `frame` bytes each and take `making`
/// bytes while they are made (see [`super::budget::Animation::frame_bytes`]): the frames made at
/// once, and the encoder's state — what is on screen and which pixels changed, and for each frame
/// encoded at once which pixels it writes, their palette indices and the compressed data (LZW can
/// grow noise by half).
pub fn stream_bytes(frame: u64, making: u64) -> u64 {
    let at_once = frames_at_once(making) as u64;
    let per_frame = frame / 3 + frame / 3 + frame / 2;
    let encoder = frame + frame / 3 + at_once.saturating_mul(per_frame);
    at_once.saturating_mul(making).saturating_add(encoder)
}

/// The palette all frames of a GIF can share, gathered frame by frame before any is written.
#[derive(Debug)]
pub struct SharedPalette(ColourSet);

impl Default for SharedPalette {
    fn default() -> Self {
        Self(ColourSet::new(SHARED_COLOURS))
    }
}

impl SharedPalette {
    /// Adds the colours of `frame`; `false` once the frames have too many to share a palette
    /// (then there is no need to look at more).
    pub fn add(&mut self, frame: &RgbImage) -> bool {
        self.0.add(frame.as_raw(), None)
    }

    /// The shared colours, sorted as `[r, g, b, …]`; `None` when there are too many.
    pub fn finish(self) -> Option<Vec<u8>> {
        self.0.into_palette()
    }
}

/// A GIF being written frame by frame into `W`; [`GifStream::finish`] writes its end.
pub struct GifStream<W: Write> {
    settings: GifSettings,
    differ: Differ,
    /// The colours all frames share, if they do (see the module documentation).
    shared: Option<Vec<u8>>,
    at_once: usize,
    /// The size of the first frame, once there is one.
    size: Option<(u32, u32)>,
    /// Patches waiting to be encoded together.
    queue: Vec<Patch>,
    /// The last encoded frame, held back until it is known whether it is the last (which gets
    /// the hold delay).
    held: Option<gif::Frame<'static>>,
    out: Output<W>,
}

/// Where encoded frames go: the writer until the first frame gives the global palette, then the
/// encoder that wrote the header.
enum Output<W: Write> {
    Waiting(Counted<W>),
    Started {
        encoder: gif::Encoder<Counted<W>>,
        global: Vec<u8>,
        frames: usize,
    },
    /// After an error: nothing more is written.
    Broken,
}

impl<W: Write> GifStream<W> {
    /// A GIF with `settings` written into `out`; `shared` is the palette all frames share, if they
    /// do (from [`SharedPalette`]; a frame with a colour outside it is written with a wrong one).
    /// `at_once` frames are encoded together (see [`frames_at_once`]).
    pub fn new(out: W, settings: GifSettings, shared: Option<Vec<u8>>, at_once: usize) -> Self {
        Self {
            settings,
            differ: Differ::new(settings.tolerance),
            shared,
            at_once: at_once.max(1),
            size: None,
            queue: Vec::new(),
            held: None,
            out: Output::Waiting(Counted::new(out)),
        }
    }

    /// Adds the next frame, which must have the size of the first (at most 65 535 pixels each
    /// way; see [`super::gif_writer::check_frames`]).
    pub fn push(&mut self, frame: RgbImage) -> Result<(), gif::EncodingError> {
        let size = frame.dimensions();
        let first = *self.size.get_or_insert(size);
        if size != first {
            let detail = format!(
                "a frame is {}×{} but the first is {}×{}",
                size.0, size.1, first.0, first.1
            );
            return Err(io::Error::other(detail).into());
        }
        check_frame_size(size).map_err(io::Error::other)?;
        self.queue.push(self.differ.patch(frame));
        if self.queue.len() >= self.at_once {
            self.encode_queued()?;
        }
        Ok(())
    }

    /// Bytes written so far (the held-back last frame not counted).
    pub fn bytes(&self) -> u64 {
        match &self.out {
            Output::Waiting(out) => out.bytes,
            Output::Started { encoder, .. } => encoder.get_ref().bytes,
            Output::Broken => 0,
        }
    }

    /// Frames written so far (the held-back last frame not counted).
    pub fn frames(&self) -> usize {
        match &self.out {
            Output::Started { frames, .. } => *frames,
            Output::Waiting(_) | Output::Broken => 0,
        }
    }

    /// Writes the frames still waiting and the file's end; returns the writer, the file's size in
    /// bytes and its number of frames. A GIF without frames is an error.
    pub fn finish(mut self) -> Result<(W, u64, usize), gif::EncodingError> {
        self.encode_queued()?;
        let Some(mut last) = self.held.take() else {
            return Err(io::Error::other("there are no frames").into());
        };
        last.delay = self.settings.last_delay_cs();
        self.write(last)?;
        match std::mem::replace(&mut self.out, Output::Broken) {
            Output::Started {
                encoder, frames, ..
            } => {
                let counted = encoder.into_inner()?;
                Ok((counted.inner, counted.bytes, frames))
            }
            Output::Waiting(_) | Output::Broken => Err(broken()),
        }
    }

    /// Reduces and compresses the queued patches on all cores, then writes all but the newest.
    fn encode_queued(&mut self) -> Result<(), gif::EncodingError> {
        let patches = std::mem::take(&mut self.queue);
        let shared = self.shared.as_deref();
        let delay = self.settings.delay_cs();
        let encoded: Vec<gif::Frame<'static>> = if patches.len() <= 1 {
            // On this thread, for the reason given in `in_order`.
            patches
                .into_iter()
                .map(|patch| encode_patch(patch, shared, delay))
                .collect()
        } else {
            patches
                .into_par_iter()
                .map(|patch| encode_patch(patch, shared, delay))
                .collect()
        };
        for frame in encoded {
            if let Some(before) = self.held.replace(frame) {
                self.write(before)?;
            }
        }
        Ok(())
    }

    /// Writes one compressed frame; the first also writes the header with the global palette.
    fn write(&mut self, mut frame: gif::Frame<'static>) -> Result<(), gif::EncodingError> {
        if let Output::Waiting(_) = self.out {
            self.start(&frame)?;
        }
        let Output::Started {
            encoder,
            global,
            frames,
        } = &mut self.out
        else {
            return Err(broken());
        };
        if frame.palette.as_deref() == Some(global.as_slice()) {
            frame.palette = None;
        }
        let written = encoder.write_lzw_pre_encoded_frame(&frame);
        if written.is_err() {
            self.out = Output::Broken;
        } else {
            *frames += 1;
        }
        written
    }

    /// Writes the header: the shared palette (with the transparent index's entry), or else the
    /// palette of the `first` frame, is the global one.
    fn start(&mut self, first: &gif::Frame<'_>) -> Result<(), gif::EncodingError> {
        let Output::Waiting(out) = std::mem::replace(&mut self.out, Output::Broken) else {
            return Err(broken());
        };
        let global = match &self.shared {
            Some(colours) => {
                let mut palette = colours.clone();
                palette.extend([0, 0, 0]);
                palette
            }
            None => first.palette.clone().unwrap_or_default(),
        };
        let mut encoder = gif::Encoder::new(out, first.width, first.height, &global)?;
        encoder.set_repeat(self.settings.repeat.into())?;
        self.out = Output::Started {
            encoder,
            global,
            frames: 0,
        };
        Ok(())
    }
}

/// The error of a stream used after an earlier error.
fn broken() -> gif::EncodingError {
    io::Error::other("the GIF could not be written after an earlier error").into()
}

/// A patch reduced to palette indices and compressed, as a frame shown for `delay` centiseconds:
/// with the `shared` palette when there is one (then the frame carries none), else its own.
pub(crate) fn encode_patch(patch: Patch, shared: Option<&[u8]>, delay: u16) -> gif::Frame<'static> {
    let (palette, indices, transparent) = reduce(&patch, shared);
    let Patch {
        left,
        top,
        width,
        height,
        ..
    } = patch;
    // The patch's colours are not needed once they are indices.
    drop(patch);
    let mut frame = gif::Frame {
        left: to_u16(left),
        top: to_u16(top),
        width: to_u16(width),
        height: to_u16(height),
        delay,
        dispose: gif::DisposalMethod::Keep,
        transparent,
        palette,
        buffer: Cow::Owned(indices),
        ..gif::Frame::default()
    };
    frame.make_lzw_pre_encoded();
    frame
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

/// A writer that counts the bytes it has been given.
#[derive(Debug)]
pub struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W> Counted<W> {
    fn new(inner: W) -> Self {
        Self { inner, bytes: 0 }
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

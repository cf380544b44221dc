//! GIFs that fit a size: the expected size of an animation before it is written, and a size limit
//! ("at most 5 MB") met by walking down from the user's choice until the file fits: first pixels
//! may drift a few levels before they are written again ([`LIMIT_TOLERANCE`]), then fewer frames,
//! then smaller pictures. The window's dialogs and the command line both use this.
//!
//! An estimate encodes a few pairs of neighbouring frames (the first whole, as the file will hold
//! it, and later ones as differences from the frame before) and interpolates the rest. The file
//! written is measured, not estimated: it is streamed into a temporary file, and a try that grows
//! over the limit stops there and is removed, and the next smaller plan is encoded, so a written
//! file is never larger than the limit.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use image::RgbImage;
use rayon::prelude::*;

use super::ExportError;
use super::atomic;
use super::atomic::WriteFailure;
use super::delta::{self, Patch};
use super::gif_stream::{
    FrameSource, Halt, SHARED_COLOURS, Stop, encode_patch, frames_at_once, in_order, stream_gif,
};
use super::gif_writer::{GifSettings, check_frame_size, frame_bytes, table_bytes};
use super::quantise::ColourSet;
use crate::i18n::Lang;

/// Frames an estimate encodes (each after the one before it).
const SAMPLES: usize = 6;
/// How far a pixel may drift (in levels of 0–255 per channel) before a later frame writes it
/// again, once a size limit needs a smaller file than the user's own choice gives: too little to
/// see, and it takes a third to a half off a sweep whose noise stays put (the jump).
pub const LIMIT_TOLERANCE: u8 = 4;
/// The share of the limit a plan is chosen to fill, leaving room for the estimate's error.
const AIM: f64 = 0.92;
/// Bytes of a GIF beyond its frames and global palette: header and screen descriptor (13), the
/// loop extension (19) and the trailer (1).
const FILE_OVERHEAD: u64 = 13 + 19 + 1;

/// A file size in bytes. Parsed from "5MB", "5 MB", "500kB", "2.5MiB" or "800000" (bytes);
/// kB, MB, GB are powers of 1000 and KiB, MiB, GiB powers of 1024. Shown as "4.2 MB".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// `megabytes` million bytes, rounded to a byte (negative or not-a-number gives 0).
    pub fn from_megabytes(megabytes: f32) -> Self {
        let bytes = (f64::from(megabytes) * 1e6).round();
        // In range: clamped to what a u64 holds; NaN becomes 0 through the `max`.
        Self(bytes.clamp(0.0, u64::MAX as f64) as u64)
    }
}

/// Why a size could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("“{0}” is not a size: write it as 5MB, 500kB or a number of bytes")]
pub struct ByteSizeError(String);

impl FromStr for ByteSize {
    type Err = ByteSizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || ByteSizeError(text.to_owned());
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(trimmed.len());
        let (number, unit) = trimmed.split_at(split);
        let number: f64 = number.parse().map_err(|_| error())?;
        let unit = unit.trim().to_ascii_lowercase();
        let scale: f64 = match unit.as_str() {
            "" | "b" => 1.0,
            "k" | "kb" => 1e3,
            "m" | "mb" => 1e6,
            "g" | "gb" => 1e9,
            "kib" => 1024.0,
            "mib" => 1024.0 * 1024.0,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            _ => return Err(error()),
        };
        let bytes = (number * scale).round();
        if !bytes.is_finite() || bytes < 1.0 || bytes > u64::MAX as f64 {
            return Err(error());
        }
        // In range by the checks above.
        Ok(Self(bytes as u64))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0 as f64;
        if bytes >= 1e6 {
            write!(f, "{:.1} MB", bytes / 1e6)
        } else if bytes >= 1e3 {
            write!(f, "{:.0} kB", bytes / 1e3)
        } else {
            write!(f, "{} B", self.0)
        }
    }
}

/// An animation that can be drawn under several plans (how many frames, how large), from the
/// user's own choice down to the smallest worth showing.
pub trait Animation: Sync {
    /// How many frames and how large, in the animation's own terms.
    type Plan: Copy + fmt::Debug + PartialEq + Send + Sync + Describe;

    /// The plans a size limit may choose, the user's own first, each expected to make a smaller
    /// file than the one before.
    fn ladder(&self) -> Vec<Self::Plan>;

    /// Frames × pixels per frame under `plan`: what the size of the file roughly follows.
    fn pixels(&self, plan: &Self::Plan) -> f64;

    /// How many frames the GIF has under `plan`.
    fn frame_count(&self, plan: &Self::Plan) -> usize;

    /// Bytes one frame takes while it is made and encoded under `plan`: its pixels, and any larger
    /// picture it is made from (for how many frames are made at once, and memory budgets).
    fn frame_bytes(&self, plan: &Self::Plan) -> u64;

    /// Frame `index` under `plan`, for estimates: the real frame, or one like it where the real
    /// one can only be had by making all frames before it.
    fn sample_frame(&self, plan: &Self::Plan, index: usize) -> RgbImage;

    /// Every frame under `plan`, as written, each handed to `each` in order as it is made (a few
    /// at a time, see [`frames_at_once`]); stops when `each` returns [`Stop`], and returns it.
    fn for_each_frame(
        &self,
        plan: &Self::Plan,
        each: &mut dyn FnMut(RgbImage) -> Result<(), Stop>,
    ) -> Result<(), Stop>;
}

/// A plan put in words for the user ("40 frames, 320 px wide").
pub trait Describe {
    /// The plan in words, in `lang`.
    fn describe(&self, lang: Lang) -> String;
}

/// The plan chosen for a size limit, and the size it is expected to give.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Choice<P> {
    /// The plan.
    pub plan: P,
    /// How far pixels may drift before they are written again (see [`GifSettings::tolerance`]).
    pub tolerance: u8,
    /// Whether it is the user's own plan (no limit, or the user's plan fits).
    pub as_chosen: bool,
    /// The size the file is expected to have.
    pub expected: ByteSize,
    /// Whether the expected size is within the limit (always with no limit).
    pub fits: bool,
}

/// A GIF written by [`write_within`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Written<P> {
    /// The plan it was written with.
    pub plan: P,
    /// Whether that is the user's own plan.
    pub as_chosen: bool,
    /// Its frames.
    pub frames: usize,
    /// Its size.
    pub size: ByteSize,
}

/// The expected size of the GIF of `animation` under `plan`, from a few encoded frames.
pub fn estimate<A: Animation>(animation: &A, plan: &A::Plan, settings: &GifSettings) -> ByteSize {
    let count = animation.frame_count(plan);
    let first = animation.sample_frame(plan, 0);
    if check_frame_size(first.dimensions()).is_err() {
        return ByteSize(0);
    }
    if count <= 2 * SAMPLES + 1 {
        // Few frames: all of them, encoded as the file will hold them.
        let make = |index| animation.sample_frame(plan, index);
        let at_once = frames_at_once(animation.frame_bytes(plan));
        let source = |each: &mut dyn FnMut(RgbImage) -> Result<(), Stop>| {
            in_order(count, at_once, &make, each)
        };
        let sizes = (animation.frame_bytes(plan), count);
        return match stream_gif(std::io::sink(), &source, sizes, settings, None, &|| {}) {
            Ok((_, bytes, _)) => ByteSize(bytes),
            Err(_) => ByteSize(0),
        };
    }
    let first_bytes = first_frame_bytes(first);
    // Each sampled frame as it would be written after the one before it (with a tolerance, as
    // it is on average once pixels have been drifting for a while).
    let sampled: Vec<(usize, u64)> = sample_indices(count)
        .par_iter()
        .map(|&index| {
            let before = animation.sample_frame(plan, index - 1);
            let frame = animation.sample_frame(plan, index);
            let patch = delta::typical_patch(&before, &frame, settings.tolerance);
            (index, later_frame_bytes(&before, patch, settings))
        })
        .collect();
    let rest: f64 = (1..count).map(|index| interpolate(&sampled, index)).sum();
    ByteSize(FILE_OVERHEAD + first_bytes + rest.round() as u64)
}

/// Bytes the first frame takes in a file, with its palette as the file's global one.
fn first_frame_bytes(first: RgbImage) -> u64 {
    let mut colours = ColourSet::new(SHARED_COLOURS);
    let shared = colours
        .add(first.as_raw(), None)
        .then(|| colours.into_palette())
        .flatten();
    let frame = encode_patch(Patch::owned(first), shared.as_deref(), 0);
    let global = match &shared {
        // One more entry for the transparent index.
        Some(colours) => table_bytes(&[colours.as_slice(), &[0, 0, 0]].concat()),
        None => frame.palette.as_deref().map_or(0, table_bytes),
    };
    (global as u64)
        + frame_bytes(&gif::Frame {
            palette: None,
            ..frame
        })
}

/// Bytes `patch` takes in a file as the frame after `before`, the two sharing a palette when
/// together they have few enough colours.
fn later_frame_bytes(before: &RgbImage, patch: Patch, settings: &GifSettings) -> u64 {
    let mut colours = ColourSet::new(SHARED_COLOURS);
    let shared = (colours.add(before.as_raw(), None)
        && colours.add(&patch.rgb, patch.opaque.as_deref()))
    .then(|| colours.into_palette())
    .flatten();
    frame_bytes(&encode_patch(patch, shared.as_deref(), settings.delay_cs()))
}

/// The plan to write `animation` with: the user's own, or with a `limit` the first on the ladder
/// expected to fit, found by estimates.
pub fn choose<A: Animation>(
    animation: &A,
    settings: &GifSettings,
    limit: Option<ByteSize>,
) -> Choice<A::Plan> {
    let ladder = rungs(animation, settings);
    let (rung, expected) = choose_rung(animation, &ladder, settings, limit);
    Choice {
        plan: ladder[rung].plan,
        tolerance: ladder[rung].tolerance,
        as_chosen: ladder[rung].plan == ladder[0].plan,
        expected,
        fits: limit.is_none_or(|limit| expected <= limit),
    }
}

/// Writes `animation` as a GIF at `path`, atomically: with the user's own plan, or with a `limit`
/// the largest plan tried whose file is at most the limit (see [`write_chosen`]).
pub fn write_within<A: Animation>(
    path: &Path,
    animation: &A,
    settings: &GifSettings,
    limit: Option<ByteSize>,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Written<A::Plan>, ExportError> {
    atomic::check_destination(path)?;
    let ladder = rungs(animation, settings);
    let start = match limit {
        Some(_) => choose_rung(animation, &ladder, settings, limit).0,
        None => 0,
    };
    write_from(path, animation, &ladder, start, settings, limit, on_frame)
}

/// Writes `animation` as a GIF at `path`, atomically, starting from the plan `choice` made by
/// [`choose`] with the same `limit`. The file is measured as it is written; a try that grows over
/// the limit stops and is made again with a smaller plan, so the file left is never larger than
/// the limit.
/// `on_frame` is called as frames are made (again from the start when a smaller plan is tried).
pub fn write_chosen<A: Animation>(
    path: &Path,
    animation: &A,
    settings: &GifSettings,
    limit: Option<ByteSize>,
    choice: &Choice<A::Plan>,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Written<A::Plan>, ExportError> {
    atomic::check_destination(path)?;
    let ladder = rungs(animation, settings);
    let start = ladder
        .iter()
        .position(|rung| rung.plan == choice.plan && rung.tolerance == choice.tolerance)
        .unwrap_or(0);
    write_from(path, animation, &ladder, start, settings, limit, on_frame)
}

/// A plan and how far pixels may drift under it.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Rung<P> {
    plan: P,
    tolerance: u8,
}

impl<P> Rung<P> {
    fn settings(&self, settings: &GifSettings) -> GifSettings {
        GifSettings {
            tolerance: self.tolerance,
            ..*settings
        }
    }
}

/// The ladder a size limit walks down: the user's plan as asked, the same plan with pixels
/// allowed to drift by [`LIMIT_TOLERANCE`], then the animation's smaller plans.
fn rungs<A: Animation>(animation: &A, settings: &GifSettings) -> Vec<Rung<A::Plan>> {
    let plans = animation.ladder();
    let lossy = settings.tolerance.max(LIMIT_TOLERANCE);
    let mut rungs = vec![Rung {
        plan: plans[0],
        tolerance: settings.tolerance,
    }];
    if lossy > settings.tolerance {
        rungs.push(Rung {
            plan: plans[0],
            tolerance: lossy,
        });
    }
    rungs.extend(plans[1..].iter().map(|&plan| Rung {
        plan,
        tolerance: lossy,
    }));
    rungs
}

/// Writes from rung `rung` of `ladder` down until the file fits `limit`. Each try streams into the
/// temporary file and stops as soon as the file grows over the limit.
fn write_from<A: Animation>(
    path: &Path,
    animation: &A,
    ladder: &[Rung<A::Plan>],
    mut rung: usize,
    settings: &GifSettings,
    limit: Option<ByteSize>,
    on_frame: &(dyn Fn() + Sync),
) -> Result<Written<A::Plan>, ExportError> {
    loop {
        let plan = ladder[rung].plan;
        let source = |each: &mut dyn FnMut(RgbImage) -> Result<(), Stop>| {
            animation.for_each_frame(&plan, each)
        };
        let sizes = (animation.frame_bytes(&plan), animation.frame_count(&plan));
        match write_streamed(
            path,
            &source,
            sizes,
            &ladder[rung].settings(settings),
            limit,
            on_frame,
        )? {
            Ok((bytes, frames)) => {
                return Ok(Written {
                    plan,
                    as_chosen: plan == ladder[0].plan,
                    frames,
                    size: ByteSize(bytes),
                });
            }
            Err(expected) => {
                // Over the limit (there is one, or nothing stops the writing early).
                let limit = limit.unwrap_or(expected);
                match smaller_rung(animation, ladder, rung, expected, limit) {
                    Some(next) => rung = next,
                    None => {
                        return Err(ExportError::TooLarge {
                            limit,
                            smallest: expected,
                        });
                    }
                }
            }
        }
    }
}

/// Writes the GIF of `source` at `path`, atomically: its size and frames, or, when it grew over
/// `limit`, the size it was expected to reach (and nothing is left at `path`).
fn write_streamed(
    path: &Path,
    source: FrameSource<'_>,
    sizes: (u64, usize),
    settings: &GifSettings,
    limit: Option<ByteSize>,
    on_frame: &dyn Fn(),
) -> Result<Result<(u64, usize), ByteSize>, ExportError> {
    let (mut done, mut over) = ((0, 0), None);
    let written = atomic::write_atomically(path, |out| {
        match stream_gif(out, source, sizes, settings, limit.map(|l| l.0), on_frame) {
            Ok((_, bytes, frames)) => {
                done = (bytes, frames);
                Ok(())
            }
            Err(Halt::Encode(error)) => Err(WriteFailure::from(error)),
            Err(Halt::OverLimit { expected }) => {
                over = Some(ByteSize(expected));
                Err(WriteFailure::Encode("over the size limit".to_owned()))
            }
        }
    });
    if let Some(expected) = over {
        return Ok(Err(expected));
    }
    written.map(|()| Ok(done))
}

/// The rung of `ladder` to write with, and its expected size.
fn choose_rung<A: Animation>(
    animation: &A,
    ladder: &[Rung<A::Plan>],
    settings: &GifSettings,
    limit: Option<ByteSize>,
) -> (usize, ByteSize) {
    let expect = |rung: usize| {
        let Rung { plan, .. } = &ladder[rung];
        estimate(animation, plan, &ladder[rung].settings(settings))
    };
    let mut rung = 0;
    let mut expected = expect(rung);
    let Some(limit) = limit else {
        return (rung, expected);
    };
    let fits = |size: ByteSize| size.0 as f64 <= limit.0 as f64 * AIM;
    // Down: each estimate moves at least one rung, guided by the pixels; a few suffice.
    let mut too_large = None;
    while !fits(expected) {
        match smaller_rung(animation, ladder, rung, expected, limit) {
            Some(next) => {
                too_large = Some(rung);
                rung = next;
            }
            None => return (rung, expected),
        }
        expected = expect(rung);
    }
    // Back up: the pixels overstate what a smaller plan saves (an enlarged picture compresses
    // better than a small one), so the largest plan that fits may lie between the last two tried.
    let Some(mut low) = too_large else {
        return (rung, expected);
    };
    while rung - low > 1 {
        let middle = low + (rung - low) / 2;
        let size = expect(middle);
        if fits(size) {
            (rung, expected) = (middle, size);
        } else {
            low = middle;
        }
    }
    (rung, expected)
}

/// The rung to try after `rung`, whose file was `size`: the next when only the tolerance differs
/// (its effect is not known in advance); otherwise the first whose pixels are few enough to bring
/// the size down to the aimed share of `limit`, or the last rung. `None` when `rung` is the last.
fn smaller_rung<A: Animation>(
    animation: &A,
    ladder: &[Rung<A::Plan>],
    rung: usize,
    size: ByteSize,
    limit: ByteSize,
) -> Option<usize> {
    let next = ladder.get(rung + 1)?;
    if next.plan == ladder[rung].plan {
        return Some(rung + 1);
    }
    let share = limit.0 as f64 * AIM / (size.0 as f64).max(1.0);
    let wanted = animation.pixels(&ladder[rung].plan) * share;
    let found = ladder[rung + 1..]
        .iter()
        .position(|next| animation.pixels(&next.plan) <= wanted);
    Some(found.map_or(ladder.len() - 1, |offset| rung + 1 + offset))
}

/// `SAMPLES` frame indices from 1 to `count − 1`, evenly spread, both ends included.
fn sample_indices(count: usize) -> Vec<usize> {
    let last = count - 1;
    let mut indices: Vec<usize> = (0..SAMPLES)
        .map(|j| 1 + ((j * (last - 1)) as f64 / (SAMPLES - 1) as f64).round() as usize)
        .collect();
    indices.dedup();
    indices
}

/// The bytes of frame `index`, interpolated along the sampled `(index, bytes)` (in order).
fn interpolate(sampled: &[(usize, u64)], index: usize) -> f64 {
    let after = sampled.iter().position(|&(at, _)| at >= index);
    match after {
        None => sampled.last().map_or(0.0, |&(_, bytes)| bytes as f64),
        Some(0) => sampled[0].1 as f64,
        Some(i) => {
            let (a, bytes_a) = sampled[i - 1];
            let (b, bytes_b) = sampled[i];
            let along = (index - a) as f64 / (b - a) as f64;
            bytes_a as f64 + along * (bytes_b as f64 - bytes_a as f64)
        }
    }
}

/// Steps from `from` towards `to` (inclusive, `from` excluded), each about `ratio` times the one
/// before and at least one smaller.
pub fn shrink_steps(from: usize, to: usize, ratio: f64) -> Vec<usize> {
    let mut steps = Vec::new();
    let mut current = from;
    while current > to {
        let next = ((current as f64 * ratio).floor() as usize).min(current - 1);
        current = next.max(to);
        steps.push(current);
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        let parse = |text: &str| text.parse::<ByteSize>().map(|size| size.0);
        assert_eq!(parse("5MB"), Ok(5_000_000));
        assert_eq!(parse("5 mb"), Ok(5_000_000));
        assert_eq!(parse("2.5M"), Ok(2_500_000));
        assert_eq!(parse("500kB"), Ok(500_000));
        assert_eq!(parse("1MiB"), Ok(1_048_576));
        assert_eq!(parse("800000"), Ok(800_000));
        for bad in ["", "MB", "five MB", "5 parsecs", "0", "-1MB", "1e400"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes_show_in_decimal_units() {
        assert_eq!(ByteSize(4_216_000).to_string(), "4.2 MB");
        assert_eq!(ByteSize(850_400).to_string(), "850 kB");
        assert_eq!(ByteSize(900).to_string(), "900 B");
        assert_eq!(ByteSize::from_megabytes(5.0), ByteSize(5_000_000));
        assert_eq!(ByteSize::from_megabytes(f32::NAN), ByteSize(0));
    }

    #[test]
    fn samples_span_the_frames_after_the_first() {
        assert_eq!(sample_indices(60), [1, 13, 24, 36, 47, 59]);
        assert_eq!(sample_indices(14), [1, 3, 6, 8, 11, 13]);
    }

    #[test]
    fn interpolation_is_linear_between_samples() {
        let sampled = [(1, 100), (11, 200)];
        assert_eq!(interpolate(&sampled, 1), 100.0);
        assert_eq!(interpolate(&sampled, 6), 150.0);
        assert_eq!(interpolate(&sampled, 20), 200.0);
    }

    #[test]
    fn shrinking_reaches_the_floor_in_geometric_steps() {
        assert_eq!(shrink_steps(60, 24, 0.85), [51, 43, 36, 30, 25, 24]);
        assert_eq!(shrink_steps(3, 1, 0.9), [2, 1]);
        assert!(shrink_steps(10, 24, 0.85).is_empty());
    }
}

//! Frame differencing: which pixels of each frame must be written, and which can stay as earlier
//! frames left them.
//!
//! A GIF frame may cover only a rectangle of the picture and leave some of its pixels transparent,
//! so the frame before shows through. The first frame is written whole; every later one only the
//! pixels that differ from what is on screen by more than a tolerance, inside the smallest
//! rectangle that holds them. "On screen" is tracked as the source colour each pixel was last
//! written with, so the error never grows beyond the tolerance (plus the colour reduction of the
//! frame that wrote the pixel), however slowly a pixel drifts.

use image::RgbImage;

/// The part of a frame to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Patch {
    /// Left edge of the rectangle in the picture, in pixels.
    pub left: u32,
    /// Top edge of the rectangle, in pixels.
    pub top: u32,
    /// Width of the rectangle (at least 1).
    pub width: u32,
    /// Height of the rectangle (at least 1).
    pub height: u32,
    /// The rectangle's colours, `[r, g, b, …]` row by row.
    pub rgb: Vec<u8>,
    /// For each pixel of the rectangle, whether it is written; `None` when all of them are.
    pub opaque: Option<Vec<bool>>,
}

impl Patch {
    /// The whole of `frame`, every pixel written.
    pub fn whole(frame: &RgbImage) -> Self {
        Self {
            left: 0,
            top: 0,
            width: frame.width(),
            height: frame.height(),
            rgb: frame.as_raw().clone(),
            opaque: None,
        }
    }

    /// The whole of `frame`, every pixel written, taking its pixels without a copy.
    pub fn owned(frame: RgbImage) -> Self {
        let (width, height) = frame.dimensions();
        Self {
            left: 0,
            top: 0,
            width,
            height,
            rgb: frame.into_raw(),
            opaque: None,
        }
    }

    /// Whether some pixels are left transparent.
    pub fn has_transparency(&self) -> bool {
        self.opaque
            .as_ref()
            .is_some_and(|opaque| opaque.iter().any(|&o| !o))
    }

    /// The colours of the written pixels, `[r, g, b, …]`.
    #[cfg(test)]
    pub fn opaque_rgb(&self) -> Vec<u8> {
        match &self.opaque {
            None => self.rgb.clone(),
            Some(opaque) => self
                .rgb
                .chunks_exact(3)
                .zip(opaque)
                .filter(|&(_, &o)| o)
                .flat_map(|(pixel, _)| pixel.iter().copied())
                .collect(),
        }
    }
}

/// Differencing frame by frame, as frames are made: what is on screen after the patches so far.
/// The first frame is written whole; each later one as the pixels whose colour differs from what
/// is on screen by more than a tolerance in some channel (0 = any change).
#[derive(Debug)]
pub struct Differ {
    tolerance: u8,
    /// The source colour each pixel was last written with; empty before the first frame.
    screen: Vec<u8>,
    /// Scratch: which pixels the frame being cut changes.
    changed: Vec<bool>,
    width: usize,
}

impl Differ {
    /// A differ before the first frame, with `tolerance` in levels of 0–255.
    pub fn new(tolerance: u8) -> Self {
        Self {
            tolerance,
            screen: Vec::new(),
            changed: Vec::new(),
            width: 0,
        }
    }

    /// The patch of `frame`, which must have the size of the first: the first frame whole, later
    /// ones what changed. A frame that changes every pixel becomes the patch without a copy.
    pub fn patch(&mut self, frame: RgbImage) -> Patch {
        if self.screen.is_empty() {
            self.width = frame.width() as usize;
            self.screen = frame.as_raw().clone();
            self.changed = vec![false; self.screen.len() / 3];
            return Patch::owned(frame);
        }
        let rgb = frame.as_raw();
        // The flags may have gone to the last patch as its mask (see `cut_in_place`).
        self.changed.resize(self.screen.len() / 3, false);
        let count = mark_changes(&mut self.changed, &self.screen, rgb, self.tolerance);
        if count == self.changed.len() {
            // Everything changed (pictures of fresh noise): the whole frame, no mask.
            self.screen.copy_from_slice(rgb);
            return Patch::owned(frame);
        }
        for ((shown, new), _) in self
            .screen
            .chunks_exact_mut(3)
            .zip(rgb.chunks_exact(3))
            .zip(&self.changed)
            .filter(|(_, c)| **c)
        {
            shown.copy_from_slice(new);
        }
        cut_in_place(frame.into_raw(), &mut self.changed, self.width)
    }
}

/// The patch `new` gets on average once pixels have been drifting for a while, for estimates of
/// the size of a file without encoding every frame before it.
///
/// A pixel moving by `d` levels a frame (its change from `old`) is written again every
/// ⌈(tolerance + 1) / d⌉ frames, so here it is written with that chance (picked by a fixed
/// pseudo-random draw per pixel): the same share of pixels, scattered alike. With tolerance 0
/// this is exactly the patch a [`Differ`] makes of the pair.
pub fn typical_patch(old: &RgbImage, new: &RgbImage, tolerance: u8) -> Patch {
    let step = u32::from(tolerance) + 1;
    let changed: Vec<bool> = old
        .as_raw()
        .chunks_exact(3)
        .zip(new.as_raw().chunks_exact(3))
        .enumerate()
        .map(|(index, (a, b))| {
            let moved = u32::from(a[0].abs_diff(b[0]))
                .max(u32::from(a[1].abs_diff(b[1])))
                .max(u32::from(a[2].abs_diff(b[2])));
            if moved == 0 {
                return false;
            }
            let every = step.div_ceil(moved);
            every == 1 || draw(index).is_multiple_of(every)
        })
        .collect();
    if changed.iter().all(|&c| c) {
        return Patch::whole(new);
    }
    cut(new.as_raw(), &changed, new.width() as usize)
}

/// A fixed pseudo-random number for pixel `index` (SplitMix64's mixing).
fn draw(index: usize) -> u32 {
    let mut z = (index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    // The high half, which mixes best.
    (z >> 32) as u32
}

/// Sets each pixel's flag in `changed` when `new` differs from `shown` by more than `tolerance` in
/// some channel; returns how many are set.
fn mark_changes(changed: &mut [bool], shown: &[u8], new: &[u8], tolerance: u8) -> usize {
    let pixels = changed
        .iter_mut()
        .zip(shown.chunks_exact(3).zip(new.chunks_exact(3)));
    let mut count = 0;
    if tolerance == 0 {
        for (flag, (a, b)) in pixels {
            *flag = a != b;
            count += usize::from(*flag);
        }
    } else {
        for (flag, (a, b)) in pixels {
            *flag = a[0].abs_diff(b[0]) > tolerance
                || a[1].abs_diff(b[1]) > tolerance
                || a[2].abs_diff(b[2]) > tolerance;
            count += usize::from(*flag);
        }
    }
    count
}

/// The patch of the `changed` pixels of a frame `width` pixels wide: their bounding rectangle,
/// with the unchanged pixels inside it transparent. No change gives one transparent pixel (a GIF
/// frame holds at least one).
fn cut(rgb: &[u8], changed: &[bool], width: usize) -> Patch {
    let Some((left, top, right, bottom)) = bounds(changed, width) else {
        return Patch {
            left: 0,
            top: 0,
            width: 1,
            height: 1,
            rgb: rgb[..3].to_vec(),
            opaque: Some(vec![false]),
        };
    };
    let (w, h) = (right - left + 1, bottom - top + 1);
    let mut colours = Vec::with_capacity(w * h * 3);
    let mut opaque = Vec::with_capacity(w * h);
    for y in top..=bottom {
        let row = y * width;
        colours.extend_from_slice(&rgb[(row + left) * 3..(row + right + 1) * 3]);
        opaque.extend_from_slice(&changed[row + left..=row + right]);
    }
    rectangle((left, top), (w, h), colours, opaque)
}

/// [`cut`], reusing the frame's own pixels for the patch's (the rectangle's rows move forward
/// within the buffer), so a large frame is never held twice; when the rectangle is the whole
/// frame, the flags themselves become the patch's mask (and `changed` is left empty).
fn cut_in_place(mut rgb: Vec<u8>, changed: &mut Vec<bool>, width: usize) -> Patch {
    let Some((left, top, right, bottom)) = bounds(changed, width) else {
        return cut(&rgb, changed, width);
    };
    let (w, h) = (right - left + 1, bottom - top + 1);
    if w * h == changed.len() {
        return rectangle((0, 0), (w, h), rgb, std::mem::take(changed));
    }
    let mut opaque = Vec::with_capacity(w * h);
    let mut end = 0;
    for y in top..=bottom {
        let row = y * width;
        // Row y of the rectangle starts at or after where it goes, so nothing unread is overwritten.
        rgb.copy_within((row + left) * 3..(row + right + 1) * 3, end);
        end += w * 3;
        opaque.extend_from_slice(&changed[row + left..=row + right]);
    }
    rgb.truncate(end);
    rectangle((left, top), (w, h), rgb, opaque)
}

/// The patch of a `w × h` rectangle at `(left, top)` with these colours and written pixels (no
/// mask when all are written).
fn rectangle(
    (left, top): (usize, usize),
    (w, h): (usize, usize),
    rgb: Vec<u8>,
    opaque: Vec<bool>,
) -> Patch {
    let all = opaque.iter().all(|&o| o);
    Patch {
        left: to_u32(left),
        top: to_u32(top),
        width: to_u32(w),
        height: to_u32(h),
        rgb,
        opaque: (!all).then_some(opaque),
    }
}

/// The smallest rectangle `(left, top, right, bottom)` (inclusive) holding every set flag.
fn bounds(flags: &[bool], width: usize) -> Option<(usize, usize, usize, usize)> {
    let rows: Vec<&[bool]> = flags.chunks_exact(width).collect();
    let top = rows.iter().position(|row| row.contains(&true))?;
    let bottom = rows.iter().rposition(|row| row.contains(&true))?;
    let mut left = width;
    let mut right = 0;
    for row in &rows[top..=bottom] {
        if let Some(first) = row.iter().position(|&f| f) {
            left = left.min(first);
        }
        if let Some(last) = row.iter().rposition(|&f| f) {
            right = right.max(last);
        }
    }
    Some((left, top, right, bottom))
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    /// The patches a [`Differ`] makes of `frames`, one after another.
    fn patches(frames: &[RgbImage], tolerance: u8) -> Vec<Patch> {
        let mut differ = Differ::new(tolerance);
        frames
            .iter()
            .map(|frame| differ.patch(frame.clone()))
            .collect()
    }

    fn grey(width: u32, height: u32, level: u8) -> RgbImage {
        RgbImage::from_pixel(width, height, Rgb([level; 3]))
    }

    #[test]
    fn the_first_frame_is_whole() {
        let patches = patches(&[grey(4, 3, 10)], 0);
        assert_eq!(patches, [Patch::whole(&grey(4, 3, 10))]);
    }

    #[test]
    fn a_later_frame_covers_only_what_changed() {
        let mut second = grey(6, 5, 10);
        second.put_pixel(1, 2, Rgb([200, 0, 0]));
        second.put_pixel(3, 3, Rgb([0, 200, 0]));
        let patches = patches(&[grey(6, 5, 10), second], 0);
        let patch = &patches[1];
        assert_eq!(
            (patch.left, patch.top, patch.width, patch.height),
            (1, 2, 3, 2)
        );
        assert_eq!(
            patch.opaque.as_deref(),
            Some(&[true, false, false, false, false, true][..])
        );
        assert_eq!(patch.opaque_rgb(), [200, 0, 0, 0, 200, 0]);
    }

    #[test]
    fn cutting_in_place_gives_the_same_patch() {
        let rgb: Vec<u8> = (0..7 * 5 * 3).map(|i| (i * 37 % 251) as u8).collect();
        let inner: Vec<bool> = (0..7 * 5)
            .map(|i| i % 7 > 1 && i / 7 > 0 && i % 3 != 0)
            .collect();
        // A rectangle inside the frame, the whole frame (whose flags become the mask), nothing.
        let whole: Vec<bool> = (0..7 * 5).map(|i| i % 4 != 1).collect();
        for changed in [inner, whole, vec![false; 7 * 5]] {
            let expected = cut(&rgb, &changed, 7);
            assert_eq!(cut_in_place(rgb.clone(), &mut changed.clone(), 7), expected);
        }
    }

    #[test]
    fn no_change_is_one_transparent_pixel() {
        let patches = patches(&[grey(3, 3, 7), grey(3, 3, 7)], 0);
        assert_eq!((patches[1].width, patches[1].height), (1, 1));
        assert!(patches[1].has_transparency());
        assert!(patches[1].opaque_rgb().is_empty());
    }

    #[test]
    fn small_changes_within_the_tolerance_are_skipped_but_never_add_up() {
        // A pixel drifting by 2 a frame: with tolerance 3 it is written every second frame.
        let frames: Vec<RgbImage> = (0..5).map(|i| grey(1, 1, 100 + 2 * i)).collect();
        let written: Vec<bool> = patches(&frames, 3)
            .iter()
            .map(|p| !p.has_transparency())
            .collect();
        assert_eq!(written, [true, false, true, false, true]);
    }

    #[test]
    fn a_typical_patch_writes_slow_pixels_now_and_then() {
        let old = RgbImage::from_fn(100, 100, |x, _| Rgb([if x < 50 { 10 } else { 100 }; 3]));
        // The left half moves by 1 a frame, the right half by 10.
        let new = RgbImage::from_fn(100, 100, |x, _| Rgb([if x < 50 { 11 } else { 110 }; 3]));
        let patch = typical_patch(&old, &new, 4);
        let opaque = patch.opaque.clone().unwrap_or_default();
        let is_written = |x: u32, y: u32| {
            let inside = (patch.left..patch.left + patch.width).contains(&x)
                && (patch.top..patch.top + patch.height).contains(&y);
            inside && opaque[((y - patch.top) * patch.width + x - patch.left) as usize]
        };
        let written = |columns: std::ops::Range<u32>| {
            (0..100)
                .flat_map(|y| columns.clone().map(move |x| (x, y)))
                .filter(|&(x, y)| is_written(x, y))
                .count()
        };
        // Every fast pixel; about one slow pixel in five (tolerance 4: written every 5th frame).
        assert_eq!(written(50..100), 50 * 100);
        let slow = written(0..50) as f64 / (50.0 * 100.0);
        assert!((0.15..0.25).contains(&slow), "{slow}");
        // Without a tolerance, every changed pixel is written, as the differ does.
        assert_eq!(
            typical_patch(&old, &new, 0),
            patches(&[old, new.clone()], 0)[1]
        );
    }
}

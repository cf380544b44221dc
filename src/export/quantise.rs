//! Reducing a frame to the 256 colours a GIF frame may hold.
//!
//! A frame with at most 256 distinct colours (every greyscale frame, captions included) keeps them
//! exactly. Any other frame goes through the `quantette` crate: Wu's quantiser ("Efficient
//! statistical computations for optimal color quantization", Graphics Gems II, 1991) in the Oklab
//! colour space, without dithering (dithering would add noise of its own to pictures of noise).
//! We chose it over the `gif` crate's own NeuQuant because NeuQuant's nearest-colour search alone
//! costs 17–19 ms per noisy 451×332 frame, too slow for "60 frames in 1 s", and its error is larger.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroU8;

use quantette::deps::palette::Srgb;
use quantette::deps::palette::cast::{from_component_slice, into_component_vec};
use quantette::{ImageRef, PaletteSize, Pipeline, QuantizeMethod};

/// The most colours a GIF frame's palette holds.
const MAX_COLOURS: usize = 256;

/// A frame as palette indices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Indexed {
    /// Colours as `[r, g, b, r, g, b, …]`, at most 256 of them.
    pub palette: Vec<u8>,
    /// One palette index per pixel, row by row.
    pub indices: Vec<u8>,
}

/// Reduces a `width × height` frame of RGB pixels (`[r, g, b, r, g, b, …]`) to at most 256 colours.
pub fn quantise(width: u32, height: u32, rgb: &[u8]) -> Indexed {
    exact(rgb, MAX_COLOURS).unwrap_or_else(|| wu(width, height, rgb, PaletteSize::MAX))
}

/// Like [`quantise`], but only the pixels marked in `opaque` get colours (at most 255); the
/// others get the index of one more palette entry, returned as the transparent index.
///
/// When the marked pixels have exactly 256 colours (a greyscale frame of noise has every grey),
/// the two closest are made one (for greys, one level apart) so the transparent index still fits,
/// and the pixels are indexed in place rather than copied for Wu's quantiser.
pub fn quantise_masked(rgb: &[u8], opaque: &[bool]) -> (Indexed, u8) {
    let mut colours = ColourSet::new(MAX_COLOURS);
    if colours.add(rgb, Some(opaque))
        && let Some(all) = colours.into_palette()
    {
        // Few enough colours (every greyscale frame): kept exactly, or nearly (see above).
        let (mut palette, merged) = merge_closest_beyond(all, MAX_COLOURS - 1);
        let transparent = u8::try_from(palette.len() / 3).unwrap_or(u8::MAX);
        let indices = index_merged(&palette, merged, rgb, Some(opaque), transparent);
        palette.extend([0, 0, 0]);
        return (Indexed { palette, indices }, transparent);
    }
    let mut kept = Vec::with_capacity(rgb.len());
    for (pixel, &o) in rgb.chunks_exact(3).zip(opaque) {
        if o {
            kept.extend_from_slice(pixel);
        }
    }
    let fewer = PaletteSize::from(NonZeroU8::MAX);
    let count = u32::try_from(kept.len() / 3).unwrap_or(u32::MAX);
    let reduced = if kept.is_empty() {
        Indexed {
            palette: Vec::new(),
            indices: Vec::new(),
        }
    } else {
        exact(&kept, MAX_COLOURS - 1).unwrap_or_else(|| wu(count, 1, &kept, fewer))
    };
    let transparent = u8::try_from(reduced.palette.len() / 3).unwrap_or(u8::MAX);
    let mut palette = reduced.palette;
    palette.extend([0, 0, 0]);
    let mut kept_indices = reduced.indices.into_iter();
    let indices = opaque
        .iter()
        .map(|&o| {
            if o {
                kept_indices.next().unwrap_or(transparent)
            } else {
                transparent
            }
        })
        .collect();
    (Indexed { palette, indices }, transparent)
}

/// The distinct colours of frames seen one after another, up to a most: a bit per possible colour
/// (2 MB), so that looking at a frame costs a few instructions a pixel.
#[derive(Debug)]
pub struct ColourSet {
    /// Bit `c` of the words is set when colour `0x00rrggbb = c` has been seen.
    seen: Vec<u64>,
    colours: Vec<u32>,
    max_colours: usize,
}

impl ColourSet {
    /// An empty set that holds at most `max_colours` colours.
    pub fn new(max_colours: usize) -> Self {
        Self {
            seen: vec![0; (1 << 24) / 64],
            colours: Vec::new(),
            max_colours,
        }
    }

    /// Adds the colours of `rgb` (`[r, g, b, …]`; where `opaque` is given, only the pixels it
    /// marks). Returns `false`, and stops looking, once there are more than the set holds.
    pub fn add(&mut self, rgb: &[u8], opaque: Option<&[bool]>) -> bool {
        for (i, pixel) in rgb.chunks_exact(3).enumerate() {
            if opaque.is_some_and(|o| !o[i]) {
                continue;
            }
            let colour = pack(pixel);
            let (word, bit) = ((colour >> 6) as usize, 1_u64 << (colour & 63));
            if self.seen[word] & bit == 0 {
                self.seen[word] |= bit;
                self.colours.push(colour);
                if self.colours.len() > self.max_colours {
                    return false;
                }
            }
        }
        true
    }

    /// The colours sorted, as `[r, g, b, …]`; `None` if there were more than the set holds.
    pub fn into_palette(mut self) -> Option<Vec<u8>> {
        if self.colours.len() > self.max_colours {
            return None;
        }
        self.colours.sort_unstable();
        Some(
            self.colours
                .iter()
                .flat_map(|colour| {
                    let [_, r, g, b] = colour.to_be_bytes();
                    [r, g, b]
                })
                .collect(),
        )
    }
}

/// Indices of `rgb`'s pixels in `palette` (made by a [`ColourSet`] that saw them, so every colour
/// is there); pixels not marked in `opaque` get `transparent`.
pub fn index_in(palette: &[u8], rgb: &[u8], opaque: Option<&[bool]>, transparent: u8) -> Vec<u8> {
    index_merged(palette, None, rgb, opaque, transparent)
}

/// The sorted `colours` (`[r, g, b, …]`), at most `most` of them: when there is one too many, the
/// second colour of the closest neighbouring pair is dropped, and returned with the index of the
/// first, which stands for it.
fn merge_closest_beyond(mut colours: Vec<u8>, most: usize) -> (Vec<u8>, Option<(u32, u8)>) {
    let count = colours.len() / 3;
    if count <= most || count < 2 {
        return (colours, None);
    }
    let distance = |a: &[u8], b: &[u8]| -> u32 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| u32::from(x.abs_diff(y)).pow(2))
            .sum()
    };
    let pairs = colours.chunks_exact(3).zip(colours.chunks_exact(3).skip(1));
    let closest = pairs
        .enumerate()
        .min_by_key(|(_, (a, b))| distance(a, b))
        .map_or(0, |(index, _)| index);
    let dropped = pack(&colours[(closest + 1) * 3..(closest + 2) * 3]);
    colours.drain((closest + 1) * 3..(closest + 2) * 3);
    let kept = u8::try_from(closest).unwrap_or(u8::MAX);
    (colours, Some((dropped, kept)))
}

/// [`index_in`], with the colour `merged.0` (not in `palette`) given index `merged.1`.
fn index_merged(
    palette: &[u8],
    merged: Option<(u32, u8)>,
    rgb: &[u8],
    opaque: Option<&[bool]>,
    transparent: u8,
) -> Vec<u8> {
    let index_of: HashMap<u32, u8, BuildHasherDefault<MixHasher>> = palette
        .chunks_exact(3)
        .zip(0..=u8::MAX)
        .map(|(colour, index)| (pack(colour), index))
        .chain(merged)
        .collect();
    rgb.chunks_exact(3)
        .enumerate()
        .map(|(i, pixel)| {
            if opaque.is_some_and(|o| !o[i]) {
                transparent
            } else {
                index_of.get(&pack(pixel)).copied().unwrap_or(0)
            }
        })
        .collect()
}

/// Wu's quantiser through `quantette`, one frame on one thread (frames are already spread over cores).
fn wu(width: u32, height: u32, rgb: &[u8], colours: PaletteSize) -> Indexed {
    let pixels: &[Srgb<u8>] = from_component_slice(rgb);
    let Ok(image) = ImageRef::new(width, height, pixels) else {
        return Indexed {
            palette: vec![0, 0, 0],
            indices: vec![0; pixels.len()],
        };
    };
    let (palette, indices) = Pipeline::new()
        .palette_size(colours)
        .quantize_method(QuantizeMethod::Wu)
        .ditherer(None)
        .parallel(false)
        .input_image(image)
        .output_srgb8_indexed_image()
        .into_parts();
    Indexed {
        palette: into_component_vec(palette),
        indices,
    }
}

/// The exact palette of a frame with at most `max_colours` (≤ 256) colours, or `None` when it
/// has more.
fn exact(rgb: &[u8], max_colours: usize) -> Option<Indexed> {
    let mut index_of: HashMap<u32, u8, BuildHasherDefault<MixHasher>> = HashMap::default();
    for pixel in rgb.chunks_exact(3) {
        index_of.insert(pack(pixel), 0);
        if index_of.len() > max_colours {
            return None;
        }
    }
    let mut colours: Vec<u32> = index_of.keys().copied().collect();
    colours.sort_unstable();
    let mut palette = Vec::with_capacity(colours.len() * 3);
    for (index, &colour) in (0..=u8::MAX).zip(&colours) {
        index_of.insert(colour, index);
        let [_, r, g, b] = colour.to_be_bytes();
        palette.extend([r, g, b]);
    }
    let indices = rgb
        .chunks_exact(3)
        .map(|pixel| index_of.get(&pack(pixel)).copied().unwrap_or(0))
        .collect();
    Some(Indexed { palette, indices })
}

/// A pixel as `0x00rrggbb`.
fn pack(pixel: &[u8]) -> u32 {
    u32::from_be_bytes([0, pixel[0], pixel[1], pixel[2]])
}

/// A hasher for packed colours: one multiplication (the standard library's default is made to
/// resist attacks, and is several times slower here).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Peak signal-to-noise ratio of the quantised pixels, in decibels.
    fn psnr(rgb: &[u8], indexed: &Indexed) -> f64 {
        let mut squared = 0.0;
        for (pixel, &index) in rgb.chunks_exact(3).zip(&indexed.indices) {
            let colour = &indexed.palette[usize::from(index) * 3..][..3];
            for (a, b) in pixel.iter().zip(colour) {
                squared += (f64::from(*a) - f64::from(*b)).powi(2);
            }
        }
        let mse = squared / rgb.len() as f64;
        10.0 * (255.0 * 255.0 / mse).log10()
    }

    /// A smooth colour field with a little pseudo-random noise: far more than 256 colours.
    fn colourful(width: usize, height: usize) -> Vec<u8> {
        let mut state = 12345_u32;
        let mut rgb = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let jitter = (state >> 28) as usize;
                rgb.extend([
                    ((x * 255 / width + jitter) % 256) as u8,
                    ((y * 255 / height + jitter) % 256) as u8,
                    (((x + y) * 127 / (width + height)) + jitter) as u8,
                ]);
            }
        }
        rgb
    }

    #[test]
    fn few_colours_are_kept_exactly() {
        let grey: Vec<u8> = (0..=255).flat_map(|v| [v, v, v]).collect();
        let indexed = quantise(256, 1, &grey);
        assert_eq!(indexed.palette.len(), 256 * 3);
        for (pixel, &index) in grey.chunks_exact(3).zip(&indexed.indices) {
            assert_eq!(&indexed.palette[usize::from(index) * 3..][..3], pixel);
        }
    }

    #[test]
    fn one_colour_gives_one_entry() {
        let indexed = quantise(10, 10, &[7, 8, 9].repeat(100));
        assert_eq!(indexed.palette, vec![7, 8, 9]);
        assert!(indexed.indices.iter().all(|&i| i == 0));
    }

    #[test]
    fn many_colours_get_256_entries_and_small_error() {
        let rgb = colourful(200, 150);
        let indexed = quantise(200, 150, &rgb);
        assert_eq!(indexed.palette.len(), 256 * 3);
        assert_eq!(indexed.indices.len(), 200 * 150);
        let psnr = psnr(&rgb, &indexed);
        // Wu in Oklab minimises perceptual error, so RGB PSNR sits a little below an RGB-space Wu.
        assert!(psnr > 30.0, "PSNR {psnr:.1} dB");
    }

    #[test]
    fn masked_pixels_get_the_transparent_index() {
        let rgb = [1, 2, 3, 9, 9, 9, 1, 2, 3, 4, 5, 6];
        let (indexed, transparent) = quantise_masked(&rgb, &[true, false, true, true]);
        assert_eq!(transparent, 2);
        assert_eq!(indexed.palette, [1, 2, 3, 4, 5, 6, 0, 0, 0]);
        assert_eq!(indexed.indices, [0, 2, 0, 1]);
    }

    #[test]
    fn masked_pixels_with_256_greys_lose_one_level_of_one_grey() {
        let rgb: Vec<u8> = (0..=255_u8).flat_map(|g| [g; 3]).chain([7; 3]).collect();
        let mut opaque = vec![true; 257];
        opaque[256] = false;
        let (indexed, transparent) = quantise_masked(&rgb, &opaque);
        assert_eq!(usize::from(transparent), 255);
        assert_eq!(indexed.palette.len(), 256 * 3);
        assert_eq!(indexed.indices[256], transparent);
        let shown: Vec<u8> = indexed.indices[..256]
            .iter()
            .map(|&i| indexed.palette[usize::from(i) * 3])
            .collect();
        let errors: Vec<u8> = shown
            .iter()
            .zip(0..=255_u8)
            .map(|(&a, b)| a.abs_diff(b))
            .collect();
        assert_eq!(errors.iter().filter(|&&e| e > 0).count(), 1);
        assert_eq!(errors.iter().max(), Some(&1));
    }

    #[test]
    fn masked_many_colours_leave_room_for_transparency() {
        let rgb = colourful(100, 80);
        let mut opaque = vec![true; 100 * 80];
        opaque[17] = false;
        let (indexed, transparent) = quantise_masked(&rgb, &opaque);
        assert!(indexed.palette.len() <= 256 * 3);
        assert_eq!(usize::from(transparent), indexed.palette.len() / 3 - 1);
        assert_eq!(indexed.indices[17], transparent);
        assert!(
            indexed
                .indices
                .iter()
                .enumerate()
                .all(|(i, &x)| i == 17 || x != transparent)
        );
    }

    #[test]
    fn a_shared_palette_holds_every_frame_or_none() {
        let a = vec![0, 0, 0, 10, 10, 10];
        let b = vec![10, 10, 10, 20, 20, 20];
        let both: [(&[u8], Option<&[bool]>); 2] = [(&a, None), (&b, None)];
        // One palette for frames together, if they hold at most `max` colours.
        let shared = |frames: &[(&[u8], Option<&[bool]>)], max| {
            let mut colours = ColourSet::new(max);
            frames
                .iter()
                .all(|&(rgb, opaque)| colours.add(rgb, opaque))
                .then(|| colours.into_palette())
                .flatten()
        };
        let palette = shared(&both, 255).unwrap_or_default();
        assert_eq!(palette, [0, 0, 0, 10, 10, 10, 20, 20, 20]);
        assert_eq!(index_in(&palette, &b, None, 3), [1, 2]);
        assert_eq!(index_in(&palette, &b, Some(&[false, true]), 3), [3, 2]);
        assert_eq!(shared(&both, 2), None);
        // Transparent pixels do not count.
        let masked: [(&[u8], Option<&[bool]>); 2] = [(&a, None), (&b, Some(&[true, false]))];
        assert_eq!(shared(&masked, 2).map(|p| p.len()), Some(6));
    }
}

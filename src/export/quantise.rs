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
    exact(rgb).unwrap_or_else(|| wu(width, height, rgb))
}

/// Wu's quantiser through `quantette`, one frame on one thread (frames are already spread over cores).
fn wu(width: u32, height: u32, rgb: &[u8]) -> Indexed {
    let pixels: &[Srgb<u8>] = from_component_slice(rgb);
    let Ok(image) = ImageRef::new(width, height, pixels) else {
        return Indexed {
            palette: vec![0, 0, 0],
            indices: vec![0; pixels.len()],
        };
    };
    let (palette, indices) = Pipeline::new()
        .palette_size(PaletteSize::MAX)
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

/// The exact palette of a frame with at most 256 colours, or `None` when it has more.
fn exact(rgb: &[u8]) -> Option<Indexed> {
    let mut index_of: HashMap<u32, u8, BuildHasherDefault<MixHasher>> = HashMap::default();
    for pixel in rgb.chunks_exact(3) {
        index_of.insert(pack(pixel), 0);
        if index_of.len() > MAX_COLOURS {
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
}

//! `Picture`: an RGB image held in the model's value range, the one type every view and export shares.

/// An RGB image as floating-point values, interleaved row by row (`[r, g, b, r, g, b, …]`).
///
/// A clean image has values in [-1, 1] (the range diffusion models are trained on); a noisy one
/// may leave it. Conversions to bytes clip to [-1, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Picture {
    /// Width in pixels (≥ 1).
    pub width: usize,
    /// Height in pixels (≥ 1).
    pub height: usize,
    /// `width × height × 3` values.
    pub values: Vec<f32>,
}

impl Picture {
    /// Number of colour channels every `Picture` has.
    pub const CHANNELS: usize = 3;

    /// A picture from RGB bytes (0..=255 mapped linearly onto -1..=1).
    ///
    /// `rgb.len()` must be `width × height × 3`; the caller (an image loader) guarantees it.
    pub fn from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Self {
        debug_assert_eq!(rgb.len(), width * height * Self::CHANNELS);
        let values = rgb.iter().map(|&b| f32::from(b) / 127.5 - 1.0).collect();
        Self {
            width,
            height,
            values,
        }
    }

    /// A picture whose values are all `value`.
    pub fn filled(width: usize, height: usize, value: f32) -> Self {
        Self {
            width,
            height,
            values: vec![value; width * height * Self::CHANNELS],
        }
    }

    /// The picture as RGB bytes, clipping values to [-1, 1] first.
    pub fn to_rgb8(&self) -> Vec<u8> {
        let mut out = vec![0; self.values.len()];
        values_to_rgb8(&self.values, &mut out);
        out
    }

    /// The picture as an `image` crate buffer (for encoders).
    pub fn to_rgb_image(&self) -> image::RgbImage {
        // Dimensions are bounded by the loader's limits, far below u32::MAX.
        let (w, h) = (clamp_u32(self.width), clamp_u32(self.height));
        image::RgbImage::from_raw(w, h, self.to_rgb8())
            .unwrap_or_else(|| image::RgbImage::new(w, h))
    }
}

impl Picture {
    /// A copy scaled down (aspect kept, triangle filter) so that it has at most `max_pixels` pixels;
    /// an unchanged copy when it is already small enough.
    pub fn fit_within(&self, max_pixels: usize) -> Self {
        let pixels = self.width * self.height;
        if pixels <= max_pixels {
            return self.clone();
        }
        let scale = (max_pixels as f64 / pixels as f64).sqrt();
        let width = ((self.width as f64 * scale).floor() as usize).max(1);
        let height = ((self.height as f64 * scale).floor() as usize).max(1);
        self.resized(width, height)
    }

    /// A copy resampled to `width × height` (triangle filter).
    ///
    /// The `image` crate's float resize clips to its own range [0, 1], so values are mapped from
    /// [-1, 1] onto [0, 1] and back around it; values outside [-1, 1] (a noisy picture) clip there.
    pub fn resized(&self, width: usize, height: usize) -> Self {
        let (w, h) = (clamp_u32(self.width), clamp_u32(self.height));
        let unit: Vec<f32> = self.values.iter().map(|&v| (v + 1.0) * 0.5).collect();
        let Some(buffer) = image::Rgb32FImage::from_raw(w, h, unit) else {
            return Self::filled(width, height, 0.0);
        };
        let resized = image::imageops::resize(
            &buffer,
            clamp_u32(width),
            clamp_u32(height),
            image::imageops::FilterType::Triangle,
        );
        let values = resized
            .into_raw()
            .into_iter()
            .map(|u| u * 2.0 - 1.0)
            .collect();
        Self {
            width,
            height,
            values,
        }
    }
}

/// Maps values in [-1, 1] to bytes 0..=255 (clipping outside), the display convention of the program.
pub fn values_to_rgb8(values: &[f32], out: &mut [u8]) {
    for (o, &v) in out.iter_mut().zip(values) {
        // The cast saturates, and the clamp keeps NaN-free inputs in range.
        *o = ((v.clamp(-1.0, 1.0) + 1.0) * 127.5 + 0.5) as u8;
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_exactly() {
        let rgb: Vec<u8> = (0..=255).chain(0..=255).chain(0..=255).collect();
        let picture = Picture::from_rgb8(256, 1, &rgb);
        assert_eq!(picture.values[0], -1.0);
        assert_eq!(picture.values[255], 1.0);
        assert_eq!(picture.to_rgb8(), rgb);
    }

    #[test]
    fn fit_within_keeps_aspect_and_budget() {
        let picture = Picture::filled(400, 100, 0.5);
        let small = picture.fit_within(10_000);
        assert_eq!((small.width, small.height), (200, 50));
        assert!(small.values.iter().all(|&v| (v - 0.5).abs() < 1e-6));
        assert_eq!(picture.fit_within(1 << 20), picture);
    }

    #[test]
    fn resizing_keeps_the_whole_value_range() {
        // A picture from black (-1) to white (1); the image crate's float resize clips to [0, 1].
        let values: Vec<f32> = (0..64 * 3).map(|i| (i / 3) as f32 / 31.5 - 1.0).collect();
        let picture = Picture {
            width: 64,
            height: 1,
            values,
        };
        let half = picture.resized(32, 1);
        let (min, max) = half
            .values
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        assert!(min < -0.95 && max > 0.95, "range {min}..{max}");
        let mean = |p: &Picture| p.values.iter().sum::<f32>() / p.values.len() as f32;
        assert!((mean(&half) - mean(&picture)).abs() < 1e-3);
    }

    #[test]
    fn out_of_range_values_clip() {
        let mut out = [0u8; 3];
        values_to_rgb8(&[-7.0, 0.0, 9.0], &mut out);
        assert_eq!(out, [0, 128, 255]);
    }
}

//! The shape of one image of a batch: its channels (1 for grey, 3 for colour) and its height and
//! width. Images are stored channel plane after channel plane (C × H × W, as PyTorch and
//! diffusers keep them), one image after another.

use std::fmt;

/// Channels, height and width of one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ImageShape {
    /// 1 (grey) or 3 (red, green, blue planes).
    pub channels: usize,
    /// Rows of pixels.
    pub height: usize,
    /// Pixels per row.
    pub width: usize,
}

impl ImageShape {
    /// A grey image of `height × width` pixels.
    pub const fn grey(height: usize, width: usize) -> Self {
        Self {
            channels: 1,
            height,
            width,
        }
    }

    /// A colour image (three planes) of `height × width` pixels.
    pub const fn rgb(height: usize, width: usize) -> Self {
        Self {
            channels: 3,
            height,
            width,
        }
    }

    /// Values in one image: channels × height × width.
    pub const fn values(self) -> usize {
        self.channels * self.height * self.width
    }

    /// Pixels in one image: height × width.
    pub const fn pixels(self) -> usize {
        self.height * self.width
    }

    /// Whether the image is in colour.
    pub const fn is_colour(self) -> bool {
        self.channels == 3
    }

    /// (height, width).
    pub const fn side(self) -> (usize, usize) {
        (self.height, self.width)
    }

    /// One image of this shape as a single plane: the mean of its channels at each pixel (the
    /// image itself if it is grey).
    pub fn channel_mean(self, image: &[f32]) -> Vec<f32> {
        let plane = self.pixels();
        if self.channels <= 1 {
            return image.to_vec();
        }
        (0..plane)
            .map(|pixel| {
                let sum: f32 = (0..self.channels)
                    .filter_map(|channel| image.get(channel * plane + pixel))
                    .sum();
                sum / self.channels as f32
            })
            .collect()
    }
}

impl fmt::Display for ImageShape {
    /// "28×28" for grey, "32×32 RGB" for colour.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}×{}", self.height, self.width)?;
        if self.is_colour() {
            f.write_str(" RGB")?;
        }
        Ok(())
    }
}

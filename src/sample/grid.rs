//! Tiling a batch of samples into one picture: `--grid 4x4` → 16 digits in 4 columns and 4 rows,
//! separated by a thin grey gap and enlarged so that they can be seen on a slide.

use std::fmt;
use std::str::FromStr;

use image::{Rgb, RgbImage};

use super::ImageShape;

/// Gap between tiles, in image pixels before enlarging.
pub const GAP_PX: u32 = 2;
/// Colour of the gaps: a mid grey, distinct from both the black background and the white strokes.
const GAP_COLOUR: Rgb<u8> = Rgb([128, 128, 128]);

/// A grid of `columns × rows` samples, written "4x4" (columns first) on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GridSpec {
    /// Samples across.
    pub columns: u32,
    /// Samples down.
    pub rows: u32,
}

impl GridSpec {
    /// The largest side the command line accepts (a 16x16 grid is 256 samples).
    pub const MAX_SIDE: u32 = 16;

    /// The smallest square grid that holds `count` samples (at least 1×1).
    pub fn square_for(count: usize) -> Self {
        let side = (1..=Self::MAX_SIDE)
            .find(|side| (side * side) as usize >= count)
            .unwrap_or(Self::MAX_SIDE);
        Self {
            columns: side,
            rows: side,
        }
    }

    /// Image `index` of a batch stored one image after another, `pixels` values each; `None` past
    /// the end.
    pub fn image_of(values: &[f32], pixels: usize, index: usize) -> Option<&[f32]> {
        values.get(index * pixels..(index + 1) * pixels)
    }

    /// How many samples fill the grid.
    pub fn count(self) -> usize {
        self.columns as usize * self.rows as usize
    }
}

impl fmt::Display for GridSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.columns, self.rows)
    }
}

impl FromStr for GridSpec {
    type Err = String;

    /// "4x4", "8x2", "1x1"; each side 1..=16.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "“{text}” is not a grid: write COLUMNSxROWS, such as 4x4 (each side 1 to {})",
                Self::MAX_SIDE
            )
        };
        let (columns, rows) = text
            .trim()
            .to_ascii_lowercase()
            .split_once(['x', '×'])
            .map(|(c, r)| (c.trim().parse::<u32>(), r.trim().parse::<u32>()))
            .ok_or_else(bad)?;
        match (columns, rows) {
            (Ok(columns), Ok(rows))
                if (1..=Self::MAX_SIDE).contains(&columns)
                    && (1..=Self::MAX_SIDE).contains(&rows) =>
            {
                Ok(Self { columns, rows })
            }
            _ => Err(bad()),
        }
    }
}

/// A value in [−1, 1] as a grey level 0..=255 (values outside are clipped; NaN is black).
pub fn to_grey(value: f32) -> u8 {
    ((value.clamp(-1.0, 1.0) + 1.0) * 127.5).round() as u8
}

/// The size in pixels of the picture [`tile`] makes: (width, height).
pub fn tiled_size(grid: GridSpec, shape: ImageShape, scale: u32) -> (u32, u32) {
    let (height, width) = (shape.height as u32, shape.width as u32);
    let across = grid.columns * width + (grid.columns - 1) * GAP_PX;
    let down = grid.rows * height + (grid.rows - 1) * GAP_PX;
    (across * scale, down * scale)
}

/// Tiles images (each of `shape`, values in [−1, 1], one after another, row by row of the grid)
/// into one picture with [`GAP_PX`] grey gaps, enlarged `scale` times (at least 1) with
/// nearest-neighbour sampling so every pixel stays a crisp square. Grey images stay grey, colour
/// ones keep their colours. Cells without an image stay grey.
pub fn tile(images: &[f32], shape: ImageShape, grid: GridSpec, scale: u32) -> RgbImage {
    tile_reserving(images, shape, grid, scale, 0)
}

/// [`tile`], with room kept in the picture's buffer for `rows_below` more rows (a caption band
/// added in place, without copying a picture that may be hundreds of megabytes).
pub fn tile_reserving(
    images: &[f32],
    shape: ImageShape,
    grid: GridSpec,
    scale: u32,
    rows_below: u32,
) -> RgbImage {
    tile_into(images, shape, grid, scale, rows_below, Paint::AsIs)
}

/// [`tile`] with each pixel coloured by `colour` (for example [`super::colormap::diverging`]);
/// a colour image's pixel is coloured by the mean of its channels.
pub fn tile_with(
    images: &[f32],
    shape: ImageShape,
    grid: GridSpec,
    scale: u32,
    colour: &dyn Fn(f32) -> [u8; 3],
) -> RgbImage {
    tile_into(images, shape, grid, scale, 0, Paint::Map(colour))
}

/// How a pixel's values become a colour.
#[derive(Clone, Copy)]
enum Paint<'a> {
    /// Grey levels for grey images, the image's own colours for colour ones.
    AsIs,
    /// A colour map of the value (of the channels' mean).
    Map(&'a dyn Fn(f32) -> [u8; 3]),
}

impl Paint<'_> {
    /// The colour of the pixel whose channel values are `values`.
    fn colour(self, values: &[f32]) -> [u8; 3] {
        match (self, values) {
            (Self::AsIs, &[r, g, b]) => [to_grey(r), to_grey(g), to_grey(b)],
            (Self::AsIs, values) => [to_grey(values.first().copied().unwrap_or(0.0)); 3],
            (Self::Map(colour), values) => {
                colour(values.iter().sum::<f32>() / values.len().max(1) as f32)
            }
        }
    }
}

/// [`tile_with`] into a buffer with room for `rows_below` more rows.
fn tile_into(
    images: &[f32],
    shape: ImageShape,
    grid: GridSpec,
    scale: u32,
    rows_below: u32,
    paint: Paint<'_>,
) -> RgbImage {
    let scale = scale.max(1);
    let (height, width) = shape.side();
    let (out_width, out_height) = tiled_size(grid, shape, scale);
    let pixels = out_width as usize * out_height as usize;
    let mut buffer = Vec::with_capacity((pixels + out_width as usize * rows_below as usize) * 3);
    buffer.extend(std::iter::repeat_n(GAP_COLOUR.0, pixels).flatten());
    let Some(mut picture) = RgbImage::from_raw(out_width, out_height, buffer) else {
        return RgbImage::new(out_width, out_height);
    };
    let plane = shape.pixels();
    if plane == 0 || shape.channels == 0 {
        return picture;
    }
    let mut values = vec![0.0; shape.channels];
    for (index, image) in images
        .chunks_exact(shape.values())
        .take(grid.count())
        .enumerate()
    {
        let column = index as u32 % grid.columns;
        let row = index as u32 / grid.columns;
        let left = column * (width as u32 + GAP_PX);
        let top = row * (height as u32 + GAP_PX);
        for pixel in 0..plane {
            for (channel, value) in values.iter_mut().enumerate() {
                *value = image[channel * plane + pixel];
            }
            let rgb = Rgb(paint.colour(&values));
            let x = left + (pixel % width) as u32;
            let y = top + (pixel / width) as u32;
            for dy in 0..scale {
                for dx in 0..scale {
                    picture.put_pixel(x * scale + dx, y * scale + dy, rgb);
                }
            }
        }
    }
    picture
}

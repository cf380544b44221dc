//! Points in the plane drawn as a picture, for the playground's GIFs: a dark square over
//! −extent…extent on both axes with a faint grid at whole numbers, points as small squares and
//! paths as lines, in the window's colours.

use image::{Rgb, RgbImage};

/// The background.
const BACKGROUND: Rgb<u8> = Rgb([24, 24, 24]);
/// The grid at whole numbers, and the axes.
const GRID: Rgb<u8> = Rgb([48, 48, 48]);
const AXES: Rgb<u8> = Rgb([90, 90, 90]);

/// A picture of the plane being drawn.
pub struct PlanePicture {
    image: RgbImage,
    extent: f32,
}

impl PlanePicture {
    /// An empty plane `side` pixels square showing −`extent`…`extent` on both axes.
    pub fn new(side: u32, extent: f32) -> Self {
        let mut picture = Self {
            image: RgbImage::from_pixel(side, side, BACKGROUND),
            extent: extent.max(1e-3),
        };
        let whole = extent.floor() as i32;
        // The axes last, over the grid.
        for k in (-whole..=whole).filter(|&k| k != 0).chain([0]) {
            let colour = if k == 0 { AXES } else { GRID };
            let at = picture.pixel([k as f32, k as f32]);
            for i in 0..side {
                if let Some((x, y)) = at {
                    picture.put(x, i as i64, colour);
                    picture.put(i as i64, y, colour);
                }
            }
        }
        picture
    }

    /// The pixel of a point (column, row), rows growing downwards.
    fn pixel(&self, [x, y]: [f32; 2]) -> Option<(i64, i64)> {
        if !x.is_finite() || !y.is_finite() {
            return None;
        }
        let side = self.image.width() as f32;
        let scale = side / (2.0 * self.extent);
        let column = ((x + self.extent) * scale).floor();
        let row = ((self.extent - y) * scale).floor();
        Some((
            column.clamp(-1.0, side) as i64,
            row.clamp(-1.0, side) as i64,
        ))
    }

    fn put(&mut self, x: i64, y: i64, colour: Rgb<u8>) {
        let (width, height) = self.image.dimensions();
        if (0..i64::from(width)).contains(&x) && (0..i64::from(height)).contains(&y) {
            self.image.put_pixel(x as u32, y as u32, colour);
        }
    }

    /// Draws each point as a square `size` pixels wide.
    pub fn points(&mut self, points: &[[f32; 2]], colour: [u8; 3], size: u32) {
        let half = i64::from(size / 2);
        for &point in points {
            if let Some((x, y)) = self.pixel(point) {
                for dy in -half..=half {
                    for dx in -half..=half {
                        self.put(x + dx, y + dy, Rgb(colour));
                    }
                }
            }
        }
    }

    /// Draws a path through `points`, one straight line between each two.
    pub fn path(&mut self, points: &[[f32; 2]], colour: [u8; 3]) {
        for pair in points.windows(2) {
            let (Some(a), Some(b)) = (self.pixel(pair[0]), self.pixel(pair[1])) else {
                continue;
            };
            let steps = (b.0 - a.0).abs().max((b.1 - a.1).abs()).max(1);
            for k in 0..=steps {
                let x = a.0 + (b.0 - a.0) * k / steps;
                let y = a.1 + (b.1 - a.1) * k / steps;
                self.put(x, y, Rgb(colour));
            }
        }
    }

    /// The finished picture.
    pub fn into_image(self) -> RgbImage {
        self.image
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_paths_land_where_the_plane_says() {
        let mut plane = PlanePicture::new(80, 4.0);
        plane.points(&[[0.5, 0.5], [f32::NAN, 0.0], [100.0, 0.0]], [255, 0, 0], 1);
        plane.path(&[[-3.5, -3.5], [-3.5, 3.5]], [0, 255, 0]);
        let image = plane.into_image();
        // 10 pixels a unit: (0.5, 0.5) is column 45, row 35.
        assert_eq!(image.get_pixel(45, 35), &Rgb([255, 0, 0]));
        // The vertical line at x = −3.5 runs down column 5.
        assert!((6..74).all(|row| image.get_pixel(5, row) == &Rgb([0, 255, 0])));
        // The axes cross at the middle; the background stays elsewhere.
        assert_eq!(image.get_pixel(40, 10), &AXES);
        assert_eq!(image.get_pixel(44, 12), &BACKGROUND);
    }
}

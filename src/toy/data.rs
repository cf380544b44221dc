//! The playground's data sets: points in the plane drawn from a handful of classic shapes, each a
//! pure function of (shape, count, seed), at a common scale (about −3…3 on each axis) so one plot
//! and one noise schedule suit them all.

use std::f32::consts::PI;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// A point in the plane.
pub type Point = [f32; 2];

/// The most points a data set, a drawing or a points file may hold.
pub const MAX_POINTS: usize = 100_000;

/// The shapes offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Shape {
    /// Two interleaved half circles (scikit-learn's `make_moons`, scaled by 2).
    TwoMoons,
    /// A spiral of 1.5 turns.
    SwissRoll,
    /// Eight tight Gaussians on a circle of radius 2: the mixture on which GANs drop modes.
    EightGaussians,
    /// Eight squares of a 4 × 4 board over −2…2.
    Checkerboard,
    /// Two concentric circles, radius 1 and 2.
    Circles,
    /// A straight segment, no thickness: data on a line, not spread over the plane.
    Line,
}

impl Shape {
    /// Every shape, in the order the menu lists them.
    pub const ALL: [Self; 6] = [
        Self::TwoMoons,
        Self::SwissRoll,
        Self::EightGaussians,
        Self::Checkerboard,
        Self::Circles,
        Self::Line,
    ];

    /// The command-line name (`--data`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::TwoMoons => "two-moons",
            Self::SwissRoll => "swiss-roll",
            Self::EightGaussians => "eight-gaussians",
            Self::Checkerboard => "checkerboard",
            Self::Circles => "circles",
            Self::Line => "line",
        }
    }

    /// The shape of a command-line name.
    pub fn from_cli_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|shape| shape.cli_name() == name)
    }

    /// The menu's label.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::TwoMoons => lang.pick("Two moons", "双月"),
            Self::SwissRoll => lang.pick("Swiss roll", "瑞士卷"),
            Self::EightGaussians => lang.pick("Eight Gaussians", "八个高斯"),
            Self::Checkerboard => lang.pick("Checkerboard", "棋盘"),
            Self::Circles => lang.pick("Circles", "同心圆"),
            Self::Line => lang.pick("A line", "一条直线"),
        }
    }

    /// The centres of the shape's modes, where it has separate ones (the eight Gaussians).
    pub fn modes(self) -> Vec<Point> {
        match self {
            Self::EightGaussians => (0..8)
                .map(|k| {
                    let angle = k as f32 * PI / 4.0;
                    [RING_RADIUS * angle.cos(), RING_RADIUS * angle.sin()]
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `count` points of the shape, the same for the same seed (capped at [`MAX_POINTS`]).
    pub fn points(self, count: usize, seed: u64) -> Vec<Point> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..count.min(MAX_POINTS))
            .map(|_| self.point(&mut rng))
            .collect()
    }

    fn point(self, rng: &mut ChaCha8Rng) -> Point {
        match self {
            Self::TwoMoons => {
                let (angle, upper) = (rng.random::<f32>() * PI, rng.random::<bool>());
                let [x, y] = if upper {
                    [angle.cos(), angle.sin()]
                } else {
                    [1.0 - angle.cos(), 0.5 - angle.sin()]
                };
                let (nx, ny) = (normal(rng), normal(rng));
                [2.0 * (x - 0.5 + 0.05 * nx), 2.0 * (y - 0.25 + 0.05 * ny)]
            }
            Self::SwissRoll => {
                let turn = 1.5 * PI * (1.0 + 2.0 * rng.random::<f32>());
                let (nx, ny) = (normal(rng), normal(rng));
                [
                    turn * turn.cos() / 5.0 + 0.05 * nx,
                    turn * turn.sin() / 5.0 + 0.05 * ny,
                ]
            }
            Self::EightGaussians => {
                let mode = Self::EightGaussians.modes()[rng.random_range(0..8)];
                [
                    mode[0] + MODE_SPREAD * normal(rng),
                    mode[1] + MODE_SPREAD * normal(rng),
                ]
            }
            Self::Checkerboard => {
                // Column and row 0..4 of a 4 × 4 board of side 1 over −2…2; a square is filled
                // where column + row is even.
                let column = rng.random_range(0..4u8);
                let row = 2 * rng.random_range(0..2u8) + (column % 2);
                [
                    f32::from(column) - 2.0 + rng.random::<f32>(),
                    f32::from(row) - 2.0 + rng.random::<f32>(),
                ]
            }
            Self::Circles => {
                let radius = if rng.random::<bool>() { 2.0 } else { 1.0 };
                let angle = rng.random::<f32>() * 2.0 * PI;
                let (nx, ny) = (normal(rng), normal(rng));
                [
                    radius * angle.cos() + 0.05 * nx,
                    radius * angle.sin() + 0.05 * ny,
                ]
            }
            Self::Line => {
                let along = 4.0 * rng.random::<f32>() - 2.0;
                [along, 0.5 * along]
            }
        }
    }
}

/// One N(0, 1) draw.
fn normal(rng: &mut ChaCha8Rng) -> f32 {
    rng.sample(StandardNormal)
}

/// The radius of the eight Gaussians' ring.
pub const RING_RADIUS: f32 = 2.0;
/// The standard deviation of each of the eight Gaussians.
pub const MODE_SPREAD: f32 = 0.1;

/// The points as one flat list x0, y0, x1, y1, … (a batch of 1 × 2 "images" for the samplers).
pub fn flatten(points: &[Point]) -> Vec<f32> {
    points.as_flattened().to_vec()
}

/// Pairs of a flat list back into points (a trailing odd value is dropped).
pub fn unflatten(values: &[f32]) -> Vec<Point> {
    values
        .chunks_exact(2)
        .map(|pair| [pair[0], pair[1]])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_points_and_names_round_trip() {
        for shape in Shape::ALL {
            assert_eq!(shape.points(50, 3), shape.points(50, 3));
            assert_ne!(shape.points(50, 3), shape.points(50, 4));
            assert_eq!(Shape::from_cli_name(shape.cli_name()), Some(shape));
        }
        assert_eq!(Shape::TwoMoons.points(usize::MAX, 1).len(), MAX_POINTS);
    }

    /// Every point of `shape` (2000 drawn) is within `tolerance` of where the shape says.
    fn all_within(shape: Shape, tolerance: f32, distance: impl Fn(Point) -> f32) {
        for p in shape.points(2000, 7) {
            assert!(
                distance(p) <= tolerance,
                "{shape:?}: {p:?} is {} off",
                distance(p)
            );
        }
    }

    #[test]
    fn each_shape_lies_where_it_should() {
        // Moons: the upper on the unit circle about (0, 0), the lower about (1, 0.5), before the
        // shift by (−0.5, −0.25) and the scale by 2; noise 0.05 (×2), so 5 σ = 0.5.
        all_within(Shape::TwoMoons, 0.5, |[x, y]| {
            let (u, v) = (x / 2.0 + 0.5, y / 2.0 + 0.25);
            let upper = (u.hypot(v) - 1.0).abs();
            let lower = ((u - 1.0).hypot(v - 0.5) - 1.0).abs();
            2.0 * upper.min(lower)
        });
        all_within(Shape::Circles, 0.25, |[x, y]| {
            let r = x.hypot(y);
            (r - 1.0).abs().min((r - 2.0).abs())
        });
        all_within(Shape::Line, 1e-6, |[x, y]| (y - 0.5 * x).abs());
        all_within(Shape::Checkerboard, 0.0, |[x, y]| {
            let (column, row) = ((x + 2.0).floor(), (y + 2.0).floor());
            let on_board = (0.0..4.0).contains(&column) && (0.0..4.0).contains(&row);
            if on_board && (column + row) % 2.0 == 0.0 {
                0.0
            } else {
                1.0
            }
        });
        // The roll's radius grows with its angle: r = θ/5 for θ in [1.5π, 4.5π].
        all_within(Shape::SwissRoll, 0.3, |[x, y]| {
            let r = x.hypot(y);
            (0..3)
                .map(|turn| {
                    let angle = y.atan2(x).rem_euclid(2.0 * PI) + 2.0 * PI * turn as f32;
                    (r - angle / 5.0).abs()
                })
                .fold(f32::INFINITY, f32::min)
        });
        let moons = Shape::TwoMoons.points(4000, 1);
        let mean_x = moons.iter().map(|p| p[0]).sum::<f32>() / 4000.0;
        assert!(mean_x.abs() < 0.05, "the moons are centred: {mean_x}");
    }
}

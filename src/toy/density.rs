//! How densely points lie in the plane, drawn as contour lines: the points are counted into a
//! grid of cells and smoothed with a Gaussian (a kernel density estimate on a grid), and the
//! lines enclosing the densest half, 80 % and 95 % of the points are traced by marching squares
//! (the `contour` crate, a port of d3-contour).

use contour::ContourBuilder;

use super::data::Point;

/// The shares of the points the contour lines enclose, densest region first.
pub const ENCLOSED_SHARES: [f64; 3] = [0.5, 0.8, 0.95];

/// A density estimate on a square grid of cells over −`extent`…`extent` on both axes.
#[derive(Clone, Debug)]
pub struct DensityGrid {
    /// Cells per side.
    cells: usize,
    /// The half-width of the plane covered.
    extent: f32,
    /// The density at each cell's centre (points per unit area ÷ points), row by row from the
    /// bottom.
    values: Vec<f64>,
}

/// One contour line: the share of the points it encloses, and its pieces as polylines.
#[derive(Clone, Debug, PartialEq)]
pub struct ContourLine {
    /// The share of the points in the region where the density is above the line's level.
    pub share: f64,
    /// Its pieces (a closed piece repeats its first point last).
    pub pieces: Vec<Vec<Point>>,
}

impl DensityGrid {
    /// The density of `points` on `cells`² cells over ±`extent`, smoothed by a Gaussian kernel
    /// of standard deviation `bandwidth`; points outside the plane are not counted.
    pub fn estimate(points: &[Point], extent: f32, cells: usize, bandwidth: f32) -> Self {
        let cells = cells.max(2);
        let cell = 2.0 * extent / cells as f32;
        let mut counts = vec![0.0; cells * cells];
        for p in points {
            let index = |v: f32| ((v + extent) / cell).floor();
            let (column, row) = (index(p[0]), index(p[1]));
            let inside = |k: f32| k >= 0.0 && k < cells as f32;
            if inside(column) && inside(row) {
                counts[row as usize * cells + column as usize] += 1.0;
            }
        }
        let kernel = gaussian_kernel(f64::from(bandwidth / cell));
        let smoothed = blur_rows(&blur_columns(&counts, cells, &kernel), cells, &kernel);
        let area = f64::from(cell * cell) * points.len().max(1) as f64;
        Self {
            cells,
            extent,
            values: smoothed.into_iter().map(|v| v / area).collect(),
        }
    }

    /// The density at each cell's centre, row by row from the bottom.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The area of one cell.
    pub fn cell_area(&self) -> f64 {
        let cell = f64::from(2.0 * self.extent / self.cells as f32);
        cell * cell
    }

    /// The density level above which `share` of the estimate's mass lies (the region a
    /// contour at that level encloses).
    pub fn level_enclosing(&self, share: f64) -> f64 {
        let mut sorted = self.values.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        let total: f64 = sorted.iter().sum();
        let mut running = 0.0;
        for &value in &sorted {
            running += value;
            if running >= share * total {
                return value;
            }
        }
        0.0
    }

    /// The contour lines enclosing each of [`ENCLOSED_SHARES`] of the mass (none where the
    /// estimate is empty).
    pub fn contour_lines(&self) -> Vec<ContourLine> {
        if self.values.iter().all(|&v| v <= 0.0) {
            return Vec::new();
        }
        let cell = f64::from(2.0 * self.extent / self.cells as f32);
        let centre = -f64::from(self.extent) + cell / 2.0;
        let builder = ContourBuilder::new(self.cells, self.cells, true)
            .x_origin(centre)
            .y_origin(centre)
            .x_step(cell)
            .y_step(cell);
        ENCLOSED_SHARES
            .iter()
            .filter_map(|&share| {
                let level = self.level_enclosing(share);
                let lines = builder.lines(&self.values, &[level]).ok()?;
                let pieces = lines
                    .iter()
                    .flat_map(|line| line.geometry().0.iter())
                    .map(|piece| {
                        piece
                            .0
                            .iter()
                            .map(|c| [c.x as f32, c.y as f32])
                            .collect::<Vec<Point>>()
                    })
                    .filter(|piece| piece.len() > 1)
                    .collect();
                Some(ContourLine { share, pieces })
            })
            .collect()
    }
}

/// A normalised Gaussian of standard deviation `sigma` cells, out to three of them.
fn gaussian_kernel(sigma: f64) -> Vec<f64> {
    let sigma = sigma.max(0.3);
    let radius = (3.0 * sigma).ceil() as i64;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|k| (-0.5 * (k as f64 / sigma).powi(2)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// `values` (`side`² of them, row by row) convolved with `kernel` along each row; what falls
/// off the edge is lost.
fn blur_rows(values: &[f64], side: usize, kernel: &[f64]) -> Vec<f64> {
    let radius = (kernel.len() / 2) as i64;
    let mut out = vec![0.0; values.len()];
    for row in 0..side {
        for column in 0..side {
            let value = values[row * side + column];
            if value == 0.0 {
                continue;
            }
            for (k, weight) in kernel.iter().enumerate() {
                let to = column as i64 + k as i64 - radius;
                if (0..side as i64).contains(&to) {
                    out[row * side + to as usize] += value * weight;
                }
            }
        }
    }
    out
}

/// The same along each column.
fn blur_columns(values: &[f64], side: usize, kernel: &[f64]) -> Vec<f64> {
    transpose(&blur_rows(&transpose(values, side), side, kernel), side)
}

fn transpose(values: &[f64], side: usize) -> Vec<f64> {
    (0..side * side)
        .map(|i| values[(i % side) * side + i / side])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::noise::{NoiseStream, standard_normal};
    use crate::toy::data::unflatten;

    fn gaussian_points(count: usize) -> Vec<Point> {
        unflatten(&standard_normal(2 * count, 5, NoiseStream::Jump))
    }

    #[test]
    fn the_estimate_holds_all_the_points_inside_the_plane() {
        let grid = DensityGrid::estimate(&gaussian_points(20_000), 4.0, 80, 0.2);
        let mass: f64 = grid.values().iter().sum::<f64>() * grid.cell_area();
        // Measured 0.99978: all but the normal's mass beyond ±4 and the kernel's spill past the edge.
        assert!((mass - 1.0).abs() < 2e-3, "mass {mass}");
    }

    #[test]
    fn a_gaussians_contours_are_circles_of_the_right_radius() {
        let grid = DensityGrid::estimate(&gaussian_points(20_000), 4.0, 80, 0.2);
        let lines = grid.contour_lines();
        assert_eq!(lines.len(), ENCLOSED_SHARES.len());
        for line in &lines {
            // A 2-D normal of variance 1 + h² (the kernel widens it) holds `share` of its mass
            // within r = √(−2 (1 + h²) ln(1 − share)).
            let expected = (-2.0 * 1.04 * (1.0 - line.share).ln()).sqrt();
            let radii: Vec<f64> = line
                .pieces
                .iter()
                .flatten()
                .map(|p| f64::from(p[0].hypot(p[1])))
                .collect();
            let mean = radii.iter().sum::<f64>() / radii.len() as f64;
            // Measured within 0.009 of the formula on these 20,000 points.
            assert!(
                (mean - expected).abs() < 0.1,
                "share {}: radius {mean}, expected {expected}",
                line.share
            );
            assert!(radii.iter().all(|r| (r - expected).abs() < 0.4));
        }
    }

    #[test]
    fn no_points_no_lines() {
        let grid = DensityGrid::estimate(&[], 4.0, 40, 0.2);
        assert!(grid.contour_lines().is_empty());
        let far = DensityGrid::estimate(&[[50.0, 50.0]], 4.0, 40, 0.2);
        assert!(far.contour_lines().is_empty());
    }
}

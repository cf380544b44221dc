//! How close samples are to the data: the sliced Wasserstein distance, the kernel MMD, and, for a
//! mixture with separate modes, the share of samples at each mode.

use super::data::Point;

/// Directions the sliced Wasserstein distance projects onto, evenly spread over a half turn.
const SLICES: usize = 64;

/// The sliced Wasserstein-1 distance: the mean, over [`SLICES`] directions, of the 1-D Wasserstein
/// distance between the two sets projected onto the direction (quantiles compared at the
/// midpoints of 256 equal slices of probability, so the sets may differ in size). 0 for equal
/// sets; for two sets shifted by d along x it is d·(2/π) on average over directions.
pub fn sliced_wasserstein(a: &[Point], b: &[Point]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return f64::NAN;
    }
    let total: f64 = (0..SLICES)
        .map(|k| {
            let angle = std::f64::consts::PI * k as f64 / SLICES as f64;
            let (c, s) = (angle.cos(), angle.sin());
            let project = |points: &[Point]| -> Vec<f64> {
                let mut values: Vec<f64> = points
                    .iter()
                    .map(|p| c * f64::from(p[0]) + s * f64::from(p[1]))
                    .collect();
                values.sort_by(f64::total_cmp);
                values
            };
            let (pa, pb) = (project(a), project(b));
            const LEVELS: usize = 256;
            (0..LEVELS)
                .map(|q| {
                    let level = (q as f64 + 0.5) / LEVELS as f64;
                    (quantile(&pa, level) - quantile(&pb, level)).abs()
                })
                .sum::<f64>()
                / LEVELS as f64
        })
        .sum();
    total / SLICES as f64
}

/// The `level` quantile of sorted values (nearest rank).
fn quantile(sorted: &[f64], level: f64) -> f64 {
    let index = ((level * sorted.len() as f64) as usize).min(sorted.len() - 1);
    sorted[index]
}

/// The unbiased MMD² between the two sets with a Gaussian kernel of width `bandwidth`
/// (k(x, y) = exp(−|x − y|²/(2·bandwidth²))). Near 0 when both come from one distribution.
pub fn mmd_squared(a: &[Point], b: &[Point], bandwidth: f64) -> f64 {
    if a.len() < 2 || b.len() < 2 {
        return f64::NAN;
    }
    let gamma = 1.0 / (2.0 * bandwidth * bandwidth);
    let kernel = |p: &Point, q: &Point| {
        let (dx, dy) = (f64::from(p[0] - q[0]), f64::from(p[1] - q[1]));
        (-gamma * (dx * dx + dy * dy)).exp()
    };
    let within = |set: &[Point]| {
        let mut sum = 0.0;
        for (i, p) in set.iter().enumerate() {
            for q in &set[i + 1..] {
                sum += kernel(p, q);
            }
        }
        2.0 * sum / (set.len() * (set.len() - 1)) as f64
    };
    let across: f64 = a
        .iter()
        .map(|p| b.iter().map(|q| kernel(p, q)).sum::<f64>())
        .sum();
    within(a) + within(b) - 2.0 * across / (a.len() * b.len()) as f64
}

/// How straight the first `count` paths are: the mean, over paths, of the length travelled
/// divided by the distance from start to end (1 for a straight line). `paths` holds every step
/// of all points (step after step, as the samplers give them).
pub fn straightness(paths: &[Vec<Point>], count: usize) -> f64 {
    let points = count.min(paths.first().map_or(0, Vec::len));
    let ratios: Vec<f64> = (0..points)
        .filter_map(|k| {
            let length: f64 = paths
                .windows(2)
                .map(|pair| distance(pair[0][k], pair[1][k]))
                .sum();
            let ends = distance(paths.first()?[k], paths.last()?[k]);
            (ends > 1e-6).then(|| length / ends)
        })
        .collect();
    ratios.iter().sum::<f64>() / ratios.len().max(1) as f64
}

fn distance(a: Point, b: Point) -> f64 {
    f64::from(a[0] - b[0]).hypot(f64::from(a[1] - b[1]))
}

/// Where samples fell among the modes of a mixture.
#[derive(Clone, Debug, PartialEq)]
pub struct ModeCoverage {
    /// The share of samples within `radius` of each mode, mode by mode.
    pub shares: Vec<f64>,
    /// The share of samples near no mode.
    pub between: f64,
    /// Modes holding at least a quarter of their fair share (1 / modes).
    pub covered: usize,
}

/// The share of `samples` within `radius` of each of `modes` (a sample counts for its nearest).
pub fn mode_coverage(samples: &[Point], modes: &[Point], radius: f32) -> ModeCoverage {
    let mut counts = vec![0usize; modes.len()];
    let mut between = 0usize;
    for p in samples {
        let nearest = modes
            .iter()
            .map(|m| (p[0] - m[0]).hypot(p[1] - m[1]))
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match nearest {
            Some((index, distance)) if distance <= radius => counts[index] += 1,
            _ => between += 1,
        }
    }
    let n = samples.len().max(1) as f64;
    let shares: Vec<f64> = counts.iter().map(|&c| c as f64 / n).collect();
    let fair = 1.0 / modes.len().max(1) as f64;
    ModeCoverage {
        covered: shares.iter().filter(|&&s| s >= fair / 4.0).count(),
        shares,
        between: between as f64 / n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::data::Shape;

    #[test]
    fn distances_are_small_within_a_distribution_and_grow_with_a_shift() {
        // Two draws of 4000 differ by about 0.05 (measured 0.042–0.056: the share of points in
        // each moon fluctuates by a few per cent).
        let a = Shape::TwoMoons.points(4000, 1);
        let b = Shape::TwoMoons.points(4000, 2);
        let shifted: Vec<Point> = b.iter().map(|p| [p[0] + 1.0, p[1]]).collect();
        let same = sliced_wasserstein(&a, &b);
        let apart = sliced_wasserstein(&a, &shifted);
        assert!(same < 0.1, "{same}");
        // A shift d along x moves each projection by d·|cos θ|, 2/π on average.
        assert!((apart - 2.0 / std::f64::consts::PI).abs() < 0.1, "{apart}");
        let (a, b, shifted) = (&a[..1000], &b[..1000], &shifted[..1000]);
        assert!(
            mmd_squared(a, b, 0.5).abs() < 0.005,
            "{}",
            mmd_squared(a, b, 0.5)
        );
        assert!(
            mmd_squared(a, shifted, 0.5) > 0.05,
            "{}",
            mmd_squared(a, shifted, 0.5)
        );
    }

    #[test]
    fn a_straight_path_scores_one_and_a_detour_more() {
        let straight = vec![vec![[0.0, 0.0]], vec![[1.0, 0.0]], vec![[2.0, 0.0]]];
        assert!((straightness(&straight, 10) - 1.0).abs() < 1e-12);
        // Up 1, right 2, down 1: length 4 for a distance of 2.
        let detour = vec![
            vec![[0.0, 0.0]],
            vec![[0.0, 1.0]],
            vec![[2.0, 1.0]],
            vec![[2.0, 0.0]],
        ];
        assert!((straightness(&detour, 1) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn coverage_counts_modes_and_misses() {
        let modes = Shape::EightGaussians.modes();
        let all = Shape::EightGaussians.points(4000, 3);
        let full = mode_coverage(&all, &modes, 0.5);
        assert_eq!(full.covered, 8);
        assert!(full.shares.iter().all(|s| (s - 0.125).abs() < 0.03));
        assert!(full.between < 0.001);
        let two: Vec<Point> = all.iter().copied().filter(|p| p[0] > 1.75).collect();
        assert_eq!(mode_coverage(&two, &modes, 0.5).covered, 1);
        let origin = mode_coverage(&[[0.0, 0.0]], &modes, 0.5);
        assert_eq!((origin.covered, origin.between), (0, 1.0));
    }
}

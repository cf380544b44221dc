//! Precision and recall of a generative model (Kynkäänniemi et al. 2019): each set of features is
//! a "manifold", the union of balls around its points, each reaching the point's k-th nearest
//! neighbour in the same set.
//! - **Precision**: the share of generated samples inside the real manifold. Low precision means
//!   samples unlike any real digit.
//! - **Recall**: the share of real digits inside the generated manifold. Low recall means kinds of
//!   digits (a style, a class) the model never makes.
//!
//! FID mixes the two into one number; these separate them.

use rayon::prelude::*;

use super::Features;

/// The neighbour whose distance sets a ball's radius: k = 3, as in the paper.
pub const NEIGHBOUR: usize = 3;

/// A feature set and the squared radius of each point's ball.
#[derive(Clone, Debug)]
pub struct Manifold {
    points: Features,
    radii_squared: Vec<f64>,
}

impl Manifold {
    /// The manifold of `points` with balls reaching the k-th nearest other point, or `None` with
    /// no more than k points.
    pub fn new(points: Features, k: usize) -> Option<Self> {
        let n = points.count();
        if k == 0 || n <= k {
            return None;
        }
        let radii_squared = (0..n)
            .into_par_iter()
            .map(|i| {
                let row = points.row(i);
                let mut distances: Vec<f64> = (0..n)
                    .filter(|&j| j != i)
                    .map(|j| squared_distance(row, points.row(j)))
                    .collect();
                let (_, kth, _) = distances.select_nth_unstable_by(k - 1, f64::total_cmp);
                *kth
            })
            .collect();
        Some(Self {
            points,
            radii_squared,
        })
    }

    /// Whether `x` lies in some point's ball.
    pub fn contains(&self, x: &[f32]) -> bool {
        self.points
            .rows()
            .zip(&self.radii_squared)
            .any(|(point, &r2)| squared_distance(x, point) <= r2)
    }

    /// The share of `others`' rows inside this manifold (0 for none).
    pub fn coverage_of(&self, others: &Features) -> f64 {
        let rows: Vec<&[f32]> = others.rows().collect();
        if rows.is_empty() {
            return 0.0;
        }
        let inside = rows.par_iter().filter(|row| self.contains(row)).count();
        inside as f64 / rows.len() as f64
    }

    /// The points.
    pub fn points(&self) -> &Features {
        &self.points
    }
}

/// Precision (generated inside real) and recall (real inside generated).
pub fn precision_recall(real: &Manifold, generated: &Manifold) -> (f64, f64) {
    (
        real.coverage_of(generated.points()),
        generated.coverage_of(real.points()),
    )
}

/// ‖a − b‖² in f64.
fn squared_distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| {
            let d = f64::from(x) - f64::from(y);
            d * d
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(values: &[f32]) -> Features {
        Features::new(1, values.to_vec()).unwrap()
    }

    #[test]
    fn radii_reach_the_kth_neighbour() {
        let m = Manifold::new(line(&[0.0, 1.0, 3.0, 7.0]), 2).unwrap();
        // Point 0: others at 1, 3, 7 → 2nd nearest 3; point 7: 4, 6, 7 → 6.
        assert_eq!(m.radii_squared, vec![9.0, 4.0, 9.0, 36.0]);
        assert!(m.contains(&[-3.0]) && !m.contains(&[-3.5]));
        assert!(Manifold::new(line(&[0.0, 1.0]), 2).is_none());
    }

    #[test]
    fn separates_missing_modes_from_strange_samples() {
        // Real: two clusters. Generated: only the first cluster, plus far-away junk.
        let real = line(&[0.0, 0.1, 0.2, 0.3, 10.0, 10.1, 10.2, 10.3]);
        let generated = line(&[0.05, 0.15, 0.25, 0.35, 50.0, 50.1, 50.2, 50.3]);
        let (real, generated) = (
            Manifold::new(real, NEIGHBOUR).unwrap(),
            Manifold::new(generated, NEIGHBOUR).unwrap(),
        );
        let (precision, recall) = precision_recall(&real, &generated);
        assert!((precision - 0.5).abs() < 1e-12, "{precision}");
        // The junk's balls reach nothing real; the first real cluster is covered.
        assert!((recall - 0.5).abs() < 1e-12, "{recall}");
    }
}

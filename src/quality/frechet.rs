//! FID: the Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017),
//! ```text
//! d² = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)
//! ```
//! with Σ the unbiased covariance (as `numpy.cov` and the common PyTorch FID compute it). The
//! product Σ₁Σ₂ is not symmetric, but it has the eigenvalues of the symmetric positive
//! semi-definite S Σ₂ S, S = Σ₁^½, so tr (Σ₁Σ₂)^½ = Σᵢ √λᵢ(S Σ₂ S), with both square roots from
//! symmetric eigendecompositions (nalgebra's `SymmetricEigen`) instead of a general `sqrtm`:
//! real by construction, no complex parts to drop.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

use super::Features;

/// The mean and covariance of a feature set.
#[derive(Clone, Debug)]
pub struct GaussianStats {
    /// Mean of each feature.
    pub mean: DVector<f64>,
    /// Unbiased covariance (divided by n − 1).
    pub covariance: DMatrix<f64>,
}

impl GaussianStats {
    /// The statistics of `features`, or `None` with fewer than two rows.
    pub fn of(features: &Features) -> Option<Self> {
        let (n, d) = (features.count(), features.width());
        if n < 2 {
            return None;
        }
        let data = DMatrix::from_fn(n, d, |i, j| f64::from(features.row(i)[j]));
        let mean = DVector::from_fn(d, |j, _| data.column(j).sum() / n as f64);
        let centred = DMatrix::from_fn(n, d, |i, j| data[(i, j)] - mean[j]);
        let covariance = centred.transpose() * &centred / (n - 1) as f64;
        Some(Self { mean, covariance })
    }
}

/// The Fréchet distance d² between the Gaussians `a` and `b` (of the same width).
pub fn frechet_distance(a: &GaussianStats, b: &GaussianStats) -> f64 {
    let mean_term = (&a.mean - &b.mean).norm_squared();
    let root_a = psd_square_root(&a.covariance);
    let middle = &root_a * &b.covariance * &root_a;
    let cross: f64 = symmetric_eigenvalues(&middle)
        .iter()
        .map(|&lambda| lambda.max(0.0).sqrt())
        .sum();
    mean_term + a.covariance.trace() + b.covariance.trace() - 2.0 * cross
}

/// The eigenvalues of a symmetric matrix (symmetrised first against rounding).
fn symmetric_eigenvalues(m: &DMatrix<f64>) -> DVector<f64> {
    let symmetric = (m + m.transpose()) * 0.5;
    SymmetricEigen::new(symmetric).eigenvalues
}

/// The square root of a symmetric positive semi-definite matrix (eigenvalues below 0, from
/// rounding, taken as 0).
fn psd_square_root(m: &DMatrix<f64>) -> DMatrix<f64> {
    let symmetric = (m + m.transpose()) * 0.5;
    let SymmetricEigen {
        eigenvectors,
        eigenvalues,
    } = SymmetricEigen::new(symmetric);
    let roots = DMatrix::from_diagonal(&eigenvalues.map(|lambda| lambda.max(0.0).sqrt()));
    &eigenvectors * roots * eigenvectors.transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(mean: &[f64], covariance: DMatrix<f64>) -> GaussianStats {
        GaussianStats {
            mean: DVector::from_column_slice(mean),
            covariance,
        }
    }

    #[test]
    fn is_the_closed_form_for_diagonal_gaussians() {
        // Diagonal covariances commute: d² = ‖Δμ‖² + Σ (√a − √b)².
        let a = stats(
            &[0.0, 1.0, 2.0],
            DMatrix::from_diagonal(&DVector::from_vec(vec![1.0, 4.0, 9.0])),
        );
        let b = stats(
            &[1.0, 1.0, 0.0],
            DMatrix::from_diagonal(&DVector::from_vec(vec![4.0, 1.0, 9.0])),
        );
        let expected = (1.0 + 0.0 + 4.0) + (1.0 + 1.0 + 0.0);
        assert!((frechet_distance(&a, &b) - expected).abs() < 1e-12);
        assert!(frechet_distance(&a, &a).abs() < 1e-12);
    }

    #[test]
    fn is_the_closed_form_for_a_rotated_gaussian() {
        // Σ₂ = R Σ₁ Rᵀ has the same eigenvalues; for 2×2 the cross term has a closed form:
        // tr (Σ₁Σ₂)^½ = √(tr(Σ₁Σ₂) + 2 √det(Σ₁Σ₂)).
        let s1 = DMatrix::from_row_slice(2, 2, &[3.0, 0.0, 0.0, 1.0]);
        let (c, s) = (0.6f64, 0.8f64);
        let r = DMatrix::from_row_slice(2, 2, &[c, -s, s, c]);
        let s2 = &r * &s1 * r.transpose();
        let product = &s1 * &s2;
        let cross = (product.trace() + 2.0 * product.determinant().sqrt()).sqrt();
        let expected = s1.trace() + s2.trace() - 2.0 * cross;
        let d = frechet_distance(&stats(&[0.0, 0.0], s1), &stats(&[0.0, 0.0], s2));
        assert!((d - expected).abs() < 1e-12, "{d} vs {expected}");
    }

    #[test]
    fn statistics_are_the_unbiased_mean_and_covariance() {
        let features = Features::new(2, vec![1.0, 2.0, 3.0, 6.0, 5.0, 4.0]).unwrap();
        let s = GaussianStats::of(&features).unwrap();
        assert_eq!(s.mean.as_slice(), &[3.0, 4.0]);
        // Deviations (−2, −2), (0, 2), (2, 0): Σ = [[8, 4], [4, 8]] / 2.
        assert_eq!(s.covariance.as_slice(), &[4.0, 2.0, 2.0, 4.0]);
        assert!(GaussianStats::of(&features.first(1)).is_none());
    }
}

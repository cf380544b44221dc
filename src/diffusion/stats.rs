//! Summaries of a tensor's values that the views plot: a fixed-range histogram and the standard
//! deviation of the noise part x_t − √ᾱ_t·x0.

/// Counts of values in equal bins over `[min, max)`; values outside fall in the first or last bin.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    /// Left edge of the first bin.
    pub min: f32,
    /// Right edge of the last bin.
    pub max: f32,
    /// One count per bin.
    pub counts: Vec<u32>,
}

impl Histogram {
    /// Range shown for pixel values: wide enough for N(0, 1) tails and the clean range [-1, 1].
    pub const PIXEL_RANGE: (f32, f32) = (-4.0, 4.0);

    /// Bins `values` into `bins` bins over `[min, max)`.
    pub fn of(values: &[f32], min: f32, max: f32, bins: usize) -> Self {
        let bins = bins.max(1);
        let mut counts = vec![0u32; bins];
        let scale = bins as f32 / (max - min);
        let last = bins - 1;
        for &v in values {
            // NaN maps to bin 0 through the saturating cast; it never appears in our data.
            let bin = (((v - min) * scale).max(0.0) as usize).min(last);
            counts[bin] += 1;
        }
        Self { min, max, counts }
    }

    /// Bins pixel values over [`Self::PIXEL_RANGE`] with 64 bins.
    pub fn of_pixels(values: &[f32]) -> Self {
        let (min, max) = Self::PIXEL_RANGE;
        Self::of(values, min, max, 64)
    }

    /// The range the bins cover, as f64 for plotting.
    pub fn range(&self) -> (f64, f64) {
        (f64::from(self.min), f64::from(self.max))
    }

    /// Width of one bin.
    pub fn bin_width(&self) -> f32 {
        (self.max - self.min) / self.counts.len() as f32
    }

    /// Centre of each bin and its probability density (count / (total × bin width)).
    pub fn densities(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        let total: f64 = self
            .counts
            .iter()
            .map(|&c| f64::from(c))
            .sum::<f64>()
            .max(1.0);
        let width = f64::from(self.bin_width());
        self.counts.iter().enumerate().map(move |(i, &count)| {
            let centre = f64::from(self.min) + (i as f64 + 0.5) * width;
            (centre, f64::from(count) / (total * width))
        })
    }
}

/// Standard deviation of `x_t − signal_scale·x0`: the noise actually present in x_t.
pub fn noise_part_std(x_t: &[f32], x0: &[f32], signal_scale: f64) -> f64 {
    let n = x_t.len().max(1) as f64;
    let residual = || {
        x_t.iter()
            .zip(x0)
            .map(move |(&x, &c)| f64::from(x) - signal_scale * f64::from(c))
    };
    let mean = residual().sum::<f64>() / n;
    (residual().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt()
}

/// The standard normal density, drawn over the histogram for comparison.
pub fn standard_normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_counts_and_clamps() {
        let h = Histogram::of(&[-10.0, -0.5, 0.5, 0.6, 10.0], -1.0, 1.0, 2);
        assert_eq!(h.counts, vec![2, 3]);
        let area: f64 = h
            .densities()
            .map(|(_, d)| d * f64::from(h.bin_width()))
            .sum();
        assert!((area - 1.0).abs() < 1e-9);
    }

    #[test]
    fn noise_std_of_pure_signal_is_zero() {
        let x0 = [0.2_f32, -0.4, 0.9];
        let x_t: Vec<f32> = x0.iter().map(|v| v * 0.5).collect();
        assert!(noise_part_std(&x_t, &x0, 0.5) < 1e-7);
    }
}

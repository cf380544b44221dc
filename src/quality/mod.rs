//! The evaluation lab's measures: how close a set of generated digits is to the real ones, and
//! whether they are the digits that were asked for.
//!
//! Every measure works on *features*: the shipped digit classifier's penultimate layer (128 values
//! per image, [`features`]), the stand-in for the Inception network that FID and KID use on
//! photographs. Code map:
//! - [`frechet`]: FID, the Fréchet distance between the Gaussians fitted to two feature sets;
//! - [`kid`]: KID, the unbiased squared MMD with the cubic polynomial kernel;
//! - [`manifold`]: precision and recall on k-nearest-neighbour balls (Kynkäänniemi et al. 2019);
//! - [`classes`]: the digit the classifier reads in each sample: agreement with the requested
//!   digit (our CLIPScore: does the picture match the prompt?), class shares and their entropy;
//! - [`background`]: clean backgrounds, the share of lit pixels in a ring along each digit's edge;
//! - [`report`]: the real digits as a [`report::Reference`] (computed once), and one
//!   [`report::QualityReport`] per set of samples, the real-vs-real floor beside it;
//! - [`lab`]: one point of a quality-against-steps chart, made and measured;
//! - [`session`]: many points of one model, as the window's evaluation job runs them.
//!
//! Everything but [`features`] sees plain numbers (no candle), so it is tested on known
//! distributions and against numpy/scipy golden values (`tests/golden/make_quality.py`).

pub mod background;
pub mod classes;
pub mod features;
pub mod frechet;
pub mod kid;
pub mod lab;
pub mod manifold;
pub mod report;
pub mod session;

/// A set of feature vectors: `count` rows of `width` values, one row per image.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    width: usize,
    values: Vec<f32>,
}

impl Features {
    /// Rows of `width` values from `values` (its length a multiple of `width`), or `None`.
    pub fn new(width: usize, values: Vec<f32>) -> Option<Self> {
        (width > 0 && values.len().is_multiple_of(width)).then_some(Self { width, values })
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Number of rows.
    pub fn count(&self) -> usize {
        self.values.len() / self.width
    }

    /// Row `index`.
    pub fn row(&self, index: usize) -> &[f32] {
        &self.values[index * self.width..][..self.width]
    }

    /// The rows, in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.values.chunks_exact(self.width)
    }

    /// The first `count` rows (all of them when there are fewer).
    pub fn first(&self, count: usize) -> Self {
        let count = count.min(self.count());
        Self {
            width: self.width,
            values: self.values[..count * self.width].to_vec(),
        }
    }

    /// Every value multiplied by `factor`.
    pub fn scaled(&self, factor: f32) -> Self {
        Self {
            width: self.width,
            values: self.values.iter().map(|v| v * factor).collect(),
        }
    }

    /// Rows `start..` (none when there are fewer).
    pub fn from_row(&self, start: usize) -> Self {
        let start = start.min(self.count());
        Self {
            width: self.width,
            values: self.values[start * self.width..].to_vec(),
        }
    }
}

/// The dot product of two rows, in f64.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

//! A set of samples measured against the real digits, and the real-vs-real floor beside it.
//!
//! The bundled digits are cut in two halves. The first is the [`Reference`]: its Gaussian (FID),
//! its own KID term and its manifold (precision, recall) are computed once. Samples are measured
//! against it; so are as many digits of the second half, which gives the floor: what the same
//! measures say about *real* digits of the same number. FID in particular is biased upwards on
//! few samples, so a figure means something only beside its floor.

use super::Features;
use super::background::mean_share;
use super::classes::ClassReading;
use super::features::Reading;
use super::frechet::{GaussianStats, frechet_distance};
use super::kid::{mmd2_with, within_term};
use super::manifold::{Manifold, NEIGHBOUR, precision_recall};
use crate::model::classifier::DIGIT_CLASSES;

/// What one set of samples measures.
#[derive(Clone, Debug, PartialEq)]
pub struct QualityReport {
    /// Number of samples measured.
    pub count: usize,
    /// Fréchet distance to the reference's Gaussian.
    pub fid: f64,
    /// Kernel distance (unbiased squared MMD) to the reference, on features scaled to a root mean
    /// square of 1 over the reference.
    pub kid: f64,
    /// Share of samples inside the real manifold.
    pub precision: f64,
    /// Share of real digits inside the samples' manifold.
    pub recall: f64,
    /// Agreement with the asked digits, class shares.
    pub classes: ClassReading,
    /// For samples drawn without a class: the largest gap between a digit's share among them
    /// and among the reference's labels (`None` when any sample was asked for a digit).
    pub share_gap: Option<f64>,
    /// The mean share of each sample's border ring that is lit ([`super::background`]).
    pub border_share: f64,
}

/// The real digits every set of samples is measured against.
#[derive(Clone, Debug)]
pub struct Reference {
    stats: GaussianStats,
    /// 1 / the reference features' root mean square: KID's kernel (x·y/d + 1)³ assumes features
    /// of about unit size (as Inception's are), the classifier's are far larger, and the cubic
    /// term of large dot products made KID mostly noise (a floor of −26 against 11 for samples).
    kid_scale: f32,
    /// The reference's features so scaled, and their own KID term, both made once.
    kid_features: Features,
    kid_within: f64,
    manifold: Manifold,
    shares: [f64; DIGIT_CLASSES],
    held_out: Reading,
    held_out_labels: Vec<u32>,
}

impl Reference {
    /// The reference made of the first half of `real` (labelled `labels`), keeping the second
    /// half for the floor; `None` with too few digits to measure (fewer than 2·(k + 1)).
    pub fn new(real: &Reading, labels: &[u32]) -> Option<Self> {
        let half = real.digits.len().min(labels.len()) / 2;
        if half <= NEIGHBOUR {
            return None;
        }
        let first = real.first(half);
        let mut shares = [0.0; DIGIT_CLASSES];
        for &label in &labels[..half] {
            if let Some(share) = shares.get_mut(label as usize) {
                *share += 1.0 / half as f64;
            }
        }
        let kid_scale = 1.0 / root_mean_square(&first.features)?;
        let kid_features = first.features.scaled(kid_scale);
        Some(Self {
            stats: GaussianStats::of(&first.features)?,
            kid_scale,
            kid_within: within_term(&kid_features)?,
            kid_features,
            manifold: Manifold::new(first.features, NEIGHBOUR)?,
            shares,
            held_out: real.from_image(half).first(half),
            held_out_labels: labels[half..2 * half].to_vec(),
        })
    }

    /// How many reference digits there are.
    pub fn size(&self) -> usize {
        self.manifold.points().count()
    }

    /// Measures `samples`, asked to be `asked` (one entry per sample); `None` with no more than k
    /// samples.
    pub fn measure(&self, samples: &Reading, asked: &[Option<u32>]) -> Option<QualityReport> {
        let count = samples.digits.len();
        let stats = GaussianStats::of(&samples.features)?;
        let manifold = Manifold::new(samples.features.clone(), NEIGHBOUR)?;
        let (precision, recall) = precision_recall(&self.manifold, &manifold);
        let classes = ClassReading::new(&samples.digits, asked);
        let unguided = asked.iter().all(Option::is_none);
        Some(QualityReport {
            count,
            fid: frechet_distance(&stats, &self.stats),
            kid: mmd2_with(
                &samples.features.scaled(self.kid_scale),
                &self.kid_features,
                self.kid_within,
            )?,
            precision,
            recall,
            share_gap: unguided.then(|| classes.largest_share_gap(&self.shares)),
            classes,
            border_share: mean_share(&samples.ring_shares),
        })
    }

    /// The floor: `count` held-out real digits (at most half the set), measured as samples asked
    /// to be their own labels; their share gap is that of the digits the classifier reads in
    /// them, as for unguided samples.
    pub fn floor(&self, count: usize) -> Option<QualityReport> {
        let real = self.held_out.first(count);
        let asked: Vec<Option<u32>> = self.held_out_labels[..real.digits.len()]
            .iter()
            .map(|&label| Some(label))
            .collect();
        let mut report = self.measure(&real, &asked)?;
        report.share_gap = Some(report.classes.largest_share_gap(&self.shares));
        Some(report)
    }
}

/// The root mean square of all values of `features` (`None` when it is 0 or not finite).
fn root_mean_square(features: &Features) -> Option<f32> {
    let values = features.rows().flatten();
    let count = features.count() * features.width();
    let mean_square =
        values.map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / count.max(1) as f64;
    let rms = mean_square.sqrt() as f32;
    (rms.is_finite() && rms > 0.0).then_some(rms)
}

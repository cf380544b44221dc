//! The classifier's reading of a set of 28×28 images: its penultimate layer (the features every
//! measure works on) and the digit it sees, from one pass per batch; beside it, each image's lit
//! border ring ([`super::background`]), read from the pixels themselves.

use candle_core::{D, Device, Tensor};

use super::Features;
use super::background::ring_share;
use crate::model::DigitClassifier;
use crate::model::classifier::FEATURE_WIDTH;
use crate::sample::network::DIGIT_SIDE;

/// Images per classifier pass (a few MB of activations).
const BATCH: usize = 256;

/// Features and read digits of a set of images.
#[derive(Clone, Debug)]
pub struct Reading {
    /// One row of [`FEATURE_WIDTH`] values per image.
    pub features: Features,
    /// The digit the classifier reads in each image.
    pub digits: Vec<u32>,
    /// The share of each image's border ring that is lit.
    pub ring_shares: Vec<f32>,
}

impl Reading {
    /// The first `count` images' reading.
    pub fn first(&self, count: usize) -> Self {
        Self {
            features: self.features.first(count),
            digits: self.digits[..count.min(self.digits.len())].to_vec(),
            ring_shares: self.ring_shares[..count.min(self.ring_shares.len())].to_vec(),
        }
    }

    /// The reading of images `start..`.
    pub fn from_image(&self, start: usize) -> Self {
        Self {
            features: self.features.from_row(start),
            digits: self.digits[start.min(self.digits.len())..].to_vec(),
            ring_shares: self.ring_shares[start.min(self.ring_shares.len())..].to_vec(),
        }
    }
}

/// Reads `images` (28×28 values each, in [−1, 1]) with `classifier` on `device`.
pub fn read_images(
    classifier: &DigitClassifier,
    device: &Device,
    images: &[f32],
) -> candle_core::Result<Reading> {
    let pixels = DIGIT_SIDE * DIGIT_SIDE;
    let mut features = Vec::with_capacity(images.len() / pixels * FEATURE_WIDTH);
    let mut digits = Vec::with_capacity(images.len() / pixels);
    for batch in images.chunks(BATCH * pixels) {
        let count = batch.len() / pixels;
        let x = Tensor::from_slice(
            &batch[..count * pixels],
            (count, 1, DIGIT_SIDE, DIGIT_SIDE),
            device,
        )?;
        let (f, logits) = classifier.features_and_logits(&x)?;
        features.extend(f.flatten_all()?.to_vec1::<f32>()?);
        digits.extend(logits.argmax(D::Minus1)?.to_vec1::<u32>()?);
    }
    let features = Features::new(FEATURE_WIDTH, features)
        .ok_or_else(|| candle_core::Error::Msg("classifier features of an odd width".into()))?;
    let ring_shares = images.chunks_exact(pixels).map(ring_share).collect();
    Ok(Reading {
        features,
        digits,
        ring_shares,
    })
}

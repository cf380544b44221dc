//! `DigitClassifier`: the small CNN that judges generated digits (the Evaluate view's "which digit
//! is this?"), the twin of `DigitClassifier` in `training/unet.py`.
//!
//! 28×28 in [−1, 1] → conv 3×3 (32) · ReLU · max-pool 2 → conv 3×3 (64) · ReLU · max-pool 2 →
//! conv 3×3 (64) · ReLU → flatten (64·7·7) → fc 128 · ReLU → fc 10 logits.

use candle_core::{D, DType, Result, Tensor};
use candle_nn::VarBuilder;

use super::layers::{FastConv2d, FastLinear, fast_conv, fast_linear};

/// Number of digit classes the classifier tells apart.
pub const DIGIT_CLASSES: usize = 10;

/// Width of the classifier's penultimate layer, the evaluation lab's features.
pub const FEATURE_WIDTH: usize = 128;

/// The digit classifier.
#[derive(Clone, Debug)]
pub struct DigitClassifier {
    conv1: FastConv2d,
    conv2: FastConv2d,
    conv3: FastConv2d,
    fc1: FastLinear,
    fc2: FastLinear,
}

impl DigitClassifier {
    /// Builds the classifier from tensors named as in the reference (`conv1.weight`, …, `fc2.bias`).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            conv1: fast_conv(1, 32, 3, 1, vb.pp("conv1"))?,
            conv2: fast_conv(32, 64, 3, 1, vb.pp("conv2"))?,
            conv3: fast_conv(64, 64, 3, 1, vb.pp("conv3"))?,
            fc1: fast_linear(64 * 7 * 7, FEATURE_WIDTH, vb.pp("fc1"))?,
            fc2: fast_linear(FEATURE_WIDTH, DIGIT_CLASSES, vb.pp("fc2"))?,
        })
    }

    /// Logits `(B, 10)` for images `(B, 1, 28, 28)` with values in [−1, 1].
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(self.features_and_logits(x)?.1)
    }

    /// The penultimate layer (fc1 after its ReLU: `(B, 128)`) and the logits `(B, 10)` of images
    /// `(B, 1, 28, 28)` or `(B, 28, 28)` in [−1, 1]: the features the evaluation lab measures
    /// distances on, and the digit it reads, from one pass.
    pub fn features_and_logits(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let x = match x.dims() {
            [b, 28, 28] => x.reshape((*b, 1, 28, 28))?,
            [_, 1, 28, 28] => x.clone(),
            other => candle_core::bail!("DigitClassifier expects (B, 1, 28, 28), got {other:?}"),
        };
        let h = self
            .conv1
            .forward(&x.to_dtype(DType::F32)?)?
            .relu()?
            .max_pool2d(2)?;
        let h = self.conv2.forward(&h)?.relu()?.max_pool2d(2)?;
        let h = self.conv3.forward(&h)?.relu()?.flatten_from(1)?;
        let features = self.fc1.forward(&h)?.relu()?;
        let logits = self.fc2.forward(&features)?;
        Ok((features, logits))
    }

    /// The most likely digit for each image of `images` (`(B, 1, 28, 28)` or `(B, 28, 28)`,
    /// values in [−1, 1]).
    pub fn classify(&self, images: &Tensor) -> Result<Vec<u32>> {
        self.forward(images)?.argmax(D::Minus1)?.to_vec1::<u32>()
    }

    /// Class probabilities `(B, 10)` (softmax of the logits).
    pub fn probabilities(&self, images: &Tensor) -> Result<Tensor> {
        candle_nn::ops::softmax_last_dim(&self.forward(images)?)
    }
}

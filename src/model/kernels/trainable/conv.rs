//! A convolution with its bias that candle differentiates through our kernels.
//!
//! Forward: [`PreparedConv`] (the weights packed at every call, as they change at every step),
//! the input optionally upsampled ×2 (nearest) on the fly. Backward (`taps.rs` for the formulas):
//! the bias's gradient is a sum per channel, the weights' one matrix product per tap, and the
//! input's either our forward convolution again (3×3, stride 1, padding 1: ∂L/∂u = conv(∂L/∂y, w′)
//! with w′[c, o, i, j] = w[o, c, 2 − i, 2 − j], padding 1) or a product per sample added back at
//! the positions each tap read (other kernels and strides). For a 3×3 convolution (stride 1,
//! padding 1) of an upsampled input, both gradients are taken at the input's stored size: the
//! weights' phase by phase ([`Taps::weight_gradient_upsampled`]), the input's as a 4×4, stride-2
//! convolution of ∂L/∂y ([`upsampled_transposed`]); for other upsampled convolutions the input's
//! gradient is the sum of each 2×2 block of the upsampled one.

use candle_core::{CpuStorage, CustomOp3, Device, Layout, Result, Shape, Tensor};

use super::super::conv::summed_taps;
use super::super::{PreparedConv, contiguous_f32};
use super::taps::{Taps, upsample_gradient, upsampled};
use super::{tensor_of, values_of, wants_gradient, with_values};

/// The operation; apply it as `x.apply_op3(&weight, &bias, TrainableConv { .. })` with `x`
/// `(B, Cin, H, W)` contiguous, `weight` `(Cout, Cin, k, k)` and `bias` `(Cout,)`, or `(B, Cout)`
/// for a bias per sample (the layer's own plus the timestep embedding, in a residual block:
/// one operation fewer for autograd to record and undo).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainableConv {
    /// The stride, ≥ 1.
    pub stride: usize,
    /// Zeros added on every side.
    pub padding: usize,
    /// Whether the input is upsampled ×2 (nearest) before the convolution.
    pub upsample: bool,
}

impl CustomOp3 for TrainableConv {
    fn name(&self) -> &'static str {
        "diffuscope-trainable-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let weight = tensor_of(contiguous_f32(self.name(), s2, l2)?, l2)?;
        let bias = contiguous_f32(self.name(), s3, l3)?;
        if l3.dims().len() == 2 {
            // A bias per sample: the convolution's own, plus the embedding.
            return PreparedConv::new(&weight, None, self.stride, self.padding)?.forward_storage(
                s1,
                l1,
                self.upsample,
                Some(bias),
            );
        }
        let bias = tensor_of(bias, l3)?;
        PreparedConv::new(&weight, Some(&bias), self.stride, self.padding)?.forward_storage(
            s1,
            l1,
            self.upsample,
            None,
        )
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        bias: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let grad_y = grad_y.detach().contiguous()?;
        let (x_detached, weight_detached) = (x.detach(), weight.detach());
        let (b, c, h, w) = x.dims4()?;
        let up = if self.upsample { 2 } else { 1 };
        let taps = Taps::new(
            &[b, c, up * h, up * w],
            weight.dims(),
            self.stride,
            self.padding,
        )?;
        if grad_y.dims() != taps.output_dims() {
            candle_core::bail!(
                "{}: gradient {:?} for an output of {:?}",
                self.name(),
                grad_y.dims(),
                taps.output_dims()
            );
        }
        with_values(&grad_y, |g| {
            let grad_w = self.weight_gradient(&taps, &x_detached, &weight_detached, g)?;
            let grad_w = Tensor::from_vec(grad_w, weight.shape(), &Device::Cpu)?;
            let per_sample = bias.rank() == 2;
            let grad_b = taps.bias_gradient(g, per_sample);
            let grad_b = Tensor::from_vec(grad_b, bias.shape(), &Device::Cpu)?;
            let grad_x = if wants_gradient(x) {
                Some(self.input_gradient(&taps, &weight_detached, &grad_y, g, x)?)
            } else {
                None
            };
            Ok((grad_x, Some(grad_w), Some(grad_b)))
        })
    }
}

impl TrainableConv {
    /// What the convolution reads: `x`, or `x` upsampled ×2; contiguous.
    fn input_seen(&self, x: &Tensor) -> Result<Tensor> {
        if !self.upsample {
            return x.contiguous();
        }
        let (b, c, h, w) = x.dims4()?;
        let seen = with_values(x, |values| Ok(upsampled(values, b * c, h, w)))?;
        Tensor::from_vec(seen, (b, c, 2 * h, 2 * w), &Device::Cpu)
    }

    /// ∂L/∂w from the output's gradient's values `g`: for a 3×3 convolution of an upsampled input,
    /// one 2×2 phase at a time at the input's stored size ([`Taps::weight_gradient_upsampled`]),
    /// else tap by tap from what the convolution reads.
    fn weight_gradient(
        &self,
        taps: &Taps,
        x: &Tensor,
        weight: &Tensor,
        g: &[f32],
    ) -> Result<Vec<f32>> {
        let (_, _, kh, _) = weight.dims4()?;
        if self.upsample && (kh, self.stride, self.padding) == (3, 1, 1) {
            let stored = Taps::new(x.dims(), weight.dims(), 1, 1)?;
            return with_values(x, |x| stored.weight_gradient_upsampled(x, g));
        }
        let seen = self.input_seen(x)?;
        with_values(&seen, |u| taps.weight_gradient(u, g))
    }

    /// ∂L/∂x from the output's gradient (`grad_y`, and its values `g`).
    fn input_gradient(
        &self,
        taps: &Taps,
        weight: &Tensor,
        grad_y: &Tensor,
        g: &[f32],
        x: &Tensor,
    ) -> Result<Tensor> {
        let (_, _, kh, _) = weight.dims4()?;
        if self.upsample && (kh, self.stride, self.padding) == (3, 1, 1) {
            return PreparedConv::new(&upsampled_transposed(weight)?, None, 2, 1)?
                .forward(grad_y, false, None, None);
        }
        let grad_seen = if (kh, self.stride, self.padding) == (3, 1, 1) {
            PreparedConv::new(&flipped_transposed(weight)?, None, 1, 1)?
                .forward(grad_y, false, None, None)?
        } else {
            let values = taps.input_gradient(&values_of(weight)?, g)?;
            Tensor::from_vec(values, taps.input_dims().to_vec(), &Device::Cpu)?
        };
        if !self.upsample {
            return Ok(grad_seen);
        }
        let (b, c, h, w) = x.dims4()?;
        let grad_x = with_values(&grad_seen, |grad| Ok(upsample_gradient(grad, b * c, h, w)))?;
        Tensor::from_vec(grad_x, x.shape(), &Device::Cpu)
    }
}

/// I(u) for u < 4: the taps i of a 3×3 kernel (rows or columns) through which output row
/// 2r − 1 + u of a convolution of an upsampled input reads stored row r (see
/// [`upsampled_transposed`]).
const REACHING: [&[usize]; 4] = [&[2], &[1, 2], &[0, 1], &[0]];

/// K `(Cin, Cout, 4, 4)`, K[c, o, u, v] = Σ_{i ∈ I(u), j ∈ I(v)} w[o, c, i, j]: the weights of the
/// stride-2, padding-1 convolution of the output gradient g that gives the gradient of the input
/// x of a 3×3, padding-1 convolution of x upsampled ×2. Output (Y, X)'s tap i reads stored row
/// ⌊(Y + i − 1)/2⌋, which is r exactly when Y = 2r − 1 + u with u + i ∈ {2, 3}; so
/// ∂L/∂x[c, r, s] = Σ_o Σ_{u, v < 4} K[c, o, u, v] · g[o, 2r − 1 + u, 2s − 1 + v], 16 taps per stored
/// pixel instead of the 36 of convolving at the upsampled size and summing each 2×2 block.
fn upsampled_transposed(w: &Tensor) -> Result<Tensor> {
    let (cout, cin, kh, kw) = w.dims4()?;
    if (kh, kw) != (3, 3) {
        candle_core::bail!("upsampled convolution's gradient: 3×3 weights expected, got {kh}×{kw}");
    }
    let values = values_of(w)?;
    let mut out = Vec::with_capacity(cin * cout * 16);
    for c in 0..cin {
        for o in 0..cout {
            let kernel = &values[(o * cin + c) * 9..][..9];
            for rows in REACHING {
                for columns in REACHING {
                    out.push(summed_taps(kernel, rows, columns));
                }
            }
        }
    }
    Tensor::from_vec(out, (cin, cout, 4, 4), &Device::Cpu)
}

/// w′[c, o, i, j] = w[o, c, k − 1 − i, k − 1 − j]: the weights of the convolution that carries a
/// stride-1, "same" convolution's output gradient back to its input.
fn flipped_transposed(w: &Tensor) -> Result<Tensor> {
    let (cout, cin, kh, kw) = w.dims4()?;
    let taps = kh * kw;
    let values = values_of(w)?;
    let mut out = vec![0f32; values.len()];
    for o in 0..cout {
        for c in 0..cin {
            for tap in 0..taps {
                out[(c * cout + o) * taps + tap] = values[(o * cin + c) * taps + (taps - 1 - tap)];
            }
        }
    }
    Tensor::from_vec(out, (cin, cout, kh, kw), &Device::Cpu)
}

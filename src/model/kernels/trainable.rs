//! A 3×3, stride-1, padding-1 convolution that candle differentiates through our kernels, for
//! training (candle's own CPU convolution and its gradients are loops of short dot products).
//!
//! With y = conv(x, w) (no bias; the layer adds it), the gradients of a loss L are
//! ```text
//! ∂L/∂x = conv(∂L/∂y, w′)   where w′[c, o, i, j] = w[o, c, 2 − i, 2 − j]   (padding 1 again)
//! ∂L/∂w[o, c, i, j] = Σ_b Σ_{y, x} ∂L/∂y[b, o, y, x] · x[b, c, y + i − 1, x + j − 1]   (0 outside)
//! ```
//! so the input's gradient is our forward convolution again, on flipped and transposed weights,
//! and the weights' gradient nine batched matrix products, one per tap, of the output's gradient
//! `(B, Cout, H·W)` and the input shifted by the tap `(B, H·W, Cin)`.

use candle_core::{CpuStorage, CustomOp2, Device, Layout, Result, Shape, Tensor, bail};

use super::PreparedConv;
use super::contiguous_f32;

/// The operation; apply it as `x.apply_op2(&weight, TrainableConv3x3)`.
#[derive(Clone, Copy, Debug)]
pub struct TrainableConv3x3;

impl CustomOp2 for TrainableConv3x3 {
    fn name(&self) -> &'static str {
        "diffuscope-trainable-conv3x3"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = tensor_of(contiguous_f32(self.name(), s1, l1)?, l1)?;
        let w = tensor_of(contiguous_f32(self.name(), s2, l2)?, l2)?;
        let y = convolve(&x, &w)?;
        let shape = y.shape().clone();
        Ok((CpuStorage::F32(y.flatten_all()?.to_vec1()?), shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad_y = grad_y.detach().contiguous()?;
        let grad_x = convolve(&grad_y, &flipped_transposed(&w.detach())?)?;
        let grad_w = weight_gradient(&x.detach(), &grad_y)?;
        Ok((Some(grad_x), Some(grad_w)))
    }
}

/// `values` as a tensor of `layout`'s shape on the CPU.
fn tensor_of(values: &[f32], layout: &Layout) -> Result<Tensor> {
    Tensor::from_slice(values, layout.shape(), &Device::Cpu)
}

/// Our 3×3, stride-1, padding-1 convolution of `x` `(B, Cin, H, W)` with `w` `(Cout, Cin, 3, 3)`.
fn convolve(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    let (_, _, kh, kw) = w.dims4()?;
    if (kh, kw) != (3, 3) {
        bail!("trainable convolution: 3×3 kernels only, got {kh}×{kw}");
    }
    PreparedConv::new(w, None, 1, 1)?.forward(x, false, None, None)
}

/// w′[c, o, i, j] = w[o, c, 2 − i, 2 − j].
fn flipped_transposed(w: &Tensor) -> Result<Tensor> {
    let (cout, cin, _, _) = w.dims4()?;
    let values: Vec<f32> = w.flatten_all()?.to_vec1()?;
    let mut out = vec![0f32; values.len()];
    for o in 0..cout {
        for c in 0..cin {
            for tap in 0..9 {
                out[(c * cout + o) * 9 + tap] = values[(o * cin + c) * 9 + (8 - tap)];
            }
        }
    }
    Tensor::from_vec(out, (cin, cout, 3, 3), &Device::Cpu)
}

/// ∂L/∂w from the input `x` `(B, Cin, H, W)` and the output's gradient `grad_y` `(B, Cout, H, W)`.
fn weight_gradient(x: &Tensor, grad_y: &Tensor) -> Result<Tensor> {
    let (batch, cin, h, w) = x.dims4()?;
    let cout = grad_y.dim(1)?;
    let padded = x.pad_with_zeros(2, 1, 1)?.pad_with_zeros(3, 1, 1)?;
    let grad = grad_y.reshape((batch, cout, h * w))?;
    let mut taps = Vec::with_capacity(9);
    for i in 0..3 {
        for j in 0..3 {
            // (B, Cin, H·W) → (B, H·W, Cin): the input seen by tap (i, j).
            let shifted = padded
                .narrow(2, i, h)?
                .narrow(3, j, w)?
                .contiguous()?
                .reshape((batch, cin, h * w))?
                .transpose(1, 2)?;
            taps.push(grad.matmul(&shifted)?.sum(0)?);
        }
    }
    // (9, Cout, Cin) → (Cout, Cin, 3, 3).
    Tensor::stack(&taps, 0)?
        .permute((1, 2, 0))?
        .contiguous()?
        .reshape((cout, cin, 3, 3))
}

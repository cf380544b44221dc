//! The pieces of a diffusers `UNet2DModel`, each the twin of a diffusers class with its tensor
//! names: the sinusoidal `Timesteps` projection, `ResnetBlock2D`, the `Attention` of the 2D blocks,
//! and `Downsample2D`. They run on the program's CPU kernels where the digit UNet does
//! ([`FastConv2d`], [`FastGroupNorm`], [`FastLinear`], the fused attention core).

use candle_core::{DType, Result, Tensor};
use candle_nn::{Linear, VarBuilder};

use crate::model::kernels::attention_core;
use crate::model::layers::{
    FastConv2d, FastGroupNorm, FastLinear, fast_conv_padded, fast_linear, group_norm_with_eps,
};

/// The frequencies of diffusers' `get_timestep_embedding`: exp(−ln(10000)·i / (half − shift)),
/// i = 0..half, in f32 in diffusers' order of operations.
pub fn timestep_frequencies(channels: usize, shift: f32) -> Vec<f32> {
    let half = channels / 2;
    let scale = -(10000f64.ln()) as f32;
    (0..half)
        .map(|i| (scale * i as f32 / (half as f32 - shift)).exp())
        .collect()
}

/// `Timesteps`: t ↦ [sin(t·f), cos(t·f)], or [cos, sin] when `flip_sin_to_cos`.
#[derive(Clone, Debug)]
pub struct TimestepProjection {
    /// Shape `(1, half)`, on the weights' device.
    freqs: Tensor,
    flip_sin_to_cos: bool,
}

impl TimestepProjection {
    /// The projection to `channels` values (even) with diffusers' `freq_shift`.
    pub fn new(
        channels: usize,
        shift: f32,
        flip_sin_to_cos: bool,
        device: &candle_core::Device,
    ) -> Result<Self> {
        let freqs = timestep_frequencies(channels, shift);
        Ok(Self {
            freqs: Tensor::from_vec(freqs, (1, channels / 2), device)?,
            flip_sin_to_cos,
        })
    }

    /// `t`: `(B,)` timesteps (diffusers' 0..T−1, fractional allowed) → `(B, channels)`.
    pub fn forward(&self, t: &Tensor) -> Result<Tensor> {
        let args = t
            .to_dtype(DType::F32)?
            .unsqueeze(1)?
            .broadcast_mul(&self.freqs)?;
        let (sin, cos) = (args.sin()?, args.cos()?);
        if self.flip_sin_to_cos {
            Tensor::cat(&[cos, sin], 1)
        } else {
            Tensor::cat(&[sin, cos], 1)
        }
    }
}

/// How a residual block is built, shared by all of a model's blocks.
#[derive(Clone, Copy, Debug)]
pub struct ResnetShape {
    /// Groups of both norms.
    pub groups: usize,
    /// GroupNorm's ε.
    pub eps: f64,
    /// Width of the conditioning vector.
    pub emb_dim: usize,
    /// `scale_shift` conditioning (else `default`: added).
    pub scale_shift: bool,
    /// The sum with the shortcut is divided by this.
    pub output_scale: f64,
}

/// `ResnetBlock2D`: norm1, SiLU, conv1, + the time projection (or, with `scale_shift`, a scale and
/// shift of norm2's output), norm2, SiLU, conv2, + the shortcut (a 1×1 convolution when the
/// channel count changes), divided by the output scale.
#[derive(Clone, Debug)]
pub struct Resnet {
    norm1: FastGroupNorm,
    conv1: FastConv2d,
    time_emb_proj: FastLinear,
    norm2: FastGroupNorm,
    conv2: FastConv2d,
    conv_shortcut: Option<FastConv2d>,
    scale_shift: bool,
    output_scale: f64,
}

impl Resnet {
    /// The block from `cin` to `cout` channels (tensors `norm1.*`, `conv1.*`,
    /// `time_emb_proj.*`, `norm2.*`, `conv2.*`, and `conv_shortcut.*` when `cin != cout`).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(cin: usize, cout: usize, shape: ResnetShape, vb: VarBuilder) -> Result<Self> {
        let projected = if shape.scale_shift { 2 * cout } else { cout };
        Ok(Self {
            norm1: group_norm_with_eps(shape.groups, cin, shape.eps, vb.pp("norm1"))?,
            conv1: fast_conv_padded(cin, cout, 3, (1, 1), vb.pp("conv1"))?,
            time_emb_proj: fast_linear(shape.emb_dim, projected, vb.pp("time_emb_proj"))?,
            norm2: group_norm_with_eps(shape.groups, cout, shape.eps, vb.pp("norm2"))?,
            conv2: fast_conv_padded(cout, cout, 3, (1, 1), vb.pp("conv2"))?,
            conv_shortcut: if cin == cout {
                None
            } else {
                Some(fast_conv_padded(
                    cin,
                    cout,
                    1,
                    (1, 0),
                    vb.pp("conv_shortcut"),
                )?)
            },
            scale_shift: shape.scale_shift,
            output_scale: shape.output_scale,
        })
    }

    /// `x`: `(B, cin, H, W)`; `emb_silu`: SiLU of the conditioning vector (diffusers applies it in
    /// every block; once gives the same numbers).
    pub fn forward(&self, x: &Tensor, emb_silu: &Tensor) -> Result<Tensor> {
        let projected = self.time_emb_proj.forward(emb_silu)?;
        let shortcut = match &self.conv_shortcut {
            Some(conv) => conv.forward(x)?,
            None => x.clone(),
        };
        let out = if self.scale_shift {
            let h = self.conv1.forward_after_norm(&self.norm1, x, None, None)?;
            let cout = projected.dim(1)? / 2;
            let scale = (projected.narrow(1, 0, cout)? + 1.0)?
                .unsqueeze(2)?
                .unsqueeze(3)?;
            let shift = projected
                .narrow(1, cout, cout)?
                .unsqueeze(2)?
                .unsqueeze(3)?;
            let h = self
                .norm2
                .forward(&h, false)?
                .broadcast_mul(&scale)?
                .broadcast_add(&shift)?
                .silu()?;
            self.conv2.forward_with(&h, false, None, Some(&shortcut))?
        } else {
            let h = self
                .conv1
                .forward_after_norm(&self.norm1, x, Some(&projected), None)?;
            self.conv2
                .forward_after_norm(&self.norm2, &h, None, Some(&shortcut))?
        };
        if self.output_scale == 1.0 {
            Ok(out)
        } else {
            out / self.output_scale
        }
    }
}

/// The `Attention` of diffusers' 2D blocks: an optional GroupNorm, multi-head self-attention over
/// the H·W positions (scale 1/√head), the output projection, the residual, divided by the output
/// scale. `to_q`, `to_k` and `to_v` are joined into one projection.
#[derive(Clone, Debug)]
pub struct Attention {
    group_norm: Option<FastGroupNorm>,
    qkv: FastLinear,
    to_out: FastLinear,
    heads: usize,
    output_scale: f64,
}

impl Attention {
    /// Attention over `channels` in `heads` heads (tensors `group_norm.*` when `norm` gives its
    /// groups and ε, `to_q.*`, `to_k.*`, `to_v.*`, `to_out.0.*`).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(
        channels: usize,
        heads: usize,
        norm_groups: Option<(usize, f64)>,
        output_scale: f64,
        vb: VarBuilder,
    ) -> Result<Self> {
        let part = |name: &str| -> Result<(Tensor, Tensor)> {
            let vb = vb.pp(name);
            Ok((
                vb.get((channels, channels), "weight")?,
                vb.get(channels, "bias")?,
            ))
        };
        let (q, k, v) = (part("to_q")?, part("to_k")?, part("to_v")?);
        let weight = Tensor::cat(&[&q.0, &k.0, &v.0], 0)?;
        let bias = Tensor::cat(&[&q.1, &k.1, &v.1], 0)?;
        Ok(Self {
            group_norm: norm_groups
                .map(|(groups, eps)| {
                    group_norm_with_eps(groups, channels, eps, vb.pp("group_norm"))
                })
                .transpose()?,
            qkv: FastLinear::new(Linear::new(weight, Some(bias)))?,
            to_out: fast_linear(channels, channels, vb.pp("to_out").pp("0"))?,
            heads,
            output_scale,
        })
    }

    /// `x`: `(B, C, H, W)` → the same shape.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let normed = match &self.group_norm {
            Some(norm) => norm.forward(x, false)?,
            None => x.clone(),
        };
        let tokens = normed
            .reshape((b, c, h * w))?
            .transpose(1, 2)?
            .contiguous()?;
        let qkv = self.qkv.forward(&tokens)?;
        let attended = self.attend(&qkv, b, h * w, c)?;
        let out = self
            .to_out
            .forward(&attended)?
            .transpose(1, 2)?
            .reshape((b, c, h, w))?;
        let sum = (x + out)?;
        if self.output_scale == 1.0 {
            Ok(sum)
        } else {
            sum / self.output_scale
        }
    }

    /// softmax(q kᵀ/√d) v per head, for `qkv` `(B, N, 3C)`: `(B, N, C)`. Each head becomes a batch
    /// entry of its own for the fused core.
    fn attend(&self, qkv: &Tensor, b: usize, n: usize, c: usize) -> Result<Tensor> {
        let (heads, d) = (self.heads, c / self.heads);
        let per_head = if heads == 1 {
            qkv.clone()
        } else {
            qkv.reshape((b, n, 3, heads, d))?
                .permute((0, 3, 1, 2, 4))?
                .contiguous()?
                .reshape((b * heads, n, 3 * d))?
        };
        let out = if per_head.device().is_cpu() && !per_head.track_op() {
            attention_core(&per_head)?
        } else {
            let q = per_head.narrow(2, 0, d)?.contiguous()?;
            let k = per_head.narrow(2, d, d)?.contiguous()?;
            let v = per_head.narrow(2, 2 * d, d)?.contiguous()?;
            let scores = (q.matmul(&k.t()?)? / (d as f64).sqrt())?;
            candle_nn::ops::softmax_last_dim(&scores)?.matmul(&v)?
        };
        if heads == 1 {
            Ok(out)
        } else {
            out.reshape((b, heads, n, d))?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b, n, c))
        }
    }
}

/// `Downsample2D` with a convolution: 3×3, stride 2, padding 1 — or, with `downsample_padding`
/// 0, the input padded by one zero row and column on the bottom and right first.
#[derive(Clone, Debug)]
pub struct Downsample {
    conv: FastConv2d,
    pad_bottom_right: bool,
}

impl Downsample {
    /// The downsampler of `channels` (tensors `conv.*` under `vb`).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(channels: usize, padding: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            conv: fast_conv_padded(channels, channels, 3, (2, padding), vb.pp("conv"))?,
            pad_bottom_right: padding == 0,
        })
    }

    /// `(B, C, H, W)` → `(B, C, H/2, W/2)`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.pad_bottom_right {
            self.conv
                .forward(&x.pad_with_zeros(2, 0, 1)?.pad_with_zeros(3, 0, 1)?)
        } else {
            self.conv.forward(x)
        }
    }
}

//! The building blocks of the digit UNet, each the twin of a class in `training/unet.py`: the
//! sinusoidal timestep embedding and its MLP, the residual block, and self-attention.
//!
//! Every block is a plain struct built from a `VarBuilder`, whose `pp("name")` prefixes are the
//! tensor names of the checkpoints (the PyTorch module paths).

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, Linear, VarBuilder};

/// GroupNorm's ε, as in PyTorch's `nn.GroupNorm` default.
pub const GROUP_NORM_EPS: f64 = 1e-5;

/// The frequencies of the sinusoidal embedding: f_i = exp(−ln(10000)·i/half), i = 0..half, with
/// half = `dim`/2. Computed in f32 in the same order of operations as `training/unet.py`.
pub fn sinusoid_frequencies(dim: usize) -> Vec<f32> {
    let half = dim / 2;
    let scale = -(10000f64.ln()) as f32;
    (0..half)
        .map(|i| (scale * i as f32 / half as f32).exp())
        .collect()
}

/// The sinusoidal embedding of one timestep input, as plain numbers: [cos(t·f_i)…, sin(t·f_i)…]
/// (for the "Clock" view's heat map; the network uses [`sinusoidal_embedding`]).
pub fn sinusoid_values(t: f32, dim: usize) -> Vec<f32> {
    let args: Vec<f32> = sinusoid_frequencies(dim)
        .into_iter()
        .map(|f| t * f)
        .collect();
    args.iter()
        .map(|a| a.cos())
        .chain(args.iter().map(|a| a.sin()))
        .collect()
}

/// The sinusoidal embedding of a batch of timestep inputs `t` (shape `(B,)`): shape `(B, dim)`,
/// cosines first, then sines.
pub fn sinusoidal_embedding(t: &Tensor, dim: usize) -> Result<Tensor> {
    let freqs = sinusoid_frequencies(dim);
    let freqs = Tensor::from_vec(freqs, (1, dim / 2), t.device())?;
    sinusoid_with(t, &freqs)
}

/// [cos, sin] of `t[:, None] * freqs` with the frequencies already on the device.
fn sinusoid_with(t: &Tensor, freqs: &Tensor) -> Result<Tensor> {
    let args = t.to_dtype(DType::F32)?.unsqueeze(1)?.broadcast_mul(freqs)?;
    Tensor::cat(&[args.cos()?, args.sin()?], 1)
}

/// A convolution with a square kernel, "same" padding for stride 1 (padding = k/2).
pub(crate) fn conv(
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    vb: VarBuilder,
) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding: kernel / 2,
        stride,
        ..Conv2dConfig::default()
    };
    candle_nn::conv2d(cin, cout, kernel, cfg, vb)
}

/// GroupNorm with PyTorch's ε.
pub(crate) fn group_norm(groups: usize, channels: usize, vb: VarBuilder) -> Result<GroupNorm> {
    candle_nn::group_norm(groups, channels, GROUP_NORM_EPS, vb)
}

/// `TimeMlp` of the reference: Linear(SiLU(Linear(sinusoid(t)))).
#[derive(Clone, Debug)]
pub struct TimeMlp {
    linear1: Linear,
    linear2: Linear,
    /// The sinusoid frequencies, shape `(1, sinusoid_dim/2)`, on the weights' device.
    freqs: Tensor,
}

impl TimeMlp {
    /// Builds the MLP (tensors `linear1.*`, `linear2.*` under `vb`).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(sinusoid_dim: usize, emb_dim: usize, vb: VarBuilder) -> Result<Self> {
        let linear1 = candle_nn::linear(sinusoid_dim, emb_dim, vb.pp("linear1"))?;
        let linear2 = candle_nn::linear(emb_dim, emb_dim, vb.pp("linear2"))?;
        let freqs = Tensor::from_vec(
            sinusoid_frequencies(sinusoid_dim),
            (1, sinusoid_dim / 2),
            vb.device(),
        )?;
        Ok(Self {
            linear1,
            linear2,
            freqs,
        })
    }

    /// `t`: `(B,)` timestep inputs (any float or integer type) → `(B, emb_dim)`.
    pub fn forward(&self, t: &Tensor) -> Result<Tensor> {
        let s = sinusoid_with(t, &self.freqs)?;
        self.linear2.forward(&self.linear1.forward(&s)?.silu()?)
    }
}

/// `ResBlock` of the reference: two 3×3 convolutions with GroupNorm and SiLU before each, the
/// conditioning vector added in between, and a residual connection (1×1 convolution when the
/// channel count changes).
#[derive(Clone, Debug)]
pub struct ResBlock {
    norm1: GroupNorm,
    conv1: Conv2d,
    emb: Linear,
    norm2: GroupNorm,
    conv2: Conv2d,
    skip: Option<Conv2d>,
}

impl ResBlock {
    /// Builds the block (tensors `norm1.*`, `conv1.*`, `emb.*`, `norm2.*`, `conv2.*` and, when
    /// `cin != cout`, `skip.*`).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(
        cin: usize,
        cout: usize,
        emb_dim: usize,
        groups: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(Self {
            norm1: group_norm(groups, cin, vb.pp("norm1"))?,
            conv1: conv(cin, cout, 3, 1, vb.pp("conv1"))?,
            emb: candle_nn::linear(emb_dim, cout, vb.pp("emb"))?,
            norm2: group_norm(groups, cout, vb.pp("norm2"))?,
            conv2: conv(cout, cout, 3, 1, vb.pp("conv2"))?,
            skip: if cin == cout {
                None
            } else {
                Some(conv(cin, cout, 1, 1, vb.pp("skip"))?)
            },
        })
    }

    /// `x`: `(B, cin, H, W)`; `emb_silu`: SiLU of the conditioning vector, `(B, emb_dim)` (the
    /// reference applies the SiLU inside each block; computing it once gives the same numbers).
    pub fn forward(&self, x: &Tensor, emb_silu: &Tensor) -> Result<Tensor> {
        let h = self.conv1.forward(&self.norm1.forward(x)?.silu()?)?;
        let e = self.emb.forward(emb_silu)?.unsqueeze(2)?.unsqueeze(3)?;
        let h = h.broadcast_add(&e)?;
        let h = self.conv2.forward(&self.norm2.forward(&h)?.silu()?)?;
        match &self.skip {
            Some(skip) => h + skip.forward(x)?,
            None => h + x,
        }
    }
}

/// `SelfAttention` of the reference: single-head attention over the H·W positions, scale 1/√C,
/// with a residual connection.
#[derive(Clone, Debug)]
pub struct SelfAttention {
    norm: GroupNorm,
    qkv: Linear,
    proj: Linear,
}

impl SelfAttention {
    /// Builds the block (tensors `norm.*`, `qkv.*`, `proj.*`).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(channels: usize, groups: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            norm: group_norm(groups, channels, vb.pp("norm"))?,
            qkv: candle_nn::linear(channels, 3 * channels, vb.pp("qkv"))?,
            proj: candle_nn::linear(channels, channels, vb.pp("proj"))?,
        })
    }

    /// `x`: `(B, C, H, W)` → the same shape.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let tokens = self
            .norm
            .forward(x)?
            .reshape((b, c, h * w))?
            .transpose(1, 2)?
            .contiguous()?; // (b, hw, c)
        let qkv = self.qkv.forward(&tokens)?;
        let q = qkv.narrow(2, 0, c)?.contiguous()?;
        let k = qkv.narrow(2, c, c)?.contiguous()?;
        let v = qkv.narrow(2, 2 * c, c)?.contiguous()?;
        let scores = (q.matmul(&k.t()?)? / (c as f64).sqrt())?;
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let out = self.proj.forward(&weights.matmul(&v)?)?;
        x + out.transpose(1, 2)?.reshape((b, c, h, w))?
    }
}

//! The building blocks of the digit UNet, each the twin of a class in `training/unet.py`: the
//! sinusoidal timestep embedding and its MLP, the residual block, and self-attention.
//!
//! Every block is a plain struct built from a `VarBuilder`, whose `pp("name")` prefixes are the
//! tensor names of the checkpoints (the PyTorch module paths).
//!
//! Convolutions and GroupNorms go through [`FastConv2d`] and [`FastGroupNorm`]: our kernels
//! ([`super::kernels`]) on the CPU for loaded (non-trainable) f32 weights, candle's own operations
//! otherwise (other devices, and the reference) — except trainable f32 weights on the CPU, whose
//! convolutions and GroupNorms train through [`super::kernels::TrainableConv`] and
//! [`super::kernels::TrainableGroupNorm`] (our kernels forward and backward).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, GroupNorm, Init, Linear, VarBuilder};

use super::kernels::{
    PreparedConv, PreparedGroupNorm, PreparedLinear, TrainableConv, TrainableGroupNorm,
    attention_core,
};

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
/// (checked against the tensor version, [`sinusoidal_embedding`], which the network uses).
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
    conv_padded(cin, cout, kernel, (stride, kernel / 2), vb)
}

/// A convolution with a square kernel and the given (stride, padding).
fn conv_padded(
    cin: usize,
    cout: usize,
    kernel: usize,
    (stride, padding): (usize, usize),
    vb: VarBuilder,
) -> Result<Conv2d> {
    let cfg = Conv2dConfig {
        padding,
        stride,
        ..Conv2dConfig::default()
    };
    candle_nn::conv2d(cin, cout, kernel, cfg, vb)
}

/// GroupNorm with PyTorch's ε.
pub(crate) fn group_norm(groups: usize, channels: usize, vb: VarBuilder) -> Result<FastGroupNorm> {
    group_norm_with_eps(groups, channels, GROUP_NORM_EPS, vb)
}

/// GroupNorm with ε = `eps` (tensors `weight`, `bias` under `vb`).
#[expect(
    clippy::needless_pass_by_value,
    reason = "candle's convention: a layer takes its VarBuilder by value"
)]
pub(crate) fn group_norm_with_eps(
    groups: usize,
    channels: usize,
    eps: f64,
    vb: VarBuilder,
) -> Result<FastGroupNorm> {
    let weight = vb.get_with_hints(channels, "weight", Init::Const(1.))?;
    let bias = vb.get_with_hints(channels, "bias", Init::Const(0.))?;
    FastGroupNorm::with_eps(weight, bias, groups, eps)
}

/// A convolution of [`conv`]'s kind that runs on our kernel where it can.
pub(crate) fn fast_conv(
    cin: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    vb: VarBuilder,
) -> Result<FastConv2d> {
    FastConv2d::new(conv(cin, cout, kernel, stride, vb)?)
}

/// The same with the given (stride, padding) (diffusers' `downsample_padding` 0, 1×1 shortcuts).
pub(crate) fn fast_conv_padded(
    cin: usize,
    cout: usize,
    kernel: usize,
    stride_padding: (usize, usize),
    vb: VarBuilder,
) -> Result<FastConv2d> {
    FastConv2d::new(conv_padded(cin, cout, kernel, stride_padding, vb)?)
}

thread_local! {
    /// Whether the layers built now, on this thread, keep to candle's plain operations.
    static BUILDING_WITH_CANDLE_OPS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `build` so that every layer it makes (on this thread) keeps to candle's plain operations
/// (`bench model --candle-ops`, for before/after figures). The choice belongs to the models built
/// inside, not to the process: models built elsewhere keep our kernels.
pub fn with_candle_ops<T>(build: impl FnOnce() -> T) -> T {
    /// Puts the previous choice back, even if `build` panics.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUILDING_WITH_CANDLE_OPS.set(self.0);
        }
    }
    let _restore = Restore(BUILDING_WITH_CANDLE_OPS.replace(true));
    build()
}

/// Whether layers built now keep to candle's operations (inside [`with_candle_ops`]).
pub fn building_with_candle_ops() -> bool {
    BUILDING_WITH_CANDLE_OPS.get()
}

/// Whether our kernels can take `t`: f32 on the CPU, outside any autograd graph.
pub(crate) fn kernel_ready(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32 && !t.track_op()
}

/// Whether a trainable layer can run `t` through our kernels: f32 on the CPU.
fn trainable_input(t: &Tensor) -> bool {
    t.device().is_cpu() && t.dtype() == DType::F32
}

/// Whether weights can be copied into a kernel once: f32 on the CPU and not trainable (a `Var`
/// changes under the optimiser, and gradients must flow through candle's operations), in a layer
/// that may use our kernels.
fn preparable(t: &Tensor) -> bool {
    kernel_ready(t) && !t.is_variable() && !building_with_candle_ops()
}

/// candle's `Conv2d` plus, when its weights are f32 on the CPU and not trainable, a
/// [`PreparedConv`] copy that
/// [`FastConv2d::forward_with`] uses for inputs our kernel takes.
#[derive(Clone, Debug)]
pub struct FastConv2d {
    conv: Conv2d,
    fast: Option<PreparedConv>,
}

impl FastConv2d {
    /// Wraps `conv`, preparing our kernel's copy of its weights when possible.
    pub fn new(conv: Conv2d) -> Result<Self> {
        let cfg = conv.config();
        let weight = conv.weight();
        let ready = preparable(weight)
            && conv.bias().is_none_or(preparable)
            && cfg.dilation == 1
            && cfg.groups == 1;
        let fast = ready
            .then(|| PreparedConv::new(weight, conv.bias(), cfg.stride, cfg.padding))
            .transpose()?;
        Ok(Self { conv, fast })
    }

    /// Whether this layer has our kernel (else it always runs candle's operations).
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// The plain convolution of `x`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, false, None, None)
    }

    /// conv(x′) + `add`[:, :, None, None] + `residual`, where x′ is `x` upsampled ×2 (nearest)
    /// when `upsample`, else `x`; `add` is `(B, Cout)`, `residual` the output's shape. Our fused
    /// kernel when every input suits it, else [`FastConv2d::forward_reference`].
    pub fn forward_with(
        &self,
        x: &Tensor,
        upsample: bool,
        add: Option<&Tensor>,
        residual: Option<&Tensor>,
    ) -> Result<Tensor> {
        match &self.fast {
            Some(fast)
                if kernel_ready(x)
                    && add.is_none_or(kernel_ready)
                    && residual.is_none_or(kernel_ready) =>
            {
                fast.forward(x, upsample, add, residual)
            }
            _ => self.forward_reference(x, upsample, add, residual),
        }
    }

    /// conv(SiLU(`norm`(x))) + `add` + `residual`: the norm applied by our convolution as it reads
    /// x where both layers and every input suit our kernels (the norm's output is then never
    /// written out), else `norm` and then [`FastConv2d::forward_with`]. The same values either way.
    pub fn forward_after_norm(
        &self,
        norm: &FastGroupNorm,
        x: &Tensor,
        add: Option<&Tensor>,
        residual: Option<&Tensor>,
    ) -> Result<Tensor> {
        match (&self.fast, norm.prepared()) {
            (Some(fast), Some(prepared))
                if fast.takes_a_norm()
                    && kernel_ready(x)
                    && add.is_none_or(kernel_ready)
                    && residual.is_none_or(kernel_ready) =>
            {
                fast.forward_after_norm(prepared, x, add, residual)
            }
            _ => self.forward_with(&norm.forward(x, true)?, false, add, residual),
        }
    }

    /// The convolution of `x` (upsampled ×2 first when `upsample`) plus `add` `(B, Cout)` per
    /// channel, for autograd: trainable f32 weights on the CPU through [`TrainableConv`] (our
    /// kernels, forward and backward, `add` joining the bias), everything else through candle's
    /// operations.
    fn trainable_or_candle(
        &self,
        x: &Tensor,
        upsample: bool,
        add: Option<&Tensor>,
    ) -> Result<Tensor> {
        let weight = self.conv.weight();
        let cfg = self.conv.config();
        let ours = weight.is_variable()
            && !building_with_candle_ops()
            && trainable_input(x)
            && (cfg.dilation, cfg.groups) == (1, 1);
        if !ours {
            let x = if upsample {
                let (_, _, height, width) = x.dims4()?;
                x.upsample_nearest2d(2 * height, 2 * width)?
            } else {
                x.clone()
            };
            let h = self.conv.forward(&x)?;
            return match add {
                Some(add) => h.broadcast_add(&add.unsqueeze(2)?.unsqueeze(3)?),
                None => Ok(h),
            };
        }
        let bias = match (self.conv.bias(), add) {
            (Some(bias), Some(add)) => add.broadcast_add(&bias.unsqueeze(0)?)?,
            (Some(bias), None) => bias.clone(),
            (None, Some(add)) => add.clone(),
            (None, None) => Tensor::zeros(weight.dim(0)?, DType::F32, x.device())?,
        };
        let op = TrainableConv {
            stride: cfg.stride,
            padding: cfg.padding,
            upsample,
        };
        x.contiguous()?.apply_op3(weight, &bias, op)
    }

    /// The same function with candle's operations (the reference, and the path for autograd and
    /// other devices).
    pub fn forward_reference(
        &self,
        x: &Tensor,
        upsample: bool,
        add: Option<&Tensor>,
        residual: Option<&Tensor>,
    ) -> Result<Tensor> {
        let h = self.trainable_or_candle(x, upsample, add)?;
        match residual {
            Some(residual) => h + residual,
            None => Ok(h),
        }
    }
}

/// candle's `GroupNorm` plus, when its parameters are f32 on the CPU and not trainable, a
/// [`PreparedGroupNorm`] copy that [`FastGroupNorm::forward`] uses for inputs our kernel takes.
///
/// On a GPU (outside autograd) the norm runs as candle's fused layer-norm kernel over each
/// group's values followed by the per-channel affine map: 4 kernel launches instead of the 12 of
/// candle's composition, which matters because the digit network's GPU time is launch-bound.
#[derive(Clone, Debug)]
pub struct FastGroupNorm {
    norm: GroupNorm,
    fast: Option<PreparedGroupNorm>,
    weight: Tensor,
    bias: Tensor,
    groups: usize,
    eps: f64,
    /// Ones and zeros of each group length seen, for the layer-norm kernel's own (unit) affine map.
    /// Built inside [`with_candle_ops`]: candle's operations only, on any device.
    candle_only: bool,
    unit_affine: Arc<Mutex<HashMap<usize, (Tensor, Tensor)>>>,
}

impl FastGroupNorm {
    /// GroupNorm with PyTorch's ε over `weight.len()` channels in `groups` groups.
    pub fn new(weight: Tensor, bias: Tensor, groups: usize) -> Result<Self> {
        Self::with_eps(weight, bias, groups, GROUP_NORM_EPS)
    }

    /// GroupNorm with ε = `eps` over `weight.len()` channels in `groups` groups.
    pub fn with_eps(weight: Tensor, bias: Tensor, groups: usize, eps: f64) -> Result<Self> {
        let channels = weight.elem_count();
        let fast = if preparable(&weight) && preparable(&bias) {
            Some(PreparedGroupNorm::new(&weight, &bias, groups, eps)?)
        } else {
            None
        };
        let norm = GroupNorm::new(weight.clone(), bias.clone(), channels, groups, eps)?;
        Ok(Self {
            norm,
            fast,
            eps,
            candle_only: building_with_candle_ops(),
            weight,
            bias,
            groups,
            unit_affine: Arc::default(),
        })
    }

    /// Whether this layer has our kernel.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// Our kernel's parameters, where this layer uses our kernels.
    fn prepared(&self) -> Option<&PreparedGroupNorm> {
        self.fast.as_ref().filter(|_| !self.candle_only)
    }

    /// GroupNorm(x), followed by SiLU when `silu`; our fused kernel when `x` suits it, the
    /// layer-norm formulation on a GPU.
    pub fn forward(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        if self.candle_only {
            return self.forward_reference(x, silu);
        }
        match &self.fast {
            Some(fast) if kernel_ready(x) => fast.forward(x, silu),
            _ if self.weight.is_variable() && trainable_input(x) => self.forward_trainable(x, silu),
            _ if !x.device().is_cpu() && !x.track_op() && x.dtype() == DType::F32 => {
                self.forward_layer_norm(x, silu)
            }
            _ => self.forward_reference(x, silu),
        }
    }

    /// The same for autograd, trainable parameters on the CPU: [`TrainableGroupNorm`].
    fn forward_trainable(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        let op = TrainableGroupNorm {
            groups: self.groups,
            eps: self.eps,
            silu,
        };
        x.contiguous()?.apply_op3(&self.weight, &self.bias, op)
    }

    /// The same through candle's layer-norm kernel: x as `(B·G, C/G·n)` rows, each normalised to
    /// mean 0 and variance 1, then γ[c]·y + β[c] per channel. No autograd (the kernel has none).
    pub fn forward_layer_norm(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        let dims = x.dims().to_vec();
        if dims.len() < 3 {
            candle_core::bail!("GroupNorm: expected (B, C, …), got {dims:?}");
        }
        let rows = dims[0] * self.groups;
        let length = x.elem_count() / rows.max(1);
        let (ones, zeros) = self.unit_affine(length, x.device())?;
        let normalised = candle_nn::ops::layer_norm(
            &x.contiguous()?.reshape((rows, length))?,
            &ones,
            &zeros,
            self.eps as f32,
        )?;
        let mut per_channel = vec![1; dims.len()];
        per_channel[1] = dims[1];
        let y = normalised
            .reshape(dims)?
            .broadcast_mul(&self.weight.reshape(per_channel.clone())?)?
            .broadcast_add(&self.bias.reshape(per_channel)?)?;
        if silu { y.silu() } else { Ok(y) }
    }

    fn unit_affine(&self, length: usize, device: &Device) -> Result<(Tensor, Tensor)> {
        let mut cache = self
            .unit_affine
            .lock()
            .map_err(|_| candle_core::Error::Msg("GroupNorm's cache was poisoned".to_owned()))?;
        if let Some(pair) = cache.get(&length) {
            return Ok(pair.clone());
        }
        let pair = (
            Tensor::ones(length, DType::F32, device)?,
            Tensor::zeros(length, DType::F32, device)?,
        );
        cache.insert(length, pair.clone());
        Ok(pair)
    }

    /// The same with candle's operations.
    pub fn forward_reference(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        let y = self.norm.forward(x)?;
        if silu { y.silu() } else { Ok(y) }
    }
}

/// candle's `Linear` plus, when its weights are f32 on the CPU and not trainable, a
/// [`PreparedLinear`] copy that [`FastLinear::forward`] uses for inputs our kernel takes.
#[derive(Clone, Debug)]
pub struct FastLinear {
    linear: Linear,
    fast: Option<PreparedLinear>,
    /// Whether GELU (tanh approximation) follows.
    gelu: bool,
}

impl FastLinear {
    /// Wraps `linear`, preparing our kernel's copy of its weights when possible.
    pub fn new(linear: Linear) -> Result<Self> {
        let ready = preparable(linear.weight()) && linear.bias().is_none_or(preparable);
        let fast = ready
            .then(|| PreparedLinear::new(linear.weight(), linear.bias()))
            .transpose()?;
        Ok(Self {
            linear,
            fast,
            gelu: false,
        })
    }

    /// The same layer followed by GELU (tanh approximation): fused into our kernel's blocks.
    #[must_use]
    pub fn with_gelu(self) -> Self {
        Self {
            fast: self.fast.as_ref().map(PreparedLinear::with_gelu),
            gelu: true,
            linear: self.linear,
        }
    }

    /// Whether this layer has our kernel.
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// x · Wᵀ + β (then GELU, if asked); our kernel when `x` suits it.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.fast {
            Some(fast) if kernel_ready(x) => fast.forward(x),
            _ => self.forward_reference(x),
        }
    }

    /// The same with candle's operations. Leading dimensions are flattened into rows first:
    /// candle's `Linear` would broadcast the weights over them, and in training sum their
    /// gradient back over a copy per row of the batch.
    pub fn forward_reference(&self, x: &Tensor) -> Result<Tensor> {
        let y = match x.dims() {
            [lead @ .., inputs] if lead.len() > 1 => {
                let rows = lead.iter().product::<usize>();
                let y = self.linear.forward(&x.reshape((rows, *inputs))?)?;
                let mut dims = lead.to_vec();
                dims.push(y.dim(1)?);
                y.reshape(dims)?
            }
            _ => self.linear.forward(x)?,
        };
        if self.gelu { y.gelu() } else { Ok(y) }
    }
}

/// A linear layer of `inputs → outputs` (tensors `weight`, `bias` under `vb`) that runs on our
/// kernel where it can.
pub(crate) fn fast_linear(inputs: usize, outputs: usize, vb: VarBuilder) -> Result<FastLinear> {
    FastLinear::new(candle_nn::linear(inputs, outputs, vb)?)
}

/// `TimeMlp` of the reference: Linear(SiLU(Linear(sinusoid(t)))).
#[derive(Clone, Debug)]
pub struct TimeMlp {
    linear1: FastLinear,
    linear2: FastLinear,
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
        let linear1 = fast_linear(sinusoid_dim, emb_dim, vb.pp("linear1"))?;
        let linear2 = fast_linear(emb_dim, emb_dim, vb.pp("linear2"))?;
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
    norm1: FastGroupNorm,
    conv1: FastConv2d,
    emb: FastLinear,
    norm2: FastGroupNorm,
    conv2: FastConv2d,
    skip: Option<FastConv2d>,
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
            conv1: fast_conv(cin, cout, 3, 1, vb.pp("conv1"))?,
            emb: fast_linear(emb_dim, cout, vb.pp("emb"))?,
            norm2: group_norm(groups, cout, vb.pp("norm2"))?,
            conv2: fast_conv(cout, cout, 3, 1, vb.pp("conv2"))?,
            skip: if cin == cout {
                None
            } else {
                Some(fast_conv(cin, cout, 1, 1, vb.pp("skip"))?)
            },
        })
    }

    /// `x`: `(B, cin, H, W)`; `emb_silu`: SiLU of the conditioning vector, `(B, emb_dim)` (the
    /// reference applies the SiLU inside each block; computing it once gives the same numbers).
    ///
    /// conv1's output gets the embedding added in the same pass, and conv2's the residual.
    pub fn forward(&self, x: &Tensor, emb_silu: &Tensor) -> Result<Tensor> {
        let e = self.emb.forward(emb_silu)?;
        let h = self
            .conv1
            .forward_after_norm(&self.norm1, x, Some(&e), None)?;
        let residual = match &self.skip {
            Some(skip) => skip.forward(x)?,
            None => x.clone(),
        };
        self.conv2
            .forward_after_norm(&self.norm2, &h, None, Some(&residual))
    }
}

/// `SelfAttention` of the reference: single-head attention over the H·W positions, scale 1/√C,
/// with a residual connection.
#[derive(Clone, Debug)]
pub struct SelfAttention {
    norm: FastGroupNorm,
    qkv: FastLinear,
    proj: FastLinear,
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
            qkv: fast_linear(channels, 3 * channels, vb.pp("qkv"))?,
            proj: fast_linear(channels, channels, vb.pp("proj"))?,
        })
    }

    /// `x`: `(B, C, H, W)` → the same shape.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let tokens = self
            .norm
            .forward(x, false)?
            .reshape((b, c, h * w))?
            .transpose(1, 2)?
            .contiguous()?; // (b, hw, c)
        let qkv = self.qkv.forward(&tokens)?;
        if self.qkv.is_fast() && kernel_ready(&qkv) {
            let out = self.proj.forward(&attention_core(&qkv)?)?;
            return x + out.transpose(1, 2)?.reshape((b, c, h, w))?;
        }
        let q = qkv.narrow(2, 0, c)?.contiguous()?;
        let k = qkv.narrow(2, c, c)?.contiguous()?;
        let v = qkv.narrow(2, 2 * c, c)?.contiguous()?;
        let scores = (q.matmul(&k.t()?)? / (c as f64).sqrt())?;
        let weights = if scores.track_op() {
            // candle's fused softmax has no backward: in training, q and k would get no gradient.
            candle_nn::ops::softmax(&scores, candle_core::D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let out = self.proj.forward(&weights.matmul(&v)?)?;
        x + out.transpose(1, 2)?.reshape((b, c, h, w))?
    }
}

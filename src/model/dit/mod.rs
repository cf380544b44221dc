//! `DigitDiT`: the digit transformer (a small DiT), the twin of `DigitDiT` in `training/dit.py`
//! (same function, same tensor names).
//!
//! ```text
//! patchify      4×4 patches → 49 tokens of 16 values, row by row
//! patch_embed   Linear(16, dim)      + pos_embed (learned) | 2D RoPE in attention | nothing
//! blocks.i      adaLN-zero: shift, scale, gate = ada(SiLU(c)) for attention and MLP
//! final         adaLN, Linear(dim, 16), unpatchify
//! ```
//! Conditioning: c = time_mlp(sinusoid(t)) + class_emb(y), or c = class_emb(y) for a model that is
//! not told t.
//!
//! Code map: [`config`] (sizes, as in a checkpoint), [`rope`] (2D rotary embeddings), [`patches`]
//! (cutting pictures into tokens and back), this file (the layers and the forward pass).

pub mod config;
pub mod patches;
pub mod rope;

use candle_core::{D, DType, Module, Result, Tensor};
use candle_nn::{Embedding, VarBuilder};

pub use config::{DiTConfig, Positions};
use rope::RopeTable;

use super::kernels::{
    PreparedAttention, gated_residual, layer_norm_modulate, with_warm_workers_on,
};
use super::layers::{FastLinear, TimeMlp, fast_linear, kernel_ready};

/// LayerNorm without parameters, as the reference's `F.layer_norm(x, (dim,), eps=1e-6)`.
const NORM_EPS: f32 = 1e-6;

/// Multi-head self-attention over the tokens.
#[derive(Clone, Debug)]
struct Attention {
    qkv: FastLinear,
    proj: FastLinear,
    heads: usize,
    /// Our kernel, when the projections have theirs.
    fast: Option<PreparedAttention>,
}

impl Attention {
    /// `x` `(B, N, dim)` → the attended tokens, and the attention weights `(B, heads, N, N)` when
    /// `keep_weights` (through candle's operations; else our kernel where it can).
    fn forward(
        &self,
        x: &Tensor,
        rope: Option<&RopeTable>,
        keep_weights: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let qkv = self.qkv.forward(x)?;
        match &self.fast {
            Some(fast) if !keep_weights && kernel_ready(&qkv) => {
                Ok((self.proj.forward(&fast.forward(&qkv)?)?, None))
            }
            _ => {
                let (out, weights) = self.forward_reference(&qkv, rope)?;
                Ok((out, Some(weights)))
            }
        }
    }

    /// The attention with candle's operations, from the projected `qkv` `(B, N, 3·dim)`.
    fn forward_reference(
        &self,
        qkv: &Tensor,
        rope: Option<&RopeTable>,
    ) -> Result<(Tensor, Tensor)> {
        let (b, n, width) = qkv.dims3()?;
        let d = width / 3;
        let head_dim = d / self.heads;
        let qkv = qkv
            .reshape((b, n, 3, self.heads, head_dim))?
            .permute((2, 0, 3, 1, 4))?; // (3, B, heads, N, head_dim)
        let part = |i: usize| qkv.get(i)?.contiguous();
        let (mut q, mut k, v) = (part(0)?, part(1)?, part(2)?);
        if let Some(rope) = rope {
            q = rope.apply(&q)?;
            k = rope.apply(&k)?;
        }
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?;
        let weights = if scores.track_op() {
            // candle's fused softmax has no backward: a trained transformer needs this one.
            candle_nn::ops::softmax(&scores, D::Minus1)?
        } else {
            candle_nn::ops::softmax_last_dim(&scores)?
        };
        let out = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        Ok((self.proj.forward(&out)?, weights))
    }
}

/// The MLP of a block: Linear followed by GELU (tanh approximation, fused), Linear.
#[derive(Clone, Debug)]
struct Mlp {
    fc1: FastLinear,
    fc2: FastLinear,
}

impl Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.fc2.forward(&self.fc1.forward(x)?)
    }
}

/// `LN(x)·(1 + scale) + shift`, with `shift` and `scale` `(B, dim)` per picture; one pass of our
/// kernel when the layer has `ours` and `x` suits it.
fn modulate(x: &Tensor, (shift, scale): (&Tensor, &Tensor), ours: bool) -> Result<Tensor> {
    if ours && kernel_ready(x) {
        return layer_norm_modulate(x, shift, scale, NORM_EPS);
    }
    let d = x.dim(D::Minus1)?;
    let ones = Tensor::ones(d, x.dtype(), x.device())?;
    let zeros = Tensor::zeros(d, x.dtype(), x.device())?;
    let normed = candle_nn::ops::layer_norm(&x.contiguous()?, &ones, &zeros, NORM_EPS)?;
    normed
        .broadcast_mul(&(scale.unsqueeze(1)? + 1.0)?)?
        .broadcast_add(&shift.unsqueeze(1)?)
}

/// `x + gate ⊙ y`, `gate` `(B, dim)` per picture; one pass of our kernel when the layer has
/// `ours` and the inputs suit it.
fn gated(x: &Tensor, y: &Tensor, gate: &Tensor, ours: bool) -> Result<Tensor> {
    if ours && kernel_ready(x) && kernel_ready(y) {
        return gated_residual(x, y, gate);
    }
    x + y.broadcast_mul(&gate.unsqueeze(1)?)?
}

/// The adaLN-zero transformer block of DiT.
#[derive(Clone, Debug)]
struct Block {
    attn: Attention,
    mlp: Mlp,
    ada: FastLinear,
}

impl Block {
    /// `x` `(B, N, dim)`, `c_silu` SiLU of the conditioning `(B, dim)` → the block's output and,
    /// when `keep_weights`, its attention weights.
    fn forward(
        &self,
        x: &Tensor,
        c_silu: &Tensor,
        rope: Option<&RopeTable>,
        keep_weights: bool,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let ours = self.attn.fast.is_some();
        let m = self.ada.forward(c_silu)?.chunk(6, 1)?;
        let normed = modulate(x, (&m[0], &m[1]), ours)?;
        let (attended, weights) = self.attn.forward(&normed, rope, keep_weights)?;
        let x = gated(x, &attended, &m[2], ours)?;
        let mixed = self.mlp.forward(&modulate(&x, (&m[3], &m[4]), ours)?)?;
        Ok((gated(&x, &mixed, &m[5], ours)?, weights))
    }
}

/// The transformer that predicts ε, v or the velocity for a batch of noisy digits.
#[derive(Clone, Debug)]
pub struct DigitDiT {
    config: DiTConfig,
    patch_embed: FastLinear,
    pos_embed: Option<Tensor>,
    rope: Option<RopeTable>,
    time_mlp: Option<TimeMlp>,
    class_emb: Embedding,
    blocks: Vec<Block>,
    final_ada: FastLinear,
    final_linear: FastLinear,
}

impl DigitDiT {
    /// Builds the network with the sizes of `config`, taking every tensor from `vb` under the names
    /// of `training/dit.py` (`blocks.0.attn.qkv.weight`, `final.linear.bias`, …).
    #[expect(
        clippy::needless_pass_by_value,
        reason = "candle's convention: a layer takes its VarBuilder by value"
    )]
    pub fn new(config: &DiTConfig, vb: VarBuilder) -> Result<Self> {
        config.validate().map_err(candle_core::Error::Msg)?;
        let d = config.dim;
        let blocks = (0..config.depth)
            .map(|i| {
                let vb = vb.pp("blocks").pp(i.to_string());
                let hidden = config.mlp_ratio * d;
                let qkv = fast_linear(d, 3 * d, vb.pp("attn.qkv"))?;
                let fast = qkv.is_fast().then(|| {
                    let angles = (config.positions == Positions::Rope)
                        .then(|| rope::rope_angles(config.grid(), config.head_dim()));
                    PreparedAttention::new(config.heads, angles.as_deref())
                });
                Ok(Block {
                    attn: Attention {
                        qkv,
                        proj: fast_linear(d, d, vb.pp("attn.proj"))?,
                        heads: config.heads,
                        fast,
                    },
                    mlp: Mlp {
                        fc1: fast_linear(d, hidden, vb.pp("mlp.fc1"))?.with_gelu(),
                        fc2: fast_linear(hidden, d, vb.pp("mlp.fc2"))?,
                    },
                    ada: fast_linear(d, 6 * d, vb.pp("ada"))?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let pos_embed = match config.positions {
            Positions::Learned => Some(vb.get((config.tokens(), d), "pos_embed")?),
            Positions::Rope | Positions::None => None,
        };
        let rope = match config.positions {
            Positions::Rope => Some(RopeTable::new(
                config.grid(),
                config.head_dim(),
                vb.device(),
            )?),
            Positions::Learned | Positions::None => None,
        };
        let time_mlp = config
            .time_input
            .then(|| TimeMlp::new(config.sinusoid_dim, d, vb.pp("time_mlp")))
            .transpose()?;
        Ok(Self {
            config: config.clone(),
            patch_embed: fast_linear(config.patch_values(), d, vb.pp("patch_embed"))?,
            pos_embed,
            rope,
            time_mlp,
            class_emb: candle_nn::embedding(config.classes + 1, d, vb.pp("class_emb"))?,
            blocks,
            final_ada: fast_linear(d, 2 * d, vb.pp("final.ada"))?,
            final_linear: fast_linear(d, config.patch_values(), vb.pp("final.linear"))?,
        })
    }

    /// The sizes this network was built with.
    pub fn config(&self) -> &DiTConfig {
        &self.config
    }

    /// Whether this network runs on our CPU kernels (its linear layers).
    pub fn uses_our_kernels(&self) -> bool {
        self.patch_embed.is_fast()
    }

    /// The learned position of each patch `(tokens, dim)`, for a model with learned positions.
    pub fn position_embedding(&self) -> Option<&Tensor> {
        self.pos_embed.as_ref()
    }

    /// What the network makes of the time input alone, time_mlp(sinusoid(t)) `(B, dim)`; `None`
    /// for a model not told t.
    pub fn time_embedding(&self, t: &Tensor) -> Result<Option<Tensor>> {
        self.time_mlp.as_ref().map(|mlp| mlp.forward(t)).transpose()
    }

    /// The conditioning c = time_mlp(sinusoid(t)) + class_emb(y) (without the first term for a
    /// model not told t), `(B, dim)`.
    pub fn conditioning(&self, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        let class = self.class_emb.forward(&y.to_dtype(DType::U32)?)?;
        match &self.time_mlp {
            Some(time_mlp) => time_mlp.forward(t)? + class,
            None => Ok(class),
        }
    }

    /// The network's prediction for a batch: `x` `(B, C, H, W)` f32, `t` `(B,)`, `y` `(B,)` class
    /// ids (the conventions of [`DigitUNet::forward`](super::DigitUNet::forward)).
    pub fn forward(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        self.check_inputs(x, t, y)?;
        // Many short parallel layers: the pool's threads wait for them awake.
        with_warm_workers_on(x.device(), || Ok(self.layers(x, t, y, false)?.0))
    }

    /// [`Self::forward`], and each block's attention weights `(B, heads, tokens, tokens)`
    /// (attention through candle's operations, which keep them).
    pub fn forward_with_attention(
        &self,
        x: &Tensor,
        t: &Tensor,
        y: &Tensor,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        self.check_inputs(x, t, y)?;
        self.layers(x, t, y, true)
    }

    /// Every layer in order on checked inputs; the attention weights when `keep_weights`.
    fn layers(
        &self,
        x: &Tensor,
        t: &Tensor,
        y: &Tensor,
        keep_weights: bool,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let mut h = self
            .patch_embed
            .forward(&patches::patchify(x, self.config.patch)?)?;
        if let Some(pos) = &self.pos_embed {
            h = h.broadcast_add(pos)?;
        }
        let c_silu = self.conditioning(t, y)?.silu()?;
        let mut attention = Vec::with_capacity(self.blocks.len());
        for block in &self.blocks {
            let (next, weights) = block.forward(&h, &c_silu, self.rope.as_ref(), keep_weights)?;
            h = next;
            attention.extend(weights);
        }
        let m = self.final_ada.forward(&c_silu)?.chunk(2, 1)?;
        let normed = modulate(&h, (&m[0], &m[1]), self.uses_our_kernels())?;
        let out = self.final_linear.forward(&normed)?;
        let (_, c, height, width) = x.dims4()?;
        let image = patches::unpatchify(&out, c, height, width, self.config.patch)?;
        Ok((image, attention))
    }

    fn check_inputs(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Result<()> {
        let (b, c, height, width) = x.dims4()?;
        let size = self.config.image_size;
        if c != self.config.in_channels || t.dims() != [b] || y.dims() != [b] {
            candle_core::bail!(
                "DigitDiT expects x (B, {}, H, W), t (B,), y (B,); got x {:?}, t {:?}, y {:?}",
                self.config.in_channels,
                x.dims(),
                t.dims(),
                y.dims()
            );
        }
        if (height, width) != (size, size) {
            candle_core::bail!("DigitDiT takes {size}×{size} pictures, got {height}×{width}");
        }
        Ok(())
    }
}

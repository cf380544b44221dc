//! The digit transformer's layers on the CPU, as candle custom operations (forward only):
//! candle's GELU calls libm's `tanhf` one value at a time (45 % of a DiT forward pass at batch
//! 64), and its attention over heads copies q, k, v and the output in and out of a head-major
//! layout around small batched products.
//!
//! - [`gelu_in_place`]: GELU, tanh approximation (candle's `gelu`, PyTorch's
//!   `gelu(approximate="tanh")`), with tanh from the kernels' vectorisable e^x; the linear layer
//!   applies it to each block of rows as it finishes (`PreparedLinear::with_gelu`).
//! - [`layer_norm_modulate`]: adaLN's LN(x)·(1 + scale) + shift in one pass per row, LN without
//!   parameters, scale and shift per sample.
//! - [`gated_residual`]: adaLN-zero's x + gate ⊙ y in one pass.
//! - [`PreparedAttention`]: softmax(q kᵀ/√d) v for every head, read straight from the qkv
//!   projection's rows `(B, N, 3D)` and written straight into `(B, N, D)`, with 2D rotary
//!   embeddings applied to q and k on the way when the model has them.
//!
//! Samples run in parallel; within one, rows are visited in order, so the bits never depend on
//! the thread count.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

use super::contiguous_f32;
use super::matmul::{Product, gemm_acc};
use super::norm::exp;

/// √(2/π), GELU's tanh approximation's constant.
const GELU_SCALE: f32 = 0.797_884_6;

/// GELU of one value: x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))), tanh(y) = 1 − 2/(e^{2y} + 1).
#[inline(always)]
fn gelu(x: f32) -> f32 {
    let y = GELU_SCALE * (x + 0.044_715 * x * x * x);
    let tanh = 1.0 - 2.0 / (exp(2.0 * y) + 1.0);
    0.5 * x * (1.0 + tanh)
}

struct GeluValues<'a>(&'a mut [f32]);

impl pulp::WithSimd for GeluValues<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for value in self.0.iter_mut() {
            *value = gelu(*value);
        }
    }
}

/// values ← GELU(values), compiled for the widest vectors the CPU has.
pub fn gelu_in_place(values: &mut [f32]) {
    pulp::Arch::new().dispatch(GeluValues(values));
}

/// adaLN's LN(x)·(1 + scale) + shift: `x` `(B, N, D)`, `shift` and `scale` `(B, D)`, f32 on the
/// CPU; LN without parameters, ε = `eps`.
pub fn layer_norm_modulate(x: &Tensor, shift: &Tensor, scale: &Tensor, eps: f32) -> Result<Tensor> {
    x.contiguous()?.apply_op3_no_bwd(
        &shift.contiguous()?,
        &scale.contiguous()?,
        &LayerNormModulate { eps },
    )
}

struct LayerNormModulate {
    eps: f32,
}

impl CustomOp3 for LayerNormModulate {
    fn name(&self) -> &'static str {
        "diffuscope-layer-norm-modulate"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        shift: &CpuStorage,
        shift_layout: &Layout,
        scale: &CpuStorage,
        scale_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(self.name(), x, x_layout)?;
        let shift = contiguous_f32(self.name(), shift, shift_layout)?;
        let scale = contiguous_f32(self.name(), scale, scale_layout)?;
        let (batch, tokens, dim) = x_layout.shape().dims3()?;
        if shift_layout.dims() != [batch, dim] || scale_layout.dims() != [batch, dim] {
            bail!(
                "layer norm: x {:?} needs shift and scale ({batch}, {dim}), got {:?} and {:?}",
                x_layout.dims(),
                shift_layout.dims(),
                scale_layout.dims()
            );
        }
        let mut out = vec![0f32; x.len()];
        let per_sample = (tokens * dim).max(1);
        out.par_chunks_mut(per_sample)
            .zip(x.par_chunks(per_sample))
            .enumerate()
            .for_each(|(b, (dst, src))| {
                let shift = &shift[b * dim..][..dim];
                let scale = &scale[b * dim..][..dim];
                for (row_out, row) in dst.chunks_exact_mut(dim).zip(src.chunks_exact(dim)) {
                    normalise_row(row, row_out, (shift, scale), self.eps);
                }
            });
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }
}

/// One row: (x − mean)/√(var + ε)·(1 + scale) + shift, the variance taken about the mean (two
/// passes, as PyTorch does).
fn normalise_row(row: &[f32], out: &mut [f32], (shift, scale): (&[f32], &[f32]), eps: f32) {
    let n = row.len().max(1) as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|&v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let inv = 1.0 / (var + eps).sqrt();
    for (((o, &v), &sh), &sc) in out.iter_mut().zip(row).zip(shift).zip(scale) {
        *o = (v - mean) * inv * (1.0 + sc) + sh;
    }
}

/// adaLN-zero's gated residual x + gate ⊙ y: `x`, `y` `(B, N, D)`, `gate` `(B, D)` per sample,
/// f32 on the CPU, in one pass (candle's broadcast product and sum are two, each handing its
/// chunks to a thread pool of its own).
pub fn gated_residual(x: &Tensor, y: &Tensor, gate: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3_no_bwd(&y.contiguous()?, &gate.contiguous()?, &GatedResidual)
}

struct GatedResidual;

impl CustomOp3 for GatedResidual {
    fn name(&self) -> &'static str {
        "diffuscope-gated-residual"
    }

    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        y: &CpuStorage,
        y_layout: &Layout,
        gate: &CpuStorage,
        gate_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(self.name(), x, x_layout)?;
        let y = contiguous_f32(self.name(), y, y_layout)?;
        let gate = contiguous_f32(self.name(), gate, gate_layout)?;
        let (batch, tokens, dim) = x_layout.shape().dims3()?;
        if y_layout.dims() != x_layout.dims() || gate_layout.dims() != [batch, dim] {
            bail!(
                "gated residual: x {:?}, y {:?}, gate {:?}",
                x_layout.dims(),
                y_layout.dims(),
                gate_layout.dims()
            );
        }
        let mut out = x.to_vec();
        let per_sample = (tokens * dim).max(1);
        out.par_chunks_mut(per_sample)
            .zip(y.par_chunks(per_sample))
            .enumerate()
            .for_each(|(b, (dst, update))| {
                let gate = &gate[b * dim..][..dim];
                for (row, update) in dst.chunks_exact_mut(dim).zip(update.chunks_exact(dim)) {
                    for ((o, &u), &g) in row.iter_mut().zip(update).zip(gate) {
                        *o += g * u;
                    }
                }
            });
        Ok((CpuStorage::F32(out), x_layout.shape().clone()))
    }
}

/// Multi-head self-attention's core for one model: its number of heads and, for 2D RoPE, the
/// cos and sin of each token's angles (`tokens × head_dim/2`, as [`crate::model::dit::rope`]).
#[derive(Clone, Debug)]
pub struct PreparedAttention {
    heads: usize,
    rope: Option<RotaryTable>,
}

/// The cos and sin of each token's rotary angles, `tokens × head_dim/2` each.
type RotaryTable = (Arc<[f32]>, Arc<[f32]>);

impl PreparedAttention {
    /// Attention with `heads` heads; `rope_angles`, one row of angles per token, turns q and k.
    pub fn new(heads: usize, rope_angles: Option<&[Vec<f32>]>) -> Self {
        let rope = rope_angles.map(|angles| {
            let flat = || angles.iter().flatten();
            let cos: Arc<[f32]> = flat().map(|a| a.cos()).collect();
            let sin: Arc<[f32]> = flat().map(|a| a.sin()).collect();
            (cos, sin)
        });
        Self { heads, rope }
    }

    /// softmax(q kᵀ/√d) v per head for `qkv` `(B, N, 3D)` → `(B, N, D)`.
    pub fn forward(&self, qkv: &Tensor) -> Result<Tensor> {
        qkv.contiguous()?.apply_op1_no_bwd(self)
    }

    /// The rows of one head's q (or k) as a `tokens × head_dim` matrix, turned by RoPE if the
    /// model has it.
    fn head_rows(
        &self,
        rows: &[f32],
        (width, offset, head_dim): (usize, usize, usize),
    ) -> Vec<f32> {
        let tokens = rows.len() / width;
        let mut out = Vec::with_capacity(tokens * head_dim);
        for (token, row) in rows.chunks_exact(width).enumerate() {
            let values = &row[offset..offset + head_dim];
            match &self.rope {
                Some((cos, sin)) => {
                    let half = head_dim / 2;
                    let at = token * half;
                    out.extend(turned(values, &cos[at..at + half], &sin[at..at + half]));
                }
                None => out.extend_from_slice(values),
            }
        }
        out
    }

    /// One sample's attention, every head in turn, into `out` `(N, D)`.
    fn sample(&self, rows: &[f32], out: &mut [f32], dim: usize) -> Result<()> {
        let width = 3 * dim;
        let tokens = rows.len() / width;
        let head_dim = dim / self.heads;
        let scale = 1.0 / (head_dim as f32).sqrt();
        let mut k_t = vec![0f32; head_dim * tokens];
        let mut scores = vec![0f32; tokens * tokens];
        for head in 0..self.heads {
            let q = self.head_rows(rows, (width, head * head_dim, head_dim));
            let k = self.head_rows(rows, (width, dim + head * head_dim, head_dim));
            for (j, key) in k.chunks_exact(head_dim).enumerate() {
                for (p, &value) in key.iter().enumerate() {
                    k_t[p * tokens + j] = value;
                }
            }
            scores.fill(0.0);
            let square = |k| Product {
                m: tokens,
                n: tokens,
                k,
                lhs_rs: k,
                rhs_rs: tokens,
                dst_rs: tokens,
            };
            gemm_acc(square(head_dim), &q, &k_t, &mut scores)?;
            super::linear::softmax_rows(&mut scores, tokens, scale);
            let values = Product {
                m: tokens,
                n: head_dim,
                k: tokens,
                lhs_rs: tokens,
                rhs_rs: width,
                dst_rs: dim,
            };
            let v = &rows[2 * dim + head * head_dim..];
            gemm_acc(values, &scores, v, &mut out[head * head_dim..])?;
        }
        Ok(())
    }
}

/// `values` with each pair (i, i + h/4) of each half turned, as `rope::rotate` does.
fn turned<'a>(values: &'a [f32], cos: &'a [f32], sin: &'a [f32]) -> impl Iterator<Item = f32> + 'a {
    let half = values.len() / 2;
    let quarter = half / 2;
    (0..values.len()).map(move |i| {
        let (part, within) = (i / half, i % half);
        let base = part * half;
        let pair = within % quarter;
        let angle = part * quarter + pair;
        let (a, b) = (values[base + pair], values[base + quarter + pair]);
        if within < quarter {
            a * cos[angle] - b * sin[angle]
        } else {
            a * sin[angle] + b * cos[angle]
        }
    })
}

impl CustomOp1 for PreparedAttention {
    fn name(&self) -> &'static str {
        "diffuscope-multi-head-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = contiguous_f32(self.name(), storage, layout)?;
        let (batch, tokens, width) = layout.shape().dims3()?;
        let dim = width / 3;
        let heads = self.heads.max(1);
        if !width.is_multiple_of(3)
            || !dim.is_multiple_of(heads)
            || !(dim / heads).is_multiple_of(4)
        {
            bail!("attention: {width} values per token cannot hold q, k, v of {heads} heads");
        }
        if let Some((cos, _)) = &self.rope
            && cos.len() != tokens * dim / heads / 2
        {
            bail!("attention: the rotary table is not for {tokens} tokens");
        }
        let mut out = vec![0f32; batch * tokens * dim];
        let per_sample = (tokens * dim).max(1);
        out.par_chunks_mut(per_sample)
            .zip(qkv.par_chunks((tokens * width).max(1)))
            .try_for_each(|(dst, rows)| self.sample(rows, dst, dim))?;
        Ok((CpuStorage::F32(out), Shape::from((batch, tokens, dim))))
    }
}

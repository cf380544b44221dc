//! Fully connected layers and the core of single-head self-attention on `gemm`, as candle custom
//! operations on the CPU. candle's own matrix product asks the operating system for the number of
//! cores on every call (it reads /proc/cpuinfo), which at batch 1 cost as much as the products.
//!
//! Linear, x `(…, K)` → y `(…, N)`, with W `(N, K)` and β `(N,)` as PyTorch stores them:
//! ```text
//! y[r, j] = β[j] + Σ_p x[r, p] · W[j, p]          (computed as x · Wᵀ, Wᵀ prepared once)
//! ```
//! Attention core, qkv `(B, T, 3C)` (q, k, v side by side in each row) → o `(B, T, C)`:
//! ```text
//! S = q kᵀ / √C,   P = softmax over each row of S,   o = P v
//! ```
//! Rows are cut into blocks by shape only, so the bits never depend on the thread count; the
//! pool's threads take the blocks one at a time (`claimed.rs`). A layer of a few rows (batch 1's
//! attention block: 49 tokens) is still cut in two, so that it does not run on one thread.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, bail};

use super::claimed::try_for_each_claimed;
use super::contiguous_f32;
use super::matmul::{Product, gemm_acc};

/// Rows per block of a linear layer (blocks run in parallel).
const ROWS_PER_BLOCK: usize = 256;
/// Below this many multiply-adds, a linear layer or a sample's attention runs on the calling
/// thread, in one block.
const PARALLEL_MIN_MACS: usize = 1 << 16;

/// Rows per block when `rows` rows of `macs_per_row` multiply-adds are cut (by shape only).
fn rows_per_block(rows: usize, macs_per_row: usize) -> usize {
    if rows > ROWS_PER_BLOCK {
        ROWS_PER_BLOCK
    } else if rows.saturating_mul(macs_per_row) >= PARALLEL_MIN_MACS {
        rows.div_ceil(2).max(1)
    } else {
        rows.max(1)
    }
}

/// Runs `f` on each of `blocks`: over the pool where there are several, else on this thread.
fn for_each_block<T: Send>(
    blocks: impl ExactSizeIterator<Item = T> + Send,
    f: impl Fn(T) -> Result<()> + Sync,
) -> Result<()> {
    if blocks.len() > 1 {
        try_for_each_claimed(blocks, f)
    } else {
        blocks.into_iter().try_for_each(f)
    }
}

/// A linear layer's weights, copied out of candle's tensors once.
#[derive(Clone, Debug)]
pub struct PreparedLinear {
    inputs: usize,
    outputs: usize,
    /// Wᵀ, `(K, N)` row-major.
    weight_t: Arc<[f32]>,
    /// β, `(N,)` (zeros when the layer has none).
    bias: Arc<[f32]>,
    /// Whether GELU (tanh approximation) follows, applied to each block of rows as it is done.
    gelu: bool,
}

impl PreparedLinear {
    /// Copies W `(N, K)` (transposed) and β `(N,)`.
    pub fn new(weight: &Tensor, bias: Option<&Tensor>) -> Result<Self> {
        let (outputs, inputs) = weight.dims2()?;
        let weight_t: Vec<f32> = weight.t()?.contiguous()?.flatten_all()?.to_vec1()?;
        let bias: Vec<f32> = match bias {
            Some(b) => b.flatten_all()?.to_vec1()?,
            None => vec![0.0; outputs],
        };
        if bias.len() != outputs {
            bail!("linear: {} biases for {outputs} outputs", bias.len());
        }
        Ok(Self {
            inputs,
            outputs,
            weight_t: weight_t.into(),
            bias: bias.into(),
            gelu: false,
        })
    }

    /// The same layer followed by GELU (tanh approximation), sharing the weights.
    #[must_use]
    pub fn with_gelu(&self) -> Self {
        Self {
            gelu: true,
            ..self.clone()
        }
    }

    /// x · Wᵀ + β for `x` of shape `(…, K)`, f32 on the CPU.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x.contiguous()?.apply_op1_no_bwd(self)
    }
}

impl CustomOp1 for PreparedLinear {
    fn name(&self) -> &'static str {
        "diffuscope-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(self.name(), storage, layout)?;
        let dims = layout.dims();
        if dims.last() != Some(&self.inputs) {
            bail!("linear: expected (…, {}), got {dims:?}", self.inputs);
        }
        let rows = x.len() / self.inputs.max(1);
        let mut out = vec![0f32; rows * self.outputs];
        // Rows `first..` into `dst`.
        let block = |(first, dst): (usize, &mut [f32])| -> Result<()> {
            let m = dst.len() / self.outputs.max(1);
            for row in dst.chunks_mut(self.outputs) {
                row.copy_from_slice(&self.bias);
            }
            gemm_acc(
                Product {
                    m,
                    n: self.outputs,
                    k: self.inputs,
                    lhs_rs: self.inputs,
                    rhs_rs: self.outputs,
                    dst_rs: self.outputs,
                },
                &x[first * self.inputs..],
                &self.weight_t,
                dst,
            )?;
            if self.gelu {
                super::transformer::gelu_in_place(dst);
            }
            Ok(())
        };
        let per_block = rows_per_block(rows, self.inputs * self.outputs);
        for_each_block(
            out.chunks_mut(per_block * self.outputs.max(1)).enumerate(),
            |(index, dst)| block((index * per_block, dst)),
        )?;
        let mut shape = dims.to_vec();
        if let Some(last) = shape.last_mut() {
            *last = self.outputs;
        }
        Ok((CpuStorage::F32(out), Shape::from(shape)))
    }
}

/// softmax(q kᵀ / √C) v for `qkv` of shape `(B, T, 3C)`, f32 on the CPU: `(B, T, C)`.
pub fn attention_core(qkv: &Tensor) -> Result<Tensor> {
    qkv.contiguous()?.apply_op1_no_bwd(&AttentionCore)
}

struct AttentionCore;

impl CustomOp1 for AttentionCore {
    fn name(&self) -> &'static str {
        "diffuscope-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let qkv = contiguous_f32(self.name(), storage, layout)?;
        let (batch, tokens, width) = layout.shape().dims3()?;
        if width % 3 != 0 || width == 0 {
            bail!("attention: the last dimension ({width}) must hold q, k and v");
        }
        let c = width / 3;
        let scale = 1.0 / (c as f32).sqrt();
        let mut out = vec![0f32; batch * tokens * c];
        // The queries `first..` of sample `b` (as many as `dst` has rows).
        let block = |b: usize, first: usize, dst: &mut [f32]| -> Result<()> {
            let rows = &qkv[b * tokens * width..][..tokens * width];
            let queries = dst.len() / c;
            // kᵀ as a (C, T) matrix, and the scores S = q kᵀ, (T, T).
            let mut k_t = vec![0f32; c * tokens];
            for (j, row) in rows.chunks_exact(width).enumerate() {
                for (p, &value) in row[c..2 * c].iter().enumerate() {
                    k_t[p * tokens + j] = value;
                }
            }
            let mut scores = vec![0f32; queries * tokens];
            gemm_acc(
                Product {
                    m: queries,
                    n: tokens,
                    k: c,
                    lhs_rs: width,
                    rhs_rs: tokens,
                    dst_rs: tokens,
                },
                &rows[first * width..],
                &k_t,
                &mut scores,
            )?;
            pulp::Arch::new().dispatch(SoftmaxRows {
                scores: &mut scores,
                tokens,
                scale,
            });
            // o = P v, with v the last C values of each row.
            gemm_acc(
                Product {
                    m: queries,
                    n: c,
                    k: tokens,
                    lhs_rs: tokens,
                    rhs_rs: width,
                    dst_rs: c,
                },
                &scores,
                &rows[2 * c..],
                dst,
            )
        };
        let per_sample = tokens * c;
        if per_sample == 0 {
            return Ok((CpuStorage::F32(out), Shape::from((batch, tokens, c))));
        }
        // A sample's queries in blocks: several samples are blocks enough; a lone one is cut
        // in two when it is large enough (by shape only, as the module says).
        let per_block = if batch > 1 {
            tokens
        } else {
            rows_per_block(tokens, 2 * tokens * c)
        };
        let blocks = out
            .chunks_mut(per_sample)
            .enumerate()
            .flat_map(|(b, sample)| {
                sample
                    .chunks_mut(per_block * c)
                    .enumerate()
                    .map(move |(i, dst)| (b, i * per_block, dst))
            });
        let blocks: Vec<_> = blocks.collect();
        for_each_block(blocks.into_iter(), |(b, first, dst)| block(b, first, dst))?;
        Ok((CpuStorage::F32(out), Shape::from((batch, tokens, c))))
    }
}

/// Every row of `tokens` scores ← softmax(scale · row), vectorised (see [`SoftmaxRows`]).
pub(super) fn softmax_rows(scores: &mut [f32], tokens: usize, scale: f32) {
    pulp::Arch::new().dispatch(SoftmaxRows {
        scores,
        tokens,
        scale,
    });
}

/// Every row of `tokens` scores ← softmax(scale · row): the operation [`pulp::Arch::dispatch`]
/// runs, compiled once more for AVX2+FMA and AVX-512 so the exponentials (the kernels' branch-free
/// [`exp`](super::norm::exp)) go many to a vector instead of one libm call each — at 256 tokens
/// they were a quarter of an attention block's time.
struct SoftmaxRows<'a> {
    scores: &'a mut [f32],
    tokens: usize,
    scale: f32,
}

impl pulp::WithSimd for SoftmaxRows<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        for row in self.scores.chunks_exact_mut(self.tokens) {
            softmax_in_place(row, self.scale);
        }
    }
}

/// row ← softmax(scale · row), subtracting the largest value first (as candle and PyTorch do).
#[inline(always)]
fn softmax_in_place(row: &mut [f32], scale: f32) {
    let largest = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v * scale));
    for value in row.iter_mut() {
        *value = super::norm::exp(*value * scale - largest);
    }
    let sum = lane_sum(row);
    for value in row.iter_mut() {
        *value /= sum;
    }
}

/// Σ row in 16 partial sums (so the loop vectorises), added up in order.
#[inline(always)]
fn lane_sum(row: &[f32]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let chunks = row.chunks_exact(LANES);
    let rest: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + rest
}

//! GroupNorm fused with an optional SiLU, as one candle custom operation on the CPU.
//!
//! For x of shape `(B, C, S…)` (S… the spatial sizes, n = their product), G groups of C/G channels:
//! ```text
//! μ[b,g]  = mean of x[b, c, s] over the c in group g and all s
//! σ²[b,g] = mean of (x[b, c, s] − μ[b,g])²            (biased, as PyTorch and candle)
//! y[b,c,s] = (x[b,c,s] − μ) / √(σ² + ε) · γ[c] + β[c]   = (x − μ)·a[c] + β[c],
//!            a[c] = γ[c] / √(σ² + ε)
//! out      = y, or SiLU(y) = y / (1 + e^(−y)) when fused
//! ```
//! One pass over a group's values (contiguous in memory: C/G·n of them) for μ, one for σ², one
//! writing the output; groups run in parallel. Before a Winograd convolution the last pass is
//! left to the convolution: [`PreparedGroupNorm::channel_norms`] hands it (μ, a, β) per channel.
//! `e^x` is a branch-free polynomial ([`exp`]) that the compiler vectorises, within 2 ulp of the
//! library's.

use std::sync::Arc;

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

use super::contiguous_f32;

/// Below this many values, a norm runs on the calling thread (rayon's start-up costs more).
const PARALLEL_MIN: usize = 1 << 14;

/// A GroupNorm's parameters, copied out of their tensors once.
#[derive(Clone, Debug)]
pub struct PreparedGroupNorm {
    groups: usize,
    eps: f32,
    /// γ, one per channel.
    gamma: Arc<[f32]>,
    /// β, one per channel.
    beta: Arc<[f32]>,
}

impl PreparedGroupNorm {
    /// Copies γ (`weight`) and β (`bias`), each of shape `(C,)`; fails unless `groups` divides C.
    pub fn new(weight: &Tensor, bias: &Tensor, groups: usize, eps: f64) -> Result<Self> {
        let gamma: Vec<f32> = weight.flatten_all()?.to_vec1()?;
        let beta: Vec<f32> = bias.flatten_all()?.to_vec1()?;
        if gamma.len() != beta.len() || groups == 0 || !gamma.len().is_multiple_of(groups) {
            bail!(
                "GroupNorm: {groups} groups, {} weights and {} biases do not fit",
                gamma.len(),
                beta.len()
            );
        }
        Ok(Self {
            groups,
            eps: eps as f32,
            gamma: gamma.into(),
            beta: beta.into(),
        })
    }

    /// Number of channels C.
    pub fn channels(&self) -> usize {
        self.gamma.len()
    }

    /// The norm (and SiLU when `silu`) of `x`, shape `(B, C, S…)`, f32 on the CPU; the result is
    /// a new contiguous tensor without autograd history.
    pub fn forward(&self, x: &Tensor, silu: bool) -> Result<Tensor> {
        let x = x.contiguous()?;
        x.apply_op1_no_bwd(&NormOp { norm: self, silu })
    }
}

/// The custom operation: [`PreparedGroupNorm`] applied to its one input.
struct NormOp<'a> {
    norm: &'a PreparedGroupNorm,
    silu: bool,
}

impl CustomOp1 for NormOp<'_> {
    fn name(&self) -> &'static str {
        if self.silu {
            "diffuscope-group-norm-silu"
        } else {
            "diffuscope-group-norm"
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(self.name(), storage, layout)?;
        let dims = layout.dims();
        if dims.len() < 3 || dims[1] != self.norm.channels() {
            bail!(
                "{}: expected (B, {}, …), got {dims:?}",
                self.name(),
                self.norm.channels()
            );
        }
        let spatial: usize = dims[2..].iter().product();
        let out = group_norm(self.norm, x, spatial, self.silu);
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// The kernel on plain slices: `x` holds `(B, C, n)` values, contiguous; returns the same shape.
pub(super) fn group_norm(norm: &PreparedGroupNorm, x: &[f32], n: usize, silu: bool) -> Vec<f32> {
    let per_group = norm.channels() / norm.groups;
    let group_len = (per_group * n).max(1);
    let mut out = super::zeros(x.len());
    let one = |(index, (dst, src)): (usize, (&mut [f32], &[f32]))| {
        let first_channel = (index % norm.groups) * per_group;
        pulp::Arch::new().dispatch(NormGroup {
            norm,
            first_channel,
            n,
            src,
            dst,
            silu,
        });
    };
    if x.len() < PARALLEL_MIN {
        out.chunks_mut(group_len)
            .zip(x.chunks(group_len))
            .enumerate()
            .for_each(one);
    } else {
        out.par_chunks_mut(group_len)
            .zip(x.par_chunks(group_len))
            .with_min_len((PARALLEL_MIN / 4 / group_len).max(1))
            .enumerate()
            .for_each(one);
    }
    out
}

/// [`normalise_group`]'s arguments, and the operation [`pulp::Arch::dispatch`] runs: compiled once
/// more for AVX2+FMA (the loops, `exp` included, vectorise twice as wide) and picked at run time
/// where the CPU has them.
struct NormGroup<'a> {
    norm: &'a PreparedGroupNorm,
    first_channel: usize,
    n: usize,
    src: &'a [f32],
    dst: &'a mut [f32],
    silu: bool,
}

impl pulp::WithSimd for NormGroup<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        normalise_group(self);
    }
}

/// Lanes of the partial sums (a multiple of every SIMD width, so the loops vectorise).
const LANES: usize = 16;

/// Σ f(v) over `values`, in `LANES` partial f32 sums added up in f64.
#[inline(always)]
pub(super) fn lane_sum(values: &[f32], f: impl Fn(f32) -> f32) -> f64 {
    let mut acc = [0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (a, &v) in acc.iter_mut().zip(chunk) {
            *a += f(v);
        }
    }
    let tail: f64 = rest.iter().map(|&v| f64::from(f(v))).sum();
    acc.iter().map(|&a| f64::from(a)).sum::<f64>() + tail
}

/// Normalises one group: `src` and `dst` hold its channels `first_channel…` with `n` values each.
#[inline(always)]
fn normalise_group(group: NormGroup<'_>) {
    let NormGroup {
        norm,
        first_channel,
        n,
        src,
        dst,
        silu,
    } = group;
    let (mean, inv_std) = group_statistics(src, norm.eps);
    for (c, (d, s)) in dst
        .chunks_mut(n.max(1))
        .zip(src.chunks(n.max(1)))
        .enumerate()
    {
        let channel = first_channel + c;
        let a = norm.gamma[channel] * inv_std;
        let shift = norm.beta[channel];
        if silu {
            for (o, &v) in d.iter_mut().zip(s) {
                *o = silu_of((v - mean) * a + shift);
            }
        } else {
            for (o, &v) in d.iter_mut().zip(s) {
                *o = (v - mean) * a + shift;
            }
        }
    }
}

/// μ and 1/√(σ² + ε) of one group's values.
#[inline(always)]
pub(super) fn group_statistics(values: &[f32], eps: f32) -> (f32, f32) {
    let count = values.len().max(1) as f64;
    let mean = (lane_sum(values, |v| v) / count) as f32;
    let var = lane_sum(values, |v| (v - mean) * (v - mean)) / count;
    (mean, (1.0 / (var + f64::from(eps)).sqrt()) as f32)
}

/// [`group_statistics`]' arguments, and the operation [`pulp::Arch::dispatch`] runs, inlined into
/// a function compiled for each instruction set (a closure handed to `dispatch` is not).
struct Statistics<'a> {
    values: &'a [f32],
    eps: f32,
}

impl pulp::WithSimd for Statistics<'_> {
    type Output = (f32, f32);

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) -> (f32, f32) {
        group_statistics(self.values, self.eps)
    }
}

/// One channel of one sample's GroupNorm as the affine map y = (x − μ)·a + β, kept apart so that
/// a convolution can apply it (and the SiLU) while it reads its input: the same operations in the
/// same order as [`PreparedGroupNorm::forward`], so the same bits.
#[derive(Clone, Copy, Debug)]
pub(super) struct ChannelNorm {
    mean: f32,
    scale: f32,
    shift: f32,
}

impl ChannelNorm {
    /// SiLU((v − μ)·a + β).
    #[inline(always)]
    pub(super) fn silu_of_norm(self, v: f32) -> f32 {
        silu_of((v - self.mean) * self.scale + self.shift)
    }
}

impl PreparedGroupNorm {
    /// The norm of `x` `(B, C, n)` (contiguous f32 values) as one [`ChannelNorm`] per (sample,
    /// channel), in that order, without applying it.
    pub(super) fn channel_norms(&self, x: &[f32], n: usize) -> Vec<ChannelNorm> {
        let per_group = self.channels() / self.groups;
        let group_len = (per_group * n).max(1);
        let statistics = |values: &[f32]| {
            pulp::Arch::new().dispatch(Statistics {
                values,
                eps: self.eps,
            })
        };
        // (μ, 1/σ) of each (sample, group), in order.
        let groups: Vec<(f32, f32)> = if x.len() < PARALLEL_MIN {
            x.chunks(group_len).map(statistics).collect()
        } else {
            x.par_chunks(group_len)
                .with_min_len((PARALLEL_MIN / 4 / group_len).max(1))
                .map(statistics)
                .collect()
        };
        let channels = self.channels();
        (0..groups.len() * per_group)
            .map(|index| {
                let (mean, inv_std) = groups[index / per_group];
                let c = index % channels;
                ChannelNorm {
                    mean,
                    scale: self.gamma[c] * inv_std,
                    shift: self.beta[c],
                }
            })
            .collect()
    }
}

/// SiLU(y) = y / (1 + e^(−y)), with [`exp`].
#[inline(always)]
pub(super) fn silu_of(y: f32) -> f32 {
    y / (1.0 + exp(-y))
}

/// e^x for f32 without branches (so loops over it vectorise): x is clamped to [−87, 88], split as
/// x = k·ln2 + r with k = round(x/ln2) and |r| ≤ ln2/2, e^r from Cephes' degree-7 polynomial
/// (`expf.c`), and 2^k put into the exponent bits. Relative error within 2 ulp on the clamped
/// range (below −87 it returns e^−87 ≈ 1.6e−38 instead of smaller numbers or 0).
#[inline(always)]
pub(super) fn exp(x: f32) -> f32 {
    // 1.5·2^23: adding it rounds to an integer and leaves that integer in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = x - k * LN2_HI - k * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let er = p * r * r + r + 1.0;
    // k is an integer in [−126, 127] here, stored in the low bits of `shifted`'s mantissa.
    let k_bits = shifted.to_bits().wrapping_sub(ROUND.to_bits());
    let two_k = f32::from_bits(k_bits.wrapping_add(127) << 23);
    er * two_k
}

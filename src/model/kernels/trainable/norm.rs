//! GroupNorm, with an optional fused SiLU, that candle differentiates through our kernels.
//!
//! Forward: [`PreparedGroupNorm`]'s kernel. Backward, for one group of N values with
//! x̂ = (x − μ)·r, r = 1/√(σ² + ε), z = x̂·γ[c] + β[c], out = z or SiLU(z), and g = ∂L/∂out:
//! ```text
//! ∂L/∂z = g                          or  g·s·(1 + z·(1 − s)),  s = 1/(1 + e^(−z))   (SiLU)
//! ∂L/∂β[c] = Σ ∂L/∂z                 ∂L/∂γ[c] = Σ ∂L/∂z·x̂      (over the samples and positions)
//! ∂L/∂x = r·(γ[c]·∂L/∂z − m₁ − x̂·m₂),  m₁ = mean of γ·∂L/∂z,  m₂ = mean of γ·∂L/∂z·x̂  (over the group)
//! ```
//! Three passes over each group's values (statistics; ∂L/∂z and its sums; ∂L/∂x), one sample per
//! work item, vectorised as the forward kernel is (16 partial sums, `pulp` dispatch).

use candle_core::{CpuStorage, CustomOp3, Device, Layout, Result, Shape, Tensor, bail};

use super::super::claimed::try_for_each_claimed;
use super::super::norm::{PreparedGroupNorm, exp, group_norm, group_statistics};
use super::super::{contiguous_f32, zeros};
use super::{tensor_of, values_of, with_values};

/// The operation; apply it as `x.apply_op3(&gamma, &beta, TrainableGroupNorm { .. })` with `x`
/// `(B, C, S…)` contiguous and `gamma`, `beta` `(C,)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainableGroupNorm {
    /// Groups; must divide C.
    pub groups: usize,
    /// ε under the square root.
    pub eps: f64,
    /// Whether SiLU follows the norm.
    pub silu: bool,
}

impl CustomOp3 for TrainableGroupNorm {
    fn name(&self) -> &'static str {
        if self.silu {
            "diffuscope-trainable-group-norm-silu"
        } else {
            "diffuscope-trainable-group-norm"
        }
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
        let x = contiguous_f32(self.name(), s1, l1)?;
        let gamma = tensor_of(contiguous_f32(self.name(), s2, l2)?, l2)?;
        let beta = tensor_of(contiguous_f32(self.name(), s3, l3)?, l3)?;
        let norm = PreparedGroupNorm::new(&gamma, &beta, self.groups, self.eps)?;
        let spatial = self.spatial(l1.dims(), norm.channels())?;
        let out = group_norm(&norm, x, spatial, self.silu);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        beta: &Tensor,
        _y: &Tensor,
        grad_y: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let gamma_values = values_of(gamma)?;
        let n = self.spatial(x.dims(), gamma_values.len())?;
        let group = GroupShape {
            channels: gamma_values.len(),
            per_group: gamma_values.len() / self.groups,
            n,
            eps: self.eps as f32,
            silu: self.silu,
        };
        let beta_values = values_of(beta)?;
        let (grad_x, grad_gamma, grad_beta) = with_values(&x.detach(), |x| {
            with_values(&grad_y.detach(), |g| {
                backward(&group, x, g, &gamma_values, &beta_values)
            })
        })?;
        let cpu = &Device::Cpu;
        Ok((
            Some(Tensor::from_vec(grad_x, x.shape(), cpu)?),
            Some(Tensor::from_vec(grad_gamma, gamma.shape(), cpu)?),
            Some(Tensor::from_vec(grad_beta, beta.shape(), cpu)?),
        ))
    }
}

impl TrainableGroupNorm {
    /// The number of positions per channel of an input of `dims` `(B, C, S…)`.
    fn spatial(&self, dims: &[usize], channels: usize) -> Result<usize> {
        if dims.len() < 3 || dims[1] != channels || self.groups == 0 {
            bail!("{}: expected (B, {channels}, …), got {dims:?}", self.name());
        }
        if !channels.is_multiple_of(self.groups) {
            bail!(
                "{}: {} groups for {channels} channels",
                self.name(),
                self.groups
            );
        }
        Ok(dims[2..].iter().product())
    }
}

/// The sizes and settings the backward kernel needs.
#[derive(Clone, Copy, Debug)]
struct GroupShape {
    channels: usize,
    per_group: usize,
    /// Positions per channel.
    n: usize,
    eps: f32,
    silu: bool,
}

/// (∂L/∂x, ∂L/∂γ, ∂L/∂β) from x, g = ∂L/∂out, γ and β.
fn backward(
    shape: &GroupShape,
    x: &[f32],
    grad: &[f32],
    gamma: &[f32],
    beta: &[f32],
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let sample_len = (shape.channels * shape.n).max(1);
    let mut grad_x = zeros(x.len());
    let samples = x.len() / sample_len;
    // Per sample: ∂L/∂γ for each channel, then ∂L/∂β for each.
    let mut partials = vec![0f32; samples * 2 * shape.channels];
    try_for_each_claimed(
        grad_x
            .chunks_mut(sample_len)
            .zip(partials.chunks_mut(2 * shape.channels))
            .enumerate(),
        |(b, (dx, sums))| {
            let range = b * sample_len..(b + 1) * sample_len;
            let (x, g) = (&x[range.clone()], &grad[range]);
            let (dgamma, dbeta) = sums.split_at_mut(shape.channels);
            pulp::Arch::new().dispatch(SampleBackward {
                shape,
                sample: Sample {
                    x,
                    g,
                    dx,
                    dgamma,
                    dbeta,
                },
                gamma,
                beta,
            });
            Ok(())
        },
    )?;
    let mut grad_gamma = vec![0f64; shape.channels];
    let mut grad_beta = vec![0f64; shape.channels];
    for sums in partials.chunks(2 * shape.channels) {
        let (dgamma, dbeta) = sums.split_at(shape.channels);
        for c in 0..shape.channels {
            grad_gamma[c] += f64::from(dgamma[c]);
            grad_beta[c] += f64::from(dbeta[c]);
        }
    }
    let narrow = |v: Vec<f64>| v.into_iter().map(|s| s as f32).collect();
    Ok((grad_x, narrow(grad_gamma), narrow(grad_beta)))
}

/// One sample's values and the gradients it writes.
struct Sample<'a> {
    x: &'a [f32],
    g: &'a [f32],
    dx: &'a mut [f32],
    dgamma: &'a mut [f32],
    dbeta: &'a mut [f32],
}

/// [`sample_backward`]'s arguments, and the operation [`pulp::Arch::dispatch`] runs: inlined into
/// a function compiled for each instruction set (a closure handed to `dispatch` is not, and ran
/// with SSE2 only: 7 % of a training step, `perf annotate`).
struct SampleBackward<'a> {
    shape: &'a GroupShape,
    sample: Sample<'a>,
    gamma: &'a [f32],
    beta: &'a [f32],
}

impl pulp::WithSimd for SampleBackward<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        sample_backward(self);
    }
}

/// The backward pass over one sample's groups.
#[inline(always)]
fn sample_backward(op: SampleBackward<'_>) {
    let SampleBackward {
        shape,
        sample:
            Sample {
                x,
                g,
                dx,
                dgamma,
                dbeta,
            },
        gamma,
        beta,
    } = op;
    let (n, per_group) = (shape.n.max(1), shape.per_group);
    let group_len = per_group * n;
    for (group, ((x, g), dx)) in x
        .chunks(group_len)
        .zip(g.chunks(group_len))
        .zip(dx.chunks_mut(group_len))
        .enumerate()
    {
        let (mean, rstd) = group_statistics(x, shape.eps);
        let first = group * per_group;
        // ∂L/∂z into dx, with the sums over the group.
        let (mut m1, mut m2) = (0f64, 0f64);
        for (c, ((x, g), dz)) in x
            .chunks(n)
            .zip(g.chunks(n))
            .zip(dx.chunks_mut(n))
            .enumerate()
        {
            let channel = first + c;
            let (scale, shift) = (gamma[channel], beta[channel]);
            if shape.silu {
                for ((dz, &v), &g) in dz.iter_mut().zip(x).zip(g) {
                    let z = (v - mean) * rstd * scale + shift;
                    let s = 1.0 / (1.0 + exp(-z));
                    *dz = g * s * (1.0 + z * (1.0 - s));
                }
            } else {
                dz.copy_from_slice(g);
            }
            let (sum, sum_xhat) = sums(dz, x, mean, rstd);
            dbeta[channel] = sum as f32;
            dgamma[channel] = sum_xhat as f32;
            m1 += f64::from(scale) * sum;
            m2 += f64::from(scale) * sum_xhat;
        }
        let count = group_len as f64;
        let (m1, m2) = ((m1 / count) as f32, (m2 / count) as f32);
        for (c, (x, dz)) in x.chunks(n).zip(dx.chunks_mut(n)).enumerate() {
            let scale = gamma[first + c];
            for (d, &v) in dz.iter_mut().zip(x) {
                let xhat = (v - mean) * rstd;
                *d = rstd * (scale * *d - m1 - xhat * m2);
            }
        }
    }
}

/// Lanes of the partial sums (a multiple of every SIMD width, so the loops vectorise).
const LANES: usize = 16;

/// (Σ dz, Σ dz·x̂) with x̂ = (x − μ)·r, in `LANES` partial f32 sums added up in f64.
#[inline(always)]
fn sums(dz: &[f32], x: &[f32], mean: f32, rstd: f32) -> (f64, f64) {
    let (mut sum, mut sum_xhat) = ([0f32; LANES], [0f32; LANES]);
    let chunks = dz.chunks_exact(LANES).zip(x.chunks_exact(LANES));
    for (d, v) in chunks {
        for lane in 0..LANES {
            sum[lane] += d[lane];
            sum_xhat[lane] += d[lane] * ((v[lane] - mean) * rstd);
        }
    }
    let tail = dz.len() - dz.len() % LANES;
    let (mut total, mut total_xhat) = (0f64, 0f64);
    for (&d, &v) in dz[tail..].iter().zip(&x[tail..]) {
        total += f64::from(d);
        total_xhat += f64::from(d * ((v - mean) * rstd));
    }
    let add = |lanes: [f32; LANES]| lanes.iter().map(|&a| f64::from(a)).sum::<f64>();
    (total + add(sum), total_xhat + add(sum_xhat))
}

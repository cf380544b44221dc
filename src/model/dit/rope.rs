//! 2D rotary position embeddings (RoPE) for a grid of patches, as in `training/dit.py`.
//!
//! Each head's `head_dim` values are split in two halves: the first half is turned by the patch's
//! row, the second by its column. Within a half of `h` values, value `i` pairs with value
//! `i + h/2` ("rotate half") and the pair turns by the angle `position · θ_i`,
//! `θ_i = ROPE_BASE^(−i/(h/2))`. A turn keeps a vector's length, and the dot product of a query
//! turned for one patch with a key turned for another depends only on their difference in rows and
//! columns: attention sees relative positions.

use candle_core::{Device, Result, Tensor};

/// The base of the frequencies; the grid is small (7×7), so lower than a language model's 10 000:
/// the slowest pair still turns by about 0.1 rad across the grid.
pub const ROPE_BASE: f32 = 100.0;

/// The angles of each token of a `grid × grid` patch grid (row by row), `head_dim / 2` per token:
/// the first `head_dim / 4` from its row, the rest from its column.
pub fn rope_angles(grid: usize, head_dim: usize) -> Vec<Vec<f32>> {
    let quarter = head_dim / 4;
    let theta: Vec<f32> = (0..quarter)
        .map(|i| ROPE_BASE.powf(-(i as f32) / quarter as f32))
        .collect();
    (0..grid * grid)
        .map(|token| {
            let (row, col) = ((token / grid) as f32, (token % grid) as f32);
            let rows = theta.iter().map(|&th| row * th);
            let cols = theta.iter().map(|&th| col * th);
            rows.chain(cols).collect()
        })
        .collect()
}

/// Turns one head's vector `x` (`head_dim` values) by the angles of one token (`head_dim / 2`).
pub fn rotate(x: &[f32], angles: &[f32]) -> Vec<f32> {
    let half = x.len() / 2;
    let quarter = half / 2;
    let mut out = vec![0.0; x.len()];
    for (part, offset) in [0, half].into_iter().enumerate() {
        for i in 0..quarter {
            let (sin, cos) = angles[part * quarter + i].sin_cos();
            let (a, b) = (x[offset + i], x[offset + quarter + i]);
            out[offset + i] = a * cos - b * sin;
            out[offset + quarter + i] = a * sin + b * cos;
        }
    }
    out
}

/// The cos and sin of [`rope_angles`] as tensors `(tokens, head_dim / 2)`.
#[derive(Clone, Debug)]
pub struct RopeTable {
    cos: Tensor,
    sin: Tensor,
}

impl RopeTable {
    /// The table of a `grid × grid` patch grid for heads of `head_dim` values.
    pub fn new(grid: usize, head_dim: usize, device: &Device) -> Result<Self> {
        let angles: Vec<f32> = rope_angles(grid, head_dim).into_iter().flatten().collect();
        let angles = Tensor::from_vec(angles, (grid * grid, head_dim / 2), device)?;
        Ok(Self {
            cos: angles.cos()?,
            sin: angles.sin()?,
        })
    }

    /// Turns queries or keys `x` `(B, heads, tokens, head_dim)` by each token's angles.
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        let half = x.dim(3)? / 2;
        let quarter = half / 2;
        let rows = self.rotate_half(&x.narrow(3, 0, half)?, 0, quarter)?;
        let cols = self.rotate_half(&x.narrow(3, half, half)?, quarter, quarter)?;
        Tensor::cat(&[rows, cols], 3)
    }

    /// Turns the pairs (x_i, x_{i + n}) of `x` `(…, 2n)` by the table's columns `first..first + n`.
    fn rotate_half(&self, x: &Tensor, first: usize, n: usize) -> Result<Tensor> {
        let cos = self.cos.narrow(1, first, n)?;
        let sin = self.sin.narrow(1, first, n)?;
        let a = x.narrow(3, 0, n)?;
        let b = x.narrow(3, n, n)?;
        let turned_a = (a.broadcast_mul(&cos)? - b.broadcast_mul(&sin)?)?;
        let turned_b = (a.broadcast_mul(&sin)? + b.broadcast_mul(&cos)?)?;
        Tensor::cat(&[turned_a, turned_b], 3)
    }
}

//! Cutting pictures into patch tokens and back, as `patchify` / `unpatchify` in
//! `training/dit.py`: tokens row by row over the patch grid, a patch's values in (channel, row,
//! column) order.

use candle_core::{Result, Tensor};

/// `(B, C, H, W)` → `(B, (H/p)·(W/p), C·p·p)`.
pub fn patchify(x: &Tensor, p: usize) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    x.reshape((b, c, h / p, p, w / p, p))?
        .permute((0, 2, 4, 1, 3, 5))?
        .reshape((b, (h / p) * (w / p), c * p * p))
}

/// The inverse of [`patchify`]: tokens `(B, (H/p)·(W/p), C·p·p)` → `(B, C, H, W)`.
pub fn unpatchify(tokens: &Tensor, c: usize, h: usize, w: usize, p: usize) -> Result<Tensor> {
    let b = tokens.dim(0)?;
    tokens
        .reshape((b, h / p, w / p, c, p, p))?
        .permute((0, 3, 1, 4, 2, 5))?
        .reshape((b, c, h, w))
}

//! The library's one place with `unsafe`: a bounds-checked, safe wrapper around `gemm::gemm` (the
//! matrix-product crate candle itself uses), single-threaded, accumulating into its destination.
//!
//! Invariant the wrapper relies on (checked before the call, so the call cannot read or write
//! outside the slices): with row-major operands,
//! - `lhs` holds an `m × k` matrix with row stride `lhs_rs ≥ k`: every index `i·lhs_rs + p`
//!   (i < m, p < k) is below `lhs.len()`;
//! - `rhs` holds a `k × n` matrix with row stride `rhs_rs ≥ n`: every `p·rhs_rs + j` is below
//!   `rhs.len()`;
//! - `dst` holds an `m × n` matrix with row stride `dst_rs ≥ n`: every `i·dst_rs + j` is below
//!   `dst.len()`, and distinct (i, j) give distinct indices, so the writes never overlap.
//!
//! `dst` is a `&mut` slice, so it cannot alias `lhs` or `rhs`; the call uses
//! `Parallelism::None`, so nothing outlives it on another thread.
#![expect(
    unsafe_code,
    reason = "gemm::gemm takes raw pointers; this module checks the bounds it needs"
)]

use candle_core::{Result, bail};

/// Strides and sizes of one product `dst += lhs · rhs` (see the module's invariant).
#[derive(Clone, Copy, Debug)]
pub(super) struct Product {
    /// Rows of `lhs` and `dst`.
    pub m: usize,
    /// Columns of `rhs` and `dst`.
    pub n: usize,
    /// Columns of `lhs`, rows of `rhs`.
    pub k: usize,
    /// Row stride of `lhs`.
    pub lhs_rs: usize,
    /// Row stride of `rhs`.
    pub rhs_rs: usize,
    /// Row stride of `dst`.
    pub dst_rs: usize,
}

/// The smallest length a row-major matrix with `rows` rows of `cols` values, `stride` apart,
/// needs; `None` on overflow.
fn needed(rows: usize, cols: usize, stride: usize) -> Option<usize> {
    rows.checked_sub(1)?.checked_mul(stride)?.checked_add(cols)
}

/// `dst[i·dst_rs + j] += Σ_p lhs[i·lhs_rs + p] · rhs[p·rhs_rs + j]` for i < m, j < n, p < k,
/// computed by `gemm::gemm` on the calling thread. Fails (without touching `dst`) if a slice is
/// too short or a stride too small for the sizes.
pub(super) fn gemm_acc(p: Product, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) -> Result<()> {
    if p.m == 0 || p.n == 0 || p.k == 0 {
        // Nothing to add.
        return Ok(());
    }
    if p.m == 1 {
        return single_row(p, lhs, rhs, dst);
    }
    let fits = |len: usize, rows: usize, cols: usize, stride: usize| {
        cols <= stride && needed(rows, cols, stride).is_some_and(|need| need <= len)
    };
    if !fits(lhs.len(), p.m, p.k, p.lhs_rs)
        || !fits(rhs.len(), p.k, p.n, p.rhs_rs)
        || !fits(dst.len(), p.m, p.n, p.dst_rs)
    {
        bail!(
            "gemm_acc: {p:?} does not fit slices of {}, {} and {} values",
            lhs.len(),
            rhs.len(),
            dst.len()
        );
    }
    let (Ok(lhs_rs), Ok(rhs_rs), Ok(dst_rs)) = (
        isize::try_from(p.lhs_rs),
        isize::try_from(p.rhs_rs),
        isize::try_from(p.dst_rs),
    ) else {
        bail!("gemm_acc: stride too large in {p:?}");
    };
    // SAFETY: the checks above establish the module's invariant: every element gemm reads from
    // lhs (i·lhs_rs + p) and rhs (p·rhs_rs + j) and every element it reads and writes in dst
    // (i·dst_rs + j) lies inside the corresponding slice; dst is borrowed mutably, so it aliases
    // neither input; Parallelism::None keeps all accesses on this thread, within this call.
    unsafe {
        ::gemm::gemm(
            p.m,
            p.n,
            p.k,
            dst.as_mut_ptr(),
            1,
            dst_rs,
            true,
            lhs.as_ptr(),
            1,
            lhs_rs,
            rhs.as_ptr(),
            1,
            rhs_rs,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            ::gemm::Parallelism::None,
        );
    }
    Ok(())
}

/// A product of one row, computed as a product of two (the row twice). `gemm` takes a
/// matrix-vector path for a single row, which adds in another order than its kernel for several:
/// batch 1's timestep embeddings (one row) would not give the bits the same sample gives among
/// others, and a sample would not be drawn alike alone and in a batch.
fn single_row(p: Product, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) -> Result<()> {
    let (Some(row), Some(out)) = (lhs.get(..p.k), dst.get_mut(..p.n)) else {
        bail!(
            "gemm_acc: {p:?} does not fit slices of {} and {} values",
            lhs.len(),
            dst.len()
        );
    };
    let twice: Vec<f32> = row.iter().chain(row).copied().collect();
    let mut both: Vec<f32> = out.iter().chain(out.iter()).copied().collect();
    let p = Product {
        m: 2,
        lhs_rs: p.k,
        dst_rs: p.n,
        ..p
    };
    gemm_acc(p, &twice, rhs, &mut both)?;
    out.copy_from_slice(&both[..p.n]);
    Ok(())
}

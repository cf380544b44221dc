//! The one place with `unsafe`: a bounds-checked, safe wrapper around `gemm::gemm` (the
//! matrix-product crate candle itself uses), single-threaded, accumulating into its destination.
//!
//! Invariant the wrapper relies on (checked before the call, so the call cannot read or write
//! outside the slices): each operand is a matrix with a row stride and a column stride (element
//! (i, j) at `i·rs + j·cs`),
//! - `lhs` holds an `m × k` matrix: every index `i·lhs_rs + p·lhs_cs` (i < m, p < k) is below
//!   `lhs.len()`;
//! - `rhs` holds a `k × n` matrix: every `p·rhs_rs + j·rhs_cs` is below `rhs.len()`;
//! - `dst` holds an `m × n` matrix: every `i·dst_rs + j·dst_cs` is below `dst.len()`, and
//!   distinct (i, j) give distinct indices (rows or columns laid side by side without overlap:
//!   `dst_rs ≥ (n − 1)·dst_cs + 1` with `dst_cs ≥ 1`, or the same with rows and columns swapped),
//!   so the writes never overlap.
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

/// One operand's layout: element (i, j) at `i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Strides {
    pub rs: usize,
    pub cs: usize,
}

/// A product `dst += lhs · rhs` of `m × k` by `k × n` with every operand's strides.
#[derive(Clone, Copy, Debug)]
pub(super) struct StridedProduct {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub lhs: Strides,
    pub rhs: Strides,
    pub dst: Strides,
}

/// The smallest length a matrix of `rows × cols` with `strides` needs; `None` on overflow.
fn needed(rows: usize, cols: usize, strides: Strides) -> Option<usize> {
    let last_row = rows.checked_sub(1)?.checked_mul(strides.rs)?;
    let last_col = cols.checked_sub(1)?.checked_mul(strides.cs)?;
    last_row.checked_add(last_col)?.checked_add(1)
}

/// Whether distinct elements of a `rows × cols` matrix with `strides` lie at distinct indices:
/// its rows side by side (each row's span shorter than the row stride) or its columns.
fn no_overlap(rows: usize, cols: usize, strides: Strides) -> bool {
    // Lines of `len` elements `step` apart, `gap` apart from each other: disjoint when each
    // line's span, (len − 1)·step, is below the gap.
    let disjoint_lines = |count: usize, gap: usize, len: usize, step: usize| {
        step >= 1 && (count == 1 || (len - 1).checked_mul(step).is_some_and(|span| span < gap))
    };
    disjoint_lines(rows, strides.rs, cols, strides.cs)
        || disjoint_lines(cols, strides.cs, rows, strides.rs)
}

/// `dst[i·dst_rs + j] += Σ_p lhs[i·lhs_rs + p] · rhs[p·rhs_rs + j]` for i < m, j < n, p < k,
/// computed by `gemm::gemm` on the calling thread. Fails (without touching `dst`) if a slice is
/// too short or a stride too small for the sizes.
pub(super) fn gemm_acc(p: Product, lhs: &[f32], rhs: &[f32], dst: &mut [f32]) -> Result<()> {
    let rows = |rs| Strides { rs, cs: 1 };
    if p.lhs_rs < p.k || p.rhs_rs < p.n || p.dst_rs < p.n {
        bail!("gemm_acc: a row stride shorter than its row in {p:?}");
    }
    let strided = StridedProduct {
        m: p.m,
        n: p.n,
        k: p.k,
        lhs: rows(p.lhs_rs),
        rhs: rows(p.rhs_rs),
        dst: rows(p.dst_rs),
    };
    gemm_acc_strided(strided, lhs, rhs, dst)
}

/// `dst(i, j) += Σ_p lhs(i, p) · rhs(p, j)` for i < m, j < n, p < k, each operand read through its
/// strides, computed by `gemm::gemm` on the calling thread. Fails (without touching `dst`) if a
/// slice is too short for the sizes and strides, or `dst`'s elements would overlap.
pub(super) fn gemm_acc_strided(
    p: StridedProduct,
    lhs: &[f32],
    rhs: &[f32],
    dst: &mut [f32],
) -> Result<()> {
    if p.m == 0 || p.n == 0 || p.k == 0 {
        // Nothing to add.
        return Ok(());
    }
    let fits = |len: usize, rows: usize, cols: usize, strides: Strides| {
        needed(rows, cols, strides).is_some_and(|need| need <= len)
    };
    if !fits(lhs.len(), p.m, p.k, p.lhs)
        || !fits(rhs.len(), p.k, p.n, p.rhs)
        || !fits(dst.len(), p.m, p.n, p.dst)
        || !no_overlap(p.m, p.n, p.dst)
    {
        bail!(
            "gemm_acc: {p:?} does not fit slices of {}, {} and {} values",
            lhs.len(),
            rhs.len(),
            dst.len()
        );
    }
    let signed = |v: usize| isize::try_from(v).ok();
    let (Some(lhs_rs), Some(lhs_cs), Some(rhs_rs), Some(rhs_cs), Some(dst_rs), Some(dst_cs)) = (
        signed(p.lhs.rs),
        signed(p.lhs.cs),
        signed(p.rhs.rs),
        signed(p.rhs.cs),
        signed(p.dst.rs),
        signed(p.dst.cs),
    ) else {
        bail!("gemm_acc: stride too large in {p:?}");
    };
    // SAFETY: the checks above establish the module's invariant: every element gemm reads from
    // lhs (i·lhs_rs + p·lhs_cs) and rhs (p·rhs_rs + j·rhs_cs) and every element it reads and
    // writes in dst (i·dst_rs + j·dst_cs) lies inside the corresponding slice, and distinct dst
    // elements do not overlap; dst is borrowed mutably, so it aliases neither input;
    // Parallelism::None keeps all accesses on this thread, within this call.
    unsafe {
        ::gemm::gemm(
            p.m,
            p.n,
            p.k,
            dst.as_mut_ptr(),
            dst_cs,
            dst_rs,
            true,
            lhs.as_ptr(),
            lhs_cs,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// lhs · rhs by the definition, for operands given by their element functions.
    fn naive(
        m: usize,
        n: usize,
        k: usize,
        a: impl Fn(usize, usize) -> f32,
        b: impl Fn(usize, usize) -> f32,
    ) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k).map(|p| a(i, p) * b(p, j)).sum();
            }
        }
        out
    }

    #[test]
    fn a_strided_product_reads_and_writes_through_its_strides() {
        let (m, n, k) = (3, 4, 5);
        let lhs: Vec<f32> = (0..40).map(|v| (v % 7) as f32 - 3.0).collect();
        let rhs: Vec<f32> = (0..60).map(|v| (v % 5) as f32 * 0.5 - 1.0).collect();
        // lhs column-major with a gap (element (i, p) at i + 7p), rhs transposed (p + 6j), dst
        // transposed (i + 3j).
        let product = StridedProduct {
            m,
            n,
            k,
            lhs: Strides { rs: 1, cs: 7 },
            rhs: Strides { rs: 1, cs: 6 },
            dst: Strides { rs: 1, cs: 3 },
        };
        let mut dst = vec![1f32; m * n];
        gemm_acc_strided(product, &lhs, &rhs, &mut dst).unwrap();
        let expected = naive(m, n, k, |i, p| lhs[i + 7 * p], |p, j| rhs[p + 6 * j]);
        for i in 0..m {
            for j in 0..n {
                assert!(
                    (dst[i + 3 * j] - 1.0 - expected[i * n + j]).abs() < 1e-5,
                    "({i}, {j})"
                );
            }
        }
    }

    #[test]
    fn overlapping_or_short_operands_are_refused() {
        let values = vec![0f32; 64];
        let mut dst = vec![0f32; 64];
        let square = |dst: Strides| StridedProduct {
            m: 4,
            n: 4,
            k: 4,
            lhs: Strides { rs: 4, cs: 1 },
            rhs: Strides { rs: 4, cs: 1 },
            dst,
        };
        // Rows 2 apart, each 4 long: they overlap.
        assert!(
            gemm_acc_strided(square(Strides { rs: 2, cs: 1 }), &values, &values, &mut dst).is_err()
        );
        assert!(
            gemm_acc_strided(square(Strides { rs: 4, cs: 0 }), &values, &values, &mut dst).is_err()
        );
        assert!(
            gemm_acc_strided(
                square(Strides { rs: 4, cs: 1 }),
                &values[..15],
                &values,
                &mut dst
            )
            .is_err()
        );
        assert!(
            gemm_acc_strided(square(Strides { rs: 1, cs: 4 }), &values, &values, &mut dst).is_ok()
        );
    }
}

//! dst(o, c) += Σ_p a(o, p)·b(c, p): the dot product of every row of `a` with every row of `b`,
//! both read in place along p — the shape of a convolution's weight gradient, where p runs over
//! every output position of the batch (tens of thousands) and there are only as many rows as
//! channels (1 to 64).
//!
//! A general matrix product (`gemm`) is at its worst here: it packs both operands, long and thin,
//! before multiplying them. This kernel keeps a block of 4 × 3 rows' partial sums in SIMD
//! registers (12 accumulators, 3 vectors of b and one of a: the 16 registers of AVX2, half of
//! AVX-512's) and streams both operands once per block, `pulp` choosing the widest vectors the
//! CPU has.

use candle_core::{Result, bail};
use pulp::Simd;

/// Rows of a matrix in a slice: row r is `values[r·stride..][..len]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Rows<'a> {
    pub values: &'a [f32],
    pub stride: usize,
    pub count: usize,
}

impl<'a> Rows<'a> {
    /// Whether `count` rows of `len` values fit.
    fn fit(&self, len: usize) -> bool {
        self.count == 0
            || (self.count - 1)
                .checked_mul(self.stride)
                .and_then(|start| start.checked_add(len))
                .is_some_and(|end| end <= self.values.len())
    }

    #[inline(always)]
    fn row(&self, r: usize, len: usize) -> &'a [f32] {
        &self.values[r * self.stride..][..len]
    }
}

/// Rows of a block of partial sums held in registers.
const BLOCK_A: usize = 4;
/// Columns of that block.
const BLOCK_B: usize = 3;

/// dst(o, c) += Σ_{p < len} a(o, p)·b(c, p), with `dst` `(a.count, b.count)` row-major; fails,
/// touching nothing, when the sizes do not fit the slices.
pub(super) fn add_row_products(a: Rows, b: Rows, len: usize, dst: &mut [f32]) -> Result<()> {
    if !a.fit(len) || !b.fit(len) || dst.len() < a.count * b.count {
        bail!(
            "row products: {} and {} rows of {len} do not fit slices of {} and {} ({} results)",
            a.count,
            b.count,
            a.values.len(),
            b.values.len(),
            dst.len()
        );
    }
    /// The call [`pulp::Arch::dispatch`] compiles once per instruction set.
    struct Run<'a> {
        a: Rows<'a>,
        b: Rows<'a>,
        len: usize,
        dst: &'a mut [f32],
    }
    impl pulp::WithSimd for Run<'_> {
        type Output = ();

        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) {
            products(simd, self.a, self.b, self.len, self.dst);
        }
    }
    pulp::Arch::new().dispatch(Run { a, b, len, dst });
    Ok(())
}

#[inline(always)]
fn products<S: Simd>(simd: S, a: Rows, b: Rows, len: usize, dst: &mut [f32]) {
    let mut o = 0;
    while o < a.count {
        let rows_a = if a.count - o >= BLOCK_A { BLOCK_A } else { 1 };
        let mut c = 0;
        while c < b.count {
            let rows_b = if b.count - c >= BLOCK_B { BLOCK_B } else { 1 };
            let at = Block { o, c, len };
            match (rows_a, rows_b) {
                (BLOCK_A, BLOCK_B) => block::<S, BLOCK_A, BLOCK_B>(simd, a, b, at, dst),
                (BLOCK_A, _) => block::<S, BLOCK_A, 1>(simd, a, b, at, dst),
                (_, BLOCK_B) => block::<S, 1, BLOCK_B>(simd, a, b, at, dst),
                _ => block::<S, 1, 1>(simd, a, b, at, dst),
            }
            c += rows_b;
        }
        o += rows_a;
    }
}

/// The first row of a and of b a block starts at, and the length of the rows.
#[derive(Clone, Copy)]
struct Block {
    o: usize,
    c: usize,
    len: usize,
}

/// Rows `first..first + R` of `m`, `len` values each, and the whole SIMD vectors of each (a
/// plain function, not a closure: inlined into the dispatched code).
#[inline(always)]
fn rows_and_vectors<'a, S: Simd, const R: usize>(
    m: Rows<'a>,
    first: usize,
    len: usize,
) -> ([&'a [f32]; R], [&'a [S::f32s]; R]) {
    let mut rows: [&[f32]; R] = [&[]; R];
    let mut vectors: [&[S::f32s]; R] = [&[]; R];
    for r in 0..R {
        rows[r] = m.row(first + r, len);
        vectors[r] = S::as_simd_f32s(rows[r]).0;
    }
    (rows, vectors)
}

/// Rows o..o + RA of a against rows c..c + RB of b.
#[inline(always)]
fn block<S: Simd, const RA: usize, const RB: usize>(
    simd: S,
    a: Rows,
    b: Rows,
    at: Block,
    dst: &mut [f32],
) {
    // No closures in here: a closure is compiled apart from the `pulp` dispatch that enables the
    // wide instructions, and called (not inlined) for every vector it would load.
    let (a_rows, a_vectors) = rows_and_vectors::<S, RA>(a, at.o, at.len);
    let (b_rows, b_vectors) = rows_and_vectors::<S, RB>(b, at.c, at.len);
    let vectors = at.len / S::F32_LANES;
    let mut acc = [[simd.splat_f32s(0.0); RB]; RA];
    let mut bv = [simd.splat_f32s(0.0); RB];
    for i in 0..vectors {
        for s in 0..RB {
            bv[s] = b_vectors[s][i];
        }
        for r in 0..RA {
            let av = a_vectors[r][i];
            for s in 0..RB {
                acc[r][s] = simd.mul_add_e_f32s(av, bv[s], acc[r][s]);
            }
        }
    }
    let tail = vectors * S::F32_LANES..at.len;
    for r in 0..RA {
        for s in 0..RB {
            let mut rest = 0f32;
            for p in tail.clone() {
                rest += a_rows[r][p] * b_rows[s][p];
            }
            dst[(at.o + r) * b.count + at.c + s] += simd.reduce_sum_f32s(acc[r][s]) + rest;
        }
    }
}

/// The taps of one row of a 3×3 kernel, which [`add_shifted_row_products`] takes at once.
pub(super) const SHIFTS: usize = 3;

/// dst_j(o, c) += Σ_{p < len} a(o, p)·b(c, p + j) for j < J, `dst[j]` `(a.count, b.count)`
/// row-major: the J taps of one kernel row (three of a 3×3 kernel, two of a 2×2 one), whose views
/// of the padded input are the same row one value apart. Each vector of a, read from the L2
/// cache, meets J of b (all but the first mostly in L1), so a block of sums does J times the work
/// per load of [`add_row_products`]. Fails, touching nothing, when the sizes do not fit.
pub(super) fn add_shifted_row_products<const J: usize>(
    a: Rows,
    b: Rows,
    len: usize,
    dst: [&mut [f32]; J],
) -> Result<()> {
    let results = a.count * b.count;
    if J == 0 || !a.fit(len) || !b.fit(len + J - 1) || dst.iter().any(|d| d.len() < results) {
        bail!(
            "shifted row products: {} rows of {len} and {} of {} do not fit slices of {} and {}",
            a.count,
            b.count,
            len + J.saturating_sub(1),
            a.values.len(),
            b.values.len()
        );
    }
    /// The call [`pulp::Arch::dispatch`] compiles once per instruction set.
    struct Run<'a, const J: usize> {
        a: Rows<'a>,
        b: Rows<'a>,
        len: usize,
        dst: [&'a mut [f32]; J],
    }
    impl<const J: usize> pulp::WithSimd for Run<'_, J> {
        type Output = ();

        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) {
            shifted_products(simd, self.a, self.b, self.len, self.dst);
        }
    }
    pulp::Arch::new().dispatch(Run { a, b, len, dst });
    Ok(())
}

/// Rows of a in a block of shifted sums: 4 × 2 rows × 3 shifts, 24 accumulators, with 4 vectors
/// of a and one of b in AVX-512's 32 registers; AVX2's 16 take 2 rows of a.
const SHIFTED_A_WIDE: usize = 4;
const SHIFTED_A_NARROW: usize = 2;
/// Rows of b in that block.
const SHIFTED_B: usize = 2;

#[inline(always)]
fn shifted_products<S: Simd, const J: usize>(
    simd: S,
    a: Rows,
    b: Rows,
    len: usize,
    mut dst: [&mut [f32]; J],
) {
    let block_a = if S::F32_LANES >= 16 {
        SHIFTED_A_WIDE
    } else {
        SHIFTED_A_NARROW
    };
    let mut o = 0;
    while o < a.count {
        let rows_a = if a.count - o >= block_a { block_a } else { 1 };
        let mut c = 0;
        while c < b.count {
            let rows_b = if b.count - c >= SHIFTED_B {
                SHIFTED_B
            } else {
                1
            };
            let at = Block { o, c, len };
            let dst = &mut dst;
            match (rows_a, rows_b) {
                (SHIFTED_A_WIDE, SHIFTED_B) => shifted_block::<S, 4, 2, J>(simd, a, b, at, dst),
                (SHIFTED_A_WIDE, _) => shifted_block::<S, 4, 1, J>(simd, a, b, at, dst),
                (SHIFTED_A_NARROW, SHIFTED_B) => shifted_block::<S, 2, 2, J>(simd, a, b, at, dst),
                (SHIFTED_A_NARROW, _) => shifted_block::<S, 2, 1, J>(simd, a, b, at, dst),
                (_, SHIFTED_B) => shifted_block::<S, 1, 2, J>(simd, a, b, at, dst),
                _ => shifted_block::<S, 1, 1, J>(simd, a, b, at, dst),
            }
            c += rows_b;
        }
        o += rows_a;
    }
}

/// Rows o..o + RA of a against rows c..c + RB of b, each at the J shifts.
#[inline(always)]
fn shifted_block<S: Simd, const RA: usize, const RB: usize, const J: usize>(
    simd: S,
    a: Rows,
    b: Rows,
    at: Block,
    dst: &mut [&mut [f32]; J],
) {
    // No closures in here (see `block`).
    let (a_rows, a_vectors) = rows_and_vectors::<S, RA>(a, at.o, at.len);
    let mut b_rows: [&[f32]; RB] = [&[]; RB];
    let mut b_vectors: [[&[S::f32s]; J]; RB] = [[&[]; J]; RB];
    for s in 0..RB {
        b_rows[s] = b.row(at.c + s, at.len + J - 1);
        for j in 0..J {
            b_vectors[s][j] = S::as_simd_f32s(&b_rows[s][j..j + at.len]).0;
        }
    }
    let vectors = at.len / S::F32_LANES;
    let mut acc = [[[simd.splat_f32s(0.0); J]; RB]; RA];
    let mut av = [simd.splat_f32s(0.0); RA];
    for i in 0..vectors {
        for r in 0..RA {
            av[r] = a_vectors[r][i];
        }
        for s in 0..RB {
            for j in 0..J {
                let bv = b_vectors[s][j][i];
                for r in 0..RA {
                    acc[r][s][j] = simd.mul_add_e_f32s(av[r], bv, acc[r][s][j]);
                }
            }
        }
    }
    let tail = vectors * S::F32_LANES..at.len;
    for r in 0..RA {
        for s in 0..RB {
            for j in 0..J {
                let mut rest = 0f32;
                for p in tail.clone() {
                    rest += a_rows[r][p] * b_rows[s][p + j];
                }
                dst[j][(at.o + r) * b.count + at.c + s] +=
                    simd.reduce_sum_f32s(acc[r][s][j]) + rest;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small integers, to be multiplied by [`quarters`]: every partial sum of their products is
    /// exact in f32, in any order.
    fn integers(len: usize) -> Vec<f32> {
        (0..len).map(|v| ((v * 7) % 11) as f32 - 5.0).collect()
    }

    /// Quarters from 0 to 3.
    fn quarters(len: usize) -> Vec<f32> {
        (0..len).map(|v| ((v * 5) % 13) as f32 * 0.25).collect()
    }

    #[test]
    fn every_row_pair_gets_its_dot_product() {
        // Odd sizes: blocks of 4 × 3 rows with single rows left over, and a tail past the vectors.
        let (rows_a, rows_b, len) = (6, 5, 37);
        let (a, b) = (integers(rows_a * 40), quarters(rows_b * 41 + 3));
        let mut dst = vec![1f32; rows_a * rows_b];
        let a_rows = Rows {
            values: &a,
            stride: 40,
            count: rows_a,
        };
        let b_rows = Rows {
            values: &b[3..],
            stride: 41,
            count: rows_b,
        };
        add_row_products(a_rows, b_rows, len, &mut dst).unwrap();
        for o in 0..rows_a {
            for c in 0..rows_b {
                let expected: f32 = (0..len).map(|p| a[o * 40 + p] * b[3 + c * 41 + p]).sum();
                assert_eq!(dst[o * rows_b + c] - 1.0, expected, "({o}, {c})");
            }
        }
        let short = Rows { count: 7, ..a_rows };
        assert!(add_row_products(short, b_rows, len, &mut dst).is_err());
    }

    #[test]
    fn every_row_pair_gets_its_dot_product_at_each_shift() {
        // Odd sizes: blocks of 4 (or 2) × 2 rows with single rows left over, and a tail.
        let (rows_a, rows_b, len) = (7, 5, 53);
        let (a, b) = (integers(rows_a * 60), quarters(rows_b * 61 + 3));
        let a_rows = Rows {
            values: &a,
            stride: 60,
            count: rows_a,
        };
        let b_rows = Rows {
            values: &b[3..],
            stride: 61,
            count: rows_b,
        };
        let mut sums: [Vec<f32>; SHIFTS] = std::array::from_fn(|_| vec![1f32; rows_a * rows_b]);
        let dst = sums.each_mut().map(Vec::as_mut_slice);
        add_shifted_row_products(a_rows, b_rows, len, dst).unwrap();
        for (j, dst) in sums.iter().enumerate() {
            for o in 0..rows_a {
                for c in 0..rows_b {
                    let expected: f32 = (0..len)
                        .map(|p| a[o * 60 + p] * b[3 + c * 61 + p + j])
                        .sum();
                    assert_eq!(dst[o * rows_b + c] - 1.0, expected, "({o}, {c}) at {j}");
                }
            }
        }
        // b's rows must reach two values past `len`.
        let dst = sums.each_mut().map(Vec::as_mut_slice);
        assert!(add_shifted_row_products(a_rows, b_rows, 60, dst).is_err());
        // Two shifts (a 2×2 kernel's row): one value past `len`.
        let mut pair: [Vec<f32>; 2] = std::array::from_fn(|_| vec![1f32; rows_a * rows_b]);
        add_shifted_row_products(a_rows, b_rows, 60, pair.each_mut().map(Vec::as_mut_slice))
            .unwrap();
        for (j, dst) in pair.iter().enumerate() {
            for o in 0..rows_a {
                for c in 0..rows_b {
                    let expected: f32 =
                        (0..60).map(|p| a[o * 60 + p] * b[3 + c * 61 + p + j]).sum();
                    assert_eq!(
                        dst[o * rows_b + c] - 1.0,
                        expected,
                        "({o}, {c}) at {j} of 2"
                    );
                }
            }
        }
    }
}

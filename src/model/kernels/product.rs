//! Matrix products `dst = A·B` and `dst += A·B` in the convolutions' shapes, without packing B.
//!
//! A is a layer's weights (16–64 rows): constant, so it is packed once, when the network is
//! built ([`PackedLhs`]). B is read where it lies, one contiguous row per p: the im2col patches,
//! the Winograd-transformed tiles, or the input itself for a 1×1 convolution. With so few rows in
//! A, a general `gemm` spends about as long packing B as multiplying it (each value of B is used
//! only m times); here a block of B's columns (k rows of V SIMD vectors) stays in the L1 cache
//! while every block of R rows of A passes over it.
//!
//! The microkernel keeps an `R × V` block of dst in registers and, for each p, loads V vectors
//! of B's row p and broadcasts R values of A: with AVX2, 6 × 2 (12 accumulators, 12 fused
//! multiply-adds for 8 loads: 15 of the 16 registers); with AVX-512, 8 × 3 (24 accumulators of
//! 32 registers; the layers' 16, 32 and 64 channels fill whole blocks). Each dst value is the
//! sum over p in order, whatever the cut into blocks and threads, so results do not depend on the
//! thread count.

use std::sync::Arc;

use candle_core::{Result, bail};
use pulp::Simd;

/// Rows of A (and dst) per microkernel block where the CPU has 16 vector registers (AVX2 and
/// below) and where it has 32 (AVX-512); a single row (a convolution's one output channel) is
/// a block of its own rather than one of six or eight, the rest zeros.
const NARROW_ROWS: usize = 6;
const WIDE_ROWS: usize = 8;
const SINGLE_ROW: usize = 1;

/// SIMD vectors of B's columns per microkernel block: `R × V` accumulators, plus V of B and one
/// broadcast value, must fit the registers (16 with AVX2, 32 with AVX-512) or the compiler
/// spills them.
fn vectors_per_block<S: Simd>() -> usize {
    if S::F32_LANES >= 16 { 3 } else { 2 }
}

/// The rows per block that suit this CPU's registers.
fn rows_for_this_cpu() -> usize {
    if avx512_here() {
        WIDE_ROWS
    } else {
        NARROW_ROWS
    }
}

/// Whether the products run with AVX-512 vectors here (`pulp::Arch` picks them where it can).
fn avx512_here() -> bool {
    /// The lanes of the vectors [`pulp::Arch::dispatch`] picks.
    struct Lanes;
    impl pulp::WithSimd for Lanes {
        type Output = usize;

        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            S::F32_LANES
        }
    }
    pulp::Arch::new().dispatch(Lanes) >= 16
}

/// An `m × k` matrix packed for [`multiply`]: blocks of R rows (1, 6 or 8, see [`NARROW_ROWS`]),
/// each stored column by column (`[block][p][r]`), the last block padded with zero rows.
#[derive(Clone, Debug)]
pub(super) struct PackedLhs {
    m: usize,
    k: usize,
    rows: usize,
    values: Arc<[f32]>,
}

impl PackedLhs {
    /// Packs the row-major `m × k` matrix `a` (row stride k) in the blocks this CPU's products
    /// use.
    pub fn new(a: &[f32], m: usize, k: usize) -> Self {
        let rows = if m == 1 { 1 } else { rows_for_this_cpu() };
        Self::with_rows(a, m, k, rows)
    }

    /// Packs `a` in blocks of `rows` rows (1, 6 or 8).
    fn with_rows(a: &[f32], m: usize, k: usize, rows: usize) -> Self {
        let blocks = m.div_ceil(rows);
        let mut values = vec![0f32; blocks * k * rows];
        for (i, row) in a.chunks_exact(k.max(1)).take(m).enumerate() {
            let block = &mut values[(i / rows) * k * rows..][..k * rows];
            for (p, &value) in row.iter().enumerate() {
                block[p * rows + i % rows] = value;
            }
        }
        Self {
            m,
            k,
            rows,
            values: values.into(),
        }
    }
}

/// Where the rows of B start in its slice.
#[derive(Clone, Copy, Debug)]
pub(super) enum RhsRows<'a> {
    /// Row p at `p·stride`.
    Strided(usize),
    /// Row p at `offsets[p]`: a convolution read in place, where row (c, i, j) is input plane c
    /// shifted by i rows and j columns (see `conv/direct.rs`).
    At(&'a [usize]),
}

/// One product: A (`m × k`) times the `k × n` matrix B, whose rows lie in `rhs` as `rhs_rows`
/// says, into the `m × n` matrix whose row i starts at `dst[i·dst_rs]`: `=` or, with
/// `accumulate`, `+=`.
pub(super) struct Product<'a> {
    pub lhs: &'a PackedLhs,
    pub rhs: &'a [f32],
    pub rhs_rows: RhsRows<'a>,
    pub n: usize,
    pub dst: &'a mut [f32],
    pub dst_rs: usize,
    pub accumulate: bool,
}

impl Product<'_> {
    /// Checks that every index the product touches lies inside its slice.
    fn check(&self) -> Result<()> {
        let (m, k, n) = (self.lhs.m, self.lhs.k, self.n);
        let fits = |len: usize, rows: usize, stride: usize| {
            rows == 0
                || n == 0
                || (n <= stride
                    && (rows - 1)
                        .checked_mul(stride)
                        .and_then(|s| s.checked_add(n))
                        .is_some_and(|need| need <= len))
        };
        let rhs_fits = match self.rhs_rows {
            RhsRows::Strided(stride) => fits(self.rhs.len(), k, stride),
            RhsRows::At(offsets) => {
                offsets.len() == k
                    && offsets
                        .iter()
                        .all(|&at| at.checked_add(n).is_some_and(|end| end <= self.rhs.len()))
            }
        };
        if !rhs_fits || !fits(self.dst.len(), m, self.dst_rs) {
            bail!(
                "product: {m}×{k} times {k}×{n} does not fit slices of {} and {} values",
                self.rhs.len(),
                self.dst.len()
            );
        }
        Ok(())
    }
}

/// Computes `product` with the CPU's widest vectors (`simd`); fails, touching nothing, when the
/// sizes do not fit the slices.
#[inline(always)]
pub(super) fn multiply<S: Simd>(simd: S, product: Product<'_>) -> Result<()> {
    multiply_in_blocks(simd, product, vectors_per_block::<S>())
}

/// [`multiply`] with register blocks of R × up to `vectors` (2 or 3) SIMD vectors: the shape
/// AVX-512 uses can be tested on an AVX2 machine.
#[inline(always)]
fn multiply_in_blocks<S: Simd>(simd: S, product: Product<'_>, vectors: usize) -> Result<()> {
    product.check()?;
    let Product {
        lhs,
        rhs,
        rhs_rows,
        n,
        dst,
        dst_rs,
        accumulate,
    } = product;
    let (m, k) = (lhs.m, lhs.k);
    if k == 0 {
        if !accumulate {
            for row in dst.chunks_mut(dst_rs.max(1)).take(m) {
                row[..n].fill(0.0);
            }
        }
        return Ok(());
    }
    let lanes = S::F32_LANES;
    let r = lhs.rows;
    let mut j = 0;
    while j < n {
        // Blocks of `vectors` vectors, then one of the whole vectors left (2 of them: a product
        // 32 columns wide ran at 31–35 GMAC/s on one AVX-512 core in single-vector blocks, at
        // 52–59 in one block of two), then single vectors.
        let block_vectors = ((n - j) / lanes).clamp(1, vectors);
        let width = if block_vectors > 1 {
            block_vectors * lanes
        } else {
            lanes.min(n - j)
        };
        for block in (0..m).step_by(r) {
            let a = &lhs.values[(block / r) * k * r..][..k * r];
            let tile = Tile {
                width,
                rows: r.min(m - block),
                dst_at: block * dst_rs + j,
                dst_rs,
                accumulate,
            };
            match rhs_rows {
                RhsRows::Strided(stride) => {
                    let rows = rhs[j..].chunks(stride.max(1));
                    tile_kernel_of_width(simd, (a, r), rows, &tile, dst, block_vectors);
                }
                RhsRows::At(offsets) => {
                    let rows = offsets.iter().map(|&at| &rhs[at + j..]);
                    tile_kernel_of_width(simd, (a, r), rows, &tile, dst, block_vectors);
                }
            }
        }
        j += width;
    }
    Ok(())
}

/// [`multiply`] with the widest vectors the CPU has (AVX-512, AVX2+FMA or the baseline).
pub(super) fn multiply_on_this_cpu(product: Product<'_>) -> Result<()> {
    /// The call [`pulp::Arch::dispatch`] compiles once per instruction set.
    struct Run<'a>(Product<'a>);
    impl pulp::WithSimd for Run<'_> {
        type Output = Result<()>;

        #[inline(always)]
        fn with_simd<S: Simd>(self, simd: S) -> Result<()> {
            multiply(simd, self.0)
        }
    }
    pulp::Arch::new().dispatch(Run(product))
}

/// Where one microkernel block writes: `width` columns (V·lanes, or at most one vector), the
/// first `rows` of a block of R rows, dst's block at `dst_at`.
struct Tile {
    width: usize,
    rows: usize,
    dst_at: usize,
    dst_rs: usize,
    accumulate: bool,
}

/// [`tile_kernel`] with R = `block_rows` (1, 6 or 8, as A was packed) and V = `vectors` (1, 2 or
/// 3; only a block of one vector may be narrower than its vectors).
#[inline(always)]
fn tile_kernel_of_width<'r, S: Simd>(
    simd: S,
    (a, block_rows): (&[f32], usize),
    rows: impl Iterator<Item = &'r [f32]>,
    tile: &Tile,
    dst: &mut [f32],
    vectors: usize,
) {
    match (block_rows, vectors) {
        (WIDE_ROWS, 3) => tile_kernel::<S, WIDE_ROWS, 3>(simd, a, rows, tile, dst),
        (WIDE_ROWS, 2) => tile_kernel::<S, WIDE_ROWS, 2>(simd, a, rows, tile, dst),
        (WIDE_ROWS, _) => tile_kernel::<S, WIDE_ROWS, 1>(simd, a, rows, tile, dst),
        (SINGLE_ROW, 3) => tile_kernel::<S, SINGLE_ROW, 3>(simd, a, rows, tile, dst),
        (SINGLE_ROW, 2) => tile_kernel::<S, SINGLE_ROW, 2>(simd, a, rows, tile, dst),
        (SINGLE_ROW, _) => tile_kernel::<S, SINGLE_ROW, 1>(simd, a, rows, tile, dst),
        (_, 3) => tile_kernel::<S, NARROW_ROWS, 3>(simd, a, rows, tile, dst),
        (_, 2) => tile_kernel::<S, NARROW_ROWS, 2>(simd, a, rows, tile, dst),
        _ => tile_kernel::<S, NARROW_ROWS, 1>(simd, a, rows, tile, dst),
    }
}

/// dst (=, +=) A-block · B[:, j..j + width] with an `R × V` block of vectors in registers;
/// `V · lanes` columns, or (only with `V` = 1) fewer, through masked loads and stores. `rows` yields
/// B's rows from column j on.
#[inline(always)]
fn tile_kernel<'r, S: Simd, const R: usize, const V: usize>(
    simd: S,
    a: &[f32],
    rows: impl Iterator<Item = &'r [f32]>,
    tile: &Tile,
    dst: &mut [f32],
) {
    // Only single vectors come partial: known at compile time for V > 1, so that the masked path
    // is not compiled into those blocks (with it, a 6-row × 4-vector block tried for the 7×7
    // layers kept its accumulators in memory, stored after every multiply-add: 3.5× slower).
    let full = V > 1 || S::F32_LANES == tile.width;
    // Full vectors where the block has them (no masks: their calls would spill the registers).
    let load = |slice: &[f32]| -> [S::f32s; V] {
        if full {
            let (vectors, _) = S::as_simd_f32s(slice);
            std::array::from_fn(|v| vectors[v])
        } else {
            std::array::from_fn(|_| simd.partial_load_f32s(slice))
        }
    };
    let mut acc = [[simd.splat_f32s(0.0); V]; R];
    if tile.accumulate {
        for (r, acc) in acc.iter_mut().enumerate().take(tile.rows) {
            *acc = load(&dst[tile.dst_at + r * tile.dst_rs..][..tile.width]);
        }
    }
    let columns = a.chunks_exact(R);
    if full {
        for (column, row) in columns.zip(rows) {
            let (b, _) = S::as_simd_f32s(&row[..tile.width]);
            let b: [S::f32s; V] = std::array::from_fn(|v| b[v]);
            fma_block(simd, column, &b, &mut acc);
        }
    } else {
        for (column, row) in columns.zip(rows) {
            let b = [simd.partial_load_f32s(&row[..tile.width]); V];
            fma_block(simd, column, &b, &mut acc);
        }
    }
    for (r, acc) in acc.iter().enumerate().take(tile.rows) {
        let out = &mut dst[tile.dst_at + r * tile.dst_rs..][..tile.width];
        if full {
            let (vectors, _) = S::as_mut_simd_f32s(out);
            vectors.copy_from_slice(acc);
        } else {
            simd.partial_store_f32s(out, acc[0]);
        }
    }
}

/// acc[r][v] += a[r] · b[v].
#[inline(always)]
fn fma_block<S: Simd, const R: usize, const V: usize>(
    simd: S,
    a: &[f32],
    b: &[S::f32s; V],
    acc: &mut [[S::f32s; V]; R],
) {
    for (acc, &value) in acc.iter_mut().zip(a) {
        let value = simd.splat_f32s(value);
        for (acc, b) in acc.iter_mut().zip(b) {
            *acc = simd.mul_add_e_f32s(value, *b, *acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        NARROW_ROWS, PackedLhs, Product, RhsRows, SINGLE_ROW, WIDE_ROWS, multiply,
        multiply_in_blocks, multiply_on_this_cpu,
    };

    /// The plain triple loop.
    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut out = vec![0f32; m * n];
        for i in 0..m {
            for p in 0..k {
                for j in 0..n {
                    out[i * n + j] += a[i * k + p] * b[p * n + j];
                }
            }
        }
        out
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32)
            .map(|v| v / (1 << 24) as f32 - 0.5)
            .collect()
    }

    /// [`multiply_in_blocks`] with three vectors per block and the CPU's own vectors.
    struct ThreeVectors<'a>(Product<'a>);

    impl pulp::WithSimd for ThreeVectors<'_> {
        type Output = candle_core::Result<()>;

        fn with_simd<S: pulp::Simd>(self, simd: S) -> Self::Output {
            multiply_in_blocks(simd, self.0, 3)
        }
    }

    /// B `k × n` and dst with rows n apart.
    fn whole<'a>(
        lhs: &'a PackedLhs,
        rhs: &'a [f32],
        n: usize,
        dst: &'a mut [f32],
        accumulate: bool,
    ) -> Product<'a> {
        Product {
            lhs,
            rhs,
            rhs_rows: RhsRows::Strided(n),
            n,
            dst,
            dst_rs: n,
            accumulate,
        }
    }

    #[test]
    fn matches_the_triple_loop_on_odd_shapes() {
        for (m, k, n) in [
            (1, 1, 1),
            (5, 3, 7),
            (16, 9, 25),
            (7, 17, 49),
            (13, 64, 61),
            (64, 40, 100),
            // AVX-512: a block of 3 vectors, one of 2, then a masked one.
            (9, 5, 87),
        ] {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let expected = reference(&a, &b, m, k, n);
            for rows in [NARROW_ROWS, WIDE_ROWS] {
                let packed = PackedLhs::with_rows(&a, m, k, rows);
                check_packing(&packed, &b, n, &expected);
            }
            if m == 1 {
                let packed = PackedLhs::with_rows(&a, m, k, SINGLE_ROW);
                check_packing(&packed, &b, n, &expected);
            }
        }
    }

    /// Every way of running the product of `packed` and B (`k × n`) against `expected`.
    fn check_packing(packed: &PackedLhs, b: &[f32], n: usize, expected: &[f32]) {
        let (m, k) = (packed.m, packed.k);
        let mut dst = vec![1f32; m * n];
        let mut scalar = dst.clone();
        let mut three = dst.clone();
        multiply_on_this_cpu(whole(packed, b, n, &mut dst, true)).unwrap();
        // The AVX-512 block shape (three vectors), here with this CPU's vectors.
        let product = whole(packed, b, n, &mut three, true);
        pulp::Arch::new().dispatch(ThreeVectors(product)).unwrap();
        multiply(pulp::Scalar::new(), whole(packed, b, n, &mut scalar, true)).unwrap();
        let mut set = vec![f32::NAN; m * n];
        multiply_on_this_cpu(whole(packed, b, n, &mut set, false)).unwrap();
        for (i, want) in expected.iter().enumerate() {
            let results = [
                (dst[i], 1.0),
                (scalar[i], 1.0),
                (three[i], 1.0),
                (set[i], 0.0),
            ];
            for (got, start) in results {
                let close = (got - start - want).abs() < 1e-5;
                assert!(close, "{m}×{k}×{n} [{i}]: {got} vs {want} + {start}");
            }
        }
        let too_short = Product {
            rhs: &b[1..],
            ..whole(packed, b, n, &mut dst, true)
        };
        assert!(multiply_on_this_cpu(too_short).is_err());
    }

    /// B's row p at `offsets[p]` in `rhs`, `=` into dst with rows n apart.
    fn at_offsets<'a>(
        lhs: &'a PackedLhs,
        rhs: &'a [f32],
        offsets: &'a [usize],
        n: usize,
        dst: &'a mut [f32],
    ) -> Product<'a> {
        Product {
            lhs,
            rhs,
            rhs_rows: RhsRows::At(offsets),
            n,
            dst,
            dst_rs: n,
            accumulate: false,
        }
    }

    #[test]
    fn reads_rows_at_given_offsets() {
        // B's rows scattered over a larger buffer, out of order and overlapping, as a
        // convolution read in place has them.
        let (m, k, n) = (13, 11, 37);
        let buffer = values(200, 3);
        let offsets: Vec<usize> = (0..k).map(|p| (p * 61) % 150).collect();
        let b: Vec<f32> = offsets
            .iter()
            .flat_map(|&at| buffer[at..at + n].iter().copied())
            .collect();
        let a = values(m * k, 4);
        let expected = reference(&a, &b, m, k, n);
        let end = offsets.iter().max().map_or(0, |&at| at + n);
        for rows in [NARROW_ROWS, WIDE_ROWS] {
            let packed = PackedLhs::with_rows(&a, m, k, rows);
            let mut dst = vec![f32::NAN; m * n];
            multiply_on_this_cpu(at_offsets(&packed, &buffer, &offsets, n, &mut dst)).unwrap();
            for (got, want) in dst.iter().zip(&expected) {
                assert!((got - want).abs() < 1e-5, "{got} vs {want}");
            }
            let past_the_end = at_offsets(&packed, &buffer[..end - 1], &offsets, n, &mut dst);
            assert!(multiply_on_this_cpu(past_the_end).is_err());
        }
    }
}

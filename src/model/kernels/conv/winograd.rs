//! Winograd's F(2×2, 3×3) (Lavin & Gray 2016) for the 3×3, stride-1, padding-1 convolutions:
//! for every 2×2 output tile and its 4×4 input patch d (rows and columns −1…2 around the tile, 0
//! outside the image),
//! ```text
//! Y = Aᵀ [ Σ_c U[·, o, c] ⊙ (Bᵀ d_c B) ] A,   U[·, o, c] = G w[o, c] Gᵀ (prepared at load)
//! Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],  G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
//! Aᵀ = [1 1 1 0; 0 1 −1 −1]
//! ```
//! The sum over c is 16 matrix products (one per position ξ of the 4×4 transform), with 16/36 of
//! the multiplications of the direct form.
//!
//! **Phase planes.** The digit images are narrow (28, 14, 7 pixels), so loops along one row are
//! too short for 8- or 16-wide vectors. Tiles start every 2 pixels, so the padded image P splits
//! into four phase planes Q_ab[i][j] = P[2i + a][2j + b] (a, b ∈ {0, 1}), stored with a row
//! stride S = tiles per row + 1 and flattened. Tile (ty, tx) is then flat index k = ty·S + tx, and
//! its patch row 2ty + r (r = 2·dr + a) and column 2tx + q (q = 2·dq + b) is
//! Q_ab[k + dr·S + dq]: both transforms become a few long loops of shifted, contiguous arrays over
//! all tiles of a block. The price is one tile per row (tx = S − 1) computed and thrown away. With
//! a ×2 nearest upsampled input the phase planes are the stored rows shifted by one, so the
//! upsampling costs nothing.
//!
//! **Odd widths** (the 7×7 level) need no thrown-away tile: there S = tiles per row, and the last
//! tile's column q = 3 reads the next row's first odd-phase value instead of the padding zero. Only
//! that tile's second output column depends on q = 3 (Y[·][1] uses M's columns 1–3, Y[·][0] only
//! 0–2), and for an odd width that column lies outside the image and is never written.
//!
//! **A norm on the way in.** Given a [`ChannelNorm`] per (sample, input channel), the rows a block
//! reads are first written normalised (and through the SiLU) into a scratch plane, in one long
//! loop, and the phase planes filled from there: the norm's output is never stored whole.
//!
//! **A chunk spread over the pool.** A layer's only chunk (one small sample) runs its input
//! transform (a few input channels a task, V laid out channel by channel), its 16 products and its
//! output channels as tasks of the pool: the same arithmetic per output, in another order of
//! tasks. Each task enters the CPU's instruction set again through `pulp` (a closure handed to
//! rayon is compiled without it, and ran 30× slower).

use std::sync::Arc;

use candle_core::Result;
use rayon::prelude::*;

use super::super::claimed::try_for_each_claimed;
use super::super::norm::ChannelNorm;
use super::super::product::{PackedLhs, Product, RhsRows, multiply, multiply_on_this_cpu};
use super::{Geometry, PreparedConv, Rows, Scratch, start_value};

/// Tiles (of 2×2 outputs) whose 16 transformed inputs one block holds, at most, per input channel:
/// 16·Cin·tiles values stay within the core's cache.
const BLOCK_VALUES: usize = 1 << 16;

/// U = G g Gᵀ for every (o, c), computed in f64: 16 matrices `(Cout, Cin)`, packed.
pub(super) fn weights(weight: &[f32], cout: usize, cin: usize) -> Arc<[PackedLhs]> {
    let mut u = vec![0f32; 16 * cout * cin];
    for o in 0..cout {
        for c in 0..cin {
            let w = &weight[(o * cin + c) * 9..][..9];
            let g = |i: usize, j: usize| f64::from(w[3 * i + j]);
            // G applied to the three values of one row or column.
            let lift = |a: f64, b: f64, c: f64| [a, (a + b + c) / 2.0, (a - b + c) / 2.0, c];
            // Gg: 4×3, column by column.
            let cols: [[f64; 4]; 3] = std::array::from_fn(|j| lift(g(0, j), g(1, j), g(2, j)));
            for r in 0..4 {
                let row = lift(cols[0][r], cols[1][r], cols[2][r]);
                for (q, value) in row.iter().enumerate() {
                    u[((4 * r + q) * cout + o) * cin + c] = *value as f32;
                }
            }
        }
    }
    let packed: Vec<PackedLhs> = u
        .par_chunks_exact(cout * cin)
        .map(|u| PackedLhs::new(u, cout, cin))
        .collect();
    packed.into()
}

/// [`chunk`]'s arguments (those of `conv::chunk`, plus the transformed weights `u`), and the
/// operation [`pulp::Arch::dispatch`] runs: its `with_simd` is inlined into a function compiled for
/// the CPU's best instruction set, and `chunk` into it.
pub(super) struct WinogradChunk<'a> {
    pub conv: &'a PreparedConv,
    pub u: &'a [PackedLhs],
    pub g: &'a Geometry,
    pub x: &'a [f32],
    /// The norm (and SiLU) of each (sample, input channel), applied as x is read.
    pub norms: Option<&'a [ChannelNorm]>,
    pub segments: &'a [Rows],
    pub add: Option<&'a [f32]>,
    /// The layer's only chunk: its products and output transform are spread over the pool (one
    /// segment only).
    pub spread: bool,
    pub dst: &'a mut [f32],
}

impl pulp::WithSimd for WinogradChunk<'_> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, simd: S) -> Result<()> {
        chunk(simd, self)
    }
}

/// Consecutive tile rows `first..end` of segment `segment`, whose tiles sit at `at` in a block.
#[derive(Clone, Copy, Debug)]
struct Piece {
    segment: usize,
    first: usize,
    end: usize,
    at: usize,
}

/// Cuts the tile rows of `segments` into blocks of at most `rows_per_block` tile rows, each a list
/// of pieces (one per segment it touches). Segments start on even rows (`convolve` cuts them so),
/// so every tile row lies inside its segment but for a last odd row.
fn blocks(segments: &[Rows], rows_per_block: usize, stride: usize) -> Vec<Vec<Piece>> {
    let mut blocks = Vec::new();
    let (mut block, mut rows_in_block, mut tiles) = (Vec::new(), 0, 0);
    for (segment, rows) in segments.iter().enumerate() {
        let (mut first, end) = (rows.first / 2, rows.end.div_ceil(2));
        while first < end {
            let take = (rows_per_block - rows_in_block).min(end - first);
            block.push(Piece {
                segment,
                first,
                end: first + take,
                at: tiles,
            });
            (first, rows_in_block, tiles) =
                (first + take, rows_in_block + take, tiles + take * stride);
            if rows_in_block == rows_per_block {
                blocks.push(std::mem::take(&mut block));
                (rows_in_block, tiles) = (0, 0);
            }
        }
    }
    if !block.is_empty() {
        blocks.push(block);
    }
    blocks
}

/// Fills `dst`, laid out `[segment][channel][(y − first)·Wo + x]`, with β + add + the
/// convolution (see the module documentation).
#[inline(always)]
fn chunk<S: pulp::Simd>(simd: S, chunk: WinogradChunk<'_>) -> Result<()> {
    let WinogradChunk {
        conv,
        u,
        g,
        x,
        norms,
        segments,
        add,
        spread,
        dst,
    } = chunk;
    if spread && segments.len() != 1 {
        candle_core::bail!("Winograd: only a chunk of one segment spreads its work");
    }
    let (m, cin) = (g.cout, g.cin);
    let stride = phase_stride(g);
    // Output offsets of the segments in `dst`.
    let mut offsets = Vec::with_capacity(segments.len());
    let mut at = 0;
    for rows in segments {
        offsets.push(at);
        at += m * (rows.end - rows.first) * g.wo;
    }
    let rows_per_block = (BLOCK_VALUES / (16 * cin * stride)).max(1);
    let blocks = blocks(segments, rows_per_block, stride);
    let most = rows_per_block * stride;
    // Scratch: V and M; the phase planes (four, one extra row and value each) and the
    // row-transformed planes (eight); one normalised input plane; the output transform's ten
    // partial sums and its two interleaved rows of 2t values.
    let plane_len = (rows_per_block + 1) * stride + 1;
    let row_len = rows_per_block * stride + 1;
    // No closure here: the body must be inlined into `WinogradChunk::with_simd`.
    let normalised_len = if norms.is_some() { g.h * g.w } else { 0 };
    let len =
        16 * (cin + m) * most + 4 * plane_len + 8 * row_len + normalised_len + (10 + 4) * most;
    let mut buffer = Scratch::take(len);
    let (v, rest) = buffer.values[..len].split_at_mut(16 * cin * most);
    let (mm, rest) = rest.split_at_mut(16 * m * most);
    let (phases, rest) = rest.split_at_mut(4 * plane_len);
    let (row_planes, rest) = rest.split_at_mut(8 * row_len);
    let (normalised, output_scratch) = rest.split_at_mut(normalised_len);
    for block in &blocks {
        let t: usize = block.iter().map(|p| (p.end - p.first) * stride).sum();
        let input = BlockInput {
            g,
            x,
            norms,
            segments,
            stride,
            t,
        };
        if spread {
            // V laid out [c][ξ][k]: each channel's 16·t values together, a task's own slice.
            let v = &mut v[..16 * cin * t];
            input.channels_over_the_pool(block, v)?;
            let mm = spread_products(u, v, (m, t), mm)?;
            let output = BlockOutput {
                conv,
                add,
                g,
                segment: segments[0],
                block,
                mm,
                shape: (m, t),
                stride,
            };
            output.channels_over_the_pool(dst)?;
            continue;
        }
        // V laid out [ξ][c][k], as the products below read it.
        for piece in block {
            for c in 0..cin {
                let at = VAt {
                    xi_stride: cin * t,
                    base: c * t + piece.at,
                };
                let scratch = (&mut *phases, &mut *row_planes, &mut *normalised);
                input.channel(piece, c, scratch, v, at);
            }
        }
        // M[ξ] = U[ξ] · V[ξ]: (m × cin) · (cin × t).
        for (xi, u) in u.iter().enumerate() {
            multiply(
                simd,
                Product {
                    lhs: u,
                    rhs: &v[xi * cin * t..],
                    rhs_rows: RhsRows::Strided(t),
                    n: t,
                    dst: &mut mm[xi * m * t..],
                    dst_rs: t,
                    accumulate: false,
                },
            )?;
        }
        // Y = Aᵀ M A, channel by channel, into the output rows with the start value.
        for o in 0..m {
            let rows = transform_output(mm, (m, o, t), output_scratch);
            for piece in block {
                let segment = segments[piece.segment];
                let start = start_value(conv, add, segment.sample, o);
                let plane = (segment.end - segment.first) * g.wo;
                let channel = &mut dst[offsets[piece.segment] + o * plane..][..plane];
                write_rows(g, piece, segment, stride, start, rows, channel);
            }
        }
    }
    Ok(())
}

/// M[ξ] = U[ξ] · V[ξ] for the 16 ξ at once, one product per task of the pool, V laid out
/// `[c][ξ][k]`; returns M.
fn spread_products<'m>(
    u: &[PackedLhs],
    v: &[f32],
    (m, t): (usize, usize),
    mm: &'m mut [f32],
) -> Result<&'m [f32]> {
    let products = mm.chunks_mut(m * t).zip(u.iter()).enumerate();
    try_for_each_claimed(products, |(xi, (dst, u))| {
        multiply_on_this_cpu(Product {
            lhs: u,
            rhs: &v[xi * t..],
            rhs_rows: RhsRows::Strided(16 * t),
            n: t,
            dst,
            dst_rs: t,
            accumulate: false,
        })
    })?;
    Ok(mm)
}

/// Input channels a task of a spread block's input transform takes.
const CHANNELS_PER_TASK: usize = 8;

/// Where one input channel's transformed values go in V: V[ξ] at `ξ·xi_stride + base`.
#[derive(Clone, Copy, Debug)]
struct VAt {
    xi_stride: usize,
    base: usize,
}

/// The input side of a block: x's channels (through the norm, where one is given) into phase
/// planes, then Bᵀ d B into V.
#[derive(Clone, Copy)]
struct BlockInput<'a> {
    g: &'a Geometry,
    x: &'a [f32],
    norms: Option<&'a [ChannelNorm]>,
    segments: &'a [Rows],
    stride: usize,
    /// Tiles in the block.
    t: usize,
}

impl BlockInput<'_> {
    /// Input channel `c` of `piece` into V at `at`, through the scratch planes: the phase
    /// planes, the row-transformed planes and the normalised input plane.
    #[inline(always)]
    fn channel(
        self,
        piece: &Piece,
        c: usize,
        (phases, row_planes, normalised): (&mut [f32], &mut [f32], &mut [f32]),
        v: &mut [f32],
        at: VAt,
    ) {
        let (g, cin) = (self.g, self.g.cin);
        let sample = self.segments[piece.segment].sample;
        let mut plane = &self.x[(sample * cin + c) * g.h * g.w..][..g.h * g.w];
        if let Some(norms) = self.norms {
            // The rows this piece reads, normalised in one long (vectorised) loop.
            let rows = (2 * piece.first).saturating_sub(1)..(2 * piece.end + 1).min(g.h);
            let span = rows.start * g.w..rows.end * g.w;
            let norm = norms[sample * cin + c];
            for (out, &v) in normalised[span.clone()].iter_mut().zip(&plane[span]) {
                *out = norm.silu_of_norm(v);
            }
            plane = normalised;
        }
        fill_phases(g, plane, piece, self.stride, phases);
        transform_input(piece, self.stride, phases, row_planes, v, at);
    }

    /// Every input channel of a spread block (one piece) into `v`, laid out `[c][ξ][k]`,
    /// [`CHANNELS_PER_TASK`] channels a task of the pool: the same values as on one thread.
    fn channels_over_the_pool(self, block: &[Piece], v: &mut [f32]) -> Result<()> {
        let [piece] = block else {
            candle_core::bail!("Winograd: a spread block is one piece");
        };
        let tasks = v.chunks_mut(CHANNELS_PER_TASK * 16 * self.t).enumerate();
        try_for_each_claimed(tasks, |(task, v)| {
            self.channels_on_this_cpu(piece, task * CHANNELS_PER_TASK, v);
            Ok(())
        })
    }

    /// Input channels `first..` of `piece` into `v` (16·t values each), compiled for the CPU's
    /// best instruction set (a closure handed to rayon would not be).
    fn channels_on_this_cpu(self, piece: &Piece, first: usize, v: &mut [f32]) {
        /// The call [`pulp::Arch::dispatch`] compiles once per instruction set.
        struct Run<'a>(BlockInput<'a>, &'a Piece, usize, &'a mut [f32]);
        impl pulp::WithSimd for Run<'_> {
            type Output = ();

            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                let Run(input, piece, first, v) = self;
                let (g, stride, t) = (input.g, input.stride, input.t);
                let rows = piece.end - piece.first;
                let (plane_len, row_len) = ((rows + 1) * stride + 1, rows * stride + 1);
                let normalised_len = if input.norms.is_some() { g.h * g.w } else { 0 };
                let mut scratch = Scratch::take(4 * plane_len + 8 * row_len + normalised_len);
                let (phases, rest) = scratch.values.split_at_mut(4 * plane_len);
                let (row_planes, rest) = rest.split_at_mut(8 * row_len);
                let normalised = &mut rest[..normalised_len];
                let at = VAt {
                    xi_stride: t,
                    base: piece.at,
                };
                for (i, v) in v.chunks_exact_mut(16 * t).enumerate() {
                    let scratch = (&mut *phases, &mut *row_planes, &mut *normalised);
                    input.channel(piece, first + i, scratch, v, at);
                }
            }
        }
        pulp::Arch::new().dispatch(Run(self, piece, first, v));
    }
}

/// The output transform of a spread block (one segment), channel by channel on any thread.
#[derive(Clone, Copy)]
struct BlockOutput<'a> {
    conv: &'a PreparedConv,
    add: Option<&'a [f32]>,
    g: &'a Geometry,
    segment: Rows,
    block: &'a [Piece],
    mm: &'a [f32],
    /// (m, t): output channels, tiles in the block.
    shape: (usize, usize),
    stride: usize,
}

impl BlockOutput<'_> {
    /// Every output channel of the block into `dst`, one channel at a time on any thread.
    fn channels_over_the_pool(self, dst: &mut [f32]) -> Result<()> {
        let plane = (self.segment.end - self.segment.first) * self.g.wo;
        let channels = dst.chunks_mut(plane).take(self.shape.0).enumerate();
        try_for_each_claimed(channels, |(o, channel)| {
            self.channel_on_this_cpu(o, channel);
            Ok(())
        })
    }

    /// Channel `o` of the block into `channel`, its plane of the output, compiled for the CPU's
    /// best instruction set (a closure handed to rayon would not be).
    fn channel_on_this_cpu(self, o: usize, channel: &mut [f32]) {
        /// The call [`pulp::Arch::dispatch`] compiles once per instruction set.
        struct Run<'a>(BlockOutput<'a>, usize, &'a mut [f32]);
        impl pulp::WithSimd for Run<'_> {
            type Output = ();

            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) {
                let Run(output, o, channel) = self;
                let (m, t) = output.shape;
                let mut scratch = Scratch::take(14 * t);
                let rows = transform_output(output.mm, (m, o, t), &mut scratch.values);
                let (g, segment, stride) = (output.g, output.segment, output.stride);
                let start = start_value(output.conv, output.add, segment.sample, o);
                for piece in output.block {
                    write_rows(g, piece, segment, stride, start, rows, channel);
                }
            }
        }
        pulp::Arch::new().dispatch(Run(self, o, channel));
    }
}

/// The output rows of `piece` in channel plane `channel` of its segment `segment`: the interleaved
/// transformed rows `[even, odd]` (see [`transform_output`]) plus the start value.
#[inline(always)]
fn write_rows(
    g: &Geometry,
    piece: &Piece,
    segment: Rows,
    stride: usize,
    start: f32,
    [even, odd]: [&[f32]; 2],
    channel: &mut [f32],
) {
    for ty in piece.first..piece.end {
        let from = 2 * (piece.at + (ty - piece.first) * stride);
        for (dy, source) in [even, odd].into_iter().enumerate() {
            let y = 2 * ty + dy;
            if y >= segment.end {
                continue;
            }
            let line = &mut channel[(y - segment.first) * g.wo..][..g.wo];
            for (d, s) in line.iter_mut().zip(&source[from..from + g.wo]) {
                *d = start + s;
            }
        }
    }
}

/// S, the row stride of the phase planes: tiles per row, plus one for an even width (see the
/// module documentation). For a stored odd width the input is not upsampled (that doubles it).
fn phase_stride(g: &Geometry) -> usize {
    let tiles = g.wo.div_ceil(2);
    if g.wo % 2 == 1 { tiles } else { tiles + 1 }
}

/// The four phase planes of input channel `plane` for the tile rows of `piece`:
/// `phases[(2a + b)·len + i·S + j]` = P[2(first + i) + a][2j + b], P the image padded by one zero
/// on every side (and upsampled ×2 first where the geometry says so), for i ≤ rows; each plane
/// has `len` = (rows + 1)·S + 1 values, the last one zero.
#[inline(always)]
fn fill_phases(g: &Geometry, plane: &[f32], piece: &Piece, stride: usize, phases: &mut [f32]) {
    let rows = piece.end - piece.first;
    let len = (rows + 1) * stride + 1;
    let vh = g.h << g.up;
    let w = g.w;
    let (p0, rest) = phases.split_at_mut(len);
    let (p1, rest) = rest.split_at_mut(len);
    let (p2, p3) = rest.split_at_mut(len);
    for (a, (even, odd)) in [(p0, p1), (p2, &mut p3[..len])].into_iter().enumerate() {
        even[len - 1] = 0.0;
        odd[len - 1] = 0.0;
        for i in 0..=rows {
            let even = &mut even[i * stride..][..stride];
            let odd = &mut odd[i * stride..][..stride];
            even.fill(0.0);
            odd.fill(0.0);
            // Padded row 2(first + i) + a is image row 2(first + i) + a − 1.
            let Some(iy) = (2 * (piece.first + i) + a)
                .checked_sub(1)
                .filter(|&iy| iy < vh)
            else {
                continue;
            };
            let src = &plane[(iy >> g.up) * w..][..w];
            if g.up == 0 {
                // P[·][2j + 1] = src[2j], P[·][2j] = src[2j − 1].
                let pairs = w / 2;
                deinterleave(&src[..2 * pairs], &mut odd[..pairs], &mut even[1..=pairs]);
                if w % 2 == 1 {
                    odd[pairs] = src[w - 1];
                }
            } else {
                // Upsampled: P[·][2j + 1] = src[j], P[·][2j] = src[j − 1].
                odd[..w].copy_from_slice(src);
                even[1..=w].copy_from_slice(src);
            }
        }
    }
}

/// V[ξ][c][at + k] = (Bᵀ d B)[ξ] (at the place `v_at` gives) for the tiles k of `piece`, from its
/// phase planes: first Bᵀ down
/// the columns (row_planes[r][b], the r-th row of Bᵀ d for column phase b), then B along the rows.
#[inline(always)]
fn transform_input(
    piece: &Piece,
    stride: usize,
    phases: &[f32],
    row_planes: &mut [f32],
    v: &mut [f32],
    v_at: VAt,
) {
    let rows = piece.end - piece.first;
    let tiles = rows * stride;
    let plane_len = (rows + 1) * stride + 1;
    let row_len = tiles + 1;
    // Bᵀ d, d_r = Q_(r mod 2, b)[k + ⌊r/2⌋·S]: [d0 − d2, d1 + d2, d2 − d1, d1 − d3].
    let mut row_planes = row_planes.chunks_exact_mut(row_len);
    let mut r: [[&mut [f32]; 2]; 4] =
        std::array::from_fn(|_| std::array::from_fn(|_| row_planes.next().unwrap_or_default()));
    for b in 0..2 {
        let q0 = &phases[b * plane_len..][..plane_len];
        let q1 = &phases[(2 + b) * plane_len..][..plane_len];
        let (d0, d2) = (&q0[..row_len], &q0[stride..stride + row_len]);
        let (d1, d3) = (&q1[..row_len], &q1[stride..stride + row_len]);
        let [r0, r1, r2, r3] = &mut r;
        let (r0, r1, r2, r3) = (
            &mut r0[b][..row_len],
            &mut r1[b][..row_len],
            &mut r2[b][..row_len],
            &mut r3[b][..row_len],
        );
        for k in 0..row_len {
            r0[k] = d0[k] - d2[k];
            r1[k] = d1[k] + d2[k];
            r2[k] = d2[k] - d1[k];
            r3[k] = d1[k] - d3[k];
        }
    }
    // Then B along the rows: column q of the patch is row_planes[·][q mod 2][k + ⌊q/2⌋].
    for (a, [even, odd]) in r.iter().enumerate() {
        let (e0, e1) = (&even[..tiles], &even[1..=tiles]);
        let (o0, o1) = (&odd[..tiles], &odd[1..=tiles]);
        let at = |q: usize| (4 * a + q) * v_at.xi_stride + v_at.base;
        let (_, from0) = v.split_at_mut(at(0));
        let (v0, from1) = from0.split_at_mut(at(1) - at(0));
        let (v1, from2) = from1.split_at_mut(at(2) - at(1));
        let (v2, from3) = from2.split_at_mut(at(3) - at(2));
        let (v0, v1, v2, v3) = (
            &mut v0[..tiles],
            &mut v1[..tiles],
            &mut v2[..tiles],
            &mut from3[..tiles],
        );
        for k in 0..tiles {
            v0[k] = e0[k] - e1[k];
            v1[k] = o0[k] + e1[k];
            v2[k] = e1[k] - o0[k];
            v3[k] = o0[k] - o1[k];
        }
    }
}

/// Y = Aᵀ M A for output channel `o` of every tile k < t of a block, returned interleaved the way
/// the output rows hold it, `[even, odd]`: even[2k + dx] = Y[0][dx], odd[2k + dx] = Y[1][dx].
/// `scratch` holds 14t values.
#[inline(always)]
fn transform_output<'s>(
    mm: &[f32],
    (m, o, t): (usize, usize, usize),
    scratch: &'s mut [f32],
) -> [&'s [f32]; 2] {
    let (scratch, rows) = scratch.split_at_mut(10 * t);
    let (even, odd) = rows[..4 * t].split_at_mut(2 * t);
    let q = |xi: usize| &mm[(xi * m + o) * t..][..t];
    let mut parts = scratch.chunks_exact_mut(t);
    let mut next = || parts.next().unwrap_or_default();
    // Aᵀ M: its two rows (top, bottom), for each column of M; each a loop over all tiles (one
    // loop with the 16 inputs at once runs out of registers and stays scalar).
    let mut top: [&mut [f32]; 4] = std::array::from_fn(|_| next());
    let mut bottom: [&mut [f32]; 4] = std::array::from_fn(|_| next());
    let (left, right) = (next(), next());
    for (col, (top, bottom)) in top.iter_mut().zip(bottom.iter_mut()).enumerate() {
        plus3(q(col), q(4 + col), q(8 + col), top);
        minus3(q(4 + col), q(8 + col), q(12 + col), bottom);
    }
    // Then · A, row by row.
    for (row, out) in [(&top, &mut *even), (&bottom, &mut *odd)] {
        plus3(row[0], row[1], row[2], left);
        minus3(row[1], row[2], row[3], right);
        interleave(left, right, &mut out[..2 * t]);
    }
    [even, odd]
}

/// out = a + b + c.
#[inline(always)]
fn plus3(a: &[f32], b: &[f32], c: &[f32], out: &mut [f32]) {
    let n = out.len();
    let (a, b, c) = (&a[..n], &b[..n], &c[..n]);
    for k in 0..n {
        out[k] = a[k] + b[k] + c[k];
    }
}

/// out = a − b − c.
#[inline(always)]
fn minus3(a: &[f32], b: &[f32], c: &[f32], out: &mut [f32]) {
    let n = out.len();
    let (a, b, c) = (&a[..n], &b[..n], &c[..n]);
    for k in 0..n {
        out[k] = a[k] - b[k] - c[k];
    }
}

/// out[2k] = a[k], out[2k + 1] = b[k] (a plain loop over equal-length slices, which the compiler
/// vectorises with shuffles).
#[inline(always)]
fn interleave(a: &[f32], b: &[f32], out: &mut [f32]) {
    let n = a.len();
    let (b, out) = (&b[..n], &mut out[..2 * n]);
    for k in 0..n {
        out[2 * k] = a[k];
        out[2 * k + 1] = b[k];
    }
}

/// a[k] = src[2k], b[k] = src[2k + 1] (the inverse of [`interleave`]).
#[inline(always)]
fn deinterleave(src: &[f32], a: &mut [f32], b: &mut [f32]) {
    let n = a.len();
    let (src, b) = (&src[..2 * n], &mut b[..n]);
    for k in 0..n {
        a[k] = src[2 * k];
        b[k] = src[2 * k + 1];
    }
}

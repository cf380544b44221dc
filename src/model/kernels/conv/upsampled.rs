//! A 3×3 convolution (stride 1, padding 1) of an input upsampled ×2 by nearest neighbour,
//! computed at the input's own size: 2.25× fewer multiplications than convolving the upsampled
//! image.
//!
//! Output row Y = 2y + a (a ∈ {0, 1}) has tap i read upsampled row Y + i − 1, which is stored row
//! y + ⌊(a + i − 1)/2⌋: for a = 0 the taps i = 0, 1, 2 read rows y − 1, y, y; for a = 1 rows
//! y, y, y + 1. Columns alike. So each of the four output phases (a, b) is a 2×2 convolution of
//! the stored input, whose taps are sums of the 3×3 kernel's:
//! ```text
//! out[o, 2y + a, 2x + b] = β[o] + Σ_c Σ_{di, dj ∈ {0, 1}} w_ab[o, c, di, dj] · x[c, y + a + di − 1, x + b + dj − 1]
//! w_ab[o, c, di, dj] = Σ_{i ∈ R_a(di)} Σ_{j ∈ R_b(dj)} w[o, c, i, j],
//! R_0(0) = {0}, R_0(1) = {1, 2},  R_1(0) = {0, 1}, R_1(1) = {2}
//! ```
//! 16 multiplications per stored pixel and input channel instead of 9 for each of the 4 pixels
//! it becomes. The stored input is laid out as in `direct.rs` (one padded plane per channel, rows
//! `W + 1` apart) and each phase is one product whose B rows are shifted runs of those planes; the
//! four phases' outputs are interleaved into the output rows.

use candle_core::Result;
use pulp::Simd;

use super::super::product::{PackedLhs, Product, RhsRows, multiply};
use super::direct::{WINOGRAD_CHANNELS, fill_shifted, plane_len};
use super::{Geometry, PreparedConv, Rows, Scratch, start_value};

/// The stored rows each 3×3 tap row (or column) adds into, for output phase 0 and 1: R_a(d).
const TAPS_OF: [[&[usize]; 2]; 2] = [[&[0], &[1, 2]], [&[0, 1], &[2]]];

/// The four phases' weights w_ab `(Cout, Cin·4)` (column (c, di, dj)), packed, in the order
/// (a, b) = (0, 0), (0, 1), (1, 0), (1, 1); sums computed in f64. `weight` is `(Cout, Cin, 3, 3)`.
pub(super) fn phase_weights(weight: &[f32], cout: usize, cin: usize) -> Vec<PackedLhs> {
    (0..4)
        .map(|phase| {
            let (a, b) = (phase / 2, phase % 2);
            let mut w_ab = Vec::with_capacity(cout * cin * 4);
            for kernel in weight.chunks_exact(9).take(cout * cin) {
                for rows in TAPS_OF[a] {
                    for columns in TAPS_OF[b] {
                        w_ab.push(summed_taps(kernel, rows, columns));
                    }
                }
            }
            PackedLhs::new(&w_ab, cout, cin * 4)
        })
        .collect()
}

/// Σ_{i ∈ rows, j ∈ columns} kernel[3i + j] of a 3×3 `kernel`, summed in f64: a tap of a kernel
/// that reads an upsampled input at its stored size (here, and its gradient's in
/// `trainable/conv.rs`).
pub(in crate::model::kernels) fn summed_taps(
    kernel: &[f32],
    rows: &[usize],
    columns: &[usize],
) -> f32 {
    let sum: f64 = rows
        .iter()
        .flat_map(|&i| columns.iter().map(move |&j| f64::from(kernel[3 * i + j])))
        .sum();
    sum as f32
}

/// Whether a convolution of this geometry goes this way: 3×3, stride 1, padding 1, on an input
/// upsampled ×2, unless Winograd weights exist and channels are as many as where Winograd beats
/// the direct form (64 → 64; Winograd saves as many multiplications, and at batch 1 and 16 the
/// UNet's 64 → 64 upsampling convolution was no faster this way).
pub(super) fn suits(g: &Geometry, has_winograd: bool) -> bool {
    g.kernel == 3
        && g.stride == 1
        && g.padding == 1
        && g.up == 1
        && (!has_winograd || g.cin * g.cout < WINOGRAD_CHANNELS)
}

/// [`chunk`]'s arguments; the operation [`pulp::Arch::dispatch`] runs.
pub(super) struct UpsampledChunk<'a> {
    pub conv: &'a PreparedConv,
    /// [`phase_weights`] of the convolution.
    pub phases: &'a [PackedLhs],
    pub g: &'a Geometry,
    pub x: &'a [f32],
    /// Output rows, each segment starting and ending on an even row (or the last row).
    pub segments: &'a [Rows],
    pub add: Option<&'a [f32]>,
    pub dst: &'a mut [f32],
}

impl pulp::WithSimd for UpsampledChunk<'_> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Result<()> {
        chunk(simd, self)
    }
}

/// Fills `dst`, laid out `[segment][channel][(y − first)·Wo + x]`, with β + add + the
/// convolution, segment by segment.
#[inline(always)]
fn chunk<S: Simd>(simd: S, chunk: UpsampledChunk<'_>) -> Result<()> {
    let UpsampledChunk {
        conv,
        phases,
        g,
        x,
        segments,
        add,
        mut dst,
    } = chunk;
    if phases.len() != 4 || segments.iter().any(|s| s.first % 2 == 1) {
        candle_core::bail!("upsampled convolution: four phases and even first rows expected");
    }
    let (m, cin) = (g.cout, g.cin);
    // The stored image as the direct form sees it: no upsampling, output the size of the input.
    let stored = Geometry {
        up: 0,
        ho: g.h,
        wo: g.w,
        ..*g
    };
    let pitch = g.w + 1;
    // B's row offsets depend only on the planes' length: the segments of a call mostly share it.
    let (mut offsets, mut offsets_for) = (Vec::new(), None);
    for segment in segments {
        let rows = Rows {
            sample: segment.sample,
            first: segment.first / 2,
            end: segment.end.div_ceil(2),
        };
        let channel_len = plane_len(&stored, rows.end - rows.first);
        let planes_len = cin * channel_len;
        let n = (rows.end - rows.first) * pitch;
        if offsets_for != Some(channel_len) {
            offsets = (0..4)
                .map(|phase| phase_offsets(cin, channel_len, pitch, phase))
                .collect();
            offsets_for = Some(channel_len);
        }
        let mut buffer = Scratch::take(planes_len + 4 * m * n);
        let (planes, products) = buffer.values[..planes_len + 4 * m * n].split_at_mut(planes_len);
        for (c, plane) in planes.chunks_exact_mut(channel_len).enumerate() {
            let source = &x[(segment.sample * cin + c) * g.h * g.w..][..g.h * g.w];
            fill_shifted(&stored, source, None, &rows, plane);
        }
        for ((lhs, offsets), product) in phases
            .iter()
            .zip(&offsets)
            .zip(products.chunks_exact_mut(m * n))
        {
            multiply(
                simd,
                Product {
                    lhs,
                    rhs: planes,
                    rhs_rows: RhsRows::At(offsets),
                    n,
                    dst: product,
                    dst_rs: n,
                    accumulate: false,
                },
            )?;
        }
        let out_rows = segment.end - segment.first;
        let (out, rest) = std::mem::take(&mut dst).split_at_mut(m * out_rows * g.wo);
        dst = rest;
        for (o, channel) in out.chunks_exact_mut(out_rows * g.wo).enumerate() {
            let start = start_value(conv, add, segment.sample, o);
            let phase_row =
                |phase: usize, r: usize| &products[(phase * m + o) * n + r * pitch..][..g.w];
            for (y, line) in channel.chunks_exact_mut(g.wo).enumerate() {
                let (r, a) = (y / 2, y % 2);
                let (even, odd) = (phase_row(2 * a, r), phase_row(2 * a + 1, r));
                for ((pair, &left), &right) in line.chunks_exact_mut(2).zip(even).zip(odd) {
                    pair[0] = start + left;
                    pair[1] = start + right;
                }
            }
        }
    }
    Ok(())
}

/// Where phase `phase`'s B row (c, di, dj) starts among the planes: plane c shifted by a + di rows
/// and b + dj columns (plane row r holds stored row first + r − 1).
fn phase_offsets(cin: usize, channel_len: usize, pitch: usize, phase: usize) -> Vec<usize> {
    let (a, b) = (phase / 2, phase % 2);
    (0..cin * 4)
        .map(|p| {
            let (c, di, dj) = (p / 4, p / 2 % 2, p % 2);
            c * channel_len + (a + di) * pitch + b + dj
        })
        .collect()
}

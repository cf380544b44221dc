//! 3×3 convolutions (and 4×4 ones at stride 2) with padding 1 read in place, without im2col or
//! Winograd transforms.
//!
//! **Stride 1.** Each input channel of a segment is copied once into a padded plane whose rows
//! are `W' + 1` values apart (W' the width the convolution sees): one zero column, then the row.
//! The zero column after row r is the zero column before row r + 1, so it pads both sides. Output
//! pixel (y, x) is column q = y·(W' + 1) + x of the product, and its tap (i, j) reads the plane at
//! q + i·(W' + 1) + j: for every (c, i, j), B's row is plane c shifted by i rows and j columns, a
//! contiguous run the product reads where it lies ([`RhsRows::At`]). The weights are the im2col
//! matrix `(Cout, Cin·9)`, packed once. One column in W' + 1 (x = W') is computed and thrown
//! away.
//!
//! **Stride 2.** The padded input P is split into four phase planes Q_ab[r][s] = P[2r + a][2s + b]
//! with rows Wo + 1 values apart; output (y, x)'s tap (i, j) reads P[2y + i][2x + j] =
//! Q_(i mod 2, j mod 2)[y + ⌊i/2⌋][x + ⌊j/2⌋], again a shifted run of one plane. A 4×4 kernel
//! (⌊i/2⌋ ≤ 1 still) reads the same planes.
//!
//! Beside Winograd this does 2.25× the multiplications, but no transforms: the input is written
//! once (normalised and upsampled on the way, where the layer asks) and read by the product from
//! the cache, since the nine shifted rows of a channel overlap. At 28×28 and 14×14 it is the
//! faster of the two but for the widest layers; at 7×7, where one column in eight would be thrown
//! away, Winograd stays (see [`suits`]).

use candle_core::Result;
use pulp::Simd;

use super::super::norm::ChannelNorm;
use super::super::product::{Product, RhsRows, multiply};
use super::{Geometry, PreparedConv, Rows, Scratch, start_value};

/// [`chunk`]'s arguments (those of `conv::chunk`); the operation [`pulp::Arch::dispatch`] runs.
pub(super) struct DirectChunk<'a> {
    pub conv: &'a PreparedConv,
    pub g: &'a Geometry,
    pub x: &'a [f32],
    /// The norm (and SiLU) of each (sample, input channel), applied as x is read.
    pub norms: Option<&'a [ChannelNorm]>,
    pub segments: &'a [Rows],
    pub add: Option<&'a [f32]>,
    pub dst: &'a mut [f32],
}

impl pulp::WithSimd for DirectChunk<'_> {
    type Output = Result<()>;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> Result<()> {
        chunk(simd, self)
    }
}

/// Whether a convolution of this geometry is read in place here: padding 1 and a 3×3 or 4×4
/// kernel at stride 2 (the 4×4 one carries an upsampled convolution's gradient back, see
/// `trainable/conv.rs`), or 3×3 at stride 1 where no Winograd weights exist or where rows are
/// long enough and channels few enough that Winograd's transforms cost more than the
/// multiplications they save.
pub(super) fn suits(g: &Geometry, has_winograd: bool) -> bool {
    g.padding == 1
        && match (g.kernel, g.stride) {
            (3, 1) => !has_winograd || (g.wo >= MIN_WIDTH && g.cin * g.cout < WINOGRAD_CHANNELS),
            (3 | 4, 2) => g.up == 0,
            _ => false,
        }
}

/// Output rows at least this wide go through [`chunk`] rather than Winograd at stride 1: at 7×7
/// one column in eight would be thrown away, and samples stacked one above another (a zero row
/// between them) were no faster than Winograd there.
const MIN_WIDTH: usize = 14;

/// From this many (input, output) channel pairs on, Winograd stays: its transforms grow with
/// Cin + Cout, the multiplications it saves with Cin·Cout. One thread, batch 16: the UNet's
/// 64 → 64 layer at 14×14 took 2.5 ms with Winograd and 2.8–3.1 ms read in place; 96 → 32 at
/// 14×14 3.8 ms against 2.5–3.0 ms.
pub(super) const WINOGRAD_CHANNELS: usize = 64 * 64;

/// Fills `dst`, laid out `[segment][channel][(y − first)·Wo + x]`, with β + add + the
/// convolution, segment by segment.
#[inline(always)]
fn chunk<S: Simd>(simd: S, chunk: DirectChunk<'_>) -> Result<()> {
    let DirectChunk {
        conv,
        g,
        x,
        norms,
        segments,
        add,
        mut dst,
    } = chunk;
    let (m, cin) = (g.cout, g.cin);
    let pitch = g.wo + 1;
    // B's row offsets depend only on the number of rows: cuts of one sample mostly share it.
    let (mut offsets, mut offsets_rows) = (Vec::new(), None);
    for segment in segments {
        let rows = segment.end - segment.first;
        if offsets_rows != Some(rows) {
            (offsets, offsets_rows) = (row_offsets(g, rows), Some(rows));
        }
        let channel_len = planes_per_channel(g) * plane_len(g, rows);
        let planes_len = cin * channel_len;
        let n = rows * pitch;
        let mut buffer = Scratch::take(planes_len + m * n);
        let (planes, products) = buffer.values[..planes_len + m * n].split_at_mut(planes_len);
        for (c, planes) in planes.chunks_exact_mut(channel_len).enumerate() {
            let norm = norms.map(|norms| norms[segment.sample * cin + c]);
            let source = &x[(segment.sample * cin + c) * g.h * g.w..][..g.h * g.w];
            if g.stride == 1 {
                fill_shifted(g, source, norm, segment, planes);
            } else {
                fill_phases(g, source, segment, planes);
            }
        }
        multiply(
            simd,
            Product {
                lhs: &conv.weight,
                rhs: planes,
                rhs_rows: RhsRows::At(&offsets),
                n,
                dst: products,
                dst_rs: n,
                accumulate: false,
            },
        )?;
        let (out, rest) = std::mem::take(&mut dst).split_at_mut(m * rows * g.wo);
        dst = rest;
        for (o, (channel, product)) in out
            .chunks_exact_mut(rows * g.wo)
            .zip(products.chunks_exact(n))
            .enumerate()
        {
            let start = start_value(conv, add, segment.sample, o);
            for (line, source) in channel
                .chunks_exact_mut(g.wo)
                .zip(product.chunks_exact(pitch))
            {
                for (d, s) in line.iter_mut().zip(source) {
                    *d = start + s;
                }
            }
        }
    }
    Ok(())
}

/// Planes per input channel: one at stride 1, four phases at stride 2.
fn planes_per_channel(g: &Geometry) -> usize {
    if g.stride == 1 { 1 } else { 4 }
}

/// Values in one plane for `rows` output rows: the rows it holds, `Wo + 1` values each, and the
/// values the thrown-away last column reads past them.
pub(super) fn plane_len(g: &Geometry, rows: usize) -> usize {
    let pitch = g.wo + 1;
    if g.stride == 1 {
        (rows + 2) * pitch + 2
    } else {
        (rows + 1) * pitch + 1
    }
}

/// Where B's row (c, i, j) starts among the planes.
fn row_offsets(g: &Geometry, rows: usize) -> Vec<usize> {
    let (pitch, len, k) = (g.wo + 1, plane_len(g, rows), g.kernel);
    (0..g.cin * k * k)
        .map(|p| {
            let (c, i, j) = (p / (k * k), p / k % k, p % k);
            if g.stride == 1 {
                c * len + i * pitch + j
            } else {
                (4 * c + 2 * (i % 2) + j % 2) * len + (i / 2) * pitch + j / 2
            }
        })
        .collect()
}

/// The stride-1 plane (see the module documentation) for the output rows of `segment`: padded
/// rows `first − 1 ..= end` of the image the convolution sees (upsampled ×2 where the geometry
/// says so), each `Wo + 1` values apart after a zero, normalised by `norm` where one is given.
#[inline(always)]
pub(super) fn fill_shifted(
    g: &Geometry,
    source: &[f32],
    norm: Option<ChannelNorm>,
    segment: &Rows,
    plane: &mut [f32],
) {
    let pitch = g.wo + 1;
    let seen_height = g.h << g.up;
    // Plane row r holds image row first + r − 1; rows first..end of the plane lie in the image.
    let first = usize::from(segment.first == 0);
    let end = (segment.end + 1).min(seen_height) + 1 - segment.first;
    plane[..first * pitch].fill(0.0);
    plane[end * pitch..].fill(0.0);
    for r in first..end {
        let y = segment.first + r - 1;
        let line = &mut plane[r * pitch..][..pitch];
        let stored = &source[(y >> g.up) * g.w..][..g.w];
        if g.up == 0 {
            line[1..].copy_from_slice(stored);
        } else {
            for (pair, &value) in line[1..].chunks_exact_mut(2).zip(stored) {
                pair.fill(value);
            }
        }
    }
    if let Some(norm) = norm {
        // One long loop over the rows and the zero columns between them (loops along single
        // 28-value rows ran at half the speed), then the zeros put back.
        for value in &mut plane[first * pitch..end * pitch] {
            *value = norm.silu_of_norm(*value);
        }
    }
    for r in first..end {
        plane[r * pitch] = 0.0;
    }
}

/// The four stride-2 phase planes of one input channel for the output rows of `segment`:
/// `planes[(2a + b)·len + r·(Wo + 1) + s]` = P[2(first + r) + a][2s + b], P the input padded by
/// one zero on every side.
#[inline(always)]
fn fill_phases(g: &Geometry, source: &[f32], segment: &Rows, planes: &mut [f32]) {
    let pitch = g.wo + 1;
    let len = planes.len() / 4;
    for (phase, plane) in planes.chunks_exact_mut(len).enumerate() {
        let (a, b) = (phase / 2, phase % 2);
        plane.fill(0.0);
        for (r, line) in plane.chunks_exact_mut(pitch).enumerate() {
            // Padded row 2(first + r) + a is image row 2(first + r) + a − 1.
            let Some(y) = (2 * (segment.first + r) + a)
                .checked_sub(1)
                .filter(|&y| y < g.h)
            else {
                continue;
            };
            let stored = &source[y * g.w..][..g.w];
            // Padded column 2s + b is image column 2s + b − 1: odd image columns from s = 1 on
            // (b = 0), even ones from s = 0 (b = 1).
            let (line, stored) = if b == 0 {
                (&mut line[1..], &stored[1.min(g.w)..])
            } else {
                (line, stored)
            };
            for (value, &v) in line.iter_mut().zip(stored.iter().step_by(2)) {
                *value = v;
            }
        }
    }
}

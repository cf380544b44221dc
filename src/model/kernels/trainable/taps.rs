//! A convolution's gradients, tap by tap, as products with a long inner dimension.
//!
//! With u the convolution's input `(B, Cin, H, W)` (x upsampled, when the layer upsamples), y its
//! output `(B, Cout, Ho, Wo)`, stride s and padding p, the tap (i, j) of the k×k kernel sees
//! ```text
//! u_ij[b, c, yo, xo] = u[b, c, yo·s + i − p, xo·s + j − p]        (0 outside u)
//! y[b] = Σ_ij w[:, :, i, j] · u_ij[b] + bias                        (Cout × Cin times Cin × Ho·Wo)
//! ```
//! so for a loss L, with g = ∂L/∂y,
//! ```text
//! ∂L/∂w[:, :, i, j] = Σ_b g[b] · u_ij[b]ᵀ              one product of Cout × B·Ho·Wo by B·Ho·Wo × Cin
//! ∂L/∂u[b]          = col2im(Wᵀ · g[b])                Wᵀ: (Cin·k², Cout), each row (c, i, j) added
//!                                                      back at the input positions tap (i, j) read
//! ∂L/∂bias[o]       = Σ_b Σ_yo,xo g[b, o, yo, xo]
//! ```
//! The weights' gradient takes g as `(Cout, B·Ho·Wo)` rows and each tap's view of u as `(Cin,
//! B·Ho·Wo)` rows — for stride 1 read in place from u padded once, for other strides gathered —
//! and adds their row-by-row dot products (`row_products.rs`), blocks of samples spread over the
//! pool (`claimed.rs`); the input's gradient is one `gemm` product per sample (`matmul.rs`).

use candle_core::{Result, bail};
use rayon::prelude::*;

use super::super::claimed::try_for_each_claimed;
use super::super::conv::with_scratch;
use super::super::matmul::{Product, gemm_acc};
use super::super::norm::lane_sum;
use super::super::zeros;
use super::row_products::{Rows, SHIFTS, add_row_products, add_shifted_row_products};

/// The bytes of input and output gradient one block of samples spans in the weights' gradient:
/// well within a core's L2 cache (1.25 MB on the Xeon the figures are from, 256 KB on older
/// cores), so that every tap after the first reads them from there.
const BLOCK_BYTES: usize = 192 * 1024;

/// d(a, i): the tap of an upsampled convolution's 2×2 phase kernel (see
/// [`Taps::weight_gradient_upsampled`]) that tap i of the 3×3 kernel adds into, for output phase a.
const TAP_OF: [[usize; 3]; 2] = [[0, 1, 1], [0, 0, 1]];

/// The shortest rows the weights' gradient multiplies, in values, where the batch allows: at
/// batch 64, blocks of one sample of a 14×14 layer (rows of 256) spent more time adding up their
/// sums than multiplying; rows of 2048 took the step's weight gradients from 103–132 ms (medians
/// 106–120) to 72–97 (medians 79–87); longer rows, up to 8192, were no faster.
const MIN_ROW: usize = 2048;

/// The sizes of one convolution, as its backward pass needs them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Taps {
    batch: usize,
    cin: usize,
    /// Height and width of the input u.
    h: usize,
    w: usize,
    cout: usize,
    ho: usize,
    wo: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
}

impl Taps {
    /// For an input u of `u_dims` `(B, Cin, H, W)` and weights of `w_dims` `(Cout, Cin, k, k)`.
    pub(super) fn new(
        u_dims: &[usize],
        w_dims: &[usize],
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let (&[batch, cin, h, w], &[cout, wcin, kernel, kw]) = (u_dims, w_dims) else {
            bail!("convolution gradient: input {u_dims:?} and weights {w_dims:?}, 4-D each");
        };
        if wcin != cin || kernel != kw || kernel == 0 || stride == 0 {
            bail!("convolution gradient: weights {w_dims:?} for input {u_dims:?}, stride {stride}");
        }
        if h + 2 * padding < kernel || w + 2 * padding < kernel {
            bail!("convolution gradient: input {h}×{w} smaller than the {kernel}×{kernel} kernel");
        }
        Ok(Self {
            batch,
            cin,
            h,
            w,
            cout,
            ho: (h + 2 * padding - kernel) / stride + 1,
            wo: (w + 2 * padding - kernel) / stride + 1,
            kernel,
            stride,
            padding,
        })
    }

    /// The input's shape `(B, Cin, H, W)`.
    pub(super) fn input_dims(&self) -> [usize; 4] {
        [self.batch, self.cin, self.h, self.w]
    }

    /// The output's shape `(B, Cout, Ho, Wo)`.
    pub(super) fn output_dims(&self) -> [usize; 4] {
        [self.batch, self.cout, self.ho, self.wo]
    }

    fn pixels(&self) -> usize {
        self.ho * self.wo
    }

    fn taps(&self) -> usize {
        self.kernel * self.kernel
    }

    /// ∂L/∂bias from g `(B, Cout, Ho·Wo)`: each channel's sum, or each (sample, channel)'s for a
    /// bias `per_sample`. Each plane is summed in 16 partial sums (so the loop vectorises) on the
    /// pool, the planes' sums added in f64.
    pub(super) fn bias_gradient(&self, grad_y: &[f32], per_sample: bool) -> Vec<f32> {
        let plane_sums: Vec<f64> = grad_y
            .par_chunks(self.pixels().max(1))
            .map(|plane| lane_sum(plane, |v| v))
            .collect();
        if per_sample {
            return plane_sums.into_iter().map(|s| s as f32).collect();
        }
        let mut sums = vec![0f64; self.cout];
        for (index, sum) in plane_sums.into_iter().enumerate() {
            sums[index % self.cout] += sum;
        }
        sums.into_iter().map(|s| s as f32).collect()
    }

    /// ∂L/∂w `(Cout, Cin, k, k)` from the input u and g.
    pub(super) fn weight_gradient(&self, u: &[f32], grad_y: &[f32]) -> Result<Vec<f32>> {
        if self.stride == 1 {
            self.weight_gradient_shifted(u, grad_y)
        } else {
            self.weight_gradient_gathered(u, grad_y)
        }
    }

    /// For any stride: each tap's view of u gathered into a buffer, times g as `(B·Ho·Wo, Cout)`.
    fn weight_gradient_gathered(&self, u: &[f32], grad_y: &[f32]) -> Result<Vec<f32>> {
        let (cin, cout, pixels) = (self.cin, self.cout, self.pixels());
        let g_by_channel = self.gradient_on_grid(grad_y, self.wo, pixels);
        let g_len = self.batch * pixels;
        self.per_kernel_row_products(|i, samples, dst_row| {
            let columns = samples.len() * pixels;
            let g = Rows {
                values: &g_by_channel[samples.start * pixels..],
                stride: g_len,
                count: cout,
            };
            for (j, dst) in dst_row.chunks_mut(cin * cout).enumerate() {
                with_scratch(cin * columns, |seen| {
                    self.gather(u, i * self.kernel + j, samples.clone(), seen);
                    let seen = Rows {
                        values: seen,
                        stride: columns,
                        count: cin,
                    };
                    add_row_products(g, seen, columns, dst)
                })?;
            }
            Ok(())
        })
    }

    /// For stride 1, without gathering: with u padded once into rows of Wp = W + 2p values per
    /// line, laid out `(Cin, B·Hp·Wp)`, tap (i, j)'s view of every output (y, x) is the value
    /// i·Wp + j further along; taking the outputs on the padded grid too (g zero outside Ho × Wo),
    /// each tap reads one contiguous stretch of every channel's row in place, and the three taps of
    /// a 3×3 kernel's row read the same stretch one value apart, taken at once.
    fn weight_gradient_shifted(&self, u: &[f32], grad_y: &[f32]) -> Result<Vec<f32>> {
        let (cin, cout, k) = (self.cin, self.cout, self.kernel);
        let (hp, wp) = (self.h + 2 * self.padding, self.w + 2 * self.padding);
        let grid = hp * wp;
        // The furthest tap reads (k − 1)·(Wp + 1) values past the last sample's grid.
        let row_len = self.batch * grid + (k - 1) * (wp + 1);
        let padded = self.padded_by_channel(u, row_len);
        let g_grid = self.gradient_on_grid(grad_y, wp, grid);
        let g_len = self.batch * grid;
        self.per_kernel_row_products(|i, samples, dst_row| {
            let first = samples.start * grid;
            let len = samples.len() * grid;
            let g = Rows {
                values: &g_grid[first..],
                stride: g_len,
                count: cout,
            };
            let seen = |j: usize| Rows {
                values: &padded[first + i * wp + j..],
                stride: row_len,
                count: cin,
            };
            let tap_len = cin * cout;
            if k == SHIFTS {
                let (first_tap, rest) = dst_row.split_at_mut(tap_len);
                let (second_tap, third_tap) = rest.split_at_mut(tap_len);
                return add_shifted_row_products(
                    g,
                    seen(0),
                    len,
                    [first_tap, second_tap, third_tap],
                );
            }
            for (j, dst) in dst_row.chunks_mut(tap_len).enumerate() {
                add_row_products(g, seen(j), len, dst)?;
            }
            Ok(())
        })
    }

    /// ∂L/∂w `(Cout, Cin, 3, 3)` of a 3×3, padding-1 convolution of x upsampled ×2, `self` being
    /// that convolution at x's stored size (Ho = H, Wo = W) and `grad_y` the gradient of its
    /// upsampled output `(B, Cout, 2H, 2W)`. Output phase (a, b) (rows 2y + a, columns 2x + b) is a
    /// 2×2 convolution of x whose taps sum the 3×3 kernel's (see `conv/upsampled.rs`), so with
    /// g_ab its share of the gradient, on x's padded grid,
    /// ```text
    /// D_ab[o, c, di, dj] = Σ_{b, y, x} g_ab[o, y, x] · x[c, y + a + di − 1, x + b + dj − 1]
    /// ∂L/∂w[o, c, i, j]  = Σ_{a, b} D_ab[o, c, d(a, i), d(b, j)]
    /// ```
    /// d(a, i) the 2×2 tap that 3×3 tap i adds into: 16 row products per stored pixel, not the 36
    /// of the convolution at the upsampled size.
    pub(super) fn weight_gradient_upsampled(&self, x: &[f32], grad_y: &[f32]) -> Result<Vec<f32>> {
        if (self.kernel, self.stride, self.padding) != (3, 1, 1) {
            bail!("upsampled convolution's weight gradient: 3×3, stride 1, padding 1 only");
        }
        let (cin, cout) = (self.cin, self.cout);
        let (hp, wp) = (self.h + 2, self.w + 2);
        let grid = hp * wp;
        // The furthest 2×2 tap starts 2·Wp + 1 values along and reads one value past the grid.
        let row_len = self.batch * grid + 2 * (wp + 1);
        let padded = self.padded_by_channel(x, row_len);
        let phases: Vec<Vec<f32>> = (0..4)
            .map(|phase| self.phase_on_grid(grad_y, phase, wp, grid))
            .collect();
        let g_len = self.batch * grid;
        let tap_len = cin * cout;
        // Per block of samples: D_ab for the four phases, four 2×2 taps each.
        let per_block = self.samples_per_block();
        let blocks = self.batch.div_ceil(per_block);
        let mut partials = vec![0f32; blocks * 16 * tap_len];
        try_for_each_claimed(
            partials.chunks_mut(16 * tap_len).enumerate(),
            |(block, dst)| {
                let first = block * per_block;
                let samples = first..(first + per_block).min(self.batch);
                let (start, len) = (first * grid, samples.len() * grid);
                for (phase, dst) in dst.chunks_mut(4 * tap_len).enumerate() {
                    let (a, b) = (phase / 2, phase % 2);
                    let g = Rows {
                        values: &phases[phase][start..],
                        stride: g_len,
                        count: cout,
                    };
                    for (di, dst) in dst.chunks_mut(2 * tap_len).enumerate() {
                        let seen = Rows {
                            values: &padded[start + (a + di) * wp + b..],
                            stride: row_len,
                            count: cin,
                        };
                        let (left, right) = dst.split_at_mut(tap_len);
                        add_shifted_row_products(g, seen, len, [left, right])?;
                    }
                }
                Ok(())
            },
        )?;
        let mut grad_w = vec![0f32; cout * cin * 9];
        for block in partials.chunks(16 * tap_len) {
            for (phase_tap, partial) in block.chunks(tap_len).enumerate() {
                let (phase, di, dj) = (phase_tap / 4, phase_tap / 2 % 2, phase_tap % 2);
                let (a, b) = (phase / 2, phase % 2);
                for (i, j) in (0..3)
                    .flat_map(|i| (0..3).map(move |j| (i, j)))
                    .filter(|&(i, j)| TAP_OF[a][i] == di && TAP_OF[b][j] == dj)
                {
                    for (o_c, &v) in partial.iter().enumerate() {
                        grad_w[o_c * 9 + 3 * i + j] += v;
                    }
                }
            }
        }
        Ok(grad_w)
    }

    /// Output phase `phase` = 2a + b of g `(B, Cout, 2H, 2W)`, rows 2y + a and columns 2x + b,
    /// as `(Cout, B·Hp·Wp)` on x's padded grid (zeros elsewhere), like
    /// [`Taps::gradient_on_grid`].
    fn phase_on_grid(&self, grad_y: &[f32], phase: usize, wp: usize, grid: usize) -> Vec<f32> {
        let (a, b) = (phase / 2, phase % 2);
        let (h, w) = (self.h, self.w);
        self.on_grid(grid, |o, sample, on_grid| {
            let plane = &grad_y[(sample * self.cout + o) * 4 * h * w..][..4 * h * w];
            for (y, line) in on_grid.chunks_mut(wp).take(h).enumerate() {
                let source = &plane[(2 * y + a) * 2 * w..][..2 * w];
                for (v, &s) in line[..w].iter_mut().zip(source.iter().skip(b).step_by(2)) {
                    *v = s;
                }
            }
        })
    }

    /// g `(B, Cout, Ho, Wo)` as `(Cout, B·Hp·Wp)`: each sample's output on the padded grid, with
    /// zeros at the positions that are not outputs.
    fn gradient_on_grid(&self, grad_y: &[f32], wp: usize, grid: usize) -> Vec<f32> {
        let pixels = self.pixels();
        self.on_grid(grid, |o, sample, on_grid| {
            let plane = &grad_y[(sample * self.cout + o) * pixels..][..pixels];
            for (y, line) in plane.chunks(self.wo).enumerate() {
                on_grid[y * wp..][..self.wo].copy_from_slice(line);
            }
        })
    }

    /// A `(Cout, B·grid)` matrix of zeros, each (output channel, sample)'s `grid` values filled by
    /// `fill(o, sample, values)`, the channels over the pool.
    fn on_grid(&self, grid: usize, fill: impl Fn(usize, usize, &mut [f32]) + Sync) -> Vec<f32> {
        let len = self.batch * grid;
        let mut g_grid = zeros(self.cout * len);
        g_grid
            .par_chunks_mut(len.max(1))
            .enumerate()
            .for_each(|(o, row)| {
                for (sample, on_grid) in row.chunks_mut(grid.max(1)).enumerate() {
                    fill(o, sample, on_grid);
                }
            });
        g_grid
    }

    /// u padded by `padding` zeros on every side, as `(Cin, row_len)`: channel c's row holds each
    /// sample's padded plane in turn, then zeros.
    fn padded_by_channel(&self, u: &[f32], row_len: usize) -> Vec<f32> {
        let (p, plane) = (self.padding, self.h * self.w);
        let wp = self.w + 2 * p;
        let grid = (self.h + 2 * p) * wp;
        let mut padded = zeros(self.cin * row_len);
        padded
            .par_chunks_mut(row_len.max(1))
            .enumerate()
            .for_each(|(c, row)| {
                for (b, dst) in row.chunks_mut(grid.max(1)).take(self.batch).enumerate() {
                    let src = &u[(b * self.cin + c) * plane..][..plane];
                    for (y, line) in src.chunks(self.w).enumerate() {
                        dst[(y + p) * wp + p..][..self.w].copy_from_slice(line);
                    }
                }
            });
        padded
    }

    /// Runs `product(i, samples, dst_row)` for every row i of the kernel on blocks of samples,
    /// each adding the `(Cout, Cin)` product of tap (i, j) into `dst_row[j·Cout·Cin..]`, zeroed,
    /// the blocks spread over the pool; returns the sum as ∂L/∂w `(Cout, Cin, k, k)`. Blocks are
    /// [`Self::samples_per_block`] samples.
    fn per_kernel_row_products(
        &self,
        product: impl Fn(usize, std::ops::Range<usize>, &mut [f32]) -> Result<()> + Sync,
    ) -> Result<Vec<f32>> {
        let (cin, cout, taps) = (self.cin, self.cout, self.taps());
        let per_block = self.samples_per_block();
        let blocks = self.batch.div_ceil(per_block);
        let tap_len = cin * cout;
        let mut partials = vec![0f32; blocks * taps * tap_len];
        try_for_each_claimed(
            partials.chunks_mut(taps * tap_len).enumerate(),
            |(block, dst)| {
                let first = block * per_block;
                let samples = first..(first + per_block).min(self.batch);
                for (i, dst_row) in dst.chunks_mut(self.kernel * tap_len).enumerate() {
                    product(i, samples.clone(), dst_row)?;
                }
                Ok(())
            },
        )?;
        let mut grad_w = vec![0f32; cout * cin * taps];
        for block in partials.chunks(taps * tap_len) {
            for (tap, partial) in block.chunks(tap_len).enumerate() {
                for (o_c, &v) in partial.iter().enumerate() {
                    grad_w[o_c * taps + tap] += v;
                }
            }
        }
        Ok(grad_w)
    }

    /// Samples per block of the weights' gradient: as many as keep both operands within
    /// [`BLOCK_BYTES`], but at least enough for rows of [`MIN_ROW`] values (each block's sums are
    /// added up across their SIMD lanes once, which on short rows takes most of the time); then
    /// evened out so that the blocks divide among the pool's threads.
    fn samples_per_block(&self) -> usize {
        let batch = self.batch.max(1);
        let sample_bytes = (self.cin + self.cout) * self.h * self.w * size_of::<f32>();
        let within_cache = BLOCK_BYTES / sample_bytes.max(1);
        let long_rows = MIN_ROW.div_ceil((self.ho * self.wo).max(1));
        let wanted = within_cache.max(long_rows).clamp(1, batch);
        let threads = rayon::current_num_threads().max(1);
        let blocks = batch.div_ceil(wanted).next_multiple_of(threads).min(batch);
        batch.div_ceil(blocks)
    }

    /// Writes tap `tap`'s view of the samples `samples` of u into `seen`, `(Cin, samples·Ho·Wo)`,
    /// every value (zeros where the tap reads the padding).
    fn gather(&self, u: &[f32], tap: usize, samples: std::ops::Range<usize>, seen: &mut [f32]) {
        let (i, j) = (tap / self.kernel, tap % self.kernel);
        let (pixels, plane) = (self.pixels(), self.h * self.w);
        let columns = samples.len() * pixels;
        let (rows, cols) = (
            self.reads(i, self.h, self.ho),
            self.reads(j, self.w, self.wo),
        );
        for c in 0..self.cin {
            for (k, b) in samples.clone().enumerate() {
                let src = &u[(b * self.cin + c) * plane..][..plane];
                let dst = &mut seen[c * columns + k * pixels..][..pixels];
                for (yo, row) in dst.chunks_mut(self.wo).enumerate() {
                    if !rows.contains(&yo) {
                        row.fill(0.0);
                        continue;
                    }
                    let src_row = &src[self.at(yo, i) * self.w..][..self.w];
                    row[..cols.start].fill(0.0);
                    row[cols.end..].fill(0.0);
                    let first = self.at(cols.start, j);
                    if self.stride == 1 {
                        row[cols.clone()].copy_from_slice(&src_row[first..][..cols.len()]);
                    } else {
                        let picked = src_row[first..].iter().step_by(self.stride);
                        for (v, &x) in row[cols.clone()].iter_mut().zip(picked) {
                            *v = x;
                        }
                    }
                }
            }
        }
    }

    /// The output indices (of `outputs`) whose kernel offset `offset` reads inside an axis of
    /// `len` input values.
    fn reads(&self, offset: usize, len: usize, outputs: usize) -> std::ops::Range<usize> {
        // o·s + offset − p ≥ 0 and ≤ len − 1.
        let first = self.padding.saturating_sub(offset).div_ceil(self.stride);
        let end = (len + self.padding)
            .checked_sub(offset + 1)
            .map_or(0, |last| last / self.stride + 1)
            .min(outputs);
        first.min(end)..end
    }

    /// The input index output index `o` reads through kernel offset `offset` (inside
    /// [`Taps::reads`]).
    #[inline(always)]
    fn at(&self, o: usize, offset: usize) -> usize {
        o * self.stride + offset - self.padding
    }

    /// ∂L/∂u `(B, Cin, H, W)` from the weights and g.
    pub(super) fn input_gradient(&self, weight: &[f32], grad_y: &[f32]) -> Result<Vec<f32>> {
        let (cin, cout, taps, pixels) = (self.cin, self.cout, self.taps(), self.pixels());
        // Wᵀ: row (c, tap), column o.
        let mut w_t = vec![0f32; cin * taps * cout];
        for o in 0..cout {
            for c in 0..cin {
                for tap in 0..taps {
                    w_t[(c * taps + tap) * cout + o] = weight[(o * cin + c) * taps + tap];
                }
            }
        }
        let plane = self.h * self.w;
        let mut grad_u = zeros(self.batch * cin * plane);
        try_for_each_claimed(grad_u.chunks_mut(cin * plane).enumerate(), |(b, dst)| {
            let product = Product {
                m: cin * taps,
                n: pixels,
                k: cout,
                lhs_rs: cout,
                rhs_rs: pixels,
                dst_rs: pixels,
            };
            let g = &grad_y[b * cout * pixels..][..cout * pixels];
            with_scratch(cin * taps * pixels, |columns| {
                columns.fill(0.0);
                gemm_acc(product, &w_t, g, columns)?;
                self.scatter(columns, dst);
                Ok(())
            })
        })
        .map(|()| grad_u)
    }

    /// Adds each row (c, tap) of `columns` `(Cin·k², Ho·Wo)` back at the positions of the
    /// sample's input `dst` `(Cin, H, W)` that the tap read.
    fn scatter(&self, columns: &[f32], dst: &mut [f32]) {
        let (taps, pixels, plane) = (self.taps(), self.pixels(), self.h * self.w);
        for (row_index, row) in columns.chunks(pixels).enumerate() {
            let (c, tap) = (row_index / taps, row_index % taps);
            let (i, j) = (tap / self.kernel, tap % self.kernel);
            let (rows, cols) = (
                self.reads(i, self.h, self.ho),
                self.reads(j, self.w, self.wo),
            );
            let channel = &mut dst[c * plane..][..plane];
            let first = self.at(cols.start, j);
            for yo in rows {
                let values = &row[yo * self.wo..][..self.wo];
                let dst_row = &mut channel[self.at(yo, i) * self.w..][..self.w];
                let targets = dst_row[first..].iter_mut().step_by(self.stride);
                for (d, &v) in targets.zip(&values[cols.clone()]) {
                    *d += v;
                }
            }
        }
    }
}

/// `x` `(N, H, W)` upsampled ×2 (nearest): `(N, 2H, 2W)`, each value repeated over a 2×2 block.
pub(super) fn upsampled(x: &[f32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = zeros(planes * 4 * h * w);
    let (src_planes, dst_planes) = (
        x.par_chunks((h * w).max(1)),
        out.par_chunks_mut((4 * h * w).max(1)),
    );
    dst_planes.zip(src_planes).for_each(|(dst, src)| {
        for (pair, line) in dst.chunks_mut(4 * w).zip(src.chunks(w)) {
            let (top, bottom) = pair.split_at_mut(2 * w);
            for (two, &v) in top.chunks_exact_mut(2).zip(line) {
                two.fill(v);
            }
            bottom.copy_from_slice(top);
        }
    });
    out
}

/// The gradient of a ×2 nearest upsampling: `grad` `(N, 2H, 2W)` planes summed over each 2×2
/// block into `(N, H, W)`.
pub(super) fn upsample_gradient(grad: &[f32], planes: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = zeros(planes * h * w);
    let (src_planes, dst_planes) = (
        grad.par_chunks((4 * h * w).max(1)),
        out.par_chunks_mut((h * w).max(1)),
    );
    dst_planes.zip(src_planes).for_each(|(dst, src)| {
        for (y, dst_row) in dst.chunks_mut(w).enumerate() {
            let (top, bottom) = (
                &src[2 * y * 2 * w..][..2 * w],
                &src[(2 * y + 1) * 2 * w..][..2 * w],
            );
            for (x, v) in dst_row.iter_mut().enumerate() {
                *v = top[2 * x] + top[2 * x + 1] + bottom[2 * x] + bottom[2 * x + 1];
            }
        }
    });
    out
}

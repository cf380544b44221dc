//! 2-D convolution (square kernel, any stride and padding, optionally on the input upsampled ×2
//! by nearest neighbour) as matrix products, with the bias, a per-sample per-channel addition and
//! a residual fused into the output.
//!
//! Shapes: x `(B, Cin, H, W)`; with `upsample` the convolution sees x' of `(B, Cin, 2H, 2W)`,
//! x'[b, c, y, x] = x[b, c, ⌊y/2⌋, ⌊x/2⌋], else x' = x. Weights w `(Cout, Cin, k, k)`, bias β
//! `(Cout,)`, stride s, padding p; Ho = (H' + 2p − k)/s + 1 (likewise Wo).
//! ```text
//! out[b, o, y, x] = β[o] + add[b, o] + res[b, o, y, x]
//!                 + Σ_{c, i, j} w[o, c, i, j] · x'[b, c, s·y + i − p, s·x + j − p]   (0 outside)
//! ```
//! `add` `(B, Cout)` (the ResBlock's timestep embedding) and `res` `(B, Cout, Ho, Wo)` are
//! optional. Four ways to compute it:
//! - im2col: out_b = W · col_b with W `(Cout, Cin·k·k)` (the weight tensor as it is stored, row o,
//!   column (c, i, j)) and col_b `(Cin·k·k, Ho·Wo)` the patches; a 1×1 convolution reads x itself
//!   as col_b;
//! - read in place, for 3×3 kernels with padding 1 (most of the UNet's work): the same W, with
//!   col_b's rows taken as shifted runs of padded copies of the input, never written out; see the
//!   `direct` module;
//! - Winograd F(2×2, 3×3) for 3×3 kernels with stride 1 and padding 1 where rows are short (7×7)
//!   or channels many (64 → 64), 2.25× fewer multiplications; see the `winograd` module;
//! - for a 3×3 kernel (stride 1, padding 1) on an upsampled input, four 2×2 convolutions of the
//!   stored input, one per output phase, also 2.25× fewer multiplications; see the `upsampled`
//!   module.
//!
//! The columns of several small samples are packed side by side into one product; with few
//! samples, each is cut into parts of whole rows (pairs of rows for Winograd and an upsampled
//! input), and a single small sample (batch 1 at 7×7) is one chunk that spreads its Winograd work
//! over the pool. The pool's threads take the chunks one at a time (`claimed.rs`). How the work
//! is cut depends only on the shapes, never on the number of threads, and no cut changes the
//! arithmetic of an output, so results are the same bits whatever the thread count and batch.

use std::cell::Cell;
use std::sync::{Arc, OnceLock};
use std::thread::LocalKey;

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, bail};

use super::claimed::try_for_each_claimed;
use super::norm::{ChannelNorm, PreparedGroupNorm};
use super::product::{PackedLhs, Product, RhsRows, multiply_on_this_cpu};
use super::{contiguous_f32, zeros};
use direct::DirectChunk;
use upsampled::UpsampledChunk;
pub(super) use upsampled::summed_taps;
use winograd::WinogradChunk;

mod direct;
mod upsampled;
mod winograd;

/// Columns (output pixels) one matrix product aims for when several samples are packed together.
const PACK_COLUMNS: usize = 512;
/// With fewer packed groups than this, work is cut within samples (row blocks).
const MIN_ITEMS: usize = 4;
/// Output pixels per row block when a sample is cut: a 28×28 or a 14×14 sample in two parts (one
/// where its work goes through Winograd, which spreads itself over the pool). Batch-1 passes,
/// the two choices alternating pass by pass in one process: 224 (four parts at 28×28) was 1.5–3 %
/// slower than this, with or without another program busy 3 ms in 10 on one core; 160 (six parts,
/// a 14×14 Winograd sample in two of three and four tile rows, its products 21–28 columns wide)
/// 3.5 % slower than 224, and 80 slower still: each part copies the rows around it again, and
/// its products are narrower.
const BLOCK_COLUMNS: usize = 400;
/// Below this many multiply-adds, a convolution runs on the calling thread. The UNet's first and
/// last convolutions at batch 1 (113 K) run on the pool: with the attention block's split (in
/// `linear.rs`), 1.5–2 % faster passes than with `1 << 18` and no split, pass by pass.
const PARALLEL_MIN_MACS: usize = 1 << 16;

/// A convolution's weights and sizes, copied out of candle's tensors once.
#[derive(Clone, Debug)]
pub struct PreparedConv {
    cout: usize,
    cin: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    /// The weights as the matrix `(Cout, Cin·k·k)` (row o, column (c, i, j)), packed.
    weight: PackedLhs,
    /// `(Cout,)`, zeros when the layer has no bias.
    bias: Arc<[f32]>,
    /// For 3×3, stride 1, padding 1 and at least [`WINOGRAD_MIN_CIN`] input channels: the
    /// Winograd-transformed weights U[ξ][o][c] = (G w[o, c] Gᵀ)[ξ]: 16 matrices `(Cout, Cin)`,
    /// packed.
    winograd: Option<Arc<[PackedLhs]>>,
    /// The weights `(Cout, Cin, k, k)` as given, from which [`PreparedConv::upsampled`] derives
    /// its own on first use.
    given: Arc<[f32]>,
    /// For 3×3, stride 1, padding 1 on an upsampled input: the four phases' 2×2 weights (see the
    /// `upsampled` module), made on the first such call.
    upsampled: OnceLock<Arc<[PackedLhs]>>,
}

/// Fewer input channels than this use im2col (the products would be too thin).
const WINOGRAD_MIN_CIN: usize = 8;

impl PreparedConv {
    /// Copies `weight` `(Cout, Cin, k, k)` and `bias` `(Cout,)`.
    pub fn new(
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        padding: usize,
    ) -> Result<Self> {
        let (cout, cin, kh, kw) = weight.dims4()?;
        if kh != kw || kh == 0 || stride == 0 {
            bail!(
                "PreparedConv: square kernels and stride ≥ 1 only, got {kh}×{kw}, stride {stride}"
            );
        }
        let weight: Vec<f32> = weight.flatten_all()?.to_vec1()?;
        let bias: Vec<f32> = match bias {
            Some(b) => b.flatten_all()?.to_vec1()?,
            None => vec![0.0; cout],
        };
        if bias.len() != cout {
            bail!(
                "PreparedConv: {} biases for {cout} output channels",
                bias.len()
            );
        }
        let winograd = (kh == 3 && stride == 1 && padding == 1 && cin >= WINOGRAD_MIN_CIN)
            .then(|| winograd::weights(&weight, cout, cin));
        let patch = cin * kh * kw;
        Ok(Self {
            cout,
            cin,
            kernel: kh,
            stride,
            padding,
            weight: PackedLhs::new(&weight, cout, patch),
            bias: bias.into(),
            winograd,
            given: weight.into(),
            upsampled: OnceLock::new(),
        })
    }

    /// The four phases' weights of a 3×3 convolution of an upsampled input.
    fn upsampled(&self) -> &[PackedLhs] {
        self.upsampled
            .get_or_init(|| upsampled::phase_weights(&self.given, self.cout, self.cin).into())
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.cout
    }

    /// The convolution of `x` (f32, CPU) with everything fused (see the module documentation);
    /// `add` is `(B, Cout)`, `residual` `(B, Cout, Ho, Wo)`. No autograd history.
    pub fn forward(
        &self,
        x: &Tensor,
        upsample: bool,
        add: Option<&Tensor>,
        residual: Option<&Tensor>,
    ) -> Result<Tensor> {
        self.forward_fused(x, None, upsample, add, residual)
    }

    /// Whether [`PreparedConv::forward_after_norm`] applies: a 3×3, stride-1 convolution with
    /// Winograd weights, which reads every input value once, in place or through Winograd's input
    /// transform, where the norm can be applied on the way.
    pub fn takes_a_norm(&self) -> bool {
        self.winograd.is_some()
    }

    /// conv(SiLU(norm(x))) + `add` + `residual`, the norm and SiLU applied while the input is
    /// read (its statistics first, in one pass of their own) instead of written out and read
    /// back: the same values as [`PreparedGroupNorm::forward`] followed by
    /// [`PreparedConv::forward`]. Fails unless [`PreparedConv::takes_a_norm`].
    pub fn forward_after_norm(
        &self,
        norm: &PreparedGroupNorm,
        x: &Tensor,
        add: Option<&Tensor>,
        residual: Option<&Tensor>,
    ) -> Result<Tensor> {
        if !self.takes_a_norm() || norm.channels() != self.cin {
            bail!(
                "convolution: a norm of {} channels cannot go into this {}×{} convolution of {}",
                norm.channels(),
                self.kernel,
                self.kernel,
                self.cin
            );
        }
        self.forward_fused(x, Some(norm), false, add, residual)
    }

    /// [`PreparedConv::forward`] (no residual; `add` `(B, Cout)` values) on a custom operation's
    /// input, which must be contiguous: for the trainable layers, without a copy in or out.
    pub(super) fn forward_storage(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
        upsample: bool,
        add: Option<&[f32]>,
    ) -> Result<(CpuStorage, Shape)> {
        if add.is_some_and(|a| Some(a.len()) != layout.dims().first().map(|b| b * self.cout)) {
            bail!(
                "PreparedConv: add of the wrong length for x {:?}",
                layout.dims()
            );
        }
        let op = ConvOp {
            conv: self,
            norm: None,
            upsample,
            add,
        };
        op.run(storage, layout, None)
    }

    fn forward_fused(
        &self,
        x: &Tensor,
        norm: Option<&PreparedGroupNorm>,
        upsample: bool,
        add: Option<&Tensor>,
        residual: Option<&Tensor>,
    ) -> Result<Tensor> {
        let x = x.contiguous()?;
        let add: Option<Vec<f32>> = match add {
            Some(a) => {
                let (b, c) = a.dims2()?;
                if b != x.dim(0)? || c != self.cout {
                    bail!("PreparedConv: add {:?} for x {:?}", a.dims(), x.dims());
                }
                Some(a.flatten_all()?.to_vec1()?)
            }
            None => None,
        };
        let op = ConvOp {
            conv: self,
            norm,
            upsample,
            add: add.as_deref(),
        };
        match residual {
            Some(r) => x.apply_op2_no_bwd(&r.contiguous()?, &op),
            None => x.apply_op1_no_bwd(&op),
        }
    }
}

/// The sizes of one call.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    batch: usize,
    cin: usize,
    /// Stored input height and width.
    h: usize,
    w: usize,
    /// 1 when the input is upsampled ×2 on the fly, else 0 (a shift).
    up: u32,
    kernel: usize,
    stride: usize,
    padding: usize,
    cout: usize,
    ho: usize,
    wo: usize,
}

impl Geometry {
    fn new(conv: &PreparedConv, dims: &[usize], upsample: bool) -> Result<Self> {
        let &[batch, cin, h, w] = dims else {
            bail!("convolution: expected (B, C, H, W), got {dims:?}");
        };
        if cin != conv.cin {
            bail!(
                "convolution: {} input channels expected, got {cin}",
                conv.cin
            );
        }
        let up = u32::from(upsample);
        let (vh, vw) = (h << up, w << up);
        let (k, s, p) = (conv.kernel, conv.stride, conv.padding);
        if vh + 2 * p < k || vw + 2 * p < k {
            bail!("convolution: input {vh}×{vw} smaller than the {k}×{k} kernel");
        }
        Ok(Self {
            batch,
            cin,
            h,
            w,
            up,
            kernel: k,
            stride: s,
            padding: p,
            cout: conv.cout,
            ho: (vh + 2 * p - k) / s + 1,
            wo: (vw + 2 * p - k) / s + 1,
        })
    }

    fn pixels(&self) -> usize {
        self.ho * self.wo
    }

    fn patch_len(&self) -> usize {
        self.cin * self.kernel * self.kernel
    }

    /// 3×3, stride 1, padding 1: Winograd's F(2×2, 3×3) applies.
    fn suits_winograd(&self) -> bool {
        self.kernel == 3 && self.stride == 1 && self.padding == 1
    }

    /// A 1×1 convolution that reads x as it is (its im2col would be a copy).
    fn is_pointwise(&self) -> bool {
        self.kernel == 1 && self.stride == 1 && self.padding == 0 && self.up == 0
    }
}

/// The input x, `(B, Cin, H, W)` values, and the norm to apply to each (sample, channel) as it
/// is read (Winograd only: [`PreparedConv::takes_a_norm`]).
#[derive(Clone, Copy, Debug)]
struct Input<'a> {
    values: &'a [f32],
    norms: Option<&'a [ChannelNorm]>,
}

/// Output rows `rows` of sample `sample`: the unit the im2col copies.
#[derive(Clone, Copy, Debug)]
struct Rows {
    sample: usize,
    first: usize,
    end: usize,
}

/// The custom operation: input x (and, as `CustomOp2`, the residual).
struct ConvOp<'a> {
    conv: &'a PreparedConv,
    /// A GroupNorm (and SiLU) to apply to x as it is read.
    norm: Option<&'a PreparedGroupNorm>,
    upsample: bool,
    add: Option<&'a [f32]>,
}

impl ConvOp<'_> {
    fn run(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
        residual: Option<(&CpuStorage, &Layout)>,
    ) -> Result<(CpuStorage, Shape)> {
        let x = contiguous_f32("convolution", storage, layout)?;
        let g = Geometry::new(self.conv, layout.dims(), self.upsample)?;
        let out_dims = [g.batch, g.cout, g.ho, g.wo];
        let residual = match residual {
            Some((s, l)) => {
                if l.dims() != out_dims {
                    bail!("convolution: residual {:?}, output {out_dims:?}", l.dims());
                }
                Some(contiguous_f32("convolution", s, l)?)
            }
            None => None,
        };
        let norms = self.norm.map(|norm| norm.channel_norms(x, g.h * g.w));
        let x = Input {
            values: x,
            norms: norms.as_deref(),
        };
        let out = convolve(self.conv, &g, x, self.add, residual)?;
        Ok((CpuStorage::F32(out), Shape::from(out_dims.to_vec())))
    }
}

impl CustomOp1 for ConvOp<'_> {
    fn name(&self) -> &'static str {
        "diffuscope-conv2d"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        self.run(storage, layout, None)
    }
}

impl CustomOp2 for ConvOp<'_> {
    fn name(&self) -> &'static str {
        "diffuscope-conv2d-residual"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        self.run(s1, l1, Some((s2, l2)))
    }
}

/// A thread's slot for a reusable buffer.
type Slot = LocalKey<Cell<Vec<f32>>>;

thread_local! {
    /// Each thread's im2col buffer, reused across calls (a fresh large allocation costs page
    /// faults every time).
    static SCRATCH: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
    /// Each thread's buffer for a part of a sample (see [`convolve`]), which the chunk computing
    /// it fills using [`SCRATCH`].
    static PART: Cell<Vec<f32>> = const { Cell::new(Vec::new()) };
}

/// A buffer with unspecified contents: a thread's buffer, taken out of its slot while in use
/// (rayon may start another convolution on this thread while one waits; that one then finds the
/// slot empty and grows its own) and put back when dropped.
struct Scratch {
    values: Vec<f32>,
    slot: &'static Slot,
}

impl Scratch {
    /// At least `len` values: the thread's [`SCRATCH`] buffer.
    #[inline(always)]
    fn take(len: usize) -> Self {
        Self::take_from(&SCRATCH, len)
    }

    /// At least `len` values from `slot`.
    #[inline(always)]
    fn take_from(slot: &'static Slot, len: usize) -> Self {
        let mut values = slot.take();
        if values.len() < len {
            values.resize(len, 0.0);
        }
        Self { values, slot }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Keep the larger of this buffer and whatever a nested call left in the slot.
        let left = self.slot.take();
        let mine = std::mem::take(&mut self.values);
        self.slot
            .set(if left.len() > mine.len() { left } else { mine });
    }
}

/// Runs `f` on a [`Scratch`] buffer of `len` values (unspecified contents; the trainable layers'
/// backward passes use it too).
pub(super) fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    let mut scratch = Scratch::take(len);
    f(&mut scratch.values[..len])
}

/// The whole convolution; returns `(B, Cout, Ho, Wo)` values.
fn convolve(
    conv: &PreparedConv,
    g: &Geometry,
    x: Input<'_>,
    add: Option<&[f32]>,
    residual: Option<&[f32]>,
) -> Result<Vec<f32>> {
    let pixels = g.pixels();
    let len = g.batch * g.cout * pixels;
    if len == 0 {
        return Ok(Vec::new());
    }
    let mut per_group = (PACK_COLUMNS / pixels)
        .min(g.batch / MIN_ITEMS)
        .clamp(1, g.batch);
    let groups = g.batch.div_ceil(per_group);
    if groups > 1 && groups % 2 == 1 {
        // One group more where that makes their number even, so that halves of the list are
        // halves of the work (batch 64 at 7×7: 8 groups of 8, not 7 of 10 with one thread idle
        // for a seventh of the layer).
        per_group = g.batch.div_ceil(groups + 1);
    }
    let groups = g.batch.div_ceil(per_group);
    let macs = len * g.patch_len();
    let unit = rows_per_unit(conv, g);
    let parts = parts_per_sample(conv, g, unit);
    if groups >= MIN_ITEMS || macs < PARALLEL_MIN_MACS || parts == 1 {
        // Whole samples per item; each item owns a contiguous slice of `out`. (With fewer than
        // MIN_ITEMS groups, a group is one sample.) A lone sample is the layer's only chunk, which
        // spreads its own work over the pool.
        let spread = groups == 1 && macs >= PARALLEL_MIN_MACS;
        let mut out = zeros(len);
        let item = |(index, dst): (usize, &mut [f32])| -> Result<()> {
            let first = index * per_group;
            let rows: Vec<Rows> = (first..first + dst.len() / (g.cout * pixels))
                .map(|sample| Rows {
                    sample,
                    first: 0,
                    end: g.ho,
                })
                .collect();
            chunk(conv, g, x, &rows, add, spread, dst)?;
            if let Some(res) = residual {
                let res = &res[first * g.cout * pixels..][..dst.len()];
                for (d, r) in dst.iter_mut().zip(res) {
                    *d += r;
                }
            }
            Ok(())
        };
        if macs < PARALLEL_MIN_MACS {
            out.chunks_mut(per_group * g.cout * pixels)
                .enumerate()
                .try_for_each(item)?;
        } else {
            let chunks = out.chunks_mut(per_group * g.cout * pixels).enumerate();
            try_for_each_claimed(chunks, item)?;
        }
        return Ok(out);
    }
    // Few large samples: each cut into `parts` (see `parts_per_sample`).
    let units = g.ho.div_ceil(unit);
    let items: Vec<Rows> = (0..g.batch)
        .flat_map(|sample| {
            (0..parts).map(move |part| Rows {
                sample,
                first: unit * (part * units / parts),
                end: (unit * ((part + 1) * units / parts)).min(g.ho),
            })
        })
        .collect();
    // Each part is computed into the thread's own buffer, then copied (plus the residual) into
    // its rows of every output plane by the same thread, while the other computes another.
    let mut out = zeros(len);
    let destinations = rows_of_planes(&mut out, g, &items);
    try_for_each_claimed(items.iter().zip(destinations), |(&rows, planes)| {
        let n = (rows.end - rows.first) * g.wo;
        let mut part = Scratch::take_from(&PART, g.cout * n);
        let part = &mut part.values[..g.cout * n];
        chunk(conv, g, x, &[rows], add, false, part)?;
        for (o, (dst, src)) in planes.into_iter().zip(part.chunks_exact(n)).enumerate() {
            match residual {
                Some(res) => {
                    let res = &res[(rows.sample * g.cout + o) * pixels + rows.first * g.wo..][..n];
                    for ((d, &s), &r) in dst.iter_mut().zip(src).zip(res) {
                        *d = s + r;
                    }
                }
                None => dst.copy_from_slice(src),
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// For each of `items` (parts of samples; a sample's parts consecutive, in the order of their
/// rows), its rows of each of its sample's output planes in `out`, `(B, Cout, Ho, Wo)`.
fn rows_of_planes<'o>(out: &'o mut [f32], g: &Geometry, items: &[Rows]) -> Vec<Vec<&'o mut [f32]>> {
    let mut destinations: Vec<Vec<&mut [f32]>> =
        items.iter().map(|_| Vec::with_capacity(g.cout)).collect();
    for (plane, mut rest) in out.chunks_mut(g.pixels()).enumerate() {
        let sample = plane / g.cout;
        for (rows, planes) in items.iter().zip(&mut destinations) {
            if rows.sample == sample {
                let (mine, after) = rest.split_at_mut((rows.end - rows.first) * g.wo);
                planes.push(mine);
                rest = after;
            }
        }
    }
    destinations
}

/// The output rows a part of a sample is made of: pairs of rows where the convolution goes
/// through Winograd, whose tiles are 2×2, or reads an upsampled input at its stored size (a
/// stored row makes two); single rows otherwise, so that a 14-row sample splits 7 + 7 rather than
/// 6 + 8.
fn rows_per_unit(conv: &PreparedConv, g: &Geometry) -> usize {
    let winograd = conv.winograd.is_some() && g.suits_winograd();
    if upsampled::suits(g, conv.winograd.is_some())
        || (winograd && !direct::suits(g, conv.winograd.is_some()))
    {
        2
    } else {
        1
    }
}

/// Into how many parts a sample is cut when there are few: whole units of `unit` rows each (see
/// [`rows_per_unit`]), about [`BLOCK_COLUMNS`] pixels, as even in size as whole units allow, and
/// an even number of them where there are several, so that halves of the list are halves of the
/// work. (Cutting the output channels instead would redo the im2col or the Winograd input
/// transform in every part.) Outside Winograd, whose lone chunk spreads its own work over the
/// pool, a small sample is still cut in two (the 14 → 7 downsampling, the 1×1 convolutions and
/// the 14×14 layers read in place), so that it does not run on one thread.
fn parts_per_sample(conv: &PreparedConv, g: &Geometry, unit: usize) -> usize {
    let units = g.ho.div_ceil(unit);
    let has_winograd = conv.winograd.is_some();
    let spreads = has_winograd
        && g.suits_winograd()
        && !direct::suits(g, has_winograd)
        && !upsampled::suits(g, has_winograd);
    let least = if spreads { 1 } else { 2 };
    let parts = g.pixels().div_ceil(BLOCK_COLUMNS).max(least).min(units);
    if parts > 1 && parts % 2 == 1 && parts < units {
        parts + 1
    } else {
        parts
    }
}

/// β[o] + add[b, o], the value every output of channel `o` of sample `b` starts from.
fn start_value(conv: &PreparedConv, add: Option<&[f32]>, sample: usize, o: usize) -> f32 {
    conv.bias[o] + add.map_or(0.0, |a| a[sample * conv.cout + o])
}

/// Fills `dst`, laid out `[segment][channel][(y − first)·Wo + x]`, with β + add + the
/// convolution for the output rows `segments` (no residual).
fn chunk(
    conv: &PreparedConv,
    g: &Geometry,
    x: Input<'_>,
    segments: &[Rows],
    add: Option<&[f32]>,
    spread: bool,
    dst: &mut [f32],
) -> Result<()> {
    if upsampled::suits(g, conv.winograd.is_some()) {
        return pulp::Arch::new().dispatch(UpsampledChunk {
            conv,
            phases: conv.upsampled(),
            g,
            x: x.values,
            segments,
            add,
            dst,
        });
    }
    if direct::suits(g, conv.winograd.is_some()) {
        return pulp::Arch::new().dispatch(DirectChunk {
            conv,
            g,
            x: x.values,
            norms: x.norms,
            segments,
            add,
            dst,
        });
    }
    if let Some(u) = conv.winograd.as_deref().filter(|_| g.suits_winograd()) {
        // Compiled once more for AVX2+FMA and picked at run time where the CPU has them: the
        // transforms are plain loops, which the compiler vectorises twice as wide then.
        return pulp::Arch::new().dispatch(WinogradChunk {
            conv,
            u,
            g,
            x: x.values,
            norms: x.norms,
            segments,
            add,
            spread,
            dst,
        });
    }
    let Input { values: x, norms } = x;
    if norms.is_some() {
        bail!("convolution: only a 3×3 convolution of stride 1 applies a norm to its input");
    }
    if g.is_pointwise() {
        return pointwise(conv, g, x, segments, add, dst);
    }
    let m = g.cout;
    let k = g.patch_len();
    let n: usize = segments.iter().map(|r| (r.end - r.first) * g.wo).sum();
    let product = |rhs: &[f32], rhs_rs: usize, dst: &mut [f32]| {
        multiply_on_this_cpu(Product {
            lhs: &conv.weight,
            rhs,
            rhs_rows: RhsRows::Strided(rhs_rs),
            n,
            dst,
            dst_rs: n,
            accumulate: true,
        })
    };
    if let [rows] = segments {
        // One segment: its (channels, columns) matrix is `dst` itself.
        for (o, row) in dst.chunks_mut(n.max(1)).take(m).enumerate() {
            row.fill(start_value(conv, add, rows.sample, o));
        }
        return with_scratch(k * n, |col| {
            im2col(g, x, segments, col);
            product(col, n, dst)
        });
    }
    // Several segments side by side: (channels, all columns), then scattered into `dst`.
    let mut packed = vec![0f32; m * n];
    for (o, row) in packed.chunks_mut(n).enumerate() {
        let mut at = 0;
        for rows in segments {
            let len = (rows.end - rows.first) * g.wo;
            row[at..at + len].fill(start_value(conv, add, rows.sample, o));
            at += len;
        }
    }
    with_scratch(k * n, |col| {
        im2col(g, x, segments, col);
        product(col, n, &mut packed)
    })?;
    let (mut at, mut written) = (0, 0);
    for rows in segments {
        let len = (rows.end - rows.first) * g.wo;
        for o in 0..m {
            dst[written..written + len].copy_from_slice(&packed[o * n + at..][..len]);
            written += len;
        }
        at += len;
    }
    Ok(())
}

/// [`chunk`] for a 1×1 convolution: x read in place, each segment's `(channels, columns)` matrix
/// its part of `dst`.
fn pointwise(
    conv: &PreparedConv,
    g: &Geometry,
    x: &[f32],
    segments: &[Rows],
    add: Option<&[f32]>,
    mut dst: &mut [f32],
) -> Result<()> {
    let plane = g.h * g.w;
    for rows in segments {
        let n = (rows.end - rows.first) * g.wo;
        let (matrix, rest) = std::mem::take(&mut dst).split_at_mut(g.cout * n);
        dst = rest;
        for (o, row) in matrix.chunks_mut(n.max(1)).enumerate() {
            row.fill(start_value(conv, add, rows.sample, o));
        }
        multiply_on_this_cpu(Product {
            lhs: &conv.weight,
            rhs: &x[rows.sample * g.cin * plane + rows.first * g.wo..],
            rhs_rows: RhsRows::Strided(plane),
            n,
            dst: matrix,
            dst_rs: n,
            accumulate: true,
        })?;
    }
    Ok(())
}

/// Writes the patches of `segments` into `col`, a `(Cin·k·k, columns)` matrix whose columns are
/// the output pixels of the segments in order: col[(c, i, j), q] = x'[b, c, s·y + i − p, s·x + j − p]
/// for the q-th pixel (y, x) of sample b, 0 outside the image.
fn im2col(g: &Geometry, x: &[f32], segments: &[Rows], col: &mut [f32]) {
    let columns: usize = segments.iter().map(|r| (r.end - r.first) * g.wo).sum();
    if columns == 0 {
        return;
    }
    let k = g.kernel;
    let plane_len = g.h * g.w;
    let (vh, vw) = ((g.h << g.up) as isize, (g.w << g.up) as isize);
    let pad = g.padding as isize;
    let contiguous = g.stride == 1 && g.up == 0;
    for (r, out_row) in col.chunks_mut(columns).enumerate().take(g.patch_len()) {
        let (c, i, j) = (r / (k * k), (r / k) % k, r % k);
        let mut at = 0;
        for seg in segments {
            let plane = &x[(seg.sample * g.cin + c) * plane_len..][..plane_len];
            for y in seg.first..seg.end {
                let dst = &mut out_row[at..at + g.wo];
                at += g.wo;
                let iy = (y * g.stride + i) as isize - pad;
                if iy < 0 || iy >= vh {
                    dst.fill(0.0);
                    continue;
                }
                let src = &plane[((iy as usize) >> g.up) * g.w..][..g.w];
                if contiguous {
                    // dst[x] = src[x + shift] where 0 ≤ x + shift < W.
                    let shift = j as isize - pad;
                    let lo = (-shift).clamp(0, g.wo as isize) as usize;
                    let hi = (g.w as isize - shift).clamp(lo as isize, g.wo as isize) as usize;
                    dst[..lo].fill(0.0);
                    dst[hi..].fill(0.0);
                    let from = (lo as isize + shift) as usize;
                    dst[lo..hi].copy_from_slice(&src[from..from + (hi - lo)]);
                } else if g.up == 0 {
                    // dst[x] = src[s·x + j − p] where that is inside the row: the range of x
                    // first, so the loop has no branch per pixel.
                    let s = g.stride;
                    let lo = g.padding.saturating_sub(j).div_ceil(s).min(g.wo);
                    let hi = (g.w + g.padding)
                        .saturating_sub(j)
                        .div_ceil(s)
                        .clamp(lo, g.wo);
                    dst[..lo].fill(0.0);
                    dst[hi..].fill(0.0);
                    let first = lo * s + j - g.padding;
                    let src = &src[first..];
                    for (k, d) in dst[lo..hi].iter_mut().enumerate() {
                        *d = src[k * s];
                    }
                } else {
                    for (xo, d) in dst.iter_mut().enumerate() {
                        let ix = (xo * g.stride + j) as isize - pad;
                        *d = if ix < 0 || ix >= vw {
                            0.0
                        } else {
                            src[(ix as usize) >> g.up]
                        };
                    }
                }
            }
        }
    }
}

//! Our own CPU kernels for the digit UNet's forward pass, as candle custom operations: candle's
//! CPU convolution and GroupNorm are several times slower than PyTorch's at these sizes (see the
//! speed section of MODELS.md).
//!
//! - [`PreparedConv`]: 2-D convolution as matrix products on the input read in place (3×3 at
//!   widths of 14 and more and at stride 2; 1×1), Winograd-transformed tiles (3×3, stride 1, at
//!   7×7) or im2col patches (the rest), with the bias, the timestep embedding, the residual and a
//!   ×2 nearest upsampling of the input fused in. The products are our own (`product.rs`: the
//!   weights packed once, the right-hand side read in place), faster than `gemm`'s at these thin
//!   shapes.
//! - [`PreparedGroupNorm`]: GroupNorm with an optional fused SiLU.
//! - [`PreparedLinear`] and [`attention_core`]: fully connected layers and softmax(q kᵀ/√C) v.
//! - [`PreparedAttention`], [`layer_norm_modulate`] and GELU after a linear layer: the digit
//!   transformer's multi-head attention (with 2D RoPE), adaLN and MLP (`transformer.rs`).
//! - [`TrainableConv`] and [`TrainableGroupNorm`]: a convolution (with its bias) and a GroupNorm
//!   (with its SiLU) that candle differentiates, forward through the kernels above and backward
//!   through kernels of their own (training; `trainable/`).
//! - [`with_warm_workers`]: the pool's threads spin through a forward pass instead of sleeping
//!   between its layers; a convolution's chunks are taken one at a time by whichever thread is
//!   free (`claimed.rs`), so a thread another program holds up delays only its own chunk.
//!
//! A plain build targets the x86-64 baseline (SSE2); the convolutions and GroupNorm are
//! compiled once more for AVX2+FMA and once for AVX-512 and chosen at run time through
//! `pulp::Arch::dispatch` (safe: pulp checks the CPU), as are the products' microkernel and
//! `gemm`'s (its `x86-v4` feature, for the linear layers), so the same binary runs everywhere and
//! 8 or 16 floats wide where it can.
//!
//! Each takes its weights once, when the network is built, and runs on contiguous f32 tensors on
//! the CPU only, without autograd (but the trainable layers, which take the weights at every call
//! and have backward passes); the layers in [`super::layers`] fall back to candle's own
//! operations (the reference, tested against these kernels in `tests/kernels.rs`) for other
//! devices, types, and for trainable weights. The only `unsafe` is the call into `gemm`, in
//! `matmul.rs`, with the invariant it relies on written there.

mod claimed;
mod conv;
mod linear;
mod matmul;
mod norm;
mod product;
mod trainable;
mod transformer;
mod warm;

pub use conv::PreparedConv;
pub use linear::{PreparedLinear, attention_core};
pub use norm::PreparedGroupNorm;
pub use trainable::{TrainableConv, TrainableGroupNorm};
pub use transformer::{PreparedAttention, gated_residual, gelu_in_place, layer_norm_modulate};
pub use warm::{with_warm_workers, with_warm_workers_on};

/// The f32 values a custom operation `name` was given, which must be contiguous (every kernel
/// here asks for its inputs so).
fn contiguous_f32<'a>(
    name: &str,
    storage: &'a candle_core::CpuStorage,
    layout: &candle_core::Layout,
) -> candle_core::Result<&'a [f32]> {
    use candle_core::backend::BackendStorage;

    let candle_core::CpuStorage::F32(data) = storage else {
        candle_core::bail!("{name}: f32 only, got {:?}", storage.dtype());
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{name}: the input must be contiguous");
    };
    Ok(&data[start..end])
}

/// Values below which [`zeros`] fills its vector on the calling thread.
const PARALLEL_ZEROS: usize = 1 << 16;

/// `len` zeros, written by the pool's threads when there are many: a layer's activations at batch
/// 64 are megabytes, and a fill on one thread is time the other cores would wait through.
fn zeros(len: usize) -> Vec<f32> {
    use rayon::iter::ParallelExtend;

    if len < PARALLEL_ZEROS {
        return vec![0.0; len];
    }
    let mut values = Vec::with_capacity(len);
    values.par_extend(rayon::iter::repeat_n(0f32, len));
    values
}

/// A rayon pool of `threads` threads, for the tests of the kernels' parallel loops.
#[cfg(test)]
fn test_pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap_or_else(|e| panic!("a pool of {threads} threads: {e}"))
}

/// e^x as the kernels compute it (a vectorisable polynomial, within 2 ulp of `f32::exp` on
/// [−87, 88]); public for tests.
pub fn fast_exp(x: f32) -> f32 {
    norm::exp(x)
}

//! Layers that candle differentiates through our kernels, for training on the CPU: candle's own
//! CPU convolution, GroupNorm and their gradients are chains of small operations, each a pass over
//! memory freshly allocated (and zeroed by the kernel), many of them single-threaded reductions.
//!
//! - [`TrainableConv`]: a convolution with its bias (any square kernel, stride and padding, the
//!   input optionally upsampled ×2 first), forward through [`super::PreparedConv`]; the gradients
//!   of the input, the weights and the bias as matrix products, tap by tap (`taps.rs`), or for
//!   3×3 stride-1 layers the input's gradient as our forward convolution again.
//! - [`TrainableGroupNorm`]: GroupNorm with an optional fused SiLU, forward through our kernel and
//!   backward in one kernel of three passes per group.
//!
//! Each is a candle custom operation (`apply_op3`), so candle's autograd calls its `bwd` and the
//! rest of the graph (linear layers, attention, the loss) stays candle's.

mod conv;
mod norm;
mod row_products;
mod taps;

pub use conv::TrainableConv;
pub use norm::TrainableGroupNorm;

use candle_core::{Device, Layout, Result, Storage, Tensor, bail};

use super::contiguous_f32;

/// `values` as a tensor of `layout`'s shape on the CPU.
fn tensor_of(values: &[f32], layout: &Layout) -> Result<Tensor> {
    Tensor::from_slice(values, layout.shape(), &Device::Cpu)
}

/// Whether a gradient for `t` is wanted: it is a variable or computed from one.
fn wants_gradient(t: &Tensor) -> bool {
    t.is_variable() || t.track_op()
}

/// A tensor's values as a contiguous f32 vector (a view's values copied).
fn values_of(t: &Tensor) -> Result<Vec<f32>> {
    t.flatten_all()?.to_vec1()
}

/// Runs `f` on a tensor's values, read in place when it is a contiguous f32 tensor on the CPU (a
/// strided view is copied first).
fn with_values<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> Result<R>) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    let Storage::Cpu(cpu) = &*storage else {
        bail!("a trainable layer's tensor is not on the CPU");
    };
    f(contiguous_f32("trainable layer", cpu, layout)?)
}

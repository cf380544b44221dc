//! Comparing tensors in the golden tests.
#![expect(
    clippy::unwrap_used,
    reason = "a test helper: a failure is a failed test"
)]

use candle_core::Tensor;

/// The largest |a − b| over two tensors of the same shape.
pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

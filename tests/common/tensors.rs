//! Comparing tensors in the golden tests.
#![expect(
    clippy::unwrap_used,
    reason = "a test helper: a failure is a failed test"
)]
#![allow(dead_code, reason = "each test crate uses the parts it needs")]

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

/// The largest |ours − reference| over the largest |reference|: an error relative to the
/// reference's scale, for tensors of the same shape.
pub fn relative_error(ours: &Tensor, reference: &Tensor) -> f32 {
    assert_eq!(ours.dims(), reference.dims());
    let ours: Vec<f32> = ours.flatten_all().unwrap().to_vec1().unwrap();
    let reference: Vec<f32> = reference.flatten_all().unwrap().to_vec1().unwrap();
    let scale = reference.iter().fold(1e-20f32, |m, v| m.max(v.abs()));
    let diff = ours
        .iter()
        .zip(&reference)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    diff / scale
}

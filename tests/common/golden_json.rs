//! Reading the JSON golden files of `tests/golden/` (written by the Python scripts beside them) and
//! comparing our numbers with theirs.
#![allow(dead_code, reason = "each golden test uses the parts it needs")]

use serde_json::Value;

/// A JSON array of numbers as f32.
pub fn floats(value: &Value) -> Vec<f32> {
    numbers(value).into_iter().map(|v| v as f32).collect()
}

/// A JSON array of numbers as f64.
pub fn numbers(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("expected an array, found {value}"))
        .iter()
        .map(|v| {
            v.as_f64()
                .unwrap_or_else(|| panic!("expected a number, found {v}"))
        })
        .collect()
}

/// The difference of two numbers, scaled down by the reference's magnitude where that exceeds 1.
pub fn scaled_error(ours: f64, reference: f64) -> f64 {
    (ours - reference).abs() / reference.abs().max(1.0)
}

/// The largest [`scaled_error`] of `ours` against the JSON array `reference`.
pub fn max_scaled_error(ours: &[f32], reference: &Value) -> f64 {
    let reference = numbers(reference);
    assert_eq!(ours.len(), reference.len(), "lengths differ");
    ours.iter()
        .zip(reference)
        .map(|(&a, b)| scaled_error(f64::from(a), b))
        .fold(0.0, f64::max)
}

/// The largest absolute difference of two equally long lists.
pub fn max_abs_diff(ours: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len(), "lengths differ");
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

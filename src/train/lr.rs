//! The learning-rate schedule: linear warm-up, then cosine decay to zero (as `LambdaLR` in
//! `training/train_diffusion.py`).

/// The learning rate for step `step` (0-based) of `steps`:
/// base · min(1, (step + 1)/warmup) · ½(1 + cos(π · min(1, step/steps))).
///
/// A warm-up of 0 means none.
pub fn learning_rate(base: f64, step: usize, warmup: usize, steps: usize) -> f64 {
    let ramp = if warmup == 0 {
        1.0
    } else {
        ((step + 1) as f64 / warmup as f64).min(1.0)
    };
    let progress = if steps == 0 {
        1.0
    } else {
        (step as f64 / steps as f64).min(1.0)
    };
    base * ramp * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

#[cfg(test)]
mod tests {
    use super::learning_rate;

    #[test]
    fn warms_up_then_decays() {
        let lr = |step| learning_rate(2e-3, step, 200, 3000);
        assert!((lr(0) - 2e-3 / 200.0).abs() < 1e-12);
        assert!(lr(100) < lr(199));
        // Peak at the end of the warm-up, a little below the base because the cosine has begun.
        let peak = (0..3000).map(lr).fold(0.0, f64::max);
        assert!((peak - lr(199)).abs() < 1e-15);
        assert!(peak > 0.98 * 2e-3 && peak <= 2e-3);
        assert!((lr(1500) - 1e-3).abs() < 1e-12);
        assert!(lr(2999) < 1e-8);
        assert_eq!(learning_rate(1.0, 0, 0, 10), 1.0);
    }
}

//! The training half of `diffuscope bench kernels`: the layers of the digit network at the
//! training batch (64), forward and backward (the gradients of the input and every parameter),
//! candle's own operations against our trainable kernels, median of repeated runs.

use candle_core::{Module, Result, Tensor, Var};

use super::kernels::seeded_tensor;
use super::median_time;
use crate::model::kernels::{TrainableConv, TrainableGroupNorm};

/// The training batch of `bench train`.
const BATCH: usize = 64;

/// A convolution of the network: its name, input channels, side, output channels, kernel,
/// stride and whether the input is upsampled ×2 first.
type ConvLayer = (&'static str, usize, usize, usize, usize, usize, bool);

/// The convolutions that cost the most in a training step, at batch 64.
const CONVOLUTIONS: [ConvLayer; 6] = [
    ("conv 3×3 16→16, 28×28 (down.0)", 16, 28, 16, 3, 1, false),
    (
        "conv 3×3 48→16, 28×28 (up.0 conv1)",
        48,
        28,
        16,
        3,
        1,
        false,
    ),
    ("upsample + conv 3×3 32→32, 14→28", 32, 14, 32, 3, 1, true),
    ("conv 3×3 16→16 stride 2, 28×28", 16, 28, 16, 3, 2, false),
    ("conv 1×1 48→16, 28×28 (up.0 skip)", 48, 28, 16, 1, 1, false),
    ("conv 3×3 64→64, 7×7 (mid)", 64, 7, 64, 3, 1, false),
];

/// GroupNorm(8) + SiLU layers: name, channels, side.
const NORMS: [(&str, usize, usize); 2] = [
    ("GroupNorm(8) + SiLU, 16×28×28", 16, 28),
    ("GroupNorm(8) + SiLU, 48×28×28", 48, 28),
];

/// Prints the table's training rows.
pub fn training_kernels_bench() -> Result<()> {
    println!("\nforward + backward, batch {BATCH}               candle ms   ours ms");
    for layer in CONVOLUTIONS {
        time_convolution(layer)?;
    }
    for (name, channels, side) in NORMS {
        time_norm(name, channels, side)?;
    }
    Ok(())
}

fn time_convolution((name, cin, side, cout, kernel, stride, upsample): ConvLayer) -> Result<()> {
    let x = Var::from_tensor(&seeded_tensor(&[BATCH, cin, side, side], 3, 1.0, 0.0)?)?;
    let weight = Var::from_tensor(&seeded_tensor(&[cout, cin, kernel, kernel], 1, 0.1, 0.0)?)?;
    let bias = Var::from_tensor(&seeded_tensor(&[cout], 2, 0.1, 0.0)?)?;
    let padding = kernel / 2;
    let theirs = time(|| {
        let seen = if upsample {
            x.upsample_nearest2d(2 * side, 2 * side)?
        } else {
            x.as_tensor().clone()
        };
        seen.conv2d(&weight, padding, stride, 1, 1)?
            .broadcast_add(&bias.reshape((1, cout, 1, 1))?)
    })?;
    let op = TrainableConv {
        stride,
        padding,
        upsample,
    };
    let ours = time(|| x.apply_op3(&weight, &bias, op))?;
    println!("{name:<42} {theirs:>10.3} {ours:>9.3}");
    Ok(())
}

fn time_norm(name: &str, channels: usize, side: usize) -> Result<()> {
    let x = Var::from_tensor(&seeded_tensor(&[BATCH, channels, side, side], 6, 2.0, 0.5)?)?;
    let gamma = Var::from_tensor(&seeded_tensor(&[channels], 4, 0.5, 1.0)?)?;
    let beta = Var::from_tensor(&seeded_tensor(&[channels], 5, 0.5, 0.0)?)?;
    let norm = candle_nn::GroupNorm::new(
        gamma.as_tensor().clone(),
        beta.as_tensor().clone(),
        channels,
        8,
        1e-5,
    )?;
    let theirs = time(|| norm.forward(&x)?.silu())?;
    let op = TrainableGroupNorm {
        groups: 8,
        eps: 1e-5,
        silu: true,
    };
    let ours = time(|| x.apply_op3(&gamma, &beta, op))?;
    println!("{name:<42} {theirs:>10.3} {ours:>9.3}");
    Ok(())
}

/// Median milliseconds of `forward` and the backward pass of the sum of its output.
fn time(forward: impl Fn() -> Result<Tensor>) -> Result<f64> {
    let step = || -> Result<()> {
        forward()?.sum_all()?.backward()?;
        Ok(())
    };
    step()?;
    let median = median_time(10, || {
        // Checked above; a later failure would only change the time.
        let _ = step();
    });
    Ok(median.as_secs_f64() * 1e3)
}

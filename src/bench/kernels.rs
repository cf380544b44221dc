//! `diffuscope bench kernels`: single operations of the digit network, candle's composition
//! against our CPU kernel (the figures of MODELS.md's kernel table), median of repeated runs;
//! then the same for training, forward and backward (`train_kernels.rs`).

use candle_core::{Device, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig};

use super::median_time;
use crate::model::layers::{FastConv2d, FastGroupNorm};

/// A convolution to time: its name, batch, input channels, side, output channels, kernel, stride,
/// and whether a ×2 upsampling comes first.
struct ConvCase {
    name: &'static str,
    batch: usize,
    cin: usize,
    side: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    upsample: bool,
}

const fn conv(
    name: &'static str,
    (batch, cin, side, cout): (usize, usize, usize, usize),
    stride: usize,
    upsample: bool,
) -> ConvCase {
    ConvCase {
        name,
        batch,
        cin,
        side,
        cout,
        kernel: 3,
        stride,
        upsample,
    }
}

/// The convolutions of the shipped network that cost the most, at batch 16 and 1.
const CONVOLUTIONS: [ConvCase; 8] = [
    conv("conv 3×3 64→64, 16×28×28", (16, 64, 28, 64), 1, false),
    conv(
        "conv 3×3 48→16, 16×28×28 (up.0 conv1)",
        (16, 48, 28, 16),
        1,
        false,
    ),
    conv(
        "conv 3×3 16→16, 16×28×28 (down.0)",
        (16, 16, 28, 16),
        1,
        false,
    ),
    conv("conv 3×3 64→64, 16×7×7 (mid)", (16, 64, 7, 64), 1, false),
    conv(
        "upsample + conv 3×3 32→32, 16×14×14",
        (16, 32, 14, 32),
        1,
        true,
    ),
    conv(
        "conv 3×3 16→16 stride 2, 16×28×28",
        (16, 16, 28, 16),
        2,
        false,
    ),
    conv("conv 3×3 48→16, 1×28×28", (1, 48, 28, 16), 1, false),
    conv("conv 3×3 64→64, 1×7×7", (1, 64, 7, 64), 1, false),
];

/// Group normalisations followed by SiLU: name, batch, channels, side.
const NORMS: [(&str, usize, usize, usize); 3] = [
    ("GroupNorm(8) + SiLU, 16×64×28×28", 16, 64, 28),
    ("GroupNorm(8) + SiLU, 16×48×28×28", 16, 48, 28),
    ("GroupNorm(8) + SiLU, 1×48×28×28", 1, 48, 28),
];

/// Reproducible values in [−scale, scale) + offset (xorshift; candle's CPU randn has no seed).
pub fn seeded_values(len: usize, seed: u64, scale: f32, offset: f32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 40) as f32 / (1u64 << 24) as f32;
            (2.0 * unit - 1.0) * scale + offset
        })
        .collect()
}

/// A CPU tensor of `dims` filled with [`seeded_values`].
pub fn seeded_tensor(dims: &[usize], seed: u64, scale: f32, offset: f32) -> Result<Tensor> {
    let len = dims.iter().product();
    Tensor::from_vec(seeded_values(len, seed, scale, offset), dims, &Device::Cpu)
}

/// Prints the table: each operation's median time with candle's operations and with ours.
pub fn kernels_bench() -> Result<()> {
    println!(
        "diffuscope bench kernels — {} threads, median of repeated runs after one warm-up\n",
        rayon::current_num_threads()
    );
    println!("operation                                   candle ms   ours ms");
    for case in &CONVOLUTIONS {
        time_convolution(case)?;
    }
    for (name, batch, channels, side) in NORMS {
        let norm = FastGroupNorm::new(
            seeded_tensor(&[channels], 4, 0.5, 1.0)?,
            seeded_tensor(&[channels], 5, 0.5, 0.0)?,
            8,
        )?;
        let x = seeded_tensor(&[batch, channels, side, side], 6, 2.0, 0.5)?;
        let theirs = time(30, || norm.forward_reference(&x, true))?;
        let ours = time(30, || norm.forward(&x, true))?;
        println!("{name:<42} {theirs:>10.3} {ours:>9.3}");
    }
    super::train_kernels::training_kernels_bench()
}

fn time_convolution(case: &ConvCase) -> Result<()> {
    let weight = seeded_tensor(
        &[case.cout, case.cin, case.kernel, case.kernel],
        1,
        0.1,
        0.0,
    )?;
    let bias = seeded_tensor(&[case.cout], 2, 0.1, 0.0)?;
    let config = Conv2dConfig {
        padding: case.kernel / 2,
        stride: case.stride,
        ..Conv2dConfig::default()
    };
    let layer = FastConv2d::new(Conv2d::new(weight, Some(bias), config))?;
    let x = seeded_tensor(&[case.batch, case.cin, case.side, case.side], 3, 1.0, 0.0)?;
    let runs = if case.batch == 1 { 200 } else { 30 };
    let up = case.upsample;
    let theirs = time(runs, || layer.forward_reference(&x, up, None, None))?;
    let ours = time(runs, || layer.forward_with(&x, up, None, None))?;
    println!("{:<42} {theirs:>10.3} {ours:>9.3}", case.name);
    Ok(())
}

/// Median milliseconds of `f` over `runs` runs; the first error stops the measurement.
fn time(runs: usize, f: impl Fn() -> Result<Tensor>) -> Result<f64> {
    f()?;
    let median = median_time(runs, || {
        // Checked above; a later failure would only change the time.
        let _ = f();
    });
    Ok(median.as_secs_f64() * 1e3)
}

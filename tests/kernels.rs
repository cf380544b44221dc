//! Our CPU kernels (`diffuscope::model::kernels`) against the candle compositions they replace
//! (`FastConv2d::forward_reference`, `FastGroupNorm::forward_reference`), on random inputs of odd
//! shapes: 1×1 images, channel counts that are no multiple of the SIMD width, batch 1 and 64,
//! stride 2, the fused ×2 upsampling, embedding and residual. Relative error (largest difference
//! over the largest reference value) at most 1e-5.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/tensors.rs"]
mod tensors;

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder, VarMap};
use diffuscope::bench::kernels::seeded_values;
use diffuscope::model::kernels::{attention_core, fast_exp};
use diffuscope::model::layers::{FastConv2d, FastGroupNorm, FastLinear};
use diffuscope::model::{DigitUNet, NULL_CLASS, UNetConfig};
use tensors::relative_error;

/// Largest relative error allowed; measured at most 5.8e-6 (`cargo test --test kernels`).
const TOLERANCE: f32 = 1e-5;
/// The same for a whole transformer (two blocks of every kernel on seeded weights): measured at
/// most 2.9e-7 (`cargo test --test kernels transformer -- --nocapture`).
const NETWORK_TOLERANCE: f32 = 3e-6;

fn tensor(dims: &[usize], seed: u64, scale: f32, offset: f32) -> Tensor {
    let len = dims.iter().product();
    Tensor::from_vec(seeded_values(len, seed, scale, offset), dims, &Device::Cpu).unwrap()
}

struct ConvCase {
    batch: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    kernel: usize,
    stride: usize,
    upsample: bool,
    add: bool,
    residual: bool,
}

const fn case(
    batch: usize,
    cin: usize,
    (h, w): (usize, usize),
    cout: usize,
    kernel: usize,
    stride: usize,
    (upsample, add, residual): (bool, bool, bool),
) -> ConvCase {
    ConvCase {
        batch,
        cin,
        h,
        w,
        cout,
        kernel,
        stride,
        upsample,
        add,
        residual,
    }
}

const PLAIN: (bool, bool, bool) = (false, false, false);

#[test]
fn convolution_matches_candle() {
    let cases = [
        // The UNet's own layers at batch 1, 16 and 64.
        case(1, 1, (28, 28), 16, 3, 1, PLAIN),
        case(1, 48, (28, 28), 16, 3, 1, (false, true, false)),
        case(16, 16, (28, 28), 16, 3, 1, (false, false, true)),
        case(64, 16, (28, 28), 16, 3, 2, PLAIN),
        case(64, 64, (7, 7), 64, 3, 1, (false, true, false)),
        case(16, 32, (14, 14), 32, 3, 1, (true, false, false)),
        case(1, 64, (7, 7), 64, 3, 1, (true, false, false)),
        case(16, 96, (14, 14), 32, 1, 1, PLAIN),
        case(1, 16, (28, 28), 1, 3, 1, PLAIN),
        // Odd shapes.
        case(1, 5, (1, 1), 7, 3, 1, (false, true, true)),
        case(3, 13, (7, 7), 11, 3, 2, (false, true, true)),
        case(2, 12, (14, 14), 20, 3, 2, PLAIN),
        case(1, 24, (7, 9), 40, 3, 1, (true, true, true)),
        case(5, 19, (5, 6), 9, 1, 1, (false, false, true)),
        case(2, 32, (14, 14), 64, 3, 1, (false, true, true)),
        case(17, 9, (3, 3), 5, 1, 2, PLAIN),
        case(64, 3, (1, 1), 17, 3, 2, (false, true, true)),
        case(2, 7, (9, 4), 33, 5, 1, (false, true, false)),
        // Winograd on odd sizes: a single pixel, odd widths and heights, upsampled and not.
        case(2, 9, (1, 1), 4, 3, 1, (false, true, true)),
        case(3, 8, (5, 3), 6, 3, 1, (true, false, true)),
        case(2, 11, (3, 5), 7, 3, 1, (false, false, true)),
        case(1, 8, (1, 2), 3, 3, 1, (true, true, false)),
        // Odd widths without a thrown-away tile, blocks across samples, and channel blocks that
        // are no multiple of the product's six rows.
        case(5, 16, (7, 7), 24, 3, 1, (false, true, true)),
        case(3, 10, (9, 11), 13, 3, 1, (true, false, false)),
        case(1, 20, (11, 11), 50, 3, 1, (false, true, true)),
        case(2, 70, (13, 5), 9, 3, 1, (false, false, true)),
        // Read in place (rows of 14 or more, stride 2, or too few channels for Winograd): odd
        // widths and heights, upsampled, a single output channel, odd sizes at stride 2.
        case(2, 12, (15, 17), 9, 3, 1, (false, true, true)),
        case(3, 5, (6, 3), 1, 3, 1, (false, true, true)),
        case(1, 9, (8, 7), 6, 3, 1, (true, false, true)),
        case(4, 6, (9, 13), 10, 3, 2, (false, true, true)),
        // Upsampled inputs convolved at their stored size, one 2×2 product per output phase: a
        // single pixel, one row, odd sizes, too few channels for Winograd, a lone sample in parts.
        case(1, 3, (1, 1), 5, 3, 1, (true, true, true)),
        case(3, 7, (1, 4), 2, 3, 1, (true, false, true)),
        case(2, 5, (5, 3), 17, 3, 1, (true, true, false)),
        case(1, 32, (14, 14), 32, 3, 1, (true, true, true)),
        case(1, 20, (29, 16), 17, 3, 1, PLAIN),
    ];
    for (seed, c) in cases.iter().enumerate() {
        let seed = 1000 * seed as u64;
        let bound = 1.0 / ((c.cin * c.kernel * c.kernel) as f32).sqrt();
        let weight = tensor(&[c.cout, c.cin, c.kernel, c.kernel], seed + 1, bound, 0.0);
        let bias = tensor(&[c.cout], seed + 2, 0.5, 0.0);
        let cfg = Conv2dConfig {
            padding: c.kernel / 2,
            stride: c.stride,
            ..Conv2dConfig::default()
        };
        let layer = FastConv2d::new(Conv2d::new(weight, Some(bias), cfg)).unwrap();
        assert!(layer.is_fast());
        let x = tensor(&[c.batch, c.cin, c.h, c.w], seed + 3, 1.5, 0.2);
        let up = if c.upsample { 2 } else { 1 };
        let ho = (up * c.h + 2 * (c.kernel / 2) - c.kernel) / c.stride + 1;
        let wo = (up * c.w + 2 * (c.kernel / 2) - c.kernel) / c.stride + 1;
        let add = c
            .add
            .then(|| tensor(&[c.batch, c.cout], seed + 4, 2.0, 0.0));
        let residual = c
            .residual
            .then(|| tensor(&[c.batch, c.cout, ho, wo], seed + 5, 1.0, -0.3));
        let ours = layer
            .forward_with(&x, c.upsample, add.as_ref(), residual.as_ref())
            .unwrap();
        let reference = layer
            .forward_reference(&x, c.upsample, add.as_ref(), residual.as_ref())
            .unwrap();
        let error = relative_error(&ours, &reference);
        assert!(
            error <= TOLERANCE,
            "case {seed}: batch {}, {}→{} channels, {}×{}, k{} s{} up {}: error {error:e}",
            c.batch,
            c.cin,
            c.cout,
            c.h,
            c.w,
            c.kernel,
            c.stride,
            c.upsample
        );
    }
}

/// 4×4 kernels at stride 2 with padding 1 (read in place, as the gradient of an upsampled
/// convolution's input is computed) against candle's `conv2d`, on even and odd sizes. Measured at
/// most 1.1e-6.
#[test]
fn four_by_four_stride_two_convolution_matches_candle() {
    // (batch, cin, h, w, cout)
    let cases = [
        (2, 6, 10, 10, 5),
        (1, 32, 28, 28, 32),
        (3, 5, 7, 9, 4),
        (1, 3, 2, 3, 2),
    ];
    for (index, &(b, cin, h, w, cout)) in cases.iter().enumerate() {
        let seed = 7000 + 10 * index as u64;
        let weight = tensor(&[cout, cin, 4, 4], seed + 1, 0.3, 0.0);
        let bias = tensor(&[cout], seed + 2, 0.5, 0.0);
        let cfg = Conv2dConfig {
            padding: 1,
            stride: 2,
            ..Conv2dConfig::default()
        };
        let layer = FastConv2d::new(Conv2d::new(weight, Some(bias), cfg)).unwrap();
        assert!(layer.is_fast());
        let x = tensor(&[b, cin, h, w], seed + 3, 1.5, 0.2);
        let ours = layer.forward_with(&x, false, None, None).unwrap();
        let reference = layer.forward_reference(&x, false, None, None).unwrap();
        let error = relative_error(&ours, &reference);
        assert!(
            error <= TOLERANCE,
            "case {index}: ({b}, {cin}, {h}, {w}) → {cout}: {error:e}"
        );
    }
}

#[test]
fn convolution_takes_strided_inputs_and_refuses_wrong_shapes() {
    let weight = tensor(&[6, 4, 3, 3], 1, 0.3, 0.0);
    let layer = FastConv2d::new(Conv2d::new(
        weight,
        None,
        Conv2dConfig {
            padding: 1,
            ..Conv2dConfig::default()
        },
    ))
    .unwrap();
    // A transposed (non-contiguous) input.
    let x = tensor(&[2, 4, 9, 5], 2, 1.0, 0.0).transpose(2, 3).unwrap();
    let ours = layer.forward(&x).unwrap();
    let reference = layer.forward_reference(&x, false, None, None).unwrap();
    assert!(relative_error(&ours, &reference) <= TOLERANCE);
    assert!(layer.forward(&tensor(&[2, 5, 9, 5], 3, 1.0, 0.0)).is_err());
    let bad_add = tensor(&[2, 5], 4, 1.0, 0.0);
    assert!(layer.forward_with(&x, false, Some(&bad_add), None).is_err());
}

/// A 3×3, padding-1 convolution `cin → cout` with seeded weights (seed + 1) and bias (seed + 2).
fn conv3x3(cin: usize, cout: usize, seed: u64) -> FastConv2d {
    let bound = 1.0 / ((cin * 9) as f32).sqrt();
    let weight = tensor(&[cout, cin, 3, 3], seed + 1, bound, 0.0);
    let bias = tensor(&[cout], seed + 2, 0.5, 0.0);
    let cfg = Conv2dConfig {
        padding: 1,
        ..Conv2dConfig::default()
    };
    FastConv2d::new(Conv2d::new(weight, Some(bias), cfg)).unwrap()
}

#[test]
fn norm_applied_inside_the_convolution_gives_the_same_bits() {
    // (batch, channels in, h, w, groups, channels out, add, residual): the UNet's own (ResBlock
    // norm1/conv1 and norm2/conv2 at 28, 14 and 7, norm_out/conv_out), odd sizes, several samples
    // and row blocks per call.
    let cases = [
        (1, 48, 28, 28, 8, 16, true, false),
        (64, 16, 28, 28, 8, 16, false, true),
        (16, 96, 14, 14, 8, 32, true, false),
        (2, 64, 7, 7, 8, 64, false, true),
        // One sample at 7×7 spreads its input transform over the pool, 8 channels a task (the
        // last task here 4).
        (1, 100, 7, 7, 4, 64, true, true),
        (3, 16, 28, 28, 8, 1, false, false),
        (5, 12, 9, 11, 4, 7, true, true),
        (1, 8, 1, 1, 2, 3, false, false),
        (2, 10, 3, 6, 5, 9, true, true),
        (2, 12, 15, 17, 4, 7, true, true),
        (1, 8, 29, 14, 2, 1, false, true),
    ];
    for (seed, &(b, cin, h, w, groups, cout, add, residual)) in cases.iter().enumerate() {
        let seed = 10_000 + 100 * seed as u64;
        let norm = FastGroupNorm::new(
            tensor(&[cin], seed + 1, 0.5, 1.0),
            tensor(&[cin], seed + 2, 0.5, 0.0),
            groups,
        )
        .unwrap();
        let conv = conv3x3(cin, cout, seed + 2);
        let x = tensor(&[b, cin, h, w], seed + 5, 3.0, 2.0);
        let add = add.then(|| tensor(&[b, cout], seed + 6, 2.0, 0.0));
        let residual = residual.then(|| tensor(&[b, cout, h, w], seed + 7, 1.0, -0.3));
        let (add, residual) = (add.as_ref(), residual.as_ref());
        let fused = conv.forward_after_norm(&norm, &x, add, residual).unwrap();
        let apart = conv
            .forward_with(&norm.forward(&x, true).unwrap(), false, add, residual)
            .unwrap();
        let fused: Vec<f32> = fused.flatten_all().unwrap().to_vec1().unwrap();
        let apart: Vec<f32> = apart.flatten_all().unwrap().to_vec1().unwrap();
        assert!(
            fused
                .iter()
                .zip(&apart)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "case {seed}: ({b}, {cin}, {h}, {w}) → {cout}: the fused norm changed the result"
        );
        let reference = conv
            .forward_reference(
                &norm.forward_reference(&x, true).unwrap(),
                false,
                add,
                residual,
            )
            .unwrap();
        let fused = Tensor::from_vec(fused, reference.dims(), &Device::Cpu).unwrap();
        assert!(
            relative_error(&fused, &reference) <= TOLERANCE,
            "case {seed}"
        );
    }
}

#[test]
fn a_sample_gives_the_same_bits_alone_in_a_batch_and_on_any_number_of_threads() {
    // (batch, channels in, h, w, channels out, upsample): a sample alone spreads its work over
    // the pool when it is small (7×7), is cut into parts of tile rows when it is large (28×28);
    // in a batch it is one of a group of samples packed into one product (44 at 7×7: six groups
    // of 8 rather than five of 10). The arithmetic per output must not change with any of it.
    let cases = [
        (44, 64, 7, 7, 64, false),
        (5, 48, 28, 28, 16, false),
        (5, 32, 14, 14, 32, true),
        (5, 24, 7, 9, 40, true),
        (5, 8, 29, 15, 16, false),
    ];
    for (seed, &(batch, cin, h, w, cout, upsample)) in cases.iter().enumerate() {
        let seed = 20_000 + 100 * seed as u64;
        let conv = conv3x3(cin, cout, seed);
        let batch = tensor(&[batch, cin, h, w], seed + 3, 1.5, 0.2);
        let bits = |x: &Tensor, threads: usize| -> Vec<u32> {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let out = pool.install(|| conv.forward_with(x, upsample, None, None).unwrap());
            let out: Vec<f32> = out.flatten_all().unwrap().to_vec1().unwrap();
            out.iter().map(|v| v.to_bits()).collect()
        };
        let in_a_batch = bits(&batch, 2);
        let alone = bits(&batch.narrow(0, 3, 1).unwrap().contiguous().unwrap(), 1);
        let per_sample = alone.len();
        assert_eq!(
            alone,
            in_a_batch[3 * per_sample..4 * per_sample],
            "case {seed}: sample 3 alone differs from sample 3 in a batch"
        );
        for threads in [2, 3] {
            let alone_on = bits(
                &batch.narrow(0, 3, 1).unwrap().contiguous().unwrap(),
                threads,
            );
            assert_eq!(alone, alone_on, "case {seed}: 1 thread against {threads}");
        }
    }
}

#[test]
fn group_norm_matches_candle() {
    // (batch, channels, h, w, groups)
    let cases = [
        (1, 16, 28, 28, 8),
        (64, 48, 28, 28, 8),
        (16, 96, 14, 14, 8),
        (1, 12, 1, 1, 4),
        (3, 10, 7, 7, 5),
        (2, 64, 7, 7, 8),
        (64, 7, 1, 1, 7),
        (5, 9, 3, 5, 3),
    ];
    for (seed, &(b, c, h, w, groups)) in cases.iter().enumerate() {
        let seed = 100 * seed as u64;
        let weight = tensor(&[c], seed + 1, 0.5, 1.0);
        let bias = tensor(&[c], seed + 2, 0.5, 0.0);
        let norm = FastGroupNorm::new(weight, bias, groups).unwrap();
        assert!(norm.is_fast());
        let x = tensor(&[b, c, h, w], seed + 3, 3.0, 2.0);
        for silu in [false, true] {
            let reference = norm.forward_reference(&x, silu).unwrap();
            // Our CPU kernel, and the layer-norm formulation the GPU uses (run here on the CPU).
            for ours in [
                norm.forward(&x, silu).unwrap(),
                norm.forward_layer_norm(&x, silu).unwrap(),
            ] {
                let error = relative_error(&ours, &reference);
                assert!(
                    error <= TOLERANCE,
                    "({b}, {c}, {h}, {w}), {groups} groups, silu {silu}: error {error:e}"
                );
            }
        }
    }
}

#[test]
fn linear_and_attention_match_candle() {
    // (rows shape, inputs, outputs): batch 1 and 64, sizes not a multiple of 8, over 256 rows;
    // a few rows, and batch 1's 49 tokens (cut in two).
    let cases: [(&[usize], usize, usize); 8] = [
        (&[1], 32, 128),
        (&[3], 40, 23),
        (&[1, 49], 64, 192),
        (&[64], 128, 64),
        (&[3, 49], 64, 192),
        (&[64, 49], 64, 192),
        (&[5, 7], 13, 11),
        (&[2, 1], 256, 64),
    ];
    for (seed, &(rows, inputs, outputs)) in cases.iter().enumerate() {
        let seed = 10 * seed as u64;
        let linear = candle_nn::Linear::new(
            tensor(&[outputs, inputs], seed + 1, 0.3, 0.0),
            Some(tensor(&[outputs], seed + 2, 0.5, 0.1)),
        );
        let layer = FastLinear::new(linear).unwrap();
        assert!(layer.is_fast());
        let dims: Vec<usize> = rows.iter().copied().chain([inputs]).collect();
        let x = tensor(&dims, seed + 3, 1.5, 0.2);
        let error = relative_error(
            &layer.forward(&x).unwrap(),
            &layer.forward_reference(&x).unwrap(),
        );
        assert!(
            error <= TOLERANCE,
            "linear {dims:?} → {outputs}: error {error:e}"
        );
        // The same layer with GELU fused into our kernel, against candle's `gelu` after it.
        let layer = layer.with_gelu();
        let error = relative_error(
            &layer.forward(&x).unwrap(),
            &layer.forward_reference(&x).unwrap(),
        );
        assert!(
            error <= TOLERANCE,
            "linear + GELU {dims:?} → {outputs}: error {error:e}"
        );
    }
    // softmax(q kᵀ/√C) v against candle's composition, for 1×1, 7×7 and 3×5 "images"; a lone
    // 7×7 sample's queries are cut in two (an odd number of tokens: 25 + 24).
    let shapes = [
        (1, 1, 8),
        (2, 49, 64),
        (64, 49, 64),
        (3, 15, 12),
        (1, 49, 64),
        (1, 45, 40),
    ];
    for (b, tokens, c) in shapes {
        let qkv = tensor(&[b, tokens, 3 * c], (b * tokens) as u64, 2.0, 0.0);
        let q = qkv.narrow(2, 0, c).unwrap().contiguous().unwrap();
        let k = qkv.narrow(2, c, c).unwrap().contiguous().unwrap();
        let v = qkv.narrow(2, 2 * c, c).unwrap().contiguous().unwrap();
        let scores = (q.matmul(&k.t().unwrap()).unwrap() / (c as f64).sqrt()).unwrap();
        let weights = candle_nn::ops::softmax_last_dim(&scores).unwrap();
        let reference = weights.matmul(&v).unwrap();
        let ours = attention_core(&qkv).unwrap();
        let error = relative_error(&ours, &reference);
        assert!(
            error <= TOLERANCE,
            "attention ({b}, {tokens}, {c}): error {error:e}"
        );
    }
}

#[test]
fn fast_exp_is_within_a_few_ulp() {
    let mut worst = 0f32;
    let mut x = -87.0f32;
    while x <= 88.0 {
        let exact = f64::from(x).exp();
        let error = ((f64::from(fast_exp(x)) - exact) / exact).abs() as f32;
        worst = worst.max(error);
        x += 0.001_37;
    }
    assert!(worst < 4.0 * f32::EPSILON, "worst relative error {worst:e}");
    assert!(fast_exp(-1000.0) < 1e-37 && fast_exp(-1000.0) >= 0.0);
    assert!(fast_exp(1000.0).is_finite());
}

#[test]
fn trainable_weights_keep_candle_operations() {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let conv = candle_nn::conv2d(3, 4, 3, Conv2dConfig::default(), vb.pp("c")).unwrap();
    assert!(!FastConv2d::new(conv).unwrap().is_fast());
    let weight = vb.get((4,), "w").unwrap();
    let bias = vb.get((4,), "b").unwrap();
    assert!(!FastGroupNorm::new(weight, bias, 2).unwrap().is_fast());
}

/// The trainable convolution against candle's `conv2d` (after `upsample_nearest2d`, with the bias
/// added): its values and the gradients of the input, the weights and the bias, on odd shapes — a
/// single input channel, widths of 6, 7, 15 and 28, stride 2 on odd sizes, 1×1 layers, upsampled
/// inputs (whose gradients go phase by phase at the stored size), and the many-channel 7×7 layers
/// that take Winograd — with a bias per channel
/// or, every third case, per (sample, channel). Measured at most 2.1e-6 (values and gradients).
#[test]
fn the_trainable_convolution_matches_candles_values_and_gradients() {
    use diffuscope::model::kernels::TrainableConv;
    // (batch, cin, cout, h, w, kernel, stride, padding, upsample)
    let cases = [
        (2, 5, 4, 7, 6, 3, 1, 1, false),
        (1, 1, 3, 14, 15, 3, 1, 1, false),
        (3, 9, 8, 28, 28, 3, 1, 1, false),
        (2, 64, 16, 7, 7, 3, 1, 1, false),
        (3, 6, 5, 7, 9, 3, 2, 1, false),
        (2, 16, 16, 28, 28, 3, 2, 1, false),
        (2, 7, 3, 5, 6, 1, 1, 0, false),
        (2, 48, 16, 14, 14, 1, 1, 0, false),
        (2, 5, 6, 7, 4, 3, 1, 1, true),
        // Upsampled: the UNet's 14 → 28 layer alone, its 7 → 14 one (Winograd forward), a
        // single pixel, odd sizes (the input's gradient a 4×4, stride-2 convolution of the
        // output's).
        (1, 32, 32, 14, 14, 3, 1, 1, true),
        (2, 64, 64, 7, 7, 3, 1, 1, true),
        (3, 9, 2, 1, 1, 3, 1, 1, true),
        (1, 12, 7, 5, 3, 3, 1, 1, true),
        // Stride 2 without padding, on sizes it covers whole (candle's ∂L/∂x is mis-shaped when the
        // last row or column is left out).
        (1, 3, 2, 7, 5, 3, 2, 0, false),
    ];
    for (index, case) in cases.into_iter().enumerate() {
        let (b, cin, cout, h, w, k, stride, padding, upsample) = case;
        let seed = index as u64 * 5;
        let x = candle_core::Var::from_tensor(&tensor(&[b, cin, h, w], seed, 2.0, -1.0)).unwrap();
        let weight =
            candle_core::Var::from_tensor(&tensor(&[cout, cin, k, k], seed + 1, 0.6, -0.3))
                .unwrap();
        let bias_dims = if index % 3 == 1 {
            vec![b, cout]
        } else {
            vec![cout]
        };
        let bias = candle_core::Var::from_tensor(&tensor(&bias_dims, seed + 2, 1.0, -0.5)).unwrap();
        let op = TrainableConv {
            stride,
            padding,
            upsample,
        };
        let ours = x.apply_op3(&weight, &bias, op).unwrap();
        let seen = if upsample {
            x.upsample_nearest2d(2 * h, 2 * w).unwrap()
        } else {
            x.as_tensor().clone()
        };
        let theirs = seen
            .conv2d(&weight, padding, stride, 1, 1)
            .unwrap()
            .broadcast_add(
                &bias
                    .reshape((bias.elem_count() / cout, cout, 1, 1))
                    .unwrap(),
            )
            .unwrap();
        assert_matches_with_gradients(
            &ours,
            &theirs,
            &[("x", &x), ("w", &weight), ("b", &bias)],
            case,
        );
    }
}

/// The trainable GroupNorm, with and without its SiLU, against candle's `GroupNorm` (and `silu`):
/// values and the gradients of x, γ and β, on odd shapes (one group, one channel per group, a
/// 1×1 and a 7×5 plane, a 28×28 one).
#[test]
fn the_trainable_group_norm_matches_candles_values_and_gradients() {
    use diffuscope::model::kernels::TrainableGroupNorm;
    // (batch, channels, groups, h, w)
    let cases = [
        (2, 6, 3, 7, 5),
        (3, 4, 1, 1, 1),
        (1, 5, 5, 3, 4),
        (4, 16, 8, 28, 28),
        (2, 64, 8, 7, 7),
    ];
    for (index, case) in cases.into_iter().enumerate() {
        let (b, c, groups, h, w) = case;
        for silu in [false, true] {
            let seed = index as u64 * 7 + u64::from(silu);
            let x = candle_core::Var::from_tensor(&tensor(&[b, c, h, w], seed, 4.0, -1.5)).unwrap();
            let gamma = candle_core::Var::from_tensor(&tensor(&[c], seed + 1, 1.0, 0.5)).unwrap();
            let beta = candle_core::Var::from_tensor(&tensor(&[c], seed + 2, 1.0, -0.5)).unwrap();
            let op = TrainableGroupNorm {
                groups,
                eps: 1e-5,
                silu,
            };
            let ours = x.apply_op3(&gamma, &beta, op).unwrap();
            let norm = candle_nn::GroupNorm::new(
                gamma.as_tensor().clone(),
                beta.as_tensor().clone(),
                c,
                groups,
                1e-5,
            )
            .unwrap();
            let theirs = candle_core::Module::forward(&norm, x.as_tensor()).unwrap();
            let theirs = if silu { theirs.silu().unwrap() } else { theirs };
            assert_matches_with_gradients(
                &ours,
                &theirs,
                &[("x", &x), ("γ", &gamma), ("β", &beta)],
                (case, silu),
            );
        }
    }
}

/// `ours` and `theirs` (the same function of `vars`) agree, and so do the gradients of each var
/// for a loss that mixes the outputs with seeded weights.
fn assert_matches_with_gradients(
    ours: &Tensor,
    theirs: &Tensor,
    vars: &[(&str, &candle_core::Var)],
    case: impl std::fmt::Debug,
) {
    let error = relative_error(ours, theirs);
    assert!(error < TOLERANCE, "values {case:?}: {error}");
    let mix = tensor(ours.dims(), 99, 2.0, -1.0);
    let loss = |y: &Tensor| (y * &mix).unwrap().sum_all().unwrap();
    let (ours, theirs) = (
        loss(ours).backward().unwrap(),
        loss(theirs).backward().unwrap(),
    );
    for (name, var) in vars {
        let error = relative_error(
            ours.get(var.as_tensor()).unwrap(),
            theirs.get(var.as_tensor()).unwrap(),
        );
        assert!(error < TOLERANCE, "∂L/∂{name} {case:?}: {error}");
    }
}

/// The whole network: built from a `VarMap` it runs candle's operations only (trainable
/// weights); from the same weights as plain tensors it runs our kernels.
#[test]
fn unet_with_kernels_matches_unet_without() {
    let config = UNetConfig::default();
    let varmap = VarMap::new();
    let reference = DigitUNet::new(
        &config,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let tensors: HashMap<String, Tensor> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(name, var)| {
            // Non-zero norm parameters, so that every term matters.
            let t = var.as_tensor().detach();
            let t = if name.contains("norm") {
                let t = (t + tensor(var.dims(), name.len() as u64, 0.3, 0.0)).unwrap();
                var.set(&t).unwrap();
                t
            } else {
                t.copy().unwrap()
            };
            (name.clone(), t)
        })
        .collect();
    let fast = DigitUNet::new(
        &config,
        VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu),
    )
    .unwrap();
    for batch in [1, 3] {
        let x = tensor(&[batch, 1, 28, 28], batch as u64, 1.7, 0.0);
        let t: Vec<f32> = (0..batch).map(|i| (1 + i * 397) as f32).collect();
        let t = Tensor::from_vec(t, batch, &Device::Cpu).unwrap();
        let y: Vec<u32> = (0..batch).map(|i| i as u32 % (NULL_CLASS + 1)).collect();
        let y = Tensor::from_vec(y, batch, &Device::Cpu).unwrap();
        let ours = fast.forward(&x, &t, &y).unwrap();
        let theirs = reference.forward(&x, &t, &y).unwrap();
        let error = relative_error(&ours, &theirs);
        assert!(error <= TOLERANCE, "batch {batch}: error {error:e}");
    }
}

/// The digit transformer through our kernels (linear + GELU, adaLN's LayerNorm, the gated
/// residual, multi-head attention with and without 2D RoPE) against the same weights through
/// candle's operations, at odd sizes: 16 tokens of 24 values, 3 heads of 8, batch 1 and 5.
#[test]
fn transformer_with_kernels_matches_transformer_without() {
    use diffuscope::model::{DiTConfig, DigitDiT, Positions};
    for (index, positions) in Positions::ALL.into_iter().enumerate() {
        let config = DiTConfig {
            image_size: 12,
            patch: 3,
            dim: 24,
            depth: 2,
            heads: 3,
            mlp_ratio: 2,
            sinusoid_dim: 6,
            positions,
            ..DiTConfig::default()
        };
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let reference = DigitDiT::new(&config, vb).unwrap();
        let tensors: HashMap<String, Tensor> = varmap
            .data()
            .lock()
            .unwrap()
            .iter()
            .map(|(name, var)| {
                // Seeded values in place of the random start (the same network at every run),
                // non-zero adaLN layers and positions so that every term matters.
                let seed = name
                    .bytes()
                    .fold(17u64, |h, b| h.wrapping_mul(31) ^ u64::from(b));
                let values = tensor(var.dims(), seed, 0.3, 0.0);
                var.set(&values).unwrap();
                (name.clone(), values)
            })
            .collect();
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let fast = DigitDiT::new(&config, vb).unwrap();
        assert!(fast.uses_our_kernels() && !reference.uses_our_kernels());
        for batch in [1, 5] {
            let x = tensor(&[batch, 1, 12, 12], (10 * index + batch) as u64, 1.7, 0.0);
            let t: Vec<f32> = (0..batch).map(|i| (1 + i * 397) as f32).collect();
            let t = Tensor::from_vec(t, batch, &Device::Cpu).unwrap();
            let y: Vec<u32> = (0..batch).map(|i| i as u32 % (NULL_CLASS + 1)).collect();
            let y = Tensor::from_vec(y, batch, &Device::Cpu).unwrap();
            let error = relative_error(
                &fast.forward(&x, &t, &y).unwrap(),
                &reference.forward(&x, &t, &y).unwrap(),
            );
            println!("transformer, {positions:?}, batch {batch}: relative error {error:.2e}");
            assert!(
                error <= NETWORK_TOLERANCE,
                "{positions:?}, batch {batch}: error {error:e}"
            );
        }
    }
}

/// The choice between our kernels and candle's operations belongs to each model: one built inside
/// `with_candle_ops` keeps to candle's, one built before or after keeps ours, side by side in one
/// process, and both compute the same function.
#[test]
fn each_model_keeps_its_own_choice_of_operations() {
    use diffuscope::model::layers::{building_with_candle_ops, with_candle_ops};
    use diffuscope::model::{load_diffusion_model, resolve_model};
    let path = resolve_model("digits-eps").unwrap();
    let ours = load_diffusion_model(&path, &Device::Cpu).unwrap();
    let candle = with_candle_ops(|| load_diffusion_model(&path, &Device::Cpu).unwrap());
    let ours_again = load_diffusion_model(&path, &Device::Cpu).unwrap();
    assert!(
        !building_with_candle_ops(),
        "the choice ends with the build"
    );
    assert!(ours.net.uses_our_kernels() && ours_again.net.uses_our_kernels());
    assert!(!candle.net.uses_our_kernels());
    let x = tensor(&[2, 1, 28, 28], 9, 1.5, 0.0);
    let t = Tensor::from_vec(vec![10f32, 700.0], 2, &Device::Cpu).unwrap();
    let y = Tensor::from_vec(vec![3u32, NULL_CLASS], 2, &Device::Cpu).unwrap();
    let error = relative_error(
        &ours.net.forward(&x, &t, &y).unwrap(),
        &candle.net.forward(&x, &t, &y).unwrap(),
    );
    assert!(error <= TOLERANCE, "error {error:e}");
}

//! The model on the GPU computes what it computes on the CPU: one forward pass and two seeded runs
//! of the shipped ε model (DDIM-50 and DDPM-200, 16 guided digits) agree within floating-point
//! tolerance, and the classifier reads the same digits in both.
//!
//! A build without the `cuda` or `metal` feature (CI's, which has no GPU) reports the test as
//! ignored, never as passed; with `DIFFUSCOPE_REQUIRE_GPU=1` (a GPU machine's check) such a build
//! fails instead. A GPU build requires a working GPU: without one the test fails with the reason. To run it on a GPU machine, build it with `scripts/build-cuda.sh -- --tests` and run the
//! `gpu_agreement-*` binary with `--nocapture`.
#![expect(
    clippy::expect_used,
    reason = "tests: a failure should stop the test loudly"
)]

use std::ops::ControlFlow;

use candle_core::Device;
use diffuscope::diffusion::samplers::{SamplerKind, SamplerSpec};
use diffuscope::model::{
    DiffusionModel, choose_device, load_classifier, load_diffusion_model, resolve_model,
};
use diffuscope::sample::network::judge;
use diffuscope::sample::{Denoiser, ModelTraits, RunSettings, sample};

/// Largest difference allowed between GPU and CPU images in [−1, 1] after a whole run; measured at
/// most 4.9e-5 (DDIM-50) on an H100 (docs/gpu/h100-gpu-check.txt).
const RUN_TOLERANCE: f32 = 5e-4;
/// Largest difference allowed between one forward pass on each, relative to the output's scale;
/// measured 5.4e-7 on an H100.
const FORWARD_TOLERANCE: f32 = 5e-6;

fn load(device: &Device) -> DiffusionModel {
    let path = resolve_model("digits-eps").expect("the shipped ε model");
    load_diffusion_model(&path, device).expect("loads")
}

fn max_abs_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Where a GPU is required (`DIFFUSCOPE_REQUIRE_GPU=1`), a build that cannot use one fails
/// instead of skipping the agreement test.
#[test]
fn a_required_gpu_is_not_silently_skipped() {
    let required = std::env::var("DIFFUSCOPE_REQUIRE_GPU").as_deref() == Ok("1");
    let built_for_gpu = cfg!(any(feature = "cuda", feature = "metal"));
    assert!(
        !required || built_for_gpu,
        "DIFFUSCOPE_REQUIRE_GPU=1, but this build has no GPU support: build with scripts/build-cuda.sh"
    );
}

#[test]
#[cfg_attr(
    not(any(feature = "cuda", feature = "metal")),
    ignore = "needs a build with the cuda or metal feature, on a machine with that GPU"
)]
fn a_seeded_run_agrees_on_gpu_and_cpu() {
    let (gpu, reason) = choose_device();
    assert!(!gpu.is_cpu(), "a GPU build found no usable GPU: {reason}");
    println!("GPU: {reason}");
    let on_gpu = load(&gpu);
    let on_cpu = load(&Device::Cpu);

    // One forward pass at batch 16 on the same inputs.
    let batch = 16;
    let x: Vec<f32> = (0..batch * 28 * 28)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let t: Vec<f32> = (0..batch).map(|i| (1 + i * 61) as f32).collect();
    let classes: Vec<u32> = (0..batch as u32).map(|i| i % 11).collect();
    let gpu_out = on_gpu
        .predict(&x, batch, &t, &classes)
        .expect("GPU forward");
    let cpu_out = on_cpu
        .predict(&x, batch, &t, &classes)
        .expect("CPU forward");
    let scale = cpu_out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let forward_difference = max_abs_difference(&gpu_out, &cpu_out) / scale;
    println!(
        "forward pass, batch 16: largest difference {forward_difference:.2e} of the output's scale {scale:.2}"
    );
    assert!(forward_difference <= FORWARD_TOLERANCE);

    let classifier_path = resolve_model("digits-classifier").expect("the shipped classifier");
    let (_, classifier) = load_classifier(&classifier_path, &Device::Cpu).expect("classifier");
    for (kind, steps) in [(SamplerKind::Ddim, 50), (SamplerKind::Ddpm, 200)] {
        let settings = ModelTraits::of(&on_cpu.info)
            .and_then(|model| {
                model.prepare(RunSettings {
                    sampler: SamplerSpec::new(kind, steps),
                    seed: 1,
                    labels: (0..batch).map(|i| Some((i % 10) as u32)).collect(),
                    guidance: 3.0,
                })
            })
            .expect("the ε model runs DDIM and DDPM");
        let run = |model: &DiffusionModel| {
            sample(model, &settings, &mut |_| ControlFlow::Continue(())).expect("a whole run")
        };
        let (gpu_images, cpu_images) = (run(&on_gpu), run(&on_cpu));
        let difference = max_abs_difference(&gpu_images, &cpu_images);
        let digits = |images: &[f32]| {
            judge(&classifier, &Device::Cpu, images, batch).expect("the classifier reads them")
        };
        let (gpu_digits, cpu_digits) = (digits(&gpu_images), digits(&cpu_images));
        println!(
            "{kind}-{steps}, 16 guided digits, seed 1: largest pixel difference {difference:.2e}; \
             digits GPU {gpu_digits:?}, CPU {cpu_digits:?}"
        );
        assert!(difference <= RUN_TOLERANCE, "{kind}: {difference}");
        assert_eq!(gpu_digits, cpu_digits);
    }
}

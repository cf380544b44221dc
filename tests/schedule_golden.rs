//! Our schedules and forward jump against diffusers' `DDPMScheduler` (values in tests/golden/schedules.json,
//! written by tests/golden/make_schedules.py): diffusers' code run in float64 at ≤ 1e-6, and the stock
//! float32 scheduler at float32's own accuracy.
#![expect(
    clippy::expect_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/golden_json.rs"]
mod golden_json;

use diffuscope::diffusion::forward::jump_to;
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use golden_json::{max_abs_diff, numbers};
use serde_json::Value;

/// Against the float64 reference: absolute error; measured at most 9.4e-15 with
/// `cargo test --test schedule_golden -- --nocapture`.
const TOLERANCE: f64 = 1e-13;
/// Against the stock float32 scheduler, a sanity check only: float32 (ε = 1.2e-7) loses digits in
/// products of up to 1000 rounded factors and, near t = 1, in the cancellation 1 − ᾱ_t (ᾱ_1 ≈ 0.99996
/// for cosine), which diffusers' own float32 values carry at the 1e-5 level; measured at most 7.1e-6.
const FLOAT32_TOLERANCE: f64 = 7e-5;
/// x_t, which the program computes in float32, against the float64 reference; measured at most
/// 2.2e-7.
const X_T_TOLERANCE: f64 = 2e-6;

fn golden() -> Value {
    let text = include_str!("golden/schedules.json");
    serde_json::from_str(text).expect("golden file is not JSON")
}

fn kind(name: &str) -> ScheduleKind {
    ScheduleKind::ALL
        .into_iter()
        .find(|k| k.cli_name() == name)
        .unwrap_or_else(|| panic!("unknown kind {name}"))
}

fn schedule_of(case: &Value) -> NoiseSchedule {
    let steps = case["steps"].as_u64().expect("steps") as usize;
    let config = ScheduleConfig {
        zero_terminal_snr: case["zero_terminal_snr"] == Value::Bool(true),
        ..ScheduleConfig::new(kind(case["kind"].as_str().unwrap_or_default()), steps)
    };
    NoiseSchedule::new(config)
}

fn label(case: &Value) -> String {
    format!(
        "{} T={} zero_snr={}",
        case["kind"], case["steps"], case["zero_terminal_snr"]
    )
}

fn cases() -> Vec<Value> {
    let cases = golden()["cases"].as_array().cloned().unwrap_or_default();
    assert_eq!(cases.len(), 24, "4 kinds × 3 lengths × zero-SNR on/off");
    cases
}

#[test]
fn every_schedule_matches_diffusers() {
    let mut worst = [0.0_f64; 2];
    for case in cases() {
        let schedule = schedule_of(&case);
        for (precision, tolerance) in [("f64", TOLERANCE), ("f32", FLOAT32_TOLERANCE)] {
            let reference = &case[precision];
            let betas = max_abs_diff(schedule.betas(), &numbers(&reference["betas"]));
            let alpha_bars = max_abs_diff(
                schedule.alphas_cumprod(),
                &numbers(&reference["alphas_cumprod"]),
            );
            let name = label(&case);
            let slot = usize::from(precision == "f32");
            worst[slot] = worst[slot].max(betas).max(alpha_bars);
            assert!(
                betas <= tolerance,
                "{name} ({precision}): β differs by {betas:e}"
            );
            assert!(
                alpha_bars <= tolerance,
                "{name} ({precision}): ᾱ differs by {alpha_bars:e}"
            );
        }
    }
    println!(
        "largest difference: {:e} against diffusers in float64, {:e} against float32",
        worst[0], worst[1]
    );
}

#[test]
fn jump_matches_diffusers_add_noise() {
    let golden = golden();
    let x0: Vec<f32> = numbers(&golden["x0"]).iter().map(|&v| v as f32).collect();
    let eps: Vec<f32> = numbers(&golden["noise"])
        .iter()
        .map(|&v| v as f32)
        .collect();
    for case in cases() {
        let schedule = schedule_of(&case);
        let indices = numbers(&case["indices"]);
        for (precision, tolerance) in [("f64", X_T_TOLERANCE), ("f32", FLOAT32_TOLERANCE)] {
            let expected = case[precision]["x_t"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(expected.len(), indices.len());
            for (index, want) in indices.iter().zip(&expected) {
                let mut x_t = vec![0.0; x0.len()];
                // diffusers' timestep index i is our t = i + 1.
                jump_to(&schedule, *index as usize + 1, &x0, &eps, &mut x_t);
                let ours: Vec<f64> = x_t.iter().map(|&v| f64::from(v)).collect();
                let diff = max_abs_diff(&ours, &numbers(want));
                let name = label(&case);
                assert!(
                    diff <= tolerance,
                    "{name} ({precision}) index {index}: x_t differs by {diff:e}"
                );
            }
        }
    }
}

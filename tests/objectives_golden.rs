//! The objective conversions and the two minimal samplers against diffusers (values in
//! tests/golden/objectives.json, written by tests/golden/make_objectives.py from diffusers' own code run
//! in float64): every value within 1e-5, relative to its size where it exceeds 1 (an ε-model's x̂0 at
//! t = T is x_t/√ᾱ_T, in the hundreds, where float32 itself only resolves ~3e-5).
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/golden_json.rs"]
mod golden_json;

use diffuscope::diffusion::ancestral::{Posterior, euler_step, flow_sigmas};
use diffuscope::diffusion::objectives::{Coefficients, Objective};
use diffuscope::diffusion::samplers::Spacing;
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use golden_json::{floats, max_scaled_error};
use serde_json::Value;

/// 1e-5, relative to the magnitude of values larger than 1; measured at most 6.4e-6 (DDPM ε, 10 of
/// 1000 steps) with `cargo test --test objectives_golden -- --nocapture`.
const TOLERANCE: f64 = 1e-5;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/objectives.json")).unwrap()
}

fn rows(value: &Value) -> Vec<Vec<f32>> {
    value.as_array().unwrap().iter().map(floats).collect()
}

fn linear(train_steps: usize) -> NoiseSchedule {
    NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, train_steps))
}

fn check(what: &str, error: f64) -> f64 {
    assert!(error <= TOLERANCE, "{what}: error {error:e}");
    error
}

#[test]
fn eps_and_v_conversions_match_diffusers() {
    let golden = golden();
    let schedule = linear(1000);
    let x_t = floats(&golden["x_t"]);
    let output = floats(&golden["output"]);
    let (x0, noise) = (floats(&golden["x0"]), floats(&golden["noise"]));
    let mut worst: f64 = 0.0;
    for case in golden["conversions"].as_array().unwrap() {
        let t = case["t"].as_u64().unwrap() as usize;
        let at = Coefficients::discrete(&schedule, t);
        let eps = Objective::Eps.predict(&output, &x_t, at);
        let v = Objective::V.predict(&output, &x_t, at);
        let target = Objective::V.training_target(&x0, &noise, at);
        for (what, ours, theirs) in [
            ("ε-model x̂0", &eps.x0, &case["eps"]["x0"]),
            ("ε-model v̂", &eps.v, &case["eps"]["v"]),
            ("v-model x̂0", &v.x0, &case["v"]["x0"]),
            ("v-model ε̂", &v.eps, &case["v"]["eps"]),
            ("v target", &target, &case["v_target"]),
        ] {
            worst = worst.max(check(
                &format!("{what} at t = {t}"),
                max_scaled_error(ours, theirs),
            ));
        }
    }
    eprintln!("ε/v conversions: max error {worst:e}");
}

#[test]
fn flow_conversion_matches_diffusers() {
    let golden = golden();
    let x_t = floats(&golden["x_t"]);
    let output = floats(&golden["output"]);
    let mut worst: f64 = 0.0;
    for case in golden["flow"].as_array().unwrap() {
        let sigma = case["sigma"].as_f64().unwrap();
        let p = Objective::Flow.predict(&output, &x_t, Coefficients::flow(sigma));
        worst = worst.max(check(
            &format!("flow x̂0 at σ = {sigma}"),
            max_scaled_error(&p.x0, &case["x0"]),
        ));
    }
    eprintln!("flow conversion: max error {worst:e}");
}

#[test]
fn ddpm_chains_match_diffusers() {
    let golden = golden();
    let chains = golden["ddpm"].as_array().unwrap();
    assert_eq!(chains.len(), 4, "ε and v, full and strided");
    for chain in chains {
        let objective = match chain["prediction_type"].as_str().unwrap() {
            "epsilon" => Objective::Eps,
            _ => Objective::V,
        };
        let train_steps = chain["train_steps"].as_u64().unwrap() as usize;
        let steps = chain["steps"].as_u64().unwrap() as usize;
        let schedule = linear(train_steps);
        let timesteps = Spacing::Trailing.timesteps(train_steps, steps);
        let expected: Vec<usize> = chain["t"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(
            timesteps, expected,
            "timesteps of {objective} {steps}/{train_steps}"
        );

        let outputs = rows(&chain["outputs"]);
        let noise = rows(&chain["noise"]);
        let mut x = floats(&chain["x_start"]);
        let mut worst: f64 = 0.0;
        for (step, &t) in timesteps.iter().enumerate() {
            let t_prev = timesteps.get(step + 1).copied().unwrap_or(0);
            let prediction =
                objective.predict(&outputs[step], &x, Coefficients::discrete(&schedule, t));
            let label = format!("{objective} {steps}/{train_steps}, step {step} (t = {t})");
            worst = worst.max(check(
                &format!("{label} x̂0"),
                max_scaled_error(&prediction.x0, &chain["x0_hat"][step]),
            ));
            let posterior = Posterior::new(&schedule, t, t_prev);
            x = posterior.sample(posterior.std, &x, &prediction.x0, Some(&noise[step]));
            worst = worst.max(check(
                &format!("{label} x_prev"),
                max_scaled_error(&x, &chain["x_prev"][step]),
            ));
        }
        eprintln!("DDPM {objective} {steps}/{train_steps}: max error {worst:e}");
    }
}

#[test]
fn euler_chain_matches_diffusers() {
    let golden = golden();
    let chain = &golden["euler"];
    let steps = chain["steps"].as_u64().unwrap() as usize;
    let sigmas = flow_sigmas(steps);
    let theirs: Vec<f64> = chain["sigmas"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_f64().unwrap())
        .collect();
    assert_eq!(sigmas.len(), theirs.len());
    for (ours, theirs) in sigmas.iter().zip(&theirs) {
        assert!((ours - theirs).abs() < 1e-7, "σ {ours} against {theirs}");
    }
    let outputs = rows(&chain["outputs"]);
    let mut x = floats(&chain["x_start"]);
    let mut worst: f64 = 0.0;
    for (step, pair) in sigmas.windows(2).enumerate() {
        x = euler_step(&x, &outputs[step], pair[0], pair[1]);
        worst = worst.max(check(
            &format!("Euler step {step}"),
            max_scaled_error(&x, &chain["x_next"][step]),
        ));
    }
    eprintln!("Euler: max error {worst:e}");
}

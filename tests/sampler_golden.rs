//! Every sampler against the diffusers scheduler it is named after (values in
//! tests/golden/samplers.json, written by tests/golden/make_samplers.py from diffusers' own code run
//! in float64).
//!
//! Each recorded run is replayed: a fake model returns the recorded output number k on its k-th
//! call, turned into a prediction by [`Objective::predict`] at the point the sampler asks about, and
//! stochastic steps get the recorded noise. The sampler must ask at the same points (time input, a
//! and s) and reach the same x after every step, within 1e-5 (relative to the magnitude where a
//! value exceeds 1). `cargo test --test sampler_golden -- --nocapture` prints the largest
//! differences.
//!
//! The largest (up to ~8e-6) come from ε-models started in pure noise: with the outputs fixed in
//! advance, each step scales x by a'/a, so the float32 rounding of x early in a run grows by up to
//! 1/√ᾱ_T ≈ 157 by its end (a real model's ε̂ would follow x and cancel it). v-models stay ~3e-7.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/golden_json.rs"]
mod golden_json;

use diffuscope::diffusion::objectives::Objective;
use diffuscope::diffusion::samplers::{
    DdimStep, DdpmVariance, DiffusersOptions, FlowShift, FlowSigmas, SamplerKind, SamplerSpec,
};
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::model::scheduler_config::SchedulerConfig;
use golden_json::{floats, max_scaled_error, scaled_error};
use serde_json::Value;

/// x after every step: 1e-5, relative to the magnitude of values larger than 1; measured at most
/// 7.7e-6 (DPM-Solver++(2M)) with `cargo test --test sampler_golden -- --nocapture`.
const TOLERANCE: f64 = 1e-5;
/// The values of one image of the recorded batches (make_samplers.py's SHAPE is 2 × 1 × 4 × 4).
const IMAGE_LEN: usize = 16;
/// Where the model is asked to look (time input, a, s); measured at most 4.6e-8 (Euler, Heun).
const POINT_TOLERANCE: f64 = 5e-7;

fn golden() -> Value {
    serde_json::from_str(include_str!("golden/samplers.json")).unwrap()
}

fn text<'a>(run: &'a Value, key: &str) -> &'a str {
    run[key].as_str().unwrap()
}

/// A one-line name of a run, for messages.
fn label(run: &Value) -> String {
    let mut label = format!(
        "{} {} {} {} {}/{}",
        text(run, "sampler"),
        text(run, "objective"),
        text(run, "schedule"),
        text(run, "spacing"),
        run["steps"],
        run["train_steps"],
    );
    if let Some(config) = run["scheduler_config"].as_object() {
        let basics = [
            "_class_name",
            "num_train_timesteps",
            "prediction_type",
            "timestep_spacing",
            "beta_schedule",
            "beta_start",
            "beta_end",
        ];
        for (key, value) in config
            .iter()
            .filter(|(key, _)| !basics.contains(&key.as_str()))
        {
            match value.as_array() {
                Some(list) => label.push_str(&format!(" {key}=[{} values]", list.len())),
                None => label.push_str(&format!(" {key}={value}")),
            }
        }
        return label;
    }
    for key in [
        "variance",
        "eta",
        "clip",
        "ddim_step",
        "steps_offset",
        "set_alpha_to_one",
        "flow_sigmas",
        "flow_shift",
    ] {
        if !run[key].is_null() {
            label.push_str(&format!(" {key}={}", run[key]));
        }
    }
    label
}

/// The schedule, objective and sampler settings of a recorded run: read from its diffusers
/// config by the program's own reader where the run records one, else set from its fields.
fn setup(run: &Value) -> (NoiseSchedule, Objective, SamplerSpec) {
    if let Some(config) = run.get("scheduler_config") {
        let config = SchedulerConfig::parse(&config.to_string())
            .unwrap_or_else(|e| panic!("{}: {e}", label(run)));
        let spec = SamplerSpec {
            steps: run["steps"].as_u64().unwrap() as usize,
            eta: run["eta"].as_f64().unwrap_or(0.0),
            ..config.sampler
        };
        return (config.noise_schedule(), config.objective, spec);
    }
    let kind = ScheduleKind::ALL
        .into_iter()
        .find(|kind| kind.cli_name() == text(run, "schedule"))
        .unwrap();
    let train_steps = run["train_steps"].as_u64().unwrap() as usize;
    let schedule = NoiseSchedule::new(ScheduleConfig::new(kind, train_steps));
    let objective: Objective = text(run, "objective").parse().unwrap();
    let sampler: SamplerKind = text(run, "sampler").parse().unwrap();
    let mut spec = SamplerSpec::new(sampler, run["steps"].as_u64().unwrap() as usize);
    spec.spacing = text(run, "spacing").parse().unwrap();
    spec.clip_x0 = run["clip"].as_bool().unwrap();
    spec.eta = run["eta"].as_f64().unwrap_or(0.0);
    spec.variance = match run["variance"].as_str() {
        Some("fixed_large") => DdpmVariance::FixedLarge,
        _ => DdpmVariance::FixedSmall,
    };
    // Runs of diffusers' own DDIM rule name it, with its offset and last ᾱ.
    if run["ddim_step"].as_str() == Some("diffusers") {
        spec.diffusers = DiffusersOptions {
            steps_offset: run["steps_offset"].as_u64().unwrap() as usize,
            ddim_step: DdimStep::Diffusers,
            set_alpha_to_one: run["set_alpha_to_one"].as_bool().unwrap(),
            eps_from_clipped_x0: run["eps_from_clipped_x0"].as_bool().unwrap(),
            ..DiffusersOptions::default()
        };
    }
    if run["flow_sigmas"].as_str() == Some("diffusers") {
        spec.diffusers.flow_sigmas = FlowSigmas::Diffusers {
            shift: FlowShift::Fixed(run["flow_shift"].as_f64().unwrap()),
            terminal: None,
        };
    }
    (schedule, objective, spec)
}

/// The largest differences of one replayed run: (model points, samples).
fn replay(run: &Value) -> (f64, f64) {
    let label = label(run);
    let (schedule, objective, spec) = setup(run);
    let mut sampler = spec.build(&schedule, IMAGE_LEN);
    let calls = run["calls"].as_array().unwrap();
    let mut x = floats(&run["x_start"]);
    let (mut worst_point, mut worst_x): (f64, f64) = (0.0, 0.0);
    for (k, call) in calls.iter().enumerate() {
        let stage = sampler
            .stage()
            .unwrap_or_else(|| panic!("{label}: the sampler stopped after {k} calls"));
        let point = stage.point;
        for (what, ours, theirs) in [
            ("time input", f64::from(point.network_input), &call["t"]),
            ("a", point.coefficients.signal, &call["a"]),
            ("s", point.coefficients.noise, &call["s"]),
        ] {
            let e = scaled_error(ours, theirs.as_f64().unwrap());
            assert!(
                e <= POINT_TOLERANCE,
                "{label}, call {k}: {what} {ours} against {theirs}"
            );
            worst_point = worst_point.max(e);
        }
        let prediction = objective.predict(&floats(&call["output"]), &x, point.coefficients);
        let noise = stage.needs_noise.then(|| {
            assert!(
                !call["noise"].is_null(),
                "{label}, call {k}: noise asked for where diffusers drew none"
            );
            floats(&call["noise"])
        });
        x = sampler.advance(&x, &prediction, noise.as_deref());
        let e = max_scaled_error(&x, &call["x"]);
        assert!(
            e <= TOLERANCE,
            "{label}, call {k} ({point}): x off by {e:e}"
        );
        worst_x = worst_x.max(e);
    }
    assert!(
        sampler.stage().is_none(),
        "{label}: the sampler wants more than diffusers' {} calls",
        calls.len()
    );
    (worst_point, worst_x)
}

/// Replays every run of `sampler` and reports the largest differences.
fn check(sampler: &str) {
    let golden = golden();
    let runs: Vec<&Value> = golden["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|run| run["sampler"] == sampler)
        .collect();
    assert!(!runs.is_empty(), "no {sampler} runs in the golden file");
    let (mut worst_point, mut worst_x): (f64, f64) = (0.0, 0.0);
    for run in runs {
        let (point, x) = replay(run);
        eprintln!("{}: points {point:.1e}, samples {x:.1e}", label(run));
        worst_point = worst_point.max(point);
        worst_x = worst_x.max(x);
    }
    eprintln!("{sampler}: largest difference, points {worst_point:.1e}, samples {worst_x:.1e}");
}

#[test]
fn ddpm_matches_diffusers() {
    check("ddpm");
}

#[test]
fn ddim_matches_diffusers() {
    check("ddim");
}

#[test]
fn euler_matches_diffusers() {
    check("euler");
}

#[test]
fn heun_matches_diffusers() {
    check("heun");
}

#[test]
fn dpm_solver_matches_diffusers() {
    check("dpm++2m");
}

#[test]
fn flow_euler_matches_diffusers() {
    check("flow-euler");
}

#[test]
fn flow_heun_matches_diffusers() {
    check("flow-heun");
}

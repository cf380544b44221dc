//! diffusers' scheduler configs read by `model::scheduler_config` give diffusers' own numbers: ᾱ
//! at every 37th training timestep and the timesteps DDPM and DDIM visit, against the files and
//! values `tests/golden/make_scheduler_configs.py` wrote with diffusers 0.42.1. Each file is
//! also written back and read again unchanged.

use diffuscope::diffusion::NoiseSchedule;
use diffuscope::diffusion::samplers::{SamplerKind, SamplerSpec};
use diffuscope::model::scheduler_config::SchedulerConfig;
use serde_json::Value;

fn cases() -> Vec<Value> {
    let text = include_str!("golden/scheduler_configs.json");
    let golden: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("the golden file is not JSON: {e}"));
    golden["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("the golden file holds no list of cases"))
        .clone()
}

#[test]
fn every_config_gives_diffusers_alpha_bars_and_timesteps() {
    let cases = cases();
    assert_eq!(cases.len(), 9);
    let mut worst: f64 = 0.0;
    for case in &cases {
        let text = case["config"].as_str().expect("the file's text");
        let config = SchedulerConfig::parse(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let schedule = NoiseSchedule::new(config.schedule);
        for pair in case["alpha_bar"].as_array().expect("pairs") {
            let index = pair[0].as_u64().expect("an index") as usize;
            let theirs = pair[1].as_f64().expect("ᾱ");
            // Our t is diffusers' index + 1 (t = 0 is the clean image).
            let ours = schedule.alpha_bar(index + 1);
            worst = worst.max((ours - theirs).abs());
            // diffusers multiplies ᾱ out in float32: measured at most 4.3e-7 from ours (f64).
            assert!(
                (ours - theirs).abs() < 1e-6,
                "{}: ᾱ at {index}: {ours} against {theirs}",
                config.class_name()
            );
        }
        let visited = case["timesteps"].as_object().expect("an object");
        if matches!(config.sampler.kind, SamplerKind::Ddpm | SamplerKind::Ddim) {
            assert!(!visited.is_empty());
        }
        for (steps, theirs) in visited {
            let n: usize = steps.parse().expect("a step count");
            let theirs: Vec<usize> = theirs
                .as_array()
                .expect("timesteps")
                .iter()
                .map(|t| t.as_u64().expect("a timestep") as usize + 1)
                .collect();
            let spec = SamplerSpec {
                steps: n,
                ..config.sampler.clone()
            };
            let ours = spec.discrete_timesteps(schedule.steps());
            assert_eq!(ours, theirs, "{} with {n} steps", config.class_name());
        }
        let again = SchedulerConfig::parse(&config.to_json()).expect("written back, read again");
        assert_eq!(again, config);
    }
    eprintln!("largest ᾱ difference {worst:e}");
}

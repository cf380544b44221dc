//! `diffuscope bench sample`: whole sampling runs of 16 digits with the shipped models, each sampler
//! at its usual number of steps, in wall time and network calls per second (one call = one batched
//! forward pass; a guided call carries 2 × 16 images).
//!
//! Each run is timed once (a DDPM-1000 run takes long enough that noise between runs is small);
//! the goal on a 2-core laptop is DDPM-1000 ≤ 20 s and DDIM-50 with guidance ≤ 1 s.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::diffusion::objectives::Prediction;
use crate::diffusion::samplers::{PathPoint, SamplerKind, SamplerSpec};
use crate::diffusion::{NoiseSchedule, ScheduleConfig};
use crate::i18n::Lang;
use crate::model::{
    CheckpointError, DevicePreference, device_for, load_diffusion_model, resolve_model,
};
use crate::sample::{GuidanceParts, ImageShape, ModelTraits, RunSettings, StepFrame, sample};
use crate::worker::{Frame, RunRecord};

/// Digits per run.
const DIGITS: usize = 16;

/// One measured run.
#[derive(Clone, Debug)]
pub struct SampleTiming {
    /// "DDIM-50 guided".
    pub name: String,
    /// The shipped model.
    pub model: &'static str,
    /// Wall time of the run.
    pub wall: Duration,
    /// Network calls made.
    pub network_calls: usize,
}

/// The runs: (model, sampler, steps, guided).
const RUNS: [(&str, SamplerKind, usize, bool); 6] = [
    ("digits-eps", SamplerKind::Ddpm, 1000, false),
    ("digits-eps", SamplerKind::Ddpm, 1000, true),
    ("digits-eps", SamplerKind::Ddim, 50, true),
    ("digits-flow", SamplerKind::FlowEuler, 20, true),
    ("digits-eps", SamplerKind::DpmSolver2M, 20, true),
    ("digits-v", SamplerKind::Heun, 20, true),
];

/// Memory of the frames the window records for a 1000-step run of 64 guided samples (x_t, x̂0, ε̂
/// and both guidance halves as f16), built from made-up values so no model has to run for minutes:
/// (bytes the record counts, growth of the resident memory while it was built, if known).
pub fn recorded_run_memory() -> (usize, Option<usize>) {
    let (steps, batch, pixels) = (1000, 64, 28 * 28);
    let values: Vec<f32> = (0..batch * pixels).map(|i| (i % 7) as f32 * 0.1).collect();
    let prediction = Prediction {
        x0: values.clone(),
        eps: values.clone(),
        v: values.clone(),
    };
    let parts = GuidanceParts {
        eps_conditional: values.clone(),
        eps_unconditional: values.clone(),
    };
    let schedule = NoiseSchedule::new(ScheduleConfig::default());
    let before = crate::process::resident_memory_bytes();
    let mut record = RunRecord::new(
        "digits-eps".into(),
        RunSettings {
            sampler: SamplerSpec::new(SamplerKind::Ddpm, steps),
            seed: 0,
            labels: vec![Some(7); batch],
            guidance: 3.0,
        },
        ImageShape::grey(28, 28),
    );
    for step in 0..steps {
        let frame = StepFrame {
            step,
            steps,
            point: PathPoint::discrete(&schedule, steps - step),
            x_t: &values,
            prediction: &prediction,
            guidance: Some(&parts),
            network_calls: step + 1,
        };
        record.frames.push(Arc::new(Frame::record(
            &frame,
            batch,
            ImageShape::grey(28, 28),
        )));
    }
    let after = crate::process::resident_memory_bytes();
    let growth = before.zip(after).map(|(b, a)| a.saturating_sub(b));
    (record.memory_bytes(), growth)
}

/// Runs and prints the table; `quick` runs only the short samplers (for tests and smoke checks).
pub fn sample_bench(
    quick: bool,
    preference: DevicePreference,
) -> Result<Vec<SampleTiming>, CheckpointError> {
    let (device, reason) = device_for(preference);
    println!("diffuscope bench sample — {DIGITS} digits per run; {reason}");
    println!(
        "model threads: {} (RAYON_NUM_THREADS={})\n",
        candle_core::utils::get_num_threads(),
        std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".to_owned())
    );
    println!("model         run                     wall s   network calls   calls/s   digits/s");
    let mut timings = Vec::new();
    for (model_name, kind, steps, guided) in RUNS {
        if quick && steps > 50 {
            continue;
        }
        let model = load_diffusion_model(&resolve_model(model_name)?, &device)?;
        let run = RunSettings {
            sampler: SamplerSpec::new(kind, steps),
            seed: 1,
            labels: (0..DIGITS)
                .map(|i| guided.then_some((i % 10) as u32))
                .collect(),
            guidance: 3.0,
        };
        let settings = match ModelTraits::of(&model.info).and_then(|m| m.prepare(run)) {
            Ok(settings) => settings,
            Err(error) => {
                println!(
                    "{model_name:<13} {kind}-{steps}: {}",
                    error.sentence(Lang::En)
                );
                continue;
            }
        };
        let mut network_calls = 0;
        let started = Instant::now();
        let result = super::on_model_pool(|| {
            sample(&model, &settings, &mut |frame| {
                network_calls = frame.network_calls;
                ControlFlow::Continue(())
            })
            .map_err(|e| candle_core::Error::Msg(e.to_string()))
        });
        let wall = started.elapsed();
        if let Err(error) = result {
            println!("{model_name:<13} {kind}-{steps}: {error}");
            continue;
        }
        let name = format!(
            "{}-{steps}{}",
            kind.display_name(),
            if guided { " guided" } else { "" }
        );
        let seconds = wall.as_secs_f64().max(1e-9);
        println!(
            "{model_name:<13} {name:<22} {seconds:>7.2}   {network_calls:>13}   {:>7.0}   {:>8.1}",
            network_calls as f64 / seconds,
            DIGITS as f64 / seconds
        );
        timings.push(SampleTiming {
            name,
            model: model_name,
            wall,
            network_calls,
        });
    }
    // The worker builds its models on its own thread, with our kernels: with --candle-ops the
    // race would not measure what the rows above measure.
    if crate::model::layers::building_with_candle_ops() {
        println!("\nfour runs on one worker: left out with --candle-ops");
    } else if let Err(error) = super::race::race_figures(DIGITS, preference) {
        println!("\nfour runs on one worker: {error}");
    }
    let (counted, growth) = recorded_run_memory();
    println!(
        "\nrecorded frames of a 1000-step run of 64 guided samples: {:.0} MB counted, resident memory grew {}",
        counted as f64 / 1e6,
        growth.map_or_else(
            || "(unknown)".to_owned(),
            |g| format!("{:.0} MB", g as f64 / 1e6)
        )
    );
    Ok(timings)
}

//! Part of `diffuscope bench sample`: four runs of one model on one worker, one after another and
//! then all at once, as a sampler race runs them (the worker joins the runs' network calls).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::i18n::Lang;
use crate::model::DevicePreference;
use crate::worker::{
    CandleLoader, Event, ModelSource, Request, RunId, RunSettings, Worker, default_model_threads,
};

/// The racers: 20 steps each, on the ε model.
const SAMPLERS: [SamplerKind; 4] = [
    SamplerKind::Ddim,
    SamplerKind::DpmSolver2M,
    SamplerKind::Euler,
    SamplerKind::Heun,
];

/// Longest wait for any event.
const PATIENCE: Duration = Duration::from_secs(600);

/// Wall time of the four runs one after another, and all at once; prints both.
pub fn race_figures(
    digits: usize,
    preference: DevicePreference,
) -> Result<(Duration, Duration), String> {
    let sentence = |e: crate::worker::WorkerError| e.sentence(Lang::En);
    let worker = Worker::spawn(
        Box::new(CandleLoader::on(preference)),
        default_model_threads(),
        Arc::new(|| {}),
    )
    .map_err(sentence)?;
    let source = ModelSource::Shipped("digits-eps".into());
    worker
        .send(Request::LoadModel { id: 1, source })
        .map_err(sentence)?;
    match worker.recv_timeout(PATIENCE).map_err(sentence)? {
        Event::ModelLoaded { .. } => {}
        Event::ModelFailed { error, .. } => return Err(sentence(error)),
        other => return Err(format!("unexpected {other:?}")),
    }
    let start = |id: RunId, sampler| {
        let settings = RunSettings {
            sampler: SamplerSpec::new(sampler, 20),
            seed: 1,
            labels: (0..digits).map(|i| Some((i % 10) as u32)).collect(),
            guidance: 3.0,
        };
        worker.send(Request::Start {
            id,
            model: 1,
            settings,
        })
    };
    let began = Instant::now();
    for (id, sampler) in (1..).zip(SAMPLERS) {
        start(id, sampler).map_err(sentence)?;
        wait_for_ends(&worker, 1)?;
    }
    let one_after_another = began.elapsed();
    let began = Instant::now();
    for (id, sampler) in (10..).zip(SAMPLERS) {
        start(id, sampler).map_err(sentence)?;
    }
    wait_for_ends(&worker, SAMPLERS.len())?;
    let together = began.elapsed();
    println!(
        "\nfour runs of {digits} guided digits on one worker (DDIM, DPM-Solver++(2M), Euler, Heun; 20 steps each): {:.2} s one after another, {:.2} s at once (network calls joined)",
        one_after_another.as_secs_f64(),
        together.as_secs_f64()
    );
    Ok((one_after_another, together))
}

/// Waits until `count` runs have finished; a failure or a cancellation is an error.
fn wait_for_ends(worker: &Worker, count: usize) -> Result<(), String> {
    let mut finished = 0;
    while finished < count {
        match worker
            .recv_timeout(PATIENCE)
            .map_err(|e| e.sentence(Lang::En))?
        {
            Event::Finished { .. } => finished += 1,
            Event::Failed { error, .. } => return Err(error.sentence(Lang::En)),
            Event::Cancelled { id, .. } => return Err(format!("run {id} was cancelled")),
            _ => {}
        }
    }
    Ok(())
}

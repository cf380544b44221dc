//! One turn of the worker's runs: the runs of one model that are due move on by one network call,
//! joined into a single call of the network (each image's answer depends on that image only, so a
//! run's result is bit-identical alone or beside others). Where the joined call fails, each run
//! takes its turn alone, so that each gets its own answer or its own error.

use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use super::WorkerError;
use super::frame::Frame;
use super::loader::LoadedModel;
use super::protocol::{Event, RunId};
use crate::sample::guidance::GuidedCall;
use crate::sample::{RunStatus, SampleError, SamplingRun, StepFrame};

/// Most images in one joined network call (a guided image counts twice): about the activations
/// of one guided run of 64 digits, twice.
pub const MAX_JOINED_IMAGES: usize = 256;

/// A run going on, and the model it runs on (kept even if the model is released meanwhile).
pub struct ActiveRun {
    /// The run's number.
    pub id: RunId,
    /// The model.
    pub model: Arc<LoadedModel>,
    /// Where the run stands.
    pub run: SamplingRun,
    /// When it started.
    pub started: Instant,
}

/// What one turn of a run ended with.
pub struct Turn {
    /// The step the call showed, if it began one.
    pub frame: Option<Box<Frame>>,
    /// The run's last event, if it ended (sent after the frame).
    pub ended: Option<Event>,
}

/// Moves every run of `group` (all of one model) on by one network call, joined into one call
/// where there are several; one [`Turn`] per run, in order.
pub fn take_turns(group: &mut [ActiveRun]) -> Vec<Turn> {
    if let [single] = group {
        return vec![advance_alone(single)];
    }
    let calls: Option<Vec<GuidedCall>> = group.iter().map(|a| a.run.next_call()).collect();
    let joined = calls.and_then(|calls| {
        let outputs = catch_unwind(AssertUnwindSafe(|| ask_together(&group[0].model, &calls)));
        outputs.ok()?.ok().map(|outputs| (calls, outputs))
    });
    match joined {
        Some((calls, outputs)) => group
            .iter_mut()
            .zip(calls.iter().zip(outputs))
            .map(|(active, (call, output))| {
                let id = active.id;
                finish(active, id, |run, on_step| run.answer(call, output, on_step))
            })
            .collect(),
        // A run has finished, or the joined call failed: each run on its own.
        None => group.iter_mut().map(advance_alone).collect(),
    }
}

/// One network call for all of `calls`, its answer split back per call.
fn ask_together(model: &LoadedModel, calls: &[GuidedCall]) -> Result<Vec<Vec<f32>>, SampleError> {
    let batch = calls.iter().map(|call| call.batch).sum();
    let x: Vec<f32> = calls
        .iter()
        .flat_map(|call| call.x.iter().copied())
        .collect();
    let times: Vec<f32> = calls
        .iter()
        .flat_map(|call| call.timestep_inputs.iter().copied())
        .collect();
    let classes: Vec<u32> = calls
        .iter()
        .flat_map(|call| call.classes.iter().copied())
        .collect();
    let output = model.denoiser.predict(&x, batch, &times, &classes)?;
    if output.len() != x.len() {
        return Err(SampleError::WrongOutputSize {
            expected: x.len(),
            found: output.len(),
        });
    }
    let mut rest = output.as_slice();
    Ok(calls
        .iter()
        .map(|call| {
            let (own, others) = rest.split_at(call.x.len());
            rest = others;
            own.to_vec()
        })
        .collect())
}

/// Moves `active` on by one network call of its own.
pub fn advance_alone(active: &mut ActiveRun) -> Turn {
    let model = Arc::clone(&active.model);
    let id = active.id;
    finish(active, id, |run, on_step| {
        run.advance(&*model.denoiser, on_step)
    })
}

/// Runs `step` on the run (recording the frame it shows, catching a panic) and turns its outcome
/// into the run's [`Turn`].
fn finish(
    active: &mut ActiveRun,
    id: RunId,
    step: impl FnOnce(
        &mut SamplingRun,
        &mut dyn FnMut(&StepFrame<'_>) -> ControlFlow<()>,
    ) -> Result<RunStatus, SampleError>,
) -> Turn {
    let batch = active.run.settings().labels.len();
    let image_shape = active.model.summary.image_shape;
    let mut shown = None;
    let mut on_step = |step: &StepFrame<'_>| {
        shown = Some(Box::new(Frame::record(step, batch, image_shape)));
        ControlFlow::Continue(())
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| step(&mut active.run, &mut on_step)));
    let ended = match outcome {
        Ok(Ok(RunStatus::Going)) => None,
        Ok(Ok(RunStatus::Finished(samples))) => Some(Event::Finished {
            id,
            samples,
            network_calls: active.run.network_calls(),
            elapsed: active.started.elapsed(),
        }),
        Ok(Err(SampleError::Cancelled { step })) => Some(Event::Cancelled { id, step }),
        Ok(Err(error)) => Some(Event::Failed {
            id,
            error: WorkerError::Sample(error),
        }),
        Err(panic) => Some(Event::Failed {
            id,
            error: WorkerError::Panicked {
                message: panic_message(&*panic),
            },
        }),
    };
    Turn {
        frame: shown,
        ended,
    }
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

//! The worker thread's loop. It holds the models it was asked to load (by request number) and the
//! runs going on; runs take turns, one network call each, and between two calls the worker reads
//! every request that has arrived, so a cancel, a new run, a new model or the window closing is
//! seen before the model is asked again. A run's result does not depend on the runs beside it: each
//! keeps its own x, sampler and random streams ([`SamplingRun`]).

use std::collections::{HashMap, VecDeque};
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rayon::ThreadPool;

use super::WorkerError;
use super::frame::Frame;
use super::loader::{LoadedModel, ModelLoader};
use super::protocol::{Event, LoadId, ModelSource, Request, RunId, RunSettings};
use crate::sample::{RunStatus, SampleError, SamplingRun};

/// Everything the worker thread owns.
pub struct WorkerThread {
    loader: Box<dyn ModelLoader>,
    models: HashMap<LoadId, Arc<LoadedModel>>,
    /// The runs going on, in the order of their turns.
    runs: VecDeque<ActiveRun>,
    pool: ThreadPool,
    requests: Receiver<Request>,
    events: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
    closing: bool,
}

/// A run going on, and the model it runs on (kept even if the model is released meanwhile).
struct ActiveRun {
    id: RunId,
    model: Arc<LoadedModel>,
    run: SamplingRun,
    started: Instant,
}

/// What one turn of a run ended with.
struct Turn {
    /// The step the call showed, if it began one.
    frame: Option<Box<Frame>>,
    /// The run's last event, if it ended (sent after the frame).
    ended: Option<Event>,
}

impl WorkerThread {
    /// The worker's state, before its thread starts.
    pub fn new(
        loader: Box<dyn ModelLoader>,
        pool: ThreadPool,
        requests: Receiver<Request>,
        events: Sender<Event>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            loader,
            models: HashMap::new(),
            runs: VecDeque::new(),
            pool,
            requests,
            events,
            wake,
            closing: false,
        }
    }

    /// Serves requests and runs until told to stop or the window goes.
    pub fn serve(mut self) {
        loop {
            self.read_requests();
            if self.closing {
                return;
            }
            if let Some(run) = self.runs.pop_front() {
                self.take_turn(run);
            }
        }
    }

    /// Handles every request waiting; waits for one first when no run goes on.
    fn read_requests(&mut self) {
        if self.runs.is_empty() {
            match self.requests.recv() {
                Ok(request) => self.handle(request),
                Err(_) => self.closing = true,
            }
        }
        while !self.closing {
            match self.requests.try_recv() {
                Ok(request) => self.handle(request),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => self.closing = true,
            }
        }
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::LoadModel { id, source } => self.load(id, &source),
            Request::ReleaseModel(id) => {
                self.models.remove(&id);
            }
            Request::Start {
                id,
                model,
                settings,
            } => self.start(id, model, settings),
            Request::Cancel(id) => self.cancel(id),
            Request::Shutdown => self.closing = true,
        }
    }

    /// Sends an event and wakes the window; a window that has gone ends the worker.
    fn emit(&mut self, event: Event) {
        if self.events.send(event).is_err() {
            self.closing = true;
        } else {
            (self.wake)();
        }
    }

    fn load(&mut self, id: LoadId, source: &ModelSource) {
        let loaded =
            catch_unwind(AssertUnwindSafe(|| self.loader.load(source))).unwrap_or_else(|panic| {
                Err(WorkerError::Panicked {
                    message: panic_message(&*panic),
                })
            });
        match loaded {
            Ok(model) => {
                let summary = model.summary.clone();
                self.models.insert(id, Arc::new(model));
                self.emit(Event::ModelLoaded { id, summary });
            }
            Err(error) => self.emit(Event::ModelFailed {
                id,
                source: source.clone(),
                error,
            }),
        }
    }

    /// Prepares run `id` on model `model` and puts it last in the turns, or says why it cannot run.
    fn start(&mut self, id: RunId, model: LoadId, settings: RunSettings) {
        let Some(model) = self.models.get(&model).cloned() else {
            return self.emit(Event::Failed {
                id,
                error: WorkerError::NoModel,
            });
        };
        match model.summary.traits().prepare(settings) {
            Ok(settings) => {
                let run = SamplingRun::new(settings, model.summary.image_size);
                self.runs.push_back(ActiveRun {
                    id,
                    model,
                    run,
                    started: Instant::now(),
                });
            }
            Err(error) => self.emit(Event::Failed {
                id,
                error: error.into(),
            }),
        }
    }

    fn cancel(&mut self, id: RunId) {
        if let Some(index) = self.runs.iter().position(|run| run.id == id) {
            let step = self.runs[index].run.shown_step();
            self.runs.remove(index);
            self.emit(Event::Cancelled { id, step });
        }
    }

    /// One network call of `active`; it goes back in line unless it ended.
    fn take_turn(&mut self, mut active: ActiveRun) {
        let id = active.id;
        let Turn { frame, ended } = self.pool.install(|| advance(&mut active));
        if let Some(frame) = frame {
            let (done, total) = (frame.step + 1, active.run.steps());
            self.emit(Event::Frame { id, frame });
            self.emit(Event::Progress {
                id,
                done,
                total,
                network_calls: active.run.network_calls(),
                elapsed: active.started.elapsed(),
            });
        }
        match ended {
            Some(event) => self.emit(event),
            None => self.runs.push_back(active),
        }
    }
}

/// Moves `active` on by one network call, recording the step it shows and catching a panic.
fn advance(active: &mut ActiveRun) -> Turn {
    let batch = active.run.settings().labels.len();
    let image_size = active.model.summary.image_size;
    let mut shown = None;
    let mut on_step = |step: &crate::sample::StepFrame<'_>| {
        shown = Some(Box::new(Frame::record(step, batch, image_size)));
        ControlFlow::Continue(())
    };
    let denoiser = &*active.model.denoiser;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        active.run.advance(denoiser, &mut on_step)
    }));
    let id = active.id;
    let ended = match outcome {
        Ok(Ok(RunStatus::Going)) => {
            return Turn {
                frame: shown,
                ended: None,
            };
        }
        Ok(Ok(RunStatus::Finished(samples))) => Event::Finished {
            id,
            samples,
            network_calls: active.run.network_calls(),
            elapsed: active.started.elapsed(),
        },
        Ok(Err(SampleError::Cancelled { step })) => Event::Cancelled { id, step },
        Ok(Err(error)) => Event::Failed {
            id,
            error: WorkerError::Sample(error),
        },
        Err(panic) => Event::Failed {
            id,
            error: WorkerError::Panicked {
                message: panic_message(&*panic),
            },
        },
    };
    Turn {
        frame: shown,
        ended: Some(ended),
    }
}

/// The text of a panic's payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}

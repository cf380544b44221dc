//! The worker thread's loop. It takes requests in order; while a run goes on it looks at its
//! inbox after every step and before every network call, so a cancel, a newer run, a new model or
//! the window closing stops the run before the model is asked again.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rayon::ThreadPool;

use super::WorkerError;
use super::frame::Frame;
use super::loader::{LoadedModel, ModelLoader};
use super::protocol::{Event, Request, RunId, RunSettings};
use crate::sample::{Denoiser, SampleError, SampleSettings, StepFrame, sample};

/// Everything the worker thread owns.
pub struct WorkerThread {
    loader: Box<dyn ModelLoader>,
    model: Option<LoadedModel>,
    pool: ThreadPool,
    inbox: RefCell<Inbox>,
    events: Sender<Event>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

/// Requests not yet handled, and whether the window has gone.
struct Inbox {
    requests: Receiver<Request>,
    pending: VecDeque<Request>,
    closing: bool,
}

impl Inbox {
    /// The next request to handle, waiting for one; `None` once the worker should end.
    fn next(&mut self) -> Option<Request> {
        if self.closing {
            return None;
        }
        let request = match self.pending.pop_front() {
            Some(request) => request,
            None => self.requests.recv().ok()?,
        };
        if request == Request::Shutdown {
            self.closing = true;
            return None;
        }
        Some(request)
    }

    /// Reads what has arrived while run `current` goes on; true if the run must stop: it was
    /// cancelled, a newer run or model waits, or the window has gone.
    fn must_stop(&mut self, current: RunId) -> bool {
        let mut stop = self.closing || self.superseded();
        loop {
            match self.requests.try_recv() {
                Ok(Request::Cancel(id)) if id == current => stop = true,
                Ok(Request::Shutdown) | Err(TryRecvError::Disconnected) => {
                    self.closing = true;
                    return true;
                }
                Ok(request @ (Request::Start { .. } | Request::LoadModel { .. })) => {
                    self.pending.push_back(request);
                    stop = true;
                }
                Ok(request @ Request::Cancel(_)) => self.pending.push_back(request),
                Err(TryRecvError::Empty) => return stop,
            }
        }
    }

    /// Whether a newer run or model waits in the queue (which makes a run pointless).
    fn superseded(&self) -> bool {
        self.pending
            .iter()
            .any(|r| matches!(r, Request::Start { .. } | Request::LoadModel { .. }))
    }

    /// Takes a queued cancellation of run `id`, if there is one.
    fn take_cancel(&mut self, id: RunId) -> bool {
        let before = self.pending.len();
        self.pending.retain(|r| *r != Request::Cancel(id));
        self.pending.len() != before
    }
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
            model: None,
            pool,
            inbox: RefCell::new(Inbox {
                requests,
                pending: VecDeque::new(),
                closing: false,
            }),
            events,
            wake,
        }
    }

    /// Serves requests until told to stop or the window goes.
    pub fn serve(mut self) {
        loop {
            let Some(request) = self.inbox.borrow_mut().next() else {
                return;
            };
            match request {
                Request::LoadModel { id, source } => self.load(id, &source),
                Request::Start { id, settings } => {
                    let skip = {
                        let mut inbox = self.inbox.borrow_mut();
                        // Take the cancel in any case, so that none lingers in the queue.
                        inbox.take_cancel(id) | inbox.superseded()
                    };
                    if skip {
                        self.emit(Event::Cancelled { id, step: 0 });
                    } else {
                        self.run(id, &settings);
                    }
                }
                // A cancel for a run that is not going: nothing to do.
                Request::Cancel(_) | Request::Shutdown => {}
            }
        }
    }

    /// Sends an event and wakes the window; a window that has gone ends the worker.
    fn emit(&self, event: Event) {
        if self.events.send(event).is_err() {
            self.inbox.borrow_mut().closing = true;
        } else {
            (self.wake)();
        }
    }

    fn load(&mut self, id: super::LoadId, source: &super::ModelSource) {
        let loaded =
            catch_unwind(AssertUnwindSafe(|| self.loader.load(source))).unwrap_or_else(|panic| {
                Err(WorkerError::Panicked {
                    message: panic_message(&*panic),
                })
            });
        match loaded {
            Ok(model) => {
                let summary = model.summary.clone();
                self.model = Some(model);
                self.emit(Event::ModelLoaded { id, summary });
            }
            Err(error) => self.emit(Event::ModelFailed {
                id,
                source: source.clone(),
                error,
            }),
        }
    }

    fn run(&self, id: RunId, settings: &RunSettings) {
        let Some(model) = &self.model else {
            self.emit(Event::Failed {
                id,
                error: WorkerError::NoModel,
            });
            return;
        };
        let summary = &model.summary;
        if !settings.sampler.kind.supports(summary.objective) {
            self.emit(Event::Failed {
                id,
                error: WorkerError::SamplerUnsupported {
                    sampler: settings.sampler.kind,
                    objective: summary.objective,
                },
            });
            return;
        }
        let sample_settings = SampleSettings {
            objective: summary.objective,
            schedule: summary.schedule.clone(),
            sampler: settings.sampler.clone(),
            seed: settings.seed,
            labels: settings.labels.clone(),
            guidance: settings.guidance,
        };
        let batch = settings.labels.len();
        let started = Instant::now();
        let mut network_calls = 0;
        let guarded = Guarded {
            inner: &*model.denoiser,
            pool: &self.pool,
            inbox: &self.inbox,
            run: id,
            step: std::cell::Cell::new(0),
        };
        let mut on_step = |step: &StepFrame<'_>| {
            network_calls = step.network_calls;
            guarded.step.set(step.step);
            let frame = Frame::record(step, batch, summary.image_size);
            self.emit(Event::Frame {
                id,
                frame: Box::new(frame),
            });
            self.emit(Event::Progress {
                id,
                done: step.step + 1,
                total: step.steps,
                network_calls: step.network_calls,
                elapsed: started.elapsed(),
            });
            if self.inbox.borrow_mut().must_stop(id) {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            sample(&guarded, &sample_settings, &mut on_step)
        }));
        let event = match outcome {
            Ok(Ok(samples)) => Event::Finished {
                id,
                samples,
                network_calls,
                elapsed: started.elapsed(),
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
        self.emit(event);
    }
}

/// The loaded network, run in the worker's thread pool, refusing to start a call once its run
/// must stop.
struct Guarded<'a> {
    inner: &'a (dyn Denoiser + Send + Sync),
    pool: &'a ThreadPool,
    inbox: &'a RefCell<Inbox>,
    run: RunId,
    /// The last step reported, for the cancellation's step number.
    step: std::cell::Cell<usize>,
}

impl Denoiser for Guarded<'_> {
    fn image_size(&self) -> (usize, usize) {
        self.inner.image_size()
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        classes: &[u32],
    ) -> Result<Vec<f32>, SampleError> {
        if self.inbox.borrow_mut().must_stop(self.run) {
            return Err(SampleError::Cancelled {
                step: self.step.get(),
            });
        }
        let inner = self.inner;
        self.pool
            .install(|| inner.predict(x_t, batch, timestep_input, classes))
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

//! The worker thread's loop. It holds the models it was asked to load (by request number) and the
//! runs going on. Runs take turns, one network call each; the runs of one model share their turn's
//! call ([`super::turn`]). Between two turns the worker reads every request that has arrived, so a
//! cancel, a new run, a new model or the window closing is seen before the model is asked again. A
//! run's result does not depend on the runs beside it: each keeps its own x, sampler and random
//! streams ([`SamplingRun`]), and each image's answer depends on that image only.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use rayon::ThreadPool;

use super::WorkerError;
use super::loader::{LoadedModel, ModelLoader};
use super::protocol::{Event, LoadId, ModelSource, Request, RunId, RunSettings};
use super::turn::{ActiveRun, MAX_JOINED_IMAGES, Turn, panic_message, take_turns};
use crate::sample::SamplingRun;

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
            self.take_turn();
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
                let summary = Box::new(model.summary.clone());
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
                let run = SamplingRun::new(settings, model.summary.image_shape);
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

    /// The next run in line, and the others of its model (up to [`MAX_JOINED_IMAGES`] images),
    /// move on by one joined network call; each goes back in line unless it ended.
    fn take_turn(&mut self) {
        let Some(first) = self.runs.pop_front() else {
            return;
        };
        let mut joined = first.run.next_call_images();
        let mut group = vec![first];
        let mut waiting = VecDeque::with_capacity(self.runs.len());
        for active in self.runs.drain(..) {
            let images = active.run.next_call_images();
            let same_model = Arc::ptr_eq(&active.model, &group[0].model);
            if same_model && joined + images <= MAX_JOINED_IMAGES {
                joined += images;
                group.push(active);
            } else {
                waiting.push_back(active);
            }
        }
        self.runs = waiting;
        let turns = self.pool.install(|| take_turns(&mut group));
        for (active, turn) in group.into_iter().zip(turns) {
            self.report(active, turn);
        }
    }

    /// Sends what a run's turn showed; the run goes back in line unless it ended.
    fn report(&mut self, active: ActiveRun, Turn { frame, ended }: Turn) {
        let id = active.id;
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

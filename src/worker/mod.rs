//! The worker: a named background thread that owns the model and its device, runs sampling, and
//! streams every step back to the window as plain data, so the window never waits for the model.
//!
//! - [`protocol`]: the two closed enums, [`Request`] (window → worker) and [`Event`] (worker →
//!   window), over bounded crossbeam channels.
//! - [`frame`]: [`Frame`], one recorded step (x_t, x̂0, ε̂ of every image, as f16).
//! - [`thread`]: the worker's loop: requests in order, cancellation before the next network call,
//!   panics turned into [`Event::Failed`].
//! - [`record`]: [`RunRecord`], a whole run kept for scrubbing and export.
//! - [`run_file`]: a [`RunRecord`] saved as a file (`.dsrun`, safetensors) and opened again.
//! - [`loader`]: [`ModelLoader`], how a [`ModelSource`] becomes a [`LoadedModel`]; the candle one
//!   for the shipped checkpoints, and fakes in the tests.
//!
//! Invariants: the worker never imports egui (it wakes the window through a callback); the model's
//! arithmetic runs in the worker's own thread pool of [`default_model_threads`] threads (every
//! core); every run ends with exactly one of `Finished`, `Cancelled` or `Failed`.

pub mod frame;
pub mod loader;
pub mod protocol;
pub mod record;
pub mod run_file;
pub mod thread;
pub mod turn;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError, bounded};

pub use frame::{Frame, GuidanceFrame};
pub use loader::{CandleLoader, LoadedModel, ModelLoader};
pub use protocol::{Event, LoadId, ModelSource, ModelSummary, Request, RunId, RunSettings};
pub use record::RunRecord;

use crate::i18n::Lang;
use crate::model::CheckpointError;
use crate::sample::{PrepareError, SampleError};

/// Requests that may wait for the worker (the window sends a handful per click).
const REQUEST_CAPACITY: usize = 64;
/// Events that may wait for the window (a few frames; the worker waits when they are not read).
const EVENT_CAPACITY: usize = 64;

/// Threads for the model's arithmetic: every core. The window's own work during a run is small and
/// its repaints are capped ([`crate::ui`]'s wake-up), so keeping a core for it only slowed the model
/// (a guided DDPM-1000 run of 16 digits took about 75 s in the window against 43 s on the
/// command line, on 2 cores).
pub fn default_model_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// The window's handle on the worker thread. Dropping it ends the thread (after the network call
/// in flight, if any).
pub struct Worker {
    requests: Option<Sender<Request>>,
    events: Option<Receiver<Event>>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts the worker thread ("diffuscope-worker"), which loads models with `loader`, runs
    /// their arithmetic on `model_threads` threads and calls `wake` after sending each event.
    pub fn spawn(
        loader: Box<dyn ModelLoader>,
        model_threads: usize,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Self, WorkerError> {
        let (request_sender, request_receiver) = bounded(REQUEST_CAPACITY);
        let (event_sender, event_receiver) = bounded(EVENT_CAPACITY);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(model_threads.max(1))
            .thread_name(|i| format!("diffuscope-model-{i}"))
            .build()
            .map_err(|e| WorkerError::Thread {
                detail: e.to_string(),
            })?;
        let state = thread::WorkerThread::new(loader, pool, request_receiver, event_sender, wake);
        let handle = std::thread::Builder::new()
            .name("diffuscope-worker".into())
            .spawn(move || state.serve())
            .map_err(|e| WorkerError::Thread {
                detail: e.to_string(),
            })?;
        Ok(Self {
            requests: Some(request_sender),
            events: Some(event_receiver),
            thread: Some(handle),
        })
    }

    /// Sends a request without ever blocking the caller.
    pub fn send(&self, request: Request) -> Result<(), WorkerError> {
        let sender = self.requests.as_ref().ok_or(WorkerError::Gone)?;
        sender.try_send(request).map_err(|e| match e {
            TrySendError::Full(_) => WorkerError::Busy,
            TrySendError::Disconnected(_) => WorkerError::Gone,
        })
    }

    /// The next event, if one is waiting.
    pub fn try_recv(&self) -> Option<Event> {
        self.events.as_ref()?.try_recv().ok()
    }

    /// The next event, waiting up to `timeout` for it (for the command line and tests).
    pub fn recv_timeout(&self, timeout: Duration) -> Result<Event, WorkerError> {
        let events = self.events.as_ref().ok_or(WorkerError::Gone)?;
        events.recv_timeout(timeout).map_err(|e| match e {
            RecvTimeoutError::Timeout => WorkerError::Timeout,
            RecvTimeoutError::Disconnected => WorkerError::Gone,
        })
    }

    /// Whether the worker thread is still running.
    pub fn is_alive(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(requests) = self.requests.take() {
            // If the queue is full the disconnection below says the same.
            let _ = requests.try_send(Request::Shutdown);
        }
        // Dropping the event receiver frees a worker blocked on a full event queue.
        self.events.take();
        if let Some(thread) = self.thread.take() {
            // A panic was already reported as an event; nothing is left to do with it here.
            let _ = thread.join();
        }
    }
}

/// Why the worker could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// The model file could not be used.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The model cannot make the run asked for (unknown schedule, unsupported sampler).
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// A run was asked for with a model the worker does not hold (never loaded, or released).
    #[error("no model is loaded")]
    NoModel,
    /// Sampling stopped with an error (network failure, NaN…).
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// The run panicked; the worker carried on.
    #[error("the run crashed: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
    /// A thread could not be started.
    #[error("could not start a thread: {detail}")]
    Thread {
        /// What the system said.
        detail: String,
    },
    /// The worker's request queue is full.
    #[error("the worker is busy")]
    Busy,
    /// No event came in the time waited.
    #[error("no answer from the worker in time")]
    Timeout,
    /// The worker thread has ended.
    #[error("the worker has stopped")]
    Gone,
}

impl WorkerError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match self {
            Self::Checkpoint(error) => error.sentence(lang),
            Self::Sample(error) => error.sentence(lang),
            Self::Prepare(error) => error.sentence(lang),
            Self::NoModel => lang
                .pick(
                    "No model is loaded yet: choose one first.",
                    "尚未加载模型：请先选择一个模型。",
                )
                .to_owned(),
            Self::Panicked { message } => match lang {
                Lang::En => format!(
                    "The run crashed ({message}). The program carries on; try other settings."
                ),
                Lang::Zh => {
                    format!("本次运行崩溃（{message}）。程序仍可继续使用，请换一种设置再试。")
                }
            },
            Self::Thread { detail } => match lang {
                Lang::En => format!("The program could not start a background thread ({detail})."),
                Lang::Zh => format!("程序无法启动后台线程（{detail}）。"),
            },
            Self::Busy => lang
                .pick(
                    "The model is busy; try again in a moment.",
                    "模型正忙，请稍后再试。",
                )
                .to_owned(),
            Self::Timeout => lang
                .pick("The model did not answer in time.", "模型没有及时响应。")
                .to_owned(),
            Self::Gone => lang
                .pick(
                    "The model's background thread has stopped; restart the program.",
                    "模型的后台线程已停止，请重新启动程序。",
                )
                .to_owned(),
        }
    }
}

//! A model learning live: a training run on a thread of its own, publishing every step's loss
//! and, every few seconds, the sixteen digits its averaged weights draw from the same noise (the
//! latest grid, and a strip of grids over training). Pause, Resume, Stop and Save reach the run
//! through [`LiveShared`]; the run reads them between steps, so the window never waits for it.
//!
//! The trainer is a function given to the view ([`LiveTrainer`]): candle's
//! ([`candle_live_trainer`]) in the window, a fake in the tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::jobs::Sentences;
use crate::data::mnist::load_bundled_digits;
use crate::diffusion::objectives::Objective;
use crate::export::cleanup::Temporary;
use crate::model::config::UNetConfig;
use crate::train::watch::{Averaged, watch_grid};
use crate::train::{StepReport, TrainConfig, train_watched};

/// Grids kept in the strip; when it is full every other one is let go and later grids join it
/// half as often, so it always spans the run evenly.
pub const STRIP_LENGTH: usize = 12;
/// The least time between two grids.
const GRID_INTERVAL: Duration = Duration::from_secs(3);
/// How often the window hears of new steps.
const NEWS_INTERVAL: Duration = Duration::from_millis(250);

/// The network's size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LiveSize {
    /// 8/8/16 channels, 35,153 weights: learns in minutes.
    Tiny,
    /// The shipped models' 16/32/64 channels.
    Full,
}

/// What the teacher chose for the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LiveSettings {
    /// The objective, by command-line name.
    pub objective: Objective,
    /// The network's size.
    pub size: LiveSize,
    /// The peak learning rate.
    pub lr: f64,
    /// Digits per step.
    pub batch: usize,
    /// The share of labels dropped to "no class".
    pub label_dropout: f64,
    /// Optimiser steps.
    pub steps: usize,
}

impl Default for LiveSettings {
    /// The laptop recipe of `diffuscope train --tiny` with flow matching, which learns fastest.
    fn default() -> Self {
        Self {
            objective: Objective::Flow,
            size: LiveSize::Tiny,
            lr: 5e-3,
            batch: 32,
            label_dropout: 0.1,
            steps: 2_000,
        }
    }
}

impl LiveSettings {
    /// These settings brought into what the view offers: lr [1e-5–0.1], batch [1–256], label
    /// dropout [0–1], steps [10–100000].
    #[must_use]
    pub fn within_offered(mut self) -> Self {
        let defaults = Self::default();
        self.lr = if self.lr.is_finite() {
            self.lr.clamp(1e-5, 0.1)
        } else {
            defaults.lr
        };
        self.batch = self.batch.clamp(1, 256);
        self.label_dropout = if self.label_dropout.is_finite() {
            self.label_dropout.clamp(0.0, 1.0)
        } else {
            defaults.label_dropout
        };
        self.steps = self.steps.clamp(10, 100_000);
        if self.objective == Objective::X0 {
            self.objective = defaults.objective;
        }
        self
    }

    /// The run these settings make.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            objective: self.objective,
            steps: self.steps,
            batch: self.batch,
            lr: self.lr,
            warmup: (self.steps / 20).min(100),
            label_dropout: self.label_dropout,
            unet: match self.size {
                LiveSize::Tiny => UNetConfig::tiny(),
                LiveSize::Full => UNetConfig::default(),
            },
            // Only a stopped run writes its state, into the run's own temporary folder.
            save_every: usize::MAX,
            command: "diffuscope (Training view)".to_owned(),
            ..TrainConfig::default()
        }
    }
}

/// What the run has published.
#[derive(Clone, Debug, Default)]
pub struct LiveNews {
    /// Every step's loss.
    pub losses: Vec<f32>,
    /// The last step's report.
    pub last: Option<StepReport>,
    /// The latest grid: (step, 16 digits).
    pub grid: Option<(usize, Vec<f32>)>,
    /// Grids over training, oldest first.
    pub strip: Vec<(usize, Vec<f32>)>,
    /// Where the last Save wrote, or why it could not.
    pub saved: Option<Result<PathBuf, Sentences>>,
    /// Why the run failed, if it did.
    pub failed: Option<Sentences>,
    /// The averaged weights as a checkpoint's bytes, once the run has ended (finished or
    /// stopped), for saving afterwards.
    pub checkpoint: Option<Arc<[u8]>>,
    /// Counts every change, so the window copies only what changed.
    pub revision: u64,
    /// Counts the grids drawn, so the window uploads pictures only when one was.
    pub grid_revision: u64,
    /// Grids drawn so far, and every how many of them joins the strip.
    strip_pace: (usize, usize),
}

/// What the run and the window share: the window's requests, the run's news.
pub struct LiveShared {
    paused: AtomicBool,
    stop: AtomicBool,
    save_to: Mutex<Option<PathBuf>>,
    news: Mutex<LiveNews>,
    times: Mutex<(Instant, Option<Instant>)>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl LiveShared {
    /// Nothing asked, nothing heard; `wake` repaints the window.
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            paused: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            save_to: Mutex::new(None),
            news: Mutex::new(LiveNews::default()),
            times: Mutex::new((Instant::now(), None)),
            wake,
        }
    }

    /// The news so far (a poisoned lock still holds the last news written).
    pub fn news(&self) -> MutexGuard<'_, LiveNews> {
        self.news
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Pauses or resumes the run.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    /// Whether the run is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    /// Stops the run after the step it is taking.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether the run was asked to stop.
    pub fn is_stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Asks the run to save its averaged weights at `path` after the step it is taking.
    pub fn save_to(&self, path: PathBuf) {
        *self
            .save_to
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(path);
    }

    /// The save asked for, taken (the run answers with [`Self::saved`]).
    pub fn take_save(&self) -> Option<PathBuf> {
        self.save_to
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Tells the window how a save went.
    pub fn saved(&self, outcome: Result<PathBuf, Sentences>) {
        self.change(|news| news.saved = Some(outcome));
        (self.wake)();
    }

    /// A step done; the window hears of it at most every [`NEWS_INTERVAL`] (and of the last).
    pub fn report(&self, report: StepReport) {
        self.change(|news| {
            news.losses.push(report.loss);
            news.last = Some(report);
        });
        let mut times = self.times();
        if times.0.elapsed() >= NEWS_INTERVAL || report.step == report.steps {
            times.0 = Instant::now();
            (self.wake)();
        }
    }

    /// Whether a new grid is due: the first, the last step's, or [`GRID_INTERVAL`] after the last.
    pub fn grid_due(&self, last_step: bool) -> bool {
        last_step
            || self
                .times()
                .1
                .is_none_or(|at| at.elapsed() >= GRID_INTERVAL)
    }

    /// Publishes the grid drawn after `step`, and keeps it in the strip.
    pub fn publish_grid(&self, step: usize, grid: Vec<f32>) {
        self.times().1 = Some(Instant::now());
        self.change(|news| {
            let last = news
                .last
                .is_some_and(|r| r.step == step && r.step == r.steps);
            let (drawn, every) = &mut news.strip_pace;
            let joins = last || *drawn % (*every).max(1) == 0;
            *drawn += 1;
            if joins {
                if news.strip.len() >= STRIP_LENGTH {
                    let mut index = 0;
                    news.strip.retain(|_| {
                        index += 1;
                        index % 2 == 1
                    });
                    *every = (*every).max(1) * 2;
                }
                news.strip.push((step, grid.clone()));
            }
            news.grid = Some((step, grid));
            news.grid_revision += 1;
        });
        (self.wake)();
    }

    /// Keeps the averaged weights the run ended with.
    pub fn keep_checkpoint(&self, bytes: Vec<u8>) {
        self.change(|news| news.checkpoint = Some(bytes.into()));
    }

    /// The run failed.
    pub fn fail(&self, why: Sentences) {
        self.change(|news| news.failed = Some(why));
        (self.wake)();
    }

    /// Waits while the run is paused (answering saves); `false` once it is to stop.
    pub fn wait_while_paused(&self, save: &dyn Fn(PathBuf)) -> bool {
        while self.is_paused() && !self.is_stopping() {
            if let Some(path) = self.take_save() {
                save(path);
            }
            std::thread::sleep(Duration::from_millis(40));
        }
        !self.is_stopping()
    }

    fn change(&self, edit: impl FnOnce(&mut LiveNews)) {
        let mut news = self.news();
        edit(&mut news);
        news.revision += 1;
    }

    fn times(&self) -> MutexGuard<'_, (Instant, Option<Instant>)> {
        self.times
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs a training of `settings`, hearing and telling everything through the shared state, until
/// it ends or is stopped; an error is returned as sentences (the view shows them).
pub type LiveTrainer =
    Arc<dyn Fn(&LiveSettings, &LiveShared) -> Result<(), Sentences> + Send + Sync>;

/// A run going on: its thread and what it shares with the window.
pub struct LiveRun {
    /// What the run and the window share.
    pub shared: Arc<LiveShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LiveRun {
    /// Starts `trainer` on `settings` on a thread named "live-training".
    pub fn start(
        trainer: &LiveTrainer,
        settings: LiveSettings,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(LiveShared::new(wake));
        let (trainer, run_shared) = (Arc::clone(trainer), Arc::clone(&shared));
        let thread = std::thread::Builder::new()
            .name("live-training".into())
            .spawn(move || {
                if let Err(why) = trainer(&settings, &run_shared) {
                    run_shared.fail(why);
                }
                // Whatever happened, the window hears that the run is over.
                (run_shared.wake)();
            })?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Whether the run's thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread
            .as_ref()
            .is_none_or(std::thread::JoinHandle::is_finished)
    }
}

impl Drop for LiveRun {
    /// A run the window lets go of (a new run, the window closing) stops after its step.
    fn drop(&mut self) {
        self.shared.stop();
    }
}

/// The window's trainer: candle's training loop on the bundled digits, its files in a temporary
/// folder removed when the run ends.
pub fn candle_live_trainer() -> LiveTrainer {
    Arc::new(|settings, shared| {
        let data = load_bundled_digits().map_err(|e| Sentences::in_both(|l| e.sentence(l)))?;
        // A fresh folder of our own (never one already there, nor a link), removed with
        // everything the run wrote in it when the run ends or a signal ends the program.
        let folder = Temporary::folder_in(&std::env::temp_dir()).map_err(|e| {
            Sentences::in_both(|l| {
                let words = l.pick("The run could not start", "训练无法开始");
                format!("{words} ({e}).")
            })
        })?;
        let out = folder.path().join("live.safetensors");
        let config = settings.config();
        let result = train_watched(&config, &data, &out, false, &mut |report, averaged| {
            watch_step(shared, report, averaged)
        });
        drop(folder);
        result
            .map(|_| ())
            .map_err(|e| Sentences::in_both(|l| e.sentence(l)))
    })
}

/// After each step of the window's run: report it, save if asked, draw the grid when due, wait
/// while paused; `false` stops the run.
fn watch_step(shared: &LiveShared, report: StepReport, averaged: &Averaged<'_>) -> bool {
    shared.report(report);
    let save = |path: PathBuf| {
        let outcome = averaged
            .save(&path)
            .map(|()| path)
            .map_err(|e| Sentences::in_both(|l| e.sentence(l)));
        shared.saved(outcome);
    };
    if let Some(path) = shared.take_save() {
        save(path);
    }
    if shared.grid_due(report.step == report.steps) {
        match averaged.model().and_then(|model| watch_grid(&model)) {
            Ok(grid) => shared.publish_grid(report.step, grid),
            Err(error) => {
                shared.fail(Sentences::in_both(|l| error.sentence(l)));
                return false;
            }
        }
    }
    let go_on = shared.wait_while_paused(&save);
    if !go_on || report.step == report.steps {
        match averaged.checkpoint_bytes() {
            Ok(bytes) => shared.keep_checkpoint(bytes),
            Err(error) => shared.fail(Sentences::in_both(|l| error.sentence(l))),
        }
    }
    go_on
}

/// Writes a checkpoint's `bytes` at `path`, atomically.
pub fn write_checkpoint(path: &std::path::Path, bytes: &[u8]) -> Result<(), Sentences> {
    use std::io::Write as _;
    crate::export::atomic::write_atomically(path, |file| {
        file.write_all(bytes)
            .map_err(crate::export::atomic::WriteFailure::from)
    })
    .map_err(|e| Sentences::in_both(|l| e.sentence(l)))
}

/// The sentence for a save whose thread ended without an answer.
pub fn save_failed() -> Sentences {
    Sentences::in_both(|l| {
        l.pick("The model could not be saved.", "无法保存模型。")
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strip_spans_the_whole_run_evenly() {
        let shared = LiveShared::new(Arc::new(|| {}));
        for step in 1..=40 {
            shared.publish_grid(step, vec![0.0; 4]);
        }
        let news = shared.news();
        let steps: Vec<usize> = news.strip.iter().map(|(step, _)| *step).collect();
        assert!(steps.len() <= STRIP_LENGTH, "{steps:?}");
        assert_eq!(steps.first(), Some(&1));
        let gaps: Vec<usize> = steps.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == gaps[0]), "{steps:?}");
        assert!(steps.last().is_some_and(|&s| s > 30), "{steps:?}");
        assert_eq!(news.grid.as_ref().map(|(step, _)| *step), Some(40));
    }

    #[test]
    fn pause_waits_saves_answer_and_stop_ends_the_wait() {
        let shared = Arc::new(LiveShared::new(Arc::new(|| {})));
        shared.set_paused(true);
        shared.save_to(PathBuf::from("a"));
        let waiter = Arc::clone(&shared);
        let saved = Arc::new(Mutex::new(Vec::new()));
        let heard = Arc::clone(&saved);
        let thread = std::thread::Builder::new()
            .name("paused-run".into())
            .spawn(move || waiter.wait_while_paused(&|path| heard.lock().unwrap().push(path)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(150));
        shared.stop();
        assert!(!thread.join().unwrap(), "a stopped run does not go on");
        assert_eq!(*saved.lock().unwrap(), [PathBuf::from("a")]);
    }
}

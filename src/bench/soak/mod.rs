//! `diffuscope bench soak`: soak and storm. For a set time it drives the real background worker
//! with the shipped models through a seeded random schedule ([`plan`]): runs started and left to
//! finish, cancelled after a random delay, replaced by another run before they end, interrupted by
//! a model switch, storms of back-to-back starts, and exports of the last finished run (GIF, PNG,
//! run file, read back and deleted: [`exports`]) while the next one samples.
//!
//! It applies the events as the window does (only those of the run it shows) and checks every
//! promise of the worker as it goes ([`ledger`]); a run going without any event for the hang limit
//! stops the soak with a sentence. Resident memory is read every two seconds ([`memory`]); a line a
//! minute gives the counts and the memory, and the verdict at the end fails (non-zero exit) on any
//! broken promise or on growth after the warm-up beyond what [`memory`] allows.

pub mod exports;
pub mod ledger;
pub mod memory;
pub mod plan;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use self::exports::{ExportFigures, export_round_trip};
use self::ledger::Ledger;
use self::memory::{MemoryWatch, Reading, growth, min_max_now};
use self::plan::{Episode, EpisodeKind, ModelChoice, Planner, RunPlan};
use crate::i18n::Lang;
use crate::model::shipped_models;
use crate::sample::{ImageShape, starting_noise};
use crate::worker::{
    CandleLoader, Event, LoadId, ModelSource, Request, RunId, RunRecord, Worker, WorkerError,
    default_model_threads,
};

/// How often the resident memory is read.
const MEMORY_EVERY: Duration = Duration::from_secs(2);
/// How often a line of figures is printed.
const REPORT_EVERY: Duration = Duration::from_secs(60);
/// The longest wait for an event before the loop looks at the clock again.
const POLL: Duration = Duration::from_millis(100);

/// What `diffuscope bench soak` was asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SoakOptions {
    /// How long to keep starting episodes, in minutes.
    pub minutes: f64,
    /// The schedule's seed.
    pub seed: u64,
    /// How long a run (or model load) may go without any event before the soak calls it hung.
    pub hang_limit: Duration,
}

/// Runs the soak and prints its figures; `Err` is the failed verdict as one sentence.
pub fn soak(options: &SoakOptions) -> Result<(), String> {
    let started = Instant::now();
    let total = Duration::from_secs_f64(options.minutes.max(0.0) * 60.0);
    let watch = MemoryWatch::start(started, MEMORY_EVERY).ok_or(
        "the soak needs the process's resident memory, which cannot be read here (Linux only)",
    )?;
    let folder = tempfile::Builder::new()
        .prefix("diffuscope-soak-")
        .tempdir()
        .map_err(|e| format!("no temporary folder for the exports: {e}"))?;
    let worker = Worker::spawn(
        Box::new(CandleLoader::default()),
        default_model_threads(),
        Arc::new(|| {}),
    )
    .map_err(|e| e.sentence(Lang::En))?;
    println!(
        "diffuscope bench soak — {} min, seed {}, {} model thread(s), hang limit {} s, memory read every {} s",
        options.minutes,
        options.seed,
        default_model_threads(),
        options.hang_limit.as_secs(),
        MEMORY_EVERY.as_secs()
    );
    let Discovered {
        models,
        sizes,
        device,
        last_load,
    } = discover_models(&worker, options.hang_limit)?;
    let names: Vec<String> = models
        .iter()
        .map(|m| format!("{} ({})", m.name, m.objective))
        .collect();
    println!("models: {} on {device}\n", names.join(", "));

    let mut driver = Driver {
        worker: Some(worker),
        models: models.clone(),
        sizes,
        ledger: Ledger::default(),
        shown: None,
        last_finished: None,
        model: None,
        next_id: 1,
        last_load,
        export: None,
        exports: ExportTally::default(),
        stale: 0,
        last_activity: Instant::now(),
        started,
        next_report: REPORT_EVERY,
        hang_limit: options.hang_limit,
        folder: folder.path().to_path_buf(),
        watch: &watch,
        episodes: BTreeMap::new(),
    };
    let mut planner = Planner::new(options.seed, models);
    let mut outcome = Ok(());
    while started.elapsed() < total && outcome.is_ok() {
        outcome = driver.play(&planner.next_episode());
    }
    let outcome = outcome.and_then(|()| driver.drain());
    let elapsed = started.elapsed();
    if let Err(hang) = outcome {
        driver.ledger.problem(hang);
        // A hung worker would never be joined: let its handle go without waiting.
        std::mem::forget(driver.worker.take());
    } else {
        driver.worker.take();
    }
    driver.ledger.close();
    let readings = watch.readings();
    driver.summary(elapsed, &readings)
}

/// The shipped diffusion models, as the worker loaded them.
struct Discovered {
    /// The schedule's choices.
    models: Vec<ModelChoice>,
    /// Each model's image size, (height, width).
    sizes: Vec<ImageShape>,
    /// Where they run, and why.
    device: String,
    /// The number of the last model request (each model was let go once seen).
    last_load: LoadId,
}

/// Loads every shipped model once: the diffusion models become the schedule's choices, with their
/// image sizes; the others (the classifier) are named as skipped. Each is let go once seen.
fn discover_models(worker: &Worker, hang_limit: Duration) -> Result<Discovered, String> {
    let (mut models, mut sizes, mut device) = (Vec::new(), Vec::new(), String::new());
    let mut last_load = 0;
    for (id, (name, _)) in (1..).zip(shipped_models()) {
        last_load = id;
        let source = ModelSource::Shipped(name.clone());
        worker
            .send(Request::LoadModel { id, source })
            .map_err(|e| e.sentence(Lang::En))?;
        let event = loop {
            let event = worker
                .recv_timeout(hang_limit)
                .map_err(|e| format!("loading {name}: {}", e.sentence(Lang::En)))?;
            if matches!(event, Event::ModelLoaded { .. } | Event::ModelFailed { .. }) {
                break event;
            }
        };
        match event {
            Event::ModelLoaded { summary, .. } => {
                worker
                    .send(Request::ReleaseModel(id))
                    .map_err(|e| e.sentence(Lang::En))?;
                models.push(ModelChoice {
                    name,
                    objective: summary.objective,
                });
                sizes.push(summary.image_shape);
                device = summary.device.to_string();
            }
            Event::ModelFailed { error, .. } => {
                println!("{name} skipped: {}", error.sentence(Lang::En));
            }
            _ => {}
        }
    }
    if models.is_empty() {
        return Err(
            "no shipped diffusion model could be loaded, so there is nothing to soak".into(),
        );
    }
    Ok(Discovered {
        models,
        sizes,
        device,
        last_load,
    })
}

/// Exports done, and their totals.
#[derive(Default)]
struct ExportTally {
    done: usize,
    skipped: usize,
    bytes: u64,
    time: Duration,
}

/// The soak's state: the worker, what was asked, and what the "window" shows.
struct Driver<'w> {
    worker: Option<Worker>,
    models: Vec<ModelChoice>,
    sizes: Vec<ImageShape>,
    ledger: Ledger,
    /// The run shown, as the window records it from the events of its id only.
    shown: Option<(RunId, RunRecord)>,
    last_finished: Option<Arc<RunRecord>>,
    /// The model the next run will use (the last one asked for).
    model: Option<usize>,
    next_id: RunId,
    /// The number of the last model request.
    last_load: LoadId,
    export: Option<(u64, JoinHandle<Result<ExportFigures, String>>)>,
    exports: ExportTally,
    /// Events of runs no longer shown, dropped as the window drops them.
    stale: usize,
    /// The last event, or the last request that expects one.
    last_activity: Instant,
    started: Instant,
    next_report: Duration,
    hang_limit: Duration,
    folder: PathBuf,
    watch: &'w MemoryWatch,
    episodes: BTreeMap<&'static str, usize>,
}

impl Driver<'_> {
    /// Plays one episode; `Err` is a hang or a worker gone, as a sentence.
    fn play(&mut self, episode: &Episode) -> Result<(), String> {
        *self.episodes.entry(episode.name()).or_default() += 1;
        match &episode.kind {
            EpisodeKind::Finish(run) => {
                let id = self.start(run, true)?;
                self.maybe_export(episode);
                self.wait_for(id)
            }
            EpisodeKind::Cancel { run, after } => {
                let id = self.start(run, false)?;
                self.maybe_export(episode);
                self.pump_for(*after)?;
                // Sent even if the run has finished: the worker must ignore it.
                self.send(Request::Cancel(id))?;
                self.wait_for(id)
            }
            EpisodeKind::Restart {
                first,
                after,
                second,
            } => {
                self.start(first, false)?;
                self.maybe_export(episode);
                self.pump_for(*after)?;
                let id = self.start(second, true)?;
                self.wait_for(id)
            }
            EpisodeKind::Switch { run, after, next } => {
                self.start(run, false)?;
                self.maybe_export(episode);
                self.pump_for(*after)?;
                self.ensure_model(next.model)?;
                let id = self.start(next, true)?;
                self.wait_for(id)
            }
            EpisodeKind::Storm(runs) => {
                let mut last = None;
                for (index, (run, cancel)) in runs.iter().enumerate() {
                    let id = self.start(run, index + 1 == runs.len())?;
                    if index == 0 {
                        self.maybe_export(episode);
                    }
                    if *cancel {
                        self.send(Request::Cancel(id))?;
                    }
                    last = Some(id);
                }
                last.map_or(Ok(()), |id| self.wait_for(id))
            }
        }
    }

    /// Asks for `plan`'s model if it is not the one the next run would use.
    fn ensure_model(&mut self, model: usize) -> Result<(), String> {
        if self.model == Some(model) {
            return Ok(());
        }
        let name = self
            .models
            .get(model)
            .map(|m| m.name.clone())
            .unwrap_or_default();
        // The runs still going keep the model they started with.
        if self.model.is_some() {
            self.send(Request::ReleaseModel(self.last_load))?;
        }
        self.last_load += 1;
        let (id, source) = (self.last_load, ModelSource::Shipped(name.clone()));
        self.send(Request::LoadModel { id, source })?;
        self.ledger.load_sent(name);
        self.model = Some(model);
        Ok(())
    }

    /// Starts `plan` (loading its model first if needed) and shows it, as Generate does.
    fn start(&mut self, plan: &RunPlan, must_finish: bool) -> Result<RunId, String> {
        self.ensure_model(plan.model)?;
        let id = self.next_id;
        self.next_id += 1;
        let settings = plan.settings.clone();
        let size = self
            .sizes
            .get(plan.model)
            .copied()
            .unwrap_or(ImageShape::grey(28, 28));
        let (batch, pixels) = (settings.labels.len(), size.values());
        let name = self
            .models
            .get(plan.model)
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let mut record = RunRecord::new(name, settings.clone(), size);
        record.start = starting_noise(batch, pixels, settings.seed);
        // As Generate does, the run shown before is stopped (a run that has ended ignores it).
        if let Some((shown, _)) = &self.shown {
            let shown = *shown;
            self.send(Request::Cancel(shown))?;
        }
        let model = self.last_load;
        self.send(Request::Start {
            id,
            model,
            settings,
        })?;
        let describe = plan.describe(&self.models);
        self.ledger
            .started(id, batch, pixels, describe, must_finish);
        self.shown = Some((id, record));
        Ok(id)
    }

    fn send(&mut self, request: Request) -> Result<(), String> {
        let worker = self.worker.as_ref().ok_or("the worker has gone")?;
        worker.send(request).map_err(|e| {
            format!(
                "a request did not reach the worker: {}",
                e.sentence(Lang::En)
            )
        })?;
        self.last_activity = Instant::now();
        Ok(())
    }

    /// Starts an export of the last finished run on a thread of its own, if the episode asks for
    /// one and none is going (else counts it as skipped).
    fn maybe_export(&mut self, episode: &Episode) {
        if !episode.export {
            return;
        }
        let Some(record) = self.last_finished.clone() else {
            return;
        };
        if self.export.is_some() {
            self.exports.skipped += 1;
            return;
        }
        let n = (self.exports.done + self.exports.skipped) as u64 + 1;
        let folder = self.folder.clone();
        let spawned = std::thread::Builder::new()
            .name("diffuscope-soak-export".into())
            .spawn(move || export_round_trip(&record, &folder, n));
        match spawned {
            Ok(handle) => self.export = Some((n, handle)),
            Err(e) => self.ledger.problem(format!("no thread for an export: {e}")),
        }
    }

    /// Takes the export's result once it is done (or waits for it when `wait`).
    fn collect_export(&mut self, wait: bool) {
        let done = self.export.as_ref().is_some_and(|(_, h)| h.is_finished());
        if !(done || wait) {
            return;
        }
        let Some((n, handle)) = self.export.take() else {
            return;
        };
        match handle.join() {
            Ok(Ok(figures)) => {
                self.exports.done += 1;
                self.exports.bytes += figures.bytes;
                self.exports.time += figures.elapsed;
            }
            Ok(Err(sentence)) => self.ledger.problem(format!("export {n}: {sentence}")),
            Err(_) => self.ledger.problem(format!("export {n} crashed")),
        }
    }

    fn pump_for(&mut self, wait: Duration) -> Result<(), String> {
        let until = Instant::now() + wait;
        self.pump(|_| false, Some(until))
    }

    fn wait_for(&mut self, id: RunId) -> Result<(), String> {
        self.pump(|d| !d.ledger.is_open(id), None)
    }

    /// Waits for every run and load to end and for the export going, then stops.
    fn drain(&mut self) -> Result<(), String> {
        self.pump(
            |d| d.ledger.open_runs().is_empty() && !d.ledger.loading(),
            None,
        )?;
        self.collect_export(true);
        Ok(())
    }

    /// Reads and applies events until `done` or `until`; fails on a hang or a worker gone.
    fn pump(&mut self, done: impl Fn(&Self) -> bool, until: Option<Instant>) -> Result<(), String> {
        loop {
            self.collect_export(false);
            self.report_if_due();
            let now = Instant::now();
            if done(self) || until.is_some_and(|u| now >= u) {
                return Ok(());
            }
            let wait = until.map_or(POLL, |u| (u - now).min(POLL));
            let worker = self.worker.as_ref().ok_or("the worker has gone")?;
            match worker.recv_timeout(wait) {
                Ok(event) => {
                    self.last_activity = Instant::now();
                    self.ledger.observe(&event);
                    self.apply(event);
                }
                Err(WorkerError::Timeout) => self.check_hang()?,
                Err(error) => {
                    return Err(format!("the worker stopped: {}", error.sentence(Lang::En)));
                }
            }
        }
    }

    /// A hang: something is awaited and no event came for the hang limit.
    fn check_hang(&self) -> Result<(), String> {
        let quiet = self.last_activity.elapsed();
        if quiet < self.hang_limit {
            return Ok(());
        }
        let open = self.ledger.open_runs();
        let waiting = match open.first() {
            Some((id, describe)) => format!("run {id} ({describe}) was going"),
            None if self.ledger.loading() => "a model was loading".to_owned(),
            None => return Ok(()),
        };
        Err(format!(
            "no event came for {} s while {waiting}, {}: the worker seems to hang",
            quiet.as_secs(),
            clock(self.started.elapsed())
        ))
    }

    /// Applies an event as the window does: only events of the run shown change what is shown.
    fn apply(&mut self, event: Event) {
        let Some(id) = event.run_id() else {
            return;
        };
        let Some((shown, record)) = &mut self.shown else {
            self.stale += 1;
            return;
        };
        if *shown != id {
            self.stale += 1;
            return;
        }
        match event {
            Event::Frame { frame, .. } => record.frames.push(Arc::from(frame)),
            Event::Progress {
                network_calls,
                elapsed,
                ..
            } => {
                record.network_calls = network_calls;
                record.elapsed = Some(elapsed);
            }
            Event::Finished {
                samples,
                network_calls,
                elapsed,
                ..
            } => {
                record.samples = Some(samples);
                record.network_calls = network_calls;
                record.elapsed = Some(elapsed);
                if let Some((id, record)) = self.shown.take() {
                    if let Err(problem) = check_record(&record) {
                        self.ledger.problem(format!("run {id}: {problem}"));
                    }
                    self.last_finished = Some(Arc::new(record));
                }
            }
            Event::Cancelled { .. } | Event::Failed { .. } => self.shown = None,
            Event::ModelLoaded { .. } | Event::ModelFailed { .. } => {}
        }
    }

    /// Prints the line of the minute, if one is due.
    fn report_if_due(&mut self) {
        let elapsed = self.started.elapsed();
        if elapsed < self.next_report {
            return;
        }
        self.next_report += REPORT_EVERY;
        let counts = self.ledger.counts();
        println!(
            "{:>6}  runs {} started, {} finished, {} cancelled, {} failed · {} loads · {} exports · RSS {} · {} problems",
            clock(elapsed),
            counts.started,
            counts.finished,
            counts.cancelled,
            counts.failed,
            counts.loads,
            self.exports.done,
            memory_line(&self.watch.readings()),
            self.ledger.problems().len()
        );
    }

    /// The closing figures and the verdict.
    fn summary(&self, elapsed: Duration, readings: &[Reading]) -> Result<(), String> {
        let counts = self.ledger.counts();
        let episodes: Vec<String> = self
            .episodes
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        println!(
            "\nsoak: {} — {} episodes ({}); {} runs: {} finished, {} cancelled, {} failed; {} frames ({} of runs no longer shown, dropped); {} model loads",
            clock(elapsed),
            self.episodes.values().sum::<usize>(),
            episodes.join(", "),
            counts.started,
            counts.finished,
            counts.cancelled,
            counts.failed,
            counts.frames,
            self.stale,
            counts.loads
        );
        println!(
            "exports: {} (GIF + PNG + run file each, read back and deleted; {:.1} MB written in {:.1} s), {} skipped while one was going",
            self.exports.done,
            self.exports.bytes as f64 / 1e6,
            self.exports.time.as_secs_f64(),
            self.exports.skipped
        );
        println!("memory: {}", memory_line(readings));
        let growth = growth(readings, elapsed.as_secs_f64());
        let memory_ok = match growth {
            Some(g) => {
                let window = clock(elapsed.mul_f64(memory::WARM_UP_SHARE));
                println!(
                    "memory after the warm-up: peak {} in the first {window}, {} in the last {window}: +{} (allowed +{}); slope after the warm-up {:+.2} MB/min over {} readings",
                    mb(g.warm_up_peak),
                    mb(g.final_peak),
                    mb(g.grown()),
                    mb(g.allowed),
                    g.slope_per_minute / 1e6,
                    readings.len()
                );
                g.passed()
            }
            None => {
                println!("memory after the warm-up: too few readings for a verdict");
                true
            }
        };
        let problems = self.ledger.problems();
        for problem in problems.iter().take(20) {
            println!("problem: {problem}");
        }
        if problems.len() > 20 {
            println!("… and {} more problems", problems.len() - 20);
        }
        match (problems.first(), memory_ok) {
            (None, true) => {
                println!("verdict: PASS — every run ended once, nothing hung, memory did not grow");
                Ok(())
            }
            (Some(first), _) => Err(format!(
                "the soak failed: {} broken promise(s); the first: {first}",
                problems.len()
            )),
            (None, false) => Err(growth.map_or_else(String::new, |g| {
                format!(
                    "the soak failed: resident memory grew {} after the warm-up, more than the {} allowed",
                    mb(g.grown()),
                    mb(g.allowed)
                )
            })),
        }
    }
}

/// Whether a finished record holds only its own run: every frame in step order, of its batch,
/// and all the steps.
fn check_record(record: &RunRecord) -> Result<(), String> {
    let batch = record.batch();
    let steps = record.frames.first().map_or(0, |f| f.steps);
    let in_order = record
        .frames
        .iter()
        .enumerate()
        .all(|(i, f)| f.step == i && f.batch == batch && f.steps == steps);
    let pixels = record.image_shape.values();
    let samples = record.samples.as_ref().map_or(0, Vec::len);
    if in_order && record.frames.len() == steps && samples == batch * pixels {
        Ok(())
    } else {
        Err(format!(
            "the record shown holds {} frames of {steps} steps, not in order or not all of its own batch of {batch}",
            record.frames.len()
        ))
    }
}

/// "180 MB now, 150–210 MB".
fn memory_line(readings: &[Reading]) -> String {
    min_max_now(readings).map_or_else(
        || "unknown".to_owned(),
        |(min, max, now)| format!("{} now, {:.0}–{}", mb(now), min as f64 / 1e6, mb(max)),
    )
}

/// Bytes in MB (a million bytes), no decimals.
fn mb(bytes: usize) -> String {
    format!("{:.0} MB", bytes as f64 / 1e6)
}

/// "12:05" (minutes and seconds).
fn clock(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    format!("{}:{:02}", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
    use crate::worker::{Frame, RunSettings};

    #[test]
    fn a_record_holding_a_frame_of_another_run_is_caught() {
        let settings = RunSettings {
            sampler: SamplerSpec::new(SamplerKind::Ddim, 3),
            seed: 1,
            labels: vec![None; 4],
            guidance: 0.0,
        };
        let mut record = RunRecord::new("digits-eps".into(), settings, ImageShape::grey(2, 2));
        let frame = |step: usize, batch: usize| Arc::new(Frame::zeros(step, 3, batch));
        record.frames = vec![frame(0, 4), frame(1, 4), frame(2, 4)];
        record.samples = Some(vec![0.0; 16]);
        assert_eq!(check_record(&record), Ok(()));
        record.frames[1] = frame(1, 16);
        assert!(
            check_record(&record).is_err(),
            "a frame of 16 images in a run of 4"
        );
        record.frames[1] = frame(1, 4);
        record.frames.pop();
        assert!(check_record(&record).is_err(), "a step missing");
    }

    #[test]
    fn clock_reads_minutes_and_seconds() {
        assert_eq!(clock(Duration::from_secs(65)), "1:05");
        assert_eq!(clock(Duration::from_secs(1800)), "30:00");
    }
}

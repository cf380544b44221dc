//! The soak's bookkeeping of the worker's promises, checked on every event: each run started ends
//! with exactly one of finished / cancelled / failed, nothing comes for a run after its end or for a
//! run never started, runs' events never interleave (a run's events all come before the next
//! run's), each frame fits its own run (batch, image size, the next step in order), and each model
//! load is answered once, in order. A broken promise becomes a sentence in [`Ledger::problems`].

use std::collections::{BTreeMap, VecDeque};

use crate::i18n::Lang;
use crate::worker::{Event, RunId};

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It reached the images.
    Finished,
    /// It was stopped.
    Cancelled,
    /// It failed.
    Failed,
}

/// What the ledger knows of one run.
#[derive(Clone, Debug)]
struct Tracked {
    batch: usize,
    pixels: usize,
    describe: String,
    must_finish: bool,
    frames: usize,
    steps: Option<usize>,
    outcome: Option<Outcome>,
}

/// Running totals, for the per-minute lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Runs started.
    pub started: usize,
    /// Runs finished.
    pub finished: usize,
    /// Runs cancelled (on request, or replaced by another run or model).
    pub cancelled: usize,
    /// Runs failed.
    pub failed: usize,
    /// Models loaded.
    pub loads: usize,
    /// Frames received.
    pub frames: usize,
}

/// Every run and model load asked for, and what came back.
#[derive(Default)]
pub struct Ledger {
    runs: BTreeMap<RunId, Tracked>,
    loads: VecDeque<String>,
    latest_run_seen: Option<RunId>,
    problems: Vec<String>,
    counts: Counts,
}

impl Ledger {
    /// Run `id` was asked for: `batch` images of `pixels` each; `must_finish` when nothing will
    /// stop it (no cancel, no later run or model before its end).
    pub fn started(
        &mut self,
        id: RunId,
        batch: usize,
        pixels: usize,
        describe: String,
        must_finish: bool,
    ) {
        if self.runs.keys().next_back().is_some_and(|&last| last >= id) {
            self.problem(format!(
                "run {id} was started after a run with a larger number"
            ));
        }
        self.counts.started += 1;
        self.runs.insert(
            id,
            Tracked {
                batch,
                pixels,
                describe,
                must_finish,
                frames: 0,
                steps: None,
                outcome: None,
            },
        );
    }

    /// A model load was asked for, by label.
    pub fn load_sent(&mut self, label: String) {
        self.loads.push_back(label);
    }

    /// Checks one event against what was asked and what came before.
    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::ModelLoaded { summary, .. } => {
                self.counts.loads += 1;
                self.load_answered(&summary.source.label(), None);
            }
            Event::ModelFailed { source, error, .. } => {
                let sentence = error.sentence(Lang::En);
                self.load_answered(&source.label(), Some(sentence));
            }
            _ => {
                if let Some(id) = event.run_id() {
                    self.observe_run(id, event);
                }
            }
        }
    }

    fn load_answered(&mut self, label: &str, failure: Option<String>) {
        match self.loads.pop_front() {
            None => self.problem(format!(
                "the worker answered a load of {label} nobody asked for"
            )),
            Some(asked) if asked != label => self.problem(format!(
                "the worker answered a load of {label} where {asked} was asked for next"
            )),
            Some(_) => {}
        }
        if let Some(sentence) = failure {
            self.problem(format!("the model {label} did not load: {sentence}"));
        }
    }

    fn observe_run(&mut self, id: RunId, event: &Event) {
        if let Some(latest) = self.latest_run_seen
            && id < latest
        {
            self.problem(format!(
                "an event of run {id} came after events of run {latest}"
            ));
        }
        self.latest_run_seen = Some(self.latest_run_seen.map_or(id, |l| l.max(id)));
        let Some(run) = self.runs.get(&id).cloned() else {
            self.problem(format!(
                "an event came for run {id}, which was never started"
            ));
            return;
        };
        if let Some(outcome) = run.outcome {
            self.problem(format!(
                "run {id} ({}) sent {} after it had ended ({outcome:?})",
                run.describe,
                event_name(event)
            ));
            return;
        }
        let (updated, problem) = check_run_event(id, run, event, &mut self.counts);
        if let Some(problem) = problem {
            self.problem(problem);
        }
        self.runs.insert(id, updated);
    }

    /// Whether run `id` was started and has not ended.
    pub fn is_open(&self, id: RunId) -> bool {
        self.runs.get(&id).is_some_and(|r| r.outcome.is_none())
    }

    /// How run `id` ended, if it has.
    pub fn outcome(&self, id: RunId) -> Option<Outcome> {
        self.runs.get(&id)?.outcome
    }

    /// The runs started that have not ended, with their descriptions.
    pub fn open_runs(&self) -> Vec<(RunId, &str)> {
        self.runs
            .iter()
            .filter(|(_, r)| r.outcome.is_none())
            .map(|(&id, r)| (id, r.describe.as_str()))
            .collect()
    }

    /// Whether any model load waits for its answer.
    pub fn loading(&self) -> bool {
        !self.loads.is_empty()
    }

    /// The totals so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Records a problem found outside the events (an export, a hang).
    pub fn problem(&mut self, sentence: String) {
        self.problems.push(sentence);
    }

    /// Every broken promise so far, in order.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// At the end: every run must have ended and every load must have been answered.
    pub fn close(&mut self) {
        let open: Vec<String> = self
            .open_runs()
            .into_iter()
            .map(|(id, describe)| format!("run {id} ({describe}) never ended"))
            .collect();
        self.problems.extend(open);
        if let Some(label) = self.loads.front() {
            let label = label.clone();
            self.problem(format!("the load of {label} was never answered"));
        }
    }
}

/// Checks `event` of open run `id` against `run`; returns the run updated and the problem found.
fn check_run_event(
    id: RunId,
    mut run: Tracked,
    event: &Event,
    counts: &mut Counts,
) -> (Tracked, Option<String>) {
    let values = run.batch * run.pixels;
    let problem = match event {
        Event::Frame { frame, .. } => {
            counts.frames += 1;
            let steps = *run.steps.get_or_insert(frame.steps);
            let fits = frame.step == run.frames
                && frame.steps == steps
                && frame.batch == run.batch
                && frame.x_t.len() == values
                && frame.x0.len() == values
                && frame.eps.len() == values;
            run.frames += 1;
            (!fits).then(|| {
                format!(
                    "run {id} ({}): frame {}/{} of {} images ({} values) does not follow frame {} of {steps} with {} images",
                    run.describe,
                    frame.step + 1,
                    frame.steps,
                    frame.batch,
                    frame.x_t.len(),
                    run.frames - 1,
                    run.batch
                )
            })
        }
        Event::Progress { done, total, .. } => (*done != run.frames || Some(*total) != run.steps)
            .then(|| {
                format!(
                    "run {id} ({}): progress {done}/{total} after {} frames",
                    run.describe, run.frames
                )
            }),
        Event::Finished { samples, .. } => {
            counts.finished += 1;
            run.outcome = Some(Outcome::Finished);
            (samples.len() != values || Some(run.frames) != run.steps).then(|| {
                format!(
                    "run {id} ({}) finished with {} values after {} frames",
                    run.describe,
                    samples.len(),
                    run.frames
                )
            })
        }
        Event::Cancelled { step, .. } => {
            counts.cancelled += 1;
            run.outcome = Some(Outcome::Cancelled);
            let step_fits = run.frames == step + 1 || (run.frames == 0 && *step == 0);
            if run.must_finish {
                Some(format!(
                    "run {id} ({}) was cancelled though nothing asked it to stop",
                    run.describe
                ))
            } else {
                (!step_fits).then(|| {
                    format!(
                        "run {id} ({}) was cancelled at step {step} after {} frames",
                        run.describe, run.frames
                    )
                })
            }
        }
        Event::Failed { error, .. } => {
            counts.failed += 1;
            run.outcome = Some(Outcome::Failed);
            Some(format!(
                "run {id} ({}) failed: {}",
                run.describe,
                error.sentence(Lang::En)
            ))
        }
        Event::ModelLoaded { .. } | Event::ModelFailed { .. } => None,
    };
    (run, problem)
}

/// An event's kind in words.
fn event_name(event: &Event) -> &'static str {
    match event {
        Event::ModelLoaded { .. } => "a model",
        Event::ModelFailed { .. } => "a model failure",
        Event::Frame { .. } => "a frame",
        Event::Progress { .. } => "progress",
        Event::Finished { .. } => "its images",
        Event::Cancelled { .. } => "a cancellation",
        Event::Failed { .. } => "a failure",
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::worker::Frame;

    /// Pixels of an image of [`Frame::zeros`].
    const PIXELS: usize = 4;

    fn frame(id: RunId, step: usize, steps: usize, batch: usize) -> Event {
        Event::Frame {
            id,
            frame: Box::new(Frame::zeros(step, steps, batch)),
        }
    }

    fn progress(id: RunId, done: usize, total: usize) -> Event {
        Event::Progress {
            id,
            done,
            total,
            network_calls: done,
            elapsed: Duration::ZERO,
        }
    }

    fn finished(id: RunId, batch: usize) -> Event {
        Event::Finished {
            id,
            samples: vec![0.0; batch * PIXELS],
            network_calls: 2,
            elapsed: Duration::ZERO,
        }
    }

    fn ledger_with(runs: &[(RunId, usize, bool)]) -> Ledger {
        let mut ledger = Ledger::default();
        for &(id, batch, must_finish) in runs {
            ledger.started(id, batch, PIXELS, format!("run {id}"), must_finish);
        }
        ledger
    }

    #[test]
    fn a_run_that_streams_in_order_and_ends_once_is_fine() {
        let mut ledger = ledger_with(&[(1, 4, true), (2, 1, false)]);
        for event in [
            frame(1, 0, 2, 4),
            progress(1, 1, 2),
            frame(1, 1, 2, 4),
            progress(1, 2, 2),
            finished(1, 4),
            Event::Cancelled { id: 2, step: 0 },
        ] {
            ledger.observe(&event);
        }
        ledger.close();
        assert_eq!(ledger.problems(), &[] as &[String]);
        assert_eq!(ledger.outcome(1), Some(Outcome::Finished));
        assert_eq!(ledger.outcome(2), Some(Outcome::Cancelled));
        let counts = ledger.counts();
        assert_eq!(
            (counts.started, counts.finished, counts.cancelled),
            (2, 1, 1)
        );
    }

    #[test]
    fn a_second_end_a_stranger_and_a_late_event_are_problems() {
        let mut ledger = ledger_with(&[(1, 1, false), (2, 1, false)]);
        ledger.observe(&Event::Cancelled { id: 1, step: 0 });
        ledger.observe(&Event::Cancelled { id: 1, step: 0 });
        ledger.observe(&frame(9, 0, 2, 1));
        ledger.observe(&frame(2, 0, 2, 1));
        ledger.observe(&frame(1, 0, 2, 1));
        let problems = ledger.problems().join("\n");
        assert!(
            problems.contains("run 1 (run 1) sent a cancellation after it had ended"),
            "{problems}"
        );
        assert!(
            problems.contains("run 9, which was never started"),
            "{problems}"
        );
        assert!(
            problems.contains("an event of run 1 came after events of run 9"),
            "{problems}"
        );
    }

    #[test]
    fn a_frame_of_another_run_is_caught_by_its_shape() {
        // Run 2 has 4 images; a frame of 16 images (or a skipped step) cannot be its own.
        let mut ledger = ledger_with(&[(2, 4, false)]);
        ledger.observe(&frame(2, 0, 5, 4));
        ledger.observe(&frame(2, 1, 5, 16));
        ledger.observe(&frame(2, 3, 5, 4));
        assert_eq!(ledger.problems().len(), 2, "{:?}", ledger.problems());
    }

    #[test]
    fn runs_that_never_end_loads_never_answered_and_unwanted_cancels_are_problems() {
        let mut ledger = ledger_with(&[(1, 1, true), (2, 1, false)]);
        ledger.load_sent("digits-eps".into());
        ledger.observe(&frame(1, 0, 3, 1));
        ledger.observe(&Event::Cancelled { id: 1, step: 0 });
        assert!(ledger.is_open(2));
        ledger.close();
        let problems = ledger.problems().join("\n");
        assert!(problems.contains("nothing asked it to stop"), "{problems}");
        assert!(problems.contains("run 2 (run 2) never ended"), "{problems}");
        assert!(
            problems.contains("the load of digits-eps was never answered"),
            "{problems}"
        );
    }

    #[test]
    fn a_cancel_must_name_the_last_step_sent() {
        let mut ledger = ledger_with(&[(1, 1, false)]);
        ledger.observe(&frame(1, 0, 9, 1));
        ledger.observe(&frame(1, 1, 9, 1));
        ledger.observe(&Event::Cancelled { id: 1, step: 4 });
        assert_eq!(ledger.problems().len(), 1);
        let mut fine = ledger_with(&[(1, 1, false)]);
        fine.observe(&frame(1, 0, 9, 1));
        fine.observe(&frame(1, 1, 9, 1));
        fine.observe(&Event::Cancelled { id: 1, step: 1 });
        assert_eq!(fine.problems(), &[] as &[String]);
    }
}

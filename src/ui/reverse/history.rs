//! The runs kept besides the one on screen, so Generate never throws away the last run: the
//! newest first, within a memory budget (a 1000-step guided run of 64 digits keeps ~0.5 GB, so
//! runs are counted in bytes, not in number). The oldest go first, and the view says which.

use crate::i18n::Lang;
use crate::worker::RunRecord;

/// Bytes the kept runs may hold together, the one on screen included: 1.5 GB.
pub const HISTORY_BUDGET_BYTES: usize = 1_500_000_000;
/// The most runs kept besides the one on screen (a list longer than this is hard to read).
pub const MAX_KEPT_RUNS: usize = 12;

/// A run kept, with the number the view gives it ("run 3").
#[derive(Clone, Debug)]
pub struct KeptRun {
    /// The run's number in this session.
    pub number: u64,
    /// Everything recorded of it.
    pub record: RunRecord,
    /// Bytes it keeps in memory (it no longer changes once kept).
    bytes: usize,
}

impl KeptRun {
    /// Bytes it keeps in memory.
    pub fn memory_bytes(&self) -> usize {
        self.bytes
    }
}

/// "run 3" / "运行 3", and the file it was opened from.
pub fn run_title(number: u64, record: &RunRecord, lang: Lang) -> String {
    let title = format!("{} {number}", lang.pick("run", "运行"));
    match &record.opened_from {
        Some(file) => format!("{title} ({file})"),
        None => title,
    }
}

/// Bytes a run keeps in memory: its frames, finished images and starting noise.
pub fn run_bytes(record: &RunRecord) -> usize {
    record.memory_bytes() + record.start.len() * size_of::<f32>()
}

/// The runs kept besides the one on screen, newest first.
#[derive(Debug)]
pub struct RunHistory {
    runs: Vec<KeptRun>,
    budget_bytes: usize,
}

impl Default for RunHistory {
    fn default() -> Self {
        Self::with_budget(HISTORY_BUDGET_BYTES)
    }
}

impl RunHistory {
    /// An empty history holding at most `budget_bytes` (with the run on screen).
    pub fn with_budget(budget_bytes: usize) -> Self {
        Self {
            runs: Vec::new(),
            budget_bytes,
        }
    }

    /// The bytes the kept runs and the one on screen may hold together.
    pub fn budget_bytes(&self) -> usize {
        self.budget_bytes
    }

    /// The kept runs, newest first.
    pub fn runs(&self) -> &[KeptRun] {
        &self.runs
    }

    /// Bytes the kept runs hold (the one on screen not counted).
    pub fn memory_bytes(&self) -> usize {
        self.runs.iter().map(KeptRun::memory_bytes).sum()
    }

    /// Keeps run `number` (a run with nothing recorded is not worth keeping).
    pub fn keep(&mut self, number: u64, record: RunRecord) {
        if record.frames.is_empty() && record.samples.is_none() {
            return;
        }
        let run = KeptRun {
            number,
            bytes: run_bytes(&record),
            record,
        };
        let at = self
            .runs
            .iter()
            .position(|kept| kept.number < run.number)
            .unwrap_or(self.runs.len());
        self.runs.insert(at, run);
    }

    /// Takes run `number` out of the history.
    pub fn take(&mut self, number: u64) -> Option<KeptRun> {
        let at = self.runs.iter().position(|run| run.number == number)?;
        Some(self.runs.remove(at))
    }

    /// Lets the oldest runs go until the rest and the run on screen (`shown_bytes`) fit the
    /// budget and the list is short enough; returns the runs let go, oldest last.
    pub fn enforce(&mut self, shown_bytes: usize) -> Vec<KeptRun> {
        let mut dropped = Vec::new();
        while self.memory_bytes() + shown_bytes > self.budget_bytes
            || self.runs.len() > MAX_KEPT_RUNS
        {
            let Some(oldest) = self.runs.pop() else {
                break;
            };
            dropped.push(oldest);
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
    use crate::sample::ImageShape;
    use crate::worker::RunSettings;

    fn run(samples: usize) -> RunRecord {
        let settings = RunSettings {
            sampler: SamplerSpec::new(SamplerKind::Ddim, 10),
            seed: 1,
            labels: vec![None; 1],
            guidance: 0.0,
        };
        let mut record = RunRecord::new("fake".into(), settings, ImageShape::grey(10, 10));
        record.samples = Some(vec![0.0; samples]);
        record
    }

    #[test]
    fn the_oldest_runs_go_first_when_bytes_run_out() {
        // Each run holds 1000 bytes of samples.
        let mut history = RunHistory::with_budget(3500);
        for number in [1, 3, 2] {
            history.keep(number, run(250));
        }
        let order: Vec<u64> = history.runs().iter().map(|r| r.number).collect();
        assert_eq!(order, [3, 2, 1]);
        assert!(history.enforce(500).is_empty());
        // The run on screen grows: the oldest kept run goes, then the next.
        let dropped: Vec<u64> = history.enforce(1500).iter().map(|r| r.number).collect();
        assert_eq!(dropped, [1]);
        let dropped: Vec<u64> = history.enforce(3000).iter().map(|r| r.number).collect();
        assert_eq!(dropped, [2, 3]);
        assert!(history.runs().is_empty());
    }

    #[test]
    fn the_list_stays_short_and_empty_runs_are_not_kept() {
        let mut history = RunHistory::with_budget(usize::MAX);
        let mut empty = run(0);
        empty.samples = None;
        history.keep(0, empty);
        assert!(history.runs().is_empty());
        for number in 1..=20 {
            history.keep(number, run(1));
        }
        assert_eq!(history.enforce(0).len(), 20 - MAX_KEPT_RUNS);
        assert_eq!(history.runs()[0].number, 20);
        assert!(history.take(20).is_some() && history.take(20).is_none());
    }
}

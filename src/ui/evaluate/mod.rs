//! The Evaluate view, the evaluation lab: quality against the number of steps, measured live.
//! For each chosen sampler and step count a few hundred digits are made and measured against the
//! real digits (FID, KID, precision, recall, agreement with the asked digit), beside the
//! real-vs-real floor, on a background job with progress and Cancel. Results are kept per
//! (model, sampler, steps, guidance, samples, seed), so a chart seen once reappears at once.
//!
//! The job is [`crate::quality::session`]; `view` draws the choices, the charts and the table.

mod view;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use eframe::egui;
use serde::{Deserialize, Serialize};

use super::jobs::{Job, Poll, job_not_started};
use super::message::Message;
use super::views::{KeyHelp, View, ViewSetup, read_settings_slide, settings_slide};
use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::i18n::Lang;
use crate::quality::lab::{LEAST_SAMPLES, PointResult, PointSpec};
use crate::quality::report::{QualityReport, Reference};
use crate::quality::session::{
    LabOutcome, LabProgress, LabRequest, ModelOpener, candle_opener, run_lab,
};

/// The step counts offered.
pub const STEP_CHOICES: [usize; 7] = [4, 8, 16, 32, 64, 128, 1000];

/// What the teacher chose, remembered between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvaluateSettings {
    /// The shipped model measured.
    pub model: String,
    /// The samplers, by command-line name.
    pub samplers: Vec<String>,
    /// The step counts.
    pub steps: Vec<usize>,
    /// Digits made per point.
    pub samples: usize,
    /// Guidance w (0: unconditional).
    pub guidance: f32,
    /// The first seed.
    pub seed: u64,
    /// Seeds per point (seed, seed + 1, …).
    pub repeats: u64,
}

impl Default for EvaluateSettings {
    fn default() -> Self {
        Self {
            model: "digits-eps".into(),
            samplers: vec!["ddim".into(), "dpm++2m".into()],
            steps: vec![4, 8, 16, 32],
            samples: 100,
            guidance: 3.0,
            seed: 1,
            repeats: 1,
        }
    }
}

impl EvaluateSettings {
    /// These settings brought into what the view offers: remembered settings and lessons are files
    /// someone may have edited, and a million samples a point would fill the memory. Samples
    /// [10–5000] (as `eval --samples`), steps [1–1000], w [0–10] (NaN: the default), seeds [1–5].
    #[must_use]
    pub fn within_offered(mut self) -> Self {
        self.samples = self.samples.clamp(LEAST_SAMPLES, 5_000);
        self.steps.retain(|steps| (1..=1_000).contains(steps));
        self.guidance = if self.guidance.is_finite() {
            self.guidance.clamp(0.0, 10.0)
        } else {
            Self::default().guidance
        };
        self.repeats = self.repeats.clamp(1, 5);
        self
    }

    /// The samplers chosen, in menu order.
    pub fn sampler_kinds(&self) -> Vec<SamplerKind> {
        SamplerKind::ALL
            .into_iter()
            .filter(|kind| self.samplers.iter().any(|name| name == kind.cli_name()))
            .collect()
    }

    /// Every point the settings ask for, sampler by sampler.
    pub fn points(&self) -> Vec<(SamplerKind, PointSpec)> {
        let mut points = Vec::new();
        for kind in self.sampler_kinds() {
            for &steps in &self.steps {
                for repeat in 0..self.repeats.max(1) {
                    points.push((
                        kind,
                        PointSpec {
                            sampler: SamplerSpec::new(kind, steps),
                            samples: self.samples,
                            guidance: self.guidance,
                            seed: self.seed.wrapping_add(repeat),
                        },
                    ));
                }
            }
        }
        points
    }

    /// The key of a point of these settings in the kept results.
    fn key(&self, kind: SamplerKind, spec: &PointSpec) -> PointKey {
        (
            self.model.clone(),
            kind.cli_name().to_owned(),
            spec.sampler.steps,
            spec.guidance.to_bits(),
            spec.samples,
            spec.seed,
        )
    }
}

/// (model, sampler, steps, guidance's bits, samples, seed).
pub type PointKey = (String, String, usize, u32, usize, u64);

/// A running measurement.
struct Running {
    job: Job<LabOutcome>,
    progress: Arc<LabProgress>,
    /// The points it measures, by key, and how many samples in all.
    keys: Vec<PointKey>,
    total_samples: usize,
}

/// Everything the Evaluate view owns.
pub struct EvaluateView {
    /// The teacher's choices.
    pub settings: EvaluateSettings,
    /// Every point measured this session.
    pub results: BTreeMap<PointKey, PointResult>,
    /// The real-vs-real floor, by number of samples.
    pub floors: BTreeMap<usize, QualityReport>,
    /// The banner's sentence.
    pub message: Option<Message>,
    reference: Option<Arc<Reference>>,
    opener: ModelOpener,
    real_digits: usize,
    running: Option<Running>,
    wake: Arc<dyn Fn() + Send + Sync>,
    asked: Vec<EvaluateCommand>,
}

/// What the user asked for while the view was drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvaluateCommand {
    /// Measure the points not measured yet.
    Measure,
    /// Stop the measurement.
    Cancel,
}

impl EvaluateView {
    /// [`View::key`] of the Evaluate view.
    pub const KEY: &'static str = "evaluate";

    /// The view as the window builds it: the shipped models, all 10,000 bundled digits.
    pub fn from_setup(setup: &mut ViewSetup) -> Self {
        Self::new(
            setup.settings_of(Self::KEY),
            candle_opener(),
            10_000,
            Arc::clone(&setup.wake),
        )
    }

    /// A view with `settings`, opening models with `opener`, measuring against the first
    /// `real_digits` bundled digits (half the reference, half the floor).
    pub fn new(
        settings: EvaluateSettings,
        opener: ModelOpener,
        real_digits: usize,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            settings: settings.within_offered(),
            results: BTreeMap::new(),
            floors: BTreeMap::new(),
            message: None,
            reference: None,
            opener,
            real_digits,
            running: None,
            wake,
            asked: Vec::new(),
        }
    }

    /// Asks for `command`, done once the view is drawn.
    pub fn ask(&mut self, command: EvaluateCommand) {
        self.asked.push(command);
    }

    /// Whether a measurement is going on.
    pub fn is_measuring(&self) -> bool {
        self.running.is_some()
    }

    /// (samples made, samples in all) of the measurement going on.
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.running
            .as_ref()
            .map(|r| (r.progress.samples.load(Ordering::Relaxed), r.total_samples))
    }

    /// The kept result of a point of the current settings.
    pub fn result(&self, kind: SamplerKind, spec: &PointSpec) -> Option<&PointResult> {
        self.results.get(&self.settings.key(kind, spec))
    }

    fn apply(&mut self, command: EvaluateCommand) {
        match command {
            EvaluateCommand::Measure => self.measure(),
            EvaluateCommand::Cancel => {
                if let Some(running) = &self.running {
                    running.progress.cancel.store(true, Ordering::Relaxed);
                }
            }
        }
    }

    /// Starts measuring the points of the settings not kept yet.
    fn measure(&mut self) {
        if self.is_measuring() {
            return;
        }
        if self.settings.points().is_empty() {
            self.message = Some(Message::error_in(
                |l| {
                    l.pick(
                        "Choose at least one sampler and one step count.",
                        "请至少选择一个采样器和一个步数。",
                    )
                    .to_owned()
                },
                None,
            ));
            return;
        }
        let missing: Vec<(SamplerKind, PointSpec)> = self
            .settings
            .points()
            .into_iter()
            .filter(|(kind, spec)| self.result(*kind, spec).is_none())
            .collect();
        if missing.is_empty() && self.floors.contains_key(&self.settings.samples) {
            self.message = Some(Message::info_in(|l| {
                l.pick("Every point is measured already.", "每个点都已评估过。")
                    .to_owned()
            }));
            return;
        }
        let keys: Vec<PointKey> = missing
            .iter()
            .map(|(k, s)| self.settings.key(*k, s))
            .collect();
        let points: Vec<PointSpec> = missing.into_iter().map(|(_, spec)| spec).collect();
        let total_samples = points.iter().map(|p| p.samples).sum::<usize>().max(1);
        let request = LabRequest {
            model: self.settings.model.clone(),
            points,
            real_digits: self.real_digits,
        };
        let progress = Arc::new(LabProgress {
            samples: AtomicUsize::new(0),
            cancel: AtomicBool::new(false),
        });
        let (opener, kept, shared) = (
            Arc::clone(&self.opener),
            self.reference.clone(),
            Arc::clone(&progress),
        );
        let job = Job::spawn("evaluation-lab", Arc::clone(&self.wake), move |_| {
            run_lab(&request, &opener, kept, &shared)
        });
        match job {
            Ok(job) => {
                self.running = Some(Running {
                    job,
                    progress,
                    keys,
                    total_samples,
                });
            }
            Err(error) => self.message = Some(job_not_started(&error)),
        }
    }

    /// Keeps what a finished measurement measured.
    fn collect(&mut self, running: &Running, outcome: LabOutcome) {
        if outcome.reference.is_some() {
            self.reference = outcome.reference;
        }
        if let Some(floor) = outcome.floor {
            self.floors.insert(floor.count, floor);
        }
        for (key, measured) in running.keys.iter().zip(outcome.measured) {
            self.results.insert(key.clone(), measured.result);
        }
        if let Some((en, zh)) = outcome.stopped {
            self.message = Some(Message::error_in(
                move |l| match l {
                    Lang::En => en.clone(),
                    Lang::Zh => zh.clone(),
                },
                None,
            ));
        }
    }
}

impl View for EvaluateView {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.pick("Evaluate: quality vs steps", "评估：质量与步数")
    }

    fn logic(&mut self, ctx: &egui::Context, _lang: Lang) {
        let Some(running) = self.running.take() else {
            return;
        };
        match running.job.poll() {
            Poll::Running => {
                self.running = Some(running);
                // The progress bar moves with the job.
                ctx.request_repaint_after(std::time::Duration::from_millis(250));
            }
            Poll::Done(outcome) => self.collect(&running, outcome),
            Poll::Lost => {
                self.message = Some(Message::error_in(
                    |l| l.pick("The measurement failed.", "评估失败。").to_owned(),
                    None,
                ));
            }
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::evaluate_ui(self, ui, lang);
        for command in std::mem::take(&mut self.asked) {
            self.apply(command);
        }
    }

    fn settings_json(&self) -> String {
        serde_json::to_string(&self.settings).unwrap_or_default()
    }

    fn slide_state(&self) -> serde_json::Value {
        settings_slide(&self.settings)
    }

    fn reads_slide_state(&self, state: &serde_json::Value) -> bool {
        read_settings_slide::<EvaluateSettings>(state).is_some()
    }

    fn figures(&self, lang: Lang) -> Vec<crate::export::figure::Figure> {
        view::quality_figures(self, lang).into()
    }

    fn show_slide_state(&mut self, state: &serde_json::Value) {
        if let Some(settings) = read_settings_slide::<EvaluateSettings>(state) {
            self.settings = settings.within_offered();
        }
    }

    fn show_message(&mut self, message: Message) {
        self.message = Some(message);
    }

    fn keys(&self, lang: Lang) -> Vec<KeyHelp> {
        KeyHelp::table(
            lang,
            &[
                ("M / Enter", "measure", "开始评估"),
                ("Esc", "cancel", "取消"),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_settings_are_brought_into_what_the_view_offers() {
        let wild = EvaluateSettings {
            samples: 1_000_000_000,
            steps: vec![0, 8, 50_000],
            guidance: f32::NAN,
            repeats: 1_000,
            ..EvaluateSettings::default()
        }
        .within_offered();
        assert_eq!(
            (wild.samples, wild.steps, wild.guidance, wild.repeats),
            (5_000, vec![8], 3.0, 5)
        );
        let few = EvaluateSettings {
            samples: 0,
            guidance: -4.0,
            ..EvaluateSettings::default()
        }
        .within_offered();
        assert_eq!((few.samples, few.guidance), (LEAST_SAMPLES, 0.0));
    }
}

//! The Training view's background work: taking one step (opening the model and the digits the
//! first time; both are kept for the next steps) and measuring the loss against t of several
//! models one after another, with progress and Cancel.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{CurveKey, TrainingSettings};
use crate::data::mnist::{Digits, load_bundled_digits};
use crate::i18n::Lang;
use crate::quality::session::{LabModel, ModelOpener};
use crate::train::loss_by_t::{LevelLoss, LossCurveSpec, loss_by_level};
use crate::train::one_step::{StepChoice, TrainingStep, take_step};
use crate::ui::jobs::{Job, Poll};

/// A sentence in English and in Chinese.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sentences {
    en: String,
    zh: String,
}

impl Sentences {
    /// The sentence in `lang`.
    pub fn pick(&self, lang: Lang) -> String {
        match lang {
            Lang::En => self.en.clone(),
            Lang::Zh => self.zh.clone(),
        }
    }

    /// The sentence `en` in English and `zh` in Chinese.
    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            zh: zh.into(),
        }
    }

    fn from_pair((en, zh): (String, String)) -> Self {
        Self { en, zh }
    }

    /// The sentence `sentence` makes in each language.
    pub fn in_both(sentence: impl Fn(Lang) -> String) -> Self {
        Self {
            en: sentence(Lang::En),
            zh: sentence(Lang::Zh),
        }
    }
}

/// What the view has opened: the bundled digits and models by name.
#[derive(Default)]
pub struct Loaded {
    /// The bundled digits, once read.
    pub digits: Option<Arc<Digits>>,
    /// Models by name.
    pub models: BTreeMap<String, Arc<LabModel>>,
}

impl Loaded {
    /// Keeps what a step opened.
    pub fn keep(&mut self, name: &str, model: Option<Arc<LabModel>>, digits: Option<Arc<Digits>>) {
        if let Some(model) = model {
            self.models.insert(name.to_owned(), model);
        }
        if digits.is_some() {
            self.digits = digits;
        }
    }

    /// Keeps what a measurement opened.
    pub fn keep_all(&mut self, other: Self) {
        self.models.extend(other.models);
        if other.digits.is_some() {
            self.digits = other.digits;
        }
    }

    /// A copy to hand to a job (the models and digits themselves are shared).
    fn share(&self) -> Self {
        Self {
            digits: self.digits.clone(),
            models: self.models.clone(),
        }
    }

    /// The digits, read now if they were not.
    fn digits(&mut self) -> Result<Arc<Digits>, Sentences> {
        if let Some(digits) = &self.digits {
            return Ok(Arc::clone(digits));
        }
        let digits =
            Arc::new(load_bundled_digits().map_err(|e| Sentences::in_both(|l| e.sentence(l)))?);
        self.digits = Some(Arc::clone(&digits));
        Ok(digits)
    }

    /// Model `name`, opened now if it was not.
    fn model(&mut self, name: &str, open: &ModelOpener) -> Result<Arc<LabModel>, Sentences> {
        if let Some(model) = self.models.get(name) {
            return Ok(Arc::clone(model));
        }
        let model = Arc::new(open(name).map_err(Sentences::from_pair)?);
        self.models.insert(name.to_owned(), Arc::clone(&model));
        Ok(model)
    }
}

/// A step's job's answer: what it opened, and the step or why not.
pub struct StepAnswer {
    /// The model, if it opened.
    pub model: Option<Arc<LabModel>>,
    /// The digits, if they were read.
    pub digits: Option<Arc<Digits>>,
    /// The step, or why it could not be taken.
    pub step: Result<TrainingStep, Sentences>,
}

/// Takes step `choice` of model `name` on a job, opening what `loaded` lacks.
pub fn spawn_step(
    loaded: &Loaded,
    opener: &ModelOpener,
    wake: &Arc<dyn Fn() + Send + Sync>,
    name: &str,
    choice: StepChoice,
) -> std::io::Result<Job<StepAnswer>> {
    let mut loaded = loaded.share();
    let (opener, name) = (Arc::clone(opener), name.to_owned());
    Job::spawn("training-step", Arc::clone(wake), move |_| {
        let step = loaded.digits().and_then(|digits| {
            let model = loaded.model(&name, &opener)?;
            let (network, traits) = model.as_ref();
            take_step(network.as_ref(), traits, &digits, choice)
                .map_err(|e| Sentences::in_both(|l| e.sentence(l)))
        });
        StepAnswer {
            model: loaded.models.get(&name).cloned(),
            digits: loaded.digits,
            step,
        }
    })
}

/// How a measurement ended.
pub struct CurveOutcome {
    /// The curves measured whole, by model.
    pub curves: Vec<(String, Vec<LevelLoss>)>,
    /// What it opened.
    pub loaded: Loaded,
    /// Why it stopped early, or `None` when it measured every model.
    pub stopped: Option<Sentences>,
}

/// Counts the view shows, and the Cancel switch.
#[derive(Default)]
struct CurveProgress {
    levels: AtomicUsize,
    cancel: AtomicBool,
}

/// A measurement of the loss against t going on.
pub struct CurveRun {
    job: Job<CurveOutcome>,
    progress: Arc<CurveProgress>,
    total: usize,
    levels: usize,
    digits: usize,
}

impl CurveRun {
    /// Measures `models` at the settings' levels and digits, one after another.
    pub fn spawn(
        settings: &TrainingSettings,
        models: Vec<String>,
        loaded: &Loaded,
        opener: &ModelOpener,
        wake: &Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let spec = LossCurveSpec {
            levels: settings.levels,
            digits: settings.curve_digits,
            seed: 1,
        };
        let progress = Arc::new(CurveProgress::default());
        let total = models.len() * spec.levels;
        let (shared, opener, loaded) = (Arc::clone(&progress), Arc::clone(opener), loaded.share());
        let job = Job::spawn("loss-against-t", Arc::clone(wake), move |_| {
            measure(models, spec, loaded, &opener, &shared)
        })?;
        Ok(Self {
            job,
            progress,
            total,
            levels: settings.levels,
            digits: settings.curve_digits,
        })
    }

    /// (levels measured, levels in all).
    pub fn progress(&self) -> (usize, usize) {
        (self.progress.levels.load(Ordering::Relaxed), self.total)
    }

    /// Stops the measurement after the level it is measuring.
    pub fn cancel(&self) {
        self.progress.cancel.store(true, Ordering::Relaxed);
    }

    /// The key of `model`'s curve from this measurement.
    pub fn key(&self, model: &str) -> CurveKey {
        (model.to_owned(), self.levels, self.digits)
    }

    /// The outcome, once the job has ended.
    pub fn poll(&self) -> Option<CurveOutcome> {
        match self.job.poll() {
            Poll::Running => None,
            Poll::Done(outcome) => Some(outcome),
            Poll::Lost => Some(CurveOutcome {
                curves: Vec::new(),
                loaded: Loaded::default(),
                stopped: Some(Sentences::in_both(|l| {
                    l.pick("The measurement failed.", "测量失败。").to_owned()
                })),
            }),
        }
    }
}

/// The job: every model in turn, stopping at Cancel or at the first failure.
fn measure(
    models: Vec<String>,
    spec: LossCurveSpec,
    mut loaded: Loaded,
    opener: &ModelOpener,
    progress: &CurveProgress,
) -> CurveOutcome {
    let mut curves = Vec::new();
    let mut stopped = None;
    for (index, name) in models.into_iter().enumerate() {
        let measured = loaded.digits().and_then(|digits| {
            let model = loaded.model(&name, opener)?;
            let (network, traits) = model.as_ref();
            let mut on_level = |done: usize| {
                progress
                    .levels
                    .store(index * spec.levels + done, Ordering::Relaxed);
                if progress.cancel.load(Ordering::Relaxed) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            };
            loss_by_level(network.as_ref(), traits, &digits, spec, &mut on_level)
                .map_err(|e| Sentences::in_both(|l| e.sentence(l)))
        });
        match measured {
            Ok(levels) if levels.len() == spec.levels => curves.push((name, levels)),
            Ok(_) => break,
            Err(why) => {
                stopped = Some(why);
                break;
            }
        }
    }
    CurveOutcome {
        curves,
        loaded,
        stopped,
    }
}

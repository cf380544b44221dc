//! The Training view: training made visible. One training step taken apart (a real digit x0, a
//! noise level, ε → x_t → the network's output → the target → the squared error and the loss,
//! each line of the recipe lit in turn); which t are hard: the loss of each shipped model against
//! the noise level, measured on a background job with progress and Cancel; and a model learning
//! live, its loss and its samples from fixed noise growing as it trains.
//!
//! The arithmetic is [`crate::train::one_step`] and [`crate::train::loss_by_t`]; both run on
//! background jobs (a model is opened once and kept), so the window never waits for the network.
//! `view` draws the first two, `textures` uploads a step's pictures once per step; `live` runs
//! the live training on its own thread, `live_control` is the view's side of it (start, pause,
//! stop, save) and `live_view` draws it.

mod jobs;
pub mod live;
mod live_control;
mod live_view;
mod textures;
mod view;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;
use serde::{Deserialize, Serialize};

pub use self::jobs::Sentences;
use self::jobs::{CurveRun, Loaded, StepAnswer};
use self::live::{LiveNews, LiveRun, LiveSettings, LiveTrainer, candle_live_trainer};
use self::live_view::LiveTextures;
use self::textures::StepTextures;
use super::file_picker::FilePicker;
use super::jobs::{Job, Poll};
use super::message::Message;
use super::views::{KeyHelp, View, ViewSetup, read_settings_slide, settings_slide};
use crate::i18n::Lang;
use crate::quality::session::{ModelOpener, candle_opener};
use crate::train::loss_by_t::LevelLoss;
use crate::train::one_step::{StepChoice, TrainingStep};

/// The shipped models whose loss against t is measured, one line each.
pub const CURVE_MODELS: [&str; 3] = ["digits-eps", "digits-v", "digits-flow"];

/// The seed "Next step" draws its examples with.
const DRAW_SEED: u64 = 0x5eed;

/// What the teacher chose, remembered between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainingSettings {
    /// The shipped model whose step is taken apart.
    pub model: String,
    /// How far along the noise path (0: the digit, 1: pure noise); t = fraction·T.
    pub fraction: f64,
    /// The digit's index among the bundled digits.
    pub digit: usize,
    /// The seed of ε.
    pub noise_seed: u64,
    /// Steps drawn so far with "Next step".
    pub draws: u64,
    /// Points of the path per curve.
    pub levels: usize,
    /// Real digits per point of a curve.
    pub curve_digits: usize,
    /// The part of the view shown.
    pub section: TrainingSection,
    /// The live run's choices.
    pub live: LiveSettings,
}

/// The two parts of the view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrainingSection {
    /// One step taken apart, and the loss against t.
    #[default]
    OneStep,
    /// A model learning live.
    Live,
}

/// What the view asks the file picker for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrainingPick {
    /// Where to save the live run's model.
    SaveModel,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        Self {
            model: CURVE_MODELS[0].into(),
            fraction: 0.1,
            digit: 9_000,
            noise_seed: 1,
            draws: 0,
            levels: 30,
            curve_digits: 200,
            section: TrainingSection::OneStep,
            live: LiveSettings::default(),
        }
    }
}

impl TrainingSettings {
    /// These settings brought into what the view offers (remembered settings and lessons are
    /// files someone may have edited): fraction [0–1], digit [0–9999], levels [4–100], digits
    /// [20–1000].
    #[must_use]
    pub fn within_offered(mut self) -> Self {
        self.fraction = if self.fraction.is_finite() {
            self.fraction.clamp(0.0, 1.0)
        } else {
            Self::default().fraction
        };
        self.digit = self.digit.min(9_999);
        self.levels = self.levels.clamp(4, 100);
        self.curve_digits = self.curve_digits.clamp(20, 1_000);
        self.live = self.live.within_offered();
        self
    }

    /// The step these settings show.
    pub fn choice(&self) -> StepChoice {
        StepChoice {
            digit: self.digit,
            fraction: self.fraction,
            noise_seed: self.noise_seed,
        }
    }

    /// The key of a curve of these settings among the kept ones.
    fn curve_key(&self, model: &str) -> CurveKey {
        (model.to_owned(), self.levels, self.curve_digits)
    }
}

/// (model, levels, digits).
pub type CurveKey = (String, usize, usize);

/// What the user asked for while the view was drawn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrainingCommand {
    /// Draw a new (x0, t, ε) as training does.
    NextStep,
    /// Measure the loss against t of the models not measured yet.
    MeasureCurves,
    /// Stop the measurement.
    Cancel,
    /// Start a live run with the live settings.
    StartLive,
    /// Pause the live run, or resume it.
    PauseLive,
    /// Stop the live run.
    StopLive,
    /// Ask where to save the live run's model.
    SaveLive,
    /// Save the live run's model here.
    SaveLiveTo(PathBuf),
}

/// Everything the Training view owns.
pub struct TrainingView {
    /// The teacher's choices.
    pub settings: TrainingSettings,
    /// The step shown, and the model it was taken with.
    pub step: Option<(String, TrainingStep)>,
    /// Every curve measured this session.
    pub curves: BTreeMap<CurveKey, Vec<LevelLoss>>,
    /// The banner's sentence.
    pub message: Option<Message>,
    /// When the step shown arrived after "Next step" (egui's clock), for lighting its lines in
    /// turn.
    reveal_from: Option<f64>,
    reveal_next: bool,
    loaded: Loaded,
    opener: ModelOpener,
    step_job: Option<(Job<StepAnswer>, String, StepChoice)>,
    /// The step that could not be taken (not asked again until the settings change).
    failed: Option<(String, StepChoice)>,
    curve_run: Option<CurveRun>,
    textures: StepTextures,
    /// What the live run has published (kept when it ends).
    pub live_news: LiveNews,
    /// The model file saved last.
    pub saved_model: Option<PathBuf>,
    live: Option<LiveRun>,
    live_trainer: LiveTrainer,
    live_textures: LiveTextures,
    save_job: Option<Job<Result<PathBuf, Sentences>>>,
    /// Asks where to save a model.
    pub picker: FilePicker<TrainingPick>,
    wake: Arc<dyn Fn() + Send + Sync>,
    asked: Vec<TrainingCommand>,
}

impl TrainingView {
    /// [`View::key`] of the Training view.
    pub const KEY: &'static str = "training";

    /// The view as the window builds it: the shipped models through candle.
    pub fn from_setup(setup: &mut ViewSetup) -> Self {
        Self::new(
            setup.settings_of(Self::KEY),
            (candle_opener(), candle_live_trainer()),
            Arc::clone(&setup.wake),
        )
    }

    /// A view with `settings`, opening models with `opener` and training live with `trainer`.
    pub fn new(
        settings: TrainingSettings,
        (opener, trainer): (ModelOpener, LiveTrainer),
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            settings: settings.within_offered(),
            step: None,
            curves: BTreeMap::new(),
            message: None,
            reveal_from: None,
            reveal_next: false,
            loaded: Loaded::default(),
            opener,
            step_job: None,
            failed: None,
            curve_run: None,
            textures: StepTextures::default(),
            live_news: LiveNews::default(),
            saved_model: None,
            live: None,
            live_trainer: trainer,
            live_textures: LiveTextures::default(),
            save_job: None,
            picker: FilePicker::new(Arc::clone(&wake)),
            wake,
            asked: Vec::new(),
        }
    }

    /// Asks for `command`, done once the view is drawn.
    pub fn ask(&mut self, command: TrainingCommand) {
        self.asked.push(command);
    }

    /// Whether a step is being taken.
    pub fn is_stepping(&self) -> bool {
        self.step_job.is_some()
    }

    /// Whether the loss against t is being measured.
    pub fn is_measuring(&self) -> bool {
        self.curve_run.is_some()
    }

    /// (levels measured, levels in all) of the measurement going on.
    pub fn progress(&self) -> Option<(usize, usize)> {
        self.curve_run.as_ref().map(CurveRun::progress)
    }

    /// The kept curve of `model` at the current settings.
    pub fn curve(&self, model: &str) -> Option<&Vec<LevelLoss>> {
        self.curves.get(&self.settings.curve_key(model))
    }

    fn apply(&mut self, command: TrainingCommand) {
        match command {
            TrainingCommand::NextStep => self.draw_next_step(),
            TrainingCommand::MeasureCurves => self.measure_curves(),
            TrainingCommand::Cancel => {
                if let Some(run) = &self.curve_run {
                    run.cancel();
                }
            }
            TrainingCommand::StartLive => self.start_live(),
            TrainingCommand::PauseLive => {
                if let Some(run) = self.running_live() {
                    run.shared.set_paused(!run.shared.is_paused());
                }
            }
            TrainingCommand::StopLive => {
                if let Some(run) = self.running_live() {
                    run.shared.stop();
                }
            }
            TrainingCommand::SaveLive => self.ask_where_to_save(),
            TrainingCommand::SaveLiveTo(path) => self.save_live_to(path),
        }
    }

    /// Draws a new (x0, t, ε) as training would; needs the model and the digits loaded (they
    /// are once the first step is shown).
    fn draw_next_step(&mut self) {
        let (Some(model), Some(digits)) = (
            self.loaded.models.get(&self.settings.model),
            &self.loaded.digits,
        ) else {
            return;
        };
        self.settings.draws += 1;
        let choice = StepChoice::drawn(DRAW_SEED, self.settings.draws, digits.count, &model.1);
        self.settings.digit = choice.digit;
        self.settings.fraction = choice.fraction;
        self.settings.noise_seed = choice.noise_seed;
        self.reveal_next = true;
    }

    /// Starts taking the step the settings show, unless it is shown, being taken, or failed.
    fn take_wanted_step(&mut self) {
        let wanted = (self.settings.model.clone(), self.settings.choice());
        let shown = self
            .step
            .as_ref()
            .map(|(model, step)| (model.clone(), step.choice));
        if self.step_job.is_some()
            || shown.as_ref() == Some(&wanted)
            || self.failed.as_ref() == Some(&wanted)
        {
            return;
        }
        let (model, choice) = wanted;
        match jobs::spawn_step(&self.loaded, &self.opener, &self.wake, &model, choice) {
            Ok(job) => self.step_job = Some((job, model, choice)),
            Err(error) => {
                self.message = Some(super::jobs::job_not_started(&error));
                self.failed = Some((model, choice));
            }
        }
    }

    /// Starts measuring the curves of the current settings not kept yet.
    fn measure_curves(&mut self) {
        if self.is_measuring() {
            return;
        }
        let missing: Vec<String> = CURVE_MODELS
            .iter()
            .filter(|model| self.curve(model).is_none())
            .map(|model| (*model).to_owned())
            .collect();
        if missing.is_empty() {
            self.message = Some(Message::info_in(|l| {
                l.pick("Every curve is measured already.", "每条曲线都已测量过。")
                    .to_owned()
            }));
            return;
        }
        match CurveRun::spawn(
            &self.settings,
            missing,
            &self.loaded,
            &self.opener,
            &self.wake,
        ) {
            Ok(run) => self.curve_run = Some(run),
            Err(error) => self.message = Some(super::jobs::job_not_started(&error)),
        }
    }

    /// Keeps a finished step (and the model and digits it loaded).
    fn collect_step(&mut self, ctx: &egui::Context, model: String, answer: StepAnswer) {
        self.loaded.keep(&model, answer.model, answer.digits);
        match answer.step {
            Ok(step) => {
                self.step = Some((model, step));
                self.failed = None;
                if std::mem::take(&mut self.reveal_next) {
                    self.reveal_from = Some(ctx.input(|i| i.time));
                }
            }
            Err(sentence) => {
                self.message = Some(Message::error_in(move |l| sentence.pick(l), None));
                self.failed = Some((model, self.settings.choice()));
            }
        }
    }

    fn poll_step(&mut self, ctx: &egui::Context) {
        let Some((job, model, choice)) = self.step_job.take() else {
            return;
        };
        match job.poll() {
            Poll::Running => self.step_job = Some((job, model, choice)),
            Poll::Done(answer) => self.collect_step(ctx, model, answer),
            Poll::Lost => {
                self.message = Some(Message::error_in(
                    |l| l.pick("The step failed.", "这一步失败了。").to_owned(),
                    None,
                ));
                self.failed = Some((model, choice));
            }
        }
    }

    fn poll_curves(&mut self, ctx: &egui::Context) {
        let Some(run) = self.curve_run.take() else {
            return;
        };
        match run.poll() {
            None => {
                self.curve_run = Some(run);
                ctx.request_repaint_after(std::time::Duration::from_millis(250));
            }
            Some(outcome) => {
                self.loaded.keep_all(outcome.loaded);
                for (model, levels) in outcome.curves {
                    if levels.len() == self.settings.levels {
                        self.curves.insert(run.key(&model), levels);
                    }
                }
                if let Some(sentence) = outcome.stopped {
                    self.message = Some(Message::error_in(move |l| sentence.pick(l), None));
                }
            }
        }
    }
}

impl View for TrainingView {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.pick("Training: watch it learn", "训练：看模型学习")
    }

    fn logic(&mut self, ctx: &egui::Context, _lang: Lang) {
        self.poll_step(ctx);
        self.poll_curves(ctx);
        self.poll_live();
    }

    fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) {
        if let Some((TrainingPick::SaveModel, path)) = self.picker.ui(ctx, lang) {
            self.apply(TrainingCommand::SaveLiveTo(path));
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::training_ui(self, ui, lang);
        for command in std::mem::take(&mut self.asked) {
            self.apply(command);
        }
        self.take_wanted_step();
    }

    fn settings_json(&self) -> String {
        serde_json::to_string(&self.settings).unwrap_or_default()
    }

    fn slide_state(&self) -> serde_json::Value {
        settings_slide(&self.settings)
    }

    fn reads_slide_state(&self, state: &serde_json::Value) -> bool {
        read_settings_slide::<TrainingSettings>(state).is_some()
    }

    fn show_slide_state(&mut self, state: &serde_json::Value) {
        if let Some(settings) = read_settings_slide::<TrainingSettings>(state) {
            self.settings = settings.within_offered();
        }
    }

    fn show_message(&mut self, message: Message) {
        self.message = Some(message);
    }

    fn pictures(&self, lang: Lang) -> Vec<(String, image::RgbImage)> {
        self.step
            .as_ref()
            .map(|(_, step)| textures::step_pictures(step, lang))
            .unwrap_or_default()
    }

    fn figures(&self, lang: Lang) -> Vec<crate::export::figure::Figure> {
        let mut figures: Vec<_> = view::loss_figures(self, lang).into();
        figures.push(live_view::loss_figure(&self.live_news, lang));
        figures
    }

    fn keys(&self, lang: Lang) -> Vec<KeyHelp> {
        KeyHelp::table(
            lang,
            &[
                ("N", "next training step", "下一个训练步"),
                ("← →", "t smaller / larger", "减小/增大 t"),
                ("M", "measure the loss against t", "测量损失随 t 的变化"),
                ("T", "train a model live", "实时训练一个模型"),
                ("Space", "pause / resume the training", "暂停/继续训练"),
                ("Ctrl+S", "save the trained model", "保存训练好的模型"),
                ("Esc", "cancel / stop", "取消/停止"),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_settings_are_brought_into_what_the_view_offers() {
        let wild = TrainingSettings {
            fraction: f64::NAN,
            digit: 1_000_000,
            levels: 0,
            curve_digits: 1 << 40,
            ..TrainingSettings::default()
        }
        .within_offered();
        assert_eq!(
            (wild.fraction, wild.digit, wild.levels, wild.curve_digits),
            (0.1, 9_999, 4, 1_000)
        );
        let negative = TrainingSettings {
            fraction: -3.0,
            ..TrainingSettings::default()
        };
        assert_eq!(negative.within_offered().fraction, 0.0);
    }
}

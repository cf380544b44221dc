//! The Clock view: how a denoiser knows t. The sinusoidal embedding of every t as a heat map with
//! the chosen t marked; how alike the embeddings of two times are, for the sinusoid and for what
//! a shipped network's time MLP makes of it; and one noisy digit shown to a model told t and to
//! the same transformer trained without it, at an early, a middle and a late t.
//!
//! The arithmetic is [`crate::clock`]. Opening a model and running it are background jobs (kept
//! once done), so the window never waits; `view` draws, `pictures` makes the pictures.

pub mod coordinates;
mod pictures;
mod view;
pub mod watch;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;
use serde::{Deserialize, Serialize};

use self::coordinates::{CoordinatesState, TransformerOpener, candle_transformer_opener};
use self::pictures::ClockTextures;
use self::watch::{AttentionChoice, ClockPick, write_run};
use super::file_picker::{FilePicker, FileRequest};
use super::jobs::{Job, Poll};
use super::message::Message;
use super::training::Sentences;
use super::views::{KeyHelp, View, ViewSetup, read_settings_slide, settings_slide};
use crate::clock::{HeatMap, TimeComparison, compare_told_and_blind, model_clock};
use crate::data::mnist::{Digits, load_bundled_digits};
use crate::export::ExportError;
use crate::i18n::Lang;
use crate::quality::session::{LabModel, ModelOpener, candle_opener};

/// The transformer told t, and its twin trained without t.
pub const TOLD_MODEL: &str = "digits-dit";
/// The transformer that is not told t.
pub const BLIND_MODEL: &str = "digits-dit-blind";
/// The noise levels of the comparison: early (near the data, where the blind model loses most),
/// middle and late t (fractions of T).
pub const COMPARED_FRACTIONS: [f64; 3] = [0.02, 0.5, 0.9];
/// Times on each side of a similarity table.
pub const SIMILARITY_TIMES: usize = 100;
/// Columns (times) of the heat map.
pub const HEAT_MAP_TIMES: usize = 250;
/// The number of training timesteps of the shipped models, over which t is spread.
pub const TRAIN_STEPS: usize = 1000;
/// The sinusoid's length drawn before a network's is known (the digit UNet's).
const DEFAULT_SINUSOID: usize = 32;

/// What a network's time MLP makes of [`SIMILARITY_TIMES`] times, with its sinusoid's length
/// (`None`: the network is not told t).
pub type NetworkClock = Option<(HeatMap, usize)>;

/// Opens a model by name and measures its clock (the real checkpoints, or a fake in tests).
pub type ClockOpener = Arc<dyn Fn(&str) -> Result<NetworkClock, Sentences> + Send + Sync>;

/// The clock of the shipped checkpoints, on the CPU.
pub fn candle_clock_opener() -> ClockOpener {
    Arc::new(|name: &str| {
        model_clock(name, TRAIN_STEPS, SIMILARITY_TIMES).map_err(|(en, zh)| Sentences::new(en, zh))
    })
}

/// What the teacher chose, remembered between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClockSettings {
    /// The shipped model whose time MLP is shown.
    pub model: String,
    /// The t marked, as a fraction of T (0–1).
    pub fraction: f64,
    /// The digit of the comparison (index among the bundled digits).
    pub digit: usize,
    /// The seed of its noise.
    pub noise_seed: u64,
    /// The part of the view shown.
    pub section: ClockSection,
    /// The transformer whose patches are shown.
    pub transformer: String,
    /// The patch chosen (row by row over the patch grid).
    pub patch: usize,
    /// The block whose attention is shown (the last one when beyond it).
    pub block: usize,
    /// Whether the coordinates show a run step by step (else one noisy digit).
    pub watch: bool,
    /// The digit the watched run makes (0–9).
    pub run_class: u32,
    /// The watched run's DDIM steps.
    pub run_steps: usize,
}

/// The two parts of the view.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClockSection {
    /// The clock: how the network is told t.
    #[default]
    Clock,
    /// The coordinates: how a transformer knows where each patch is.
    Coordinates,
}

impl Default for ClockSettings {
    fn default() -> Self {
        Self {
            model: "digits-eps".into(),
            fraction: 0.5,
            digit: 9_001,
            noise_seed: 1,
            section: ClockSection::Clock,
            transformer: TOLD_MODEL.into(),
            patch: 24,
            block: 3,
            watch: false,
            run_class: 7,
            run_steps: 50,
        }
    }
}

impl ClockSettings {
    /// The patch and block an exported or slide picture of a watched run shows.
    pub fn attention_choice(&self) -> AttentionChoice {
        AttentionChoice {
            patch: self.patch,
            block: self.block,
        }
    }

    /// These settings brought into what the view offers: fraction [0–1], digit [0–9999].
    #[must_use]
    pub fn within_offered(mut self) -> Self {
        self.fraction = if self.fraction.is_finite() {
            self.fraction.clamp(0.0, 1.0)
        } else {
            Self::default().fraction
        };
        self.digit = self.digit.min(9_999);
        self.patch = self.patch.min(4_095);
        self.block = self.block.min(63);
        self.run_class = self.run_class.min(9);
        self.run_steps = self
            .run_steps
            .clamp(1, crate::clock::attention_run::MAX_WATCHED_STEPS);
        self
    }

    /// The time marked, t = 1..=T.
    pub fn timestep(&self) -> usize {
        ((self.fraction * TRAIN_STEPS as f64).round() as usize).clamp(1, TRAIN_STEPS)
    }
}

/// What the user asked for while the view was drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClockCommand {
    /// Show another digit with other noise.
    NextDigit,
    /// Start a run of the transformer, watched step by step.
    MakeDigit,
    /// Stop the watched run.
    StopRun,
    /// Ask where to write the run's attention as a GIF.
    ExportGif,
    /// Ask where to save the step shown as a PNG.
    SavePng,
    /// Play the run's steps back, or pause.
    Play,
}

/// What the comparison's job opened, kept for the next digit.
#[derive(Clone, Default)]
struct Opened {
    digits: Option<Arc<Digits>>,
    told: Option<Arc<LabModel>>,
    blind: Option<Arc<LabModel>>,
}

/// The comparison's job's answer: what it opened, and the comparison or why not.
struct CompareAnswer {
    opened: Opened,
    comparison: Result<Vec<TimeComparison>, Sentences>,
}

/// Everything the Clock view owns.
pub struct ClockView {
    /// The teacher's choices.
    pub settings: ClockSettings,
    /// Each model's clock, once measured.
    pub clocks: BTreeMap<String, NetworkClock>,
    /// The comparison shown, and the (digit, seed) it is of.
    pub comparison: Option<((usize, u64), Vec<TimeComparison>)>,
    /// The banner's sentence.
    pub message: Option<Message>,
    openers: (ClockOpener, ModelOpener),
    /// The coordinates part: the transformer's attention and positions.
    pub coordinates: CoordinatesState,
    clock_job: Option<(Job<Result<NetworkClock, Sentences>>, String)>,
    compare_job: Option<(Job<CompareAnswer>, (usize, u64))>,
    /// What could not be done (not asked again until the settings change).
    failed: (Option<String>, Option<(usize, u64)>),
    opened: Opened,
    textures: ClockTextures,
    picker: FilePicker<ClockPick>,
    export: Option<Job<Result<PathBuf, ExportError>>>,
    wake: Arc<dyn Fn() + Send + Sync>,
    asked: Vec<ClockCommand>,
}

impl ClockView {
    /// [`View::key`] of the Clock view.
    pub const KEY: &'static str = "clock";

    /// The view as the window builds it: the shipped models through candle.
    pub fn from_setup(setup: &mut ViewSetup) -> Self {
        Self::new(
            setup.settings_of(Self::KEY),
            (candle_clock_opener(), candle_opener()),
            candle_transformer_opener(),
            Arc::clone(&setup.wake),
        )
    }

    /// A view with `settings`, measuring clocks and opening models with `openers` and
    /// transformers with `transformers`.
    pub fn new(
        settings: ClockSettings,
        openers: (ClockOpener, ModelOpener),
        transformers: TransformerOpener,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            coordinates: CoordinatesState::new(transformers),
            settings: settings.within_offered(),
            clocks: BTreeMap::new(),
            comparison: None,
            message: None,
            openers,
            clock_job: None,
            compare_job: None,
            failed: (None, None),
            opened: Opened::default(),
            textures: ClockTextures::default(),
            picker: FilePicker::new(Arc::clone(&wake)),
            export: None,
            wake,
            asked: Vec::new(),
        }
    }

    /// Asks for `command`, done once the view is drawn.
    pub fn ask(&mut self, command: ClockCommand) {
        self.asked.push(command);
    }

    /// Whether a job is running.
    pub fn is_busy(&self) -> bool {
        self.clock_job.is_some() || self.compare_job.is_some() || self.coordinates.is_busy()
    }

    /// The clock of the chosen model, once measured.
    pub fn clock(&self) -> Option<&NetworkClock> {
        self.clocks.get(&self.settings.model)
    }

    /// The sinusoid's length drawn: the chosen network's once known.
    pub fn sinusoid_dim(&self) -> usize {
        self.clock()
            .and_then(|clock| clock.as_ref().map(|(_, dim)| *dim))
            .unwrap_or(DEFAULT_SINUSOID)
    }

    fn apply(&mut self, command: ClockCommand) {
        match command {
            ClockCommand::NextDigit => {
                let count = self.opened.digits.as_ref().map_or(10_000, |d| d.count);
                let next = crate::diffusion::noise::splitmix64(self.settings.noise_seed);
                self.settings.noise_seed = next % 1_000_000;
                self.settings.digit = (next >> 20) as usize % count.max(1);
            }
            ClockCommand::MakeDigit => {
                self.settings.watch = true;
                self.message = self.coordinates.start_run(&self.settings, &self.wake);
            }
            ClockCommand::StopRun => {
                if let Some(watch) = &self.coordinates.watch {
                    watch.stop();
                }
            }
            ClockCommand::Play => {
                if let Some(watch) = &mut self.coordinates.watch {
                    watch.toggle_playback(std::time::Instant::now());
                }
            }
            ClockCommand::ExportGif => self.ask_file(ClockPick::ExportGif),
            ClockCommand::SavePng => self.ask_file(ClockPick::SavePng),
        }
    }

    /// Whether an export is being written.
    pub fn is_exporting(&self) -> bool {
        self.export.is_some()
    }

    /// Asks where to write the run, if there is one and no export is going on.
    fn ask_file(&mut self, pick: ClockPick) {
        if self.is_exporting() {
            return;
        }
        if self.run_frames().is_empty() {
            self.message = Some(Message::error_in(|l| nothing_to_export(l).into(), None));
            return;
        }
        let request = match pick {
            ClockPick::ExportGif => FileRequest::save(
                (
                    "Export the run's attention as a GIF",
                    "将这次运行的注意力导出为 GIF",
                ),
                "GIF",
                &["gif"],
                "attention.gif",
            ),
            ClockPick::SavePng => FileRequest::save(
                ("Save this step as a PNG", "将这一步保存为 PNG"),
                "PNG",
                &["png"],
                "attention.png",
            ),
        };
        self.picker.ask(pick, request);
    }

    /// The watched run's steps (none before a run).
    pub fn run_frames(&self) -> &[crate::clock::attention_run::AttentionFrame] {
        self.coordinates
            .watch
            .as_ref()
            .map_or(&[], |watch| watch.frames.as_slice())
    }

    /// Writes the watched run (every step as a GIF, or the step shown as a PNG) to `path` in the
    /// background, with the chosen patch and block.
    pub fn export(&mut self, pick: ClockPick, path: PathBuf, lang: Lang) {
        if self.is_exporting() {
            return;
        }
        let Some(watch) = &self.coordinates.watch else {
            self.message = Some(Message::error_in(|l| nothing_to_export(l).into(), None));
            return;
        };
        let (frames, shown) = (watch.frames.clone(), watch.shown);
        let choice = self.settings.attention_choice();
        let job = Job::spawn("clock-export", Arc::clone(&self.wake), move |_| {
            write_run((&frames, shown), (choice, lang), pick, &path)
        });
        match job {
            Ok(job) => self.export = Some(job),
            Err(error) => self.message = Some(super::jobs::job_not_started(&error)),
        }
    }

    /// Collects a finished export.
    fn poll_export(&mut self) {
        let Some(job) = &self.export else {
            return;
        };
        if let Some(message) = super::jobs::export_ended(job, || failure_message(None)) {
            self.message = Some(message);
            self.export = None;
        }
    }

    /// Starts measuring the chosen model's clock, unless it is known, measured or failed.
    fn measure_wanted_clock(&mut self) {
        let model = self.settings.model.clone();
        if self.clock_job.is_some()
            || self.clocks.contains_key(&model)
            || self.failed.0.as_ref() == Some(&model)
        {
            return;
        }
        let open = Arc::clone(&self.openers.0);
        let name = model.clone();
        match Job::spawn("clock", Arc::clone(&self.wake), move |_| open(&name)) {
            Ok(job) => self.clock_job = Some((job, model)),
            Err(error) => {
                self.message = Some(super::jobs::job_not_started(&error));
                self.failed.0 = Some(model);
            }
        }
    }

    /// Starts the comparison of the chosen digit, unless it is shown, running or failed.
    fn compare_wanted_digit(&mut self) {
        let wanted = (self.settings.digit, self.settings.noise_seed);
        if self.compare_job.is_some()
            || self.comparison.as_ref().map(|(key, _)| *key) == Some(wanted)
            || self.failed.1 == Some(wanted)
        {
            return;
        }
        let (opened, open) = (self.opened.clone(), Arc::clone(&self.openers.1));
        match Job::spawn("clock-compare", Arc::clone(&self.wake), move |_| {
            compare(opened, &open, wanted)
        }) {
            Ok(job) => self.compare_job = Some((job, wanted)),
            Err(error) => {
                self.message = Some(super::jobs::job_not_started(&error));
                self.failed.1 = Some(wanted);
            }
        }
    }

    fn poll_jobs(&mut self) {
        if let Some(message) = self.coordinates.poll() {
            self.message = Some(message);
        }
        if let Some((job, model)) = self.clock_job.take() {
            match job.poll() {
                Poll::Running => self.clock_job = Some((job, model)),
                Poll::Done(Ok(clock)) => {
                    self.clocks.insert(model, clock);
                }
                Poll::Done(Err(sentence)) => self.fail_clock(model, Some(sentence)),
                Poll::Lost => self.fail_clock(model, None),
            }
        }
        if let Some((job, wanted)) = self.compare_job.take() {
            match job.poll() {
                Poll::Running => self.compare_job = Some((job, wanted)),
                Poll::Done(answer) => self.collect_comparison(wanted, answer),
                Poll::Lost => self.fail_comparison(wanted, None),
            }
        }
    }

    fn fail_clock(&mut self, model: String, sentence: Option<Sentences>) {
        self.message = Some(failure_message(sentence));
        self.failed.0 = Some(model);
    }

    fn fail_comparison(&mut self, wanted: (usize, u64), sentence: Option<Sentences>) {
        self.message = Some(failure_message(sentence));
        self.failed.1 = Some(wanted);
    }

    fn collect_comparison(&mut self, wanted: (usize, u64), answer: CompareAnswer) {
        let opened = answer.opened;
        self.opened = Opened {
            digits: opened.digits.or(self.opened.digits.take()),
            told: opened.told.or(self.opened.told.take()),
            blind: opened.blind.or(self.opened.blind.take()),
        };
        match answer.comparison {
            Ok(comparison) => self.comparison = Some((wanted, comparison)),
            Err(sentence) => self.fail_comparison(wanted, Some(sentence)),
        }
    }
}

fn nothing_to_export(lang: Lang) -> &'static str {
    lang.pick(
        "There is no run to export yet: press Make a digit first.",
        "还没有可导出的运行：请先点击“生成一个数字”。",
    )
}

/// The banner for a job that failed: its sentence, or a general one if its thread was lost.
fn failure_message(sentence: Option<Sentences>) -> Message {
    match sentence {
        Some(sentence) => Message::error_in(move |l| sentence.pick(l), None),
        None => Message::error_in(
            |l| l.pick("The model failed.", "模型运行失败。").to_owned(),
            None,
        ),
    }
}

/// The comparison's job: opens what is not open yet, then shows the digit to both models.
fn compare(mut opened: Opened, open: &ModelOpener, (digit, seed): (usize, u64)) -> CompareAnswer {
    let comparison = (|| {
        let digits = match &opened.digits {
            Some(digits) => Arc::clone(digits),
            None => {
                let digits = Arc::new(
                    load_bundled_digits().map_err(|e| Sentences::in_both(|l| e.sentence(l)))?,
                );
                opened.digits = Some(Arc::clone(&digits));
                digits
            }
        };
        let told = opened_model(&mut opened.told, open, TOLD_MODEL)?;
        let blind = opened_model(&mut opened.blind, open, BLIND_MODEL)?;
        compare_told_and_blind(
            (told.0.as_ref(), &told.1),
            (blind.0.as_ref(), &blind.1),
            &digits,
            (digit, seed),
            &COMPARED_FRACTIONS,
        )
        .map_err(|e| Sentences::in_both(|l| e.sentence(l)))
    })();
    CompareAnswer { opened, comparison }
}

fn opened_model(
    slot: &mut Option<Arc<LabModel>>,
    open: &ModelOpener,
    name: &str,
) -> Result<Arc<LabModel>, Sentences> {
    if let Some(model) = slot {
        return Ok(Arc::clone(model));
    }
    let model = Arc::new(open(name).map_err(|(en, zh)| Sentences::new(en, zh))?);
    *slot = Some(Arc::clone(&model));
    Ok(model)
}

impl View for ClockView {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.pick("Clock: t & patches", "时钟：t 与图块")
    }

    fn logic(&mut self, ctx: &egui::Context, _lang: Lang) {
        self.poll_jobs();
        self.poll_export();
        if let Some(watch) = &mut self.coordinates.watch
            && watch.tick(std::time::Instant::now())
        {
            ctx.request_repaint();
        }
    }

    fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) {
        if let Some((pick, path)) = self.picker.ui(ctx, lang) {
            self.export(pick, path, lang);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::clock_ui(self, ui, lang);
        for command in std::mem::take(&mut self.asked) {
            self.apply(command);
        }
        match self.settings.section {
            ClockSection::Clock => {
                self.measure_wanted_clock();
                self.compare_wanted_digit();
            }
            ClockSection::Coordinates if !self.settings.watch => {
                if let Some(message) = self.coordinates.want(&self.settings, &self.wake) {
                    self.message = Some(message);
                }
            }
            ClockSection::Coordinates => {}
        }
    }

    fn settings_json(&self) -> String {
        serde_json::to_string(&self.settings).unwrap_or_default()
    }

    fn slide_state(&self) -> serde_json::Value {
        settings_slide(&self.settings)
    }

    fn reads_slide_state(&self, state: &serde_json::Value) -> bool {
        read_settings_slide::<ClockSettings>(state).is_some()
    }

    fn show_slide_state(&mut self, state: &serde_json::Value) {
        if let Some(settings) = read_settings_slide::<ClockSettings>(state) {
            self.settings = settings.within_offered();
        }
    }

    fn show_message(&mut self, message: Message) {
        self.message = Some(message);
    }

    fn pictures(&self, lang: Lang) -> Vec<(String, image::RgbImage)> {
        pictures::slide_pictures(self, lang)
    }

    fn keys(&self, lang: Lang) -> Vec<KeyHelp> {
        KeyHelp::table(
            lang,
            &[
                (
                    "← →",
                    "t smaller / larger (a run: the step shown)",
                    "减小/增大 t（运行中：显示的步）",
                ),
                ("N", "another digit and noise", "换一个数字和噪声"),
                (
                    "G / Enter",
                    "make a digit, watching its attention",
                    "生成一个数字并观察注意力",
                ),
                ("Esc", "stop the run", "停止运行"),
                (
                    "Space",
                    "play the run's steps / pause",
                    "回放运行的各步/暂停",
                ),
                ("Ctrl+E", "export the run as a GIF", "将运行导出为 GIF"),
                ("Ctrl+S", "save the step as a PNG", "将这一步保存为 PNG"),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_settings_are_brought_into_what_the_view_offers() {
        let wild = ClockSettings {
            fraction: f64::INFINITY,
            digit: 1 << 40,
            ..ClockSettings::default()
        }
        .within_offered();
        assert_eq!((wild.fraction, wild.digit), (0.5, 9_999));
        let zero = ClockSettings {
            fraction: -1.0,
            ..ClockSettings::default()
        }
        .within_offered();
        assert_eq!((zero.fraction, zero.timestep()), (0.0, 1));
    }
}

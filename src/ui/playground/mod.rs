//! The Playground view: diffusion in the plane, trained live. The class picks a data set (or draws
//! one), presses Train and watches the loss fall and the samples gather onto the data; the t
//! slider shows the forward process carrying the data to a Gaussian, the step scrubber the reverse
//! process carrying noise back, with the paths of a few points and the learned field of arrows.
//!
//! `live` trains on a thread of its own; `view` draws. The model and sampling are
//! [`crate::toy`], the digits' own objectives and samplers.

mod compare;
mod explain;
mod files;
mod live;
mod paths;
mod plane;
mod view;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui;
use serde::{Deserialize, Serialize};

pub use self::files::PlaygroundPick;
use self::files::{FileOutcome, GifJob};
use self::live::{LiveTraining, MakeModel, Preview, Published, Target};
use super::file_picker::{FilePicker, FileRequest};
use super::jobs::job_not_started;
use super::jobs::{Job, Poll};
use super::message::Message;
use super::views::{KeyHelp, View, ViewSetup, read_settings_slide, settings_slide};
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::diffusion::objectives::{Coefficients, Objective};
use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use crate::i18n::Lang;
use crate::toy::data::{MAX_POINTS, unflatten};
use crate::toy::density::ContourLine;
use crate::toy::diffusion::forward_coefficients;
use crate::toy::models::{OLDER_MODELS_LEARNING_RATE, fresh_model};
use crate::toy::{Point, Shape, ToyDiffusion, ToyDiffusionSpec, ToyKind, ToyModel, ToyNetSize};

/// The data: a shape, or the points the class drew.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataChoice {
    /// One of the shapes.
    Shape(Shape),
    /// The points drawn on the plot.
    Drawn,
}

/// The most points kept in a drawing (and remembered with the settings).
pub const MAX_DRAWN: usize = 5_000;
/// How far from the origin a drawn or opened point may lie on either axis (the plane shows ±4).
pub const DRAWABLE_EXTENT: f32 = 10.0;

/// Keeps the points a drawing may hold: finite, within ±[`DRAWABLE_EXTENT`], the first
/// [`MAX_DRAWN`] of them. The same rule for remembered settings, lessons and opened files.
fn keep_drawable(points: &mut Vec<Point>) {
    points.retain(|p| {
        p.iter()
            .all(|v| v.is_finite() && v.abs() <= DRAWABLE_EXTENT)
    });
    points.truncate(MAX_DRAWN);
}

/// What the teacher chose, remembered between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlaygroundSettings {
    /// The data.
    pub data: DataChoice,
    /// Points drawn from a shape.
    pub count: usize,
    /// The points drawn by hand.
    pub drawn: Vec<Point>,
    /// What the network predicts.
    pub objective: Objective,
    /// The schedule's shape (ε and v).
    pub schedule: ScheduleKind,
    /// The schedule's T.
    pub timesteps: usize,
    /// AdamW's learning rate.
    pub learning_rate: f64,
    /// Seeds the data, the weights, training and the samples' noise.
    pub seed: u64,
    /// Sampler steps of the preview.
    pub sample_steps: usize,
    /// Points sampled in the preview.
    pub samples: usize,
    /// What the plot shows.
    pub layers: Layers,
    /// One diffusion model, the three kinds side by side, or the paths of ε and flow.
    pub mode: PlaygroundMode,
}

/// What the Playground trains and shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaygroundMode {
    /// One diffusion model: forward, reverse, paths and field.
    #[default]
    Diffusion,
    /// A GAN, a VAE and the diffusion model side by side on the same data.
    Models,
    /// An ε model and a flow model, their paths from the same noise overlaid: ε under DDPM and
    /// DDIM, flow under Euler.
    Paths,
}

/// The layers of the plot, each on or off.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Layers {
    /// The data (at the forward slider's t).
    pub data: bool,
    /// The samples (at the reverse scrubber's step).
    pub samples: bool,
    /// The paths of a few samples, up to the scrubber's step.
    pub paths: bool,
    /// The model's field of arrows at the forward slider's t: from x towards its guess of x0.
    pub field: bool,
    /// A grid of lines in the noise, carried by the sampler to the scrubber's step.
    pub mesh: bool,
    /// Contour lines of the samples' density at the scrubber's step.
    pub density: bool,
}

impl Default for Layers {
    fn default() -> Self {
        Self {
            data: true,
            samples: true,
            paths: true,
            field: false,
            mesh: false,
            density: false,
        }
    }
}

impl Default for PlaygroundSettings {
    fn default() -> Self {
        Self {
            data: DataChoice::Shape(Shape::TwoMoons),
            count: 4000,
            drawn: Vec::new(),
            objective: Objective::Flow,
            schedule: ScheduleKind::Linear,
            timesteps: 1000,
            learning_rate: 1e-2,
            seed: 1,
            sample_steps: 50,
            samples: 1000,
            layers: Layers::default(),
            mode: PlaygroundMode::Diffusion,
        }
    }
}

/// The learning rates offered.
pub const LEARNING_RATES: [f64; 4] = [1e-3, 3e-3, 1e-2, 3e-2];
/// The schedule lengths T offered.
pub const TIMESTEPS: [usize; 5] = [10, 50, 100, 250, 1000];

impl PlaygroundSettings {
    /// The settings brought into what the view offers (a lesson or an old settings file may
    /// hold anything).
    pub fn within_offered(mut self) -> Self {
        self.count = self.count.clamp(100, 20_000);
        keep_drawable(&mut self.drawn);
        if !TIMESTEPS.contains(&self.timesteps) {
            self.timesteps = 1000;
        }
        if !LEARNING_RATES.contains(&self.learning_rate) {
            self.learning_rate = 1e-2;
        }
        self.sample_steps = self.sample_steps.clamp(1, 200);
        self.samples = self.samples.clamp(100, 4000);
        self
    }

    /// The points to learn.
    pub fn points(&self) -> Vec<Point> {
        match self.data {
            DataChoice::Shape(shape) => shape.points(self.count, self.seed),
            DataChoice::Drawn => self.drawn.clone(),
        }
    }

    /// The schedule the model is trained on (flow matching uses only its T).
    pub fn schedule(&self) -> NoiseSchedule {
        NoiseSchedule::new(ScheduleConfig::new(self.schedule, self.timesteps))
    }

    /// The weights of x0 and ε at forward step t (0..=T).
    pub fn coefficients(&self, t: usize) -> Coefficients {
        forward_coefficients(self.objective, &self.schedule(), t)
    }
}

/// What the user asked for while the view was drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlaygroundCommand {
    /// Start training a fresh model (stopping one going on).
    Train,
    /// Stop training, keeping the model.
    Stop,
    /// Forget the drawn points.
    ClearDrawing,
    /// Ask for a CSV file of points to learn.
    OpenPoints,
    /// Ask where to save the data as CSV.
    SavePoints,
    /// Ask where to write the trained model's forward and reverse processes as a GIF.
    ExportGif,
    /// Train a new flow model on the flow model's own (noise, sample) pairs (Paths mode).
    Reflow,
}

/// The field's arrows (origins, tips) and the (model revision, t) they were computed for.
type FieldArrows = ((u64, usize), (Vec<Point>, Vec<Point>));

/// One model training on a thread of its own, and what it last published.
pub struct Lane {
    /// Which kind of model.
    pub kind: ToyKind,
    /// A diffusion model's objective.
    pub objective: Objective,
    /// Whether it learns another flow model's (noise, sample) pairs rather than the data.
    pub reflowed: bool,
    training: LiveTraining,
    /// The latest of what the training thread published.
    pub shown: Published,
}

impl Lane {
    /// Whether this is a flow model trained on the data, which Reflow can learn from.
    pub fn is_flow_teacher(&self) -> bool {
        self.kind == ToyKind::Diffusion && self.objective == Objective::Flow && !self.reflowed
    }
}

/// Everything the Playground view owns.
pub struct PlaygroundView {
    /// The teacher's choices.
    pub settings: PlaygroundSettings,
    /// The forward slider: t in 0..=T.
    pub t: usize,
    /// The reverse scrubber: the sampler's step shown (0 is pure noise; the last, the samples).
    pub step: Option<usize>,
    /// The banner's sentence.
    pub message: Option<Message>,
    /// The models training or trained: the diffusion model alone, or the three side by side.
    pub lanes: Vec<Lane>,
    /// The field of arrows drawn last, with the (model revision, t) it shows.
    field_cache: Option<FieldArrows>,
    /// The sample whose whole path is traced (clicked on the plane), by its place.
    pub traced: Option<usize>,
    /// The samples' density contours drawn last, with the (model revision, step) they show.
    density_cache: Option<((u64, usize), Vec<ContourLine>)>,
    /// The GAN's discriminator drawn as a picture, with the revision it shows.
    realness_texture: Option<(u64, egui::TextureHandle)>,
    /// Asks for files: the system's dialog, or a picker in the window where there is none.
    pub picker: FilePicker<PlaygroundPick>,
    /// The file being read or written.
    file_job: Option<Job<FileOutcome>>,
    /// The data points and their fixed noise (for the forward slider), by settings.
    data_cache: Option<(PlaygroundSettings, Vec<Point>, Vec<Point>)>,
    wake: Arc<dyn Fn() + Send + Sync>,
    asked: Vec<PlaygroundCommand>,
    /// The window's language, for the GIF's captions.
    lang: Lang,
}

impl PlaygroundView {
    /// [`View::key`] of the Playground view.
    pub const KEY: &'static str = "playground";

    /// The view as the window builds it.
    pub fn from_setup(setup: &mut ViewSetup) -> Self {
        Self::new(setup.settings_of(Self::KEY), Arc::clone(&setup.wake))
    }

    /// A view with `settings`; `wake` repaints the window.
    pub fn new(settings: PlaygroundSettings, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            settings: settings.within_offered(),
            t: 0,
            step: None,
            message: None,
            lanes: Vec::new(),
            realness_texture: None,
            field_cache: None,
            traced: None,
            density_cache: None,
            picker: FilePicker::new(Arc::clone(&wake)),
            file_job: None,
            data_cache: None,
            wake,
            asked: Vec::new(),
            lang: Lang::En,
        }
    }

    /// Asks for `command`, done once the view is drawn.
    pub fn ask(&mut self, command: PlaygroundCommand) {
        self.asked.push(command);
    }

    /// Whether a model is training, as far as the window has heard (so what is drawn and what
    /// this says agree).
    pub fn is_training(&self) -> bool {
        self.lanes.iter().any(|lane| lane.shown.running)
    }

    /// What the diffusion model last published (empty before any).
    pub fn diffusion(&self) -> &Published {
        static NOTHING: std::sync::OnceLock<Published> = std::sync::OnceLock::new();
        self.lanes
            .iter()
            .find(|lane| lane.kind == ToyKind::Diffusion)
            .map_or_else(
                || NOTHING.get_or_init(Published::default),
                |lane| &lane.shown,
            )
    }

    /// The data points and, for each, its fixed noise ε (seeded), recomputed when the settings
    /// that decide them change.
    pub fn data_and_noise(&mut self) -> (&[Point], &[Point]) {
        let stale = self.data_cache.as_ref().is_none_or(|(settings, _, _)| {
            settings.data != self.settings.data
                || settings.count != self.settings.count
                || settings.seed != self.settings.seed
                || settings.drawn != self.settings.drawn
        });
        if stale {
            let points = self.settings.points();
            let noise = unflatten(&standard_normal(
                2 * points.len(),
                self.settings.seed,
                NoiseStream::Jump,
            ));
            self.data_cache = Some((self.settings.clone(), points, noise));
        }
        match &self.data_cache {
            Some((_, points, noise)) => (points, noise),
            None => (&[], &[]),
        }
    }

    /// The data carried to the forward slider's t: x_t = a·x0 + s·ε for each point.
    pub fn noised_data(&mut self) -> Vec<Point> {
        let at = self
            .settings
            .coefficients(self.t.min(self.settings.timesteps));
        let (points, noise) = self.data_and_noise();
        points
            .iter()
            .zip(noise)
            .map(|(x0, eps)| {
                let (a, s) = (at.signal as f32, at.noise as f32);
                [a * x0[0] + s * eps[0], a * x0[1] + s * eps[1]]
            })
            .collect()
    }

    fn apply(&mut self, command: PlaygroundCommand) {
        match command {
            PlaygroundCommand::Train => self.train(),
            PlaygroundCommand::Stop => {
                for lane in &self.lanes {
                    lane.training.stop();
                }
            }
            PlaygroundCommand::ClearDrawing => self.settings.drawn.clear(),
            PlaygroundCommand::OpenPoints => self.picker.ask(
                PlaygroundPick::OpenPoints,
                FileRequest::open(("Open points (CSV)", "打开点集（CSV）"), "CSV", &["csv"]),
            ),
            PlaygroundCommand::SavePoints => self.picker.ask(
                PlaygroundPick::SavePoints,
                FileRequest::save(
                    ("Save the data as CSV", "把数据保存为 CSV"),
                    "CSV",
                    &["csv"],
                    "points.csv",
                ),
            ),
            PlaygroundCommand::Reflow => self.reflow(),
            PlaygroundCommand::ExportGif => {
                if self.diffusion().model.is_none() {
                    self.message = Some(Message::error_in(
                        |l| {
                            l.pick(
                                "Train the diffusion model first: the GIF shows what it learned.",
                                "请先训练扩散模型：GIF 展示的是它学到的东西。",
                            )
                            .to_owned()
                        },
                        None,
                    ));
                    return;
                }
                self.picker.ask(
                    PlaygroundPick::ExportGif,
                    FileRequest::save(
                        ("Export the animation as GIF", "把动画导出为 GIF"),
                        "GIF",
                        &["gif"],
                        "playground.gif",
                    ),
                );
            }
        }
    }

    /// Whether a file is being read or written.
    pub fn is_busy_with_a_file(&self) -> bool {
        self.file_job.is_some()
    }

    /// Reads or writes `path` for `pick` on a job of its own (what choosing it in the picker does).
    pub fn use_file(&mut self, pick: PlaygroundPick, path: PathBuf) {
        if self.file_job.is_some() {
            return;
        }
        let work: Box<dyn FnOnce() -> FileOutcome + Send> = match pick {
            PlaygroundPick::OpenPoints => Box::new(move || files::open_points(&path)),
            PlaygroundPick::SavePoints => {
                let points = self.settings.points();
                Box::new(move || files::save_points(&path, &points))
            }
            PlaygroundPick::ExportGif => {
                let Some(sampler) = self.diffusion().model.clone() else {
                    return;
                };
                let job = GifJob {
                    data: self.settings.points(),
                    sampler,
                    steps: self.settings.sample_steps,
                    seed: self.settings.seed,
                    lang: self.lang,
                };
                Box::new(move || files::export_gif(&path, &job))
            }
        };
        match Job::spawn("playground-file", Arc::clone(&self.wake), move |_| work()) {
            Ok(job) => self.file_job = Some(job),
            Err(error) => self.message = Some(job_not_started(&error)),
        }
    }

    /// Takes what a finished file job handed back.
    fn collect_file_job(&mut self) {
        let Some(job) = &self.file_job else {
            return;
        };
        let outcome = match job.poll() {
            Poll::Running => return,
            Poll::Done(outcome) => outcome,
            Poll::Lost => FileOutcome::Failed(Message::error_in(
                |l| {
                    l.pick("The file could not be handled.", "无法处理该文件。")
                        .to_owned()
                },
                None,
            )),
        };
        self.file_job = None;
        match outcome {
            FileOutcome::Opened(mut points) => {
                let total = points.len();
                keep_drawable(&mut points);
                let kept = points.len();
                self.settings.data = DataChoice::Drawn;
                self.settings.drawn = points;
                self.message = (kept < total).then(|| {
                    Message::info_in(move |l| {
                        l.pick(
                            format!("The file holds {total} points; the playground learns {kept} of them (the first {MAX_DRAWN} within ±{DRAWABLE_EXTENT} on both axes)."),
                            format!("文件中有 {total} 个点；演练场学习其中 {kept} 个（两轴都在 ±{DRAWABLE_EXTENT} 以内的前 {MAX_DRAWN} 个）。"),
                        )
                    })
                });
            }
            FileOutcome::Written(message) | FileOutcome::Failed(message) => {
                self.message = Some(message);
            }
        }
    }

    /// Starts fresh models on the current data: the diffusion model, or all three.
    fn train(&mut self) {
        for lane in self.lanes.drain(..) {
            lane.training.stop();
        }
        // Revisions count from 1 again in a new run: what was kept by revision goes.
        self.field_cache = None;
        self.density_cache = None;
        self.realness_texture = None;
        self.traced = None;
        let data = self.settings.points();
        if data.len() < 2 {
            self.message = Some(Message::error_in(
                |l| {
                    l.pick(
                        "Draw some points on the plot first (hold the mouse button and move).",
                        "请先在图上画一些点（按住鼠标左键并移动）。",
                    )
                    .to_owned()
                },
                None,
            ));
            return;
        }
        let objective = self.settings.objective;
        let lanes: Vec<(ToyKind, Objective)> = match self.settings.mode {
            PlaygroundMode::Diffusion => vec![(ToyKind::Diffusion, objective)],
            PlaygroundMode::Models => ToyKind::ALL.map(|kind| (kind, objective)).to_vec(),
            PlaygroundMode::Paths => vec![
                (ToyKind::Diffusion, Objective::Eps),
                (ToyKind::Diffusion, Objective::Flow),
            ],
        };
        self.message = None;
        for (kind, objective) in lanes {
            if let Err(message) = self.start_lane(kind, objective, &data) {
                self.message = Some(message);
                return;
            }
        }
        self.step = None;
    }

    /// Starts training a fresh model of `kind` (a diffusion model with `objective`) on `data`.
    fn start_lane(
        &mut self,
        kind: ToyKind,
        objective: Objective,
        data: &[Point],
    ) -> Result<(), Message> {
        let spec = self.spec(objective);
        let data = data.to_vec();
        let make: MakeModel = Box::new(move || {
            fresh_model(kind, data, spec, OLDER_MODELS_LEARNING_RATE).map_err(|e| e.to_string())
        });
        self.start_training(kind, objective, false, make)
    }

    /// Starts training a flow model on the trained flow model's own (noise, sample) pairs, one
    /// for each data point, sampled by the preview's sampler (on the training thread).
    fn reflow(&mut self) {
        let Some(teacher) = self
            .lanes
            .iter()
            .find(|lane| lane.is_flow_teacher())
            .and_then(|lane| lane.shown.model.clone())
        else {
            return;
        };
        self.lanes.retain(|lane| !lane.reflowed);
        let spec = self.spec(Objective::Flow);
        let pairs = (
            self.settings.points().len(),
            self.settings.sample_steps,
            self.settings.seed.wrapping_add(2),
        );
        let make: MakeModel = Box::new(move || {
            ToyDiffusion::reflow(&teacher, pairs, spec)
                .map(|model| Box::new(model) as Box<dyn ToyModel>)
                .map_err(|e| e.to_string())
        });
        if let Err(message) = self.start_training(ToyKind::Diffusion, Objective::Flow, true, make) {
            self.message = Some(message);
        }
    }

    /// Starts a lane training what `make` makes, measured against the current data.
    fn start_training(
        &mut self,
        kind: ToyKind,
        objective: Objective,
        reflowed: bool,
        make: MakeModel,
    ) -> Result<(), Message> {
        let settings = &self.settings;
        let target = Target {
            data: settings.points(),
            modes: match settings.data {
                DataChoice::Shape(shape) => shape.modes(),
                DataChoice::Drawn => Vec::new(),
            },
        };
        let preview = Preview {
            samples: settings.samples,
            steps: settings.sample_steps,
            seed: settings.seed.wrapping_add(1),
            mesh: settings.mode == PlaygroundMode::Diffusion,
        };
        let training = LiveTraining::start(make, target, preview, Arc::clone(&self.wake))
            .map_err(|e| job_not_started(&e))?;
        self.lanes.push(Lane {
            kind,
            objective,
            reflowed,
            training,
            shown: Published::starting(),
        });
        Ok(())
    }

    /// How a diffusion model with `objective` is trained, as the settings say.
    fn spec(&self, objective: Objective) -> ToyDiffusionSpec {
        let settings = &self.settings;
        ToyDiffusionSpec {
            objective,
            schedule: ScheduleConfig::new(settings.schedule, settings.timesteps),
            batch: 256,
            learning_rate: settings.learning_rate,
            size: ToyNetSize::default(),
            seed: settings.seed,
        }
    }

    /// Adds `point` to the drawing (with a few neighbours, as a spray can does), up to
    /// [`MAX_DRAWN`] points.
    pub fn draw_at(&mut self, point: Point) {
        let drawn = &mut self.settings.drawn;
        let k = drawn.len();
        for i in 0..3 {
            if drawn.len() >= MAX_DRAWN.min(MAX_POINTS) {
                return;
            }
            // A fixed scatter around the pointer (golden-angle spiral), no randomness needed.
            let angle = (k + i) as f32 * 2.399_963;
            let radius = 0.04 * ((k + i) % 5) as f32;
            drawn.push([
                point[0] + radius * angle.cos(),
                point[1] + radius * angle.sin(),
            ]);
        }
    }
}

impl View for PlaygroundView {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.pick("Playground: 2D", "演练场：二维")
    }

    fn logic(&mut self, ctx: &egui::Context, lang: Lang) {
        self.lang = lang;
        self.collect_file_job();
        let mesh_shown = self.settings.layers.mesh;
        for lane in &mut self.lanes {
            lane.training.show_mesh(mesh_shown);
            let Some(published) = lane.training.news(&lane.shown) else {
                continue;
            };
            if let Some((en, zh)) = published.failed.clone() {
                let kind = lane.kind;
                self.message = Some(Message::error_in(
                    move |l| format!("{}: {}", kind.label(l), l.pick(en.clone(), zh.clone())),
                    None,
                ));
            }
            lane.shown = published;
        }
        if self.is_training() {
            ctx.request_repaint_after(std::time::Duration::from_millis(300));
        }
    }

    fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) {
        if let Some((pick, path)) = self.picker.ui(ctx, lang) {
            self.use_file(pick, path);
        }
    }

    fn drop_files(&mut self, paths: Vec<PathBuf>) -> bool {
        let csv = paths.into_iter().find(|path| {
            path.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        });
        match csv {
            Some(path) => {
                self.use_file(PlaygroundPick::OpenPoints, path);
                true
            }
            None => false,
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::playground_ui(self, ui, lang);
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
        read_settings_slide::<PlaygroundSettings>(state).is_some()
    }

    fn show_slide_state(&mut self, state: &serde_json::Value) {
        if let Some(settings) = read_settings_slide::<PlaygroundSettings>(state) {
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
                ("Space", "train / stop", "训练 / 停止"),
                ("← →", "forward t", "前向 t"),
                ("[ ]", "reverse step", "反向步"),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_or_lesson_settings_are_brought_into_what_the_view_offers() {
        let mut drawn = vec![[f32::NAN, 0.0], [1e6, 0.0], [0.0, -11.0]];
        drawn.extend((0..6000).map(|i| [i as f32 / 1000.0, 1.0]));
        let wild = PlaygroundSettings {
            count: 10_000_000,
            drawn,
            timesteps: 7,
            learning_rate: f64::NAN,
            sample_steps: 0,
            samples: 1_000_000,
            ..PlaygroundSettings::default()
        }
        .within_offered();
        // The three bad points go, then the first 5000 of the rest are kept.
        assert_eq!(wild.drawn.len(), MAX_DRAWN);
        assert_eq!(
            (wild.drawn[0], wild.drawn[4999]),
            ([0.0, 1.0], [4.999, 1.0])
        );
        assert_eq!(
            (
                wild.count,
                wild.timesteps,
                wild.learning_rate,
                wild.sample_steps,
                wild.samples
            ),
            (20_000, 1000, 1e-2, 1, 4000)
        );
    }
}

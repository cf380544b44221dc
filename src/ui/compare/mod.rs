//! The Compare view: samplers racing from the same noise on one clock of network calls (NFE).
//!
//! `state` holds the race (free of egui) and applies the worker's events; `view` draws the lanes,
//! the shared scrubber and the "how far from done" chart; `textures` keeps each lane's pictures
//! on the GPU. The runs go to a [`Worker`] of this view's own, which gives every run one network
//! call per turn (and joins the calls of runs of one model), so the lanes advance in lockstep.
//! The race exports as one GIF (the lanes side by side, as `diffuscope race` writes it) and as a
//! PNG of the clock shown.

pub mod state;
mod textures;
mod view;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use self::state::{CompareSettings, CompareState, Race};
use self::textures::LaneTextures;
use super::file_picker::{FilePicker, FileRequest};
use super::jobs::{Job, export_ended, job_not_started};
use super::message::Message;
use super::views::{KeyHelp, View, ViewSetup, read_settings_slide, settings_slide};
use crate::export::race::{RaceLane, RaceLayout, race_frame, race_frames};
use crate::export::{ExportError, GifSettings, Repeat, write_gif, write_png};
use crate::i18n::Lang;
use crate::sample::GridSpec;
use crate::worker::{ModelLoader, Request, Worker, WorkerError, default_model_threads};

/// Most events applied per window frame, so a flood of frames never delays drawing.
const MAX_EVENTS_PER_FRAME: usize = 256;

/// What a file chosen in the Compare view is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComparePick {
    /// Where to write the race as a GIF.
    ExportGif,
    /// Where to save the shown clock as a PNG.
    SavePng,
}

/// What the user asked for while the view was drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareCommand {
    /// Start the chosen race (cancelling one going on).
    Race,
    /// Stop the race's runs.
    Stop,
    /// Ask where to export the GIF.
    ExportGif,
    /// Ask where to save the PNG.
    SavePng,
    /// A vote for the left (`false`) or right picture.
    Vote(bool),
}

/// Everything the Compare view owns.
pub struct CompareView {
    /// What is shown.
    pub state: CompareState,
    worker: Option<Worker>,
    loader: Option<Box<dyn ModelLoader>>,
    textures: LaneTextures,
    picker: FilePicker<ComparePick>,
    export: Option<Job<Result<PathBuf, ExportError>>>,
    /// The banner's sentence.
    pub message: Option<Message>,
    wake: Arc<dyn Fn() + Send + Sync>,
    asked: Vec<CompareCommand>,
}

impl CompareView {
    /// [`View::key`] of the Compare view.
    pub const KEY: &'static str = "compare";

    /// The view as the window builds it, from the remembered settings.
    pub fn from_setup(setup: &mut ViewSetup) -> Self {
        let settings = setup.settings_of(Self::KEY);
        Self::new(settings, setup.take_loader(), Arc::clone(&setup.wake))
    }

    /// A view with `settings`, whose worker (started at the first race) loads models with
    /// `loader`; `wake` asks the window to repaint and may be called from any thread.
    pub fn new(
        settings: CompareSettings,
        loader: Box<dyn ModelLoader>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        Self {
            state: CompareState::new(settings),
            worker: None,
            loader: Some(loader),
            textures: LaneTextures::default(),
            picker: FilePicker::new(Arc::clone(&wake)),
            export: None,
            message: None,
            wake,
            asked: Vec::new(),
        }
    }

    /// Asks for `command`, done once the view is drawn.
    pub fn ask(&mut self, command: CompareCommand) {
        self.asked.push(command);
    }

    /// Whether an export is being written.
    pub fn is_exporting(&self) -> bool {
        self.export.is_some()
    }

    fn apply(&mut self, command: CompareCommand) {
        match command {
            CompareCommand::Race => {
                let requests = self.state.start_race();
                self.textures.forget();
                self.send_all(requests);
            }
            CompareCommand::Stop => {
                let requests = self.state.cancel_requests();
                self.send_all(requests);
            }
            CompareCommand::Vote(right) => self.state.cast_vote(right),
            CompareCommand::ExportGif => self.ask_file(
                ComparePick::ExportGif,
                FileRequest::save(
                    ("Export the race as a GIF", "将比赛导出为 GIF"),
                    "GIF",
                    &["gif"],
                    "race.gif",
                ),
            ),
            CompareCommand::SavePng => self.ask_file(
                ComparePick::SavePng,
                FileRequest::save(
                    ("Save the race as a PNG", "将比赛保存为 PNG"),
                    "PNG",
                    &["png"],
                    "race.png",
                ),
            ),
        }
    }

    /// Asks for a file, if there is a race to write and no export going on.
    fn ask_file(&mut self, pick: ComparePick, request: FileRequest) {
        if self.is_exporting() {
            return;
        }
        if self
            .state
            .race
            .as_ref()
            .is_none_or(|race| race.live_clock() == 0)
        {
            self.message = Some(Message::error_in(|l| nothing_to_export(l).into(), None));
            return;
        }
        self.picker.ask(pick, request);
    }

    /// Writes the race as a GIF (every clock value a frame) to `path` in the background.
    pub fn export_gif(&mut self, path: PathBuf) {
        self.export(ComparePick::ExportGif, path);
    }

    /// Writes the clock shown as a PNG to `path` in the background.
    pub fn save_png(&mut self, path: PathBuf) {
        self.export(ComparePick::SavePng, path);
    }

    /// Writes the race (the GIF of every clock value, or the shown clock as a PNG) to `path` in
    /// the background.
    fn export(&mut self, pick: ComparePick, path: PathBuf) {
        if self.is_exporting() {
            return;
        }
        let Some(race) = self.state.race.clone() else {
            self.message = Some(Message::error_in(|l| nothing_to_export(l).into(), None));
            return;
        };
        let clock = self.state.clock;
        let job = Job::spawn("compare-export", Arc::clone(&self.wake), move |_| {
            write_race(&race, pick, clock, &path).map(|()| path)
        });
        match job {
            Ok(job) => self.export = Some(job),
            Err(error) => self.message = Some(job_not_started(&error)),
        }
    }

    /// Sends the requests to the worker (started on first use); on failure shows why.
    fn send_all(&mut self, requests: Vec<Request>) {
        if self.worker.is_none()
            && let Some(loader) = self.loader.take()
        {
            match Worker::spawn(loader, default_model_threads(), Arc::clone(&self.wake)) {
                Ok(worker) => self.worker = Some(worker),
                Err(error) => self.message = Some(Message::error_in(|l| error.sentence(l), None)),
            }
        }
        for request in requests {
            let sent = self
                .worker
                .as_ref()
                .ok_or(WorkerError::Gone)
                .and_then(|worker| worker.send(request));
            if let Err(error) = sent {
                self.message = Some(Message::error_in(|l| error.sentence(l), None));
                return;
            }
        }
    }

    /// Collects a finished export.
    fn poll_export(&mut self) {
        let Some(job) = &self.export else {
            return;
        };
        let lost = || Message::error_in(|l| WorkerError::Gone.sentence(l), None);
        if let Some(message) = export_ended(job, lost) {
            self.message = Some(message);
            self.export = None;
        }
    }
}

/// The frames of `race` written to `path`: every clock value as a GIF, or the clock `clock` as
/// a PNG.
fn write_race(
    race: &Race,
    pick: ComparePick,
    clock: usize,
    path: &std::path::Path,
) -> Result<(), ExportError> {
    match pick {
        ComparePick::ExportGif => {
            let (lanes, layout) = race_lanes(race);
            let frames = race_frames(&lanes, &layout, &race.clock_values());
            let settings = GifSettings {
                fps: 10.0,
                repeat: Repeat::Forever,
                hold_last_s: 2.0,
                ..GifSettings::default()
            };
            write_gif(path, &frames, &settings, &|_| {}).map(|_| ())
        }
        ComparePick::SavePng => write_png(path, &race_picture(race, clock)),
    }
}

/// The race's lanes as the export draws them, and their layout (samples 3× enlarged).
fn race_lanes(race: &Race) -> (Vec<RaceLane<'_>>, RaceLayout) {
    let lanes = race
        .lanes
        .iter()
        .map(|lane| RaceLane {
            title: lane.spec.title(),
            trace: &lane.trace,
        })
        .collect();
    let side = race.settings.grid_side.clamp(1, 4);
    let layout = RaceLayout {
        grid: GridSpec {
            columns: side as u32,
            rows: side as u32,
        },
        image_shape: race.image_shape(),
        scale: 3,
    };
    (lanes, layout)
}

/// The race at `clock`: the lanes side by side, captioned, as its PNG.
pub fn race_picture(race: &Race, clock: usize) -> image::RgbImage {
    let (lanes, layout) = race_lanes(race);
    race_frame(&lanes, &layout, clock)
}

fn nothing_to_export(lang: Lang) -> &'static str {
    lang.pick(
        "There is no race to export yet: press Race first.",
        "还没有可导出的比赛：请先点击“开始比赛”。",
    )
}

impl View for CompareView {
    fn key(&self) -> &'static str {
        Self::KEY
    }

    fn title(&self, lang: Lang) -> &'static str {
        lang.pick("Compare: samplers race", "比较：采样器赛跑")
    }

    /// Applies the worker's events, collects an export and advances playback.
    fn logic(&mut self, ctx: &egui::Context, _lang: Lang) {
        if let Some(worker) = &self.worker {
            let mut requests = Vec::new();
            for _ in 0..MAX_EVENTS_PER_FRAME {
                let Some(event) = worker.try_recv() else {
                    break;
                };
                let applied = self.state.apply(event);
                requests.extend(applied.requests);
                if let Some((en, zh)) = applied.error {
                    self.message = Some(Message::error_in(
                        move |l| match l {
                            Lang::En => en.clone(),
                            Lang::Zh => zh.clone(),
                        },
                        None,
                    ));
                }
            }
            if !worker.is_alive() && self.message.is_none() {
                self.message = Some(Message::error_in(|l| WorkerError::Gone.sentence(l), None));
            }
            self.send_all(requests);
        }
        self.poll_export();
        self.state.tick(Instant::now());
        if self.state.playing {
            ctx.request_repaint();
        }
    }

    fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) {
        if let Some((pick, path)) = self.picker.ui(ctx, lang) {
            self.export(pick, path);
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, lang: Lang) {
        view::compare_ui(self, ui, lang);
        for command in std::mem::take(&mut self.asked) {
            self.apply(command);
        }
    }

    fn settings_json(&self) -> String {
        serde_json::to_string(&self.state.settings).unwrap_or_default()
    }

    fn slide_state(&self) -> serde_json::Value {
        settings_slide(&self.state.settings)
    }

    fn reads_slide_state(&self, state: &serde_json::Value) -> bool {
        read_settings_slide::<CompareSettings>(state).is_some()
    }

    fn pictures(&self, lang: Lang) -> Vec<(String, image::RgbImage)> {
        self.state
            .race
            .as_ref()
            .map(|race| {
                let title = lang.pick("The race", "比赛");
                let caption = format!("{title} · {} NFE", self.state.clock);
                vec![(caption, race_picture(race, self.state.clock))]
            })
            .unwrap_or_default()
    }

    fn figures(&self, lang: Lang) -> Vec<crate::export::figure::Figure> {
        self.state
            .race
            .as_ref()
            .map(|race| vec![view::distance_figure(race, lang)])
            .unwrap_or_default()
    }

    fn show_slide_state(&mut self, state: &serde_json::Value) {
        if let Some(settings) = read_settings_slide::<CompareSettings>(state) {
            self.state.settings = settings.within_offered();
        }
    }

    fn show_message(&mut self, message: Message) {
        self.message = Some(message);
    }

    fn keys(&self, lang: Lang) -> Vec<KeyHelp> {
        KeyHelp::table(
            lang,
            &[
                ("G / Enter", "start the race", "开始比赛"),
                ("Esc", "stop the race", "停止比赛"),
                ("← →", "one network call back / on", "后退/前进一次网络调用"),
                ("Shift+← →", "ten calls", "十次调用"),
                ("Space", "play / pause", "播放/暂停"),
                (
                    "1 / 2",
                    "vote for the left / right picture",
                    "投票给左边/右边的图",
                ),
                ("Ctrl+E", "export a GIF", "导出 GIF"),
                ("Ctrl+S", "save a PNG", "保存 PNG"),
            ],
        )
    }
}

//! The Reverse view's state, free of egui: the user's choices, the loaded model, the run being
//! recorded or shown, and which step and sample are on screen. Events from the worker are applied
//! here ([`ReverseState::apply`]), and ignored when they belong to a run no longer shown.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::sample::{GridSpec, starting_noise};
use crate::worker::{Event, ModelSource, ModelSummary, RunId, RunRecord, RunSettings, WorkerError};

/// The shipped diffusion models, in menu order.
pub const SHIPPED: [&str; 3] = ["digits-eps", "digits-v", "digits-flow"];
/// Grid sides offered: 1, 4, 16 or 64 samples.
pub const GRID_SIDES: [u32; 4] = [1, 2, 4, 8];
/// Steps a second when playing back a recorded run.
pub const PLAYBACK_STEPS_PER_SEC: f64 = 30.0;

/// The Reverse view's choices that persist between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReverseSettings {
    /// The shipped model's name.
    pub model: String,
    /// The sampler's command-line name.
    pub sampler: String,
    /// Steps of a run.
    pub steps: usize,
    /// Seed of the noise.
    pub seed: u64,
    /// The digit to draw, or `None` for any digit.
    pub digit: Option<u32>,
    /// Classifier-free guidance scale w.
    pub guidance: f32,
    /// Samples per side of the grid (1, 2, 4 or 8).
    pub grid_side: u32,
    /// GIF export: every how many steps a frame.
    pub gif_stride: usize,
    /// GIF export: frames per second.
    pub gif_fps: f32,
    /// GIF export: enlargement.
    pub gif_scale: u32,
    /// GIF export: only the selected sample (else the whole grid).
    pub gif_selected_only: bool,
    /// Show a real digit noised to the same point of the path beside the selected sample.
    pub side_by_side: bool,
}

impl Default for ReverseSettings {
    fn default() -> Self {
        Self {
            model: SHIPPED[0].to_owned(),
            sampler: SamplerKind::Ddim.cli_name().to_owned(),
            steps: 50,
            seed: 1,
            digit: Some(7),
            guidance: 3.0,
            grid_side: 4,
            gif_stride: 2,
            gif_fps: 12.0,
            gif_scale: 6,
            gif_selected_only: false,
            side_by_side: true,
        }
    }
}

impl ReverseSettings {
    /// The grid of samples.
    pub fn grid(&self) -> GridSpec {
        let side = if GRID_SIDES.contains(&self.grid_side) {
            self.grid_side
        } else {
            4
        };
        GridSpec {
            columns: side,
            rows: side,
        }
    }

    /// The sampler chosen, if it can drive `objective`; else that objective's usual one.
    pub fn sampler_for(&self, objective: Objective) -> SamplerKind {
        self.sampler
            .parse::<SamplerKind>()
            .ok()
            .filter(|kind| kind.supports(objective))
            .unwrap_or_else(|| SamplerKind::default_for(objective))
    }

    /// What a run with these choices asks for, for a model predicting `objective`.
    pub fn run_settings(&self, objective: Objective) -> RunSettings {
        let kind = self.sampler_for(objective);
        RunSettings {
            sampler: SamplerSpec::new(kind, self.steps.max(1)),
            seed: self.seed,
            labels: vec![self.digit; self.grid().count()],
            guidance: self.guidance,
        }
    }
}

/// How the current run stands.
#[derive(Clone, Debug, PartialEq)]
pub enum RunStatus {
    /// No run yet.
    Idle,
    /// Asked for, no frame yet.
    Starting,
    /// Frames are arriving: `done` of `total` steps.
    Running {
        /// Steps done.
        done: usize,
        /// Steps in all.
        total: usize,
    },
    /// Reached the images.
    Finished {
        /// Wall time of the run.
        elapsed: Duration,
        /// Network calls made.
        network_calls: usize,
    },
    /// Stopped by the user (or replaced) at a step.
    Cancelled {
        /// The last step shown.
        step: usize,
    },
    /// Failed; the sentence is in the view's message.
    Failed,
}

/// Everything the Reverse view shows.
pub struct ReverseState {
    /// The user's choices.
    pub settings: ReverseSettings,
    /// The model in use, once loaded.
    pub model: Option<ModelSummary>,
    /// The model being loaded, if any.
    pub loading_model: Option<ModelSource>,
    /// The run shown: being recorded, or finished.
    pub record: Option<RunRecord>,
    /// The run id events must carry to be applied.
    pub current_run: Option<RunId>,
    /// The last id given out.
    last_run_id: RunId,
    /// How the current run stands.
    pub status: RunStatus,
    /// The recorded step on screen; `None` follows the newest frame while a run streams.
    pub shown: Option<usize>,
    /// The sample whose panels are shown, 0..batch.
    pub selected: usize,
    /// Playing back the recorded steps.
    pub playing: bool,
    playback_position: f64,
    /// When Generate was pressed, until the first frame arrived.
    pub generate_pressed: Option<Instant>,
    /// Time from Generate to the first model step of the latest run.
    pub first_frame_latency: Option<Duration>,
    /// Time from Generate to the first window frame showing the run's starting noise.
    pub noise_shown_latency: Option<Duration>,
    /// Network calls so far (from progress events).
    pub network_calls: usize,
    /// One real training digit per class (784 values each), loaded on first use.
    examples: Option<Vec<Vec<f32>>>,
}

/// What the view must do after an event was applied.
#[derive(Debug)]
pub enum Applied {
    /// Nothing more.
    Nothing,
    /// Show this error.
    Error(WorkerError),
}

impl ReverseState {
    /// A state with `settings` and no model yet.
    pub fn new(settings: ReverseSettings) -> Self {
        Self {
            settings,
            model: None,
            loading_model: None,
            record: None,
            current_run: None,
            last_run_id: 0,
            status: RunStatus::Idle,
            shown: None,
            selected: 0,
            playing: false,
            playback_position: 0.0,
            generate_pressed: None,
            first_frame_latency: None,
            noise_shown_latency: None,
            network_calls: 0,
            examples: None,
        }
    }

    /// A real digit of class `digit` from the shipped MNIST set (the first of its class), for the
    /// side-by-side forward chain; `None` if the set cannot be read.
    pub fn example_digit(&mut self, digit: u32) -> Option<&[f32]> {
        if self.examples.is_none() {
            let digits = crate::data::mnist::load_bundled_digits().ok()?;
            let examples = (0..10_u8)
                .map(|class| {
                    digits
                        .labels
                        .iter()
                        .position(|&label| label == class)
                        .and_then(|i| digits.image_unit(i))
                        .unwrap_or_default()
                })
                .collect();
            self.examples = Some(examples);
        }
        self.examples
            .as_ref()?
            .get(digit as usize)
            .map(Vec::as_slice)
            .filter(|d| !d.is_empty())
    }

    /// Starts recording a new run with the current settings and returns its id and settings, or
    /// `None` if no model is loaded.
    pub fn begin_run(&mut self) -> Option<(RunId, RunSettings)> {
        let model = self.model.as_ref()?;
        let settings = self.settings.run_settings(model.objective);
        self.last_run_id += 1;
        let id = self.last_run_id;
        let mut record = RunRecord::new(model.source.label(), settings.clone(), model.image_size);
        let pixels = model.image_size.0 * model.image_size.1;
        record.start = starting_noise(settings.labels.len() * pixels, settings.seed);
        self.record = Some(record);
        self.noise_shown_latency = None;
        self.first_frame_latency = None;
        self.current_run = Some(id);
        self.status = RunStatus::Starting;
        self.shown = None;
        self.playing = false;
        self.network_calls = 0;
        self.selected = self.selected.min(settings.labels.len().saturating_sub(1));
        self.generate_pressed = Some(Instant::now());
        Some((id, settings))
    }

    /// The grid a record is laid out in (square, from its batch).
    pub fn settings_grid(&self, record: &RunRecord) -> GridSpec {
        let side = (1..=GRID_SIDES[GRID_SIDES.len() - 1])
            .find(|side| (side * side) as usize >= record.batch())
            .unwrap_or(1);
        GridSpec {
            columns: side,
            rows: side,
        }
    }

    /// The class of the real digit shown beside the selected sample: its requested digit, or for
    /// an unconditional sample the selected position's last digit.
    pub fn example_class(&self) -> u32 {
        let selected = self.selected;
        self.record
            .as_ref()
            .and_then(|r| r.settings.labels.get(selected).copied().flatten())
            .unwrap_or((selected % 10) as u32)
    }

    /// Whether a run is streaming.
    pub fn is_running(&self) -> bool {
        matches!(self.status, RunStatus::Starting | RunStatus::Running { .. })
    }

    /// Applies a worker event; events of other runs than the current one are dropped.
    pub fn apply(&mut self, event: Event) -> Applied {
        if let Some(id) = event.run_id()
            && Some(id) != self.current_run
        {
            return Applied::Nothing;
        }
        match event {
            Event::ModelLoaded(summary) => {
                self.loading_model = None;
                self.model = Some(summary);
            }
            Event::ModelFailed { error, .. } => {
                self.loading_model = None;
                return Applied::Error(error);
            }
            Event::Frame { frame, .. } => {
                if let Some(pressed) = self.generate_pressed.take() {
                    self.first_frame_latency = Some(pressed.elapsed());
                }
                if let Some(record) = &mut self.record {
                    record.frames.push(*frame);
                }
            }
            Event::Progress {
                done,
                total,
                network_calls,
                ..
            } => {
                self.status = RunStatus::Running { done, total };
                self.network_calls = network_calls;
            }
            Event::Finished {
                samples,
                network_calls,
                elapsed,
                ..
            } => {
                if let Some(record) = &mut self.record {
                    record.samples = Some(samples);
                }
                self.network_calls = network_calls;
                self.status = RunStatus::Finished {
                    elapsed,
                    network_calls,
                };
                self.current_run = None;
            }
            Event::Cancelled { step, .. } => {
                self.status = RunStatus::Cancelled { step };
                self.current_run = None;
            }
            Event::Failed { error, .. } => {
                self.status = RunStatus::Failed;
                self.current_run = None;
                return Applied::Error(error);
            }
        }
        Applied::Nothing
    }

    /// Recorded steps, plus one for the finished images.
    pub fn timeline_len(&self) -> usize {
        self.record
            .as_ref()
            .map_or(0, |r| r.frames.len() + usize::from(r.samples.is_some()))
    }

    /// The position on the timeline shown: a recorded step, or `frames.len()` for the finished
    /// images. While a run streams and nothing was chosen, the newest.
    pub fn shown_index(&self) -> Option<usize> {
        let len = self.timeline_len();
        if len == 0 {
            return None;
        }
        Some(self.shown.map_or(len - 1, |i| i.min(len - 1)))
    }

    /// Shows timeline position `index` (clamped), and stops following new frames.
    pub fn show(&mut self, index: usize) {
        let len = self.timeline_len();
        if len > 0 {
            self.shown = Some(index.min(len - 1));
        }
    }

    /// Moves the shown position by `delta` steps.
    pub fn step_by(&mut self, delta: isize) {
        if let Some(current) = self.shown_index() {
            self.show(current.saturating_add_signed(delta));
        }
    }

    /// Starts or stops playback (from the start if at the end).
    pub fn toggle_playing(&mut self) {
        self.playing = !self.playing;
        if self.playing {
            let len = self.timeline_len();
            let at = self.shown_index().unwrap_or(0);
            let at = if at + 1 >= len { 0 } else { at };
            self.show(at);
            self.playback_position = at as f64;
        }
    }

    /// Advances playback by `dt` seconds; stops at the end.
    pub fn advance(&mut self, dt: f64) {
        if !self.playing {
            return;
        }
        let len = self.timeline_len();
        self.playback_position += dt * PLAYBACK_STEPS_PER_SEC.max(len as f64 / 8.0);
        if self.playback_position >= len.saturating_sub(1) as f64 {
            self.playing = false;
            self.show(len.saturating_sub(1));
        } else {
            self.show(self.playback_position as usize);
        }
    }
}

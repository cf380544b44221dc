//! The Reverse view's state, free of egui: the user's choices, the loaded model, the run being
//! recorded or shown, and which step and sample are on screen. Events from the worker are applied
//! here ([`ReverseState::apply`]), and ignored when they belong to a run no longer shown.

use std::sync::Arc;
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
/// Steps a second when playing back a recorded run, at least (a long run plays in at most 8 s).
pub const MIN_PLAYBACK_STEPS_PER_SEC: f64 = 30.0;
/// The most frames a GIF exported from the window gets (an 8×8 grid frame enlarged 6 times is
/// about 6 MB before compression).
pub const MAX_GIF_FRAMES: usize = 120;

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
    /// GIF export: every how many steps a frame (raised if the GIF would have more than
    /// [`MAX_GIF_FRAMES`] frames).
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
            gif_stride: 1,
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

    /// The stride a GIF of a run of `recorded` steps uses: the chosen one, raised so the GIF has
    /// at most [`MAX_GIF_FRAMES`] frames.
    pub fn gif_stride_for(&self, recorded: usize) -> usize {
        self.gif_stride
            .max(1)
            .max(recorded.div_ceil(MAX_GIF_FRAMES - 1))
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
    /// One real training digit per class (784 values each), loaded in the background.
    examples: Option<Vec<Vec<f32>>>,
    /// Counts runs begun, so that caches know when the record changed.
    pub run_generation: u64,
    /// When the latest run was begun (for the starting-noise latency).
    pub run_begun: Option<Instant>,
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
            run_generation: 0,
            run_begun: None,
        }
    }

    /// Starts recording a new run with the current settings and returns its id and settings, or
    /// `None` if no model is loaded or one is loading.
    pub fn begin_run(&mut self) -> Option<(RunId, RunSettings)> {
        if self.loading_model.is_some() {
            return None;
        }
        let model = self.model.as_ref()?;
        let settings = self.settings.run_settings(model.objective);
        self.last_run_id += 1;
        let id = self.last_run_id;
        let mut record = RunRecord::new(model.source.label(), settings.clone(), model.image_size);
        let pixels = model.image_size.0 * model.image_size.1;
        record.start = starting_noise(settings.labels.len(), pixels, settings.seed);
        self.record = Some(record);
        self.noise_shown_latency = None;
        self.first_frame_latency = None;
        self.current_run = Some(id);
        self.status = RunStatus::Starting;
        self.shown = None;
        self.playing = false;
        self.network_calls = 0;
        self.selected = self.selected.min(settings.labels.len().saturating_sub(1));
        let now = Instant::now();
        self.generate_pressed = Some(now);
        self.run_begun = Some(now);
        self.run_generation += 1;
        Some((id, settings))
    }

    /// The request for a run could not reach the worker: the run never starts.
    pub fn run_not_sent(&mut self) {
        self.current_run = None;
        self.status = RunStatus::Failed;
        self.generate_pressed = None;
    }

    /// A model request failed or could not reach the worker: nothing is loading, and the menu
    /// names the model still in use.
    pub fn load_not_sent(&mut self) {
        self.loading_model = None;
        if let Some(model) = &self.model {
            self.settings.model = model.source.label();
        }
    }

    /// The real digit of class `digit` (784 values), once the examples have been loaded.
    pub fn example_digit(&self, digit: u32) -> Option<&[f32]> {
        self.examples
            .as_ref()?
            .get(digit as usize)
            .map(Vec::as_slice)
            .filter(|d| !d.is_empty())
    }

    /// Sets the real digits shown side by side (one per class; empty if they could not be read).
    pub fn set_examples(&mut self, examples: Vec<Vec<f32>>) {
        self.examples = Some(examples);
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

    /// Whether Generate can start a run now (a model is loaded and none is loading).
    pub fn can_generate(&self) -> bool {
        self.model.is_some() && self.loading_model.is_none()
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
                // The previous model (if any) stays, and the menu says so.
                self.load_not_sent();
                return Applied::Error(error);
            }
            Event::Frame { frame, .. } => {
                if let Some(pressed) = self.generate_pressed.take() {
                    self.first_frame_latency = Some(pressed.elapsed());
                }
                if let Some(record) = &mut self.record {
                    record.frames.push(Arc::from(frame));
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
        self.playback_position += dt * MIN_PLAYBACK_STEPS_PER_SEC.max(len as f64 / 8.0);
        if self.playback_position >= len.saturating_sub(1) as f64 {
            self.playing = false;
            self.show(len.saturating_sub(1));
        } else {
            self.show(self.playback_position as usize);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::NoiseSchedule;
    use crate::diffusion::ScheduleConfig;

    fn summary(name: &str) -> ModelSummary {
        ModelSummary {
            source: ModelSource::Shipped(name.into()),
            objective: Objective::Eps,
            schedule: NoiseSchedule::new(ScheduleConfig::default()),
            image_size: (28, 28),
            device: "CPU".into(),
            metadata: Vec::new(),
        }
    }

    #[test]
    fn events_of_other_runs_are_ignored_and_runs_wait_for_a_loading_model() {
        let mut state = ReverseState::new(ReverseSettings::default());
        assert!(state.begin_run().is_none(), "no model yet");
        state.apply(Event::ModelLoaded(summary("digits-eps")));
        let (first, _) = state
            .begin_run()
            .unwrap_or_else(|| panic!("a model is loaded"));
        let (second, _) = state
            .begin_run()
            .unwrap_or_else(|| panic!("a model is loaded"));
        // The first run's late events change nothing.
        state.apply(Event::Cancelled { id: first, step: 3 });
        state.apply(Event::Progress {
            id: first,
            done: 9,
            total: 10,
            network_calls: 9,
            elapsed: Duration::ZERO,
        });
        assert_eq!(state.status, RunStatus::Starting);
        assert_eq!(state.current_run, Some(second));
        state.apply(Event::Cancelled {
            id: second,
            step: 0,
        });
        assert_eq!(state.current_run, None);

        // While another model loads, Generate waits; if it fails the menu names the old one.
        state.settings.model = "digits-v".into();
        state.loading_model = Some(ModelSource::Shipped("digits-v".into()));
        assert!(!state.can_generate() && state.begin_run().is_none());
        let applied = state.apply(Event::ModelFailed {
            source: ModelSource::Shipped("digits-v".into()),
            error: WorkerError::NoModel,
        });
        assert!(matches!(applied, Applied::Error(_)));
        assert_eq!(state.settings.model, "digits-eps");
        assert!(state.can_generate());
    }

    #[test]
    fn long_runs_get_a_wider_gif_stride() {
        let settings = ReverseSettings::default();
        assert_eq!(settings.gif_stride_for(50), 1);
        assert_eq!(settings.gif_stride_for(1000), 9);
        let wide = ReverseSettings {
            gif_stride: 20,
            ..ReverseSettings::default()
        };
        assert_eq!(wide.gif_stride_for(1000), 20);
    }
}

//! The Reverse view's state, free of egui: the user's choices, the loaded model, the run being
//! recorded or shown, and which step and sample are on screen. Events from the worker are applied
//! here ([`ReverseState::apply`]), and ignored when they belong to a run no longer shown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::history::{RunHistory, run_bytes};
use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::{
    DdimStep, DiffusersOptions, FlowShift, FlowSigmas, SamplerKind, SamplerSpec,
};
use crate::i18n::Lang;
use crate::model::shipped::SHIPPED_MODELS;
use crate::sample::{GridSpec, starting_noise};
use crate::worker::{
    Event, LoadId, ModelSource, ModelSummary, RunId, RunRecord, RunSettings, WorkerError,
};

/// Grid sides offered: 1, 4, 16 or 64 samples.
pub const GRID_SIDES: [u32; 4] = [1, 2, 4, 8];
/// Steps a second when playing back a recorded run at 1×, at least (at 1× a long run plays in at
/// most 8 s).
pub const MIN_PLAYBACK_STEPS_PER_SEC: f64 = 30.0;
/// The replay speeds offered, as multiples of the usual one.
pub const REPLAY_SPEEDS: [f32; 5] = [0.25, 0.5, 1.0, 2.0, 4.0];
/// The longest pause between two window frames that playback makes up for (a window hidden for a
/// minute does not jump to the end when it comes back).
const MAX_PLAYBACK_GAP_SECS: f64 = 1.0;
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
    /// GIF export: whether the GIF must fit in [`Self::gif_max_mb`] (then a wider stride or a
    /// smaller enlargement is chosen as needed).
    pub gif_limit_size: bool,
    /// GIF export: the size limit in megabytes (millions of bytes).
    pub gif_max_mb: f32,
    /// Show a real digit noised to the same point of the path beside the selected sample.
    pub side_by_side: bool,
    /// Replay speed, a multiple of the usual one (one of [`REPLAY_SPEEDS`]).
    pub replay_speed: f32,
    /// Step as diffusers does (DDIM to t − ⌊T/n⌋, flow over diffusers' σ's) rather than by the
    /// formula's rule.
    pub diffusers_rule: bool,
}

impl Default for ReverseSettings {
    fn default() -> Self {
        Self {
            model: SHIPPED_MODELS[0].name.to_owned(),
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
            gif_limit_size: false,
            gif_max_mb: crate::ui::gif_size::DEFAULT_MAX_MB,
            side_by_side: true,
            replay_speed: 1.0,
            diffusers_rule: false,
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

    /// The replay speed, one of [`REPLAY_SPEEDS`] (1× if the stored one is not).
    pub fn replay_speed(&self) -> f32 {
        if REPLAY_SPEEDS.contains(&self.replay_speed) {
            self.replay_speed
        } else {
            1.0
        }
    }

    /// Takes over what `run` was made with (sampler, steps, seed, digit, guidance and, when the
    /// grid is one offered, the number of samples); the model is the caller's business.
    pub fn adopt(&mut self, run: &RunSettings) {
        self.sampler = run.sampler.kind.cli_name().to_owned();
        self.steps = run.sampler.steps;
        self.seed = run.seed;
        self.digit = run.labels.first().copied().flatten();
        self.guidance = run.guidance;
        self.diffusers_rule = run.sampler.diffusers != DiffusersOptions::default();
        if let Some(&side) = GRID_SIDES
            .iter()
            .find(|&&side| (side * side) as usize == run.labels.len())
        {
            self.grid_side = side;
        }
    }

    /// What a run with these choices asks for, for a model predicting `objective`.
    pub fn run_settings(&self, objective: Objective) -> RunSettings {
        self.run_settings_with(objective, None)
    }

    /// The same for a model that came with its own scheduler (`own`, a diffusers pipeline's):
    /// "step as diffusers does" with that scheduler's sampler runs it exactly (spacing,
    /// `steps_offset`, clipping, σ's), with the steps chosen here.
    pub fn run_settings_with(
        &self,
        objective: Objective,
        own: Option<&SamplerSpec>,
    ) -> RunSettings {
        let kind = self.sampler_for(objective);
        let mut sampler = SamplerSpec::new(kind, self.steps.max(1));
        if let Some(own) = own.filter(|own| self.diffusers_rule && own.kind == kind) {
            sampler = SamplerSpec {
                steps: self.steps.max(1),
                ..own.clone()
            };
        } else if self.diffusers_rule && kind.has_diffusers_rule() {
            sampler.diffusers.ddim_step = DdimStep::Diffusers;
            sampler.diffusers.flow_sigmas = FlowSigmas::Diffusers {
                shift: FlowShift::Fixed(1.0),
                terminal: None,
            };
            sampler.diffusers.eps_from_clipped_x0 = false;
        }
        RunSettings {
            sampler,
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
    /// The model in use, once loaded, and the number the worker holds it under.
    pub model: Option<ModelSummary>,
    held_model: LoadId,
    /// The model being loaded, if any (the latest one asked for).
    pub loading_model: Option<ModelSource>,
    /// The number of the latest model request: only its answer ends the loading.
    last_load_id: LoadId,
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
    /// When playback last moved (it moves by the wall clock, whatever the frame rate).
    playback_clock: Option<Instant>,
    /// The runs kept besides the one on screen.
    pub history: RunHistory,
    /// The number (run id) of the run on screen; 0 before the first.
    pub shown_run: RunId,
    /// Runs let go to stay within the memory budget, for the view to mention.
    pub dropped: Vec<DroppedRun>,
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

/// A kept run let go to stay within the memory budget.
#[derive(Clone, Debug, PartialEq)]
pub struct DroppedRun {
    /// Its number.
    pub number: RunId,
    /// What it was, in English and in Chinese ("DDPM · 1000 steps · seed 1").
    pub described: [String; 2],
}

/// What the view must do after an event was applied.
#[derive(Debug)]
pub enum Applied {
    /// Nothing more.
    Nothing,
    /// Show this error.
    Error(WorkerError),
    /// Ask the worker to let this model go: it was replaced, or answers a replaced request.
    Release(LoadId),
}

/// A run to ask the worker for.
#[derive(Clone, Debug, PartialEq)]
pub struct RunStart {
    /// The run's number.
    pub id: RunId,
    /// The model, by the number the worker holds it under.
    pub model: LoadId,
    /// What to make.
    pub settings: RunSettings,
    /// The run it replaces, still going: to be cancelled.
    pub replaces: Option<RunId>,
}

impl ReverseState {
    /// A state with `settings` and no model yet.
    pub fn new(settings: ReverseSettings) -> Self {
        Self {
            settings,
            model: None,
            held_model: 0,
            loading_model: None,
            record: None,
            current_run: None,
            last_run_id: 0,
            last_load_id: 0,
            status: RunStatus::Idle,
            shown: None,
            selected: 0,
            playing: false,
            playback_position: 0.0,
            playback_clock: None,
            history: RunHistory::default(),
            shown_run: 0,
            dropped: Vec::new(),
            generate_pressed: None,
            first_frame_latency: None,
            noise_shown_latency: None,
            network_calls: 0,
            examples: None,
            run_generation: 0,
            run_begun: None,
        }
    }

    /// Starts recording a new run with the current settings and returns what to ask the worker,
    /// or `None` if no model is loaded or one is loading.
    pub fn begin_run(&mut self) -> Option<RunStart> {
        if self.loading_model.is_some() {
            return None;
        }
        let model = self.model.as_ref()?;
        let settings = self
            .settings
            .run_settings_with(model.objective, model.scheduler.as_ref());
        let replaces = self.current_run;
        self.last_run_id += 1;
        let id = self.last_run_id;
        let mut record = RunRecord::new(model.source.label(), settings.clone(), model.image_shape);
        let pixels = model.image_shape.values();
        record.start = starting_noise(settings.labels.len(), pixels, settings.seed);
        self.keep_shown();
        self.record = Some(record);
        self.shown_run = id;
        self.enforce_budget();
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
        Some(RunStart {
            id,
            model: self.held_model,
            settings,
            replaces,
        })
    }

    /// The request for a run could not reach the worker: the run never starts.
    pub fn run_not_sent(&mut self) {
        self.current_run = None;
        self.status = RunStatus::Failed;
        self.generate_pressed = None;
    }

    /// Records that `source` is asked for and returns the request's number.
    pub fn begin_load(&mut self, source: ModelSource) -> LoadId {
        self.loading_model = Some(source);
        self.last_load_id += 1;
        self.last_load_id
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

    /// Whether the real digits have been read (or found unreadable): the view's layout no longer
    /// waits on them.
    pub fn examples_settled(&self) -> bool {
        self.examples.is_some()
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

    /// Moves the run on screen into the history (it must not be streaming any more).
    fn keep_shown(&mut self) {
        if let Some(record) = self.record.take() {
            self.history.keep(self.shown_run, record);
        }
    }

    /// Lets the oldest kept runs go while the kept runs and the one on screen exceed the budget,
    /// noting which for the view.
    fn enforce_budget(&mut self) {
        let shown_bytes = self.record.as_ref().map_or(0, run_bytes);
        for run in self.history.enforce(shown_bytes) {
            self.dropped.push(DroppedRun {
                number: run.number,
                described: Lang::ALL.map(|lang| run.record.describe_in(lang)),
            });
        }
    }

    /// Shows kept run `number` instead of the one on screen (which is kept in its place).
    /// Refused (returns `false`) while a run streams, or if there is no such run.
    pub fn show_kept(&mut self, number: RunId) -> bool {
        if self.is_running() {
            return false;
        }
        let Some(kept) = self.history.take(number) else {
            return false;
        };
        self.keep_shown();
        self.put_on_screen(kept.record, kept.number);
        true
    }

    /// Shows `record` (a run opened from a file) as a new run, keeping the one on screen.
    /// Refused (returns `false`) while a run streams.
    pub fn show_opened(&mut self, record: RunRecord) -> bool {
        if self.is_running() {
            return false;
        }
        self.keep_shown();
        self.last_run_id += 1;
        self.put_on_screen(record, self.last_run_id);
        self.enforce_budget();
        true
    }

    fn put_on_screen(&mut self, record: RunRecord, number: RunId) {
        self.status = status_of(&record);
        self.network_calls = record.network_calls;
        self.selected = self.selected.min(record.batch().saturating_sub(1));
        self.record = Some(record);
        self.shown_run = number;
        self.shown = None;
        self.playing = false;
        self.generate_pressed = None;
        self.run_generation += 1;
    }

    /// Applies a worker event; events of other runs than the current one are dropped.
    pub fn apply(&mut self, event: Event) -> Applied {
        if let Some(id) = event.run_id()
            && Some(id) != self.current_run
        {
            return Applied::Nothing;
        }
        match event {
            Event::ModelLoaded { id, summary } => {
                // Only the answer to the latest request is used; the model it replaces, or a
                // model the user no longer wants, is let go.
                if id != self.last_load_id {
                    return Applied::Release(id);
                }
                if let Some(own) = &summary.scheduler {
                    // A diffusers pipeline: its own scheduler, stepped as diffusers does.
                    own.kind.cli_name().clone_into(&mut self.settings.sampler);
                    self.settings.diffusers_rule = true;
                }
                self.model = Some(*summary);
                self.loading_model = None;
                let replaced = std::mem::replace(&mut self.held_model, id);
                if replaced != 0 {
                    return Applied::Release(replaced);
                }
            }
            Event::ModelFailed { id, error, .. } => {
                // A request the user has since replaced: its failure no longer matters.
                if id != self.last_load_id {
                    return Applied::Nothing;
                }
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
                self.enforce_budget();
            }
            Event::Progress {
                done,
                total,
                network_calls,
                elapsed,
                ..
            } => {
                self.status = RunStatus::Running { done, total };
                self.network_calls = network_calls;
                if let Some(record) = &mut self.record {
                    record.elapsed = Some(elapsed);
                    record.network_calls = network_calls;
                }
            }
            Event::Finished {
                samples,
                network_calls,
                elapsed,
                ..
            } => {
                if let Some(record) = &mut self.record {
                    record.samples = Some(samples);
                    record.elapsed = Some(elapsed);
                    record.network_calls = network_calls;
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
        self.playback_clock = None;
        if self.playing {
            let len = self.timeline_len();
            let at = self.shown_index().unwrap_or(0);
            let at = if at + 1 >= len { 0 } else { at };
            self.show(at);
            self.playback_position = at as f64;
        }
    }

    /// Steps a second playback moves at the chosen speed.
    pub fn playback_steps_per_sec(&self) -> f64 {
        let usual = MIN_PLAYBACK_STEPS_PER_SEC.max(self.timeline_len() as f64 / 8.0);
        usual * f64::from(self.settings.replay_speed())
    }

    /// Advances playback to the wall-clock time `now`: by the time since the last call (at most
    /// [`MAX_PLAYBACK_GAP_SECS`]), so a slow window plays as fast as a quick one.
    pub fn tick(&mut self, now: Instant) {
        if !self.playing {
            self.playback_clock = None;
            return;
        }
        let dt = self.playback_clock.map_or(0.0, |last| {
            now.saturating_duration_since(last).as_secs_f64()
        });
        self.playback_clock = Some(now);
        self.advance(dt.min(MAX_PLAYBACK_GAP_SECS));
    }

    /// Advances playback by `dt` seconds; stops at the end.
    pub fn advance(&mut self, dt: f64) {
        if !self.playing {
            return;
        }
        let len = self.timeline_len();
        self.playback_position += dt * self.playback_steps_per_sec();
        if self.playback_position >= len.saturating_sub(1) as f64 {
            self.playing = false;
            self.show(len.saturating_sub(1));
        } else {
            self.show(self.playback_position as usize);
        }
    }
}

/// How a kept run ended: finished, or stopped after its last recorded step.
fn status_of(record: &RunRecord) -> RunStatus {
    match (&record.samples, record.frames.last()) {
        (Some(_), _) => RunStatus::Finished {
            elapsed: record.elapsed.unwrap_or_default(),
            network_calls: record.network_calls,
        },
        (None, Some(frame)) => RunStatus::Cancelled { step: frame.step },
        (None, None) => RunStatus::Cancelled { step: 0 },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::NoiseSchedule;
    use crate::diffusion::ScheduleConfig;
    use crate::sample::ImageShape;

    fn summary(name: &str) -> ModelSummary {
        ModelSummary {
            source: ModelSource::Shipped(name.into()),
            objective: Objective::Eps,
            schedule: NoiseSchedule::new(ScheduleConfig::default()),
            image_shape: ImageShape::grey(28, 28),
            device: crate::model::DeviceChoice::CpuAsked,
            metadata: Vec::new(),
            scheduler: None,
        }
    }

    #[test]
    fn events_of_other_runs_are_ignored_and_runs_wait_for_a_loading_model() {
        let mut state = ReverseState::new(ReverseSettings::default());
        assert!(state.begin_run().is_none(), "no model yet");
        let id = state.begin_load(ModelSource::Shipped("digits-eps".into()));
        state.apply(Event::ModelLoaded {
            id,
            summary: Box::new(summary("digits-eps")),
        });
        let first = state.begin_run().expect("a model is loaded");
        assert_eq!((first.model, first.replaces), (id, None));
        let second = state.begin_run().expect("a model is loaded");
        assert_eq!(
            second.replaces,
            Some(first.id),
            "the first run is cancelled"
        );
        let (first, second) = (first.id, second.id);
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
        let id = state.begin_load(ModelSource::Shipped("digits-v".into()));
        assert!(!state.can_generate() && state.begin_run().is_none());
        let applied = state.apply(Event::ModelFailed {
            id,
            source: ModelSource::Shipped("digits-v".into()),
            error: WorkerError::NoModel,
        });
        assert!(matches!(applied, Applied::Error(_)));
        assert_eq!(state.settings.model, "digits-eps");
        assert!(state.can_generate());
    }

    /// Model B chosen, then C before B is loaded: B's late answer neither ends the loading nor
    /// changes the model, and the window lets B go; whatever the worker uses at the end, the menu
    /// names it.
    #[test]
    fn a_late_answer_to_a_replaced_model_request_does_not_end_the_loading() {
        let source = |name: &str| ModelSource::Shipped(name.into());
        let loaded = |state: &mut ReverseState, id, name: &str| {
            state.apply(Event::ModelLoaded {
                id,
                summary: Box::new(summary(name)),
            })
        };
        let model_name = |state: &ReverseState| state.model.as_ref().map(|m| m.source.label());
        let mut state = ReverseState::new(ReverseSettings::default());
        let a = state.begin_load(source("digits-a"));
        assert!(matches!(
            loaded(&mut state, a, "digits-a"),
            Applied::Nothing
        ));
        let b = state.begin_load(source("digits-b"));
        state.settings.model = "digits-c".into();
        let c = state.begin_load(source("digits-c"));
        let late = loaded(&mut state, b, "digits-b");
        assert!(matches!(late, Applied::Release(id) if id == b), "{late:?}");
        assert_eq!(state.loading_model, Some(source("digits-c")));
        assert_eq!(state.settings.model, "digits-c");
        assert_eq!(model_name(&state).as_deref(), Some("digits-a"));
        assert!(!state.can_generate(), "C is still loading");
        // C loads: the menu, the model and Generate agree, and A is let go.
        let replaced = loaded(&mut state, c, "digits-c");
        assert!(
            matches!(replaced, Applied::Release(id) if id == a),
            "{replaced:?}"
        );
        assert_eq!(state.loading_model, None);
        assert_eq!(model_name(&state).as_deref(), Some("digits-c"));
        assert_eq!(state.begin_run().map(|run| run.model), Some(c));

        // Had C failed instead, the window would still use A, and the menu would say A.
        let mut state = ReverseState::new(ReverseSettings::default());
        let a = state.begin_load(source("digits-a"));
        loaded(&mut state, a, "digits-a");
        let b = state.begin_load(source("digits-b"));
        let c = state.begin_load(source("digits-c"));
        state.settings.model = "digits-c".into();
        // A failure of a replaced request is not news.
        let stale = state.apply(Event::ModelFailed {
            id: b,
            source: source("digits-b"),
            error: WorkerError::NoModel,
        });
        assert!(matches!(stale, Applied::Nothing));
        let applied = state.apply(Event::ModelFailed {
            id: c,
            source: source("digits-c"),
            error: WorkerError::NoModel,
        });
        assert!(matches!(applied, Applied::Error(_)));
        assert_eq!(state.settings.model, "digits-a");
        assert_eq!(state.begin_run().map(|run| run.model), Some(a));
    }

    /// A finished run of `steps` recorded steps of one 1×1 image.
    fn tiny_run(steps: usize) -> RunRecord {
        use crate::diffusion::samplers::PathPoint;
        use crate::worker::Frame;
        let settings = ReverseSettings::default().run_settings(Objective::Flow);
        let mut record = RunRecord::new("tiny".into(), settings, ImageShape::grey(1, 1));
        record.frames = (0..steps)
            .map(|step| {
                Arc::new(Frame {
                    step,
                    steps,
                    point: PathPoint::flow(1.0 - step as f64 / steps as f64, 1000),
                    network_calls: step + 1,
                    batch: 1,
                    image_shape: ImageShape::grey(1, 1),
                    x_t: vec![half::f16::ZERO],
                    x0: vec![half::f16::ZERO],
                    eps: vec![half::f16::ZERO],
                    guidance: None,
                })
            })
            .collect();
        record.samples = Some(vec![0.0]);
        record
    }

    #[test]
    fn playback_follows_the_clock_at_the_chosen_speed() {
        // Where playback is 0.51 s after it started, drawn in `frames` window frames.
        let position_after = |speed: f32, frames: u32| {
            let mut state = ReverseState::new(ReverseSettings {
                replay_speed: speed,
                ..ReverseSettings::default()
            });
            assert!(state.show_opened(tiny_run(99)));
            state.show(0);
            state.toggle_playing();
            let start = Instant::now();
            for i in 0..=frames {
                let secs = 0.51 * f64::from(i) / f64::from(frames);
                state.tick(start + Duration::from_secs_f64(secs));
            }
            state.shown_index()
        };
        // 100 positions (99 steps and the finished images) play at 30 steps a second at 1×.
        assert_eq!(position_after(1.0, 1), Some(15));
        assert_eq!(
            position_after(1.0, 51),
            Some(15),
            "the frame rate does not matter"
        );
        assert_eq!(position_after(2.0, 3), Some(30));
        assert_eq!(position_after(0.25, 10), Some(3));
        // A speed that is not offered plays at 1×.
        assert_eq!(position_after(3.0, 2), Some(15));
    }

    #[test]
    fn runs_are_kept_and_shown_again_but_not_while_one_streams() {
        let mut state = ReverseState::new(ReverseSettings::default());
        let id = state.begin_load(ModelSource::Shipped("digits-eps".into()));
        state.apply(Event::ModelLoaded {
            id,
            summary: Box::new(summary("digits-eps")),
        });
        assert!(state.show_opened(tiny_run(5)));
        let opened = state.shown_run;
        let id = state.begin_run().expect("a model is loaded").id;
        assert_eq!(state.history.runs().len(), 1);
        assert!(!state.show_kept(opened), "refused while the run streams");
        state.apply(Event::Cancelled { id, step: 0 });
        // The run stopped before its first step has nothing worth keeping.
        assert!(state.show_kept(opened));
        assert_eq!(state.shown_run, opened);
        assert!(state.history.runs().is_empty());
        assert_eq!(
            state.status,
            RunStatus::Finished {
                elapsed: Duration::ZERO,
                network_calls: 0
            }
        );
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

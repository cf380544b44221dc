//! The Compare view's state, free of egui: the race's lanes, the worker's events applied to them,
//! and the one clock every lane is shown at, in network calls (NFE).
//!
//! A race loads each model its lanes name once, then starts every lane at the same moment from
//! the same seed; the worker's runs take turns a network call each, so the lanes advance in
//! lockstep by NFE by construction (and runs of one model are joined into one call).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::diffusion::samplers::SamplerSpec;
use crate::i18n::Lang;
use crate::sample::ImageShape;
use crate::sample::network::DIGIT_SIDE;
use crate::sample::race::{LaneSpec, LaneStep, LaneTrace, parse_lanes, race_clock};
use crate::worker::frame::to_full;
use crate::worker::{Event, LoadId, ModelSource, Request, RunId, RunSettings};

/// A race the teacher can pick: its name in both languages and its lanes.
#[derive(Clone, Copy, Debug)]
pub struct Preset {
    /// (English, Chinese).
    pub name: (&'static str, &'static str),
    /// The lanes, as `diffuscope race --lanes` reads them.
    pub lanes: &'static str,
}

/// The races of the view's menu.
pub const PRESETS: [Preset; 3] = [
    Preset {
        name: (
            "DDPM 1000 · DDIM 50 · DPM-Solver++ 20 · Euler 20",
            "DDPM 1000 · DDIM 50 · DPM-Solver++ 20 · Euler 20",
        ),
        lanes: "ddpm:1000,ddim:50,dpm:20,euler:20",
    },
    Preset {
        name: ("ε · v · flow, 20 steps each", "ε · v · 流匹配，各 20 步"),
        lanes: "ddim:20@digits-eps,ddim:20@digits-v,flow-euler:20@digits-flow",
    },
    Preset {
        name: ("guidance 0 · 1 · 3 · 7", "引导 0 · 1 · 3 · 7"),
        lanes: "ddim:50:0,ddim:50:1,ddim:50:3,ddim:50:7",
    },
];

/// The model of lanes that name none.
pub const DEFAULT_MODEL: &str = "digits-eps";

/// Frames a second while the clock plays.
const PLAY_FPS: f64 = 10.0;
/// Clock values a played race (and its GIF) shows, about.
pub const CLOCK_FRAMES: usize = 60;

/// What the teacher chose, remembered between sessions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CompareSettings {
    /// The race, by its place in [`PRESETS`].
    pub preset: usize,
    /// The digit every lane draws (`None`: any).
    pub class: Option<u32>,
    /// The seed of the noise every lane starts from.
    pub seed: u64,
    /// Guidance w of the lanes that set none.
    pub guidance: f32,
    /// Samples per lane: a square grid of this side.
    pub grid_side: usize,
    /// The sample whose x̂0 each lane shows.
    pub selected: usize,
}

impl Default for CompareSettings {
    fn default() -> Self {
        Self {
            preset: 0,
            class: Some(7),
            seed: 1,
            guidance: 3.0,
            grid_side: 2,
            selected: 0,
        }
    }
}

impl CompareSettings {
    /// These settings brought into what the view offers (remembered settings and lessons are
    /// files someone may have edited): a digit 0–9 or none, w [0–10] (NaN: the default).
    #[must_use]
    pub fn within_offered(mut self) -> Self {
        self.class = self.class.filter(|&digit| digit < 10);
        self.guidance = if self.guidance.is_finite() {
            self.guidance.clamp(0.0, 10.0)
        } else {
            Self::default().guidance
        };
        self
    }

    /// The lanes of the chosen race.
    pub fn lanes(&self) -> Vec<LaneSpec> {
        let preset = PRESETS.get(self.preset).unwrap_or(&PRESETS[0]);
        // The presets are written in the program and tested to read.
        parse_lanes(preset.lanes).unwrap_or_default()
    }

    /// Samples per lane.
    pub fn samples(&self) -> usize {
        self.grid_side.clamp(1, 4).pow(2)
    }
}

/// Where a lane stands.
#[derive(Clone, Debug, PartialEq)]
pub enum LaneStatus {
    /// Waiting for its model.
    Loading,
    /// Making network calls.
    Running,
    /// Done.
    Finished,
    /// Stopped on request.
    Cancelled,
    /// Failed: why, in both languages.
    Failed(String, String),
}

/// One lane of the race.
#[derive(Clone, Debug)]
pub struct Lane {
    /// What it runs.
    pub spec: LaneSpec,
    /// Its model's name.
    pub model: String,
    /// Its run, once started.
    pub run: Option<RunId>,
    /// Every step it showed, and its finished images.
    pub trace: LaneTrace,
    /// Where it stands.
    pub status: LaneStatus,
    /// Network calls so far.
    pub calls: usize,
    /// Time since its run started.
    pub elapsed: Duration,
    /// Once done, (network calls, distance of the guess of x0 from the finished picture) of
    /// every step: the chart's line, worked out once rather than every frame.
    pub distances: Vec<(usize, f64)>,
}

/// The race on screen.
#[derive(Clone, Debug)]
pub struct Race {
    /// Its lanes, in order.
    pub lanes: Vec<Lane>,
    /// Each model's load request, by name, and the size of its images once loaded.
    pub models: BTreeMap<String, (LoadId, Option<ImageShape>)>,
    /// The settings it was started with.
    pub settings: CompareSettings,
}

impl Race {
    /// The size of one image (that of the first model loaded; the shipped ones are all 28×28).
    pub fn image_shape(&self) -> ImageShape {
        self.models
            .values()
            .find_map(|(_, size)| *size)
            .unwrap_or(ImageShape::grey(DIGIT_SIDE, DIGIT_SIDE))
    }

    /// The most network calls any lane has made.
    pub fn live_clock(&self) -> usize {
        self.lanes.iter().map(|l| l.calls).max().unwrap_or(0)
    }

    /// Whether any lane is still loading or running.
    pub fn is_going(&self) -> bool {
        self.lanes
            .iter()
            .any(|l| matches!(l.status, LaneStatus::Loading | LaneStatus::Running))
    }

    /// The clock values the race shows when played (and in its GIF).
    pub fn clock_values(&self) -> Vec<usize> {
        let finishes: Vec<usize> = self.lanes.iter().map(|l| l.calls).collect();
        race_clock(&finishes, CLOCK_FRAMES)
    }
}

/// What applying an event asks of the view.
#[derive(Debug, Default)]
pub struct Applied {
    /// Requests to send to the worker.
    pub requests: Vec<Request>,
    /// A sentence for the banner (English, Chinese).
    pub error: Option<(String, String)>,
}

/// The class's blind vote between two finished lanes' pictures: the human-preference lesson.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Vote {
    /// Votes cast so far (the pair shown follows from it).
    pub round: usize,
    /// Each lane's title: (votes won, pairs it was in).
    pub tally: BTreeMap<String, (usize, usize)>,
}

/// A pair to vote on: the lanes on the left and the right, and the sample shown of both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VotePair {
    /// The lane shown on the left.
    pub left: usize,
    /// The lane shown on the right.
    pub right: usize,
    /// The sample of both.
    pub sample: usize,
}

/// Everything the Compare view shows.
pub struct CompareState {
    /// The teacher's choices.
    pub settings: CompareSettings,
    /// The race, once one was started.
    pub race: Option<Race>,
    /// The clock shown, in network calls.
    pub clock: usize,
    /// The clock follows the race as it runs (until the teacher moves it).
    pub follow: bool,
    /// The clock plays through the race's clock values.
    pub playing: bool,
    /// The vote on the race's finished pictures.
    pub vote: Vote,
    last_tick: Option<Instant>,
    next_id: u64,
}

impl CompareState {
    /// A state with `settings` and no race.
    pub fn new(settings: CompareSettings) -> Self {
        Self {
            settings: settings.within_offered(),
            race: None,
            clock: 0,
            follow: true,
            playing: false,
            vote: Vote::default(),
            last_tick: None,
            next_id: 1,
        }
    }

    fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Starts a race of the chosen lanes: the requests that cancel the old one's runs and let
    /// its models go, and load each model once (the lanes start when all are loaded).
    pub fn start_race(&mut self) -> Vec<Request> {
        let mut requests = self.cancel_requests();
        if let Some(old) = &self.race {
            // Runs still using them finish with them (the worker's promise).
            requests.extend(
                old.models
                    .values()
                    .map(|&(id, _)| Request::ReleaseModel(id)),
            );
        }
        let settings = self.settings.clone();
        let mut models = BTreeMap::new();
        let lanes: Vec<Lane> = settings
            .lanes()
            .into_iter()
            .map(|spec| {
                let model = spec.model.clone().unwrap_or_else(|| DEFAULT_MODEL.into());
                if !models.contains_key(&model) {
                    let id = self.next_id();
                    requests.push(Request::LoadModel {
                        id,
                        source: ModelSource::Shipped(model.clone()),
                    });
                    models.insert(model.clone(), (id, None));
                }
                Lane {
                    spec,
                    model,
                    run: None,
                    trace: LaneTrace::default(),
                    status: LaneStatus::Loading,
                    calls: 0,
                    elapsed: Duration::ZERO,
                    distances: Vec::new(),
                }
            })
            .collect();
        self.race = Some(Race {
            lanes,
            models,
            settings,
        });
        (self.clock, self.follow, self.playing) = (0, true, false);
        self.vote = Vote::default();
        requests
    }

    /// The pair to vote on now: every two finished lanes in turn, then the next sample, sides
    /// swapped every other round of pairs (so the left is not always the same sampler); `None`
    /// with fewer than two finished lanes.
    pub fn vote_pair(&self) -> Option<VotePair> {
        let race = self.race.as_ref()?;
        let finished: Vec<usize> = (0..race.lanes.len())
            .filter(|&i| race.lanes[i].status == LaneStatus::Finished)
            .collect();
        let pairs: Vec<(usize, usize)> = finished
            .iter()
            .enumerate()
            .flat_map(|(k, &a)| finished[k + 1..].iter().map(move |&b| (a, b)))
            .collect();
        let pair = *pairs.get(self.vote.round % pairs.len().max(1))?;
        let lap = self.vote.round / pairs.len();
        let (left, right) = if lap.is_multiple_of(2) {
            pair
        } else {
            (pair.1, pair.0)
        };
        Some(VotePair {
            left,
            right,
            sample: lap % race.settings.samples(),
        })
    }

    /// Counts a vote for the left (`right` false) or right picture, and moves to the next pair.
    pub fn cast_vote(&mut self, right: bool) {
        let (Some(pair), Some(race)) = (self.vote_pair(), self.race.as_ref()) else {
            return;
        };
        let title = |lane: usize| race.lanes[lane].spec.title();
        let (winner, loser) = if right {
            (pair.right, pair.left)
        } else {
            (pair.left, pair.right)
        };
        let (winner, loser) = (title(winner), title(loser));
        let entry = self.vote.tally.entry(winner).or_default();
        (entry.0, entry.1) = (entry.0 + 1, entry.1 + 1);
        self.vote.tally.entry(loser).or_default().1 += 1;
        self.vote.round += 1;
    }

    /// The requests that stop the race's runs still going.
    pub fn cancel_requests(&self) -> Vec<Request> {
        let Some(race) = &self.race else {
            return Vec::new();
        };
        race.lanes
            .iter()
            .filter(|l| matches!(l.status, LaneStatus::Running | LaneStatus::Loading))
            .filter_map(|l| l.run.map(Request::Cancel))
            .collect()
    }

    /// Applies one event of the worker.
    pub fn apply(&mut self, event: Event) -> Applied {
        let mut applied = Applied::default();
        match event {
            Event::ModelLoaded { id, summary } => {
                let Some(race) = &mut self.race else {
                    applied.requests.push(Request::ReleaseModel(id));
                    return applied;
                };
                let Some(entry) = race.models.values_mut().find(|(load, _)| *load == id) else {
                    applied.requests.push(Request::ReleaseModel(id));
                    return applied;
                };
                entry.1 = Some(summary.image_shape);
                if race.models.values().all(|(_, size)| size.is_some()) {
                    applied.requests = self.start_lanes();
                }
            }
            Event::ModelFailed { id, source, error } => {
                if let Some(race) = &mut self.race
                    && let Some((name, _)) = race.models.iter().find(|(_, (load, _))| *load == id)
                {
                    let name = name.clone();
                    let why = (error.sentence(Lang::En), error.sentence(Lang::Zh));
                    for lane in race.lanes.iter_mut().filter(|l| l.model == name) {
                        lane.status = LaneStatus::Failed(why.0.clone(), why.1.clone());
                    }
                    applied.error = Some(why);
                    let _ = source;
                }
            }
            Event::Frame { id, frame } => {
                if let Some(lane) = self.lane_of(id) {
                    lane.trace.steps.push(LaneStep {
                        network_calls: frame.network_calls,
                        point: frame.point,
                        x_t: to_full(&frame.x_t),
                        x0: to_full(&frame.x0),
                    });
                }
            }
            Event::Progress {
                id,
                network_calls,
                elapsed,
                ..
            } => {
                if let Some(lane) = self.lane_of(id) {
                    (lane.calls, lane.elapsed) = (network_calls, elapsed);
                }
            }
            Event::Finished {
                id,
                samples,
                network_calls,
                elapsed,
            } => {
                if let Some(lane) = self.lane_of(id) {
                    lane.trace.finish(samples, network_calls);
                    lane.distances = lane.trace.distance_to_finish();
                    (lane.calls, lane.elapsed) = (network_calls, elapsed);
                    lane.status = LaneStatus::Finished;
                }
            }
            Event::Cancelled { id, .. } => {
                if let Some(lane) = self.lane_of(id) {
                    lane.status = LaneStatus::Cancelled;
                }
            }
            Event::Failed { id, error } => {
                let why = (error.sentence(Lang::En), error.sentence(Lang::Zh));
                if let Some(lane) = self.lane_of(id) {
                    lane.status = LaneStatus::Failed(why.0.clone(), why.1.clone());
                    applied.error = Some(why);
                }
            }
        }
        if self.follow
            && let Some(race) = &self.race
        {
            self.clock = race.live_clock();
        }
        applied
    }

    /// The lane running `run`.
    fn lane_of(&mut self, run: RunId) -> Option<&mut Lane> {
        self.race
            .as_mut()?
            .lanes
            .iter_mut()
            .find(|l| l.run == Some(run))
    }

    /// Starts every lane: the same seed, the same labels, each its sampler, steps and guidance.
    fn start_lanes(&mut self) -> Vec<Request> {
        let ids: Vec<RunId> = (0..self.race.as_ref().map_or(0, |r| r.lanes.len()))
            .map(|_| self.next_id())
            .collect();
        let Some(race) = &mut self.race else {
            return Vec::new();
        };
        let settings = &race.settings;
        let labels = vec![settings.class; settings.samples()];
        let mut requests = Vec::new();
        let shape = race.image_shape();
        for (lane, id) in race.lanes.iter_mut().zip(ids) {
            let Some(&(model, size)) = race.models.get(&lane.model) else {
                continue;
            };
            // Lanes share one grid size: a model of another size does not race.
            if let Some(size) = size.filter(|&size| size != shape) {
                lane.status = LaneStatus::Failed(
                    format!(
                        "This model makes {size} images; the race's first model makes {shape}."
                    ),
                    format!("这个模型生成 {size} 图像，而比赛的第一个模型生成 {shape} 图像。"),
                );
                continue;
            }
            lane.run = Some(id);
            lane.status = LaneStatus::Running;
            requests.push(Request::Start {
                id,
                model,
                settings: RunSettings {
                    sampler: SamplerSpec::new(lane.spec.sampler, lane.spec.steps),
                    seed: settings.seed,
                    labels: labels.clone(),
                    guidance: lane.spec.guidance.unwrap_or(settings.guidance),
                },
            });
        }
        requests
    }

    /// Moves the clock by `calls` (negative: back), within the race; the clock stops following.
    pub fn step_clock(&mut self, calls: isize) {
        let last = self.race.as_ref().map_or(0, Race::live_clock);
        self.clock = self.clock.saturating_add_signed(calls).min(last);
        self.follow = false;
        self.playing = false;
    }

    /// Starts or stops playing (from the start when the clock is at the end).
    pub fn toggle_play(&mut self, now: Instant) {
        self.playing = !self.playing;
        self.follow = false;
        self.last_tick = Some(now);
        let last = self.race.as_ref().map_or(0, Race::live_clock);
        if self.playing && self.clock >= last {
            self.clock = 0;
        }
    }

    /// Advances a playing clock to the next clock value every 1/[`PLAY_FPS`] s.
    pub fn tick(&mut self, now: Instant) {
        if !self.playing {
            return;
        }
        let due = self
            .last_tick
            .is_none_or(|last| now.duration_since(last).as_secs_f64() >= 1.0 / PLAY_FPS);
        if !due {
            return;
        }
        self.last_tick = Some(now);
        let values = self
            .race
            .as_ref()
            .map(Race::clock_values)
            .unwrap_or_default();
        match values.iter().find(|&&c| c > self.clock) {
            Some(&next) => self.clock = next,
            None => self.playing = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edited_settings_keep_to_a_digit_and_a_finite_guidance() {
        let wild = CompareSettings {
            class: Some(99),
            guidance: f32::INFINITY,
            ..CompareSettings::default()
        }
        .within_offered();
        assert_eq!((wild.class, wild.guidance), (None, 3.0));
        let kept = CompareSettings::default().within_offered();
        assert_eq!(kept, CompareSettings::default());
    }

    #[test]
    fn every_preset_reads_as_two_to_four_lanes() {
        for (index, preset) in PRESETS.iter().enumerate() {
            let settings = CompareSettings {
                preset: index,
                ..CompareSettings::default()
            };
            let lanes = parse_lanes(preset.lanes).expect(preset.lanes);
            assert_eq!(settings.lanes(), lanes);
        }
    }

    #[test]
    fn the_vote_goes_through_every_pair_and_counts_wins() {
        let mut state = CompareState::new(CompareSettings::default());
        let _ = state.start_race();
        assert_eq!(state.vote_pair(), None, "nothing finished yet");
        let race = state.race.as_mut().unwrap();
        for lane in &mut race.lanes[..3] {
            lane.status = LaneStatus::Finished;
        }
        let pairs: Vec<VotePair> = (0..4)
            .map(|_| {
                let pair = state.vote_pair().unwrap();
                state.cast_vote(false);
                pair
            })
            .collect();
        let pair = |left, right, sample| VotePair {
            left,
            right,
            sample,
        };
        assert_eq!(
            pairs,
            [pair(0, 1, 0), pair(0, 2, 0), pair(1, 2, 0), pair(1, 0, 1)]
        );
        // Left won each time: DDPM 1000 twice of three, DDIM 50 once of three, ...
        assert_eq!(state.vote.tally["DDPM 1000"], (2, 3));
        assert_eq!(state.vote.tally["DDIM 50"], (2, 3));
        assert_eq!(state.vote.tally["DPM-Solver++ 20"], (0, 2));
    }

    #[test]
    fn a_race_loads_each_model_once() {
        let mut state = CompareState::new(CompareSettings {
            preset: 1,
            ..CompareSettings::default()
        });
        let loads = state.start_race();
        assert_eq!(loads.len(), 3, "three models, one load each");
        let mut state = CompareState::new(CompareSettings::default());
        assert_eq!(state.start_race().len(), 1, "four lanes of one model");
        // A second race lets the first one's model go and loads it afresh.
        let again = state.start_race();
        assert!(matches!(again[0], Request::ReleaseModel(_)), "{again:?}");
        assert!(matches!(again[1], Request::LoadModel { .. }), "{again:?}");
    }
}

//! The soak's schedule: a seeded, endless series of [`Episode`]s (start and finish, start and
//! cancel, start over a run still going, switch models mid-run, a storm of starts), each with random
//! settings valid for its model. Pure: the same seed and models give the same episodes.

use std::time::Duration;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::worker::RunSettings;

/// Fewest steps of a run.
pub const MIN_STEPS: usize = 2;
/// Most steps of a run.
pub const MAX_STEPS: usize = 50;
/// The batch sizes a run may have (those of the window, but 64).
pub const SAMPLE_COUNTS: [usize; 3] = [1, 4, 16];
/// The guidance scales of conditional runs.
pub const GUIDANCE_SCALES: [f32; 5] = [1.0, 2.0, 3.0, 5.0, 7.5];
/// The longest wait before a cancel, a restart or a model switch.
pub const MAX_DELAY: Duration = Duration::from_millis(1500);
/// Most runs in a storm.
pub const MAX_STORM: usize = 8;
/// The share of episodes that export the last finished run while their first run samples.
const EXPORT_SHARE: f64 = 0.35;

/// A model the schedule can pick: its name and what it predicts (which samplers can drive it).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelChoice {
    /// The shipped model's name.
    pub name: String,
    /// What its network predicts.
    pub objective: Objective,
}

/// One run to start.
#[derive(Clone, Debug, PartialEq)]
pub struct RunPlan {
    /// Index into the models given to the [`Planner`].
    pub model: usize,
    /// What the worker is asked to make.
    pub settings: RunSettings,
}

impl RunPlan {
    /// "DDIM-50 · 16 samples · w = 3 · digits-eps".
    pub fn describe(&self, models: &[ModelChoice]) -> String {
        let settings = &self.settings;
        let guided = settings.labels.iter().any(Option::is_some);
        format!(
            "{}-{} · {} sample{} · {} · {}",
            settings.sampler.kind.display_name(),
            settings.sampler.steps,
            settings.labels.len(),
            if settings.labels.len() == 1 { "" } else { "s" },
            if guided {
                format!("w = {}", settings.guidance)
            } else {
                "any digit".to_owned()
            },
            models.get(self.model).map_or("?", |m| m.name.as_str())
        )
    }
}

/// What an episode does.
#[derive(Clone, Debug, PartialEq)]
pub enum EpisodeKind {
    /// One run, left to finish.
    Finish(RunPlan),
    /// One run, cancelled after `after` (it may have finished by then: the cancel must be ignored).
    Cancel {
        /// The run.
        run: RunPlan,
        /// When the cancel is sent.
        after: Duration,
    },
    /// A run, and after `after` a second one started over it without a cancel (the first must
    /// end, cancelled or finished, before the second begins); the second is left to finish.
    Restart {
        /// The run replaced.
        first: RunPlan,
        /// When the second starts.
        after: Duration,
        /// The run left to finish.
        second: RunPlan,
    },
    /// A run, and after `after` another model is loaded (which stops the run); then `next`, on
    /// that model, is left to finish.
    Switch {
        /// The run interrupted.
        run: RunPlan,
        /// When the other model is asked for.
        after: Duration,
        /// The run on the other model.
        next: RunPlan,
    },
    /// Runs started back to back without waiting (loading their models in between where they
    /// differ); those marked are cancelled right after their start. The last is never cancelled and
    /// is left to finish.
    Storm(Vec<(RunPlan, bool)>),
}

/// One step of the schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    /// What it does.
    pub kind: EpisodeKind,
    /// Whether the last finished run is exported (GIF, PNG, run file) while its first run samples.
    pub export: bool,
}

impl Episode {
    /// Every run of the episode, in the order they are started.
    pub fn runs(&self) -> Vec<&RunPlan> {
        match &self.kind {
            EpisodeKind::Finish(run) | EpisodeKind::Cancel { run, .. } => vec![run],
            EpisodeKind::Restart { first, second, .. } => vec![first, second],
            EpisodeKind::Switch { run, next, .. } => vec![run, next],
            EpisodeKind::Storm(runs) => runs.iter().map(|(run, _)| run).collect(),
        }
    }

    /// The episode's kind as a word, for counts.
    pub fn name(&self) -> &'static str {
        match self.kind {
            EpisodeKind::Finish(_) => "finish",
            EpisodeKind::Cancel { .. } => "cancel",
            EpisodeKind::Restart { .. } => "restart",
            EpisodeKind::Switch { .. } => "switch",
            EpisodeKind::Storm(_) => "storm",
        }
    }
}

/// Draws episodes from a seed.
pub struct Planner {
    rng: ChaCha8Rng,
    models: Vec<ModelChoice>,
}

impl Planner {
    /// A planner over `models` (at least one), seeded with `seed`.
    pub fn new(seed: u64, models: Vec<ModelChoice>) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
            models,
        }
    }

    /// The models the planner picks from.
    pub fn models(&self) -> &[ModelChoice] {
        &self.models
    }

    /// The next episode: finish 30 %, cancel 25 %, restart 20 %, switch 15 %, storm 10 %.
    pub fn next_episode(&mut self) -> Episode {
        let roll = self.rng.random_range(0..100_u32);
        let kind = match roll {
            0..30 => EpisodeKind::Finish(self.run(None)),
            30..55 => EpisodeKind::Cancel {
                run: self.run(None),
                after: self.delay(),
            },
            55..75 => EpisodeKind::Restart {
                first: self.run(None),
                after: self.delay(),
                second: self.run(None),
            },
            75..90 => {
                let run = self.run(None);
                let after = self.delay();
                let other = self.other_model(run.model);
                EpisodeKind::Switch {
                    run,
                    after,
                    next: self.run(Some(other)),
                }
            }
            _ => {
                let count = self.rng.random_range(2..=MAX_STORM);
                EpisodeKind::Storm(
                    (0..count)
                        .map(|i| (self.run(None), i + 1 < count && self.rng.random_bool(0.4)))
                        .collect(),
                )
            }
        };
        Episode {
            kind,
            export: self.rng.random_bool(EXPORT_SHARE),
        }
    }

    /// A run on `model` (else a random one) with a sampler that can drive it, 2–50 steps, 1, 4 or
    /// 16 samples, unconditional (a third of runs) or guided towards random digits.
    fn run(&mut self, model: Option<usize>) -> RunPlan {
        let model = model.unwrap_or_else(|| self.rng.random_range(0..self.models.len().max(1)));
        let objective = self
            .models
            .get(model)
            .map_or(Objective::Eps, |m| m.objective);
        let samplers: Vec<SamplerKind> = SamplerKind::ALL
            .into_iter()
            .filter(|kind| kind.supports(objective))
            .collect();
        let sampler = samplers[self.rng.random_range(0..samplers.len())];
        let steps = self.rng.random_range(MIN_STEPS..=MAX_STEPS);
        let samples = SAMPLE_COUNTS[self.rng.random_range(0..SAMPLE_COUNTS.len())];
        let guided = self.rng.random_bool(2.0 / 3.0);
        let labels = (0..samples)
            .map(|_| guided.then(|| self.rng.random_range(0..10_u32)))
            .collect();
        let guidance = if guided {
            GUIDANCE_SCALES[self.rng.random_range(0..GUIDANCE_SCALES.len())]
        } else {
            0.0
        };
        RunPlan {
            model,
            settings: RunSettings {
                sampler: SamplerSpec::new(sampler, steps),
                seed: self.rng.random_range(0..1_000_000),
                labels,
                guidance,
            },
        }
    }

    /// A wait from 0 to [`MAX_DELAY`]; exactly 0 one time in ten (a cancel before the first step).
    fn delay(&mut self) -> Duration {
        if self.rng.random_bool(0.1) {
            return Duration::ZERO;
        }
        let max = MAX_DELAY.as_millis() as u64;
        Duration::from_millis(self.rng.random_range(1..=max))
    }

    /// A model other than `model`, if there is one.
    fn other_model(&mut self, model: usize) -> usize {
        let count = self.models.len();
        if count < 2 {
            return model;
        }
        (model + self.rng.random_range(1..count)) % count
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn models() -> Vec<ModelChoice> {
        [
            ("digits-eps", Objective::Eps),
            ("digits-v", Objective::V),
            ("digits-flow", Objective::Flow),
        ]
        .into_iter()
        .map(|(name, objective)| ModelChoice {
            name: name.to_owned(),
            objective,
        })
        .collect()
    }

    fn episodes(seed: u64, count: usize) -> Vec<Episode> {
        let mut planner = Planner::new(seed, models());
        (0..count).map(|_| planner.next_episode()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
        assert_eq!(episodes(7, 200), episodes(7, 200));
        assert_ne!(episodes(7, 200), episodes(8, 200));
    }

    #[test]
    fn every_run_is_valid_for_its_model() {
        let models = models();
        for episode in episodes(1, 2000) {
            for run in episode.runs() {
                let settings = &run.settings;
                let objective = models[run.model].objective;
                assert!(
                    settings.sampler.kind.supports(objective),
                    "{}",
                    run.describe(&models)
                );
                assert!((MIN_STEPS..=MAX_STEPS).contains(&settings.sampler.steps));
                assert!(SAMPLE_COUNTS.contains(&settings.labels.len()));
                let guided = settings.labels.iter().any(Option::is_some);
                assert_eq!(guided, settings.labels.iter().all(Option::is_some));
                assert_eq!(guided, GUIDANCE_SCALES.contains(&settings.guidance));
                assert!(settings.labels.iter().flatten().all(|&class| class < 10));
            }
        }
    }

    #[test]
    fn episodes_keep_their_promises() {
        for episode in episodes(2, 2000) {
            match &episode.kind {
                EpisodeKind::Cancel { after, .. } | EpisodeKind::Restart { after, .. } => {
                    assert!(*after <= MAX_DELAY);
                }
                EpisodeKind::Switch { run, after, next } => {
                    assert!(*after <= MAX_DELAY);
                    assert_ne!(run.model, next.model, "a switch loads another model");
                }
                EpisodeKind::Storm(runs) => {
                    assert!((2..=MAX_STORM).contains(&runs.len()));
                    assert_eq!(runs.last().map(|(_, cancel)| *cancel), Some(false));
                }
                EpisodeKind::Finish(_) => {}
            }
        }
    }

    #[test]
    fn a_long_schedule_covers_every_kind_model_sampler_and_size() {
        let all = episodes(3, 2000);
        let names: BTreeSet<&str> = all.iter().map(Episode::name).collect();
        assert_eq!(names.len(), 5, "{names:?}");
        let runs: Vec<&RunPlan> = all.iter().flat_map(Episode::runs).collect();
        let samplers: BTreeSet<&str> = runs
            .iter()
            .map(|r| r.settings.sampler.kind.cli_name())
            .collect();
        assert_eq!(samplers.len(), SamplerKind::ALL.len(), "{samplers:?}");
        let models: BTreeSet<usize> = runs.iter().map(|r| r.model).collect();
        assert_eq!(models.len(), 3);
        let sizes: BTreeSet<usize> = runs.iter().map(|r| r.settings.labels.len()).collect();
        assert_eq!(sizes.len(), SAMPLE_COUNTS.len());
        for steps in [MIN_STEPS, MAX_STEPS] {
            assert!(runs.iter().any(|r| r.settings.sampler.steps == steps));
        }
        let exports = all.iter().filter(|e| e.export).count();
        assert!((500..900).contains(&exports), "{exports} of 2000 export");
        let instant = all
            .iter()
            .filter(|e| matches!(e.kind, EpisodeKind::Cancel { after, .. } if after.is_zero()))
            .count();
        assert!(instant > 0, "some cancels come before the first step");
    }
}

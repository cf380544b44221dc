//! A sampler race: several runs (lanes) from the same noise and seed, compared on one clock, the
//! number of network calls (NFE). At clock c a lane shows its state after its own c-th call, or
//! its finished picture once it has made all of its calls: DPM-Solver++ is done at 20 while DDPM
//! is still noise.
//!
//! A lane is written `SAMPLER:STEPS[:GUIDANCE][@MODEL]` (`ddim:50`, `dpm:20`, `ddim:20:7`,
//! `flow-euler:20@digits-flow`); [`LaneTrace`] keeps what a lane showed at every step, and
//! [`race_clock`] picks the clock values a GIF shows.

use std::str::FromStr;

use super::run::StepFrame;
use crate::diffusion::samplers::{PathPoint, SamplerKind};

/// Lanes a race holds, at most.
pub const MOST_LANES: usize = 4;

/// One lane as the user writes it.
#[derive(Clone, Debug, PartialEq)]
pub struct LaneSpec {
    /// The sampler.
    pub sampler: SamplerKind,
    /// Its steps.
    pub steps: usize,
    /// Its guidance w, or `None` for the race's.
    pub guidance: Option<f32>,
    /// Its model, or `None` for the race's.
    pub model: Option<String>,
}

impl LaneSpec {
    /// "DDIM 50", "DDIM 20 · w 7", "DPM-Solver++ 20" (short enough for a lane's heading).
    pub fn title(&self) -> String {
        let name = match self.sampler {
            SamplerKind::DpmSolver2M => "DPM-Solver++",
            other => other.display_name(),
        };
        let mut title = format!("{name} {}", self.steps);
        if let Some(w) = self.guidance {
            title.push_str(&format!(" · w {w}"));
        }
        if let Some(model) = &self.model {
            title.push_str(&format!(" · {model}"));
        }
        title
    }
}

/// Why a lane could not be read.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("“{text}” is not a lane: {why} (write SAMPLER:STEPS[:GUIDANCE][@MODEL], e.g. ddim:50)")]
pub struct LaneError {
    /// The lane as written.
    pub text: String,
    /// What is wrong with it.
    pub why: String,
}

impl FromStr for LaneSpec {
    type Err = LaneError;

    fn from_str(text: &str) -> Result<Self, LaneError> {
        let error = |why: &str| LaneError {
            text: text.to_owned(),
            why: why.to_owned(),
        };
        let (rest, model) = match text.split_once('@') {
            Some((rest, model)) if !model.trim().is_empty() => {
                (rest, Some(model.trim().to_owned()))
            }
            Some(_) => return Err(error("no model after @")),
            None => (text, None),
        };
        let mut fields = rest.trim().split(':');
        let name = fields.next().unwrap_or_default().trim();
        let sampler = match name {
            "dpm" | "dpm++" | "dpmsolver" => SamplerKind::DpmSolver2M,
            other => other.parse().map_err(|_| {
                let names: Vec<&str> = SamplerKind::ALL.map(SamplerKind::cli_name).to_vec();
                error(&format!("the sampler is one of {}", names.join(", ")))
            })?,
        };
        let steps = fields
            .next()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .filter(|s| (1..=1000).contains(s))
            .ok_or_else(|| error("the steps are a whole number from 1 to 1000"))?;
        let guidance = match fields.next() {
            None => None,
            Some(w) => Some(
                w.trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|w| (0.0..=20.0).contains(w))
                    .ok_or_else(|| error("the guidance is a number from 0 to 20"))?,
            ),
        };
        if fields.next().is_some() {
            return Err(error("too many fields"));
        }
        Ok(Self {
            sampler,
            steps,
            guidance,
            model,
        })
    }
}

/// Reads a comma-separated list of 2 to [`MOST_LANES`] lanes.
pub fn parse_lanes(text: &str) -> Result<Vec<LaneSpec>, LaneError> {
    let lanes = text
        .split(',')
        .map(str::parse)
        .collect::<Result<Vec<LaneSpec>, _>>()?;
    if !(2..=MOST_LANES).contains(&lanes.len()) {
        return Err(LaneError {
            text: text.to_owned(),
            why: format!("a race has 2 to {MOST_LANES} lanes"),
        });
    }
    Ok(lanes)
}

/// What a lane showed at one step.
#[derive(Clone, Debug)]
pub struct LaneStep {
    /// Network calls made when the step began, its own first call included.
    pub network_calls: usize,
    /// Where on the noise path.
    pub point: PathPoint,
    /// The noisy images the network looked at.
    pub x_t: Vec<f32>,
    /// Its guess of the clean images.
    pub x0: Vec<f32>,
}

/// A lane's whole run: every step, and the finished images.
#[derive(Clone, Debug, Default)]
pub struct LaneTrace {
    /// The steps, in order.
    pub steps: Vec<LaneStep>,
    /// The finished images (empty until the run is done).
    pub finished: Vec<f32>,
    /// Network calls the whole run took.
    pub network_calls: usize,
}

/// A lane at one clock value.
#[derive(Clone, Copy, Debug)]
pub enum LaneAt<'a> {
    /// Still running: the step it is at.
    Running(&'a LaneStep),
    /// Done: its finished images.
    Finished(&'a [f32]),
}

impl LaneTrace {
    /// Records `frame` (a step as the sampling loop reports it).
    pub fn record(&mut self, frame: &StepFrame<'_>) {
        self.steps.push(LaneStep {
            network_calls: frame.network_calls,
            point: frame.point,
            x_t: frame.x_t.to_vec(),
            x0: frame.prediction.x0.clone(),
        });
    }

    /// Marks the run done with `images`, after `network_calls` calls.
    pub fn finish(&mut self, images: Vec<f32>, network_calls: usize) {
        self.finished = images;
        self.network_calls = network_calls;
    }

    /// The lane at clock `calls`: the last step begun within that many calls, or the finished
    /// images once the run has made all its calls (the first step before its first call).
    pub fn at(&self, calls: usize) -> Option<LaneAt<'_>> {
        if calls >= self.network_calls && !self.finished.is_empty() {
            return Some(LaneAt::Finished(&self.finished));
        }
        let begun = self.steps.partition_point(|s| s.network_calls <= calls);
        self.steps.get(begun.saturating_sub(1)).map(LaneAt::Running)
    }

    /// For every step, (its network calls, the RMS distance of its x̂0 from the finished images):
    /// how far from done the lane's guess was. x̂0 is taken within [−1, 1], as it is shown (an
    /// ε-model's raw guess at t = T is x_t/√ᾱ_T, hundreds of times too large).
    pub fn distance_to_finish(&self) -> Vec<(usize, f64)> {
        self.steps
            .iter()
            .map(|s| {
                let shown: Vec<f32> = s.x0.iter().map(|v| v.clamp(-1.0, 1.0)).collect();
                (s.network_calls, rms_distance(&shown, &self.finished))
            })
            .collect()
    }
}

/// The root mean square of `a − b` (over the shorter; 0 for none).
pub fn rms_distance(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return 0.0;
    }
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
        .sum();
    (sum / n as f64).sqrt()
}

/// The clock values a race's GIF shows: about `frames` of them from 1 to the longest lane's
/// calls, spaced evenly on a log scale (so 20-call lanes get as many frames as the first 20 of a
/// 1000-call one get), always including every lane's last call.
pub fn race_clock(finishes: &[usize], frames: usize) -> Vec<usize> {
    let last = finishes.iter().copied().max().unwrap_or(0);
    if last == 0 {
        return Vec::new();
    }
    let frames = frames.max(2);
    let mut clock: Vec<usize> = (0..frames)
        .map(|i| {
            let fraction = i as f64 / (frames - 1) as f64;
            ((last as f64).powf(fraction).round() as usize).clamp(1, last)
        })
        .chain(finishes.iter().copied().filter(|&f| f > 0))
        .collect();
    clock.sort_unstable();
    clock.dedup();
    clock
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_are_read_with_their_options_and_refused_with_a_reason() {
        let lanes = parse_lanes("ddpm:1000,dpm:20,ddim:20:7,flow-euler:10@digits-flow").unwrap();
        assert_eq!(lanes[0].sampler, SamplerKind::Ddpm);
        assert_eq!(lanes[1].sampler, SamplerKind::DpmSolver2M);
        assert_eq!(lanes[2].guidance, Some(7.0));
        assert_eq!(lanes[3].model.as_deref(), Some("digits-flow"));
        assert_eq!(lanes[2].title(), "DDIM 20 · w 7");
        for bad in [
            "ddim:50",
            "ddim:0,ddim:5",
            "euler-a:5,ddim:5",
            "ddim:5:30,ddim:5",
            "ddim:5@,ddim:5",
        ] {
            assert!(parse_lanes(bad).is_err(), "{bad}");
        }
        let error = parse_lanes("ddim,ddpm:10").unwrap_err().to_string();
        assert!(error.contains("whole number"), "{error}");
    }

    #[test]
    fn a_lane_shows_the_step_begun_by_each_clock_and_then_its_finished_images() {
        use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
        let schedule = NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 10));
        // A Heun-like lane: steps begin at calls 1, 3 and 5; six calls in all.
        let step = |calls: usize| LaneStep {
            network_calls: calls,
            point: PathPoint::discrete(&schedule, 10 - calls),
            x_t: vec![calls as f32],
            x0: vec![0.5],
        };
        let mut trace = LaneTrace {
            steps: vec![step(1), step(3), step(5)],
            ..LaneTrace::default()
        };
        let shown = |trace: &LaneTrace, calls| match trace.at(calls) {
            Some(LaneAt::Running(step)) => step.x_t[0],
            Some(LaneAt::Finished(images)) => 100.0 + images[0],
            None => -1.0,
        };
        assert_eq!(shown(&trace, 0), 1.0, "before any call: the start");
        assert_eq!(shown(&trace, 2), 1.0);
        assert_eq!(shown(&trace, 4), 3.0);
        assert_eq!(shown(&trace, 6), 5.0, "not finished yet: the last step");
        trace.finish(vec![1.0], 6);
        assert_eq!(shown(&trace, 6), 101.0);
        assert_eq!(shown(&trace, 600), 101.0);
        let distances = trace.distance_to_finish();
        assert_eq!(distances, vec![(1, 0.5), (3, 0.5), (5, 0.5)]);
    }

    #[test]
    fn the_clock_is_logarithmic_and_stops_at_every_finish() {
        let clock = race_clock(&[1000, 20, 50], 40);
        assert_eq!(clock.first(), Some(&1));
        assert_eq!(clock.last(), Some(&1000));
        assert!(clock.contains(&20) && clock.contains(&50));
        // A third of the frames for the first 2 % of the calls (13 of 36: the small values
        // round to the same call and are kept once).
        let before_20 = clock.iter().filter(|&&c| c <= 20).count();
        assert!(before_20 >= 12, "{clock:?}");
        assert!(race_clock(&[], 10).is_empty());
    }
}

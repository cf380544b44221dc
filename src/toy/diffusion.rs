//! A diffusion model of points in the plane, trained a step at a time (so a view can draw it
//! learning, and stop it at any step) and sampled by the digits' own samplers.
//!
//! One training step is the recipe of the digits (`train::batch`) on points: draw x0 from the data,
//! ε ~ N(0, I) and a noise level (t uniform in 1..=T for ε and v, σ uniform in [0, 1] for flow),
//! make x_t = a·x0 + s·ε, and regress the network on the objective's target with AdamW. The
//! samples come from a moving average of the weights (`train::Ema`, with its warm-up).

use std::sync::Arc;

use candle_core::Var;
use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::ThreadPool;

use super::data::{Point, flatten, unflatten};
use super::models::{ToyKind, ToyModel, one_thread_pool};
use super::net::{ToyNet, ToyNetSize};
use crate::diffusion::objectives::{Coefficients, Objective};
use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::diffusion::{NoiseSchedule, ScheduleConfig};
use crate::sample::{
    ImageShape, SampleError, SampleSettings, SamplingRun, StepFrame, starting_noise,
};
use crate::train::Ema;
use crate::train::init::sorted_params;

/// The most the moving average of the weights may decay per step: it covers about the last
/// hundred steps, so the samples a class watches are smooth without lagging far behind.
pub const EMA_DECAY: f64 = 0.99;

/// How the model is trained.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ToyDiffusionSpec {
    /// What the network predicts.
    pub objective: Objective,
    /// The noise schedule and its T (used by ε and v; flow matching uses only T).
    pub schedule: ScheduleConfig,
    /// Points per step.
    pub batch: usize,
    /// AdamW's learning rate (constant: a live run has no planned end).
    pub learning_rate: f64,
    /// The network's size.
    pub size: ToyNetSize,
    /// Seeds the weights and every draw.
    pub seed: u64,
}

/// The model being trained, and what it needs to keep training.
pub struct ToyDiffusion {
    spec: ToyDiffusionSpec,
    schedule: NoiseSchedule,
    net: ToyNet,
    params: Vec<(String, Var)>,
    ema: Ema,
    optimiser: AdamW,
    data: Vec<Point>,
    /// Reflow: the noise each data point was sampled from, drawn with it instead of fresh noise.
    paired_noise: Option<Vec<Point>>,
    rng: ChaCha8Rng,
    steps_done: usize,
    one_thread: Arc<ThreadPool>,
}

impl ToyDiffusion {
    /// A fresh model of `data` (which must not be empty).
    pub fn new(data: Vec<Point>, spec: ToyDiffusionSpec) -> candle_core::Result<Self> {
        if data.is_empty() {
            candle_core::bail!("no points to learn from");
        }
        let varmap = VarMap::new();
        let schedule = NoiseSchedule::new(spec.schedule);
        let net = ToyNet::trainable(&varmap, spec.size, schedule.steps(), spec.seed)?;
        let params = sorted_params(&varmap)?;
        let ema = Ema::new(&params, EMA_DECAY)?;
        let optimiser = AdamW::new(
            params.iter().map(|(_, var)| var.clone()).collect(),
            ParamsAdamW {
                lr: spec.learning_rate,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        Ok(Self {
            spec,
            schedule,
            net,
            params,
            ema,
            optimiser,
            data,
            paired_noise: None,
            rng: ChaCha8Rng::seed_from_u64(spec.seed ^ 0x746f_7921),
            steps_done: 0,
            one_thread: one_thread_pool()?,
        })
    }

    /// Reflow (Liu et al. 2023, rectified flow): a fresh flow model trained on `sampler`'s own
    /// (noise, sample) pairs — `count` points sampled from `seed`'s noise with `steps` Euler steps —
    /// instead of on data and independent noise. The pairs' straight lines cross far less than
    /// independent ones, so the new model's paths are straighter and fewer steps suffice.
    pub fn reflow(
        sampler: &ToySampler,
        (count, steps, seed): (usize, usize, u64),
        spec: ToyDiffusionSpec,
    ) -> candle_core::Result<Self> {
        if sampler.objective != Objective::Flow || spec.objective != Objective::Flow {
            candle_core::bail!("reflow is for flow models");
        }
        let noise = unflatten(&starting_noise(count, 2, seed));
        let samples = sampler
            .sample(sampler.default_sampler(steps), count, seed)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let mut model = Self::new(samples, spec)?;
        model.paired_noise = Some(noise);
        Ok(model)
    }

    /// How it is trained.
    pub fn spec(&self) -> &ToyDiffusionSpec {
        &self.spec
    }

    /// Training steps taken.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }

    /// Takes one training step; returns its loss (the mean squared error of the batch).
    ///
    /// The step runs on one thread: at this size spreading each small product over the cores
    /// costs more than it gains (620 steps a second on one thread of the 2-core machine against
    /// 115 on two, where other work keeps the second core busy).
    pub fn train_step(&mut self) -> candle_core::Result<f32> {
        let pool = Arc::clone(&self.one_thread);
        pool.install(|| self.step_on_this_thread())
    }

    fn step_on_this_thread(&mut self) -> candle_core::Result<f32> {
        let (x_t, t_input, target) = self.draw_batch();
        let batch = t_input.len();
        let x_t = Tensor::from_vec(x_t, (batch, 2), &Device::Cpu)?;
        let t_input = Tensor::from_vec(t_input, batch, &Device::Cpu)?;
        let target = Tensor::from_vec(target, (batch, 2), &Device::Cpu)?;
        let loss = (self.net.forward(&x_t, &t_input)? - target)?
            .sqr()?
            .mean_all()?;
        self.optimiser.backward_step(&loss)?;
        self.steps_done += 1;
        self.ema.update(&self.params, self.steps_done)?;
        loss.to_scalar::<f32>()
    }

    /// One batch: x_t, the network's time input and the target, as plain numbers.
    fn draw_batch(&mut self) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let n = self.spec.batch;
        let (mut x_t, mut t_input, mut target) = (
            Vec::with_capacity(2 * n),
            Vec::with_capacity(n),
            Vec::with_capacity(2 * n),
        );
        let steps_t = self.schedule.steps();
        for _ in 0..n {
            let index = self.rng.random_range(0..self.data.len());
            let x0 = self.data[index];
            let eps: [f32; 2] = match &self.paired_noise {
                Some(noise) => noise[index],
                None => [
                    self.rng.sample(StandardNormal),
                    self.rng.sample(StandardNormal),
                ],
            };
            let (at, input) = match self.spec.objective {
                Objective::Flow => {
                    let sigma = self.rng.random::<f64>();
                    (Coefficients::flow(sigma), (sigma * steps_t as f64) as f32)
                }
                Objective::Eps | Objective::V | Objective::X0 => {
                    let t = self.rng.random_range(1..=steps_t);
                    (Coefficients::discrete(&self.schedule, t), t as f32)
                }
            };
            x_t.extend(at.noisy(&x0, &eps));
            t_input.push(input);
            target.extend(self.spec.objective.training_target(&x0, &eps, at));
        }
        (x_t, t_input, target)
    }

    /// The moving average of the weights as a network detached from training (for sampling, on
    /// this thread or another).
    pub fn snapshot(&self) -> candle_core::Result<ToySampler> {
        Ok(ToySampler {
            net: ToyNet::from_weights(self.ema.tensors(), self.spec.size, self.schedule.steps())?,
            objective: self.spec.objective,
            schedule: self.schedule.clone(),
        })
    }
}

impl ToyModel for ToyDiffusion {
    fn kind(&self) -> ToyKind {
        ToyKind::Diffusion
    }

    fn train_step(&mut self) -> candle_core::Result<f32> {
        ToyDiffusion::train_step(self)
    }

    fn steps_done(&self) -> usize {
        self.steps_done
    }

    fn sample(&self, count: usize, seed: u64, steps: usize) -> Result<Vec<Point>, String> {
        let sampler = self.snapshot().map_err(|e| e.to_string())?;
        sampler
            .sample(sampler.default_sampler(steps), count, seed)
            .map_err(|e| e.sentence(crate::i18n::Lang::En))
    }

    fn network_calls(&self, steps: usize) -> usize {
        // DDIM and flow Euler ask the network once a step.
        steps.clamp(1, self.schedule.steps())
    }

    fn parameters(&self) -> usize {
        self.spec.size.parameters()
    }

    fn paths(&self, count: usize, seed: u64, steps: usize) -> Result<Vec<Vec<Point>>, String> {
        let sampler = self.snapshot().map_err(|e| e.to_string())?;
        sampler
            .paths(sampler.default_sampler(steps), count, seed, true)
            .map_err(|e| e.sentence(crate::i18n::Lang::En))
    }

    fn diffusion_sampler(&self) -> Option<ToySampler> {
        self.snapshot().ok()
    }
}

/// The weights (a, s) of x0 and ε at forward step t (0..=T) of a model trained with `objective`
/// on `schedule`: √ᾱ_t and √(1−ᾱ_t), or 1 − σ and σ with σ = t/T for flow matching.
pub fn forward_coefficients(
    objective: Objective,
    schedule: &NoiseSchedule,
    t: usize,
) -> Coefficients {
    let t = t.min(schedule.steps());
    match objective {
        Objective::Flow => Coefficients::flow(t as f64 / schedule.steps().max(1) as f64),
        Objective::Eps | Objective::V | Objective::X0 => Coefficients::discrete(schedule, t),
    }
}

/// A trained network frozen for sampling, with what its samplers need to know.
#[derive(Clone)]
pub struct ToySampler {
    /// The network.
    pub net: ToyNet,
    /// Its objective.
    pub objective: Objective,
    /// Its schedule.
    pub schedule: NoiseSchedule,
}

impl ToySampler {
    /// The usual sampler of the objective with `steps` steps (DDIM for ε and v, Euler for flow:
    /// both deterministic, so paths from the same noise can be compared), never clipping x̂0
    /// (the points are not pixels in [−1, 1]).
    pub fn default_sampler(&self, steps: usize) -> SamplerSpec {
        let kind = match self.objective {
            Objective::Flow => SamplerKind::FlowEuler,
            Objective::Eps | Objective::V | Objective::X0 => SamplerKind::Ddim,
        };
        self.sampler(kind, steps)
    }

    /// `kind` with `steps` steps, without clipping.
    pub fn sampler(&self, kind: SamplerKind, steps: usize) -> SamplerSpec {
        SamplerSpec {
            clip_x0: false,
            ..SamplerSpec::new(kind, steps.clamp(1, self.schedule.steps()))
        }
    }

    /// `count` points sampled from seeded noise.
    pub fn sample(
        &self,
        sampler: SamplerSpec,
        count: usize,
        seed: u64,
    ) -> Result<Vec<Point>, SampleError> {
        Ok(self
            .paths(sampler, count, seed, false)?
            .pop()
            .unwrap_or_default())
    }

    /// Every step of `count` points' paths from noise (the starting noise first, the samples
    /// last) when `every_step`, else only the samples.
    pub fn paths(
        &self,
        sampler: SamplerSpec,
        count: usize,
        seed: u64,
        every_step: bool,
    ) -> Result<Vec<Vec<Point>>, SampleError> {
        let start = unflatten(&starting_noise(count, 2, seed));
        self.paths_from(sampler, &start, seed, every_step)
    }

    /// Every step of the paths from the points `start` (`start` first, the samples last) when
    /// `every_step`, else only the samples; `seed` seeds the noise an ancestral sampler adds.
    pub fn paths_from(
        &self,
        sampler: SamplerSpec,
        start: &[Point],
        seed: u64,
        every_step: bool,
    ) -> Result<Vec<Vec<Point>>, SampleError> {
        let settings = SampleSettings {
            objective: self.objective,
            schedule: self.schedule.clone(),
            sampler,
            seed,
            labels: vec![None; start.len()],
            guidance: 1.0,
        };
        let run = SamplingRun::starting_from(settings, ImageShape::grey(1, 2), &flatten(start));
        // Each step's frame shows x_t as the step begins (x_T first); the samples close the path.
        let mut path = Vec::new();
        let mut keep = |frame: &StepFrame<'_>| {
            if every_step {
                path.push(unflatten(frame.x_t));
            }
            std::ops::ControlFlow::Continue(())
        };
        let samples = run.finish(&self.net, &mut keep)?;
        path.push(unflatten(&samples));
        Ok(path)
    }

    /// Where one step of the usual sampler takes each of `start` (DDIM's or flow Euler's single
    /// step lands on the model's guess of x0 from pure noise): its gap to the many-step sample
    /// is the error of taking one big step.
    pub fn one_step(&self, start: &[Point]) -> Result<Vec<Point>, SampleError> {
        Ok(self
            .paths_from(self.default_sampler(1), start, 0, false)?
            .pop()
            .unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diffusion::ScheduleKind;
    use crate::toy::data::Shape;
    use crate::toy::measure::sliced_wasserstein;

    fn spec(objective: Objective) -> ToyDiffusionSpec {
        ToyDiffusionSpec {
            objective,
            schedule: ScheduleConfig::new(ScheduleKind::Linear, 1000),
            batch: 128,
            learning_rate: 1e-2,
            size: ToyNetSize::default(),
            seed: 4,
        }
    }

    fn mean(values: &[f32]) -> f32 {
        values.iter().sum::<f32>() / values.len() as f32
    }

    #[test]
    fn training_lowers_the_loss_and_brings_samples_towards_the_data() -> candle_core::Result<()> {
        let data = Shape::TwoMoons.points(1000, 1);
        for objective in [Objective::Eps, Objective::V, Objective::Flow] {
            let mut model = ToyDiffusion::new(data.clone(), spec(objective))?;
            let untrained = model.snapshot()?;
            let losses = (0..300)
                .map(|_| model.train_step())
                .collect::<candle_core::Result<Vec<f32>>>()?;
            let (first, last) = (mean(&losses[..30]), mean(&losses[270..]));
            assert!(last < 0.8 * first, "{objective:?}: loss {first} → {last}");
            let trained = model.snapshot()?;
            let far = |sampler: &ToySampler| -> f64 {
                let points = sampler
                    .sample(sampler.default_sampler(20), 500, 9)
                    .unwrap_or_default();
                sliced_wasserstein(&points, &data)
            };
            let (before, after) = (far(&untrained), far(&trained));
            assert!(
                after < 0.5 * before,
                "{objective:?}: distance {before} → {after}"
            );
        }
        Ok(())
    }

    #[test]
    fn the_same_seed_trains_the_same_model() -> candle_core::Result<()> {
        let data = Shape::EightGaussians.points(500, 2);
        let run = || -> candle_core::Result<(Vec<f32>, Vec<Point>)> {
            let mut model = ToyDiffusion::new(data.clone(), spec(Objective::Flow))?;
            let losses = (0..20)
                .map(|_| model.train_step())
                .collect::<candle_core::Result<_>>()?;
            let sampler = model.snapshot()?;
            let points = sampler
                .sample(sampler.default_sampler(5), 50, 1)
                .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
            Ok((losses, points))
        };
        assert_eq!(run()?, run()?);
        assert!(ToyDiffusion::new(Vec::new(), spec(Objective::Eps)).is_err());
        Ok(())
    }

    #[test]
    fn reflow_learns_its_own_pairs_and_straightens_the_paths() -> candle_core::Result<()> {
        let data = Shape::TwoMoons.points(2000, 1);
        let spec = spec(Objective::Flow);
        let mut first = ToyDiffusion::new(data, spec)?;
        for _ in 0..400 {
            first.train_step()?;
        }
        let first = first.snapshot()?;
        let mut second = ToyDiffusion::reflow(&first, (2000, 50, 7), spec)?;
        for _ in 0..400 {
            second.train_step()?;
        }
        let second = second.snapshot()?;
        let straightness = |sampler: &ToySampler| -> f64 {
            let paths = sampler
                .paths(sampler.default_sampler(50), 200, 3, true)
                .unwrap_or_default();
            crate::toy::measure::straightness(&paths, 200)
        };
        let (before, after) = (straightness(&first), straightness(&second));
        assert!(after < before, "straightness {before} → {after}");
        assert!(
            ToyDiffusion::reflow(
                &first,
                (10, 5, 1),
                ToyDiffusionSpec {
                    objective: Objective::Eps,
                    ..spec
                }
            )
            .is_err()
        );
        Ok(())
    }

    #[test]
    fn paths_from_given_points_start_there_and_one_step_lands_on_the_guess_of_x0()
    -> candle_core::Result<()> {
        let mut model = ToyDiffusion::new(Shape::TwoMoons.points(200, 1), spec(Objective::Flow))?;
        for _ in 0..20 {
            model.train_step()?;
        }
        let sampler = model.snapshot()?;
        let start: Vec<Point> = crate::toy::mesh::Mesh::CLASSROOM.points();
        let to_candle = |e: SampleError| candle_core::Error::Msg(e.to_string());
        let paths = sampler
            .paths_from(sampler.default_sampler(5), &start, 0, true)
            .map_err(to_candle)?;
        assert_eq!(paths.len(), 6);
        assert_eq!(paths[0], start);
        // One Euler step of flow from σ = 1 to 0 is x − v̂(x, T) = x̂0: the network asked once.
        let landing = sampler.one_step(&start).map_err(to_candle)?;
        let t = sampler.schedule.steps() as f32;
        let velocity = sampler
            .net
            .predict_points(&flatten(&start), &vec![t; start.len()])?;
        for (k, (x, at)) in start.iter().zip(&landing).enumerate() {
            for axis in 0..2 {
                let expected = x[axis] - velocity[2 * k + axis];
                assert!(
                    (at[axis] - expected).abs() < 1e-5,
                    "{at:?} against {expected}"
                );
            }
        }
        Ok(())
    }

    #[test]
    fn paths_run_from_the_starting_noise_to_the_samples() -> candle_core::Result<()> {
        let model = ToyDiffusion::new(Shape::Line.points(100, 1), spec(Objective::Eps))?;
        let sampler = model.snapshot()?;
        let spec = sampler.sampler(SamplerKind::Ddim, 8);
        let paths = sampler
            .paths(spec.clone(), 10, 3, true)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        assert_eq!(paths.len(), 9);
        assert_eq!(paths[0], unflatten(&starting_noise(10, 2, 3)));
        assert_eq!(paths[8], sampler.sample(spec, 10, 3).unwrap_or_default());
        Ok(())
    }
}

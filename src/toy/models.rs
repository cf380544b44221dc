//! The three kinds of generative model the playground trains side by side, behind one trait: a
//! diffusion model, a GAN and a VAE, each trained a step at a time and sampled to points.

use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::{ThreadPool, ThreadPoolBuilder};
use serde::{Deserialize, Serialize};

use super::data::Point;
use crate::i18n::Lang;

/// Which kind of model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ToyKind {
    /// A diffusion model ([`super::ToyDiffusion`]).
    Diffusion,
    /// A generative adversarial network ([`super::gan::ToyGan`]).
    Gan,
    /// A variational autoencoder ([`super::vae::ToyVae`]).
    Vae,
}

impl ToyKind {
    /// All three, in the order the playground shows them.
    pub const ALL: [Self; 3] = [Self::Gan, Self::Vae, Self::Diffusion];

    /// The command-line name (`--model`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Self::Diffusion => "diffusion",
            Self::Gan => "gan",
            Self::Vae => "vae",
        }
    }

    /// The kind of a command-line name.
    pub fn from_cli_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.cli_name() == name)
    }

    /// The panel's title.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Diffusion => lang.pick("Diffusion", "扩散模型"),
            Self::Gan => lang.pick("GAN", "生成对抗网络（GAN）"),
            Self::Vae => lang.pick("VAE", "变分自编码器（VAE）"),
        }
    }
}

/// A model of points in the plane that learns a step at a time.
pub trait ToyModel: Send {
    /// Which kind it is.
    fn kind(&self) -> ToyKind;

    /// Takes one training step; returns its loss (the objective the kind minimises).
    fn train_step(&mut self) -> candle_core::Result<f32>;

    /// Training steps taken.
    fn steps_done(&self) -> usize;

    /// `count` points sampled from seeded noise; a diffusion model takes `steps` sampler steps.
    fn sample(&self, count: usize, seed: u64, steps: usize) -> Result<Vec<Point>, String>;

    /// Network calls one sample costs: one for a model that samples in one call, one per sampler
    /// step for a diffusion model.
    fn network_calls(&self, _steps: usize) -> usize {
        1
    }

    /// Its weights and biases, every network counted.
    fn parameters(&self) -> usize;

    /// Every step of `count` points' way from noise to samples (x_T first, the samples last); a
    /// model that samples in one call has only the samples.
    fn paths(&self, count: usize, seed: u64, steps: usize) -> Result<Vec<Vec<Point>>, String> {
        Ok(vec![self.sample(count, seed, steps)?])
    }

    /// The network as a diffusion sampler, for the field of arrows (diffusion models only).
    fn diffusion_sampler(&self) -> Option<super::ToySampler> {
        None
    }

    /// A discriminator's probability that each of `points` is real (GANs only).
    fn realness(&self, _points: &[Point]) -> Option<Vec<f32>> {
        None
    }

    /// Each of `points` encoded and decoded again: what the model makes of what it saw (VAEs
    /// only).
    fn reconstructions(&self, _points: &[Point]) -> Option<Vec<Point>> {
        None
    }
}

/// A fresh model of `kind` learning `data`: a diffusion model as `spec` says, or a GAN or a VAE
/// with `spec`'s batch and seed and their own `older_learning_rate` (they diverge at the
/// diffusion model's usual 0.01).
pub fn fresh_model(
    kind: ToyKind,
    data: Vec<Point>,
    spec: super::ToyDiffusionSpec,
    older_learning_rate: f64,
) -> candle_core::Result<Box<dyn ToyModel>> {
    let (batch, seed) = (spec.batch, spec.seed);
    Ok(match kind {
        ToyKind::Diffusion => Box::new(super::ToyDiffusion::new(data, spec)?),
        ToyKind::Gan => Box::new(super::gan::ToyGan::new(
            data,
            batch,
            older_learning_rate,
            seed,
        )?),
        ToyKind::Vae => Box::new(super::vae::ToyVae::new(
            data,
            batch,
            older_learning_rate,
            seed,
        )?),
    })
}

/// The learning rate of the GAN and the VAE unless asked otherwise.
pub const OLDER_MODELS_LEARNING_RATE: f64 = 1e-3;

/// A pool of one thread for the small products of a training step: at this size spreading them
/// over the cores costs more than it gains (measured in `toy/diffusion.rs`).
pub fn one_thread_pool() -> candle_core::Result<Arc<ThreadPool>> {
    ThreadPoolBuilder::new()
        .num_threads(1)
        .thread_name(|_| "toy-training".to_owned())
        .build()
        .map(Arc::new)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))
}

/// The draws of a training run: data points and normal noise, from one seeded stream.
pub struct Draws {
    rng: ChaCha8Rng,
}

impl Draws {
    /// A stream seeded by `seed` (mixed with `salt`, so two models of one seed draw apart).
    pub fn new(seed: u64, salt: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed ^ salt),
        }
    }

    /// `count` points drawn from `data` with replacement, flattened (x, y, x, y, …).
    pub fn points(&mut self, data: &[Point], count: usize) -> Vec<f32> {
        (0..count)
            .flat_map(|_| data[self.rng.random_range(0..data.len())])
            .collect()
    }

    /// `count` N(0, 1) numbers.
    pub fn normal(&mut self, count: usize) -> Vec<f32> {
        (0..count)
            .map(|_| self.rng.sample(StandardNormal))
            .collect()
    }

    /// The generator itself, for draws of other kinds.
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }
}

//! A GAN of points in the plane (Goodfellow et al. 2014): a generator MLP maps 2-D Gaussian
//! noise to points, a discriminator MLP scores points as real or generated, trained in turns with
//! the classic non-saturating loss:
//! - discriminator: softplus(−D(x)) + softplus(D(G(z))), real x scored up, generated scored down;
//! - generator: softplus(−D(G(z))), its points made to score as real.
//!
//! Adam with β1 = 0.5, as DCGAN did. On a mixture such as the eight Gaussians the generator often
//! settles on a few modes (mode collapse): nothing in its loss rewards covering them all.

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Module, Optimizer, ParamsAdamW, VarMap};
use rayon::ThreadPool;

use super::data::Point;
use super::mlp::Mlp;
use super::models::{Draws, ToyKind, ToyModel, one_thread_pool};
use crate::train::init::seeded_var_builder;

/// The shape of both networks: 2 → 64 → 64 → 64 → out.
const HIDDEN: (usize, usize) = (64, 3);

/// A GAN being trained.
pub struct ToyGan {
    generator: Mlp,
    discriminator: Mlp,
    generator_step: AdamW,
    discriminator_step: AdamW,
    data: Vec<Point>,
    batch: usize,
    draws: Draws,
    steps_done: usize,
    one_thread: Arc<ThreadPool>,
}

/// softplus(x) = ln(1 + eˣ), computed as max(x, 0) + ln(1 + e^(−|x|)) so it never overflows.
fn softplus(x: &Tensor) -> candle_core::Result<Tensor> {
    x.relu()? + x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?
}

impl ToyGan {
    /// A fresh GAN of `data` (which must not be empty), `batch` points a step.
    pub fn new(
        data: Vec<Point>,
        batch: usize,
        learning_rate: f64,
        seed: u64,
    ) -> candle_core::Result<Self> {
        if data.is_empty() {
            candle_core::bail!("no points to learn from");
        }
        let (generator_vars, discriminator_vars) = (VarMap::new(), VarMap::new());
        let (hidden, depth) = HIDDEN;
        let generator = Mlp::new(
            &seeded_var_builder(&generator_vars, seed, &Device::Cpu),
            "generator",
            (2, hidden, depth, 2),
        )?;
        let discriminator = Mlp::new(
            &seeded_var_builder(&discriminator_vars, seed, &Device::Cpu),
            "discriminator",
            (2, hidden, depth, 1),
        )?;
        let adam = |vars: &VarMap| {
            AdamW::new(
                vars.all_vars(),
                ParamsAdamW {
                    lr: learning_rate,
                    beta1: 0.5,
                    weight_decay: 0.0,
                    ..ParamsAdamW::default()
                },
            )
        };
        Ok(Self {
            generator_step: adam(&generator_vars)?,
            discriminator_step: adam(&discriminator_vars)?,
            generator,
            discriminator,
            data,
            batch: batch.max(1),
            draws: Draws::new(seed, 0x0067_616e),
            steps_done: 0,
            one_thread: one_thread_pool()?,
        })
    }

    fn step_on_this_thread(&mut self) -> candle_core::Result<f32> {
        let n = self.batch;
        let real = Tensor::from_vec(self.draws.points(&self.data, n), (n, 2), &Device::Cpu)?;
        let z = Tensor::from_vec(self.draws.normal(2 * n), (n, 2), &Device::Cpu)?;
        // The discriminator's turn: generated points are constants to it.
        let fake = self.generator.forward(&z)?.detach();
        let d_loss = (softplus(&self.discriminator.forward(&real)?.neg()?)?.mean_all()?
            + softplus(&self.discriminator.forward(&fake)?)?.mean_all()?)?;
        self.discriminator_step.backward_step(&d_loss)?;
        // The generator's turn, through the discriminator (whose weights it does not move).
        let z = Tensor::from_vec(self.draws.normal(2 * n), (n, 2), &Device::Cpu)?;
        let scores = self.discriminator.forward(&self.generator.forward(&z)?)?;
        let g_loss = softplus(&scores.neg()?)?.mean_all()?;
        self.generator_step.backward_step(&g_loss)?;
        self.steps_done += 1;
        g_loss.to_dtype(DType::F32)?.to_scalar::<f32>()
    }

    /// The discriminator's probability that each of `points` is real.
    pub fn realness(&self, points: &[Point]) -> candle_core::Result<Vec<f32>> {
        let x = Tensor::from_slice(points.as_flattened(), (points.len(), 2), &Device::Cpu)?;
        candle_nn::ops::sigmoid(&self.discriminator.forward(&x)?.detach())?
            .flatten_all()?
            .to_vec1()
    }
}

impl ToyModel for ToyGan {
    fn kind(&self) -> ToyKind {
        ToyKind::Gan
    }

    fn train_step(&mut self) -> candle_core::Result<f32> {
        let pool = Arc::clone(&self.one_thread);
        pool.install(|| self.step_on_this_thread())
    }

    fn steps_done(&self) -> usize {
        self.steps_done
    }

    fn sample(&self, count: usize, seed: u64, _steps: usize) -> Result<Vec<Point>, String> {
        self.generator
            .map_noise(count, seed)
            .map_err(|e| e.to_string())
    }

    fn parameters(&self) -> usize {
        let (hidden, depth) = HIDDEN;
        Mlp::parameters((2, hidden, depth, 2)) + Mlp::parameters((2, hidden, depth, 1))
    }

    fn realness(&self, points: &[Point]) -> Option<Vec<f32>> {
        ToyGan::realness(self, points).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::data::Shape;
    use crate::toy::measure::sliced_wasserstein;

    #[test]
    fn softplus_is_ln_one_plus_exp_without_overflow() -> candle_core::Result<()> {
        let x = Tensor::new(&[-100.0f32, -1.0, 0.0, 2.0, 100.0], &Device::Cpu)?;
        let values: Vec<f32> = softplus(&x)?.to_vec1()?;
        let expected = [0.0, 0.313_261_7, std::f32::consts::LN_2, 2.126_928, 100.0];
        for (value, expected) in values.iter().zip(expected) {
            assert!(
                (value - expected).abs() < 1e-5,
                "{value} against {expected}"
            );
        }
        Ok(())
    }

    #[test]
    fn training_brings_the_generator_towards_the_data() -> candle_core::Result<()> {
        let data = Shape::Circles.points(1000, 1);
        let mut gan = ToyGan::new(data.clone(), 128, 1e-3, 5)?;
        let distance =
            |gan: &ToyGan| sliced_wasserstein(&gan.sample(500, 2, 0).unwrap_or_default(), &data);
        let before = distance(&gan);
        for _ in 0..300 {
            assert!(ToyModel::train_step(&mut gan)?.is_finite());
        }
        let after = distance(&gan);
        assert!(after < 0.5 * before, "distance {before} → {after}");
        let realness = gan.realness(&[[0.0, 0.0], [2.0, 0.0]])?;
        assert!(realness.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!((gan.steps_done(), gan.network_calls(50)), (300, 1));
        Ok(())
    }
}

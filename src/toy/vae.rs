//! A VAE of points in the plane (Kingma & Welling 2014): an encoder MLP maps a point to a
//! Gaussian over a 2-D latent (mean μ and log-variance), a decoder MLP maps a latent back to a
//! point. Trained on the negative evidence lower bound
//! |x − decoder(z)|² / (2·σ²) + KL(N(μ, diag e^logvar) ‖ N(0, I)), z = μ + e^(logvar/2)·ε,
//! with a fixed decoder variance σ² = [`DECODER_VARIANCE`]. Samples are the decoder's means at
//! z ~ N(0, I): where the latent Gaussian covers the gaps between modes, the samples smear across
//! them.

use std::sync::Arc;

use candle_core::{DType, Device, Tensor};
use candle_nn::{AdamW, Module, Optimizer, ParamsAdamW, VarMap};
use rayon::ThreadPool;

use super::data::{Point, unflatten};
use super::mlp::Mlp;
use super::models::{Draws, ToyKind, ToyModel, one_thread_pool};
use crate::train::init::seeded_var_builder;

/// The decoder's fixed variance σ²: how close a reconstruction must come, against the KL term.
pub const DECODER_VARIANCE: f64 = 0.05;
/// The shape of both networks: in → 64 → 64 → 64 → out.
const HIDDEN: (usize, usize) = (64, 3);

/// A VAE being trained.
pub struct ToyVae {
    encoder: Mlp,
    decoder: Mlp,
    optimiser: AdamW,
    data: Vec<Point>,
    batch: usize,
    draws: Draws,
    steps_done: usize,
    one_thread: Arc<ThreadPool>,
}

impl ToyVae {
    /// A fresh VAE of `data` (which must not be empty), `batch` points a step.
    pub fn new(
        data: Vec<Point>,
        batch: usize,
        learning_rate: f64,
        seed: u64,
    ) -> candle_core::Result<Self> {
        if data.is_empty() {
            candle_core::bail!("no points to learn from");
        }
        let vars = VarMap::new();
        let vb = seeded_var_builder(&vars, seed, &Device::Cpu);
        let (hidden, depth) = HIDDEN;
        let encoder = Mlp::new(&vb, "encoder", (2, hidden, depth, 4))?;
        let decoder = Mlp::new(&vb, "decoder", (2, hidden, depth, 2))?;
        let optimiser = AdamW::new(
            vars.all_vars(),
            ParamsAdamW {
                lr: learning_rate,
                weight_decay: 0.0,
                ..ParamsAdamW::default()
            },
        )?;
        Ok(Self {
            encoder,
            decoder,
            optimiser,
            data,
            batch: batch.max(1),
            draws: Draws::new(seed, 0x0076_6165),
            steps_done: 0,
            one_thread: one_thread_pool()?,
        })
    }

    fn step_on_this_thread(&mut self) -> candle_core::Result<f32> {
        let n = self.batch;
        let x = Tensor::from_vec(self.draws.points(&self.data, n), (n, 2), &Device::Cpu)?;
        let eps = Tensor::from_vec(self.draws.normal(2 * n), (n, 2), &Device::Cpu)?;
        let code = self.encoder.forward(&x)?;
        let (mean, log_variance) = (code.narrow(1, 0, 2)?, code.narrow(1, 2, 2)?);
        let z = (&mean + (log_variance.affine(0.5, 0.0)?.exp()? * eps)?)?;
        let reconstruction = self.decoder.forward(&z)?;
        let squared_error = (reconstruction - &x)?.sqr()?.sum(1)?.mean_all()?;
        // KL(N(μ, σ²) ‖ N(0, 1)) = ½·Σ(μ² + σ² − 1 − ln σ²).
        let kl = ((mean.sqr()? + log_variance.exp()?)? - log_variance.affine(1.0, 1.0)?)?
            .sum(1)?
            .mean_all()?
            .affine(0.5, 0.0)?;
        let loss = (squared_error.affine(0.5 / DECODER_VARIANCE, 0.0)? + kl)?;
        self.optimiser.backward_step(&loss)?;
        self.steps_done += 1;
        loss.to_dtype(DType::F32)?.to_scalar::<f32>()
    }

    /// Each of `points` encoded (its latent mean) and decoded again: how well the VAE reproduces
    /// what it saw.
    pub fn reconstruct(&self, points: &[Point]) -> candle_core::Result<Vec<Point>> {
        let x = Tensor::from_slice(points.as_flattened(), (points.len(), 2), &Device::Cpu)?;
        let mean = self.encoder.forward(&x)?.narrow(1, 0, 2)?;
        let flat = self
            .decoder
            .forward(&mean)?
            .detach()
            .flatten_all()?
            .to_vec1()?;
        Ok(unflatten(&flat))
    }
}

impl ToyModel for ToyVae {
    fn kind(&self) -> ToyKind {
        ToyKind::Vae
    }

    fn train_step(&mut self) -> candle_core::Result<f32> {
        let pool = Arc::clone(&self.one_thread);
        pool.install(|| self.step_on_this_thread())
    }

    fn steps_done(&self) -> usize {
        self.steps_done
    }

    fn sample(&self, count: usize, seed: u64, _steps: usize) -> Result<Vec<Point>, String> {
        self.decoder
            .map_noise(count, seed)
            .map_err(|e| e.to_string())
    }

    fn parameters(&self) -> usize {
        let (hidden, depth) = HIDDEN;
        Mlp::parameters((2, hidden, depth, 4)) + Mlp::parameters((2, hidden, depth, 2))
    }

    fn reconstructions(&self, points: &[Point]) -> Option<Vec<Point>> {
        self.reconstruct(points).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toy::data::Shape;

    fn mean(values: &[f32]) -> f32 {
        values.iter().sum::<f32>() / values.len() as f32
    }

    #[test]
    fn training_lowers_the_loss_and_reconstructions_approach_the_points() -> candle_core::Result<()>
    {
        let data = Shape::TwoMoons.points(1000, 1);
        let mut vae = ToyVae::new(data.clone(), 128, 1e-3, 3)?;
        let error = |vae: &ToyVae| -> candle_core::Result<f32> {
            let back = vae.reconstruct(&data[..200])?;
            Ok(back
                .iter()
                .zip(&data)
                .map(|(b, x)| (b[0] - x[0]).hypot(b[1] - x[1]))
                .sum::<f32>()
                / 200.0)
        };
        let before = error(&vae)?;
        let losses = (0..300)
            .map(|_| ToyModel::train_step(&mut vae))
            .collect::<candle_core::Result<Vec<f32>>>()?;
        let (first, last) = (mean(&losses[..30]), mean(&losses[270..]));
        assert!(last < 0.5 * first, "loss {first} → {last}");
        let after = error(&vae)?;
        assert!(
            after < 0.5 * before,
            "reconstruction error {before} → {after}"
        );
        assert_eq!(vae.sample(7, 1, 0).map(|s| s.len()), Ok(7));
        Ok(())
    }
}

//! The playground's denoiser: a small MLP in candle. The point (x, y) and the sinusoidal embedding
//! of its time input go through a linear layer, then a few residual layers `h + SiLU(W·h + b)`, then
//! a linear layer to the two numbers of the objective's prediction (ε, v or the flow velocity).
//!
//! Trained on `Var`s ([`ToyNet::trainable`]); sampled from plain tensors (the moving average of the
//! weights, [`ToyNet::from_weights`]), so sampling never grows an autograd graph. [`ToyNet`] is a [`Denoiser`] of 1 × 2 "images", so the
//! digits' samplers run it unchanged.

use std::collections::HashMap;

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder, VarMap};

use crate::model::layers::sinusoidal_embedding;
use crate::sample::{Denoiser, ImageShape, SampleError};
use crate::train::init::seeded_var_builder;

/// The size of the network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ToyNetSize {
    /// Width of the hidden layers.
    pub hidden: usize,
    /// Residual layers.
    pub blocks: usize,
    /// Size of the time embedding.
    pub time_dim: usize,
}

impl Default for ToyNetSize {
    fn default() -> Self {
        Self {
            hidden: 64,
            blocks: 3,
            time_dim: 32,
        }
    }
}

impl ToyNetSize {
    /// The number of weights and biases.
    pub fn parameters(&self) -> usize {
        let (h, e) = (self.hidden, self.time_dim);
        (2 + e) * h + h + self.blocks * (h * h + h) + h * 2 + 2
    }
}

/// The MLP denoiser.
#[derive(Clone)]
pub struct ToyNet {
    input: Linear,
    blocks: Vec<Linear>,
    output: Linear,
    time_dim: usize,
    /// Multiplies the time input so that t = T always reads as 1000 to the embedding.
    time_scale: f32,
}

impl ToyNet {
    /// A network with seeded initial weights held as variables in `varmap`, for a schedule of
    /// `train_steps` steps (T).
    pub fn trainable(
        varmap: &VarMap,
        size: ToyNetSize,
        train_steps: usize,
        seed: u64,
    ) -> Result<Self> {
        let vb = seeded_var_builder(varmap, seed, &Device::Cpu);
        Self::build(&vb, size, train_steps)
    }

    fn build(vb: &VarBuilder<'_>, size: ToyNetSize, train_steps: usize) -> Result<Self> {
        let ToyNetSize {
            hidden,
            blocks,
            time_dim,
        } = size;
        let blocks = (0..blocks)
            .map(|i| candle_nn::linear(hidden, hidden, vb.pp(format!("block{i}"))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            input: candle_nn::linear(2 + time_dim, hidden, vb.pp("input"))?,
            blocks,
            output: candle_nn::linear(hidden, 2, vb.pp("output"))?,
            time_dim,
            time_scale: 1000.0 / train_steps.max(1) as f32,
        })
    }

    /// A network whose weights are the plain tensors `weights` (name, tensor; the names of
    /// [`Self::trainable`]'s variables): what sampling uses, so it never grows an autograd graph.
    pub fn from_weights<'a>(
        weights: impl Iterator<Item = (&'a str, &'a Tensor)>,
        size: ToyNetSize,
        train_steps: usize,
    ) -> Result<Self> {
        let map: HashMap<String, Tensor> = weights
            .map(|(name, tensor)| (name.to_owned(), tensor.detach()))
            .collect();
        Self::build(
            &VarBuilder::from_tensors(map, DType::F32, &Device::Cpu),
            size,
            train_steps,
        )
    }

    /// The prediction for points `x` (shape `(B, 2)`) at time inputs `t` (shape `(B,)`).
    pub fn forward(&self, x: &Tensor, t: &Tensor) -> Result<Tensor> {
        let embedding = sinusoidal_embedding(&(t * f64::from(self.time_scale))?, self.time_dim)?;
        let mut h = self
            .input
            .forward(&Tensor::cat(&[x, &embedding], 1)?)?
            .silu()?;
        for block in &self.blocks {
            h = (&h + block.forward(&h)?.silu()?)?;
        }
        self.output.forward(&h)
    }

    /// The prediction for a flat list of points (x0, y0, x1, y1, …) at the time inputs `t`.
    pub fn predict_points(&self, points: &[f32], t: &[f32]) -> Result<Vec<f32>> {
        let batch = t.len();
        let x = Tensor::from_slice(points, (batch, 2), &Device::Cpu)?;
        let t = Tensor::from_slice(t, batch, &Device::Cpu)?;
        self.forward(&x, &t)?
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1()
    }
}

impl Denoiser for ToyNet {
    fn image_shape(&self) -> ImageShape {
        ImageShape::grey(1, 2)
    }

    fn predict(
        &self,
        x_t: &[f32],
        batch: usize,
        timestep_input: &[f32],
        _classes: &[u32],
    ) -> std::result::Result<Vec<f32>, SampleError> {
        if x_t.len() != 2 * batch || timestep_input.len() != batch {
            return Err(SampleError::Network {
                detail: format!("{batch} points asked with {} values", x_t.len()),
            });
        }
        self.predict_points(x_t, timestep_input)
            .map_err(|error| SampleError::Network {
                detail: error.to_string(),
            })
    }
}

//! A plain multilayer perceptron in candle, the building block of the GAN and the VAE:
//! `inputs → hidden → … → hidden → outputs`, SiLU between layers, none after the last.

use candle_core::{Device, Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};

use super::data::{Point, unflatten};
use super::models::Draws;

/// An MLP with seeded weights held by the var builder it was made from.
pub struct Mlp {
    layers: Vec<Linear>,
}

impl Mlp {
    /// `inputs → hidden (× depth) → outputs`, its weights named `{prefix}.layer{i}`.
    pub fn new(
        vb: &VarBuilder<'_>,
        prefix: &str,
        (inputs, hidden, depth, outputs): (usize, usize, usize, usize),
    ) -> Result<Self> {
        let mut sizes = vec![inputs];
        sizes.extend(std::iter::repeat_n(hidden, depth));
        sizes.push(outputs);
        let layers = sizes
            .windows(2)
            .enumerate()
            .map(|(i, pair)| {
                candle_nn::linear(pair[0], pair[1], vb.pp(format!("{prefix}.layer{i}")))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self { layers })
    }

    /// The number of weights and biases of `inputs → hidden (× depth) → outputs`.
    pub fn parameters((inputs, hidden, depth, outputs): (usize, usize, usize, usize)) -> usize {
        let mut sizes = vec![inputs];
        sizes.extend(std::iter::repeat_n(hidden, depth));
        sizes.push(outputs);
        sizes
            .windows(2)
            .map(|pair| pair[0] * pair[1] + pair[1])
            .sum()
    }
}

impl Mlp {
    /// `count` points of 2-D N(0, I) noise drawn from `seed`, put through the network (a GAN's
    /// generator, a VAE's decoder): their samples.
    pub fn map_noise(&self, count: usize, seed: u64) -> Result<Vec<Point>> {
        let z = Draws::new(seed, 0x7a).normal(2 * count);
        let z = Tensor::from_vec(z, (count, 2), &Device::Cpu)?;
        let flat = self.forward(&z)?.detach().flatten_all()?.to_vec1()?;
        Ok(unflatten(&flat))
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len().saturating_sub(1);
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i < last {
                h = h.silu()?;
            }
        }
        Ok(h)
    }
}

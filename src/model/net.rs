//! [`DenoisingNetwork`]: the networks a diffusion model can have — the program's digit UNet or
//! digit transformer, or a diffusers `UNet2DModel` — behind one forward pass in the program's
//! conventions.

use candle_core::{Result, Tensor};

use super::diffusers::DiffusersUNet;
use super::dit::DigitDiT;
use super::unet::DigitUNet;

/// The network of a [`DiffusionModel`](super::DiffusionModel).
#[derive(Clone, Debug)]
pub enum DenoisingNetwork {
    /// The program's own digit UNet (`training/unet.py`).
    Digit(Box<DigitUNet>),
    /// The program's own digit transformer (`training/dit.py`).
    Transformer(Box<DigitDiT>),
    /// A diffusers `UNet2DModel` from a pipeline folder.
    Diffusers {
        /// The network.
        unet: Box<DiffusersUNet>,
        /// Whether diffusers counts this model's timesteps from 0: the program counts discrete
        /// timesteps from 1 to T (ᾱ_t = ∏_{s ≤ t} (1 − β_s)), diffusers from 0 to T − 1 for the
        /// same ᾱ, so a model of a β schedule is given t − 1. Flow models are given T·σ in both.
        counts_from_zero: bool,
    },
}

impl DenoisingNetwork {
    /// The network's prediction for `x` `(B, C, H, W)` at the program's time inputs `t` `(B,)`
    /// (see [`PathPoint::network_input`](crate::diffusion::samplers::PathPoint)) with class ids
    /// `y` `(B,)`.
    pub fn forward(&self, x: &Tensor, t: &Tensor, y: &Tensor) -> Result<Tensor> {
        match self {
            Self::Digit(net) => net.forward(x, t, y),
            Self::Transformer(net) => net.forward(x, t, y),
            Self::Diffusers {
                unet,
                counts_from_zero: true,
            } => unet.forward(x, &(t.to_dtype(candle_core::DType::F32)? - 1.0)?, y),
            Self::Diffusers { unet, .. } => unet.forward(x, t, y),
        }
    }

    /// The network's own embedding of each time input in `t` `(B,)` (its time MLP's output),
    /// with the length of the sinusoid it starts from; `None` for a network not told t or one
    /// whose embedding is not exposed (a diffusers model).
    pub fn time_embedding(&self, t: &Tensor) -> Result<Option<(Tensor, usize)>> {
        match self {
            Self::Digit(net) => Ok(Some((net.time_embedding(t)?, net.config().sinusoid_dim))),
            Self::Transformer(net) => Ok(net
                .time_embedding(t)?
                .map(|e| (e, net.config().sinusoid_dim))),
            Self::Diffusers { .. } => Ok(None),
        }
    }

    /// The digit UNet's sizes; `None` for another network.
    pub fn digit_config(&self) -> Option<&super::UNetConfig> {
        match self {
            Self::Digit(net) => Some(net.config()),
            Self::Transformer(_) | Self::Diffusers { .. } => None,
        }
    }

    /// The digit transformer, when the network is one.
    pub fn transformer(&self) -> Option<&DigitDiT> {
        match self {
            Self::Transformer(net) => Some(net),
            Self::Digit(_) | Self::Diffusers { .. } => None,
        }
    }

    /// (channels, height, width) of the images the network takes.
    pub fn image_shape(&self) -> (usize, usize, usize) {
        match self {
            Self::Digit(_) => (1, 28, 28),
            Self::Transformer(net) => {
                let config = net.config();
                (config.in_channels, config.image_size, config.image_size)
            }
            Self::Diffusers { unet, .. } => {
                let (h, w) = unet.config().sample_size;
                (unet.config().channels, h, w)
            }
        }
    }

    /// Whether the network runs on our CPU kernels.
    pub fn uses_our_kernels(&self) -> bool {
        match self {
            Self::Digit(net) => net.uses_our_kernels(),
            Self::Transformer(net) => net.uses_our_kernels(),
            Self::Diffusers { unet, .. } => unet.uses_our_kernels(),
        }
    }
}

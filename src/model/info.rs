//! What a checkpoint says about itself, by kind: a diffusion model has a network, an objective and
//! a schedule; a classifier has none of these. [`Network`] names the architecture, ready for a
//! second one beside the UNet.

use std::collections::BTreeMap;

use super::checkpoint::ModelKind;
use super::config::UNetConfig;
use super::diffusers::UNet2DConfig;
use super::dit::DiTConfig;
use crate::diffusion::objectives::Objective;

/// What a checkpoint says about itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// What the file holds, with what only that kind has.
    pub details: ModelDetails,
    /// Every metadata entry of the file (steps, loss, command…), for the model's details.
    pub metadata: BTreeMap<String, String>,
}

impl ModelInfo {
    /// The kind of model.
    pub fn kind(&self) -> ModelKind {
        match &self.details {
            ModelDetails::Diffusion(info) => match info.network {
                Network::DigitUNet(_) => ModelKind::DigitUNet,
                Network::DigitDiT(_) => ModelKind::DigitDiT,
                Network::DiffusersUNet2D(_) => ModelKind::DiffusersUNet2D,
            },
            ModelDetails::Classifier => ModelKind::DigitClassifier,
        }
    }

    /// What a diffusion model declares; `None` for a classifier.
    pub fn diffusion(&self) -> Option<&DiffusionInfo> {
        match &self.details {
            ModelDetails::Diffusion(info) => Some(info),
            ModelDetails::Classifier => None,
        }
    }
}

/// What only one kind of model has.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelDetails {
    /// A diffusion model.
    Diffusion(DiffusionInfo),
    /// The digit classifier (its sizes are fixed).
    Classifier,
}

/// What a diffusion model declares: its network and how it was trained.
#[derive(Clone, Debug, PartialEq)]
pub struct DiffusionInfo {
    /// The architecture and its sizes.
    pub network: Network,
    /// What the network predicts.
    pub objective: Objective,
    /// The noise schedule's name as written by training (`linear`, `rectified-flow`, …).
    pub schedule: String,
    /// T, the number of training timesteps.
    pub train_steps_t: usize,
    /// β at t = 1, when the file sets it (else the schedule's default).
    pub beta_start: Option<f64>,
    /// β at t = T, when the file sets it (else the schedule's default).
    pub beta_end: Option<f64>,
    /// Whether the schedule is rescaled to ᾱ_T = 0 (a diffusers scheduler's
    /// `rescale_betas_zero_snr`; never in the program's own checkpoints).
    pub zero_terminal_snr: bool,
    /// β_1…β_T listed one by one in place of the named schedule's formula (a diffusers
    /// scheduler's `trained_betas`; never in the program's own checkpoints).
    pub trained_betas: Option<Vec<f64>>,
}

/// The architecture of a diffusion model's network.
#[derive(Clone, Debug, PartialEq)]
pub enum Network {
    /// The digit UNet, with its sizes.
    DigitUNet(UNetConfig),
    /// The digit transformer, with its sizes.
    DigitDiT(DiTConfig),
    /// A diffusers `UNet2DModel`, with its config.
    DiffusersUNet2D(Box<UNet2DConfig>),
}

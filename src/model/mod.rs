//! Candle networks: the digit UNet and transformer, the classifier, their configs, and checkpoints (safetensors with
//! metadata). Never imports egui or wgpu.
//!
//! Code map:
//! - [`config`]: [`UNetConfig`] (sizes, as stored in a checkpoint), [`NULL_CLASS`], FLOP counts.
//! - [`layers`]: the sinusoidal timestep embedding, `TimeMlp`, `ResBlock`, `SelfAttention`, and
//!   `FastConv2d` / `FastGroupNorm` (our CPU kernels, candle's operations as the fallback).
//! - [`kernels`]: those CPU kernels as candle custom operations (convolution, GroupNorm + SiLU).
//! - [`unet`]: [`DigitUNet`], the twin of `training/unet.py` (same function, same tensor names).
//! - [`dit`]: [`DigitDiT`], the digit transformer, twin of `training/dit.py`: patches, adaLN-zero
//!   blocks, learned / 2D RoPE / no positions, with or without the time input.
//! - [`classifier`]: [`DigitClassifier`], the CNN that judges generated digits.
//! - [`checkpoint`]: loading safetensors files with their metadata; [`CheckpointError`].
//! - [`device`]: [`choose_device`], a GPU when built for one and it works, else the CPU.
//! - [`net`]: [`DenoisingNetwork`], the digit UNet or a diffusers `UNet2DModel` behind one forward
//!   pass in the program's conventions.
//! - [`diffusers`]: diffusers' `UNet2DModel` built from `config.json` and safetensors, and pipeline
//!   folders opened as diffusion models.
//! - [`scheduler_config`]: diffusers' `scheduler_config.json` read into a schedule, objective and
//!   sampler the program reproduces, or refused naming the field; written back as it came.
//!
//! Invariant: networks used for sampling are built from plain tensors (a loaded checkpoint), never
//! from a `VarMap`, so no autograd graph outlives a step.

pub mod checkpoint;
pub mod classifier;
pub mod config;
pub mod device;
pub mod diffusers;
pub mod dit;
pub mod info;
pub mod kernels;
pub mod layers;
pub mod net;
pub mod scheduler_config;
pub mod shipped;
pub mod unet;

pub use checkpoint::{
    CheckpointError, DiffusionModel, ModelKind, Objective, load_classifier, load_diffusion_model,
    read_model_info, resolve_model, shipped_model_path, shipped_models,
};
pub use classifier::DigitClassifier;
pub use config::{NULL_CLASS, UNetConfig};
pub use device::{DeviceChoice, DevicePreference, choose_device, device_for, finish_queued_work};
pub use dit::{DiTConfig, DigitDiT, Positions};
pub use info::{DiffusionInfo, ModelDetails, ModelInfo, Network};
pub use net::DenoisingNetwork;
pub use unet::DigitUNet;

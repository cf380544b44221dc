//! Models trained elsewhere with diffusers: a `UNet2DModel` built from its `config.json` and
//! safetensors weights, and a pipeline folder (`model_index.json`, `scheduler/`, `unet/`) opened as
//! a diffusion model the program samples like its own.
//!
//! Code map:
//! - [`config`]: [`UNet2DConfig`], the `config.json` read, or refused naming the field.
//! - [`blocks`]: `Timesteps`, `ResnetBlock2D`, `Attention`, `Downsample2D` with diffusers' names.
//! - [`unet2d`]: [`DiffusersUNet`], the network.
//! - [`folder`]: a pipeline folder loaded, every failure a sentence naming the file.

pub mod blocks;
pub mod config;
pub mod folder;
pub mod unet2d;

pub use config::{LevelKind, UNet2DConfig, UNetConfigError};
pub use folder::{DiffusersFolderError, is_pipeline_folder, load_pipeline_folder, load_unet};
pub use unet2d::DiffusersUNet;

//! The playground: diffusion in the plane. Data sets of points, a small MLP denoiser trained a step
//! at a time, sampled by the digits' own samplers (a point is a 1 × 2 "image"), and measures of how
//! close samples come to the data. Never imports egui or wgpu.
//!
//! Code map:
//! - [`data`]: the shapes (two moons, Swiss roll, eight Gaussians, …), seeded.
//! - [`points_file`]: points as CSV, read with limits and written atomically.
//! - [`net`]: [`ToyNet`], the MLP denoiser, a [`crate::sample::Denoiser`].
//! - [`diffusion`]: [`ToyDiffusion`], training one step at a time; [`ToySampler`], the frozen
//!   network sampled (final points, or every step of their paths).
//! - [`gan`], [`vae`]: the two older generative models, on MLPs of [`mlp`] with about the same
//!   number of weights, for the comparison; [`models`]: [`ToyModel`], what the three share.
//! - [`measure`]: sliced Wasserstein distance, MMD², coverage of a mixture's modes.
//! - [`density`]: a density estimate of points on a grid, and its contour lines.
//! - [`mesh`]: a grid of lines in the noise plane, for drawing the map from noise to data.
//! - [`animation`]: the forward and reverse processes as captioned frames, for GIFs.

pub mod animation;
pub mod data;
pub mod density;
pub mod diffusion;
pub mod gan;
pub mod measure;
pub mod mesh;
pub mod mlp;
pub mod models;
pub mod net;
pub mod points_file;
pub mod vae;

pub use data::{Point, Shape};
pub use diffusion::{ToyDiffusion, ToyDiffusionSpec, ToySampler};
pub use models::{ToyKind, ToyModel};
pub use net::{ToyNet, ToyNetSize};

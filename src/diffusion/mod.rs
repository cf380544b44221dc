//! The mathematics of diffusion, pure and exhaustively tested: noise schedules, the forward process,
//! seeded Gaussian noise, the parameterisations (ε, v, flow) and the sampler steps. Depends on
//! nothing but numbers (no egui, no candle, no files).
//!
//! Timestep convention, used everywhere in the program: `t` runs over `0..=T`; `t = 0` is the clean
//! image x0 (ᾱ_0 = 1) and `t = T` the last noisy step. Our `t` is diffusers' timestep index plus one
//! (diffusers' `alphas_cumprod[i]` is our ᾱ at `t = i + 1`).

pub mod ancestral;
pub mod forward;
pub mod noise;
pub mod objectives;
pub mod samplers;
pub mod schedule;
pub mod stats;

pub use schedule::{NoiseSchedule, ScheduleConfig, ScheduleKind};

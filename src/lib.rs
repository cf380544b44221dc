//! Diffuscope: a desktop program that teaches how diffusion models work.
//!
//! The crate is a library with a thin binary, so tests build the real program. Dependencies point
//! one way: `diffusion` (numbers only) ← `data`, `export` ← `ui`, with `cli` and `bench` at the edge.
//! See ARCHITECTURE.md for the map.

pub mod bench;
pub mod cli;
pub mod clock;
pub mod data;
pub mod diffusion;
pub mod export;
#[doc(hidden)]
pub mod fuzzing;
pub mod i18n;
pub mod memory_budget;
pub mod model;
pub mod process;
pub mod quality;
pub mod render;
pub mod sample;
pub mod toy;
pub mod train;
pub mod ui;
pub mod worker;

//! Datasets and images: loading with limits, the bundled photos, and the `Picture` type.

pub mod bundled;
pub mod file;
pub mod jpeg_end;
pub mod load;
pub mod mnist;
pub mod picture;

pub use picture::Picture;

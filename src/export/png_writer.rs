//! PNG stills.

use std::path::Path;

use image::ImageEncoder as _;
use image::codecs::png::PngEncoder;

use super::ExportError;
use super::atomic::{self, WriteFailure};

/// Writes one PNG atomically (a temporary file in the destination folder, then a rename; on any
/// error nothing is left behind).
pub fn write_png(path: &Path, image: &image::RgbImage) -> Result<(), ExportError> {
    atomic::write_atomically(path, |out| {
        PngEncoder::new(out).write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )?;
        Ok::<(), WriteFailure>(())
    })
}

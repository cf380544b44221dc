//! The Forward view in a lesson's slide: its settings, t, and the photo: a bundled one by name,
//! any other embedded as a PNG (base64) with its file name, so the lesson opens on another
//! machine.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ForwardView;
use super::state::{ForwardSettings, PictureSource};
use crate::data::bundled::BundledPhoto;

/// The Forward view's part of a slide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForwardSlide {
    /// Schedule, mode, seed and the rest of the view's choices.
    pub settings: ForwardSettings,
    /// The timestep shown.
    pub t: usize,
    /// The photo.
    pub photo: SlidePhoto,
}

/// The photo of a slide.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlidePhoto {
    /// One shipped with the program.
    Bundled(BundledPhoto),
    /// Any other, as shown (after scaling down), embedded.
    File {
        /// The file's name, for captions.
        name: String,
        /// The picture as a PNG file, in base64.
        png_base64: String,
    },
}

impl ForwardView {
    /// Where the view stands, as a slide.
    pub(super) fn slide(&self) -> ForwardSlide {
        let photo = match &self.state.source {
            PictureSource::Bundled(photo) => SlidePhoto::Bundled(*photo),
            PictureSource::File(name) => SlidePhoto::File {
                name: name.clone(),
                png_base64: STANDARD.encode(png_bytes(&self.state.picture().to_rgb_image())),
            },
        };
        ForwardSlide {
            settings: self.state.settings.clone(),
            t: self.state.t,
            photo,
        }
    }

    /// Shows `slide`: the settings and t at once, the photo as it loads (a bundled one at once).
    pub(super) fn show(&mut self, slide: ForwardSlide) {
        self.state.show_slide(slide.settings, slide.t);
        match slide.photo {
            SlidePhoto::Bundled(photo) => {
                if self.state.source != PictureSource::Bundled(photo)
                    && let Ok(loaded) = photo.load()
                {
                    self.state
                        .set_picture(loaded, PictureSource::Bundled(photo));
                }
            }
            SlidePhoto::File { name, png_base64 } => {
                if let Ok(bytes) = STANDARD.decode(png_base64) {
                    self.open_bytes(name, bytes);
                }
            }
        }
    }
}

/// `state` as the Forward view's part of a slide, if it reads as one.
pub fn read_slide(state: &Value) -> Option<ForwardSlide> {
    let slide = ForwardSlide::deserialize(state).ok()?;
    match &slide.photo {
        SlidePhoto::File { png_base64, .. } if STANDARD.decode(png_base64).is_err() => None,
        _ => Some(slide),
    }
}

/// The PNG file of `picture` (lossless; an encoder failure leaves it empty, which will not read
/// back and so is refused when the lesson is opened).
fn png_bytes(picture: &image::RgbImage) -> Vec<u8> {
    let mut bytes = std::io::Cursor::new(Vec::new());
    let _ = picture.write_to(&mut bytes, image::ImageFormat::Png);
    bytes.into_inner()
}

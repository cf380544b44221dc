//! GPU textures of the three images (x0, x_t, ε), uploaded only when their contents change.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};

use super::state::{ForwardState, XtImage};
use crate::data::picture::values_to_rgb8;

/// The textures and the revisions they show.
#[derive(Default)]
pub struct Textures {
    inputs: Option<(u64, TextureHandle, TextureHandle)>,
    x_t: Option<(u64, TextureHandle)>,
}

impl Textures {
    /// Textures of x0 and ε for the state's current inputs.
    pub fn inputs(
        &mut self,
        ctx: &egui::Context,
        state: &ForwardState,
    ) -> (&TextureHandle, &TextureHandle) {
        let revision = state.inputs_revision();
        let entry = match self.inputs.take() {
            Some(entry) if entry.0 == revision => entry,
            _ => {
                let picture = state.picture();
                let size = [picture.width, picture.height];
                let x0 = ColorImage::from_rgb(size, &picture.to_rgb8());
                let mut eps_rgb = vec![0; state.eps().len()];
                values_to_rgb8(state.eps(), &mut eps_rgb);
                let eps = ColorImage::from_rgb(size, &eps_rgb);
                (
                    revision,
                    ctx.load_texture("forward-x0", x0, TextureOptions::LINEAR),
                    ctx.load_texture("forward-eps", eps, TextureOptions::LINEAR),
                )
            }
        };
        let (_, x0, eps) = self.inputs.insert(entry);
        (x0, eps)
    }

    /// The texture of x_t, re-uploaded only when the image's revision changed.
    pub fn x_t(&mut self, ctx: &egui::Context, image: &XtImage) -> &TextureHandle {
        let color = || ColorImage::from_rgb([image.width, image.height], &image.rgb);
        let texture = match self.x_t.take() {
            Some((revision, texture)) if revision == image.revision => texture,
            Some((_, mut texture)) => {
                texture.set(color(), TextureOptions::LINEAR);
                texture
            }
            None => ctx.load_texture("forward-x_t", color(), TextureOptions::LINEAR),
        };
        &self.x_t.insert((image.revision, texture)).1
    }
}

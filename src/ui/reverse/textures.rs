//! The shown step as textures: the grid of x_t (or of the finished images), and the selected
//! sample's x_t, x̂0, ε̂ and guidance panels. Uploaded only when the step or the selection changes.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;

use super::state::ReverseState;
use crate::sample::GridSpec;
use crate::sample::colormap::diverging;
use crate::sample::grid::{tile, tile_with};
use crate::worker::frame::to_full;

/// The panels of the selected sample.
pub struct SamplePanels {
    /// x_t.
    pub x_t: TextureHandle,
    /// x̂0.
    pub x0: TextureHandle,
    /// ε̂.
    pub eps: TextureHandle,
    /// ε̂ given "no class", ε̂ given the class, and their difference (when guidance mixed them).
    pub guidance: Option<[TextureHandle; 3]>,
}

/// Textures and the (run, step, selection) they show.
#[derive(Default)]
pub struct Textures {
    key: Option<(String, usize, usize, usize)>,
    grid: Option<TextureHandle>,
    panels: Option<SamplePanels>,
}

impl Textures {
    /// Drops everything (a new run begins).
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// The textures for what `state` shows, uploading them if it changed.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        state: &ReverseState,
    ) -> (Option<&TextureHandle>, Option<&SamplePanels>) {
        let key = state
            .record
            .as_ref()
            .zip(state.shown_index())
            .map(|(record, index)| {
                (
                    record.describe(),
                    record.frames.len(),
                    index,
                    state.selected,
                )
            });
        // A streaming run adds frames without moving the selection: the key's frame count
        // changes, but the picture only changes when the shown index does.
        let same_picture = matches!((&self.key, &key), (Some(a), Some(b)) if a.0 == b.0 && a.2 == b.2 && a.3 == b.3);
        if !same_picture {
            self.grid = shown_grid(state).map(|picture| upload(ctx, "reverse-grid", &picture));
            self.panels = panels(ctx, state);
        }
        self.key = key;
        (self.grid.as_ref(), self.panels.as_ref())
    }
}

/// The grid on screen as a picture: x_t of the shown step, or the finished images (one pixel per
/// image pixel; the view enlarges it).
pub fn shown_grid(state: &ReverseState) -> Option<RgbImage> {
    let record = state.record.as_ref()?;
    let index = state.shown_index()?;
    let grid = state.settings_grid(record);
    let values = match record.frames.get(index) {
        Some(frame) => to_full(&frame.x_t),
        None => record.samples.clone()?,
    };
    Some(tile(&values, record.image_size, grid, 1))
}

fn panels(ctx: &egui::Context, state: &ReverseState) -> Option<SamplePanels> {
    let record = state.record.as_ref()?;
    let index = state.shown_index()?;
    let one = GridSpec {
        columns: 1,
        rows: 1,
    };
    let size = record.image_size;
    let sample = state.selected;
    let grey = |values: &[f32]| tile(values, size, one, 1);
    let signed = |values: &[f32]| tile_with(values, size, one, 1, &diverging);
    // The finished images are shown with the last recorded step's guesses.
    let frame = record.frames.get(index).or_else(|| record.frames.last())?;
    let finished = index >= record.frames.len();
    let x_t = if finished {
        let pixels = size.0 * size.1;
        record
            .samples
            .as_ref()?
            .get(sample * pixels..(sample + 1) * pixels)?
            .to_vec()
    } else {
        frame.image(&frame.x_t, sample)
    };
    let guidance = frame.guidance.as_ref().map(|parts| {
        let uncond = frame.image(&parts.eps_unconditional, sample);
        let cond = frame.image(&parts.eps_conditional, sample);
        let difference: Vec<f32> = cond.iter().zip(&uncond).map(|(c, u)| c - u).collect();
        [
            upload(ctx, "reverse-eps-uncond", &signed(&uncond)),
            upload(ctx, "reverse-eps-cond", &signed(&cond)),
            upload(ctx, "reverse-eps-diff", &signed(&difference)),
        ]
    });
    Some(SamplePanels {
        x_t: upload(ctx, "reverse-x_t", &grey(&x_t)),
        x0: upload(ctx, "reverse-x0", &grey(&frame.image(&frame.x0, sample))),
        eps: upload(
            ctx,
            "reverse-eps",
            &signed(&frame.image(&frame.eps, sample)),
        ),
        guidance,
    })
}

fn upload(ctx: &egui::Context, name: &str, picture: &RgbImage) -> TextureHandle {
    let size = [picture.width() as usize, picture.height() as usize];
    let image = ColorImage::from_rgb(size, picture.as_raw());
    ctx.load_texture(name, image, TextureOptions::NEAREST)
}

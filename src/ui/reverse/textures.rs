//! The shown step as textures: the grid of x_t (or of the finished images), and the selected
//! sample's x_t, x̂0, ε̂ and guidance panels. Uploaded only when the step or the selection changes.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;

use super::state::ReverseState;
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::sample::GridSpec;
use crate::sample::colormap::{DIVERGING_RANGE, diverging};
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
    /// A real digit noised to the same point of the path (side by side), if asked for.
    pub real: Option<TextureHandle>,
}

/// Textures and the (run, step, selection) they show.
#[derive(Default)]
pub struct Textures {
    key: Option<(u64, usize, usize, bool)>,
    grid: Option<TextureHandle>,
    panels: Option<SamplePanels>,
}

impl Textures {
    /// Drops everything (a new run begins).
    pub fn forget(&mut self) {
        *self = Self::default();
    }

    /// The textures for what `state` shows, uploading them if it changed. `real` is the clean
    /// real digit to show noised beside the selected sample, if any.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        state: &ReverseState,
        real: Option<&[f32]>,
    ) -> (Option<&TextureHandle>, Option<&SamplePanels>) {
        // A streaming run adds frames; the pictures only change when the shown step does.
        // Before the first step, the starting noise is shown (index `usize::MAX`).
        let key = state.record.is_some().then(|| {
            let index = state.shown_index().unwrap_or(usize::MAX);
            (state.run_generation, index, state.selected, real.is_some())
        });
        if key != self.key {
            self.grid = shown_grid(state).map(|picture| upload(ctx, "reverse-grid", &picture));
            self.panels = panels(ctx, state, real);
            self.key = key;
        }
        (self.grid.as_ref(), self.panels.as_ref())
    }
}

/// The grid on screen as a picture: x_t of the shown step, or the finished images (one pixel per
/// image pixel; the view enlarges it).
pub fn shown_grid(state: &ReverseState) -> Option<RgbImage> {
    let record = state.record.as_ref()?;
    let grid = record.grid();
    let Some(index) = state.shown_index() else {
        // Nothing recorded yet: the pure noise the run starts from.
        return (!record.start.is_empty()).then(|| tile(&record.start, record.image_size, grid, 1));
    };
    let values = match record.frames.get(index) {
        Some(frame) => to_full(&frame.x_t),
        None => record.samples.clone()?,
    };
    Some(tile(&values, record.image_size, grid, 1))
}

fn panels(ctx: &egui::Context, state: &ReverseState, real: Option<&[f32]>) -> Option<SamplePanels> {
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
        GridSpec::image_of(record.samples.as_ref()?, size.0 * size.1, sample)?.to_vec()
    } else {
        frame.image(&frame.x_t, sample)
    };
    let guidance = frame.guidance.as_ref().map(|parts| {
        let uncond = frame.image(&parts.eps_unconditional, sample);
        let cond = frame.image(&parts.eps_conditional, sample);
        // The difference is small next to ε itself: stretch it so its largest value reaches the
        // colour map's end, so its shape shows.
        let difference: Vec<f32> = cond.iter().zip(&uncond).map(|(c, u)| c - u).collect();
        let largest = difference.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        let stretch = if largest > 0.0 {
            DIVERGING_RANGE / largest
        } else {
            1.0
        };
        let difference: Vec<f32> = difference.iter().map(|v| v * stretch).collect();
        [
            upload(ctx, "reverse-eps-uncond", &signed(&uncond)),
            upload(ctx, "reverse-eps-cond", &signed(&cond)),
            upload(ctx, "reverse-eps-diff", &signed(&difference)),
        ]
    });
    // The forward process of a real digit, at the point this step's x_t is at: a·x0 + s·ε.
    let real = real
        .filter(|digit| digit.len() == size.0 * size.1)
        .map(|digit| {
            let noisy = if finished {
                digit.to_vec()
            } else {
                let eps = standard_normal(digit.len(), record.settings.seed, NoiseStream::Jump);
                frame.point.coefficients.noisy(digit, &eps)
            };
            upload(ctx, "reverse-real", &grey(&noisy))
        });
    Some(SamplePanels {
        real,
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

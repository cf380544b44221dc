//! The shown step as textures: the grid of x_t (or of the finished images), and the selected
//! sample's x_t, x̂0, ε̂ and guidance panels. Uploaded only when the step or the selection changes.

use std::sync::Arc;

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;

use super::state::ReverseState;
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::render::lane::GpuLane;
use crate::render::signed::{SignedCallback, SignedValues};
use crate::sample::colormap::{DIVERGING_RANGE, diverging};
use crate::sample::grid::{tile, tile_with};
use crate::sample::{GridSpec, ImageShape};
use crate::worker::frame::to_full;

/// A panel's picture: a texture made on the CPU, or signed values the colour-map shader draws.
pub enum PanelPicture {
    /// Uploaded pixels.
    Texture(TextureHandle),
    /// Drawn by `shaders/signed.wgsl` as panel `panel` of `lane`; `revision` changes with the values.
    Signed {
        /// The lane whose textures hold it.
        lane: GpuLane,
        /// Which of the lane's signed panels.
        panel: u8,
        /// Changes whenever the values do.
        revision: u64,
        /// The values.
        values: Arc<SignedValues>,
    },
}

impl PanelPicture {
    /// The paint callback drawing a signed panel, or `None` for a texture.
    pub fn shader_callback(&self) -> Option<SignedCallback> {
        match self {
            Self::Texture(_) => None,
            Self::Signed {
                lane,
                panel,
                revision,
                values,
            } => Some(SignedCallback {
                lane: lane.clone(),
                panel: *panel,
                revision: *revision,
                values: Arc::clone(values),
                range: DIVERGING_RANGE,
            }),
        }
    }
}

/// The panels of the selected sample.
pub struct SamplePanels {
    /// x_t.
    pub x_t: TextureHandle,
    /// x̂0.
    pub x0: TextureHandle,
    /// ε̂.
    pub eps: PanelPicture,
    /// ε̂ given "no class", ε̂ given the class, and their difference (when guidance mixed them).
    pub guidance: Option<[PanelPicture; 3]>,
    /// A real digit noised to the same point of the path (side by side), if asked for.
    pub real: Option<TextureHandle>,
    /// Whether the images are in colour (the signed panels then show the channels' mean).
    pub colour: bool,
}

/// Textures and the (run, step, selection) they show.
#[derive(Default)]
pub struct Textures {
    /// Draw signed panels with the colour-map shader (a wgpu window whose pipelines were built).
    pub signed_on_gpu: bool,
    /// The view's place in the GPU resources (its signed panels' textures).
    pub lane: GpuLane,
    /// Counts the panel sets made, so each set of signed values has its own revision.
    revisions: u64,
    key: Option<(u64, usize, usize, bool)>,
    grid: Option<TextureHandle>,
    panels: Option<SamplePanels>,
}

impl Textures {
    /// Drops everything (a new run begins).
    pub fn forget(&mut self) {
        *self = Self {
            signed_on_gpu: self.signed_on_gpu,
            lane: self.lane.clone(),
            revisions: self.revisions,
            ..Self::default()
        };
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
            self.revisions += 1;
            let signed = SignedPanels {
                lane: self.signed_on_gpu.then(|| self.lane.clone()),
                revision: self.revisions,
            };
            self.panels = panels(ctx, state, real, &signed);
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
        return (!record.start.is_empty())
            .then(|| tile(&record.start, record.image_shape, grid, 1));
    };
    let values = match record.frames.get(index) {
        Some(frame) => to_full(&frame.x_t),
        None => record.samples.clone()?,
    };
    Some(tile(&values, record.image_shape, grid, 1))
}

/// How signed panels are made: on the GPU in this lane, or on the CPU; and the revision of this set.
struct SignedPanels {
    lane: Option<GpuLane>,
    revision: u64,
}

impl SignedPanels {
    fn picture(
        &self,
        ctx: &egui::Context,
        panel: u8,
        values: Vec<f32>,
        shape: ImageShape,
    ) -> PanelPicture {
        // A colour image's signed values are shown as the mean of its channels.
        let values = if shape.is_colour() {
            shape.channel_mean(&values)
        } else {
            values
        };
        let (height, width) = shape.side();
        if let Some(lane) = &self.lane {
            PanelPicture::Signed {
                lane: lane.clone(),
                panel,
                revision: self.revision,
                values: Arc::new(SignedValues {
                    width,
                    height,
                    values,
                }),
            }
        } else {
            let one = GridSpec {
                columns: 1,
                rows: 1,
            };
            let picture = tile_with(&values, ImageShape::grey(height, width), one, 1, &diverging);
            PanelPicture::Texture(upload(ctx, &format!("reverse-signed-{panel}"), &picture))
        }
    }
}

/// The selected sample at the step shown: its x_t, the model's guess of x0 and of ε, and the
/// recorded frame they come from (the finished images with the last step's guesses).
struct SampleValues<'a> {
    frame: &'a crate::worker::Frame,
    finished: bool,
    x_t: Vec<f32>,
    x0: Vec<f32>,
    eps: Vec<f32>,
}

fn sample_values(state: &ReverseState) -> Option<SampleValues<'_>> {
    let record = state.record.as_ref()?;
    let index = state.shown_index()?;
    let size = record.image_shape;
    let sample = state.selected;
    let frame = record.frames.get(index).or_else(|| record.frames.last())?;
    let finished = index >= record.frames.len();
    let x_t = if finished {
        GridSpec::image_of(record.samples.as_ref()?, size.values(), sample)?.to_vec()
    } else {
        frame.image(&frame.x_t, sample)
    };
    Some(SampleValues {
        frame,
        finished,
        x_t,
        x0: frame.image(&frame.x0, sample),
        eps: frame.image(&frame.eps, sample),
    })
}

/// The selected sample's x_t, guess of x0 and guess of ε (in the diverging colour map) as
/// pictures one pixel per value, for slides.
pub fn sample_pictures(state: &ReverseState) -> Option<[RgbImage; 3]> {
    let size = state.record.as_ref()?.image_shape;
    let values = sample_values(state)?;
    let one = GridSpec {
        columns: 1,
        rows: 1,
    };
    Some([
        tile(&values.x_t, size, one, 1),
        tile(&values.x0, size, one, 1),
        tile_with(&values.eps, size, one, 1, &diverging),
    ])
}

fn panels(
    ctx: &egui::Context,
    state: &ReverseState,
    real: Option<&[f32]>,
    signed: &SignedPanels,
) -> Option<SamplePanels> {
    let record = state.record.as_ref()?;
    let one = GridSpec {
        columns: 1,
        rows: 1,
    };
    let size = record.image_shape;
    let sample = state.selected;
    let grey = |values: &[f32]| tile(values, size, one, 1);
    let SampleValues {
        frame,
        finished,
        x_t,
        x0,
        eps,
    } = sample_values(state)?;
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
            signed.picture(ctx, 2, uncond, size),
            signed.picture(ctx, 3, cond, size),
            signed.picture(ctx, 4, difference, size),
        ]
    });
    // The forward process of a real digit, at the point this step's x_t is at: a·x0 + s·ε.
    let real = real
        .filter(|digit| digit.len() == size.values())
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
        x0: upload(ctx, "reverse-x0", &grey(&x0)),
        eps: signed.picture(ctx, 1, eps, size),
        guidance,
        colour: size.is_colour(),
    })
}

fn upload(ctx: &egui::Context, name: &str, picture: &RgbImage) -> TextureHandle {
    let size = [picture.width() as usize, picture.height() as usize];
    let image = ColorImage::from_rgb(size, picture.as_raw());
    ctx.load_texture(name, image, TextureOptions::NEAREST)
}

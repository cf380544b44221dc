//! Each lane's pictures as textures: its grid at the clock shown (x_t while it runs, the samples
//! once done) and the chosen sample's x̂0, uploaded only when what they show changes.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};

use super::state::{Race, VotePair};
use crate::sample::grid::tile;
use crate::sample::race::LaneAt;
use crate::sample::{GridSpec, ImageShape};

/// Enlargement of the uploaded pictures (drawn scaled to fit; nearest-neighbour keeps pixels
/// crisp).
const SCALE: u32 = 2;

/// What a lane's textures show: the step's network calls (or the run's total, done), and the
/// sample chosen.
type Shown = (usize, bool, usize);

/// One lane's textures.
pub struct LaneTexture {
    shown: Shown,
    /// Its grid.
    pub grid: TextureHandle,
    /// The chosen sample's x̂0.
    pub x0: TextureHandle,
}

/// Every lane's textures, and the vote's two pictures.
#[derive(Default)]
pub struct LaneTextures {
    lanes: Vec<Option<LaneTexture>>,
    vote: Option<(VotePair, [TextureHandle; 2])>,
}

impl LaneTextures {
    /// Forgets every texture (a new race).
    pub fn forget(&mut self) {
        self.lanes.clear();
        self.vote = None;
    }

    /// The vote's two pictures (the left and the right lane's finished sample), enlarged.
    pub fn vote(
        &mut self,
        ctx: &egui::Context,
        race: &Race,
        pair: VotePair,
    ) -> &[TextureHandle; 2] {
        let size = race.image_shape();
        let picture = |lane: usize, name: &str| {
            let one = sample_of(&race.lanes[lane].trace.finished, size, pair.sample);
            upload(ctx, name, &tile(one, size, SINGLE, 4 * SCALE))
        };
        let vote = self
            .vote
            .take()
            .filter(|(shown, _)| *shown == pair)
            .unwrap_or_else(|| {
                let left = picture(pair.left, "compare-vote-left");
                (pair, [left, picture(pair.right, "compare-vote-right")])
            });
        &self.vote.insert(vote).1
    }

    /// The textures of every lane of `race` at clock `clock`, sample `selected` for x̂0; `None`
    /// for a lane with nothing to show yet.
    pub fn update(
        &mut self,
        ctx: &egui::Context,
        race: &Race,
        clock: usize,
        selected: usize,
    ) -> &[Option<LaneTexture>] {
        self.lanes.resize_with(race.lanes.len(), || None);
        let size = race.image_shape();
        let side = race.settings.grid_side.clamp(1, 4) as u32;
        let grid = GridSpec {
            columns: side,
            rows: side,
        };
        for (index, (lane, slot)) in race.lanes.iter().zip(&mut self.lanes).enumerate() {
            let (images, x0, shown): (&[f32], &[f32], Shown) = match lane.trace.at(clock) {
                Some(LaneAt::Running(step)) => {
                    (&step.x_t, &step.x0, (step.network_calls, false, selected))
                }
                Some(LaneAt::Finished(images)) => {
                    (images, images, (lane.trace.network_calls, true, selected))
                }
                None => {
                    *slot = None;
                    continue;
                }
            };
            if slot.as_ref().is_some_and(|t| t.shown == shown) {
                continue;
            }
            let one = sample_of(x0, size, selected);
            *slot = Some(LaneTexture {
                shown,
                grid: upload(
                    ctx,
                    &format!("compare-grid-{index}"),
                    &tile(images, size, grid, SCALE),
                ),
                x0: upload(
                    ctx,
                    &format!("compare-x0-{index}"),
                    &tile(one, size, SINGLE, SCALE),
                ),
            });
        }
        &self.lanes
    }
}

/// One picture alone.
const SINGLE: GridSpec = GridSpec {
    columns: 1,
    rows: 1,
};

/// Sample `index` of `images` (samples of `size` one after another; none past the end).
fn sample_of(images: &[f32], size: ImageShape, index: usize) -> &[f32] {
    let pixels = size.values();
    images
        .get(index * pixels..(index + 1) * pixels)
        .unwrap_or(&[])
}

/// `picture` as a texture named `name`, drawn with crisp pixels.
fn upload(ctx: &egui::Context, name: &str, picture: &image::RgbImage) -> TextureHandle {
    let dims = [picture.width() as usize, picture.height() as usize];
    ctx.load_texture(
        name,
        ColorImage::from_rgb(dims, picture.as_raw()),
        TextureOptions::NEAREST,
    )
}

//! Each lane's pictures as textures: its grid at the clock shown (x_t while it runs, the samples
//! once done) and the chosen sample's x̂0, uploaded only when what they show changes.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};

use super::state::{Race, VotePair};
use crate::sample::GridSpec;
use crate::sample::grid::tile;
use crate::sample::race::LaneAt;

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
        let make = || {
            let size = race.image_size();
            let pixels = size.0 * size.1;
            let single = GridSpec {
                columns: 1,
                rows: 1,
            };
            let picture = |lane: usize, name: &str| {
                let finished = &race.lanes[lane].trace.finished;
                let one = finished
                    .get(pair.sample * pixels..(pair.sample + 1) * pixels)
                    .unwrap_or(&[]);
                let picture = tile(one, size, single, 4 * SCALE);
                let dims = [picture.width() as usize, picture.height() as usize];
                ctx.load_texture(
                    name,
                    ColorImage::from_rgb(dims, picture.as_raw()),
                    TextureOptions::NEAREST,
                )
            };
            (
                pair,
                [
                    picture(pair.left, "compare-vote-left"),
                    picture(pair.right, "compare-vote-right"),
                ],
            )
        };
        let vote = self
            .vote
            .take()
            .filter(|(shown, _)| *shown == pair)
            .unwrap_or_else(make);
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
        let size = race.image_size();
        let pixels = size.0 * size.1;
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
            let one = x0
                .get(selected * pixels..(selected + 1) * pixels)
                .unwrap_or(&[]);
            let single = GridSpec {
                columns: 1,
                rows: 1,
            };
            let upload = |name: String, picture: image::RgbImage| {
                let dims = [picture.width() as usize, picture.height() as usize];
                ctx.load_texture(
                    name,
                    ColorImage::from_rgb(dims, picture.as_raw()),
                    TextureOptions::NEAREST,
                )
            };
            *slot = Some(LaneTexture {
                shown,
                grid: upload(
                    format!("compare-grid-{index}"),
                    tile(images, size, grid, SCALE),
                ),
                x0: upload(
                    format!("compare-x0-{index}"),
                    tile(one, size, single, SCALE),
                ),
            });
        }
        &self.lanes
    }
}

//! A sampler race as pictures: the lanes side by side, each its grid of samples captioned with
//! its sampler, its network calls and where on the noise path it is, and under them the race's
//! clock. `diffuscope race` writes these frames as a GIF (and the last one as a PNG); the Compare
//! view exports the same frames.

use image::{Rgb, RgbImage};
use rayon::prelude::*;

use super::caption::{with_caption, with_caption_band};
use crate::sample::grid::tile_reserving;
use crate::sample::race::{LaneAt, LaneTrace};
use crate::sample::{GridSpec, ImageShape};

/// Height of each of a lane's two caption lines, in pixels: readable on a slide whatever the
/// lane's width.
const LANE_CAPTION_PX: u32 = 22;
/// Dark gap between lanes, in pixels.
const LANE_GAP_PX: u32 = 8;
/// The gap's colour (the caption band's).
const GAP: Rgb<u8> = Rgb([24, 24, 24]);

/// A lane to draw: its title ("DDIM 50") and its run.
pub struct RaceLane<'a> {
    /// The title in its caption.
    pub title: String,
    /// Its run.
    pub trace: &'a LaneTrace,
}

/// How the lanes' samples are laid out.
#[derive(Clone, Copy, Debug)]
pub struct RaceLayout {
    /// Each lane's grid.
    pub grid: GridSpec,
    /// One sample's (height, width).
    pub image_shape: ImageShape,
    /// Enlargement of every pixel.
    pub scale: u32,
}

/// The frame at clock `calls`: every lane's state after that many network calls.
pub fn race_frame(lanes: &[RaceLane<'_>], layout: &RaceLayout, calls: usize) -> RgbImage {
    let pictures: Vec<RgbImage> = lanes
        .iter()
        .map(|lane| lane_picture(lane, layout, calls))
        .collect();
    let width = pictures.iter().map(RgbImage::width).sum::<u32>()
        + LANE_GAP_PX * pictures.len().saturating_sub(1) as u32;
    let height = pictures.iter().map(RgbImage::height).max().unwrap_or(0);
    let mut frame = RgbImage::from_pixel(width, height, GAP);
    let mut x = 0;
    for picture in &pictures {
        image::imageops::replace(&mut frame, picture, i64::from(x), 0);
        x += picture.width() + LANE_GAP_PX;
    }
    let text = format!("network calls: {calls}");
    with_caption(frame, &text)
}

/// The frames at each value of `clock`, made in parallel.
pub fn race_frames(lanes: &[RaceLane<'_>], layout: &RaceLayout, clock: &[usize]) -> Vec<RgbImage> {
    clock
        .par_iter()
        .map(|&calls| race_frame(lanes, layout, calls))
        .collect()
}

/// One lane at clock `calls`: its grid (x_t while it runs, the samples once done) over two
/// caption lines, its title and its progress.
fn lane_picture(lane: &RaceLane<'_>, layout: &RaceLayout, calls: usize) -> RgbImage {
    let total = lane.trace.network_calls;
    let (images, progress): (&[f32], String) = match lane.trace.at(calls) {
        Some(LaneAt::Running(step)) => (
            &step.x_t,
            format!("{}/{total} · {}", step.network_calls, step.point),
        ),
        Some(LaneAt::Finished(images)) => (images, format!("done · {total} calls")),
        None => (&[], String::new()),
    };
    let picture = tile_reserving(
        images,
        layout.image_shape,
        layout.grid,
        layout.scale,
        2 * LANE_CAPTION_PX,
    );
    let titled = with_caption_band(picture, &lane.title, LANE_CAPTION_PX);
    with_caption_band(titled, &progress, LANE_CAPTION_PX)
}

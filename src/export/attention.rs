//! The coordinates lesson as pictures: one step of a transformer's run — the noisy digit cut into
//! its patches with the chosen one outlined, where that patch looks (the heads' mean, then each
//! head; white nothing, dark blue the most), over a caption. The Clock view writes every step of
//! a run as a GIF and the step shown as a PNG, captioned with the step, t, the block and the
//! patch.

use image::{Rgb, RgbImage};
use rayon::prelude::*;

use super::caption::with_caption;
use crate::sample::colormap::attention_colour;
use crate::sample::grid::to_grey;

/// The side of the noisy digit and of the heads' mean, in pixels.
const BIG_SIDE: u32 = 224;
/// The largest side of one head's map, in pixels.
const HEAD_SIDE: u32 = 105;
/// The margin around and between the pictures, in pixels.
const GAP: u32 = 8;
const BACKGROUND: Rgb<u8> = Rgb([24, 24, 24]);
/// The chosen patch's outline (as on screen).
const CHOSEN: Rgb<u8> = Rgb([255, 200, 0]);
/// The patch grid over the digit (as on screen).
const GRID_LINE: Rgb<u8> = Rgb([86, 180, 233]);
/// The outline's width, in pixels.
const OUTLINE_PX: u32 = 3;

/// Where one patch of a noisy digit looks: what one picture shows.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchAttention<'a> {
    /// The noisy digit (a square of values in [−1, 1]).
    pub x_t: &'a [f32],
    /// Patches along each side.
    pub grid: usize,
    /// The chosen patch (row by row).
    pub patch: usize,
    /// Where it looks: the heads' mean, then each head (`grid²` weights each).
    pub maps: Vec<Vec<f32>>,
}

/// Each step's picture over its caption, made in parallel.
pub fn attention_pictures(steps: &[(PatchAttention<'_>, String)]) -> Vec<RgbImage> {
    steps
        .par_iter()
        .map(|(attention, caption)| attention_picture(attention, caption))
        .collect()
}

/// The noisy digit with its patches and where the chosen patch looks, over `caption`.
pub fn attention_picture(attention: &PatchAttention<'_>, caption: &str) -> RgbImage {
    let grid = attention.grid.max(1) as u32;
    let heads = attention.maps.len().saturating_sub(1).max(1) as u32;
    let width = 2 * BIG_SIDE + 3 * GAP;
    let head_side = HEAD_SIDE.min((width - (heads + 1) * GAP) / heads).max(grid);
    let height = BIG_SIDE + head_side + 3 * GAP;
    let mut canvas = RgbImage::from_pixel(width, height, BACKGROUND);
    let patch = attention.patch.min((grid * grid) as usize - 1);
    paint_digit(&mut canvas, (GAP, GAP), attention.x_t, grid);
    outline(&mut canvas, (GAP, GAP), BIG_SIDE / grid, (patch, grid));
    for (index, weights) in attention.maps.iter().enumerate() {
        let (corner, cell) = if index == 0 {
            ((2 * GAP + BIG_SIDE, GAP), BIG_SIDE / grid)
        } else {
            let left = GAP + (index as u32 - 1) * (head_side + GAP);
            ((left, 2 * GAP + BIG_SIDE), head_side / grid)
        };
        paint_map(&mut canvas, corner, cell, weights);
        outline(&mut canvas, corner, cell, (patch, grid));
    }
    with_caption(canvas, caption)
}

/// The digit (values in [−1, 1], a square) enlarged to [`BIG_SIDE`] at `corner`, with the lines
/// between its `grid × grid` patches.
fn paint_digit(canvas: &mut RgbImage, corner: (u32, u32), x_t: &[f32], grid: u32) {
    let side = (x_t.len() as f64).sqrt() as u32;
    if side == 0 {
        return;
    }
    for y in 0..BIG_SIDE {
        for x in 0..BIG_SIDE {
            let (px, py) = (x * side / BIG_SIDE, y * side / BIG_SIDE);
            let grey = to_grey(x_t[(py * side + px) as usize]);
            canvas.put_pixel(corner.0 + x, corner.1 + y, Rgb([grey; 3]));
        }
    }
    let cell = BIG_SIDE / grid;
    for i in 1..grid {
        for along in 0..BIG_SIDE {
            for width in 0..2 {
                let across = i * cell + width - 1;
                canvas.put_pixel(corner.0 + across, corner.1 + along, GRID_LINE);
                canvas.put_pixel(corner.0 + along, corner.1 + across, GRID_LINE);
            }
        }
    }
}

/// A square map of weights (row by row), each `cell` pixels, at `corner`; the largest weight
/// darkest.
fn paint_map(canvas: &mut RgbImage, corner: (u32, u32), cell: u32, weights: &[f32]) {
    let grid = (weights.len() as f64).sqrt() as u32;
    let largest = weights.iter().copied().fold(0.0, f32::max);
    for (index, &weight) in weights.iter().enumerate() {
        let (row, column) = (index as u32 / grid.max(1), index as u32 % grid.max(1));
        let colour = Rgb(attention_colour(weight, largest));
        for y in 0..cell {
            for x in 0..cell {
                let at = (corner.0 + column * cell + x, corner.1 + row * cell + y);
                canvas.put_pixel(at.0, at.1, colour);
            }
        }
    }
}

/// Outlines patch `patch` of a `grid × grid` picture of `cell`-pixel patches at `corner`.
fn outline(canvas: &mut RgbImage, corner: (u32, u32), cell: u32, (patch, grid): (usize, u32)) {
    let (row, column) = (patch as u32 / grid, patch as u32 % grid);
    let (left, top) = (corner.0 + column * cell, corner.1 + row * cell);
    for along in 0..cell {
        for inset in 0..OUTLINE_PX.min(cell) {
            canvas.put_pixel(left + along, top + inset, CHOSEN);
            canvas.put_pixel(left + along, top + cell - 1 - inset, CHOSEN);
            canvas.put_pixel(left + inset, top + along, CHOSEN);
            canvas.put_pixel(left + cell - 1 - inset, top + along, CHOSEN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two heads over a 2 × 2 grid of a 4 × 4 digit, from patch 0: head 0 looks at patch 3
    /// only, head 1 evenly.
    fn attention(x_t: &[f32]) -> PatchAttention<'_> {
        PatchAttention {
            x_t,
            grid: 2,
            patch: 0,
            maps: vec![
                vec![0.125, 0.125, 0.125, 0.625],
                vec![0.0, 0.0, 0.0, 1.0],
                vec![0.25; 4],
            ],
        }
    }

    #[test]
    fn a_picture_shows_the_digit_the_mean_and_each_head_with_the_patch_outlined() {
        let x_t: Vec<f32> = (0..16).map(|i| if i < 8 { -1.0 } else { 1.0 }).collect();
        let picture = attention_picture(&attention(&x_t), "step 1/1");
        let (width, height) = picture.dimensions();
        assert_eq!(width, 2 * BIG_SIDE + 3 * GAP);
        assert!(
            height > BIG_SIDE + HEAD_SIDE + 3 * GAP,
            "a caption band below"
        );
        let at = |x: u32, y: u32| picture.get_pixel(x, y).0;
        // The digit: black above, white below, the grid line between its patches.
        assert_eq!(at(GAP + 150, GAP + 50), [0, 0, 0]);
        assert_eq!(at(GAP + 150, GAP + 200), [255, 255, 255]);
        assert_eq!(at(GAP + BIG_SIDE / 2, GAP + 50), GRID_LINE.0);
        assert_eq!(at(GAP + 1, GAP + 50), CHOSEN.0, "patch 0 outlined");
        // The mean looks at patch 3 most.
        let mean = 2 * GAP + BIG_SIDE;
        let darkest = attention_colour(1.0, 1.0);
        assert_eq!(at(mean + 170, GAP + 170), darkest);
        assert_eq!(at(mean + 170, GAP + 50), attention_colour(0.125, 0.625));
        // Head 0 looks at patch 3 only; head 1 everywhere alike.
        let top = 2 * GAP + BIG_SIDE;
        assert_eq!(at(GAP + 80, top + 80), darkest);
        assert_eq!(at(GAP + 80, top + 20), attention_colour(0.0, 1.0));
        let head = GAP + HEAD_SIDE + GAP;
        assert_eq!(at(head + 80, top + 20), at(head + 80, top + 80));
        assert_eq!(at(head + 80, top + 80), darkest);
        assert_eq!(
            attention_pictures(&[(attention(&x_t), "a".into())]).len(),
            1
        );
    }
}

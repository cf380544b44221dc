//! "Samples over training": the grids a run's averaged weights drew from the same noise at several
//! steps, side by side, each captioned with its step (`diffuscope train --strip`).

use image::{GenericImage, Rgb, RgbImage};

use super::caption::add_caption;
use crate::i18n::Lang;
use crate::sample::grid::tile;
use crate::sample::{GridSpec, ImageShape};

/// Grey points between two grids.
const GAP: u32 = 8;
/// The gap's colour, as the grids' own gaps.
const GAP_COLOUR: Rgb<u8> = Rgb([128, 128, 128]);

/// `grids` ((step, images of `shape` one after another)) tiled `grid` each, enlarged `scale`
/// times, captioned "step N" in `lang`, left to right.
pub fn strip_picture(
    grids: &[(usize, Vec<f32>)],
    shape: ImageShape,
    grid: GridSpec,
    scale: u32,
    lang: Lang,
) -> RgbImage {
    let panels: Vec<RgbImage> = grids
        .iter()
        .map(|(step, images)| {
            let caption = match lang {
                Lang::En => format!("step {step}"),
                Lang::Zh => format!("第 {step} 步"),
            };
            add_caption(&tile(images, shape, grid, scale), &caption)
        })
        .collect();
    let height = panels.iter().map(RgbImage::height).max().unwrap_or(1);
    let width =
        panels.iter().map(RgbImage::width).sum::<u32>() + GAP * (panels.len().max(1) as u32 - 1);
    let mut strip = RgbImage::from_pixel(width.max(1), height, GAP_COLOUR);
    let mut x = 0;
    for panel in &panels {
        // Each panel fits: the strip is as high as the highest and as wide as all of them.
        let _ = strip.copy_from(panel, x, 0);
        x += panel.width() + GAP;
    }
    strip
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_stand_side_by_side_under_their_captions() {
        let shape = ImageShape::grey(2, 2);
        let grid = GridSpec {
            columns: 1,
            rows: 1,
        };
        let white = vec![1.0; 4];
        let black = vec![-1.0; 4];
        let strip = strip_picture(&[(10, white), (20, black)], shape, grid, 40, Lang::En);
        let one = add_caption(&tile(&[1.0; 4], shape, grid, 40), "step 10");
        assert_eq!(strip.dimensions(), (2 * one.width() + GAP, one.height()));
        assert_eq!(strip.get_pixel(5, 5).0, [255; 3]);
        assert_eq!(strip.get_pixel(one.width() + GAP + 5, 5).0, [0; 3]);
        assert_eq!(strip.get_pixel(one.width() + 2, 5).0, GAP_COLOUR.0);
    }
}

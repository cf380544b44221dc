//! A panel sheet for handouts: a view's pictures side by side, each captioned, and its plots under
//! them, drawn again at twice the window's size ([`SHEET_WIDTH`] pixels across); and a single
//! picture enlarged for a slide.

use image::imageops::{FilterType, overlay, resize};
use image::{Rgb, RgbImage};

use super::caption::with_caption_band;
use super::figure::Figure;
use crate::i18n::Lang;

/// The sheet's width: a 1280-point-wide window at 2×.
pub const SHEET_WIDTH: u32 = 2560;
/// Space around and between panels.
const GAP: u32 = 32;
/// The height of a caption band.
const CAPTION: u32 = 56;
/// The tallest a picture is drawn on the sheet.
const MAX_PICTURE_HEIGHT: u32 = 1100;

/// `picture` `factor` times larger: nearest neighbour for small pictures (digits stay crisp
/// squares), Lanczos for photographs.
pub fn enlarged(picture: &RgbImage, factor: u32) -> RgbImage {
    let (width, height) = picture.dimensions();
    let factor = factor.max(1);
    let filter = if width.max(height) < 400 {
        FilterType::Nearest
    } else {
        FilterType::Lanczos3
    };
    resize(picture, width * factor, height * factor, filter)
}

/// The sheet: `pictures` (captioned) in the first row, `figures` in the second, on white.
pub fn panel_sheet(
    pictures: &[(String, RgbImage)],
    figures: &[Figure],
    lang: Lang,
) -> Result<RgbImage, String> {
    let row = |count: usize| {
        let count = count.max(1) as u32;
        (SHEET_WIDTH - GAP * (count + 1)) / count
    };
    let cell = row(pictures.len());
    let panels: Vec<RgbImage> = pictures
        .iter()
        .map(|(caption, picture)| with_caption_band(fitted(picture, cell), caption, CAPTION))
        .collect();
    let plot_width = row(figures.len());
    let plots = figures
        .iter()
        // Text as large as a plot's in the window at 2× (a plot there is about 400 points wide).
        .map(|figure| {
            let scale = f64::from(plot_width) / 500.0;
            figure.to_picture_scaled((plot_width, plot_width * 5 / 8), scale, lang)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let height_of = |images: &[RgbImage]| images.iter().map(RgbImage::height).max().unwrap_or(0);
    let (top, bottom) = (height_of(&panels), height_of(&plots));
    let height = GAP + top + if top > 0 { GAP } else { 0 } + bottom + GAP;
    let mut sheet = RgbImage::from_pixel(SHEET_WIDTH, height.max(GAP * 2), Rgb([255, 255, 255]));
    place_row(&mut sheet, &panels, cell, GAP);
    let below = if top > 0 { GAP + top + GAP } else { GAP };
    place_row(&mut sheet, &plots, plot_width, below);
    Ok(sheet)
}

/// `picture` scaled to fit `width` (and [`MAX_PICTURE_HEIGHT`]), keeping its shape.
fn fitted(picture: &RgbImage, width: u32) -> RgbImage {
    let (w, h) = picture.dimensions();
    let scale = (f64::from(width) / f64::from(w.max(1)))
        .min(f64::from(MAX_PICTURE_HEIGHT) / f64::from(h.max(1)));
    let (new_w, new_h) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    let filter = if w.max(h) < 400 {
        FilterType::Nearest
    } else {
        FilterType::Lanczos3
    };
    resize(picture, new_w, new_h, filter)
}

/// Puts `images` in a row of cells `cell` pixels wide, `y` pixels down, each centred in its cell.
fn place_row(sheet: &mut RgbImage, images: &[RgbImage], cell: u32, y: u32) {
    for (index, image) in images.iter().enumerate() {
        let left = GAP + index as u32 * (cell + GAP);
        let x = left + cell.saturating_sub(image.width()) / 2;
        overlay(sheet, image, i64::from(x), i64::from(y));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::figure::{Curve, LegendCorner, Mark};

    #[test]
    fn a_sheet_holds_every_picture_and_plot_at_twice_the_window() {
        let red = RgbImage::from_pixel(28, 28, Rgb([200, 0, 0]));
        let blue = RgbImage::from_pixel(600, 400, Rgb([0, 0, 200]));
        let figure = Figure {
            title: "t".into(),
            x_label: "x".into(),
            log_x: false,
            log_y: false,
            curves: vec![Curve {
                name: "line".into(),
                points: vec![(0.0, 0.0), (1.0, 1.0)],
                colour: [0, 158, 115],
                mark: Mark::Line,
            }],
            reference: None,
            legend: LegendCorner::TopRight,
        };
        let sheet = panel_sheet(
            &[("red".into(), red), ("blue".into(), blue)],
            &[figure],
            Lang::En,
        )
        .unwrap();
        assert_eq!(sheet.width(), SHEET_WIDTH);
        let count = |colour: [u8; 3]| sheet.pixels().filter(|p| p.0 == colour).count();
        // Each picture fills its cell, (2560 − 3·32) / 2 = 1232 pixels wide, up to 1100 high:
        // the square digit 1100 × 1100, the 3:2 photo 1232 × 821.
        assert_eq!(count([200, 0, 0]), 1100 * 1100);
        assert_eq!(count([0, 0, 200]), 1232 * 821);
        assert!(count([0, 158, 115]) > 1000, "the plot's line");
    }

    #[test]
    fn small_pictures_enlarge_into_crisp_squares() {
        let mut digit = RgbImage::new(2, 1);
        digit.put_pixel(1, 0, Rgb([255, 255, 255]));
        let big = enlarged(&digit, 4);
        assert_eq!(big.dimensions(), (8, 4));
        assert_eq!(big.get_pixel(3, 3).0, [0, 0, 0]);
        assert_eq!(big.get_pixel(4, 0).0, [255, 255, 255]);
    }
}

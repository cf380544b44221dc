//! Captions: a dark band with light, centred text below an image, sized to read on a slide.

use ab_glyph::{Font as _, FontRef, PxScale, ScaleFont as _, point};
use image::{Rgb, RgbImage};

/// The shipped font (a subset of Noto Sans CJK SC: ASCII, symbols and the interface's Chinese).
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Diffuscope.otf");

/// The band's colour: nearly black, so it reads as a frame rather than part of the picture.
/// Band and text are neutral greys, so a captioned greyscale frame stays greyscale (and a GIF
/// keeps all its 256 greys exactly).
const BAND: Rgb<u8> = Rgb([24, 24, 24]);
/// The text's colour: nearly white.
const INK: Rgb<u8> = Rgb([240, 240, 240]);

/// The band's height as a fraction of the image's width.
const BAND_PER_WIDTH: f32 = 0.07;
/// The band is never thinner than this, in pixels.
const MIN_BAND_PX: u32 = 14;
/// The font's em as a fraction of the band's height.
const EM_PER_BAND: f32 = 0.58;
/// Height above the baseline, in ems, of the middle of a Chinese character or a capital letter;
/// this point is put on the band's centre line.
const MIDDLE_EM: f32 = 0.37;

/// The height in pixels of the caption band for an image `width` pixels wide: 7% of the width,
/// at least 14 pixels.
pub fn caption_height(width: u32) -> u32 {
    // Widths are far below 2^24, where f32 stops holding integers exactly.
    let band = (width as f32 * BAND_PER_WIDTH).round() as u32;
    band.max(MIN_BAND_PX)
}

/// Returns a copy of `image` with a dark caption band, `text` centred in light letters, added
/// below it.
///
/// The band's height scales with the image's width (see [`caption_height`]) so the caption stays
/// readable when the image is shown on a slide. Text too long for one line is drawn smaller until
/// it fits. Chinese is supported; characters outside the shipped font show as empty boxes, and
/// line breaks and other control characters as spaces.
pub fn add_caption(image: &RgbImage, text: &str) -> RgbImage {
    let (width, height) = image.dimensions();
    let band = caption_height(width);
    let mut out = RgbImage::from_pixel(width, height.saturating_add(band), BAND);
    // Same width, so the image's rows are exactly the first rows of the output.
    out.as_mut()[..image.as_raw().len()].copy_from_slice(image.as_raw());
    // The font is part of the program and tested; should it ever fail to load, the band stays blank.
    if let Ok(font) = FontRef::try_from_slice(FONT_BYTES) {
        draw_centred(&mut out, &font, text, height, band);
    }
    out
}

/// [`add_caption`] without a copy: the band is added to `image`'s own buffer (which grows in place
/// when it has room, see [`crate::sample::grid::tile_reserving`]).
pub fn with_caption(image: RgbImage, text: &str) -> RgbImage {
    let band = caption_height(image.width());
    with_caption_band(image, text, band)
}

/// [`with_caption`] with a band `band` pixels high (at least [`MIN_BAND_PX`]), for captions that
/// must read at a set size whatever the picture's width (a race lane's).
pub fn with_caption_band(image: RgbImage, text: &str, band: u32) -> RgbImage {
    let (width, height) = image.dimensions();
    let band = band.max(MIN_BAND_PX);
    let mut raw = image.into_raw();
    raw.extend(std::iter::repeat_n(BAND.0, width as usize * band as usize).flatten());
    let Some(mut out) = RgbImage::from_raw(width, height.saturating_add(band), raw) else {
        return RgbImage::new(width, height.saturating_add(band));
    };
    if let Ok(font) = FontRef::try_from_slice(FONT_BYTES) {
        draw_centred(&mut out, &font, text, height, band);
    }
    out
}

/// Draws `text` on one line, centred in the band of `band` rows starting at row `top`.
fn draw_centred(out: &mut RgbImage, font: &FontRef<'_>, text: &str, top: u32, band: u32) {
    let units_per_em = font.units_per_em().unwrap_or(1000.0);
    // ab_glyph's scale is the height from descent to ascent; convert from ems.
    let px_per_em_to_scale = font.height_unscaled() / units_per_em;
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();

    let margin = band as f32 * 0.5;
    let available = (out.width() as f32 - 2.0 * margin).max(1.0);
    let mut em = band as f32 * EM_PER_BAND;
    let natural = line_width(font, text, PxScale::from(em * px_per_em_to_scale));
    if natural > available {
        em *= available / natural;
    }
    let scale = PxScale::from(em * px_per_em_to_scale);
    let scaled = font.as_scaled(scale);

    let left = (out.width() as f32 - line_width(font, text, scale)) / 2.0;
    let baseline = top as f32 + band as f32 / 2.0 + MIDDLE_EM * em;
    let (band_top, band_bottom) = (top, top.saturating_add(band));
    let mut caret = left;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            caret += scaled.kern(previous, id);
        }
        previous = Some(id);
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += scaled.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue; // a space
        };
        let bounds = outline.px_bounds();
        outline.draw(|x, y, coverage| {
            let px = bounds.min.x as i64 + i64::from(x);
            let py = bounds.min.y as i64 + i64::from(y);
            let (Ok(px), Ok(py)) = (u32::try_from(px), u32::try_from(py)) else {
                return;
            };
            if px >= out.width() || py < band_top || py >= band_bottom {
                return;
            }
            let pixel = out.get_pixel_mut(px, py);
            *pixel = blend(*pixel, INK, coverage.clamp(0.0, 1.0));
        });
    }
}

/// The advance width in pixels of `text` on one line at `scale`, kerning included.
fn line_width(font: &FontRef<'_>, text: &str, scale: PxScale) -> f32 {
    let scaled = font.as_scaled(scale);
    let mut width = 0.0;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            width += scaled.kern(previous, id);
        }
        previous = Some(id);
        width += scaled.h_advance(id);
    }
    width
}

/// `under` covered by `over` with opacity `alpha` in [0, 1].
fn blend(under: Rgb<u8>, over: Rgb<u8>, alpha: f32) -> Rgb<u8> {
    let mix = |a: u8, b: u8| (f32::from(a) + (f32::from(b) - f32::from(a)) * alpha).round() as u8;
    Rgb([
        mix(under[0], over[0]),
        mix(under[1], over[1]),
        mix(under[2], over[2]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_is_seven_percent_of_the_width_and_at_least_fourteen_pixels() {
        assert_eq!(caption_height(451), 32);
        assert_eq!(caption_height(1000), 70);
        assert_eq!(caption_height(64), 14);
        assert_eq!(caption_height(0), 14);
    }

    #[test]
    fn font_has_every_printable_ascii_character() {
        let font = FontRef::try_from_slice(FONT_BYTES);
        assert!(font.is_ok(), "the shipped font does not load");
        if let Ok(font) = font {
            for c in ' '..='~' {
                assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c:?}");
            }
        }
    }

    #[test]
    fn long_text_shrinks_to_fit() {
        let image = RgbImage::from_pixel(100, 20, Rgb([0, 0, 0]));
        let out = add_caption(&image, &"long caption ".repeat(20));
        // The text stays inside the margins: the leftmost and rightmost columns of the band are
        // untouched.
        for y in 20..out.height() {
            assert_eq!(*out.get_pixel(0, y), BAND);
            assert_eq!(*out.get_pixel(99, y), BAND);
        }
    }
}

//! The Clock view's pictures: heat maps in the diverging colour map (−1 purple, 0 white, +1
//! orange), the compared digits and noises, their textures (made once per change), and the same
//! pictures for slides.

use eframe::egui::{self, ColorImage, TextureHandle, TextureOptions};
use image::RgbImage;

use super::watch::step_picture;
use super::{ClockView, HEAT_MAP_TIMES, TRAIN_STEPS};
use crate::clock::{HeatMap, TimeComparison, sinusoid_heat_map, sinusoid_similarities};
use crate::i18n::Lang;
use crate::sample::colormap::{DIVERGING_RANGE, diverging};
use crate::sample::grid::{tile, tile_with};
use crate::sample::{GridSpec, ImageShape};

const DIGIT: ImageShape = ImageShape::grey(28, 28);
const SINGLE: GridSpec = GridSpec {
    columns: 1,
    rows: 1,
};
/// Pixels per digit pixel in a compared picture.
const SCALE: u32 = 4;

/// `map` as a picture, one pixel per value, −1…1 across the diverging colour map.
pub fn heat_map_picture(map: &HeatMap) -> RgbImage {
    RgbImage::from_fn(map.columns as u32, map.rows as u32, |x, y| {
        let value = map.values[y as usize * map.columns + x as usize];
        image::Rgb(diverging(value * DIVERGING_RANGE))
    })
}

/// The five pictures of one noise level: x_t, then x̂0 told and not told t, then ε̂ told and not.
pub fn comparison_pictures(level: &TimeComparison) -> [RgbImage; 5] {
    let grey = |values: &[f32]| tile(values, DIGIT, SINGLE, SCALE);
    let noise = |values: &[f32]| tile_with(values, DIGIT, SINGLE, SCALE, &diverging);
    [
        grey(&level.x_t),
        grey(&level.told.x0),
        grey(&level.blind.x0),
        noise(&level.told.eps),
        noise(&level.blind.eps),
    ]
}

fn texture(ctx: &egui::Context, name: &str, picture: &RgbImage) -> TextureHandle {
    let dims = [picture.width() as usize, picture.height() as usize];
    ctx.load_texture(
        name,
        ColorImage::from_rgb(dims, picture.as_raw()),
        TextureOptions::NEAREST,
    )
}

/// The five textures of one noise level, in [`comparison_pictures`]' order.
pub type LevelTextures = [TextureHandle; 5];

/// The view's textures, each remade only when what it shows changes.
#[derive(Default)]
pub struct ClockTextures {
    /// The sinusoid's length, its heat map and its similarity table.
    sinusoid: Option<(usize, TextureHandle, TextureHandle)>,
    network_similarity: Option<(String, TextureHandle)>,
    comparison: Option<((usize, u64), Vec<LevelTextures>)>,
}

impl ClockTextures {
    /// The heat map and the sinusoid's similarity table for a sinusoid of `dim` values.
    pub fn sinusoid(&mut self, ctx: &egui::Context, dim: usize) -> (TextureHandle, TextureHandle) {
        if let Some((made, heat, table)) = &self.sinusoid
            && *made == dim
        {
            return (heat.clone(), table.clone());
        }
        let map = sinusoid_heat_map(dim, TRAIN_STEPS, HEAT_MAP_TIMES);
        let heat = texture(ctx, "clock-heat", &heat_map_picture(&map));
        let table = sinusoid_similarities(dim, TRAIN_STEPS, super::SIMILARITY_TIMES);
        let table = texture(ctx, "clock-sinusoid", &heat_map_picture(&table));
        self.sinusoid = Some((dim, heat.clone(), table.clone()));
        (heat, table)
    }

    /// The similarity table of `model`'s time MLP.
    pub fn network(&mut self, ctx: &egui::Context, model: &str, table: &HeatMap) -> TextureHandle {
        if let Some((made, handle)) = &self.network_similarity
            && made == model
        {
            return handle.clone();
        }
        let handle = texture(ctx, "clock-network", &heat_map_picture(table));
        self.network_similarity = Some((model.to_owned(), handle.clone()));
        handle
    }

    /// The pictures of a comparison, by noise level.
    pub fn comparison(
        &mut self,
        ctx: &egui::Context,
        key: (usize, u64),
        levels: &[TimeComparison],
    ) -> &[LevelTextures] {
        if self.comparison.as_ref().map(|(k, _)| *k) != Some(key) {
            let textures = levels
                .iter()
                .enumerate()
                .map(|(level, comparison)| {
                    let pictures = comparison_pictures(comparison);
                    std::array::from_fn(|i| {
                        texture(ctx, &format!("clock-compare-{level}-{i}"), &pictures[i])
                    })
                })
                .collect();
            self.comparison = Some((key, textures));
        }
        self.comparison.as_ref().map_or(&[], |(_, t)| t.as_slice())
    }
}

/// Scales `picture` up by whole pixels so that its longer side is at least `side`.
fn enlarged(picture: &RgbImage, side: u32) -> RgbImage {
    let longer = picture.width().max(picture.height()).max(1);
    let factor = side.div_ceil(longer).max(1);
    image::imageops::resize(
        picture,
        picture.width() * factor,
        picture.height() * factor,
        image::imageops::FilterType::Nearest,
    )
}

/// The view's pictures for slides: the heat map, the similarity tables, the step of a watched run
/// shown, the comparison.
pub fn slide_pictures(view: &ClockView, lang: Lang) -> Vec<(String, RgbImage)> {
    let dim = view.sinusoid_dim();
    let mut pictures = vec![
        (
            lang.pick(
                "sinusoidal embedding (dimension × t)",
                "正弦嵌入（维度 × t）",
            )
            .to_owned(),
            enlarged(
                &heat_map_picture(&sinusoid_heat_map(dim, TRAIN_STEPS, HEAT_MAP_TIMES)),
                500,
            ),
        ),
        (
            lang.pick(
                "similarity of the sinusoids (t × t)",
                "正弦向量的相似度（t × t）",
            )
            .to_owned(),
            enlarged(
                &heat_map_picture(&sinusoid_similarities(
                    dim,
                    TRAIN_STEPS,
                    super::SIMILARITY_TIMES,
                )),
                300,
            ),
        ),
    ];
    if let Some(Some((table, _))) = view.clock() {
        let name = format!(
            "{} {}",
            view.settings.model,
            lang.pick("time MLP similarity (t × t)", "时间 MLP 的相似度（t × t）")
        );
        pictures.push((name, enlarged(&heat_map_picture(table), 300)));
    }
    if let Some(frame) = view
        .coordinates
        .watch
        .as_ref()
        .and_then(|w| w.shown_frame())
    {
        let (caption, picture) = step_picture(frame, view.settings.attention_choice(), lang);
        let name = lang.pick("where a patch looks", "图块看向哪里");
        pictures.push((format!("{name}: {caption}"), picture));
    }
    if let Some((_, levels)) = &view.comparison {
        for level in levels {
            let names = part_names(lang);
            let t = level.timestep.unwrap_or_default();
            for (name, picture) in names.iter().zip(comparison_pictures(level)) {
                pictures.push((format!("t = {t}: {name}"), picture));
            }
        }
    }
    pictures
}

/// The names of [`comparison_pictures`]' five pictures.
pub fn part_names(lang: Lang) -> [&'static str; 5] {
    [
        lang.pick("x_t, what both see", "x_t，两者看到的"),
        lang.pick("its x0 · told t", "猜的 x0 · 知道 t"),
        lang.pick("its x0 · not told t", "猜的 x0 · 不知道 t"),
        lang.pick("its ε · told t", "猜的 ε · 知道 t"),
        lang.pick("its ε · not told t", "猜的 ε · 不知道 t"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_maps_run_from_purple_through_white_to_orange() {
        let map = HeatMap {
            rows: 1,
            columns: 3,
            values: vec![-1.0, 0.0, 1.0],
        };
        let picture = heat_map_picture(&map);
        assert_eq!(picture.get_pixel(0, 0).0, diverging(-DIVERGING_RANGE));
        assert_eq!(picture.get_pixel(1, 0).0, [247, 247, 247]);
        assert_eq!(picture.get_pixel(2, 0).0, diverging(DIVERGING_RANGE));
        assert_eq!(enlarged(&picture, 10).dimensions(), (12, 4));
    }
}

//! The GAN · VAE · diffusion tab: the three models side by side on the same data, each one's
//! samples over the data (the GAN's over its discriminator's verdict, the VAE's beside its
//! reconstructions), with its figures under it.

use eframe::egui::{self, Color32, RichText};
use egui_plot::{Arrows, Points};

use super::live::{PLANE_EXTENT, REALNESS_SIDE};
use super::view::{DATA_COLOUR, SAMPLE_COLOUR, as_plot, plane_plot};
use super::{Lane, PlaygroundView};
use crate::i18n::Lang;
use crate::toy::{Point, ToyKind};
use crate::ui::presentation::line_width;

const RECONSTRUCTION_COLOUR: Color32 = Color32::from_rgb(204, 121, 167);

/// The three models side by side: each one's samples over the data, and its figures under it.
pub(super) fn compare_ui(view: &mut PlaygroundView, ui: &mut egui::Ui, lang: Lang) {
    let data = view.data_and_noise().0.to_vec();
    update_realness_texture(view, ui.ctx());
    let width = (ui.available_width() / 3.0 - 8.0).max(150.0);
    let side = width.min(ui.available_height() - 190.0).max(150.0);
    ui.horizontal_top(|ui| {
        for kind in ToyKind::ALL {
            ui.vertical(|ui| {
                ui.set_width(width);
                ui.label(RichText::new(kind.label(lang)).size(18.0).strong());
                let lane = view.lanes.iter().find(|lane| lane.kind == kind);
                let panel = Panel {
                    kind,
                    data: &data,
                    samples: lane.and_then(|lane| lane.shown.paths.last()),
                    heat: (kind == ToyKind::Gan)
                        .then(|| view.realness_texture.as_ref().map(|(_, t)| t.id()))
                        .flatten(),
                    reconstructions: lane.and_then(|lane| lane.shown.reconstructions.as_deref()),
                };
                panel.show(ui, side, lang);
                ui.label(RichText::new(lane_figures(lane, kind, lang)).size(14.0));
            });
        }
    });
}

/// What one model's plane shows.
struct Panel<'a> {
    kind: ToyKind,
    data: &'a [Point],
    samples: Option<&'a Vec<Point>>,
    /// The GAN's discriminator's verdict, as a picture behind the points.
    heat: Option<egui::TextureId>,
    /// The VAE's reconstructions: each data point with what the model makes of it.
    reconstructions: Option<&'a [(Point, Point)]>,
}

impl Panel<'_> {
    /// A plane of `side` points: the data in grey, the samples in colour, and the GAN's
    /// verdict or the VAE's reconstructions (arrows from a point to its reconstruction).
    fn show(&self, ui: &mut egui::Ui, side: f32, lang: Lang) {
        let id = format!("playground-compare-{}", self.kind.cli_name());
        plane_plot(&id, side).show(ui, |plot| {
            if let Some(texture) = self.heat {
                let size = 2.0 * PLANE_EXTENT;
                plot.image(egui_plot::PlotImage::new(
                    lang.pick("discriminator: real?", "判别器：真实？"),
                    texture,
                    egui_plot::PlotPoint::new(0.0, 0.0),
                    [size, size],
                ));
            }
            let radius = line_width(plot.ctx(), 1.2);
            plot.points(
                Points::new(lang.pick("data", "数据"), as_plot(self.data))
                    .color(DATA_COLOUR)
                    .radius(radius),
            );
            if let Some(samples) = self.samples {
                plot.points(
                    Points::new(lang.pick("samples", "样本"), as_plot(samples))
                        .color(SAMPLE_COLOUR)
                        .radius(radius),
                );
            }
            if let Some(pairs) = self.reconstructions {
                let (from, to): (Vec<Point>, Vec<Point>) = pairs.iter().copied().unzip();
                plot.arrows(
                    Arrows::new(
                        lang.pick("reconstructions", "重建"),
                        as_plot(&from),
                        as_plot(&to),
                    )
                    .color(RECONSTRUCTION_COLOUR),
                );
            }
        });
    }
}

/// The figures under a model's plane.
fn lane_figures(lane: Option<&Lane>, kind: ToyKind, lang: Lang) -> String {
    let Some(lane) = lane else {
        return lang.pick("Press Train.", "按“训练”。").to_owned();
    };
    let shown = &lane.shown;
    let Some(figures) = &shown.figures else {
        return lang.pick("Starting…", "正在开始……").to_owned();
    };
    let coverage = figures.coverage.as_ref().map_or_else(String::new, |c| {
        lang.pick(
            format!(
                "\nmodes covered {}/{}, between modes {:.0} %",
                c.covered,
                c.shares.len(),
                100.0 * c.between
            ),
            format!(
                "\n覆盖的模式 {}/{}，落在模式之间 {:.0} %",
                c.covered,
                c.shares.len(),
                100.0 * c.between
            ),
        )
    });
    let reconstruction = shown
        .reconstructions
        .as_deref()
        .map_or_else(String::new, |pairs| {
            let miss = pairs
                .iter()
                .map(|(x, back)| f64::from((x[0] - back[0]).hypot(x[1] - back[1])))
                .sum::<f64>()
                / pairs.len().max(1) as f64;
            lang.pick(
                format!("\nreconstructions (pink) miss by {miss:.3} on average"),
                format!("\n重建（粉色）平均偏差 {miss:.3}"),
            )
        });
    let coverage = coverage + &reconstruction;
    let calls = figures.calls;
    let unit = if kind == ToyKind::Diffusion {
        lang.pick("calls", "次调用")
    } else {
        lang.pick("call", "次调用")
    };
    lang.pick(
        format!(
            "{} steps · {} weights\ndistance to the data {:.3} (sliced W), MMD² {:.4}{coverage}\n{calls} network {unit} a sample",
            shown.steps, figures.weights, figures.sliced_wasserstein, figures.mmd
        ),
        format!(
            "{} 步 · {} 个权重\n与数据的距离 {:.3}（切片 W），MMD² {:.4}{coverage}\n每个样本 {calls} {unit}网络",
            shown.steps, figures.weights, figures.sliced_wasserstein, figures.mmd
        ),
    )
}

/// Makes the GAN's discriminator a picture when it has published a new verdict: green where it
/// says "real", red where it says "generated".
fn update_realness_texture(view: &mut PlaygroundView, ctx: &egui::Context) {
    let Some(lane) = view.lanes.iter().find(|lane| lane.kind == ToyKind::Gan) else {
        return;
    };
    let Some(realness) = &lane.shown.realness else {
        return;
    };
    let revision = lane.shown.revision;
    if view
        .realness_texture
        .as_ref()
        .is_some_and(|(shown, _)| *shown == revision)
    {
        return;
    }
    let side = REALNESS_SIDE;
    // The grid runs from the bottom row up; a picture from the top row down.
    let pixels = (0..side * side)
        .map(|i| {
            let (row, column) = (side - 1 - i / side, i % side);
            let p = realness[row * side + column].clamp(0.0, 1.0);
            let mix = |fake: f32, real: f32| (fake + (real - fake) * p) as u8;
            Color32::from_rgb(mix(90.0, 20.0), mix(25.0, 80.0), mix(25.0, 45.0))
        })
        .collect();
    let image = egui::ColorImage::new([side, side], pixels);
    let texture = ctx.load_texture("playground-realness", image, egui::TextureOptions::LINEAR);
    view.realness_texture = Some((revision, texture));
}

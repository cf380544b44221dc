//! A [`Figure`] drawn in the window with egui_plot — the same data its SVG and PNG exports draw —
//! and the right-click menu that asks for it as a file ([`take_request`], answered by the app).

use eframe::egui::{self, Color32, Id};
use egui_plot::{
    Bar, BarChart, Corner, HLine, Legend, Line, LineStyle, Plot, PlotPoints, PlotUi, Points,
};

use super::presentation::line_width;
use crate::export::figure::{Figure, LegendCorner, Mark};
use crate::i18n::Lang;

/// What the user asked to save from a view.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureRequest {
    /// Plot `index` of the view's [`super::View::figures`], as SVG (else PNG).
    Figure {
        /// Which plot.
        index: usize,
        /// SVG or PNG.
        svg: bool,
    },
    /// Picture `index` of the view's [`super::View::pictures`] as a PNG, `scale` times its size.
    Picture {
        /// Which picture.
        index: usize,
        /// 1, 2 or 4.
        scale: u32,
    },
    /// Every picture and plot of the view on one sheet, at 2×.
    Sheet,
}

/// Asks for `request` (the app answers after the frame).
pub fn ask(ctx: &egui::Context, request: PictureRequest) {
    ctx.data_mut(|d| d.insert_temp(request_id(), request));
}

fn request_id() -> Id {
    Id::unique("diffuscope-picture-request")
}

/// The request made this frame, if any (taken: asked once).
pub fn take_request(ctx: &egui::Context) -> Option<PictureRequest> {
    ctx.data_mut(|d| {
        let request = d.get_temp::<PictureRequest>(request_id());
        d.remove::<PictureRequest>(request_id());
        request
    })
}

/// Draws `figure` (plot `index` of its view) under its title, `height` points high; `extra` draws what only the
/// window shows (a clock). A right click offers to save it as SVG or PNG.
pub fn figure_plot_ui(
    ui: &mut egui::Ui,
    (figure, index): (&Figure, usize),
    height: f32,
    lang: Lang,
    extra: impl FnOnce(&mut PlotUi<'_>),
) {
    ui.label(egui::RichText::new(figure.title.as_str()).strong());
    lay_out_again_when_extent_changes(ui, figure);
    let mut plot = Plot::new(("figure", figure.title.as_str()))
        .height(height)
        .legend(Legend::default().position(match figure.legend {
            LegendCorner::TopRight => Corner::RightTop,
            LegendCorner::BottomRight => Corner::RightBottom,
            LegendCorner::BottomLeft => Corner::LeftBottom,
        }))
        .x_axis_label(figure.x_label.as_str())
        .allow_scroll(false);
    if figure.log_x {
        plot = plot.x_axis_formatter(|mark, _| power_of_ten(mark.value));
    }
    if figure.log_y {
        plot = plot.y_axis_formatter(|mark, _| power_of_ten(mark.value));
    }
    if let Some((_, y)) = figure.reference {
        // Drawn only where the plot reaches it: a little past it, so it is not lost on the frame.
        let y = y - (y.abs() * 0.03).max(0.005);
        plot = plot.include_y(if figure.log_y { y.max(1e-9).log10() } else { y });
    }
    let response = plot
        .show(ui, |plot| {
            draw_curves(plot, figure);
            extra(plot);
        })
        .response;
    save_menu(&response, index, lang);
}

/// Asks egui to lay this frame out once more, and for one frame after it, when the figure's extent
/// changed since it was last drawn: egui_plot sizes its axes from the tick labels of the frame
/// before, so a plot whose data has just arrived (a finished job, with no event after it) kept its
/// labels clipped and its axis title over the ticks until the mouse moved.
fn lay_out_again_when_extent_changes(ui: &egui::Ui, figure: &Figure) {
    let id = ui.make_persistent_id(("figure-extent", figure.title.as_str()));
    let extent = extent_key(figure);
    let changed = ui.ctx().data_mut(|d| {
        let changed = d.get_temp::<String>(id).as_deref() != Some(extent.as_str());
        d.insert_temp(id, extent);
        changed
    });
    if changed {
        // The pass discarded learns the new bounds; the one after it sizes the axes from the
        // labels of those bounds, and the next frame draws them (egui_plot keeps both in memory).
        ui.ctx()
            .request_discard("a plot's extent changed: its axes are laid out again");
        ui.ctx().request_repaint();
    }
}

/// The figure's number of curves and its x and y ranges to one significant digit: what the width
/// of its tick labels follows. Coarse, so that a curve growing live changes it a few times a
/// decade, not at every frame.
fn extent_key(figure: &Figure) -> String {
    let points = figure.curves.iter().flat_map(|c| &c.points);
    let (mut low, mut high) = (
        (f64::INFINITY, f64::INFINITY),
        (f64::NEG_INFINITY, f64::NEG_INFINITY),
    );
    for &(x, y) in points.filter(|(x, y)| x.is_finite() && y.is_finite()) {
        low = (low.0.min(x), low.1.min(y));
        high = (high.0.max(x), high.1.max(y));
    }
    format!(
        "{} {:.0e} {:.0e} {:.0e} {:.0e}",
        figure.curves.len(),
        low.0,
        high.0,
        low.1,
        high.1
    )
}

/// The right-click menu of plot `index` of the view shown: save it as SVG or PNG.
pub fn save_menu(response: &egui::Response, index: usize, lang: Lang) {
    response.context_menu(|ui| {
        for (svg, label) in [
            (true, lang.pick("Save as SVG…", "保存为 SVG…")),
            (false, lang.pick("Save as PNG…", "保存为 PNG…")),
        ] {
            if ui.button(label).clicked() {
                ask(ui.ctx(), PictureRequest::Figure { index, svg });
                ui.close();
            }
        }
    });
}

/// The right-click menu of picture `index` of the view shown: save it as a PNG at 1×, 2× or 4×
/// its size.
pub fn picture_menu(response: &egui::Response, index: usize, lang: Lang) {
    response.context_menu(|ui| {
        for scale in [1, 2, 4] {
            let label = match lang {
                Lang::En => format!("Save as PNG at {scale}×…"),
                Lang::Zh => format!("以 {scale}× 大小保存为 PNG…"),
            };
            if ui.button(label).clicked() {
                ask(ui.ctx(), PictureRequest::Picture { index, scale });
                ui.close();
            }
        }
    });
}

/// The label of a log axis's mark at `exponent`: 10^exponent to two significant digits, whole
/// numbers from 10 up (1000, 1.4, 0.032).
fn power_of_ten(exponent: f64) -> String {
    let value = 10f64.powf(exponent);
    let decimals = (1.0 - value.log10().floor()).clamp(0.0, 12.0) as usize;
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `value` where the plot draws it: its log₁₀ on a log axis.
fn plotted(value: f64, log: bool) -> f64 {
    if log { value.max(1e-12).log10() } else { value }
}

fn draw_curves(plot: &mut PlotUi<'_>, figure: &Figure) {
    for curve in &figure.curves {
        let [r, g, b] = curve.colour;
        let colour = Color32::from_rgb(r, g, b);
        let points: Vec<[f64; 2]> = curve
            .points
            .iter()
            .map(|&(x, y)| [plotted(x, figure.log_x), plotted(y, figure.log_y)])
            .collect();
        let name = curve.name.as_str();
        match curve.mark {
            Mark::Line => plot.line(
                Line::new(name, PlotPoints::from(points))
                    .color(colour)
                    .width(line_width(plot.ctx(), 2.5)),
            ),
            Mark::Dashed => plot.line(
                Line::new(name, PlotPoints::from(points))
                    .color(colour.gamma_multiply(0.8))
                    .style(LineStyle::dashed_loose())
                    .width(line_width(plot.ctx(), 1.5)),
            ),
            Mark::Points => plot.points(
                Points::new(name, PlotPoints::from(points))
                    .color(colour)
                    .radius(3.0),
            ),
            Mark::Bars => {
                let width = points
                    .windows(2)
                    .map(|w| (w[1][0] - w[0][0]).abs())
                    .fold(f64::INFINITY, f64::min);
                let width = if width.is_finite() { width } else { 1.0 };
                let bars = points
                    .iter()
                    .map(|p| Bar::new(p[0], p[1]).width(width))
                    .collect();
                plot.bar_chart(BarChart::new(name, bars).color(colour));
            }
        }
    }
    if let Some((name, y)) = &figure.reference {
        let y = plotted(*y, figure.log_y);
        plot.hline(HLine::new(name.as_str(), y).color(Color32::GRAY));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::figure::Curve;

    fn figure(points: Vec<(f64, f64)>) -> Figure {
        Figure {
            title: "loss".into(),
            x_label: "t".into(),
            log_x: false,
            log_y: false,
            curves: vec![Curve {
                name: "model".into(),
                points,
                colour: [0, 0, 0],
                mark: Mark::Line,
            }],
            reference: None,
            legend: LegendCorner::TopRight,
        }
    }

    /// egui passes it took to draw `figure` in one frame of `ctx`.
    fn passes_to_draw(ctx: &egui::Context, figure: &Figure) -> u64 {
        let before = ctx.cumulative_pass_nr();
        ctx.run_ui(egui::RawInput::default(), |ui| {
            figure_plot_ui(ui, (figure, 0), 200.0, Lang::En, |_| {});
        })
        .drop_without_applying_deltas();
        ctx.cumulative_pass_nr() - before
    }

    #[test]
    fn a_plot_is_laid_out_twice_in_the_frame_its_extent_changes() {
        let ctx = egui::Context::default();
        let empty = figure(Vec::new());
        let measured = figure(vec![(0.001, 0.43), (0.5, 0.13), (1.0, 0.21)]);
        let nudged = figure(vec![(0.001, 0.4301), (0.5, 0.13), (1.0, 0.2101)]);
        let tenfold = figure(vec![(0.001, 4.3), (0.5, 0.13), (1.0, 0.21)]);
        assert_eq!(passes_to_draw(&ctx, &empty), 2, "first drawn");
        assert_eq!(passes_to_draw(&ctx, &empty), 1);
        assert_eq!(passes_to_draw(&ctx, &measured), 2, "its data arrived");
        assert_eq!(passes_to_draw(&ctx, &measured), 1);
        assert_eq!(
            passes_to_draw(&ctx, &nudged),
            1,
            "a live curve's small change"
        );
        assert_eq!(passes_to_draw(&ctx, &tenfold), 2, "a new extent");
    }

    #[test]
    fn log_axes_label_powers_of_ten_with_the_decimals_they_need() {
        assert_eq!(power_of_ten(3.0), "1000");
        assert_eq!(power_of_ten(1.5), "32");
        assert_eq!(power_of_ten(0.15), "1.4");
        assert_eq!(power_of_ten(0.0), "1");
        assert_eq!(power_of_ten(-1.5), "0.032");
        assert_eq!(power_of_ten(-3.0), "0.001");
        assert_eq!(plotted(100.0, true), 2.0);
        assert_eq!(plotted(-4.0, false), -4.0);
    }
}

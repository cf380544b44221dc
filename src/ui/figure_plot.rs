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

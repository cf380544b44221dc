//! Charts for slides, drawn with plotters into a picture the PNG writer saves: quality against
//! network calls (`diffuscope eval --chart`), FID and agreement side by side, a line per sampler
//! through the mean of its seeds, a dot per seed, and the real digits' floor dashed.

use image::RgbImage;
use plotters::prelude::*;

/// The font of the charts' text (ASCII and the symbols of the interface).
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Diffuscope.ttf");
/// The family name the font is registered under.
const FAMILY: &str = "diffuscope-sans";

/// Line colours (Okabe–Ito, told apart by colour-blind readers too).
const COLOURS: [RGBColor; 7] = [
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(213, 94, 0),
    RGBColor(0, 114, 178),
    RGBColor(120, 120, 120),
];

/// One sampler's points: (network calls, value) per seed.
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// (network calls, value) of every seed.
    pub points: Vec<(f64, f64)>,
}

/// One panel: its title, its series and the floor.
#[derive(Clone, Debug)]
pub struct Panel {
    /// The title above it.
    pub title: String,
    /// A line per series.
    pub series: Vec<Series>,
    /// The real digits' value, dashed across.
    pub floor: Option<f64>,
}

/// The panels side by side, `width × height` pixels in all; `None` if plotters fails (a font
/// or a range it cannot draw), with its words.
pub fn chart_picture(panels: &[Panel], width: u32, height: u32) -> Result<RgbImage, String> {
    let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_BYTES);
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (panel, area) in panels.iter().zip(&areas) {
            draw_panel(panel, area).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    RgbImage::from_raw(width, height, buffer).ok_or_else(|| "chart buffer of a wrong size".into())
}

/// The mean value at each number of calls, in order (the line through a series' seeds).
pub fn means(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut xs: Vec<f64> = points.iter().map(|p| p.0).collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs.into_iter()
        .map(|x| {
            let ys: Vec<f64> = points.iter().filter(|p| p.0 == x).map(|p| p.1).collect();
            (x, ys.iter().sum::<f64>() / ys.len() as f64)
        })
        .collect()
}

/// The distinct numbers of calls of a panel's points, in order (the x axis's labels).
fn calls(panel: &Panel) -> Vec<f64> {
    let mut xs: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.dedup();
    xs
}

fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, plotters::coord::Shift>,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let all = panel.series.iter().flat_map(|s| &s.points);
    let x_max = all.clone().map(|p| p.0).fold(2.0, f64::max) * 1.3;
    let x_min = (all.clone().map(|p| p.0).fold(x_max, f64::min) / 1.3).max(0.5);
    let values: Vec<f64> = all.map(|p| p.1).chain(panel.floor).collect();
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let (low, high) = if low.is_finite() {
        (low, high)
    } else {
        (0.0, 1.0)
    };
    let pad = ((high - low) * 0.1).max(1e-3);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FAMILY, 22))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(56)
        .build_cartesian_2d(
            (x_min..x_max).log_scale().with_key_points(calls(panel)),
            (low - pad)..(high + pad),
        )?;
    chart
        .configure_mesh()
        .x_desc("network calls (log scale)")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .light_line_style(RGBColor(235, 235, 235))
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 16))
        .draw()?;
    for (series, colour) in panel.series.iter().zip(COLOURS.iter().cycle()) {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(
                means(&series.points),
                colour.stroke_width(3),
            ))?
            .label(series.name.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(3)));
        chart.draw_series(
            series
                .points
                .iter()
                .map(|&p| Circle::new(p, 4, colour.filled())),
        )?;
    }
    if let Some(floor) = panel.floor {
        let dashes = (0..40).map(|i| {
            let span = x_max.log10() - x_min.log10();
            let at = |k: f64| 10f64.powf(x_min.log10() + k / 40.0 * span);
            PathElement::new(
                [(at(f64::from(i)), floor), (at(f64::from(i) + 0.5), floor)],
                BLACK.stroke_width(2),
            )
        });
        chart
            .draw_series(dashes)?
            .label("real digits (floor)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 15))
        .position(SeriesLabelPosition::LowerRight)
        .draw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_two_panels_of_the_asked_size_with_ink_in_each() {
        let series = |name: &str, base: f64| Series {
            name: name.into(),
            points: vec![
                (4.0, base),
                (8.0, base - 1.0),
                (16.0, base - 2.0),
                (16.0, base - 3.0),
            ],
        };
        let panels = [
            Panel {
                title: "FID".into(),
                series: vec![series("DDIM", 40.0), series("DPM", 38.0)],
                floor: Some(30.0),
            },
            Panel {
                title: "agreement".into(),
                series: vec![series("DDIM", 1.0)],
                floor: None,
            },
        ];
        let picture = chart_picture(&panels, 800, 300).unwrap();
        assert_eq!(picture.dimensions(), (800, 300));
        for half in [0, 400] {
            let coloured = (half..half + 400)
                .flat_map(|x| (0..300).map(move |y| (x, y)))
                .filter(|&(x, y)| {
                    let [r, g, b] = picture.get_pixel(x, y).0;
                    r.abs_diff(g) > 40 || g.abs_diff(b) > 40
                })
                .count();
            assert!(
                coloured > 200,
                "panel at {half}: {coloured} coloured pixels"
            );
        }
    }
}

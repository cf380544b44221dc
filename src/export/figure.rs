//! A plot of the window drawn again for slides, as SVG (text a slide program can edit) or PNG: the
//! views describe each plot as a [`Figure`] (its curves, dashed comparisons, points, bars and a
//! reference line) and plotters draws it, with the shipped fonts.
//!
//! plotters is the well-kept Rust plotting crate with both an SVG and a bitmap back end, so the
//! two formats come from one drawing; egui_plot draws only into the window.

use image::RgbImage;
use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::prelude::*;

use crate::i18n::Lang;

/// The Latin font, and the Chinese one (both subsets shipped for the window).
const LATIN_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Diffuscope.ttf");
const CHINESE_FONT: &[u8] = include_bytes!("../../assets/fonts/NotoSansSC-Diffuscope.otf");
const LATIN_FAMILY: &str = "diffuscope-sans";
const CHINESE_FAMILY: &str = "diffuscope-sans-sc";

/// How a curve is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A solid line.
    Line,
    /// A thin dashed line (a comparison).
    Dashed,
    /// A dot per point.
    Points,
    /// A bar per point, from zero.
    Bars,
}

/// One curve of a figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    /// The legend's name (empty: not in the legend, as a line's own dots).
    pub name: String,
    /// (x, y) points.
    pub points: Vec<(f64, f64)>,
    /// Its colour.
    pub colour: [u8; 3],
    /// How it is drawn.
    pub mark: Mark,
}

/// A plot, as the window shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// The title above it (also the file's suggested name).
    pub title: String,
    /// The x axis's description.
    pub x_label: String,
    /// Whether x is drawn on a log scale (positive x only).
    pub log_x: bool,
    /// Whether y is drawn on a log scale (positive y only; no bars).
    pub log_y: bool,
    /// The curves, drawn in order.
    pub curves: Vec<Curve>,
    /// A labelled horizontal reference line (the real digits' floor).
    pub reference: Option<(String, f64)>,
    /// Where the legend goes: in the corner the curves leave empty.
    pub legend: LegendCorner,
}

/// A corner of the plot, for its legend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LegendCorner {
    /// Upper right (the default).
    #[default]
    TopRight,
    /// Lower right.
    BottomRight,
    /// Lower left.
    BottomLeft,
}

impl Figure {
    /// The figure as an SVG document, `width × height` points, its text in `lang`'s font.
    pub fn to_svg(&self, (width, height): (u32, u32), lang: Lang) -> Result<String, String> {
        let family = register_fonts(lang);
        let scale = f64::from(width) / 800.0;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
            draw(self, &root, (family, scale)).map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        // Name fonts a slide program has (the registered names are ours alone).
        Ok(svg
            .replace(
                &format!("font-family=\"{LATIN_FAMILY}\""),
                "font-family=\"DejaVu Sans, Arial, sans-serif\"",
            )
            .replace(
                &format!("font-family=\"{CHINESE_FAMILY}\""),
                "font-family=\"Noto Sans SC, Microsoft YaHei, PingFang SC, sans-serif\"",
            ))
    }

    /// The figure as a picture of `width × height` pixels, its text and lines in proportion (as
    /// they are on an SVG 800 points across).
    pub fn to_picture(&self, size: (u32, u32), lang: Lang) -> Result<RgbImage, String> {
        self.to_picture_scaled(size, f64::from(size.0) / 800.0, lang)
    }

    /// The figure as a picture of `width × height` pixels, its text and lines `scale` times their
    /// size on an SVG.
    pub fn to_picture_scaled(
        &self,
        (width, height): (u32, u32),
        scale: f64,
        lang: Lang,
    ) -> Result<RgbImage, String> {
        let family = register_fonts(lang);
        let mut buffer = vec![255u8; width as usize * height as usize * 3];
        {
            let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
            draw(self, &root, (family, scale)).map_err(|e| e.to_string())?;
            root.present().map_err(|e| e.to_string())?;
        }
        RgbImage::from_raw(width, height, buffer)
            .ok_or_else(|| "figure buffer of a wrong size".into())
    }
}

/// `figures` side by side in one picture of `width × height` pixels (`diffuscope eval --chart`).
pub fn figures_picture(
    figures: &[Figure],
    (width, height): (u32, u32),
    lang: Lang,
) -> Result<RgbImage, String> {
    let family = register_fonts(lang);
    let mut buffer = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (width, height)).into_drawing_area();
        let areas = root.split_evenly((1, figures.len().max(1)));
        let scale = f64::from(width) / figures.len().max(1) as f64 / 800.0;
        for (figure, area) in figures.iter().zip(&areas) {
            draw(figure, area, (family, scale.max(0.75))).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    RgbImage::from_raw(width, height, buffer).ok_or_else(|| "figure buffer of a wrong size".into())
}

/// Registers the shipped fonts with plotters; returns the family for `lang`'s text.
fn register_fonts(lang: Lang) -> &'static str {
    let _ = plotters::style::register_font(LATIN_FAMILY, FontStyle::Normal, LATIN_FONT);
    let _ = plotters::style::register_font(CHINESE_FAMILY, FontStyle::Normal, CHINESE_FONT);
    match lang {
        Lang::En => LATIN_FAMILY,
        Lang::Zh => CHINESE_FAMILY,
    }
}

/// The x and y ranges of every point (and the reference), with a margin; only positive values
/// on a log scale.
fn ranges(figure: &Figure) -> ((f64, f64), (f64, f64)) {
    let points = || figure.curves.iter().flat_map(|c| &c.points);
    let bars = figure.curves.iter().any(|c| c.mark == Mark::Bars);
    let xs = points().map(|p| p.0).filter(|x| !figure.log_x || *x > 0.0);
    let ys = points()
        .map(|p| p.1)
        .chain(figure.reference.as_ref().map(|r| r.1))
        .chain(bars.then_some(0.0))
        .filter(|y| !figure.log_y || *y > 0.0);
    let span = |values: &mut dyn Iterator<Item = f64>| {
        values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(v), h.max(v))
            })
    };
    let (mut x_low, mut x_high) = span(&mut { xs });
    let (mut y_low, mut y_high) = span(&mut { ys });
    if !x_low.is_finite() {
        (x_low, x_high) = (1.0, 10.0);
    }
    if !y_low.is_finite() {
        (y_low, y_high) = if figure.log_y { (0.1, 1.0) } else { (0.0, 1.0) };
    }
    if figure.log_x {
        (x_low, x_high) = (x_low / 1.2, x_high.max(x_low * 2.0) * 1.2);
    } else if x_high <= x_low {
        x_high = x_low + 1.0;
    }
    if figure.log_y {
        return (
            (x_low, x_high),
            (y_low / 1.3, y_high.max(y_low * 2.0) * 1.3),
        );
    }
    let pad = ((y_high - y_low) * 0.08).max(1e-3);
    ((x_low, x_high), (y_low - pad, y_high + pad))
}

/// The font family and the size of everything relative to an 800-point-wide figure.
type Look = (&'static str, f64);

/// `size` points at the look's scale, in whole pixels.
fn scaled(look: Look, size: f64) -> u32 {
    (size * look.1).round() as u32
}

fn draw<DB: DrawingBackend>(
    figure: &Figure,
    root: &DrawingArea<DB, Shift>,
    look: Look,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let ((x_low, x_high), (y_low, y_high)) = ranges(figure);
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&figure.title, (look.0, scaled(look, 24.0)))
        .margin(scaled(look, 14.0))
        .x_label_area_size(scaled(look, 46.0))
        .y_label_area_size(scaled(look, 60.0));
    let (x, y) = (x_low..x_high, y_low..y_high);
    let x_range = (x_low, x_high);
    match (figure.log_x, figure.log_y) {
        (false, false) => finish(builder.build_cartesian_2d(x, y)?, figure, x_range, look),
        (true, false) => finish(
            builder.build_cartesian_2d(x.log_scale(), y)?,
            figure,
            x_range,
            look,
        ),
        (false, true) => finish(
            builder.build_cartesian_2d(x, y.log_scale())?,
            figure,
            x_range,
            look,
        ),
        (true, true) => finish(
            builder.build_cartesian_2d(x.log_scale(), y.log_scale())?,
            figure,
            x_range,
            look,
        ),
    }
}

/// The mesh, the curves and the legend on a chart built with the figure's scales.
fn finish<'a, DB, X, Y>(
    mut chart: ChartContext<'a, DB, Cartesian2d<X, Y>>,
    figure: &Figure,
    x_range: (f64, f64),
    look: Look,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    mesh(&mut chart, figure, look)?;
    curves(&mut chart, figure, x_range, look)?;
    legend(&mut chart, figure.legend, look)
}

/// A tick's number: as few digits as it needs (100, 0.5, 0.9995; 1e-6 below a thousandth, where
/// a log axis puts ticks).
fn tick(value: &f64) -> String {
    if *value != 0.0 && value.abs() < 1e-3 {
        return format!("{value:.0e}");
    }
    let rounded = (value * 1e5).round() / 1e5;
    format!("{}", if rounded == 0.0 { 0.0 } else { rounded })
}

fn mesh<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    figure: &Figure,
    look: Look,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .x_desc(figure.x_label.as_str())
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .light_line_style(RGBColor(235, 235, 235))
        .label_style((look.0, scaled(look, 15.0)))
        .axis_desc_style((look.0, scaled(look, 16.0)))
        .draw()
}

fn curves<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    figure: &Figure,
    (x_low, x_high): (f64, f64),
    look: Look,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let (thick, thin) = (scaled(look, 3.0), scaled(look, 2.0));
    let dash = (scaled(look, 8.0), scaled(look, 6.0));
    for curve in &figure.curves {
        let [r, g, b] = curve.colour;
        let colour = RGBColor(r, g, b);
        let style = colour.stroke_width(thick);
        let legend_width = scaled(look, 22.0) as i32;
        let drawn = match curve.mark {
            Mark::Line => chart.draw_series(LineSeries::new(curve.points.clone(), style))?,
            Mark::Dashed => chart.draw_series(DashedLineSeries::new(
                curve.points.clone(),
                dash.0,
                dash.1,
                colour.stroke_width(thin),
            ))?,
            Mark::Points => chart.draw_series(
                curve
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, scaled(look, 4.0), colour.filled())),
            )?,
            Mark::Bars => {
                let width = bar_width(&curve.points);
                chart.draw_series(curve.points.iter().map(|&(x, y)| {
                    Rectangle::new(
                        [(x - width / 2.0, 0.0), (x + width / 2.0, y)],
                        colour.filled(),
                    )
                }))?
            }
        };
        // An unnamed curve (a line's own dots) stays out of the legend.
        if !curve.name.is_empty() {
            drawn
                .label(curve.name.as_str())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + legend_width, y)], style));
        }
    }
    if let Some((name, y)) = &figure.reference {
        let legend_width = scaled(look, 22.0) as i32;
        chart
            .draw_series(DashedLineSeries::new(
                [(x_low, *y), (x_high, *y)],
                dash.0 + thin,
                dash.1,
                BLACK.stroke_width(thin),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new([(x, y), (x + legend_width, y)], BLACK.stroke_width(thin))
            });
    }
    Ok(())
}

fn legend<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    corner: LegendCorner,
    look: Look,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((look.0, scaled(look, 15.0)))
        .legend_area_size(scaled(look, 30.0))
        .position(match corner {
            LegendCorner::TopRight => SeriesLabelPosition::UpperRight,
            LegendCorner::BottomRight => SeriesLabelPosition::LowerRight,
            LegendCorner::BottomLeft => SeriesLabelPosition::LowerLeft,
        })
        .draw()
}

/// The width of bars centred on `points`' x: their spacing (1 for a single bar).
fn bar_width(points: &[(f64, f64)]) -> f64 {
    let spacing = points
        .windows(2)
        .map(|w| (w[1].0 - w[0].0).abs())
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    if spacing.is_finite() { spacing } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figure(log_x: bool) -> Figure {
        Figure {
            title: "how much photo".into(),
            x_label: "t".into(),
            log_x,
            log_y: false,
            curves: vec![
                Curve {
                    name: "signal".into(),
                    points: (1..=10)
                        .map(|i| (f64::from(i), 1.0 / f64::from(i)))
                        .collect(),
                    colour: [0, 114, 178],
                    mark: Mark::Line,
                },
                Curve {
                    name: "seeds".into(),
                    points: vec![(2.0, 0.3), (4.0, 0.2)],
                    colour: [230, 159, 0],
                    mark: Mark::Points,
                },
                Curve {
                    name: "histogram".into(),
                    points: vec![(1.0, 0.1), (2.0, 0.2), (3.0, 0.15)],
                    colour: [86, 180, 233],
                    mark: Mark::Bars,
                },
            ],
            reference: Some(("floor".into(), 0.25)),
            legend: LegendCorner::BottomRight,
        }
    }

    #[test]
    fn draws_the_same_figure_as_svg_and_as_a_picture() {
        for log_x in [false, true] {
            let svg = figure(log_x).to_svg((640, 400), Lang::En).unwrap();
            assert!(svg.starts_with("<svg") && svg.contains("how much photo"));
            assert!(svg.contains("signal") && svg.contains("floor"));
            let picture = figure(log_x).to_picture((640, 400), Lang::En).unwrap();
            assert_eq!(picture.dimensions(), (640, 400));
            let blue = picture.pixels().filter(|p| p.0 == [0, 114, 178]).count();
            assert!(blue > 100, "the line is drawn: {blue} pixels");
        }
    }

    #[test]
    fn draws_both_axes_on_log_scales() {
        let figure = Figure {
            log_y: true,
            reference: None,
            curves: figure(true).curves.into_iter().take(2).collect(),
            ..figure(true)
        };
        let ((x_low, x_high), (y_low, y_high)) = ranges(&figure);
        assert!(x_low > 0.0 && x_high > 10.0 && y_low > 0.0 && y_low < 0.1 && y_high > 1.0);
        let picture = figure.to_picture((640, 400), Lang::En).unwrap();
        let blue = picture.pixels().filter(|p| p.0 == [0, 114, 178]).count();
        assert!(blue > 100, "the line is drawn: {blue} pixels");
        assert!(
            figure
                .to_svg((640, 400), Lang::En)
                .unwrap()
                .contains("signal")
        );
    }

    #[test]
    fn ticks_read_short_and_small_ones_in_powers_of_ten() {
        assert_eq!(tick(&100.0), "100");
        assert_eq!(tick(&0.9995), "0.9995");
        assert_eq!(tick(&0.0), "0");
        assert_eq!(tick(&0.000_001), "1e-6");
    }

    #[test]
    fn bars_are_as_wide_as_their_spacing() {
        assert_eq!(bar_width(&[(0.0, 1.0), (0.5, 1.0), (1.0, 2.0)]), 0.5);
        assert_eq!(bar_width(&[(3.0, 1.0)]), 1.0);
    }
}

//! Charts for slides: quality against network calls (`diffuscope eval --chart`), FID and
//! agreement side by side, a line per sampler through the mean of its seeds, a dot per seed, and
//! the real digits' floor dashed; drawn as [`Figure`]s, as the window's plots are.

use image::RgbImage;

use super::figure::{Curve, Figure, LegendCorner, Mark, figures_picture};
use crate::i18n::Lang;
use crate::sample::colormap::OKABE_ITO;

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

/// The panels side by side, `width × height` pixels in all (drawn as [`Figure`]s); `Err` with
/// plotters' words if it fails (a font or a range it cannot draw).
pub fn chart_picture(panels: &[Panel], width: u32, height: u32) -> Result<RgbImage, String> {
    let figures: Vec<Figure> = panels.iter().map(Panel::figure).collect();
    figures_picture(&figures, (width, height), Lang::En)
}

impl Panel {
    /// The panel as a figure: against network calls on a log scale, a line through each
    /// series' mean and a dot per seed, the floor across.
    pub fn figure(&self) -> Figure {
        let curves = self
            .series
            .iter()
            .zip(OKABE_ITO.iter().cycle())
            .flat_map(|(series, &colour)| {
                // The dots go unnamed: the legend names the line once.
                [
                    (series.name.clone(), means(&series.points), Mark::Line),
                    (String::new(), series.points.clone(), Mark::Points),
                ]
                .map(|(name, points, mark)| Curve {
                    name,
                    points,
                    colour,
                    mark,
                })
            })
            .collect();
        Figure {
            title: self.title.clone(),
            x_label: "network calls (log scale)".into(),
            log_x: true,
            log_y: false,
            curves,
            reference: self.floor.map(|y| ("real digits (floor)".to_owned(), y)),
            legend: LegendCorner::BottomRight,
        }
    }
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

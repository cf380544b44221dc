//! The Forward view's plots as [`Figure`]s, for slides: the weights of photo and noise, log-SNR
//! (each with the other schedules dashed when they are shown) and the histogram of x_t beside
//! N(0, 1); and its three pictures, x0, x_t and ε.

use eframe::egui::Color32;

use super::ForwardView;
use super::view::{
    LOG_SNR_COLOR, NOISE_COLOR, SIGNAL_COLOR, compare_color, other_schedules, schedule_name,
};
use crate::data::picture::values_to_rgb8;
use crate::diffusion::NoiseSchedule;
use crate::diffusion::stats::standard_normal_pdf;
use crate::export::figure::{Curve, Figure, LegendCorner, Mark};
use crate::i18n::{Lang, Text};

fn rgb(colour: Color32) -> [u8; 3] {
    [colour.r(), colour.g(), colour.b()]
}

/// `f(t)` for t = 0..=T, finite values only.
fn over_t(schedule: &NoiseSchedule, f: impl Fn(usize) -> f64) -> Vec<(f64, f64)> {
    (0..=schedule.steps())
        .map(|t| (t as f64, f(t)))
        .filter(|(_, y)| y.is_finite())
        .collect()
}

fn line(name: &str, points: Vec<(f64, f64)>, colour: Color32, mark: Mark) -> Curve {
    Curve {
        name: name.to_owned(),
        points,
        colour: rgb(colour),
        mark,
    }
}

/// The view's three plots, as it shows them now.
pub fn figures(view: &ForwardView, lang: Lang) -> Vec<Figure> {
    let schedule = view.state.schedule();
    let others = other_schedules(view);
    let dashed = |f: fn(&NoiseSchedule, usize) -> f64| {
        others.iter().map(move |(kind, other)| {
            line(
                schedule_name(lang, *kind),
                over_t(other, |t| f(other, t)),
                compare_color(*kind),
                Mark::Dashed,
            )
        })
    };
    let mut weights: Vec<Curve> = dashed(NoiseSchedule::signal_scale).collect();
    weights.push(line(
        lang.tr(Text::SignalWeight),
        over_t(schedule, |t| schedule.signal_scale(t)),
        SIGNAL_COLOR,
        Mark::Line,
    ));
    weights.push(line(
        lang.tr(Text::NoiseWeight),
        over_t(schedule, |t| schedule.noise_scale(t)),
        NOISE_COLOR,
        Mark::Line,
    ));
    let mut log_snr: Vec<Curve> = dashed(NoiseSchedule::log_snr).collect();
    log_snr.push(line(
        lang.tr(Text::LogSnr),
        over_t(schedule, |t| schedule.log_snr(t)),
        LOG_SNR_COLOR,
        Mark::Line,
    ));
    let titled = |title: Text, x_label: &str, curves| Figure {
        title: lang.tr(title).to_owned(),
        x_label: x_label.to_owned(),
        log_x: false,
        log_y: false,
        curves,
        reference: None,
        legend: LegendCorner::TopRight,
    };
    let mut figures = vec![
        titled(Text::SignalAndNoise, "t", weights),
        titled(Text::LogSnr, "t", log_snr),
    ];
    if let Some(image) = view.state.x_t_image_cached() {
        let bars = image.histogram.densities().collect();
        let normal = (-400..=400)
            .map(|i| {
                let x = f64::from(i) / 100.0;
                (x, standard_normal_pdf(x))
            })
            .collect();
        figures.push(titled(
            Text::Histogram,
            lang.pick("pixel value of x_t", "x_t 的像素值"),
            vec![
                line(lang.tr(Text::HistogramOfXt), bars, SIGNAL_COLOR, Mark::Bars),
                line(
                    lang.tr(Text::StandardNormal),
                    normal,
                    NOISE_COLOR,
                    Mark::Line,
                ),
            ],
        ));
    }
    figures
}

/// x0, x_t and ε as the view shows them, captioned.
pub fn pictures(view: &ForwardView, lang: Lang) -> Vec<(String, image::RgbImage)> {
    let state = &view.state;
    let picture = state.picture();
    let mut pictures = vec![(lang.tr(Text::CleanImage).to_owned(), picture.to_rgb_image())];
    if let Some(x_t) = state.x_t_image_cached()
        && let Some(image) =
            image::RgbImage::from_raw(x_t.width as u32, x_t.height as u32, x_t.rgb.clone())
    {
        let caption = format!(
            "{} (t = {} / {})",
            lang.tr(Text::NoisyImage),
            x_t.t,
            state.schedule().steps()
        );
        pictures.push((caption, image));
    }
    let mut eps = vec![0; state.eps().len()];
    values_to_rgb8(state.eps(), &mut eps);
    if let Some(image) = image::RgbImage::from_raw(picture.width as u32, picture.height as u32, eps)
    {
        pictures.push((lang.tr(Text::Noise).to_owned(), image));
    }
    pictures
}

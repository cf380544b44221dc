//! Pictures for slides: each view's plots saved as SVG and PNG, decoded by libraries this project
//! did not write (usvg for the SVG, the image crate for the PNG), with the plotted data inside;
//! and a plot's right-click menu offers both.

#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use diffuscope::i18n::Lang;
use diffuscope::ui::figure_plot::PictureRequest;
use diffuscope::ui::slide_pictures::{PNG_SIZE, save};
use diffuscope::ui::{AppSettings, DiffuscopeApp};
use eframe::egui;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use fake_model::FakeLoader;
use window::{App, app};

fn harness(lang: Lang) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(lang),
        ..AppSettings::default()
    };
    window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::with_loader(ctx, settings.clone(), Box::new(FakeLoader::new(28, 1000)))
    })
}

/// The `points` attribute of every polyline of an SVG, as (x, y) pairs.
fn polylines(svg: &str) -> Vec<Vec<(f64, f64)>> {
    svg.split("<polyline")
        .skip(1)
        .filter_map(|element| {
            let points = element.split("points=\"").nth(1)?.split('"').next()?;
            Some(
                points
                    .split_whitespace()
                    .filter_map(|pair| {
                        let (x, y) = pair.split_once(',')?;
                        Some((x.parse().ok()?, y.parse().ok()?))
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_forward_plots_save_as_svg_and_png_with_their_data() {
    let folder = tempfile::tempdir().unwrap();
    let mut harness = harness(Lang::En);
    harness.run_steps(3);
    let forward = app(&harness).forward();
    let figures = diffuscope::ui::View::figures(forward, Lang::En);
    assert_eq!(figures.len(), 3, "weights, log-SNR, histogram");
    let steps = forward.state.schedule().steps();

    let svg_path = folder.path().join("weights.svg");
    let message = save(
        PictureRequest::Figure {
            index: 0,
            svg: true,
        },
        &svg_path,
        forward,
        Lang::En,
    );
    assert!(
        message.sentence(Lang::En).starts_with("Saved"),
        "{message:?}"
    );
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
    assert!(tree.root().has_children());
    assert!(svg.contains("How much photo"), "the title is text");
    // √ᾱ_t and √(1−ᾱ_t): one polyline point per t = 0..=T, the first falling and the second
    // rising (SVG's y grows downwards).
    let full: Vec<Vec<(f64, f64)>> = polylines(&svg)
        .into_iter()
        .filter(|line| line.len() == steps + 1)
        .collect();
    assert!(full.len() >= 2, "{} full curves", full.len());
    let falls = |line: &[(f64, f64)]| line[0].1 < line[line.len() - 1].1;
    assert!(full.iter().any(|l| falls(l)) && full.iter().any(|l| !falls(l)));

    let png_path = folder.path().join("histogram.png");
    save(
        PictureRequest::Figure {
            index: 2,
            svg: false,
        },
        &png_path,
        forward,
        Lang::En,
    );
    let picture = image::open(&png_path).unwrap().to_rgb8();
    assert_eq!(picture.dimensions(), PNG_SIZE);
    let bars = picture.pixels().filter(|p| p.0 == [86, 180, 233]).count();
    assert!(
        bars > 5_000,
        "the histogram's bars are drawn: {bars} pixels"
    );
}

#[test]
fn a_chinese_window_saves_its_plots_in_chinese() {
    let folder = tempfile::tempdir().unwrap();
    let mut harness = harness(Lang::Zh);
    harness.run_steps(3);
    let path = folder.path().join("log-snr.svg");
    save(
        PictureRequest::Figure {
            index: 1,
            svg: true,
        },
        &path,
        app(&harness).forward(),
        Lang::Zh,
    );
    let svg = std::fs::read_to_string(&path).unwrap();
    usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
    assert!(svg.contains("对数信噪比"), "{}", &svg[..400.min(svg.len())]);
}

#[test]
fn a_plots_right_click_offers_svg_and_png() {
    let mut harness = harness(Lang::En);
    harness.run_steps(3);
    let plot = harness.get_by_label("log-SNR(t)").rect().center();
    // The plot sits under its title.
    harness.hover_at(plot + egui::vec2(0.0, 80.0));
    harness.run_steps(1);
    harness.event(egui::Event::PointerButton {
        pos: plot + egui::vec2(0.0, 80.0),
        button: egui::PointerButton::Secondary,
        pressed: true,
        modifiers: egui::Modifiers::NONE,
    });
    harness.event(egui::Event::PointerButton {
        pos: plot + egui::vec2(0.0, 80.0),
        button: egui::PointerButton::Secondary,
        pressed: false,
        modifiers: egui::Modifiers::NONE,
    });
    harness.run_steps(2);
    harness.get_by_label("Save as SVG…");
    harness.get_by_label("Save as PNG…");
}

#[test]
fn pictures_save_enlarged_and_the_whole_view_as_a_panel_sheet() {
    let folder = tempfile::tempdir().unwrap();
    let mut harness = harness(Lang::En);
    harness.run_steps(3);
    let forward = app(&harness).forward();
    let x0 = folder.path().join("x0.png");
    save(
        PictureRequest::Picture { index: 0, scale: 2 },
        &x0,
        forward,
        Lang::En,
    );
    let (width, height) = (
        forward.state.picture().width,
        forward.state.picture().height,
    );
    let saved = image::open(&x0).unwrap().to_rgb8();
    assert_eq!(saved.dimensions(), (2 * width as u32, 2 * height as u32));

    let sheet_path = folder.path().join("sheet.png");
    let message = save(PictureRequest::Sheet, &sheet_path, forward, Lang::En);
    assert!(
        message.sentence(Lang::En).starts_with("Saved"),
        "{message:?}"
    );
    let sheet = image::open(&sheet_path).unwrap().to_rgb8();
    assert_eq!(sheet.width(), diffuscope::export::sheet::SHEET_WIDTH);
    // The three pictures and the three plots: the plots' blue line and the pictures' band.
    let blue = sheet.pixels().filter(|p| p.0 == [86, 180, 233]).count();
    assert!(blue > 10_000, "{blue}");
    assert!(sheet.height() > 1_000, "{}", sheet.height());

    // A right click on a picture offers it at three sizes.
    let card = harness.get_by_label("x0: the clean image").rect().center();
    let at = card + egui::vec2(0.0, 60.0);
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos: at,
            button: egui::PointerButton::Secondary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
    }
    harness.run_steps(2);
    harness.get_by_label("Save as PNG at 2×…");
}

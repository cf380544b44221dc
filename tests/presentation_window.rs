//! Presentation mode through egui_kittest: F5 and the top bar's button enter and leave it (twice
//! the size, high contrast, side panels folded away and back on demand), the view's keys still
//! work, and the mode and its zoom are remembered into the next session.

#[path = "common/window.rs"]
mod window;

use diffuscope::i18n::Lang;
use diffuscope::ui::presentation::PresentationSettings;
use diffuscope::ui::{AppSettings, DiffuscopeApp};
use eframe::egui::{self, Color32};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use window::{App, app};

/// The Forward view's explanation panel, folded away while presenting.
const EXPLANATION: &str = "What am I looking at?";

fn harness(settings: AppSettings) -> Harness<'static, App> {
    window::window([1920.0, 1080.0], move |ctx| {
        DiffuscopeApp::new(ctx, settings.clone())
    })
}

fn english() -> AppSettings {
    AppSettings {
        lang: Some(Lang::En),
        ..AppSettings::default()
    }
}

fn panel_fill(harness: &Harness<'static, App>) -> Color32 {
    let ctx = &harness.ctx;
    ctx.style_of(ctx.theme()).visuals.panel_fill
}

#[test]
fn f5_presents_twice_as_large_in_high_contrast_with_the_panels_folded() {
    let mut harness = harness(english());
    harness.run_steps(2);
    harness.get_by_label(EXPLANATION);
    let normal_fill = panel_fill(&harness);

    harness.key_press(egui::Key::F5);
    harness.run_steps(2);
    assert!(app(&harness).is_presenting());
    assert_eq!(harness.ctx.zoom_factor(), 2.0);
    assert_eq!(panel_fill(&harness), Color32::BLACK);
    assert!(harness.query_by_label(EXPLANATION).is_none());

    // The view's keys still work: → steps t.
    let t = app(&harness).forward().state.t;
    harness.key_press(egui::Key::ArrowRight);
    harness.run_steps(2);
    assert_eq!(app(&harness).forward().state.t, t + 1);

    // The side panels come back on demand.
    harness.get_by_label("Side panels").click();
    harness.run_steps(2);
    harness.get_by_label(EXPLANATION);

    harness.key_press(egui::Key::F5);
    harness.run_steps(2);
    assert!(!app(&harness).is_presenting());
    assert_eq!(harness.ctx.zoom_factor(), 1.0);
    assert_eq!(panel_fill(&harness), normal_fill);
    harness.get_by_label(EXPLANATION);
    assert!(harness.query_by_label("Side panels").is_none());
}

#[test]
fn the_button_presents_and_the_mode_and_its_zoom_are_remembered() {
    let mut harness = harness(english());
    harness.run_steps(2);
    harness.get_by_label("Present (F5)").click();
    harness.run_steps(2);
    assert!(app(&harness).is_presenting());

    // The teacher makes it larger still (Ctrl+=): that size is what presenting means from now on.
    harness.ctx.set_zoom_factor(2.5);
    harness.run_steps(2);
    let remembered = app(&harness).settings();
    assert_eq!(
        remembered.presentation,
        PresentationSettings {
            on: true,
            zoom: 2.5
        }
    );

    // The next session opens presenting, at that size.
    let mut next = self::harness(remembered);
    next.run_steps(3);
    assert!(app(&next).is_presenting());
    assert_eq!(next.ctx.zoom_factor(), 2.5);
    assert!(next.query_by_label(EXPLANATION).is_none());
}

#[test]
fn settings_from_before_presentation_mode_read_as_not_presenting() {
    let json = r#"{"lang":"En","view":"forward","views":{}}"#;
    let settings: AppSettings = serde_json::from_str(json).unwrap();
    assert_eq!(settings.presentation, PresentationSettings::default());
    let mut harness = harness(settings);
    harness.run_steps(2);
    assert!(!app(&harness).is_presenting());
    assert_eq!(harness.ctx.zoom_factor(), 1.0);
}

//! The Evaluate view (the evaluation lab), driven headlessly through egui_kittest with a fake
//! network (no GPU) and the shipped classifier on a few hundred real digits: Measure makes and
//! measures every point with a progress bar, the results are kept so a second Measure has nothing
//! to do, and Esc cancels a measurement.
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use diffuscope::diffusion::objectives::Objective;
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::i18n::Lang;
use diffuscope::quality::session::ModelOpener;
use diffuscope::sample::{Denoiser, ModelTraits};
use diffuscope::ui::evaluate::{EvaluateSettings, EvaluateView};
use diffuscope::ui::{AppSettings, DiffuscopeApp, View, ViewEntry, ViewSetup};
use eframe::egui::Key;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use fake_model::FakeNetwork;
use window::{App, app, run_until};

/// Real digits of the reference and its floor: 60 and 60 (read and measured in about a second
/// unoptimised).
const REAL_DIGITS: usize = 120;

/// Fake ε networks of 28×28 digits; each call takes `delay`.
fn opener(delay: Duration) -> ModelOpener {
    Arc::new(move |_name: &str| {
        let network = FakeNetwork {
            side: 28,
            channels: 1,
            calls: Arc::new(AtomicUsize::new(0)),
            panic_on_call: None,
            delay,
        };
        let traits = ModelTraits {
            objective: Objective::Eps,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        };
        Ok((Box::new(network) as Box<dyn Denoiser + Send + Sync>, traits))
    })
}

fn quick(setup: &mut ViewSetup) -> Box<dyn View> {
    let view = EvaluateView::new(
        setup.settings_of(EvaluateView::KEY),
        opener(Duration::ZERO),
        REAL_DIGITS,
        Arc::clone(&setup.wake),
    );
    Box::new(view)
}

fn slow(setup: &mut ViewSetup) -> Box<dyn View> {
    let view = EvaluateView::new(
        setup.settings_of(EvaluateView::KEY),
        opener(Duration::from_millis(30)),
        REAL_DIGITS,
        Arc::clone(&setup.wake),
    );
    Box::new(view)
}

fn harness(
    build: fn(&mut ViewSetup) -> Box<dyn View>,
    settings: &EvaluateSettings,
) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(Lang::En),
        view: EvaluateView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(EvaluateView::KEY, settings);
    let entries = [ViewEntry {
        key: EvaluateView::KEY,
        build,
    }];
    window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::with_views(
            ctx,
            settings.clone(),
            Box::new(fake_model::FakeLoader::new(28, 1000)),
            &entries,
        )
    })
}

fn evaluate(app: &DiffuscopeApp) -> &EvaluateView {
    app.view().unwrap_or_else(|| panic!("no Evaluate view"))
}

#[test]
fn measure_fills_the_charts_and_keeps_the_points() {
    let settings = EvaluateSettings {
        samplers: vec!["ddim".into(), "euler".into()],
        steps: vec![2, 4],
        samples: 20,
        repeats: 1,
        ..EvaluateSettings::default()
    };
    let mut harness = harness(quick, &settings);
    harness.run_steps(1);
    harness.get_by_label("Measure (M)").click();
    harness.run_steps(1);
    assert!(evaluate(app(&harness)).is_measuring());
    run_until(&mut harness, |app| !evaluate(app).is_measuring());
    let view = evaluate(app(&harness));
    assert!(
        view.message.is_none(),
        "{:?}",
        view.message
            .as_ref()
            .map(|m| m.sentence(Lang::En).to_owned())
    );
    assert_eq!(view.results.len(), 4, "two samplers × two step counts");
    let floor = &view.floors[&20];
    assert_eq!(floor.count, 20);
    assert!(
        view.results
            .values()
            .all(|r| r.report.count == 20 && r.report.fid > floor.fid)
    );
    harness.run_steps(2);
    harness.get_by_label("real digits");
    harness.get_by_label("FID (lower is better)");
    // Nothing new to measure: the kept points answer at once.
    harness.key_press(Key::M);
    harness.run_steps(1);
    let view = evaluate(app(&harness));
    assert!(!view.is_measuring());
    assert_eq!(
        view.message.as_ref().unwrap().sentence(Lang::En),
        "Every point is measured already."
    );
}

#[test]
fn esc_cancels_a_measurement() {
    let settings = EvaluateSettings {
        samplers: vec!["ddpm".into()],
        steps: vec![1000],
        samples: 20,
        ..EvaluateSettings::default()
    };
    let mut harness = harness(slow, &settings);
    harness.run_steps(1);
    harness.key_press(Key::M);
    run_until(&mut harness, |app| evaluate(app).progress().is_some());
    harness.key_press(Key::Escape);
    run_until(&mut harness, |app| !evaluate(app).is_measuring());
    let view = evaluate(app(&harness));
    assert!(view.results.is_empty());
    let sentence = view.message.as_ref().unwrap().sentence(Lang::En).to_owned();
    // The sampling loop's own sentence, naming the step it stopped before.
    assert!(
        sentence.starts_with("Sampling was stopped at step "),
        "{sentence}"
    );
}

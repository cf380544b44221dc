//! The Training view, driven headlessly through egui_kittest with fake networks (one per
//! objective) and the bundled digits: a step is taken apart into its six pictures and seven
//! lines, "Next step" draws another example as training does and lights the lines in turn, the
//! loss against t is measured for every model with progress, kept, and cancelled by Esc, and a
//! model that cannot be opened is one sentence.
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use diffuscope::diffusion::objectives::Objective;
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::i18n::Lang;
use diffuscope::quality::session::ModelOpener;
use diffuscope::sample::{Denoiser, ModelTraits};
use diffuscope::train::StepReport;
use diffuscope::ui::training::live::{LiveSettings, LiveShared, LiveTrainer};
use diffuscope::ui::training::{
    CURVE_MODELS, Sentences, TrainingCommand, TrainingSection, TrainingSettings, TrainingView,
};
use diffuscope::ui::{AppSettings, DiffuscopeApp, View, ViewEntry, ViewSetup};
use eframe::egui::Key;
use egui_kittest::Harness;
use egui_kittest::kittest::{Queryable, by};
use fake_model::FakeNetwork;
use window::{App, app, app_mut, run_until};

/// Fake networks of 28×28 digits whose objective follows the name (…-v, …-flow, else ε); each
/// call takes `delay`; "digits-broken" does not open.
fn opener(delay: Duration) -> ModelOpener {
    Arc::new(move |name: &str| {
        if name == "digits-broken" {
            return Err(("The model is broken.".into(), "模型已损坏。".into()));
        }
        let objective = match name.rsplit('-').next() {
            Some("v") => Objective::V,
            Some("flow") => Objective::Flow,
            _ => Objective::Eps,
        };
        let network = FakeNetwork {
            side: 28,
            channels: 1,
            calls: Arc::new(AtomicUsize::new(0)),
            panic_on_call: None,
            delay,
        };
        let traits = ModelTraits {
            objective,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        };
        Ok((Box::new(network) as Box<dyn Denoiser + Send + Sync>, traits))
    })
}

/// A fake trainer: a falling loss, 2 ms a step, a grid that brightens as it goes; a save writes
/// the word "fake", and so does the checkpoint the run ends with.
fn fake_trainer() -> LiveTrainer {
    Arc::new(|settings: &LiveSettings, shared: &LiveShared| {
        let steps = settings.steps;
        let save = |path: PathBuf| {
            let outcome = std::fs::write(&path, b"fake")
                .map(|()| path)
                .map_err(|e| Sentences::new(e.to_string(), e.to_string()));
            shared.saved(outcome);
        };
        for step in 1..=steps {
            shared.report(StepReport {
                step,
                steps,
                loss: 1.0 / step as f32,
                lr: settings.lr,
                images_per_sec: 1000.0,
                elapsed_secs: step as f64 * 0.002,
            });
            if shared.grid_due(step == steps) {
                shared.publish_grid(step, vec![step as f32 / steps as f32; 16 * 784]);
            }
            if let Some(path) = shared.take_save() {
                save(path);
            }
            if !shared.wait_while_paused(&save) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        shared.keep_checkpoint(b"fake".to_vec());
        Ok(())
    })
}

fn quick(setup: &mut ViewSetup) -> Box<dyn View> {
    let settings = setup.settings_of(TrainingView::KEY);
    Box::new(TrainingView::new(
        settings,
        (opener(Duration::ZERO), fake_trainer()),
        Arc::clone(&setup.wake),
    ))
}

fn slow(setup: &mut ViewSetup) -> Box<dyn View> {
    let settings = setup.settings_of(TrainingView::KEY);
    Box::new(TrainingView::new(
        settings,
        (opener(Duration::from_millis(40)), fake_trainer()),
        Arc::clone(&setup.wake),
    ))
}

fn harness(
    build: fn(&mut ViewSetup) -> Box<dyn View>,
    settings: &TrainingSettings,
) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(Lang::En),
        view: TrainingView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(TrainingView::KEY, settings);
    let entries = [ViewEntry {
        key: TrainingView::KEY,
        build,
    }];
    window::window([1500.0, 1000.0], move |ctx| {
        DiffuscopeApp::with_views(
            ctx,
            settings.clone(),
            Box::new(fake_model::FakeLoader::new(28, 1000)),
            &entries,
        )
    })
}

fn training(app: &DiffuscopeApp) -> &TrainingView {
    app.view().unwrap_or_else(|| panic!("no Training view"))
}

/// A few levels on few digits, so a measurement takes a moment unoptimised.
fn small_curves() -> TrainingSettings {
    TrainingSettings {
        levels: 4,
        curve_digits: 20,
        ..TrainingSettings::default()
    }
}

#[test]
fn a_step_is_taken_apart_and_next_step_draws_another() {
    let mut harness = harness(quick, &TrainingSettings::default());
    harness.run_steps(1);
    run_until(&mut harness, |app| training(app).step.is_some());
    harness.run_steps(1);
    let (model, step) = training(app(&harness)).step.clone().unwrap();
    assert_eq!((model.as_str(), step.choice.digit), ("digits-eps", 9_000));
    assert_eq!(step.level.timestep, Some(100), "fraction 0.1 of T = 1000");
    // The fake answers 0.5·x_t + …: the loss is the mean of the squared errors shown.
    let mean = step
        .squared_error
        .iter()
        .map(|&e| f64::from(e))
        .sum::<f64>()
        / 784.0;
    assert!((step.loss - mean).abs() < 1e-9 && step.loss > 0.0);
    harness.get(by().label_contains("x0 ~ data: digit no. 9000"));
    harness.get(by().label_contains("t ~ U{1, …, T}: t = 100"));
    harness.get(by().label_contains("loss = mean (ε_θ − ε)²"));
    harness.get_by_label("squared error");
    assert_eq!(training(app(&harness)).pictures(Lang::En).len(), 6);

    harness.key_press(Key::N);
    harness.run_steps(1);
    run_until(&mut harness, |app| {
        training(app)
            .step
            .as_ref()
            .is_some_and(|(_, s)| s.choice.digit != 9_000 || s.choice.noise_seed != 1)
    });
    let view = training(app(&harness));
    let drawn = view.step.as_ref().unwrap().1.choice;
    assert_eq!(view.settings.choice(), drawn);
    assert_eq!(view.settings.draws, 1);
    // The recipe is being lit line by line: the loss line is not shown yet.
    harness.run_steps(1);
    assert!(harness.query(by().label_contains("loss = mean")).is_none());
}

#[test]
fn the_arrows_move_t_and_each_objective_has_its_own_recipe() {
    let settings = TrainingSettings {
        model: "digits-flow".into(),
        fraction: 0.5,
        ..TrainingSettings::default()
    };
    let mut harness = harness(quick, &settings);
    harness.run_steps(1);
    run_until(&mut harness, |app| training(app).step.is_some());
    harness.run_steps(1);
    harness.get(by().label_contains("σ ~ U[0, 1]: σ = 0.500"));
    harness.get(by().label_contains("x_σ = (1−σ)·x0 + σ·ε = 0.500·x0"));
    harness.key_press(Key::ArrowRight);
    harness.run_steps(1);
    run_until(&mut harness, |app| {
        training(app)
            .step
            .as_ref()
            .is_some_and(|(_, s)| (s.level.fraction - 0.51).abs() < 1e-9)
    });
    app_mut(&mut harness)
        .view_mut::<TrainingView>()
        .unwrap()
        .settings
        .model = "digits-v".into();
    run_until(&mut harness, |app| {
        training(app)
            .step
            .as_ref()
            .is_some_and(|(m, _)| m == "digits-v")
    });
    harness.run_steps(1);
    harness.get(by().label_contains("v = √ᾱ_t·ε − √(1−ᾱ_t)·x0"));
}

#[test]
fn measure_draws_a_curve_per_model_and_keeps_them() {
    let mut harness = harness(quick, &small_curves());
    harness.run_steps(1);
    harness.get_by_label("Measure (M)").click();
    harness.run_steps(1);
    run_until(&mut harness, |app| !training(app).is_measuring());
    let view = training(app(&harness));
    assert!(view.message.is_none());
    for model in CURVE_MODELS {
        let curve = view.curve(model).unwrap();
        assert_eq!(curve.len(), 4, "{model}");
        assert!(
            curve
                .iter()
                .all(|l| l.loss.is_finite() && l.x0_error >= 0.0)
        );
        // Level k of 4 lies (k/4)² of the way to pure noise.
        assert!((curve[1].level.fraction - 0.25).abs() < 1e-12);
    }
    harness.run_steps(2);
    harness.get_by_label("Training loss: mean (output − target)²");
    // The two charts, and the live run's loss (empty until a run).
    assert_eq!(training(app(&harness)).figures(Lang::En).len(), 3);
    harness.key_press(Key::M);
    harness.run_steps(1);
    let view = training(app(&harness));
    assert!(!view.is_measuring());
    assert_eq!(
        view.message.as_ref().unwrap().sentence(Lang::En),
        "Every curve is measured already."
    );
}

#[test]
fn esc_cancels_a_measurement_and_keeps_no_partial_curve() {
    let settings = TrainingSettings {
        levels: 60,
        curve_digits: 500,
        ..TrainingSettings::default()
    };
    let mut harness = harness(slow, &settings);
    harness.run_steps(1);
    harness.key_press(Key::M);
    run_until(&mut harness, |app| {
        training(app).progress().is_some_and(|(done, _)| done > 0)
    });
    let (_, total) = training(app(&harness)).progress().unwrap();
    assert_eq!(total, 180, "three models of 60 levels");
    harness.key_press(Key::Escape);
    run_until(&mut harness, |app| !training(app).is_measuring());
    let view = training(app(&harness));
    assert!(view.curves.is_empty());
}

#[test]
fn a_model_that_does_not_open_is_one_sentence() {
    let settings = TrainingSettings {
        model: "digits-broken".into(),
        ..TrainingSettings::default()
    };
    let mut harness = harness(quick, &settings);
    harness.run_steps(1);
    run_until(&mut harness, |app| training(app).message.is_some());
    harness.run_steps(3);
    let view = training(app(&harness));
    assert!(
        view.step.is_none() && !view.is_stepping(),
        "not asked again"
    );
    assert_eq!(
        view.message.as_ref().unwrap().sentence(Lang::En),
        "The model is broken."
    );
}

/// The step the live run has reported.
fn live_step(app: &DiffuscopeApp) -> usize {
    training(app).live_news.last.map_or(0, |r| r.step)
}

#[test]
fn live_training_pauses_resumes_saves_and_stops() {
    let settings = TrainingSettings {
        section: TrainingSection::Live,
        live: LiveSettings {
            steps: 100_000,
            ..LiveSettings::default()
        },
        ..TrainingSettings::default()
    };
    let mut harness = harness(quick, &settings);
    harness.run_steps(1);
    harness.key_press(Key::T);
    run_until(&mut harness, |app| live_step(app) > 5);
    assert!(training(app(&harness)).is_training());
    harness.get(by().label_contains("training · step "));

    harness.key_press(Key::Space);
    run_until(&mut harness, |app| training(app).is_paused());
    std::thread::sleep(Duration::from_millis(100));
    harness.run_steps(1);
    let paused_at = live_step(app(&harness));
    std::thread::sleep(Duration::from_millis(200));
    harness.run_steps(1);
    assert_eq!(live_step(app(&harness)), paused_at, "no step while paused");

    // Saved while paused: the run answers between its waits.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.safetensors");
    let view = app_mut(&mut harness).view_mut::<TrainingView>().unwrap();
    view.ask(TrainingCommand::SaveLiveTo(path.clone()));
    harness.run_steps(1);
    run_until(&mut harness, |app| training(app).message.is_some());
    assert_eq!(std::fs::read(&path).unwrap(), b"fake");
    let sentence = training(app(&harness))
        .message
        .as_ref()
        .unwrap()
        .sentence(Lang::En)
        .to_owned();
    assert!(
        sentence.starts_with("Saved ") && sentence.contains("Reverse view"),
        "{sentence}"
    );

    harness.key_press(Key::Space);
    run_until(&mut harness, |app| live_step(app) > paused_at + 5);
    harness.key_press(Key::Escape);
    run_until(&mut harness, |app| !training(app).is_training());
    let view = training(app(&harness));
    assert!(view.live_news.grid.is_some() && !view.live_news.strip.is_empty());
    assert!(view.live_news.losses.len() < 100_000, "stopped early");
    assert_eq!(view.figures(Lang::En).len(), 3);

    // After the run, Save writes the weights it ended with.
    let after = dir.path().join("after.safetensors");
    let view = app_mut(&mut harness).view_mut::<TrainingView>().unwrap();
    view.ask(TrainingCommand::SaveLiveTo(after.clone()));
    harness.run_steps(1);
    run_until(&mut harness, |_| after.exists());
    assert_eq!(std::fs::read(&after).unwrap(), b"fake");
}

#[test]
fn a_live_run_that_finishes_keeps_its_last_grid_in_the_strip() {
    let settings = TrainingSettings {
        section: TrainingSection::Live,
        live: LiveSettings {
            steps: 30,
            ..LiveSettings::default()
        },
        ..TrainingSettings::default()
    };
    let mut harness = harness(quick, &settings);
    harness.run_steps(1);
    harness.get_by_label("Train (T)").click();
    harness.run_steps(1);
    run_until(&mut harness, |app| {
        live_step(app) == 30 && !training(app).is_training()
    });
    harness.run_steps(2);
    let news = &training(app(&harness)).live_news;
    assert_eq!(news.grid.as_ref().map(|(step, _)| *step), Some(30));
    assert_eq!(news.strip.first().map(|(step, _)| *step), Some(1));
    assert_eq!(news.losses.len(), 30);
    harness.get_by_label("step 30");
    harness.get_by_label("Samples over training");
    // A run that took all its steps says so (it used to say "stopped", as a stopped run does).
    harness.get_by_label_contains("finished · step 30 of 30");
}

#[test]
fn a_saved_model_opens_in_the_reverse_view() {
    use diffuscope::ui::reverse::ReverseView;
    use diffuscope::worker::ModelSource;
    let settings = AppSettings {
        lang: Some(Lang::En),
        view: TrainingView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(
        TrainingView::KEY,
        &TrainingSettings {
            section: TrainingSection::Live,
            live: LiveSettings {
                steps: 40,
                ..LiveSettings::default()
            },
            ..TrainingSettings::default()
        },
    );
    let entries = [
        ViewEntry {
            key: TrainingView::KEY,
            build: quick,
        },
        ViewEntry {
            key: ReverseView::KEY,
            build: |setup| Box::new(ReverseView::from_setup(setup)),
        },
    ];
    let mut harness = window::window([1500.0, 1000.0], move |ctx| {
        DiffuscopeApp::with_views(
            ctx,
            settings.clone(),
            Box::new(fake_model::FakeLoader::new(28, 1000)),
            &entries,
        )
    });
    harness.run_steps(1);
    harness.key_press(Key::T);
    run_until(&mut harness, |app| {
        live_step(app) == 40 && !training(app).is_training()
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.safetensors");
    let view = app_mut(&mut harness).view_mut::<TrainingView>().unwrap();
    view.ask(TrainingCommand::SaveLiveTo(path.clone()));
    harness.run_steps(1);
    run_until(&mut harness, |app| training(app).saved_model.is_some());
    harness.run_steps(1);
    harness.get_by_label("Open it in the Reverse view").click();
    harness.run_steps(2);
    let app = app(&harness);
    assert_eq!(app.shown_view(), ReverseView::KEY);
    let state = &app.reverse().state;
    let asked = ModelSource::File(path);
    assert!(
        state.loading_model.as_ref() == Some(&asked)
            || state.model.as_ref().is_some_and(|m| m.source == asked),
        "the Reverse view opens the saved file"
    );
}

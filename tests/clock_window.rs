//! The Clock view, driven headlessly through egui_kittest with fake networks and the bundled
//! digits: the heat map and the similarity tables are drawn with t marked and the arrows move t;
//! a network's clock is measured once and kept, a network not told t says so; a noisy digit is
//! shown at an early, a middle and a late t to both models with their errors, N shows another;
//! a model that is missing is one sentence.
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use diffuscope::clock::sinusoid_similarities;
use diffuscope::diffusion::objectives::Objective;
use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use diffuscope::i18n::Lang;
use diffuscope::model::{DiTConfig, DigitDiT, Positions};
use diffuscope::quality::session::ModelOpener;
use diffuscope::sample::{Denoiser, ModelTraits};
use diffuscope::ui::clock::coordinates::TransformerOpener;
use diffuscope::ui::clock::watch::{ClockPick, WatchState};
use diffuscope::ui::clock::{
    BLIND_MODEL, ClockCommand, ClockOpener, ClockSection, ClockSettings, ClockView, TOLD_MODEL,
};
use diffuscope::ui::training::Sentences;
use diffuscope::ui::{AppSettings, DiffuscopeApp, View, ViewEntry, ViewSetup};
use eframe::egui::{self, Key};
use egui_kittest::Harness;
use egui_kittest::kittest::{Queryable, by};
use fake_model::FakeNetwork;
use window::{App, app, app_mut, gif_frames, run_until};

/// How many clocks the fake measured, over every test (each test counts its own model).
static MEASURED: AtomicUsize = AtomicUsize::new(0);

/// "digits-eps": a 64-long sinusoid's own similarities; "digits-blind": not told t; any other
/// name does not open.
fn clock_opener() -> ClockOpener {
    Arc::new(|name: &str| match name {
        "digits-eps" => {
            MEASURED.fetch_add(1, Ordering::SeqCst);
            Ok(Some((sinusoid_similarities(64, 1000, 100), 64)))
        }
        "digits-blind" => Ok(None),
        _ => Err(Sentences::new(
            format!("No model named {name}."),
            format!("没有名为 {name} 的模型。"),
        )),
    })
}

/// Fake ε-networks of 28×28 digits for the two transformers; `missing` does not open.
fn model_opener(missing: Option<&'static str>) -> ModelOpener {
    Arc::new(move |name: &str| {
        if Some(name) == missing || ![TOLD_MODEL, BLIND_MODEL].contains(&name) {
            return Err((format!("No model named {name}."), "没有这个模型。".into()));
        }
        let network = FakeNetwork {
            side: 28,
            channels: 1,
            calls: Arc::new(AtomicUsize::new(0)),
            panic_on_call: None,
            delay: Duration::ZERO,
        };
        let traits = ModelTraits {
            objective: Objective::Eps,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        };
        Ok((Box::new(network) as Box<dyn Denoiser + Send + Sync>, traits))
    })
}

/// Small random transformers (16 values, 2 heads, 2 blocks): positions "…-rope" 2D RoPE,
/// "…-none" none, else learned; "digits-broken" does not open.
fn transformer_opener() -> TransformerOpener {
    Arc::new(|name: &str| {
        if name == "digits-broken" {
            return Err(Sentences::new("The model is broken.", "模型已损坏。"));
        }
        let positions = match name.rsplit('-').next() {
            Some("rope") => Positions::Rope,
            Some("none") => Positions::None,
            _ => Positions::Learned,
        };
        let config = DiTConfig {
            dim: 16,
            depth: 2,
            heads: 2,
            sinusoid_dim: 8,
            positions,
            ..DiTConfig::default()
        };
        let varmap = VarMap::new();
        DigitDiT::new(
            &config,
            VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
        )
        .map_err(|e| Sentences::new(e.to_string(), e.to_string()))?;
        let tensors = varmap
            .data()
            .lock()
            .map_err(|e| Sentences::new(e.to_string(), e.to_string()))?
            .iter()
            .map(|(name, var)| {
                let noise = Tensor::randn(0f32, 0.5, var.dims(), &Device::Cpu);
                (
                    name.clone(),
                    noise.and_then(|n| n + var.as_tensor().detach()),
                )
            })
            .map(|(name, t)| t.map(|t| (name, t)))
            .collect::<Result<HashMap<_, _>, _>>()
            .map_err(|e| Sentences::new(e.to_string(), e.to_string()))?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let net =
            DigitDiT::new(&config, vb).map_err(|e| Sentences::new(e.to_string(), e.to_string()))?;
        let traits = ModelTraits {
            objective: Objective::Eps,
            schedule: NoiseSchedule::new(ScheduleConfig::new(ScheduleKind::Linear, 1000)),
        };
        Ok((Arc::new(net), traits))
    })
}

fn complete(setup: &mut ViewSetup) -> Box<dyn View> {
    let settings = setup.settings_of(ClockView::KEY);
    Box::new(ClockView::new(
        settings,
        (clock_opener(), model_opener(None)),
        transformer_opener(),
        Arc::clone(&setup.wake),
    ))
}

fn without_blind(setup: &mut ViewSetup) -> Box<dyn View> {
    let settings = setup.settings_of(ClockView::KEY);
    Box::new(ClockView::new(
        settings,
        (clock_opener(), model_opener(Some(BLIND_MODEL))),
        transformer_opener(),
        Arc::clone(&setup.wake),
    ))
}

fn harness(
    build: fn(&mut ViewSetup) -> Box<dyn View>,
    settings: &ClockSettings,
) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(Lang::En),
        view: ClockView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(ClockView::KEY, settings);
    let entries = [ViewEntry {
        key: ClockView::KEY,
        build,
    }];
    window::window([1500.0, 1100.0], move |ctx| {
        DiffuscopeApp::with_views(
            ctx,
            settings.clone(),
            Box::new(fake_model::FakeLoader::new(28, 1000)),
            &entries,
        )
    })
}

fn clock(app: &DiffuscopeApp) -> &ClockView {
    app.view().unwrap_or_else(|| panic!("no Clock view"))
}

/// The run watched in the Clock view, once one was started.
fn watched(app: &DiffuscopeApp) -> Option<&WatchState> {
    clock(app).coordinates.watch.as_ref()
}

#[test]
fn the_clock_is_measured_once_and_the_arrows_move_t() {
    let settings = ClockSettings {
        fraction: 0.3,
        ..ClockSettings::default()
    };
    let mut harness = harness(complete, &settings);
    harness.run_steps(1);
    run_until(&mut harness, |app| {
        clock(app).clock().is_some() && clock(app).comparison.is_some()
    });
    harness.run_steps(1);
    let view = clock(app(&harness));
    assert_eq!(view.sinusoid_dim(), 64, "the network's sinusoid is drawn");
    let Some(Some((table, 64))) = view.clock() else {
        panic!("digits-eps is told t");
    };
    assert_eq!((table.rows, table.columns), (100, 100));
    harness.get(by().label("t = 300"));
    harness.get(by().label_contains("digits-eps: after its time MLP"));
    harness.key_press(Key::ArrowRight);
    harness.key_press(Key::ArrowRight);
    harness.run_steps(1);
    assert_eq!(clock(app(&harness)).settings.timestep(), 320);
    harness.get(by().label("t = 320"));
    harness.run_steps(3);
    let measured = MEASURED.load(Ordering::SeqCst);
    harness.run_steps(3);
    assert_eq!(
        MEASURED.load(Ordering::SeqCst),
        measured,
        "a clock is measured once"
    );
    // Slides: the heat map, both tables and 3 levels × 5 pictures.
    assert_eq!(clock(app(&harness)).pictures(Lang::En).len(), 3 + 15);
}

#[test]
fn a_network_not_told_t_says_so() {
    let settings = ClockSettings {
        model: "digits-blind".into(),
        ..ClockSettings::default()
    };
    let mut harness = harness(complete, &settings);
    harness.run_steps(1);
    run_until(&mut harness, |app| clock(app).clock().is_some());
    harness.run_steps(1);
    harness.get(by().label("This network is not told t."));
    assert_eq!(
        clock(app(&harness)).sinusoid_dim(),
        32,
        "the UNet's length until one is known"
    );
}

#[test]
fn a_digit_is_shown_to_both_models_at_three_noise_levels_and_n_shows_another() {
    let mut harness = harness(complete, &ClockSettings::default());
    harness.run_steps(1);
    run_until(&mut harness, |app| clock(app).comparison.is_some());
    harness.run_steps(1);
    let (key, levels) = clock(app(&harness)).comparison.clone().unwrap();
    assert_eq!(key, (9_001, 1));
    let timesteps: Vec<_> = levels.iter().map(|l| l.timestep).collect();
    assert_eq!(timesteps, [Some(20), Some(500), Some(900)]);
    for level in &levels {
        assert_eq!(level.x_t.len(), 784);
        assert!(level.told.x0_error.is_finite() && level.blind.eps_error >= 0.0);
    }
    harness.get(by().label("t = 900"));
    harness.get_by_label("its x0 · not told t");
    assert_eq!(harness.query_all(by().label_contains("error ")).count(), 12);

    harness.key_press(Key::N);
    harness.run_steps(1);
    run_until(&mut harness, |app| {
        clock(app)
            .comparison
            .as_ref()
            .is_some_and(|(k, _)| *k != (9_001, 1))
    });
    let view = clock(app(&harness));
    let (key, _) = view.comparison.as_ref().unwrap();
    assert_eq!(*key, (view.settings.digit, view.settings.noise_seed));
}

#[test]
fn a_missing_model_is_one_sentence_and_not_asked_again() {
    let mut harness = harness(without_blind, &ClockSettings::default());
    harness.run_steps(1);
    run_until(&mut harness, |app| {
        clock(app).message.is_some() && clock(app).clock().is_some()
    });
    harness.run_steps(2);
    harness.get(by().label_contains("No model named digits-dit-blind."));
    assert!(clock(app(&harness)).comparison.is_none());
    assert!(
        !clock(app(&harness)).is_busy(),
        "the failed comparison is not retried"
    );
}

#[test]
fn the_coordinates_show_where_a_clicked_patch_looks_and_how_alike_positions_are() {
    let settings = ClockSettings {
        section: ClockSection::Coordinates,
        transformer: "digits-dit-rope".into(),
        ..ClockSettings::default()
    };
    let mut harness = harness(complete, &settings);
    harness.run_steps(1);
    run_until(&mut harness, |app| clock(app).coordinates.found().is_some());
    harness.run_steps(1);
    let found = clock(app(&harness)).coordinates.found().unwrap().clone();
    assert_eq!(
        (found.maps.grid, found.maps.heads, found.maps.blocks.len()),
        (7, 2, 2)
    );
    assert_eq!(found.maps.timestep, Some(500));
    let positions = &found.positions;
    assert_eq!(positions.own, Positions::Rope);
    assert_eq!((positions.rope.rows, positions.rope.columns), (49, 49));
    let learned = positions.learned.as_ref().unwrap();
    assert_eq!((learned.rows, learned.columns), (49, 49));
    harness.get(by().label_contains("Where patch (3, 3) · block 1 · t = 500"));
    harness.get(by().label("How alike its position is to every other"));
    // Both kinds side by side: RoPE is this model's, the learned table digits-dit's.
    harness.get(by().label("2D RoPE · this model's"));
    harness.get(by().label("learned · digits-dit"));
    // A click on the top-left patch of x_t chooses it.
    let picture = harness
        .get(by().label("x_t in 7 × 7 patches (click one)"))
        .rect();
    let corner = picture.left_bottom() + egui::vec2(10.0, 14.0);
    harness.hover_at(corner);
    for pressed in [true, false] {
        harness.event(egui::Event::PointerButton {
            pos: corner,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        harness.run_steps(1);
    }
    harness.run_steps(2);
    assert_eq!(clock(app(&harness)).settings.patch, 0);
    harness.get(by().label_contains("Where patch (0, 0)"));
}

#[test]
fn a_transformer_without_positions_says_it_cannot_place_strokes() {
    let settings = ClockSettings {
        section: ClockSection::Coordinates,
        transformer: "digits-dit-none".into(),
        ..ClockSettings::default()
    };
    let mut harness = harness(complete, &settings);
    harness.run_steps(1);
    run_until(&mut harness, |app| clock(app).coordinates.found().is_some());
    harness.run_steps(1);
    let found = clock(app(&harness)).coordinates.found().unwrap().clone();
    assert_eq!(found.positions.own, Positions::None);
    assert!(
        found.positions.learned.is_some(),
        "digits-dit's, for comparison"
    );
    harness.get(by().label_contains("This model has no positions"));
    harness.get(by().label("2D RoPE · the formula"));
}

#[test]
fn a_run_streams_its_attention_step_by_step_and_exports_as_a_gif_and_a_png() {
    let settings = ClockSettings {
        section: ClockSection::Coordinates,
        transformer: "digits-dit-rope".into(),
        run_class: 3,
        run_steps: 12,
        ..ClockSettings::default()
    };
    let mut harness = harness(complete, &settings);
    harness.run_steps(1);
    harness.get(by().label("A run, step by step")).click();
    harness.run_steps(1);
    harness.get(by().label_contains("Press Make a digit"));
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        watched(app).is_some_and(|w| !w.is_running())
    });
    harness.run_steps(2);
    let watch = watched(app(&harness)).unwrap();
    assert_eq!(watch.frames.len(), 12);
    assert_eq!(watch.shown, 11, "the newest step is followed");
    assert_eq!(watch.made.as_ref().map(Vec::len), Some(784));
    assert!(watch.positions.is_some(), "RoPE's position similarities");
    let times: Vec<usize> = watch
        .frames
        .iter()
        .filter_map(|f| f.maps.timestep)
        .collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]), "{times:?}");
    harness.get(by().label_contains("digits-dit-rope · step 12/12 · Where patch (3, 3)"));
    // ← goes back a step and stops following; the heading follows.
    harness.key_press(Key::ArrowLeft);
    harness.run_steps(1);
    let watch = watched(app(&harness)).unwrap();
    assert_eq!((watch.shown, watch.follow), (10, false));
    harness.get(by().label_contains("step 11/12"));
    // Space plays the steps back from the one shown to the last, then again from the first.
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| {
        watched(app).is_some_and(|w| !w.is_playing())
    });
    assert_eq!(watched(app(&harness)).unwrap().shown, 11);
    harness.key_press(Key::Space);
    harness.run_steps(1);
    let watch = watched(app(&harness)).unwrap();
    assert!(watch.is_playing());
    assert!(watch.shown < 11, "from the first step again");
    harness.key_press(Key::Space);
    harness.run_steps(1);
    assert!(!watched(app(&harness)).unwrap().is_playing(), "paused");
    let folder = tempfile::tempdir().unwrap();
    let gif = folder.path().join("attention.gif");
    let view: &mut ClockView = app_mut(&mut harness).view_mut().unwrap();
    view.export(ClockPick::ExportGif, gif.clone(), Lang::En);
    run_until(&mut harness, |app| !clock(app).is_exporting());
    let message = clock(app(&harness)).message.clone().unwrap();
    assert!(message.sentence(Lang::En).contains("attention.gif"));
    let frames = gif_frames(&gif);
    assert_eq!(frames.len(), 12);
    let png = folder.path().join("attention.png");
    let view: &mut ClockView = app_mut(&mut harness).view_mut().unwrap();
    view.export(ClockPick::SavePng, png.clone(), Lang::En);
    run_until(&mut harness, |app| !clock(app).is_exporting());
    let still = image::open(&png).unwrap().to_rgb8();
    assert_eq!(still.dimensions(), frames[10].buffer().dimensions());
    // For slides, the step shown is one of the view's pictures, as exported.
    let pictures = View::pictures(clock(app(&harness)), Lang::En);
    let (_, step) = pictures
        .iter()
        .find(|(name, _)| name.starts_with("where a patch looks: step"))
        .unwrap();
    assert_eq!(step.dimensions(), still.dimensions());
}

#[test]
fn a_run_can_be_stopped_and_an_empty_one_does_not_export() {
    let settings = ClockSettings {
        section: ClockSection::Coordinates,
        watch: true,
        transformer: "digits-dit-rope".into(),
        run_steps: 250,
        ..ClockSettings::default()
    };
    let mut harness = harness(complete, &settings);
    harness.run_steps(1);
    let view: &mut ClockView = app_mut(&mut harness).view_mut().unwrap();
    view.ask(ClockCommand::ExportGif);
    harness.run_steps(1);
    let message = clock(app(&harness)).message.clone().unwrap();
    assert!(message.sentence(Lang::En).contains("no run to export"));
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        watched(app).is_some_and(|w| !w.frames.is_empty())
    });
    harness.key_press(Key::Escape);
    run_until(&mut harness, |app| !clock(app).is_busy());
    let watch = watched(app(&harness)).unwrap();
    assert!(
        watch.frames.len() < 250,
        "stopped after {} steps",
        watch.frames.len()
    );
    assert!(watch.made.is_none(), "a stopped run makes no digit");
}

//! The Playground view driven headlessly through egui_kittest: Train starts a model learning on a
//! thread of its own and the window receives snapshots (loss, steps, sampled paths) as it learns;
//! Space stops it and the model is kept; drawing on the plane adds points, and training an empty
//! drawing says so in one sentence; the three models train side by side; ε and flow paths share
//! their noise, and Reflow trains on the flow model's own pairs; a traced sample is captioned.
#[path = "common/dropped_file.rs"]
mod dropped_file;
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use diffuscope::diffusion::objectives::Objective;
use diffuscope::i18n::Lang;
use diffuscope::toy::ToyKind;
use diffuscope::toy::measure::straightness;
use diffuscope::ui::playground::{
    DataChoice, PlaygroundMode, PlaygroundPick, PlaygroundSettings, PlaygroundView,
};
use diffuscope::ui::{AppSettings, DiffuscopeApp, View, ViewEntry, ViewSetup};
use eframe::egui::{Key, Pos2, vec2};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use window::{App, app, app_mut, run_until};

fn build(setup: &mut ViewSetup) -> Box<dyn View> {
    Box::new(PlaygroundView::from_setup(setup))
}

fn harness(settings: &PlaygroundSettings) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(Lang::En),
        view: PlaygroundView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(PlaygroundView::KEY, settings);
    let entries = [ViewEntry {
        key: PlaygroundView::KEY,
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

fn playground(app: &DiffuscopeApp) -> &PlaygroundView {
    app.view().unwrap_or_else(|| panic!("no Playground view"))
}

#[test]
fn train_streams_snapshots_and_space_stops_keeping_the_model() {
    let settings = PlaygroundSettings {
        count: 500,
        samples: 100,
        sample_steps: 10,
        ..PlaygroundSettings::default()
    };
    let mut harness = harness(&settings);
    harness.run_steps(1);
    harness.get_by_label("▶ Train (Space)").click();
    harness.run_steps(1);
    assert!(playground(app(&harness)).is_training());
    // Two snapshots: the model has been sampled while it learns.
    run_until(&mut harness, |app| {
        playground(app).diffusion().revision >= 2
    });
    let shown = playground(app(&harness)).diffusion();
    assert!(shown.steps > 0 && !shown.losses.is_empty());
    // x_T, then one frame per sampler step, then the samples; 100 points each.
    assert_eq!(shown.paths.len(), 11);
    assert!(shown.paths.iter().all(|points| points.len() == 100));
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| !playground(app).is_training());
    let view = playground(app(&harness));
    let (steps, revision) = (view.diffusion().steps, view.diffusion().revision);
    assert!(view.diffusion().model.is_some(), "Stop keeps the model");
    assert!(view.message.is_none());
    for _ in 0..20 {
        harness.step();
    }
    let view = playground(app(&harness));
    assert_eq!(
        (view.diffusion().steps, view.diffusion().revision),
        (steps, revision),
        "stopped means stopped"
    );
    assert!(harness.query_by_label("▶ Train (Space)").is_some());
}

#[test]
fn drawing_adds_points_and_an_empty_drawing_is_refused_in_a_sentence() {
    let settings = PlaygroundSettings {
        data: DataChoice::Drawn,
        ..PlaygroundSettings::default()
    };
    let mut harness = harness(&settings);
    harness.run_steps(1);
    harness.get_by_label("▶ Train (Space)").click();
    harness.run_steps(2);
    let view = playground(app(&harness));
    assert!(!view.is_training());
    let sentence = view
        .message
        .as_ref()
        .map(|m| m.sentence(Lang::En).to_owned());
    assert!(
        sentence
            .as_deref()
            .is_some_and(|s| s.starts_with("Draw some points")),
        "{sentence:?}"
    );
    // Hold the button down on the middle of the plane and move.
    let centre = Pos2::new(700.0, 420.0);
    harness.hover_at(centre);
    harness.drag_at(centre);
    for dx in 0..10 {
        harness.hover_at(centre + vec2(dx as f32 * 5.0, 0.0));
        harness.step();
    }
    harness.drop_at(centre);
    harness.step();
    let drawn = playground(app(&harness)).settings.drawn.len();
    assert!(drawn >= 10, "{drawn} points drawn");
    harness.get_by_label("Clear").click();
    harness.run_steps(1);
    assert!(playground(app(&harness)).settings.drawn.is_empty());
}

#[test]
fn the_three_models_train_side_by_side_and_stop_together() {
    let settings = PlaygroundSettings {
        data: DataChoice::Shape(diffuscope::toy::Shape::EightGaussians),
        mode: PlaygroundMode::Models,
        count: 400,
        samples: 200,
        sample_steps: 5,
        ..PlaygroundSettings::default()
    };
    let mut harness = harness(&settings);
    harness.run_steps(1);
    harness.get_by_label("▶ Train (Space)").click();
    run_until(&mut harness, |app| {
        let view = playground(app);
        view.lanes.len() == 3 && view.lanes.iter().all(|lane| lane.shown.figures.is_some())
    });
    let view = playground(app(&harness));
    for lane in &view.lanes {
        let figures = lane
            .shown
            .figures
            .as_ref()
            .unwrap_or_else(|| panic!("{:?}", lane.kind));
        let coverage = figures.coverage.as_ref().map(|c| c.shares.len());
        assert_eq!(
            coverage,
            Some(8),
            "{:?}: the eight modes are counted",
            lane.kind
        );
        let calls = if lane.kind == ToyKind::Diffusion {
            5
        } else {
            1
        };
        assert_eq!(figures.calls, calls, "{:?}", lane.kind);
        assert_eq!(lane.shown.realness.is_some(), lane.kind == ToyKind::Gan);
    }
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| !playground(app).is_training());
}

#[test]
fn points_open_by_dropping_save_as_csv_and_the_animation_exports_as_gif() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let csv = dir.path().join("mine.csv");
    std::fs::write(&csv, "x,y\n0,0\n1,1\n2,0.5\n-1,2\n").unwrap_or_else(|e| panic!("{e}"));
    let settings = PlaygroundSettings {
        samples: 100,
        sample_steps: 8,
        ..PlaygroundSettings::default()
    };
    let mut harness = harness(&settings);
    harness.run_steps(1);
    harness
        .input_mut()
        .dropped_files
        .push(dropped_file::dropped(csv.clone()));
    run_until(&mut harness, |app| {
        playground(app).settings.drawn.len() == 4
    });
    assert_eq!(playground(app(&harness)).settings.data, DataChoice::Drawn);
    let saved = dir.path().join("saved.csv");
    app_mut(&mut harness)
        .view_mut::<PlaygroundView>()
        .unwrap_or_else(|| panic!("no Playground view"))
        .use_file(PlaygroundPick::SavePoints, saved.clone());
    run_until(&mut harness, |app| !playground(app).is_busy_with_a_file());
    let back = diffuscope::toy::points_file::read_points(&saved).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, vec![[0.0, 0.0], [1.0, 1.0], [2.0, 0.5], [-1.0, 2.0]]);
    // Train a little, stop, and export.
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| {
        playground(app).diffusion().revision >= 1
    });
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| !playground(app).is_training());
    let gif = dir.path().join("playground.gif");
    app_mut(&mut harness)
        .view_mut::<PlaygroundView>()
        .unwrap_or_else(|| panic!("no Playground view"))
        .use_file(PlaygroundPick::ExportGif, gif.clone());
    run_until(&mut harness, |app| !playground(app).is_busy_with_a_file());
    let sentence = playground(app(&harness))
        .message
        .as_ref()
        .map(|m| m.sentence(Lang::En).to_owned());
    assert!(
        sentence.as_deref().is_some_and(|s| s.contains("25 frames")),
        "{sentence:?}"
    );
    let file = std::fs::File::open(&gif).unwrap_or_else(|e| panic!("{e}"));
    let mut decoder = gif::DecodeOptions::new()
        .read_info(file)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut frames = 0;
    while decoder
        .read_next_frame()
        .unwrap_or_else(|e| panic!("{e}"))
        .is_some()
    {
        frames += 1;
    }
    // 16 forward frames, then x_T and one per sampler step.
    assert_eq!(frames, 16 + 9);
}

/// A window in the Paths tab whose ε and flow models (500 points, `sample_steps` sampler
/// steps) have each published `revisions` snapshots, still training.
fn paths_trained(sample_steps: usize, revisions: u64) -> Harness<'static, App> {
    let settings = PlaygroundSettings {
        mode: PlaygroundMode::Paths,
        count: 500,
        samples: 100,
        sample_steps,
        ..PlaygroundSettings::default()
    };
    let mut harness = harness(&settings);
    harness.run_steps(1);
    harness.get_by_label("▶ Train (Space)").click();
    run_until(&mut harness, |app| {
        let view = playground(app);
        view.lanes.len() == 2
            && view
                .lanes
                .iter()
                .all(|lane| lane.shown.revision >= revisions)
    });
    harness
}

#[test]
fn the_paths_of_eps_and_flow_start_from_the_same_noise_and_ddpm_wanders_most() {
    let mut harness = paths_trained(20, 3);
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| !playground(app).is_training());
    let view = playground(app(&harness));
    let (eps, flow) = (&view.lanes[0], &view.lanes[1]);
    assert_eq!(
        (eps.objective, flow.objective),
        (Objective::Eps, Objective::Flow)
    );
    let ancestral = eps
        .shown
        .ancestral
        .as_ref()
        .unwrap_or_else(|| panic!("no DDPM paths"));
    assert!(flow.shown.ancestral.is_none());
    // The same starting noise for every sampler.
    assert_eq!(ancestral[0][..24], eps.shown.paths[0][..24]);
    assert_eq!(eps.shown.paths[0], flow.shown.paths[0]);
    let ddpm = straightness(ancestral, 24);
    for (name, paths) in [("DDIM", &eps.shown.paths), ("flow", &flow.shown.paths)] {
        let smooth = straightness(paths, 24);
        assert!(smooth < ddpm, "{name} {smooth} against DDPM {ddpm}");
    }
    assert_eq!(
        harness.query_all_by_label_contains("path length").count(),
        3
    );
}

#[test]
fn reflow_trains_on_the_flow_models_own_pairs_from_the_same_noise() {
    let mut harness = paths_trained(10, 2);
    harness.get_by_label("Reflow the flow model").click();
    run_until(&mut harness, |app| {
        playground(app)
            .lanes
            .iter()
            .any(|lane| lane.reflowed && lane.shown.revision >= 3)
    });
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| !playground(app).is_training());
    let view = playground(app(&harness));
    assert!(view.message.is_none(), "{:?}", view.message);
    assert_eq!(view.lanes.len(), 3);
    let flow = &view.lanes[1].shown;
    let reflowed = &view.lanes[2];
    assert_eq!(
        (reflowed.kind, reflowed.objective),
        (ToyKind::Diffusion, Objective::Flow)
    );
    // The same starting noise as the others, and a one-big-step figure for each.
    assert_eq!(reflowed.shown.paths[0], flow.paths[0]);
    assert!(
        reflowed
            .shown
            .figures
            .as_ref()
            .is_some_and(|f| f.one_step_error.is_some())
    );
    assert_eq!(
        harness.query_all_by_label_contains("path length").count(),
        4
    );
    assert!(
        harness
            .query_by_label_contains("reflow · Euler 10: path length")
            .is_some()
    );
}

#[test]
fn a_traced_sample_is_captioned_and_the_mesh_is_carried_with_the_samples() {
    let mut settings = PlaygroundSettings {
        count: 500,
        samples: 100,
        sample_steps: 10,
        ..PlaygroundSettings::default()
    };
    settings.layers.mesh = true;
    settings.layers.density = true;
    let mut harness = harness(&settings);
    harness.run_steps(1);
    assert!(
        harness
            .query_by_label("a grid in the noise, carried along")
            .is_some()
    );
    harness.get_by_label("▶ Train (Space)").click();
    run_until(&mut harness, |app| {
        playground(app).diffusion().revision >= 2
    });
    harness.key_press(Key::Space);
    run_until(&mut harness, |app| !playground(app).is_training());
    let shown = playground(app(&harness)).diffusion();
    let mesh = shown.mesh.as_ref().unwrap_or_else(|| panic!("no mesh"));
    assert_eq!(mesh.len(), shown.paths.len());
    assert!(
        harness
            .query_by_label("Click a sample to trace its whole path.")
            .is_some()
    );
    if let Some(view) = app_mut(&mut harness).view_mut::<PlaygroundView>() {
        view.traced = Some(3);
    }
    harness.run_steps(2);
    assert!(
        harness.query_by_label_contains("Traced: path").is_some(),
        "the traced sample's caption"
    );
}

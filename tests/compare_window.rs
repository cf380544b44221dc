//! The Compare view, driven headlessly through egui_kittest with fake models (no files, no GPU):
//! a race's lanes advance in lockstep by network calls, the scrubber and its keys move the one
//! clock, Esc stops the race, the race exports as a GIF decoded back, and the view speaks Chinese.
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use std::time::Duration;

use diffuscope::i18n::Lang;
use diffuscope::sample::ImageShape;
use diffuscope::ui::compare::CompareView;
use diffuscope::ui::compare::state::{CompareSettings, LaneStatus};
use diffuscope::ui::{AppSettings, DiffuscopeApp, VIEWS, View};
use eframe::egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use fake_model::FakeLoader;
use window::{App, app, app_mut, gif_frames, run_until};

/// A window with the Compare view alone (so it gets the fake loader), racing `preset`, each
/// network call taking `delay`.
fn harness(lang: Lang, preset: usize, delay: Duration) -> Harness<'static, App> {
    harness_with(lang, preset, move || FakeLoader::new(28, 1000).slow(delay))
}

/// [`harness`] with models from the loader `loader` makes.
fn harness_with(
    lang: Lang,
    preset: usize,
    loader: impl Fn() -> FakeLoader + 'static,
) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(lang),
        view: CompareView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(
        CompareView::KEY,
        &CompareSettings {
            preset,
            ..CompareSettings::default()
        },
    );
    let entries: Vec<_> = VIEWS
        .into_iter()
        .filter(|entry| entry.key == CompareView::KEY)
        .collect();
    window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::with_views(ctx, settings.clone(), Box::new(loader()), &entries)
    })
}

/// Where lane `lane` of the race stands (Loading before any race).
fn lane_status(app: &DiffuscopeApp, lane: usize) -> LaneStatus {
    app.compare()
        .state
        .race
        .as_ref()
        .map_or(LaneStatus::Loading, |race| race.lanes[lane].status.clone())
}

/// Colour models race too: every lane finishes with colour images of the models' size.
#[test]
fn colour_models_race_to_the_finish() {
    let mut harness = harness_with(Lang::En, 0, || FakeLoader::new(10, 100).in_colour());
    harness.run_steps(1);
    harness.get_by_label("Race (G)").click();
    run_until(&mut harness, |app| {
        (0..4).all(|lane| lane_status(app, lane) == LaneStatus::Finished)
    });
    harness.run_steps(2);
    let race = app(&harness).compare().state.race.clone().unwrap();
    assert_eq!(race.image_shape(), ImageShape::rgb(10, 10));
    let samples = race.settings.samples();
    for lane in &race.lanes {
        assert_eq!(lane.trace.finished.len(), samples * 3 * 10 * 10);
    }
}

/// A lane whose model makes images of another size than the first model's does not race: it
/// says why, and the others run.
#[test]
fn a_lane_of_another_image_size_is_refused_by_name() {
    // ε · v · flow: the v model alone makes colour images.
    let mut harness = harness_with(Lang::En, 1, || {
        FakeLoader::new(28, 1000).in_colour_for("digits-v")
    });
    harness.run_steps(1);
    harness.get_by_label("Race (G)").click();
    run_until(&mut harness, |app| {
        lane_status(app, 0) == LaneStatus::Finished
    });
    let LaneStatus::Failed(why, _) = lane_status(app(&harness), 1) else {
        panic!("the colour lane raced: {:?}", lane_status(app(&harness), 1));
    };
    assert_eq!(
        why,
        "This model makes 28×28 RGB images; the race's first model makes 28×28."
    );
}

#[test]
fn lanes_advance_in_lockstep_by_network_calls_and_esc_stops_the_race() {
    // DDPM 1000 · DDIM 50 · DPM-Solver++ 20 · Euler 20, each call 2 ms.
    let mut harness = harness(Lang::En, 0, Duration::from_millis(2));
    harness.run_steps(1);
    harness.get_by_label("Race (G)").click();
    run_until(&mut harness, |app| {
        lane_status(app, 2) == LaneStatus::Finished
    });
    let race = app(&harness).compare().state.race.clone().unwrap();
    // The worker gives each run one call per turn: when the 20-call lanes are done, DDPM has
    // made about as many (a few more while the window looked), nowhere near its 1000.
    assert!(race.lanes[0].calls < 60, "DDPM at {}", race.lanes[0].calls);
    assert_eq!(race.lanes[2].trace.network_calls, 20);
    run_until(&mut harness, |app| {
        lane_status(app, 1) == LaneStatus::Finished
    });
    harness.key_press(Key::Escape);
    run_until(&mut harness, |app| {
        lane_status(app, 0) == LaneStatus::Cancelled
    });
    let race = app(&harness).compare().state.race.clone().unwrap();
    assert_eq!(race.lanes[1].trace.network_calls, 50);
    let ddpm = race.lanes[0].calls;
    assert!(ddpm < 1000, "Esc stopped DDPM at {ddpm}");
    assert_eq!(race.lanes[3].status, LaneStatus::Finished);

    // The one clock: it follows the race, and the keys move it a call (Shift: ten) at a time.
    let clock = app(&harness).compare().state.clock;
    assert_eq!(clock, race.live_clock());
    harness.key_press(Key::Home);
    for _ in 0..3 {
        harness.key_press(Key::ArrowLeft);
    }
    harness.run_steps(1);
    assert_eq!(app(&harness).compare().state.clock, clock - 3);
    assert!(!app(&harness).compare().state.follow);
    app_mut(&mut harness).compare_mut().state.clock = 5;
    harness.key_press_modifiers(Modifiers::SHIFT, Key::ArrowRight);
    harness.run_steps(1);
    assert_eq!(app(&harness).compare().state.clock, 15);
    // At 15 calls the 20-call lanes still run; at 20 they show their finished pictures.
    assert_eq!(harness.query_all_by_label_contains("NFE 15").count(), 4);
    app_mut(&mut harness).compare_mut().state.clock = 20;
    harness.run_steps(2);
    assert!(
        harness
            .query_all_by_label_contains("done · 20 calls")
            .count()
            >= 2
    );
}

#[test]
fn the_race_exports_as_a_gif_of_the_lanes_side_by_side() {
    // Guidance 0 · 1 · 3 · 7, DDIM 50 each.
    let mut harness = harness(Lang::En, 2, Duration::ZERO);
    harness.run_steps(1);
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        (0..4).all(|lane| lane_status(app, lane) == LaneStatus::Finished)
    });
    let race = app(&harness).compare().state.race.clone().unwrap();
    let guidance: Vec<Option<f32>> = race.lanes.iter().map(|l| l.spec.guidance).collect();
    assert_eq!(guidance, [Some(0.0), Some(1.0), Some(3.0), Some(7.0)]);
    // For slides: the race as one picture, and the distance chart with a curve per lane.
    let compare = app(&harness).compare();
    assert_eq!(View::pictures(compare, Lang::En).len(), 1);
    let figures = View::figures(compare, Lang::En);
    assert_eq!(figures.len(), 1);
    assert_eq!(figures[0].curves.len(), 4);
    let folder = tempfile::tempdir().unwrap();
    let gif = folder.path().join("race.gif");
    app_mut(&mut harness).compare_mut().export_gif(gif.clone());
    run_until(&mut harness, |app| !app.compare().is_exporting());
    let sentence = app(&harness)
        .compare()
        .message
        .clone()
        .unwrap()
        .sentence(Lang::En)
        .to_owned();
    assert!(sentence.contains("race.gif"), "{sentence}");
    let frames = gif_frames(&gif);
    assert_eq!(frames.len(), race.clock_values().len());
    // Four lanes of a 2×2 grid of 28-pixel digits (2-pixel gaps) enlarged 3 times, 8 pixels
    // apart; two caption lines under each, one under all.
    let first = frames[0].buffer();
    assert_eq!(first.width(), 4 * 58 * 3 + 3 * 8);
    assert!(first.height() > 58 * 3 + 2 * 22);
    let png = folder.path().join("race.png");
    app_mut(&mut harness).compare_mut().save_png(png.clone());
    run_until(&mut harness, |app| !app.compare().is_exporting());
    assert_eq!(image::open(&png).unwrap().width(), first.width());
}

#[test]
fn the_class_votes_with_1_and_2_and_the_tally_counts_each_lane() {
    let mut harness = harness(Lang::En, 2, Duration::ZERO);
    harness.run_steps(1);
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        (0..4).all(|lane| lane_status(app, lane) == LaneStatus::Finished)
    });
    harness.run_steps(2);
    harness.get_by_label_contains("The vote: which picture is better?");
    // Six pairs of four lanes; the left picture wins the first three, the right the next three.
    for key in [
        Key::Num1,
        Key::Num1,
        Key::Num1,
        Key::Num2,
        Key::Num2,
        Key::Num2,
    ] {
        harness.key_press(key);
        harness.run_steps(1);
    }
    let vote = &app(&harness).compare().state.vote;
    assert_eq!(vote.round, 6);
    let shown: usize = vote.tally.values().map(|&(_, shown)| shown).sum();
    let wins: usize = vote.tally.values().map(|&(wins, _)| wins).sum();
    assert_eq!((wins, shown), (6, 12));
    // w 0 was on the left of pairs 1–3 and won them all.
    assert_eq!(vote.tally["DDIM 50 · w 0"], (3, 3));
    harness.get_by_label("win rate");
}

#[test]
fn the_view_speaks_chinese() {
    let mut harness = harness(Lang::Zh, 2, Duration::ZERO);
    harness.run_steps(1);
    harness.get_by_label("开始比赛 (G)").click();
    run_until(&mut harness, |app| {
        (0..4).all(|lane| lane_status(app, lane) == LaneStatus::Finished)
    });
    harness.run_steps(2);
    harness.get_by_label("这是什么？");
    harness.get_by_label_contains("离完成还有多远");
}

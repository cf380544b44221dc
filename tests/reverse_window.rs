//! The Reverse view, driven headlessly through egui_kittest with a fake model (no files, no GPU):
//! Generate streams frames into the timeline, the keys scrub recorded steps, Esc cancels, a GIF and
//! a PNG are exported, and the view speaks Chinese.
#[path = "common/dropped_file.rs"]
mod dropped_file;
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use std::time::Duration;

use diffuscope::diffusion::samplers::{
    DdimStep, DiffusersOptions, SamplerKind, SamplerSpec, Spacing,
};
use diffuscope::i18n::Lang;
use diffuscope::sample::ImageShape;
use diffuscope::ui::reverse::ReverseView;
use diffuscope::ui::reverse::state::{ReverseSettings, RunStatus};
use diffuscope::ui::{AppSettings, DiffuscopeApp, View};
use diffuscope::worker::ModelSource;
use eframe::egui::Key;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use fake_model::FakeLoader;
use window::{App, app, gif_frames, run_until};

fn harness(lang: Lang, steps: usize, delay: Duration) -> Harness<'static, App> {
    harness_with(lang, steps, move || FakeLoader::new(28, 1000).slow(delay))
}

/// The window on the Reverse view with models from the loader `loader` makes, `steps` steps, a
/// 2×2 grid.
fn harness_with(
    lang: Lang,
    steps: usize,
    loader: impl Fn() -> FakeLoader + 'static,
) -> Harness<'static, App> {
    let settings = AppSettings {
        lang: Some(lang),
        view: ReverseView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(
        ReverseView::KEY,
        &ReverseSettings {
            steps,
            grid_side: 2,
            ..ReverseSettings::default()
        },
    );
    // Wide enough for the seven tabs on one line, so the left panel keeps its height.
    window::window([1800.0, 900.0], move |ctx| {
        DiffuscopeApp::with_loader(ctx, settings.clone(), Box::new(loader()))
    })
}

/// The model is loaded and the real digits shown beside a sample have been read: when they arrive
/// (later on a slow machine) a row of panels appears and moves the timeline 240 pixels down, and a
/// click aimed at where a widget was would miss it.
fn model_loaded(app: &DiffuscopeApp) -> bool {
    app.reverse().state.model.is_some() && app.reverse().state.examples_settled()
}

#[test]
fn generate_streams_every_step_and_the_keys_scrub_them() {
    let mut harness = harness(Lang::En, 20, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    harness.get_by_label("Generate (G)").click();
    run_until(&mut harness, |app| {
        matches!(app.reverse().state.status, RunStatus::Finished { .. })
    });
    let state = &app(&harness).reverse().state;
    let record = state.record.as_ref().unwrap();
    assert_eq!(record.frames.len(), 20);
    assert_eq!(record.batch(), 4);
    assert!(record.samples.is_some());
    assert!(state.first_frame_latency.unwrap() < Duration::from_secs(1));
    // 20 steps + the finished images; the view shows the last.
    assert_eq!(state.timeline_len(), 21);
    assert_eq!(state.shown_index(), Some(20));
    harness.run_steps(2);
    harness.get_by_label("guess of x0: the finished picture");
    harness.get_by_label("guess of ε: the noise it sees");
    harness.get_by_label("ε guessed with the digit");
    // For slides: the grid, then the chosen sample's three panels at one pixel per value.
    let pictures = View::pictures(app(&harness).reverse(), Lang::En);
    let sizes: Vec<(u32, u32)> = pictures.iter().map(|(_, p)| p.dimensions()).collect();
    assert_eq!(sizes.len(), 4, "{sizes:?}");
    assert_eq!(sizes[1..], [(28, 28); 3]);

    harness.key_press(Key::Home);
    harness.run_steps(1);
    assert_eq!(app(&harness).reverse().state.shown_index(), Some(0));
    harness.key_press(Key::ArrowRight);
    harness.key_press(Key::ArrowRight);
    harness.run_steps(1);
    assert_eq!(app(&harness).reverse().state.shown_index(), Some(2));
    harness.key_press(Key::End);
    harness.run_steps(1);
    assert_eq!(app(&harness).reverse().state.shown_index(), Some(20));
    assert!(app(&harness).frame_times.count() > 0);
}

#[test]
fn escape_cancels_a_run_before_it_ends() {
    let mut harness = harness(Lang::En, 500, Duration::from_millis(5));
    run_until(&mut harness, model_loaded);
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        app.reverse()
            .state
            .record
            .as_ref()
            .is_some_and(|r| r.frames.len() >= 3)
    });
    // The runs list says the run on screen is running, then where it stopped.
    harness.run_steps(1);
    harness.get_by_label_contains("running: step");
    harness.key_press(Key::Escape);
    run_until(&mut harness, |app| {
        matches!(app.reverse().state.status, RunStatus::Cancelled { .. })
    });
    harness.run_steps(1);
    harness.get_by_label_contains("stopped at step");
    assert!(harness.query_by_label_contains("running: step").is_none());
    let record = app(&harness).reverse().state.record.as_ref().unwrap();
    assert!(record.frames.len() < 500 && record.samples.is_none());
    // The recorded steps can still be scrubbed.
    harness.key_press(Key::Home);
    harness.run_steps(1);
    assert_eq!(app(&harness).reverse().state.shown_index(), Some(0));
}

#[test]
fn the_run_exports_as_a_gif_and_a_png() {
    let mut harness = harness(Lang::En, 12, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        matches!(app.reverse().state.status, RunStatus::Finished { .. })
    });
    let folder = tempfile::tempdir().unwrap();
    let gif = folder.path().join("run.gif");
    let reverse = harness.state_mut().as_mut().unwrap().reverse_mut();
    reverse.state.settings.gif_stride = 3;
    reverse.export_gif(gif.clone());
    run_until(&mut harness, |app| !app.reverse().is_exporting());
    let message = app(&harness).reverse().message.clone().unwrap();
    let sentence = message.sentence(Lang::En);
    assert!(sentence.contains("run.gif"), "{sentence}");
    // Stride 3 of 12 steps: steps 1, 4, 7, 10, the 12th, then the finished images.
    let frames = gif_frames(&gif);
    assert_eq!(frames.len(), 6);
    let picture = saved_png(&mut harness, &folder.path().join("grid.png"));
    // A 2×2 grid of 28-pixel digits with a 2-pixel gap, enlarged 8 times.
    assert_eq!((picture.width(), picture.height()), (58 * 8, 58 * 8));
}

/// A colour model (a diffusers RGB pipeline's) runs in the view: every step is drawn, and the
/// saved grid keeps its colours.
#[test]
fn a_colour_model_runs_and_its_grid_is_saved_in_colour() {
    let mut harness = harness_with(Lang::En, 5, || FakeLoader::new(12, 1000).in_colour());
    run_until(&mut harness, model_loaded);
    finish_a_run(&mut harness);
    // Back to the first step and forward again: x_t, x̂0 and ε̂ of colour images are drawn.
    harness.key_press(Key::Home);
    for _ in 0..5 {
        harness.key_press(Key::ArrowRight);
        harness.run_steps(1);
    }
    harness.get_by_label("Colour images: the signed panels show the mean of the three channels.");
    harness.get_by_label_contains("12×12 RGB");
    let record = app(&harness).reverse().state.record.clone().unwrap();
    assert_eq!(record.image_shape, ImageShape::rgb(12, 12));
    assert_eq!(record.samples.map(|s| s.len()), Some(4 * 3 * 12 * 12));
    let folder = tempfile::tempdir().unwrap();
    let picture = saved_png(&mut harness, &folder.path().join("colour.png")).to_rgb8();
    let coloured = picture
        .pixels()
        .filter(|p| p[0] != p[1] || p[1] != p[2])
        .count();
    assert!(coloured > picture.len() / 10, "{coloured} coloured pixels");
}

#[test]
fn the_view_speaks_chinese() {
    let mut harness = harness(Lang::Zh, 5, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    harness.get_by_label("生成 (G)").click();
    run_until(&mut harness, |app| {
        matches!(app.reverse().state.status, RunStatus::Finished { .. })
    });
    harness.run_steps(2);
    harness.get_by_label("x0 的猜测：最终的图像");
    harness.get_by_label("这是什么？");
}

/// The value the slider labelled `label` shows.
fn slider_value(harness: &Harness<'static, App>, label: &str) -> f64 {
    use eframe::egui::accesskit::Role;
    use egui_kittest::kittest::NodeT as _;
    harness
        .get_by_role_and_label(Role::Slider, label)
        .accesskit_node()
        .numeric_value()
        .unwrap_or_else(|| panic!("the slider “{label}” has no value"))
}

#[test]
fn the_stride_slider_shows_the_stride_the_gif_uses() {
    use eframe::egui::accesskit::Role;
    // 1000 steps: a GIF of at most 120 frames takes every 9th step, whatever the stored choice.
    let mut harness = harness(Lang::En, 1000, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        matches!(app.reverse().state.status, RunStatus::Finished { .. })
    });
    harness.get_by_label("Export").click();
    harness.run_steps(2);
    harness.get_by_label_contains("one every 9 steps");
    assert_eq!(slider_value(&harness, "Every n-th step"), 9.0);

    // A wider stride chosen by the user is shown and used.
    harness
        .get_by_role_and_label(Role::Slider, "Every n-th step")
        .set_value_accesskit(20.0);
    harness.run_steps(2);
    assert_eq!(slider_value(&harness, "Every n-th step"), 20.0);
    harness.get_by_label_contains("one every 20 steps");
    assert_eq!(app(&harness).reverse().state.settings.gif_stride, 20);
}

#[test]
fn a_size_limit_keeps_the_gif_small_and_says_what_it_chose() {
    let mut harness = harness(Lang::En, 30, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    harness.key_press(Key::G);
    run_until(&mut harness, |app| {
        matches!(app.reverse().state.status, RunStatus::Finished { .. })
    });
    // The Export section shows the expected size once it is worked out.
    harness.get_by_label("Export").click();
    for _ in 0..500 {
        harness.step();
        if harness.query_by_label_contains("≈").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    harness.get_by_label_contains("≈");

    let folder = tempfile::tempdir().unwrap();
    let full = folder.path().join("full.gif");
    let export = |harness: &mut Harness<'static, App>, path: &std::path::Path| {
        let reverse = harness.state_mut().as_mut().unwrap().reverse_mut();
        reverse.export_gif(path.to_path_buf());
        // Writing takes a while in a debug build; wait up to a minute.
        for _ in 0..6000 {
            harness.step();
            if !app(harness).reverse().is_exporting() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        app(harness)
            .reverse()
            .message
            .as_ref()
            .unwrap()
            .sentence(Lang::En)
            .to_owned()
    };
    export(&mut harness, &full);
    let full_bytes = std::fs::metadata(&full).unwrap().len();

    let limit = full_bytes / 3;
    let settings = &mut harness
        .state_mut()
        .as_mut()
        .unwrap()
        .reverse_mut()
        .state
        .settings;
    settings.gif_limit_size = true;
    settings.gif_max_mb = limit as f32 / 1e6;
    let small = folder.path().join("small.gif");
    let sentence = export(&mut harness, &small);
    let bytes = std::fs::metadata(&small).unwrap().len();
    assert!(
        bytes <= limit,
        "{bytes} bytes for a limit of {limit}: {sentence}"
    );
    assert!(sentence.contains("to stay under"), "{sentence}");
    let frames = gif_frames(&small);
    assert!(
        sentence.contains(&format!("({} frames,", frames.len())),
        "{} frames: {sentence}",
        frames.len()
    );
}

/// The view's grid saved as a PNG at `path` (as Save PNG… does), read back.
fn saved_png(harness: &mut Harness<'static, App>, path: &std::path::Path) -> image::DynamicImage {
    if let Some(app) = harness.state_mut().as_mut() {
        app.reverse_mut().save_png(path.to_owned());
    }
    run_until(harness, |app| !app.reverse().is_exporting());
    image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn finish_a_run(harness: &mut Harness<'static, App>) {
    harness.key_press(Key::G);
    run_until(harness, |app| {
        matches!(app.reverse().state.status, RunStatus::Finished { .. })
    });
}

fn wait_for_run_file(harness: &mut Harness<'static, App>) {
    run_until(harness, |app| !app.reverse().is_busy_with_run_file());
    harness.run_steps(2);
}

#[test]
fn generate_keeps_the_previous_run_and_a_click_brings_it_back() {
    let mut harness = harness(Lang::En, 8, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    finish_a_run(&mut harness);
    let first = app(&harness).reverse().state.record.clone().unwrap();
    harness.get_by_label("New seed").click();
    harness.run_steps(1);
    finish_a_run(&mut harness);
    harness.run_steps(2);
    let state = &app(&harness).reverse().state;
    assert_eq!(state.history.runs().len(), 1);
    assert_eq!(state.history.runs()[0].number, 1);
    assert_eq!(state.shown_run, 2);
    assert_ne!(state.record.as_ref().unwrap().samples, first.samples);

    // The list names each run with its settings; clicking the first shows it again.
    harness.get_by_label_contains("run 2 · digits-eps");
    harness.get_by_label_contains("seed 1 · ");
    harness.get_by_label_contains("run 1 · digits-eps").click();
    harness.run_steps(2);
    let state = &app(&harness).reverse().state;
    assert_eq!(state.shown_run, 1);
    assert_eq!(state.record.as_ref().unwrap(), &first);
    assert!(matches!(state.status, RunStatus::Finished { .. }));
    assert_eq!(
        state.history.runs()[0].number,
        2,
        "the other run is kept in its place"
    );
    assert_eq!(state.shown_index(), Some(8), "the finished images");

    // "Use its settings" sets the controls back to what run 1 was made with.
    assert_eq!(state.settings.seed, 2);
    harness.get_by_label("Use its settings").click();
    harness.run_steps(1);
    assert_eq!(app(&harness).reverse().state.settings.seed, 1);
}

#[test]
fn a_saved_run_opens_again_and_a_damaged_file_says_so() {
    let mut harness = harness(Lang::En, 6, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    finish_a_run(&mut harness);
    let made = app(&harness).reverse().state.record.clone().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("lesson.dsrun");
    let reverse = harness.state_mut().as_mut().unwrap().reverse_mut();
    reverse.save_run(path.clone());
    wait_for_run_file(&mut harness);
    let message = app(&harness).reverse().message.clone().unwrap();
    assert!(message.sentence(Lang::En).contains("lesson.dsrun"));
    assert!(message.sentence(Lang::Zh).contains("lesson.dsrun"));

    let reverse = harness.state_mut().as_mut().unwrap().reverse_mut();
    reverse.open_run(path.clone());
    wait_for_run_file(&mut harness);
    let state = &app(&harness).reverse().state;
    let mut opened = state.record.clone().unwrap();
    assert_eq!(opened.opened_from.as_deref(), Some("lesson.dsrun"));
    opened.opened_from = None;
    assert_eq!(opened, made);
    assert_eq!(state.shown_run, 2);
    assert_eq!(state.history.runs()[0].number, 1);
    harness.get_by_label_contains("run 2 (lesson.dsrun)");

    // A cut file: nothing changes but the banner, in either language.
    let bytes = std::fs::read(&path).unwrap();
    let cut = folder.path().join("cut.dsrun");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let reverse = harness.state_mut().as_mut().unwrap().reverse_mut();
    reverse.open_run(cut);
    wait_for_run_file(&mut harness);
    let reverse = app(&harness).reverse();
    assert_eq!(reverse.state.shown_run, 2);
    let message = reverse.message.clone().unwrap();
    assert!(
        message.sentence(Lang::En).contains("damaged"),
        "{message:?}"
    );
    assert!(message.sentence(Lang::Zh).contains("已损坏"), "{message:?}");
    assert!(message.details.is_some());
}

#[test]
fn runs_beyond_the_memory_budget_are_let_go_and_named() {
    let mut harness = harness(Lang::En, 10, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    finish_a_run(&mut harness);
    // Room for a little more than two runs of this size.
    let one_run = diffuscope::ui::reverse::history::run_bytes(
        app(&harness).reverse().state.record.as_ref().unwrap(),
    );
    harness
        .state_mut()
        .as_mut()
        .unwrap()
        .reverse_mut()
        .state
        .history = diffuscope::ui::reverse::history::RunHistory::with_budget(one_run * 5 / 2);
    finish_a_run(&mut harness);
    harness.run_steps(1);
    assert_eq!(app(&harness).reverse().state.history.runs().len(), 1);
    assert!(app(&harness).reverse().message.is_none());
    finish_a_run(&mut harness);
    harness.run_steps(2);
    let reverse = app(&harness).reverse();
    let kept: Vec<u64> = reverse
        .state
        .history
        .runs()
        .iter()
        .map(|r| r.number)
        .collect();
    assert_eq!(kept, [2], "run 1 was let go");
    let message = reverse.message.clone().unwrap();
    assert!(
        message.sentence(Lang::En).contains("run 1 (DDIM"),
        "{message:?}"
    );
    assert!(message.sentence(Lang::Zh).contains("运行 1"), "{message:?}");
}

#[test]
fn reset_to_defaults_restores_every_choice_and_the_model() {
    let mut harness = harness(Lang::En, 7, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    let reverse = harness.state_mut().as_mut().unwrap().reverse_mut();
    reverse.load_model(ModelSource::Shipped("digits-v".into()));
    let settings = &mut reverse.state.settings;
    settings.seed = 42;
    settings.digit = None;
    settings.replay_speed = 4.0;
    settings.gif_fps = 3.0;
    run_until(&mut harness, |app| {
        app.reverse().state.loading_model.is_none()
            && app.reverse().state.model.as_ref().unwrap().source.label() == "digits-v"
    });
    harness.get_by_label("Reset to defaults").click();
    run_until(&mut harness, |app| {
        app.reverse().state.loading_model.is_none()
            && app.reverse().state.model.as_ref().unwrap().source.label() == "digits-eps"
    });
    assert_eq!(
        app(&harness).reverse().state.settings,
        ReverseSettings::default()
    );
}

#[test]
fn replay_speed_is_chosen_beside_the_timeline_in_both_languages() {
    for (lang, speed_label, words) in [
        (
            Lang::En,
            "Speed",
            ["Save run…", "Open run…", "Reset to defaults"],
        ),
        (Lang::Zh, "速度", ["保存运行…", "打开运行…", "恢复默认设置"]),
    ] {
        let mut harness = harness(lang, 5, Duration::ZERO);
        run_until(&mut harness, model_loaded);
        finish_a_run(&mut harness);
        harness.run_steps(2);
        for word in words {
            harness.get_by_label(word);
        }
        harness.get_by_label(speed_label).click();
        harness.run_steps(2);
        harness.get_by_label("2×").click();
        harness.run_steps(2);
        assert_eq!(app(&harness).reverse().state.settings.replay_speed, 2.0);
    }
}

/// Both export buttons stay inside the controls panel (290 pixels wide) in both languages; side by
/// side, "Save PNG… (Ctrl+S)" was cut off at its right edge.
#[test]
fn the_export_buttons_fit_the_controls_panel() {
    for (lang, section, labels) in [
        (
            Lang::En,
            "Export",
            ["Export GIF… (Ctrl+E)", "Save PNG… (Ctrl+S)"],
        ),
        (
            Lang::Zh,
            "导出",
            ["导出 GIF… (Ctrl+E)", "保存 PNG… (Ctrl+S)"],
        ),
    ] {
        let mut harness = harness(lang, 3, Duration::ZERO);
        run_until(&mut harness, model_loaded);
        harness.get_by_label(section).click();
        harness.run_steps(2);
        for label in labels {
            let right = harness.get_by_label(label).rect().right();
            assert!(
                right <= 290.0,
                "{label} ends at x = {right}, past the panel"
            );
        }
    }
}

fn drop_file(harness: &mut Harness<'static, App>, path: &str) {
    harness
        .input_mut()
        .dropped_files
        .push(dropped_file::dropped(path));
    harness.run_steps(2);
}

/// Files dropped while the Reverse view is shown go to it: a model file is loaded, anything else
/// gets a sentence naming it, and the Forward view (not on screen) is left alone.
#[test]
fn dropped_files_go_to_the_reverse_view_on_screen() {
    let mut harness = harness(Lang::En, 5, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    let photo = app(&harness).forward().state.source.clone();

    drop_file(&mut harness, "/nonexistent/lesson.txt");
    harness.get_by_label_contains("view cannot open “lesson.txt”.");
    assert_eq!(app(&harness).forward().state.source, photo);
    assert!(app(&harness).forward().message.is_none());

    // A model file is loaded (the fake loader takes any file).
    drop_file(&mut harness, "/nonexistent/other.safetensors");
    let dropped = ModelSource::File("/nonexistent/other.safetensors".into());
    run_until(&mut harness, |app| {
        app.reverse().state.model.as_ref().map(|m| &m.source) == Some(&dropped)
    });
    assert_eq!(app(&harness).forward().state.source, photo);

    // So is a folder: a diffusers pipeline folder, whatever its name.
    let folder = tempfile::tempdir().unwrap();
    drop_file(&mut harness, folder.path().to_str().unwrap());
    let dropped = ModelSource::File(folder.path().to_owned());
    run_until(&mut harness, |app| {
        app.reverse().state.model.as_ref().map(|m| &m.source) == Some(&dropped)
    });
}

/// A model that comes with its own scheduler (a diffusers pipeline folder's) is run with it,
/// stepped as diffusers does, with the steps chosen in the view.
#[test]
fn a_model_with_its_own_scheduler_runs_with_it() {
    let own = SamplerSpec {
        spacing: Spacing::Leading,
        diffusers: DiffusersOptions {
            steps_offset: 1,
            ddim_step: DdimStep::Diffusers,
            set_alpha_to_one: false,
            ..DiffusersOptions::default()
        },
        ..SamplerSpec::new(SamplerKind::Ddim, 50)
    };
    let settings = AppSettings {
        lang: Some(Lang::En),
        view: ReverseView::KEY.to_owned(),
        ..AppSettings::default()
    }
    .with_view_settings(
        ReverseView::KEY,
        &ReverseSettings {
            steps: 6,
            grid_side: 2,
            ..ReverseSettings::default()
        },
    );
    let mut harness = window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::with_loader(
            ctx,
            settings.clone(),
            Box::new(FakeLoader::new(28, 1000).with_scheduler(own.clone())),
        )
    });
    run_until(&mut harness, model_loaded);
    let view_settings = &app(&harness).reverse().state.settings;
    assert_eq!(view_settings.sampler, "ddim");
    assert!(view_settings.diffusers_rule);
    harness.run_steps(1);
    harness.get_by_label(
        "The folder's scheduler: leading spacing, timesteps + 1, x̂0 clipped to ±1, ends at t = 1",
    );
    finish_a_run(&mut harness);
    let sampler = app(&harness)
        .reverse()
        .state
        .record
        .clone()
        .unwrap()
        .settings
        .sampler;
    assert_eq!(
        (sampler.kind, sampler.steps, sampler.spacing),
        (SamplerKind::Ddim, 6, Spacing::Leading)
    );
    assert_eq!(sampler.diffusers.steps_offset, 1);
    assert!(!sampler.diffusers.set_alpha_to_one);
}

#[test]
fn diffusers_step_rule_is_a_switch_and_the_run_says_so() {
    let mut harness = harness(Lang::En, 7, Duration::ZERO);
    run_until(&mut harness, model_loaded);
    harness.get_by_label("Step as diffusers does").click();
    harness.run_steps(1);
    assert!(
        harness
            .query_by_label_contains("diffusers steps ⌊T/n⌋ back")
            .is_some()
    );
    finish_a_run(&mut harness);
    let record = app(&harness).reverse().state.record.clone().unwrap();
    assert_eq!(
        record.settings.sampler.diffusers.ddim_step,
        DdimStep::Diffusers
    );
    assert!(
        record.describe().contains("(diffusers' rule)"),
        "{}",
        record.describe()
    );
    // By the formula's rule the same 7 steps of 1000 land elsewhere: other pictures.
    harness.get_by_label("Step as diffusers does").click();
    harness.run_steps(1);
    finish_a_run(&mut harness);
    let formula = app(&harness).reverse().state.record.clone().unwrap();
    assert_eq!(
        formula.settings.sampler.diffusers.ddim_step,
        DdimStep::NextListed
    );
    assert_ne!(formula.samples, record.samples);
}

//! The window, driven headlessly through egui_kittest: it opens on the cat, the slider and keys move
//! t and change x_t, the language switch relabels everything, and a bad file gives a sentence while
//! the previous photo stays.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/window.rs"]
mod window;

use diffuscope::data::bundled::BundledPhoto;
use diffuscope::i18n::Lang;
use diffuscope::render::GpuViews;
use diffuscope::ui::forward::ForwardView;
use diffuscope::ui::forward::state::{ForwardSettings, PictureSource};
use diffuscope::ui::{AppSettings, DiffuscopeApp, View};
use eframe::egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use window::{App, app, app_mut, run_until};

fn harness(settings: AppSettings) -> Harness<'static, App> {
    window::window([1280.0, 800.0], move |ctx| {
        DiffuscopeApp::new(ctx, settings.clone())
    })
}

fn english() -> AppSettings {
    AppSettings {
        lang: Some(Lang::En),
        ..AppSettings::default()
    }
}

fn x_t_bytes(harness: &mut Harness<'static, App>) -> Vec<u8> {
    app_mut(harness)
        .forward_mut()
        .state
        .x_t_image()
        .map(|image| image.rgb.clone())
        .unwrap_or_default()
}

#[test]
fn opens_on_the_cat_with_three_images() {
    let mut harness = harness(english());
    harness.run_steps(2);
    let state = &app(&harness).forward().state;
    assert_eq!(state.source, PictureSource::Bundled(BundledPhoto::Cat));
    assert_eq!((state.picture().width, state.picture().height), (451, 300));
    harness.get_by_label("x0: the clean image");
    harness.get_by_label("x_t: what the model sees at t");
    harness.get_by_label("ε: the noise");
    harness.get_by_label("What am I looking at?");
}

#[test]
fn the_slider_and_keys_move_t_and_change_the_image() {
    let mut harness = harness(english());
    harness.run_steps(2);
    let start_t = app(&harness).forward().state.t;
    let before = x_t_bytes(&mut harness);

    assert_eq!(start_t, 250, "opens at T/4");
    harness
        .get_by_role_and_label(Role::Slider, "Timestep t")
        .set_value_accesskit(800.0);
    harness.run_steps(2);
    assert_eq!(app(&harness).forward().state.t, 800);
    let after = x_t_bytes(&mut harness);
    assert_ne!(before, after, "x_t must change with t");
    assert!(
        harness
            .query_all_by_label_contains("t = 800 / 1000")
            .count()
            >= 1
    );

    harness.key_press(egui::Key::ArrowRight);
    harness.run_steps(1);
    assert_eq!(app(&harness).forward().state.t, 801);
    harness.key_press(egui::Key::Home);
    harness.run_steps(1);
    assert_eq!(app(&harness).forward().state.t, 0);
    assert_eq!(
        x_t_bytes(&mut harness),
        app(&harness).forward().state.picture().to_rgb8()
    );
    harness.key_press(egui::Key::End);
    harness.run_steps(1);
    assert_eq!(app(&harness).forward().state.t, 1000);
}

#[test]
fn switching_language_relabels_the_window() {
    let mut harness = harness(english());
    harness.run_steps(2);
    harness
        .get_by_role_and_label(Role::ComboBox, "Language")
        .click();
    harness.run_steps(2);
    harness.get_by_label("简体中文").click();
    harness.run_steps(2);
    assert_eq!(app(&harness).lang(), Lang::Zh);
    harness.get_by_label("x0：干净的图像");
    harness.get_by_label("我在看什么？");
    assert!(harness.query_by_label("x0: the clean image").is_none());
    assert_eq!(app(&harness).settings().lang, Some(Lang::Zh));
}

#[test]
fn a_bad_file_gives_a_sentence_and_keeps_the_photo() {
    let mut harness = harness(english());
    harness.run_steps(2);
    let before = app(&harness).forward().state.picture().clone();
    app_mut(&mut harness).forward_mut().open_bytes(
        "broken.png".into(),
        b"\x89PNG\r\n\x1a\nthis is not really a PNG".to_vec(),
    );
    run_until(&mut harness, |app| !app.forward().is_loading());
    harness.run_steps(1);
    let message = app(&harness)
        .forward()
        .message
        .clone()
        .expect("a bad file must give a message");
    harness.get_by_label(message.sentence(Lang::En));
    assert_eq!(
        app(&harness).forward().state.picture(),
        &before,
        "the previous photo stays"
    );
    assert_eq!(
        app(&harness).forward().state.source,
        PictureSource::Bundled(BundledPhoto::Cat)
    );
}

#[test]
fn walking_the_chain_fills_in_every_step() {
    let mut forward = ForwardSettings::default();
    forward.noising = diffuscope::diffusion::forward::Noising::Chain;
    forward.schedule.steps = 50;
    let mut harness = harness(english().with_view_settings(ForwardView::KEY, &forward));
    run_until(&mut harness, |app| {
        app.forward()
            .state
            .chain_progress()
            .is_some_and(|(done, total)| done == total)
    });
    app_mut(&mut harness).forward_mut().state.t = 50;
    harness.run_steps(1);
    let state = &mut app_mut(&mut harness).forward_mut().state;
    let expected = state.expected_noise_std();
    let image = state.x_t_image().expect("the walk has finished");
    assert_eq!(image.t, 50);
    // Walked noise has the spread the closed form promises (within sampling error).
    assert!(
        (image.noise_std / expected - 1.0).abs() < 0.05,
        "{} vs {expected}",
        image.noise_std
    );
}

#[test]
fn an_unwritable_export_folder_gives_a_sentence_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, "a file where a folder should be").unwrap();
    let mut harness = harness(english());
    harness.run_steps(2);
    app_mut(&mut harness)
        .forward_mut()
        .export_gif(blocker.join("forward.gif"));
    run_until(&mut harness, |app| !app.forward().is_exporting());
    harness.run_steps(1);
    let message = app(&harness)
        .forward()
        .message
        .clone()
        .expect("a failed export must give a message");
    assert_eq!(message.tone, diffuscope::ui::message::Tone::Error);
    assert!(
        message.sentence(Lang::En).contains("not-a-folder"),
        "{}",
        message.sentence(Lang::En)
    );
    harness.get_by_label(message.sentence(Lang::En));
    let left = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(left, 1, "nothing but the blocking file is left behind");
}

#[test]
fn exporting_from_the_window_writes_the_requested_gif() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forward.gif");
    let mut forward = ForwardSettings::default();
    forward.export.frames = 5;
    forward.export.width = 120;
    let mut harness = harness(english().with_view_settings(ForwardView::KEY, &forward));
    harness.run_steps(2);
    app_mut(&mut harness).forward_mut().export_gif(path.clone());
    run_until(&mut harness, |app| !app.forward().is_exporting());
    harness.run_steps(1);
    let file = std::fs::File::open(&path).unwrap();
    let mut decoder = gif::DecodeOptions::new().read_info(file).unwrap();
    assert_eq!(decoder.width(), 120);
    let mut frames = 0;
    while decoder.read_next_frame().unwrap().is_some() {
        frames += 1;
    }
    assert_eq!(frames, 5);
    harness.get_by_label_contains("forward.gif");
}

#[test]
fn a_shorter_schedule_keeps_t_in_range() {
    let mut harness = harness(english());
    harness.run_steps(2);
    app_mut(&mut harness).forward_mut().state.t = 900;
    app_mut(&mut harness)
        .forward_mut()
        .state
        .settings
        .schedule
        .steps = 100;
    harness.run_steps(2);
    let state = &app(&harness).forward().state;
    assert_eq!(state.schedule().steps(), 100);
    assert_eq!(state.t, 100);
}

#[test]
fn without_gpu_drawing_the_window_says_so_once_and_carries_on() {
    let mut harness = harness(english());
    harness.run_steps(1);
    app_mut(&mut harness).use_gpu_views(GpuViews::CpuTextures(None));
    harness.run_steps(2);
    let sentence = "Pictures are computed on the CPU (the window has no wgpu device).";
    harness.get_by_label(sentence);
    // The picture is still there, from CPU textures.
    assert!(!x_t_bytes(&mut harness).is_empty());
    assert!(app(&harness).forward().gpu_texture_limit.is_none());
    // Dismissed, it does not come back on later frames.
    harness.get_by_label("Dismiss").click();
    harness.run_steps(3);
    assert!(harness.query_by_label(sentence).is_none());
}

#[test]
fn gpu_views_describe_themselves_in_both_languages() {
    let shaders = GpuViews::Shaders {
        adapter: "llvmpipe (Vulkan)".to_owned(),
        max_texture_side: 8192,
        software: true,
    };
    assert_eq!(shaders.texture_limit(), Some(8192));
    assert!(shaders.describe_in(Lang::En).contains("llvmpipe (Vulkan)"));
    assert!(shaders.describe_in(Lang::Zh).contains("着色器"));
    let failed = GpuViews::CpuTextures(Some("bad shader".to_owned()));
    assert_eq!(failed.texture_limit(), None);
    assert!(failed.describe_in(Lang::En).contains("bad shader"));
    assert!(failed.describe_in(Lang::Zh).contains("CPU"));
}

#[test]
fn a_banner_follows_the_language() {
    let mut harness = harness(english());
    harness.run_steps(1);
    app_mut(&mut harness).use_gpu_views(GpuViews::CpuTextures(None));
    harness.run_steps(2);
    let english = GpuViews::CpuTextures(None).describe_in(Lang::En);
    let chinese = GpuViews::CpuTextures(None).describe_in(Lang::Zh);
    harness.get_by_label(&english);
    app_mut(&mut harness).set_lang(Lang::Zh);
    harness.run_steps(2);
    harness.get_by_label(&chinese);
    assert!(harness.query_by_label(&english).is_none());
}

#[test]
fn reset_to_defaults_restores_the_forward_settings() {
    let mut harness = harness(english());
    harness.run_steps(2);
    {
        let state = &mut app_mut(&mut harness).forward_mut().state;
        state.settings.seed = 7;
        state.settings.play_speed = 4.0;
        state.settings.schedule.steps = 100;
    }
    harness.run_steps(1);
    harness.get_by_label("Reset to defaults").click();
    harness.run_steps(2);
    let state = &app(&harness).forward().state;
    assert_eq!(state.settings.seed, 0);
    assert_eq!(state.settings.play_speed, 1.0);
    assert_eq!(state.schedule().steps(), 1000);
    assert_eq!(state.source, PictureSource::Bundled(BundledPhoto::Cat));
}

/// A `width × height` PNG of a smooth colour ramp, as bytes.
fn png_bytes(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
    });
    let mut bytes = Vec::new();
    picture
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

/// The width the export dialog shows.
fn dialog_width(harness: &Harness<'static, App>) -> Option<f64> {
    use egui_kittest::kittest::NodeT as _;
    harness
        .get_by_role_and_label(Role::SpinButton, "Width (pixels)")
        .accesskit_node()
        .numeric_value()
}

#[test]
fn the_export_width_follows_each_picture_until_the_user_chooses_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut forward = ForwardSettings::default();
    forward.export.frames = 3;
    let mut harness = harness(english().with_view_settings(ForwardView::KEY, &forward));
    harness.run_steps(2);
    // A wide photo first, with the dialog open.
    app_mut(&mut harness)
        .forward_mut()
        .open_bytes("wide.png".into(), png_bytes(900, 200));
    run_until(&mut harness, |app| !app.forward().is_loading());
    assert_eq!(app(&harness).forward().state.picture().width, 900);
    app_mut(&mut harness).forward_mut().open_export_dialog();
    harness.run_steps(2);
    assert_eq!(dialog_width(&harness), Some(900.0));

    // Then the cat: the dialog and the export follow it.
    app_mut(&mut harness)
        .forward_mut()
        .open_bundled(BundledPhoto::Cat);
    run_until(&mut harness, |app| {
        !app.forward().is_loading()
            && app.forward().state.source == PictureSource::Bundled(BundledPhoto::Cat)
    });
    harness.run_steps(2);
    assert_eq!(dialog_width(&harness), Some(451.0));
    assert_eq!(
        app(&harness).forward().state.settings.export.width,
        0,
        "showing the picture's width is not a choice that persists"
    );
    let path = dir.path().join("cat.gif");
    app_mut(&mut harness).forward_mut().export_gif(path.clone());
    run_until(&mut harness, |app| !app.forward().is_exporting());
    let file = std::fs::File::open(&path).unwrap();
    let decoder = gif::DecodeOptions::new().read_info(file).unwrap();
    assert_eq!(decoder.width(), 451, "the cat is exported at its own width");

    // A width the user types persists across pictures; "same as the picture" goes back.
    harness
        .get_by_role_and_label(Role::SpinButton, "Width (pixels)")
        .set_value_accesskit(300.0);
    harness.run_steps(2);
    assert_eq!(app(&harness).forward().state.settings.export.width, 300);
    app_mut(&mut harness)
        .forward_mut()
        .open_bytes("wide.png".into(), png_bytes(900, 200));
    run_until(&mut harness, |app| {
        !app.forward().is_loading() && app.forward().state.picture().width == 900
    });
    harness.run_steps(2);
    assert_eq!(dialog_width(&harness), Some(300.0));
    harness.get_by_label("Same as the picture").click();
    harness.run_steps(2);
    assert_eq!(app(&harness).forward().state.settings.export.width, 0);
    assert_eq!(dialog_width(&harness), Some(900.0));
}

#[test]
fn question_mark_shows_every_key_of_the_view_and_the_window() {
    let mut harness = harness(english());
    harness.run_steps(2);
    harness.key_press_modifiers(egui::Modifiers::SHIFT, egui::Key::Questionmark);
    harness.run_steps(2);
    harness.get_by_label("Keys — Forward: adding noise");
    harness.get_by_label("presentation mode");
    harness.get_by_label("previous / next slide of the lesson");
    for help in app(&harness).forward().keys(Lang::En) {
        assert!(
            harness.query_all_by_label(help.action).count() >= 1,
            "{} is listed",
            help.action
        );
    }
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(harness.query_by_label("presentation mode").is_none());
    harness.key_press(egui::Key::F1);
    harness.run_steps(2);
    harness.get_by_label("presentation mode");
}

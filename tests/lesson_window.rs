//! Lessons as files through egui_kittest: the whole state saved and opened again field for field
//! (a photo of the user's own embedded), a deck of slides stepped with PageDown / PageUp, a lesson
//! dropped on the window, and a broken or newer lesson giving one sentence while nothing changes.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/dropped_file.rs"]
mod dropped_file;
#[path = "common/fake_model.rs"]
mod fake_model;
#[path = "common/window.rs"]
mod window;

use std::path::Path;

use diffuscope::diffusion::schedule::ScheduleKind;
use diffuscope::i18n::Lang;
use diffuscope::ui::compare::CompareView;
use diffuscope::ui::evaluate::EvaluateView;
use diffuscope::ui::forward::ForwardView;
use diffuscope::ui::forward::state::PictureSource;
use diffuscope::ui::lesson::Lesson;
use diffuscope::ui::reverse::ReverseView;
use diffuscope::ui::{AppSettings, DiffuscopeApp};
use eframe::egui::Key;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use fake_model::FakeLoader;
use window::{App, app, app_mut, run_until};

fn harness() -> Harness<'static, App> {
    let english = AppSettings {
        lang: Some(Lang::En),
        ..AppSettings::default()
    };
    window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::with_loader(ctx, english.clone(), Box::new(FakeLoader::new(28, 1000)))
    })
}

/// Changes something in every view and shows the Compare view.
fn change_everything(harness: &mut Harness<'static, App>) {
    let app = app_mut(harness);
    let forward = &mut app.forward_mut().state;
    forward.settings.schedule.kind = ScheduleKind::Cosine;
    forward.settings.schedule.steps = 500;
    forward.settings.seed = 42;
    forward.t = 123;
    let reverse = &mut app.reverse_mut().state.settings;
    reverse.sampler = "ddim".into();
    reverse.steps = 20;
    reverse.guidance = 5.0;
    reverse.digit = Some(3);
    reverse.seed = 9;
    let compare = &mut app.compare_mut().state.settings;
    compare.preset = 2;
    compare.class = Some(4);
    let evaluate = &mut app.view_mut::<EvaluateView>().unwrap().settings;
    evaluate.samples = 300;
    evaluate.steps = vec![8, 16];
    app.show_view(CompareView::KEY);
    harness.run_steps(2);
}

fn lesson_path(folder: &Path, name: &str) -> std::path::PathBuf {
    folder.join(format!("{name}.diffuscope.json"))
}

#[test]
fn a_saved_lesson_opens_with_every_field_equal() {
    let folder = tempfile::tempdir().unwrap();
    let path = lesson_path(folder.path(), "week3");
    let mut saved = harness();
    saved.run_steps(2);
    change_everything(&mut saved);
    let state = app(&saved).current_slide();
    app_mut(&mut saved).save_lesson(&path);
    saved.run_steps(2);
    saved.get_by_label_contains("Saved the lesson (1 slides)");

    let mut opened = harness();
    opened.run_steps(2);
    app_mut(&mut opened).open_lesson_path(&path);
    opened.run_steps(2);
    assert_eq!(app(&opened).current_slide(), state);
    assert_eq!(app(&opened).shown_view(), CompareView::KEY);
    let forward = &app(&opened).forward().state;
    assert_eq!((forward.t, forward.settings.seed), (123, 42));
    assert_eq!(forward.schedule().steps(), 500);
    assert_eq!(app(&opened).reverse().state.settings.digit, Some(3));
    assert_eq!(app(&opened).lesson_position(), Some((1, 1)));

    // The file is JSON a person can read, with its version.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"format\": \"diffuscope-lesson\""), "{text}");
    assert!(text.contains("\"version\": 1"), "{text}");
}

#[test]
fn a_photo_of_ones_own_travels_inside_the_lesson() {
    let folder = tempfile::tempdir().unwrap();
    let path = lesson_path(folder.path(), "own-photo");
    let mut saved = harness();
    saved.run_steps(2);
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(40, 30, |x, y| {
        image::Rgb([(x * 6) as u8, (y * 8) as u8, 200])
    })
    .write_to(&mut png, image::ImageFormat::Png)
    .unwrap();
    app_mut(&mut saved)
        .forward_mut()
        .open_bytes("gradient.png".into(), png.into_inner());
    run_until(&mut saved, |app| {
        app.forward().state.source == PictureSource::File("gradient.png".into())
    });
    app_mut(&mut saved).save_lesson(&path);
    let values = app(&saved).forward().state.picture().values.clone();

    let mut opened = harness();
    opened.run_steps(2);
    app_mut(&mut opened).open_lesson_path(&path);
    run_until(&mut opened, |app| {
        app.forward().state.source == PictureSource::File("gradient.png".into())
    });
    let picture = app(&opened).forward().state.picture();
    assert_eq!((picture.width, picture.height), (40, 30));
    assert_eq!(picture.values, values, "the embedded PNG is lossless");
}

#[test]
fn a_deck_of_slides_steps_with_page_down_and_page_up() {
    let mut harness = harness();
    harness.run_steps(2);
    let mut slides = Vec::new();
    for t in [10, 500, 900] {
        app_mut(&mut harness).forward_mut().state.t = t;
        slides.push(app(&harness).current_slide());
    }
    app_mut(&mut harness).show_view(ReverseView::KEY);
    slides[2].view = ReverseView::KEY.into();
    app_mut(&mut harness)
        .open_lesson(Lesson::new("deck", slides))
        .unwrap();
    harness.run_steps(2);
    assert_eq!(app(&harness).forward().state.t, 10);
    assert_eq!(app(&harness).shown_view(), ForwardView::KEY);
    harness.get_by_label("1 / 3");

    harness.key_press(Key::PageDown);
    harness.run_steps(2);
    assert_eq!(app(&harness).forward().state.t, 500);
    harness.key_press(Key::PageDown);
    harness.run_steps(2);
    assert_eq!(app(&harness).lesson_position(), Some((3, 3)));
    assert_eq!(app(&harness).shown_view(), ReverseView::KEY);
    assert_eq!(app(&harness).forward().state.t, 900);
    harness.key_press(Key::PageDown);
    harness.run_steps(2);
    assert_eq!(
        app(&harness).lesson_position(),
        Some((3, 3)),
        "stays on the last"
    );
    harness.key_press(Key::PageUp);
    harness.run_steps(2);
    assert_eq!(app(&harness).lesson_position(), Some((2, 3)));
    assert_eq!(app(&harness).forward().state.t, 500);

    // A slide added after the one shown is the state on screen.
    app_mut(&mut harness).forward_mut().state.t = 777;
    app_mut(&mut harness).add_slide();
    assert_eq!(app(&harness).lesson_position(), Some((3, 4)));
}

#[test]
fn a_lesson_dropped_on_the_window_opens() {
    let folder = tempfile::tempdir().unwrap();
    let path = lesson_path(folder.path(), "dropped");
    let mut source = harness();
    source.run_steps(2);
    app_mut(&mut source).forward_mut().state.t = 321;
    app_mut(&mut source).save_lesson(&path);

    let mut harness = harness();
    harness.run_steps(2);
    harness
        .input_mut()
        .dropped_files
        .push(dropped_file::dropped(path.clone()));
    harness.run_steps(2);
    assert_eq!(app(&harness).forward().state.t, 321);
    assert_eq!(app(&harness).lesson_position(), Some((1, 1)));
}

#[test]
fn broken_and_newer_lessons_give_a_sentence_and_change_nothing() {
    let folder = tempfile::tempdir().unwrap();
    let mut harness = harness();
    harness.run_steps(2);
    app_mut(&mut harness).forward_mut().state.t = 77;
    let before = app(&harness).current_slide();
    let good = serde_json::to_value(Lesson::new("x", vec![before.clone()])).unwrap();

    let mut wrong_t = good.clone();
    wrong_t["slides"][0]["views"]["forward"]["t"] = serde_json::json!("soon");
    let mut unknown_view = good.clone();
    unknown_view["slides"][0]["view"] = serde_json::json!("hologram");
    let mut newer = good.clone();
    newer["version"] = serde_json::json!(2);
    let cases = [
        ("garbage", "{ not json".to_owned(), "is not JSON"),
        ("newer", newer.to_string(), "newer Diffuscope"),
        (
            "wrong-t",
            wrong_t.to_string(),
            "“forward” part does not read",
        ),
        ("unknown-view", unknown_view.to_string(), "“hologram” part"),
        (
            "empty",
            r#"{"format":"diffuscope-lesson","version":1,"slides":[]}"#.into(),
            "no slides",
        ),
    ];
    for (name, text, sentence) in cases {
        let path = lesson_path(folder.path(), name);
        std::fs::write(&path, text).unwrap();
        app_mut(&mut harness).forward_mut().state.t = 77;
        app_mut(&mut harness).open_lesson_path(&path);
        harness.run_steps(2);
        harness.get_by_label_contains(sentence);
        assert_eq!(
            app(&harness).current_slide(),
            before,
            "{name} changed the state"
        );
        assert_eq!(app(&harness).lesson_position(), None, "{name} opened");
    }

    // A folder and a named pipe are refused without reading.
    let fifo = folder.path().join("pipe.diffuscope.json");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    app_mut(&mut harness).open_lesson_path(&fifo);
    harness.run_steps(2);
    harness.get_by_label_contains("not an ordinary file");
    assert_eq!(app(&harness).current_slide(), before);
}

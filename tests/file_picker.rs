//! Where the desktop has no file dialog (no XDG portal, no zenity), the window asks for files with
//! a picker of its own: Ctrl+O opens it, it lists only the files the view can open, it takes the
//! keys while it is shown, and it works by keyboard alone, in both languages.

#[path = "common/window.rs"]
mod window;

use diffuscope::i18n::Lang;
use diffuscope::ui::file_picker::NativeDialogs;
use diffuscope::ui::forward::state::PictureSource;
use diffuscope::ui::{AppSettings, DiffuscopeApp};
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use window::{App, app, app_mut, run_until};

fn harness(settings: AppSettings) -> Harness<'static, App> {
    window::window([1400.0, 900.0], move |ctx| {
        DiffuscopeApp::new(ctx, settings.clone())
    })
}

#[test]
fn without_a_system_dialog_ctrl_o_opens_the_in_window_picker() {
    let folder = tempfile::tempdir().unwrap();
    image::RgbImage::from_pixel(40, 30, image::Rgb([200, 40, 40]))
        .save(folder.path().join("lesson.png"))
        .unwrap();
    std::fs::write(folder.path().join("notes.txt"), "not a picture").unwrap();
    let english = AppSettings {
        lang: Some(Lang::En),
        ..AppSettings::default()
    };
    let mut harness = harness(english);
    harness.run_steps(2);
    let picker = &mut app_mut(&mut harness).forward_mut().picker;
    picker.set_native(NativeDialogs::unavailable());
    picker.set_folder(folder.path().to_path_buf());

    harness.key_press_modifiers(Modifiers::COMMAND, Key::O);
    harness.run_steps(2);
    assert!(app(&harness).forward().picker.is_in_window());
    harness.get_by_label_contains("Open an image");
    harness.get_by_label_contains("lesson.png");
    assert!(
        harness.query_by_label_contains("notes.txt").is_none(),
        "only images are listed"
    );

    // The picker takes the keys: → does not move t behind it, Esc closes it.
    let t = app(&harness).forward().state.t;
    harness.key_press(Key::ArrowRight);
    harness.run_steps(1);
    assert_eq!(app(&harness).forward().state.t, t);
    harness.key_press(Key::Escape);
    harness.run_steps(2);
    assert!(!app(&harness).forward().picker.is_open());

    // Again, in Chinese, and by keyboard alone: Tab to the file-name field, type the name, Enter.
    app_mut(&mut harness).set_lang(Lang::Zh);
    harness.key_press_modifiers(Modifiers::COMMAND, Key::O);
    harness.run_steps(2);
    harness.get_by_label_contains("选择要打开的图片");
    harness.get_by_label("取消");
    let in_name_field = |harness: &Harness<'static, App>| {
        harness
            .query_all_by_role(Role::TextInput)
            .any(|field| field.is_focused() && field.value().unwrap_or_default().is_empty())
    };
    for tabs in 0.. {
        if in_name_field(&harness) {
            break;
        }
        assert!(tabs < 5, "Tab reaches the file-name field at once");
        harness.key_press(Key::Tab);
        harness.run_steps(1);
    }
    harness
        .query_all_by_role(Role::TextInput)
        .find(|field| field.is_focused())
        .expect("the file-name field takes the focus")
        .type_text("lesson.png");
    harness.run_steps(1);
    harness.key_press(Key::Enter);
    run_until(&mut harness, |app| {
        !app.forward().picker.is_open()
            && !app.forward().is_loading()
            && app.forward().state.source == PictureSource::File("lesson.png".into())
    });
    assert_eq!(app(&harness).forward().state.picture().width, 40);
}

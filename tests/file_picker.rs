//! Where the desktop has no file dialog (no XDG portal, no zenity), the window asks for files with
//! a picker of its own: Ctrl+O opens it, it lists only the files the view can open, it takes the
//! keys while it is shown, and it works by keyboard alone, in both languages.

use diffuscope::i18n::Lang;
use diffuscope::ui::file_picker::NativeDialogs;
use diffuscope::ui::forward::state::PictureSource;
use diffuscope::ui::{AppSettings, DiffuscopeApp};
use eframe::egui::accesskit::Role;
use eframe::egui::{Key, Modifiers};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;

type App = Option<DiffuscopeApp>;

fn harness(settings: AppSettings) -> Harness<'static, App> {
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_ui_state(
            move |ui, app: &mut App| {
                let app = app.get_or_insert_with(|| DiffuscopeApp::new(ui.ctx(), settings.clone()));
                app.logic(ui.ctx());
                app.ui_root(ui);
            },
            None,
        )
}

fn app<'a>(harness: &'a Harness<'static, App>) -> &'a DiffuscopeApp {
    harness
        .state()
        .as_ref()
        .unwrap_or_else(|| panic!("the app is built on the first frame"))
}

fn app_mut<'a>(harness: &'a mut Harness<'static, App>) -> &'a mut DiffuscopeApp {
    harness
        .state_mut()
        .as_mut()
        .unwrap_or_else(|| panic!("the app is built on the first frame"))
}

/// Steps the harness until `done` holds (background jobs finish on their own threads).
fn run_until(harness: &mut Harness<'static, App>, done: impl Fn(&DiffuscopeApp) -> bool) {
    for _ in 0..500 {
        harness.step();
        if done(app(harness)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the window did not reach the expected state");
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

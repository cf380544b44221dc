//! The keyboard help: every key of the view shown and of the window, as an overlay (? or F1) in
//! large type for the room, and as a list in the About dialog.

use eframe::egui::{self, Key, Modifiers, RichText};

use super::views::{KeyHelp, View};
use crate::i18n::Lang;

/// The keys every view has: the window's own.
const WINDOW_KEYS: [(&str, &str, &str); 6] = [
    ("? / F1", "this help", "本帮助"),
    ("F5", "presentation mode", "演示模式"),
    ("F11", "full screen", "全屏"),
    (
        "PageUp / PageDown",
        "previous / next slide of the lesson",
        "课程的上一张 / 下一张幻灯片",
    ),
    ("Ctrl+= / Ctrl+−", "zoom the whole window", "缩放整个窗口"),
    ("Ctrl+0", "zoom back to 100 %", "恢复 100 % 缩放"),
];

/// Whether ? (with or without Shift, as keyboards type it) or F1 was pressed this frame, outside
/// a text field.
pub fn asked(ctx: &egui::Context) -> bool {
    if ctx.egui_wants_keyboard_input() {
        return false;
    }
    ctx.input_mut(|i| {
        i.consume_key(Modifiers::NONE, Key::F1)
            || i.consume_key(Modifiers::SHIFT, Key::Questionmark)
            || i.consume_key(Modifiers::NONE, Key::Questionmark)
    })
}

/// The overlay listing `view`'s keys and the window's; `open` turns false when it is closed (Esc,
/// a click outside, ? again or its button).
pub fn overlay_ui(ctx: &egui::Context, view: &dyn View, lang: Lang, open: &mut bool) {
    let modal = egui::Modal::new(egui::Id::unique("diffuscope-key-help")).show(ctx, |ui| {
        ui.set_max_width(720.0);
        ui.style_mut().override_text_style = Some(egui::TextStyle::Heading);
        keys_ui(ui, view, lang);
        ui.add_space(8.0);
        keys_table(
            ui,
            "window-keys",
            lang.pick("Everywhere", "所有视图"),
            &window_keys(lang),
        );
        ui.add_space(8.0);
        ui.button(lang.pick("Close", "关闭")).clicked()
    });
    if modal.inner || modal.should_close() {
        *open = false;
    }
}

/// The window's own keys in `lang`.
pub fn window_keys(lang: Lang) -> Vec<KeyHelp> {
    KeyHelp::table(lang, &WINDOW_KEYS)
}

/// The keys of `view`, one line per key, under its title.
pub fn keys_ui(ui: &mut egui::Ui, view: &dyn View, lang: Lang) {
    let heading = format!("{} — {}", lang.pick("Keys", "按键"), view.title(lang));
    keys_table(ui, "view-keys", &heading, &view.keys(lang));
}

fn keys_table(ui: &mut egui::Ui, id: &str, heading: &str, keys: &[KeyHelp]) {
    ui.label(RichText::new(heading).strong());
    egui::Grid::new(id).num_columns(2).show(ui, |ui| {
        for help in keys {
            ui.label(RichText::new(help.keys).monospace());
            ui.label(help.action);
            ui.end_row();
        }
    });
}

//! The window's classroom controls: presentation mode's buttons, the Lesson menu (open, save,
//! add a slide, the panel sheet, the guided tours), PageUp / PageDown through a lesson's slides
//! and a tour's card; and the app's lesson API the tests drive.

use std::path::Path;

use eframe::egui::{self, RichText};

use super::DiffuscopeApp;
use crate::ui::figure_plot::{self, PictureRequest};
use crate::ui::lesson::{Lesson, LessonError, Slide};
use crate::ui::message::Message;
use crate::ui::presentation;
use crate::ui::tour;

impl DiffuscopeApp {
    /// Whether the window presents (presentation mode, F5).
    pub fn is_presenting(&self) -> bool {
        self.presentation.is_on()
    }

    /// PageUp / PageDown step through the open lesson's slides.
    pub(super) fn lesson_keys(&mut self, ctx: &egui::Context) {
        if ctx.egui_wants_keyboard_input() {
            return;
        }
        for (key, delta) in [(egui::Key::PageUp, -1), (egui::Key::PageDown, 1)] {
            if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, key)) {
                self.step_lesson(delta);
            }
        }
    }

    /// The Lesson menu, and the slide shown with buttons to step while a lesson is open.
    pub(super) fn lesson_menu_ui(&mut self, ui: &mut egui::Ui) {
        let lang = self.lang;
        ui.menu_button(lang.pick("Lesson", "课程"), |ui| {
            if ui.button(lang.pick("Open lesson…", "打开课程…")).clicked() {
                self.deck.choose_and_open();
            }
            if ui.button(lang.pick("Save lesson…", "保存课程…")).clicked() {
                self.deck.choose_and_save();
            }
            if ui
                .button(lang.pick("Add this as a slide", "把当前状态添加为幻灯片"))
                .clicked()
            {
                self.deck.add_slide(&self.views, self.shown);
            }
            if ui
                .button(lang.pick(
                    "Panel sheet of this view (PNG, 2×)…",
                    "当前视图的面板总览（PNG，2×）…",
                ))
                .on_hover_text(lang.pick(
                    "Its pictures and plots on one page, for handouts. A right click on a plot or a picture saves that one alone.",
                    "把它的图片和图表放在一页上，用于讲义。在图表或图片上点击右键可单独保存。",
                ))
                .clicked()
            {
                figure_plot::ask(ui.ctx(), PictureRequest::Sheet);
            }
            ui.separator();
            ui.label(RichText::new(lang.pick("Guided tours", "导览")).strong());
            for tour in tour::BUILT_IN {
                if ui.button(lang.pick(tour.title.0, tour.title.1)).clicked() {
                    self.start_tour(tour);
                }
            }
        });
        if let Some((slide, slides)) = self.deck.position() {
            if ui.button("◀").on_hover_text("PageUp").clicked() {
                self.step_lesson(-1);
            }
            ui.label(format!("{slide} / {slides}"));
            if ui.button("▶").on_hover_text("PageDown").clicked() {
                self.step_lesson(1);
            }
        }
    }

    /// Opens `lesson` and shows its first slide; a lesson that does not fit this window changes
    /// nothing.
    pub fn open_lesson(&mut self, lesson: Lesson) -> Result<(), LessonError> {
        self.deck.open(lesson, &mut self.views, &mut self.shown)
    }

    /// Reads and opens the lesson file `path`, or says why not in the banner of the view shown.
    pub fn open_lesson_path(&mut self, path: &Path) {
        self.deck.open_path(path, &mut self.views, &mut self.shown);
    }

    /// Saves the lesson (the open one with the slide shown as on screen, or the state alone) to
    /// `path`, saying how it went in the banner of the view shown.
    pub fn save_lesson(&mut self, path: &Path) {
        self.deck.save(path, &mut self.views, self.shown);
    }

    /// Shows the slide `delta` places on in the open lesson.
    pub fn step_lesson(&mut self, delta: isize) {
        self.deck.step(delta, &mut self.views, &mut self.shown);
    }

    /// Adds the state on screen as a slide after the one shown.
    pub fn add_slide(&mut self) {
        self.deck.add_slide(&self.views, self.shown);
    }

    /// Opens a built-in tour on its first card.
    pub fn start_tour(&mut self, tour: tour::BuiltIn) {
        let lesson = tour.lesson(self.lang);
        if let Err(error) = self.open_lesson(lesson) {
            // A built-in tour always fits the window it was made for; a test window may lack a view.
            let view = &mut self.views[self.shown];
            view.show_message(Message::error_in(|l| error.sentence("tour", l), None));
        }
    }

    /// The card of the tour's slide shown, over the bottom of the view: its text, the slide, and
    /// buttons to step and to end the tour.
    pub(super) fn card_ui(&mut self, ctx: &egui::Context) {
        let Some((title, card)) = self.deck.card() else {
            return;
        };
        let lang = self.lang;
        let (title, text) = (title.to_owned(), card.text(lang).to_owned());
        let (slide, slides) = self.deck.position().unwrap_or((1, 1));
        let mut step = 0;
        let mut close = false;
        egui::Window::new(title)
            .id(egui::Id::unique("diffuscope-tour-card"))
            .anchor(egui::Align2::CENTER_BOTTOM, [0.0, -16.0])
            .collapsible(false)
            .resizable(false)
            .default_width(560.0)
            .show(ctx, |ui| {
                ui.label(RichText::new(text).size(18.0));
                ui.horizontal(|ui| {
                    let back = egui::Button::new(lang.pick("◀ Back", "◀ 上一张"));
                    if ui.add_enabled(slide > 1, back).clicked() {
                        step = -1;
                    }
                    ui.label(format!("{slide} / {slides}"));
                    let next = egui::Button::new(lang.pick("Next ▶", "下一张 ▶"));
                    if ui.add_enabled(slide < slides, next).clicked() {
                        step = 1;
                    }
                    if ui.button(lang.pick("End the tour", "结束导览")).clicked() {
                        close = true;
                    }
                });
            });
        if step != 0 {
            self.step_lesson(step);
        }
        if close {
            self.deck.close();
        }
    }

    /// The state on screen as a lesson's slide.
    pub fn current_slide(&self) -> Slide {
        crate::ui::lesson_deck::capture(&self.views, self.shown)
    }

    /// (slide shown counted from 1, slides) of the open lesson.
    pub fn lesson_position(&self) -> Option<(usize, usize)> {
        self.deck.position()
    }

    /// The presentation button and, while presenting, the side panels' toggle.
    pub(super) fn presentation_buttons_ui(&mut self, ui: &mut egui::Ui) {
        let lang = self.lang;
        let presenting = self.presentation.is_on();
        let present = ui
            .selectable_label(presenting, lang.pick("Present (F5)", "演示 (F5)"))
            .on_hover_text(lang.pick(
                "Full screen, twice as large, high contrast, side panels folded away; Ctrl+= and Ctrl+− change the size (remembered).",
                "全屏、放大两倍、高对比度、收起侧栏；Ctrl+= 和 Ctrl+− 调整大小（会被记住）。",
            ));
        if present.clicked() {
            self.presentation.toggle(ui.ctx());
        }
        if presenting {
            let mut shown = presentation::side_panels_shown(ui.ctx());
            if ui
                .toggle_value(&mut shown, lang.pick("Side panels", "侧栏"))
                .changed()
            {
                self.presentation.set_panels(ui.ctx(), shown);
            }
        }
    }
}

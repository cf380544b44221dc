//! The lesson open in the window: its slides and the one shown, opening and saving lesson files
//! (the system's dialog or the in-window picker), and taking the program's state as a slide.
//!
//! A lesson is checked whole before anything changes: every slide must name a view this window
//! has and hold states those views read, so a broken lesson gives one sentence and leaves the
//! window as it was.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use eframe::egui;

use super::file_picker::{FilePicker, FileRequest};
use super::lesson::{Card, FILE_ENDING, Lesson, LessonError, Slide};
use super::message::Message;
use super::views::View;
use crate::i18n::Lang;

/// What the lesson picker was asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LessonPick {
    /// A lesson file to open.
    Open,
    /// Where to save the lesson.
    Save,
}

/// A lesson being shown.
struct OpenLesson {
    lesson: Lesson,
    /// The slide shown (an index into the lesson's slides).
    index: usize,
}

/// The window's lesson, if any, and its file picker.
pub struct LessonDeck {
    open: Option<OpenLesson>,
    /// Asks for lesson files.
    pub picker: FilePicker<LessonPick>,
}

impl LessonDeck {
    /// No lesson yet; `wake` repaints the window for the picker.
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            open: None,
            picker: FilePicker::new(wake),
        }
    }

    /// (slide shown counted from 1, slides) of the open lesson.
    pub fn position(&self) -> Option<(usize, usize)> {
        self.open
            .as_ref()
            .map(|open| (open.index + 1, open.lesson.slides.len()))
    }

    /// The open lesson's title and the card of the slide shown, if it has one.
    pub fn card(&self) -> Option<(&str, &Card)> {
        let open = self.open.as_ref()?;
        let card = open.lesson.slides[open.index].card.as_ref()?;
        Some((&open.lesson.title, card))
    }

    /// Closes the lesson (the state on screen stays).
    pub fn close(&mut self) {
        self.open = None;
    }

    /// Asks for a lesson file to open.
    pub fn choose_and_open(&mut self) {
        let request = FileRequest::open(
            ("Open a lesson", "打开课程"),
            "Diffuscope lesson",
            &["json"],
        );
        self.picker.ask(LessonPick::Open, request);
    }

    /// Asks where to save the lesson.
    pub fn choose_and_save(&mut self) {
        let request = FileRequest::save(
            ("Save the lesson", "保存课程"),
            "Diffuscope lesson",
            &["json"],
            format!("lesson{FILE_ENDING}"),
        );
        self.picker.ask(LessonPick::Save, request);
    }

    /// Opens `lesson` (checked against `views`) and shows its first slide; a lesson that does
    /// not fit changes nothing.
    pub fn open(
        &mut self,
        lesson: Lesson,
        views: &mut [Box<dyn View>],
        shown: &mut usize,
    ) -> Result<(), LessonError> {
        check(&lesson, views)?;
        show_slide(&lesson.slides[0], views, shown);
        self.open = Some(OpenLesson { lesson, index: 0 });
        Ok(())
    }

    /// Reads and opens the lesson file `path`, or says in the banner of the view shown why not.
    pub fn open_path(&mut self, path: &Path, views: &mut [Box<dyn View>], shown: &mut usize) {
        let opened = Lesson::read(path).and_then(|lesson| self.open(lesson, views, shown));
        if let Err(error) = opened {
            let name = file_name(path);
            views[*shown].show_message(Message::error_in(|l| error.sentence(&name, l), None));
        }
    }

    /// Shows the slide `delta` places on (staying within the lesson).
    pub fn step(&mut self, delta: isize, views: &mut [Box<dyn View>], shown: &mut usize) {
        let Some(open) = &mut self.open else {
            return;
        };
        let last = open.lesson.slides.len() - 1;
        let index = open.index.saturating_add_signed(delta).min(last);
        if index != open.index {
            open.index = index;
            show_slide(&open.lesson.slides[index], views, shown);
        }
    }

    /// Adds the program's state as a slide after the one shown (the first slide of a new lesson
    /// when none is open), and shows it.
    pub fn add_slide(&mut self, views: &[Box<dyn View>], shown: usize) {
        let slide = capture(views, shown);
        match &mut self.open {
            Some(open) => {
                open.index += 1;
                open.lesson.slides.insert(open.index, slide);
            }
            None => {
                self.open = Some(OpenLesson {
                    lesson: Lesson::new("", vec![slide]),
                    index: 0,
                });
            }
        }
    }

    /// The lesson to save: the open one with the slide shown replaced by the program's state
    /// (what is on screen is what is saved), or the state alone as a one-slide lesson.
    pub fn lesson_to_save(&mut self, views: &[Box<dyn View>], shown: usize) -> Lesson {
        let mut slide = capture(views, shown);
        match &mut self.open {
            Some(open) => {
                let replaced = &mut open.lesson.slides[open.index];
                slide.card = replaced.card.take();
                *replaced = slide;
                open.lesson.clone()
            }
            None => Lesson::new("", vec![slide]),
        }
    }

    /// Saves the lesson to `path`, saying in the banner of the view shown how it went.
    pub fn save(&mut self, path: &Path, views: &mut [Box<dyn View>], shown: usize) {
        let lesson = self.lesson_to_save(views, shown);
        let slides = lesson.slides.len();
        let name = file_name(path);
        let message = match lesson.write(path) {
            Ok(()) => Message::info_in(|l| match l {
                Lang::En => format!("Saved the lesson ({slides} slides) to “{name}”."),
                Lang::Zh => format!("课程（{slides} 张幻灯片）已保存到“{name}”。"),
            }),
            Err(error) => Message::error_in(|l| error.sentence(l), None),
        };
        views[shown].show_message(message);
    }

    /// Draws the in-window picker while it is shown; returns the file chosen.
    pub fn picker_ui(&mut self, ctx: &egui::Context, lang: Lang) -> Option<(LessonPick, PathBuf)> {
        self.picker.ui(ctx, lang)
    }
}

/// Checks that every slide of `lesson` names a view of `views` and holds states they read.
fn check(lesson: &Lesson, views: &[Box<dyn View>]) -> Result<(), LessonError> {
    for (index, slide) in lesson.slides.iter().enumerate() {
        let problem = |view: &str| LessonError::Slide {
            slide: index + 1,
            view: view.to_owned(),
        };
        if !views.iter().any(|view| view.key() == slide.view) {
            return Err(problem(&slide.view));
        }
        for (key, state) in &slide.views {
            match views.iter().find(|view| view.key() == key) {
                Some(view) if view.reads_slide_state(state) => {}
                _ => return Err(problem(key)),
            }
        }
    }
    Ok(())
}

/// Puts every view where `slide` says and shows its view.
fn show_slide(slide: &Slide, views: &mut [Box<dyn View>], shown: &mut usize) {
    for view in views.iter_mut() {
        if let Some(state) = slide.views.get(view.key()) {
            view.show_slide_state(state);
        }
    }
    if let Some(index) = views.iter().position(|view| view.key() == slide.view) {
        *shown = index;
    }
}

/// The program's state as a slide: every view's, the view shown.
pub fn capture(views: &[Box<dyn View>], shown: usize) -> Slide {
    Slide {
        view: views[shown].key().to_owned(),
        views: views
            .iter()
            .map(|view| (view.key().to_owned(), view.slide_state()))
            .collect(),
        card: None,
    }
}

/// `path`'s file name, as sentences show it.
fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |name| name.to_string_lossy().into_owned(),
    )
}

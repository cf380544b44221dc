//! Lessons as files: the whole state of the program, one or more "slides" of it, in a small
//! human-readable JSON file (`*.diffuscope.json`) a teacher prepares the evening before, shares,
//! and steps through in class (PageUp / PageDown).
//!
//! ```json
//! { "format": "diffuscope-lesson", "version": 1, "title": "Noise schedules",
//!   "slides": [ { "view": "forward", "views": { "forward": { … }, "reverse": { … } } } ] }
//! ```
//!
//! A slide names the view shown and holds every view's state as that view writes it
//! ([`super::View::slide_state`]): its settings and what else a slide sets (t, the photo: a bundled
//! one by name, any other embedded as a PNG). Reading checks the format and version before
//! anything else, so a file from a newer Diffuscope says so instead of failing on a field.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::data::file::{ReadError, read_regular_file};
use crate::export::ExportError;
use crate::export::atomic::{WriteFailure, write_atomically};
use crate::i18n::Lang;

/// The `format` field of every lesson file.
pub const FORMAT: &str = "diffuscope-lesson";

/// The version this program writes and reads.
pub const VERSION: u32 = 1;

/// The largest lesson file read (embedded photos included).
pub const MAX_BYTES: u64 = 64 << 20;

/// The ending a lesson file's name has.
pub const FILE_ENDING: &str = ".diffuscope.json";

/// A lesson: its title and its slides, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    /// Always [`FORMAT`].
    pub format: String,
    /// The version of the format ([`VERSION`]).
    pub version: u32,
    /// What the lesson is about.
    #[serde(default)]
    pub title: String,
    /// The states to step through (at least one).
    pub slides: Vec<Slide>,
}

/// One state of the program.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slide {
    /// The view shown, by key.
    pub view: String,
    /// Each view's state, by key (views left out keep theirs).
    pub views: BTreeMap<String, Value>,
    /// What a guided tour says on this slide, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
}

/// A tour's card: what to look for, in both languages, and the control or panel it points at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Card {
    /// The text in English.
    pub en: String,
    /// The text in Simplified Chinese.
    pub zh: String,
    /// The name of the control or panel highlighted (such as `forward.schedule`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

impl Card {
    /// The text in `lang`.
    pub fn text(&self, lang: Lang) -> &str {
        match lang {
            Lang::En => &self.en,
            Lang::Zh => &self.zh,
        }
    }
}

impl Lesson {
    /// A lesson of `slides` titled `title`.
    pub fn new(title: impl Into<String>, slides: Vec<Slide>) -> Self {
        Self {
            format: FORMAT.to_owned(),
            version: VERSION,
            title: title.into(),
            slides,
        }
    }

    /// Reads the lesson in the bytes of a file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LessonError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| LessonError::NotJson(format!("line {}", e.line())))?;
        if value.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(LessonError::NotALesson);
        }
        match value.get("version").and_then(Value::as_u64) {
            Some(version) if version == u64::from(VERSION) => {}
            Some(version) if version > u64::from(VERSION) => {
                return Err(LessonError::Newer(version));
            }
            _ => return Err(LessonError::Damaged("version".into())),
        }
        let lesson: Self =
            serde_json::from_value(value).map_err(|e| LessonError::Damaged(e.to_string()))?;
        if lesson.slides.is_empty() {
            return Err(LessonError::NoSlides);
        }
        Ok(lesson)
    }

    /// Reads the lesson file `path` (an ordinary file of at most [`MAX_BYTES`]).
    pub fn read(path: &Path) -> Result<Self, LessonError> {
        let bytes = read_regular_file(path, MAX_BYTES).map_err(LessonError::Read)?;
        Self::from_bytes(&bytes)
    }

    /// The lesson as the text of a file (indented JSON).
    pub fn to_text(&self) -> String {
        // Plain data with string keys always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }

    /// Writes the lesson to `path`, through a temporary file (never half a lesson).
    pub fn write(&self, path: &Path) -> Result<(), ExportError> {
        let text = self.to_text();
        write_atomically(path, |file| {
            file.write_all(text.as_bytes()).map_err(WriteFailure::from)
        })
    }
}

/// Why a lesson cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum LessonError {
    /// The file could not be read, or is not one we read.
    #[error(transparent)]
    Read(ReadError),
    /// It is not JSON.
    #[error("not JSON ({0})")]
    NotJson(String),
    /// It is JSON, but not a lesson.
    #[error("not a lesson")]
    NotALesson,
    /// A newer Diffuscope wrote it.
    #[error("version {0}")]
    Newer(u64),
    /// A field is missing or wrong.
    #[error("damaged: {0}")]
    Damaged(String),
    /// It has no slides.
    #[error("no slides")]
    NoSlides,
    /// A slide names a view this program does not have, or a state it cannot show.
    #[error("slide {slide}: {view}")]
    Slide {
        /// The slide, counted from 1.
        slide: usize,
        /// The view whose state does not read.
        view: String,
    },
}

impl LessonError {
    /// One sentence naming the file (`file` as the user should see it) and what is wrong.
    pub fn sentence(&self, file: &str, lang: Lang) -> String {
        match (self, lang) {
            (Self::Read(error), _) => error.sentence(file, lang),
            (Self::NotJson(at), Lang::En) => {
                format!("“{file}” is not a Diffuscope lesson: it is not JSON ({at}).")
            }
            (Self::NotJson(at), Lang::Zh) => {
                format!("“{file}”不是 Diffuscope 课程文件：它不是 JSON（{at}）。")
            }
            (Self::NotALesson, Lang::En) => format!("“{file}” is not a Diffuscope lesson."),
            (Self::NotALesson, Lang::Zh) => format!("“{file}”不是 Diffuscope 课程文件。"),
            (Self::Newer(version), Lang::En) => format!(
                "“{file}” was made by a newer Diffuscope (lesson version {version}; this one reads version {VERSION}). Update Diffuscope to open it."
            ),
            (Self::Newer(version), Lang::Zh) => format!(
                "“{file}”由更新版本的 Diffuscope 制作（课程版本 {version}；本程序只能读取版本 {VERSION}）。请更新 Diffuscope 后再打开。"
            ),
            (Self::Damaged(detail), Lang::En) => {
                format!("The lesson “{file}” is damaged ({detail}).")
            }
            (Self::Damaged(detail), Lang::Zh) => format!("课程文件“{file}”已损坏（{detail}）。"),
            (Self::NoSlides, Lang::En) => format!("The lesson “{file}” has no slides."),
            (Self::NoSlides, Lang::Zh) => format!("课程文件“{file}”没有任何幻灯片。"),
            (Self::Slide { slide, view }, Lang::En) => format!(
                "Slide {slide} of the lesson “{file}” cannot be shown: its “{view}” part does not read."
            ),
            (Self::Slide { slide, view }, Lang::Zh) => {
                format!("课程文件“{file}”的第 {slide} 张幻灯片无法显示：其中“{view}”部分无法读取。")
            }
        }
    }
}

/// Whether `path` is named as a lesson file (`….diffuscope.json`, in any case).
pub fn is_lesson_path(path: &Path) -> bool {
    path.file_name()
        .and_then(|name| name.to_str())
        .is_some_and(|name| name.to_ascii_lowercase().ends_with(FILE_ENDING))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_slide() -> Lesson {
        let mut views = BTreeMap::new();
        views.insert("forward".to_owned(), serde_json::json!({ "t": 50 }));
        Lesson::new(
            "test",
            vec![Slide {
                view: "forward".into(),
                views,
                card: None,
            }],
        )
    }

    #[test]
    fn a_lesson_reads_back_from_its_text() {
        let lesson = one_slide();
        assert_eq!(
            Lesson::from_bytes(lesson.to_text().as_bytes()).unwrap(),
            lesson
        );
    }

    #[test]
    fn other_files_newer_versions_and_damage_are_told_apart() {
        let error = |text: &str| Lesson::from_bytes(text.as_bytes()).unwrap_err();
        assert!(matches!(error("{not json"), LessonError::NotJson(_)));
        assert!(matches!(error("[1, 2]"), LessonError::NotALesson));
        assert!(matches!(
            error(r#"{"format": "diffuscope-lesson", "version": 7, "whatever": 1}"#),
            LessonError::Newer(7)
        ));
        assert!(matches!(
            error(r#"{"format": "diffuscope-lesson", "version": 1}"#),
            LessonError::Damaged(_)
        ));
        assert!(matches!(
            error(r#"{"format": "diffuscope-lesson", "version": 1, "slides": []}"#),
            LessonError::NoSlides
        ));
        let sentence = error(r#"{"format": "diffuscope-lesson", "version": 2}"#)
            .sentence("a.diffuscope.json", Lang::En);
        assert!(sentence.contains("newer Diffuscope"), "{sentence}");
    }

    #[test]
    fn lesson_files_are_known_by_their_ending() {
        assert!(is_lesson_path(Path::new("/tmp/Week 3.Diffuscope.JSON")));
        assert!(!is_lesson_path(Path::new("/tmp/cat.json")));
        assert!(!is_lesson_path(Path::new("/tmp/cat.png")));
    }
}

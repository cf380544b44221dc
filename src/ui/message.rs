//! A one-line message at the top of the window: an error sentence (details one click away) or a
//! confirmation such as "Saved forward.gif".

use eframe::egui::{self, Color32, RichText};

use crate::i18n::{Lang, Text};

/// Whether a message reports a failure or a success.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// Something the user asked for did not happen.
    Error,
    /// Something finished well.
    Info,
}

/// A message shown until dismissed or replaced, kept in both languages so that switching the
/// language also switches the banner.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Failure or success.
    pub tone: Tone,
    /// The sentence in English and in Chinese.
    sentences: [String; 2],
    /// Technical details (the underlying error), shown on request.
    pub details: Option<String>,
}

impl Message {
    /// An error message, its sentence made in each language by `sentence`.
    pub fn error_in(sentence: impl Fn(Lang) -> String, details: Option<String>) -> Self {
        Self {
            tone: Tone::Error,
            sentences: Lang::ALL.map(sentence),
            details,
        }
    }

    /// A confirmation, its sentence made in each language by `sentence`.
    pub fn info_in(sentence: impl Fn(Lang) -> String) -> Self {
        Self {
            tone: Tone::Info,
            sentences: Lang::ALL.map(sentence),
            details: None,
        }
    }

    /// An error message whose sentence is the same in both languages (a text from elsewhere).
    pub fn error(sentence: impl Into<String>, details: Option<String>) -> Self {
        let sentence = sentence.into();
        Self::error_in(|_| sentence.clone(), details)
    }

    /// A confirmation whose sentence is the same in both languages.
    pub fn info(sentence: impl Into<String>) -> Self {
        let sentence = sentence.into();
        Self::info_in(|_| sentence.clone())
    }

    /// The sentence in `lang`.
    pub fn sentence(&self, lang: Lang) -> &str {
        let [en, zh] = &self.sentences;
        match lang {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

/// Draws `message` (if any) as a banner; clears it when dismissed.
pub fn message_ui(ui: &mut egui::Ui, lang: Lang, message: &mut Option<Message>) {
    let Some(shown) = message.as_ref() else {
        return;
    };
    let (fill, text) = match shown.tone {
        Tone::Error => (
            Color32::from_rgb(110, 20, 20),
            Color32::from_rgb(255, 230, 230),
        ),
        Tone::Info => (
            Color32::from_rgb(20, 70, 40),
            Color32::from_rgb(225, 255, 235),
        ),
    };
    let mut dismissed = false;
    egui::Frame::new()
        .fill(fill)
        .inner_margin(8.0)
        .corner_radius(4.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(shown.sentence(lang)).color(text).strong());
                if ui.button(lang.tr(Text::Dismiss)).clicked() {
                    dismissed = true;
                }
            });
            if let Some(details) = &shown.details {
                ui.collapsing(lang.tr(Text::Details), |ui| {
                    ui.label(RichText::new(details).color(text).monospace());
                });
            }
        });
    if dismissed {
        *message = None;
    }
}

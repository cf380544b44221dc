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

/// A message shown until dismissed or replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct Message {
    /// Failure or success.
    pub tone: Tone,
    /// One sentence in the interface's language.
    pub sentence: String,
    /// Technical details (the underlying error), shown on request.
    pub details: Option<String>,
}

impl Message {
    /// An error message.
    pub fn error(sentence: impl Into<String>, details: Option<String>) -> Self {
        Self {
            tone: Tone::Error,
            sentence: sentence.into(),
            details,
        }
    }

    /// A confirmation.
    pub fn info(sentence: impl Into<String>) -> Self {
        Self {
            tone: Tone::Info,
            sentence: sentence.into(),
            details: None,
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
                ui.label(RichText::new(&shown.sentence).color(text).strong());
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

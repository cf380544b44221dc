//! Pictures for slides: a plot of the view shown saved as SVG (800 × 500 points, its text
//! editable) or PNG (1600 × 1000 pixels), asked for with a plot's right-click menu
//! ([`super::figure_plot`]) and written through a temporary file.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use eframe::egui;

use super::figure_plot::PictureRequest;
use super::file_picker::{FilePicker, FileRequest};
use super::message::Message;
use super::views::View;
use crate::export::atomic::{WriteFailure, write_atomically};
use crate::export::write_png;
use crate::i18n::Lang;

/// An SVG's size, in points.
pub const SVG_SIZE: (u32, u32) = (800, 500);
/// A PNG's size, in pixels: the SVG's at 2×, sharp on a projector.
pub const PNG_SIZE: (u32, u32) = (1600, 1000);

/// Where pictures are asked for.
pub struct SlidePictures {
    picker: FilePicker<PictureRequest>,
}

impl SlidePictures {
    /// `wake` repaints the window for the picker.
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self {
            picker: FilePicker::new(wake),
        }
    }

    /// Asks where to save what `request` names from `view`.
    pub fn ask(&mut self, request: PictureRequest, view: &dyn View, lang: Lang) {
        let PictureRequest::Figure { index, svg } = request;
        let title = view
            .figures(lang)
            .get(index)
            .map_or_else(|| "plot".to_owned(), |f| f.title.clone());
        let (kind, extension): (&'static str, &'static [&'static str]) = if svg {
            ("SVG", &["svg"])
        } else {
            ("PNG", &["png"])
        };
        let name = format!("{}-{}.{}", view.key(), file_stem(&title), extension[0]);
        let request_file = FileRequest::save(("Save the plot", "保存图表"), kind, extension, name);
        self.picker.ask(request, request_file);
    }

    /// Draws the in-window picker while it is shown; saves the picture chosen, saying how it went
    /// in `view`'s banner.
    pub fn picker_ui(&mut self, ctx: &egui::Context, view: &mut dyn View, lang: Lang) {
        if let Some((request, path)) = self.picker.ui(ctx, lang) {
            let message = save(request, &path, &*view, lang);
            view.show_message(message);
        }
    }
}

/// Writes what `request` names from `view` to `path`; the banner's message.
pub fn save(request: PictureRequest, path: &Path, view: &dyn View, lang: Lang) -> Message {
    let PictureRequest::Figure { index, svg } = request;
    let Some(figure) = view.figures(lang).into_iter().nth(index) else {
        return Message::error_in(
            |l| {
                l.pick("That plot is no longer shown.", "该图表已不再显示。")
                    .into()
            },
            None,
        );
    };
    let written = if svg {
        figure.to_svg(SVG_SIZE, lang).map(|text| {
            write_atomically(path, |file| {
                file.write_all(text.as_bytes()).map_err(WriteFailure::from)
            })
        })
    } else {
        figure
            .to_picture(PNG_SIZE, lang)
            .map(|picture| write_png(path, &picture))
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match written {
        Ok(Ok(())) => Message::info_in(|l| match l {
            Lang::En => format!("Saved the plot to “{name}”."),
            Lang::Zh => format!("图表已保存到“{name}”。"),
        }),
        Ok(Err(error)) => Message::error_in(|l| error.sentence(l), None),
        Err(detail) => Message::error_in(
            |l| match l {
                Lang::En => "The plot could not be drawn.".into(),
                Lang::Zh => "无法绘制该图表。".into(),
            },
            Some(detail.clone()),
        ),
    }
}

/// `title` as part of a file name: letters and digits kept, runs of anything else one dash.
fn file_stem(title: &str) -> String {
    let mut stem = String::new();
    for c in title.chars() {
        if c.is_alphanumeric() {
            stem.extend(c.to_lowercase());
        } else if !stem.ends_with('-') && !stem.is_empty() {
            stem.push('-');
        }
        if stem.chars().count() >= 40 {
            break;
        }
    }
    stem.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_short_file_names() {
        assert_eq!(file_stem("FID (lower is better)"), "fid-lower-is-better");
        assert_eq!(file_stem("log-SNR(t)"), "log-snr-t");
        assert_eq!(file_stem("像素值分布"), "像素值分布");
    }
}

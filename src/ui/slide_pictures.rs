//! Pictures for slides: a plot of the view shown saved as SVG (800 × 500 points, its text
//! editable) or PNG (1600 × 1000 pixels), a picture as a PNG at 1×, 2× or 4×, both asked for with
//! a right-click menu ([`super::figure_plot`]), and the panel sheet of the whole view at 2× (the
//! Lesson menu); each written through a temporary file.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use eframe::egui;

use super::figure_plot::PictureRequest;
use super::file_picker::{FilePicker, FileRequest};
use super::message::Message;
use super::views::View;
use crate::export::ExportError;
use crate::export::atomic::{WriteFailure, write_atomically};
use crate::export::figure::Figure;
use crate::export::sheet::{enlarged, panel_sheet};
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
        let title = match request {
            PictureRequest::Figure { index, .. } => {
                view.figures(lang).get(index).map(|f| f.title.clone())
            }
            PictureRequest::Picture { index, .. } => {
                view.pictures(lang).get(index).map(|p| p.0.clone())
            }
            PictureRequest::Sheet => Some("sheet".to_owned()),
        };
        let svg = matches!(request, PictureRequest::Figure { svg: true, .. });
        let (kind, extension): (&'static str, &'static [&'static str]) = if svg {
            ("SVG", &["svg"])
        } else {
            ("PNG", &["png"])
        };
        let stem = file_stem(title.as_deref().unwrap_or("picture"));
        let name = format!("{}-{stem}.{}", view.key(), extension[0]);
        let request_file = FileRequest::save(
            ("Save a picture for slides", "保存用于幻灯片的图片"),
            kind,
            extension,
            name,
        );
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
    let written = match request {
        PictureRequest::Figure { index, svg } => view
            .figures(lang)
            .into_iter()
            .nth(index)
            .ok_or_else(gone)
            .and_then(|figure| write_figure(&figure, svg, path, lang)),
        PictureRequest::Picture { index, scale } => view
            .pictures(lang)
            .into_iter()
            .nth(index)
            .ok_or_else(gone)
            .map(|(_, picture)| write_png(path, &enlarged(&picture, scale))),
        PictureRequest::Sheet => panel_sheet(&view.pictures(lang), &view.figures(lang), lang)
            .map(|sheet| write_png(path, &sheet)),
    };
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match written {
        Ok(Ok(())) => Message::info_in(|l| match l {
            Lang::En => format!("Saved “{name}”."),
            Lang::Zh => format!("已保存“{name}”。"),
        }),
        Ok(Err(error)) => Message::error_in(|l| error.sentence(l), None),
        Err(detail) => Message::error_in(
            |l| match l {
                Lang::En => "That picture could not be drawn.".into(),
                Lang::Zh => "无法绘制该图片。".into(),
            },
            Some(detail.clone()),
        ),
    }
}

/// Why there is nothing to save: the view no longer shows it.
fn gone() -> String {
    "no longer shown".to_owned()
}

/// `figure` written to `path` as SVG or PNG.
fn write_figure(
    figure: &Figure,
    svg: bool,
    path: &Path,
    lang: Lang,
) -> Result<Result<(), ExportError>, String> {
    if svg {
        figure.to_svg(SVG_SIZE, lang).map(|text| {
            write_atomically(path, |file| {
                file.write_all(text.as_bytes()).map_err(WriteFailure::from)
            })
        })
    } else {
        figure
            .to_picture(PNG_SIZE, lang)
            .map(|picture| write_png(path, &picture))
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

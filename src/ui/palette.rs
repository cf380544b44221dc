//! The colours the views share with the exports: the categorical palette of lines and lanes.

use eframe::egui::Color32;

use crate::sample::colormap::OKABE_ITO;

/// Colour `index` of the categorical palette ([`OKABE_ITO`], repeating), as egui draws it.
pub const fn categorical(index: usize) -> Color32 {
    let [r, g, b] = OKABE_ITO[index % OKABE_ITO.len()];
    Color32::from_rgb(r, g, b)
}

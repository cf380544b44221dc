//! Fonts: egui's own Latin fonts first, then the shipped DejaVu Sans subset for the mathematical
//! symbols egui's fonts lack (ᾱ, √, ε), then the Noto Sans SC subset for Chinese, then egui's
//! emoji fonts (the in-window file picker's icons).

use std::sync::Arc;

use eframe::egui::{self, FontData, FontDefinitions, FontFamily};

/// The fallback fonts shipped in assets/fonts (made by scripts/make_font_subset.py), in order.
const FALLBACKS: [(&str, &[u8]); 2] = [
    (
        "dejavu-sans-diffuscope",
        include_bytes!("../../assets/fonts/DejaVuSans-Diffuscope.ttf"),
    ),
    (
        "noto-sans-sc-diffuscope",
        include_bytes!("../../assets/fonts/NotoSansSC-Diffuscope.otf"),
    ),
];

/// egui's emoji fonts, which come after ours: they also have full-width Chinese punctuation and
/// "▶", which should look like the text around them.
const EMOJI_FONTS: [&str; 2] = ["NotoEmoji-Regular", "emoji-icon-font"];

/// Installs the fonts into `ctx`.
pub fn install(ctx: &egui::Context) {
    let mut fonts = FontDefinitions::default();
    for (name, bytes) in FALLBACKS {
        fonts
            .font_data
            .insert(name.to_owned(), Arc::new(FontData::from_static(bytes)));
        for family in [FontFamily::Proportional, FontFamily::Monospace] {
            let names = fonts.families.entry(family).or_default();
            let before_emoji = names
                .iter()
                .position(|n| EMOJI_FONTS.contains(&n.as_str()))
                .unwrap_or(names.len());
            names.insert(before_emoji, name.to_owned());
        }
    }
    ctx.set_fonts(fonts);
}

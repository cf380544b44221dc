//! The shipped font subsets have a glyph for every non-ASCII character in src/ (the string table,
//! error sentences, and symbols such as ᾱ, √ and ε), so neither language shows a missing glyph.
//! When this fails, run scripts/make_font_subset.py.
#![expect(
    clippy::expect_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

mod common;

use ab_glyph::{Font, FontRef};

const CJK: &[u8] = include_bytes!("../assets/fonts/NotoSansSC-Diffuscope.otf");
const SYMBOLS: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Diffuscope.ttf");

fn font(bytes: &'static [u8]) -> FontRef<'static> {
    FontRef::try_from_slice(bytes).expect("font does not parse")
}

#[test]
fn every_character_in_the_sources_has_a_glyph() {
    let fonts = [font(SYMBOLS), font(CJK)];
    let files = common::source_files("");
    let mut missing = std::collections::BTreeSet::new();
    for file in &files {
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for c in text
            .chars()
            .filter(|&c| !c.is_ascii() && !c.is_whitespace())
        {
            if fonts.iter().all(|f| f.glyph_id(c).0 == 0) {
                missing.insert(c);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the fonts lack {} characters: {} — run scripts/make_font_subset.py",
        missing.len(),
        missing.iter().collect::<String>()
    );
}

#[test]
fn both_fonts_cover_ascii() {
    for bytes in [CJK, SYMBOLS] {
        let font = font(bytes);
        for c in (0x20u8..0x7F).map(char::from) {
            assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c:?}");
        }
    }
}

/// Captions of exported frames are drawn with the Noto subset alone (no fallback there), so every
/// character any caption can contain must be in it.
#[test]
fn every_caption_character_is_in_the_caption_font() {
    use diffuscope::diffusion::forward::Noising;
    use diffuscope::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
    use diffuscope::export::forward::caption;

    let font = font(CJK);
    for kind in ScheduleKind::ALL {
        for zero_terminal_snr in [false, true] {
            let schedule = NoiseSchedule::new(ScheduleConfig {
                zero_terminal_snr,
                ..ScheduleConfig::new(kind, 1000)
            });
            for noising in Noising::ALL {
                let text = caption(1000, &schedule, noising);
                for c in text.chars() {
                    assert_ne!(
                        font.glyph_id(c).0,
                        0,
                        "no glyph for {c:?} in caption {text:?}"
                    );
                }
            }
        }
    }
}

//! Entry points for the fuzzers in `fuzz/` (cargo-fuzz) and for `tests/fuzz_corpus.rs`, which
//! replays their corpora in `cargo test`.
//!
//! Each function takes arbitrary bytes, hands them to the program's own loader exactly as a file or
//! a command line would reach it, and then uses what came back (or writes the error's sentence in
//! both languages). None may panic or allocate without bound, whatever the bytes; a crash the
//! fuzzers find is kept in `fuzz/regressions/<target>/` and replayed by the test.

use std::path::Path;

use crate::data::load::load_picture_from_bytes;
use crate::data::mnist::parse_digits;
use crate::data::picture::Picture;
use crate::diffusion::objectives::Objective;
use crate::i18n::Lang;
use crate::model::checkpoint::{
    classifier_from_bytes, diffusion_model_from_bytes, model_info_from_bytes,
};
use crate::ui::AppSettings;
use crate::ui::forward::ForwardView;
use crate::ui::forward::state::{ForwardSettings, ForwardState, PictureSource};
use crate::ui::reverse::ReverseView;
use crate::ui::reverse::state::ReverseState;
use crate::worker::run_file::read_run_bytes;

/// Both interface languages, for writing every error's sentence.
const LANGS: [Lang; 2] = [Lang::En, Lang::Zh];

/// An image file (PNG, JPEG, WebP, GIF, BMP, or anything else) loaded as the Forward view and
/// `--image` load it.
pub fn image(data: &[u8]) {
    match load_picture_from_bytes(data) {
        Ok(loaded) => {
            let picture = &loaded.picture;
            assert_eq!(
                picture.values.len(),
                picture.width * picture.height * 3,
                "a loaded picture has width × height × 3 values"
            );
            for lang in LANGS {
                let _ = loaded.note(lang);
            }
        }
        Err(error) => {
            for lang in LANGS {
                let _ = error.sentence(lang);
            }
        }
    }
}

/// A checkpoint (safetensors header, metadata and tensors): its description, then the diffusion
/// network and the classifier built from it on the CPU.
pub fn checkpoint(data: &[u8]) {
    let path = Path::new("fuzzed.safetensors");
    let device = candle_core::Device::Cpu;
    let results = [
        model_info_from_bytes(path, data).map(|_| ()),
        diffusion_model_from_bytes(path, data, &device).map(|_| ()),
        classifier_from_bytes(path, data, &device).map(|_| ()),
    ];
    for error in results.iter().filter_map(|r| r.as_ref().err()) {
        for lang in LANGS {
            let _ = error.sentence(lang);
        }
    }
}

/// An images file and a labels file in IDX format (plain or gzip): the first two bytes give the
/// images file's length (little-endian), the rest after it is the labels file.
pub fn idx(data: &[u8]) {
    let (images, labels) = split_two(data);
    match parse_digits(
        images,
        Path::new("images-idx3-ubyte"),
        labels,
        Path::new("labels-idx1-ubyte"),
    ) {
        Ok(digits) => {
            let _ = digits.class_counts();
            if let Some(first) = digits.image_unit(0) {
                assert_eq!(first.len(), 28 * 28, "a digit has 28 × 28 values");
            }
        }
        Err(error) => {
            for lang in LANGS {
                let _ = error.sentence(lang);
            }
        }
    }
}

/// The window's remembered settings, as eframe's persistence stores them (RON text), read as the
/// window reads them at start and then used: the Forward view's schedule and noise are computed
/// and the Reverse view's grid, sampler and run settings derived.
pub fn settings(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let storage = OneValue(text);
    let settings = AppSettings::from_storage(&storage);
    let picture = Picture::filled(4, 3, 0.0);
    let loaded = crate::data::load::LoadedPicture {
        picture,
        original_width: 4,
        original_height: 3,
        scaled_down: false,
    };
    let forward_settings: ForwardSettings = settings.view_settings(ForwardView::KEY);
    let photo = forward_settings.photo;
    let forward = ForwardState::new(forward_settings, loaded, PictureSource::Bundled(photo));
    let schedule = forward.schedule();
    let _ = schedule.alpha_bar(schedule.steps());
    let _ = forward.settings.sweep_secs();
    let reverse = ReverseState::new(settings.view_settings(ReverseView::KEY));
    let _ = reverse.settings.grid();
    let _ = reverse.settings.gif_stride_for(1000);
    let _ = reverse.settings.replay_speed();
    for objective in Objective::ALL {
        let _ = reverse.settings.sampler_for(objective);
        let _ = reverse.settings.run_settings(objective);
    }
}

/// The key the window's settings are stored under (as in `ui::app`).
/// A settings store holding one text under every key.
struct OneValue<'a>(&'a str);

impl eframe::Storage for OneValue<'_> {
    fn get_string(&self, _key: &str) -> Option<String> {
        Some(self.0.to_owned())
    }

    fn set_string(&mut self, _key: &str, _value: String) {}

    fn remove_string(&mut self, _key: &str) {}

    fn flush(&mut self) {}
}

/// A run file (`.dsrun`), opened as "Open run…" opens it.
pub fn run_file(data: &[u8]) {
    match read_run_bytes(Path::new("fuzzed.dsrun"), data) {
        Ok(record) => {
            let _ = record.frames.len();
        }
        Err(error) => {
            for lang in LANGS {
                let _ = error.sentence(lang);
            }
        }
    }
}

/// A command line: the bytes split at NUL or newline into arguments after `diffuscope`, parsed as
/// the program parses its own (every numeric option's range is checked by clap here).
pub fn cli_numbers(data: &[u8]) {
    let args = std::iter::once("diffuscope".to_owned()).chain(
        data.split(|&b| b == 0 || b == b'\n')
            .map(|arg| String::from_utf8_lossy(arg).into_owned()),
    );
    use clap::Parser as _;
    match crate::cli::Cli::try_parse_from(args) {
        Ok(cli) => {
            let _ = format!("{cli:?}");
        }
        Err(error) => {
            let _ = error.render().to_string();
        }
    }
}

/// Splits `data` into two files: the first two bytes give the first one's length.
fn split_two(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((head, rest)) = data.split_first_chunk::<2>() else {
        return (data, &[]);
    };
    let first = usize::from(u16::from_le_bytes(*head)).min(rest.len());
    rest.split_at(first)
}

//! The fuzzers' short run in CI: every file of `fuzz/corpus/<target>/` and every crash kept in
//! `fuzz/regressions/<target>/` goes through the same `diffuscope::fuzzing` function the fuzzer
//! calls, so a crash once found stays fixed. (The fuzzers themselves: `cargo fuzz run <target>`,
//! see the README's Tests section.)

use std::fs;
use std::path::{Path, PathBuf};

use diffuscope::fuzzing;
use diffuscope::i18n::Lang;
use diffuscope::ui::forward::ForwardView;
use diffuscope::ui::forward::state::ForwardSettings;
use diffuscope::ui::reverse::ReverseView;
use diffuscope::ui::reverse::state::ReverseSettings;

/// A fuzzed entry point.
type Target = fn(&[u8]);

/// The fuzz targets and the functions they call.
const TARGETS: [(&str, Target); 6] = [
    ("image", fuzzing::image),
    ("checkpoint", fuzzing::checkpoint),
    ("idx", fuzzing::idx),
    ("settings", fuzzing::settings),
    ("run_file", fuzzing::run_file),
    ("cli_numbers", fuzzing::cli_numbers),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none if the folder does not exist).
fn files(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn every_corpus_file_and_regression_runs_without_panicking() {
    for (target, run) in TARGETS {
        let corpus = files("corpus", target);
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{target}/ should hold seed files"
        );
        for path in corpus.iter().chain(&files("regressions", target)) {
            let bytes = read(path);
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            assert!(
                outcome.is_ok(),
                "fuzzing::{target} panicked on {}",
                path.display()
            );
        }
    }
}

#[test]
fn seed_pictures_load_so_the_image_fuzzer_starts_from_real_decoders() {
    for path in files("corpus", "image") {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let loaded = diffuscope::data::load::load_picture_from_bytes(&read(&path));
        if matches!(name.as_deref(), Some("cut.jpg" | "tiny.ppm")) {
            assert!(
                loaded.is_err(),
                "{name:?} is refused (cut short; a format not offered)"
            );
        } else {
            let loaded = loaded.unwrap_or_else(|e| {
                panic!("{}: {}", path.display(), e.sentence(Default::default()))
            });
            assert_eq!(
                (loaded.original_width, loaded.original_height),
                (5, 4),
                "{}",
                path.display()
            );
        }
    }
}

#[test]
fn seed_run_files_open_so_the_run_file_fuzzer_reaches_the_tensors() {
    for name in ["finished.dsrun", "guided_stopped.dsrun"] {
        let path = fuzz_dir().join("corpus").join("run_file").join(name);
        let record = diffuscope::worker::run_file::read_run_bytes(&path, &read(&path))
            .unwrap_or_else(|e| panic!("{name}: {}", e.sentence(Default::default())));
        assert_eq!(record.frames.len(), 2, "{name}");
        assert_eq!(record.samples.is_some(), name == "finished.dsrun");
    }
}

#[test]
fn seed_settings_are_read_as_the_window_reads_them() {
    struct One(String);
    impl eframe::Storage for One {
        fn get_string(&self, _key: &str) -> Option<String> {
            Some(self.0.clone())
        }
        fn set_string(&mut self, _key: &str, value: String) {
            self.0 = value;
        }
        fn remove_string(&mut self, _key: &str) {}
        fn flush(&mut self) {}
    }
    let path = fuzz_dir()
        .join("corpus")
        .join("settings")
        .join("defaults.ron");
    let text = String::from_utf8(read(&path)).unwrap();
    // An older version's settings: migrated, not lost.
    let settings = diffuscope::ui::AppSettings::from_storage(&One(text));
    let forward: ForwardSettings = settings.view_settings(ForwardView::KEY);
    let reverse: ReverseSettings = settings.view_settings(ReverseView::KEY);
    assert_eq!((forward.seed, reverse.grid_side), (3, 4));
    assert_eq!(
        (settings.lang, settings.view.as_str()),
        (Some(Lang::Zh), "reverse")
    );
    // This version's, written and read back.
    let mut written = One(String::new());
    eframe::set_value(&mut written, "diffuscope-settings", &settings);
    assert_eq!(
        diffuscope::ui::AppSettings::from_storage(&written),
        settings
    );
    // The seed of this version's format (views.ron) reads the same choices.
    let path = fuzz_dir().join("corpus").join("settings").join("views.ron");
    let current = String::from_utf8(read(&path)).unwrap();
    assert_eq!(
        diffuscope::ui::AppSettings::from_storage(&One(current)),
        settings
    );
}

/// Found by the `settings` fuzzer: a remembered T of 10¹⁴ made the window ask for 800 TB at start
/// (fuzz/regressions/settings/huge_schedule_steps.ron).
#[test]
fn remembered_schedule_numbers_are_brought_into_the_offered_ranges() {
    use diffuscope::diffusion::schedule::{ScheduleConfig, ScheduleKind};
    let hostile = ScheduleConfig {
        steps: 100_000_000_000_000,
        beta_start: f64::NAN,
        beta_end: -1.0,
        ..ScheduleConfig::new(ScheduleKind::Linear, 1000)
    };
    let offered = hostile.within_offered();
    assert_eq!(offered.steps, *ScheduleConfig::STEPS_RANGE.end());
    assert_eq!(
        (offered.beta_start, offered.beta_end),
        ScheduleKind::Linear.default_beta_range()
    );
    let tiny = ScheduleConfig {
        steps: 0,
        beta_start: 0.001,
        beta_end: 0.03,
        ..hostile
    }
    .within_offered();
    assert_eq!(tiny.steps, *ScheduleConfig::STEPS_RANGE.start());
    assert_eq!(
        (tiny.beta_start, tiny.beta_end),
        (0.001, 0.03),
        "usable βs are kept"
    );
}

/// A cheap stand-in for the fuzzers where cargo-fuzz is not installed: each corpus file mutated at
/// random (bytes flipped, cut, repeated, spliced) `FUZZ_SMOKE_ITERS` times per target (default
/// 2,000) through the same functions (`FUZZ_SMOKE_ONLY=image,idx` picks targets). Not coverage-guided; run with `cargo test --release --test
/// fuzz_corpus -- --ignored`.
#[test]
#[ignore = "slow; a random-mutation smoke run, not part of the ordinary suite"]
fn mutated_corpus_files_never_panic() {
    let iterations: u64 = std::env::var("FUZZ_SMOKE_ITERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let only = std::env::var("FUZZ_SMOKE_ONLY").ok();
    for (target, run) in TARGETS {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|t| t == target))
        {
            continue;
        }
        let seeds: Vec<Vec<u8>> = files("corpus", target).iter().map(|p| read(p)).collect();
        let started = std::time::Instant::now();
        for _ in 0..iterations {
            let pick = |n: u64, len: usize| (n % (len.max(1) as u64)) as usize;
            let mut bytes = seeds[pick(next(), seeds.len())].clone();
            for _ in 0..=next() % 4 {
                let at = pick(next(), bytes.len());
                match next() % 5 {
                    0 if !bytes.is_empty() => bytes[at] ^= 1 << (next() % 8),
                    1 if !bytes.is_empty() => bytes[at] = next() as u8,
                    2 => bytes.truncate(at),
                    3 => {
                        let chunk: Vec<u8> = bytes[at..].iter().take(16).copied().collect();
                        bytes.splice(at..at, chunk);
                    }
                    _ => bytes.insert(at.min(bytes.len()), next() as u8),
                }
            }
            let outcome = std::panic::catch_unwind(|| run(&bytes));
            if outcome.is_err() {
                let kept = std::env::temp_dir().join(format!("fuzz-crash-{target}"));
                let _ = fs::write(&kept, &bytes);
                panic!(
                    "fuzzing::{target} panicked; input kept at {}",
                    kept.display()
                );
            }
        }
        eprintln!(
            "{target}: {iterations} mutated inputs in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
}

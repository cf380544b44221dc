//! The command line's limits, as a user meets them: every number an option takes has a range
//! that `--help` states and parsing enforces; work beyond the memory budget is refused before it
//! starts; the window without a display says so. Each ends with one line on stderr.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

use std::any::TypeId;
use std::path::Path;
use std::process::{Command, Output};

use clap::CommandFactory as _;

fn diffuscope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_diffuscope"))
        .args(args)
        .output()
        .expect("could not run diffuscope")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// One numeric option: where it is, its name, its range as `--help` writes it, and whether it
/// takes whole numbers only.
struct Ranged {
    command: &'static [&'static str],
    option: &'static str,
    low: &'static str,
    high: &'static str,
    whole: bool,
}

const fn ranged(
    command: &'static [&'static str],
    option: &'static str,
    low: &'static str,
    high: &'static str,
    whole: bool,
) -> Ranged {
    Ranged {
        command,
        option,
        low,
        high,
        whole,
    }
}

const WINDOW: &[&str] = &[];
const EXPORT: &[&str] = &["export", "forward"];
const SAMPLE: &[&str] = &["sample"];
const TRAIN: &[&str] = &["train"];
const RACE: &[&str] = &["race"];
const EVAL: &[&str] = &["eval"];
const EVAL_LOSS: &[&str] = &["eval-loss"];
const BENCH_MODEL: &[&str] = &["bench", "model"];
const BENCH_SOAK: &[&str] = &["bench", "soak"];
const BENCH_TRAIN: &[&str] = &["bench", "train"];
const TOY: &[&str] = &["toy"];
const SEED_MAX: &str = "18446744073709551615";

/// Every numeric option of every command.
const OPTIONS: &[Ranged] = &[
    ranged(WINDOW, "--steps", "1", "1000", true),
    ranged(WINDOW, "--zoom", "0.5", "3", false),
    ranged(EXPORT, "--steps", "10", "1000", true),
    ranged(EXPORT, "--seed", "0", SEED_MAX, true),
    ranged(EXPORT, "--frames", "2", "1001", true),
    ranged(EXPORT, "--fps", "0.1", "50", false),
    ranged(EXPORT, "--width", "16", "8192", true),
    ranged(EXPORT, "--repeat", "0", "65535", true),
    ranged(SAMPLE, "--class", "0", "9", true),
    ranged(SAMPLE, "--guidance", "0", "20", false),
    ranged(SAMPLE, "--seed", "0", SEED_MAX, true),
    ranged(SAMPLE, "--eta", "0", "1", false),
    ranged(SAMPLE, "--steps", "1", "1000", true),
    ranged(SAMPLE, "--stride", "1", "1000", true),
    ranged(SAMPLE, "--fps", "0.1", "50", false),
    ranged(SAMPLE, "--hold", "0", "60", false),
    ranged(SAMPLE, "--gif-sample", "0", "255", true),
    ranged(SAMPLE, "--scale", "1", "16", true),
    ranged(RACE, "--class", "0", "9", true),
    ranged(RACE, "--guidance", "0", "20", false),
    ranged(RACE, "--seed", "0", SEED_MAX, true),
    ranged(RACE, "--frames", "2", "400", true),
    ranged(RACE, "--fps", "0.1", "50", false),
    ranged(RACE, "--scale", "1", "16", true),
    ranged(EVAL, "--steps", "1", "1000", true),
    ranged(EVAL, "--samples", "10", "5000", true),
    ranged(EVAL, "--guidance", "0", "20", false),
    ranged(EVAL, "--seed", "0", SEED_MAX, true),
    ranged(EVAL, "--repeats", "1", "20", true),
    ranged(EVAL_LOSS, "--levels", "2", "200", true),
    ranged(EVAL_LOSS, "--digits", "1", "10000", true),
    ranged(EVAL_LOSS, "--seed", "0", SEED_MAX, true),
    ranged(TRAIN, "--steps", "1", "1000000", true),
    ranged(TRAIN, "--batch", "1", "4096", true),
    ranged(TRAIN, "--lr", "0.000001", "1", false),
    ranged(TRAIN, "--warmup", "0", "1000000", true),
    ranged(TRAIN, "--ema", "0", "0.99999", false),
    ranged(TRAIN, "--label-dropout", "0", "1", false),
    ranged(TRAIN, "--seed", "0", SEED_MAX, true),
    ranged(TRAIN, "--save-every", "1", "1000000", true),
    ranged(TRAIN, "--strip-every", "1", "1000000", true),
    ranged(BENCH_MODEL, "--batch", "1", "4096", true),
    ranged(BENCH_SOAK, "--minutes", "0.1", "1440", false),
    ranged(BENCH_SOAK, "--seed", "0", SEED_MAX, true),
    ranged(BENCH_SOAK, "--hang-secs", "5", "3600", true),
    ranged(BENCH_TRAIN, "--steps", "1", "100", true),
    ranged(BENCH_TRAIN, "--batch", "1", "1024", true),
    ranged(TOY, "--count", "10", "100000", true),
    ranged(TOY, "--timesteps", "2", "1000", true),
    ranged(TOY, "--seconds", "0.1", "600", false),
    ranged(TOY, "--steps", "1", "1000000", true),
    ranged(TOY, "--batch", "1", "4096", true),
    ranged(TOY, "--lr", "0.000001", "1", false),
    ranged(TOY, "--seed", "0", SEED_MAX, true),
    ranged(TOY, "--samples", "1", "100000", true),
    ranged(TOY, "--sample-steps", "1", "1000", true),
];

/// Values a careless script passes: zero, negative, not a number, infinite, huge, fractional.
const CANDIDATES: &[&str] = &["0", "-1", "NaN", "inf", "-inf", "1e30", "4294967296", "0.5"];

impl Ranged {
    /// Whether `value` lies outside the option's range (so it must be refused).
    fn refuses(&self, value: &str) -> bool {
        let (low, high) = (self.low.parse::<f64>(), self.high.parse::<f64>());
        let (Ok(low), Ok(high)) = (low, high) else {
            panic!("{}: bad range in the table", self.option)
        };
        let Ok(number) = value.parse::<f64>() else {
            return true;
        };
        let fractional = number.fract() != 0.0 || value.contains(['e', 'E', '.']);
        !number.is_finite() || number < low || number > high || (self.whole && fractional)
    }

    /// Its help: the lines from the option's own line to the next option.
    fn help_block(&self) -> String {
        let mut args: Vec<&str> = self.command.to_vec();
        args.push("--help");
        let output = diffuscope(&args);
        assert!(output.status.success(), "{args:?}");
        let help = String::from_utf8_lossy(&output.stdout).into_owned();
        let mut block = String::new();
        let mut inside = false;
        for line in help.lines() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('-') {
                inside = trimmed.starts_with(&format!("{} ", self.option));
            }
            if inside {
                block.push_str(line);
                block.push('\n');
            }
        }
        assert!(
            !block.is_empty(),
            "{} is not in {args:?}:\n{help}",
            self.option
        );
        block
    }
}

/// The types a number parses into.
fn numeric_types() -> [TypeId; 10] {
    [
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<isize>(),
        TypeId::of::<f32>(),
        TypeId::of::<f64>(),
    ]
}

/// Every option of `command` and its subcommands whose value is a number: (subcommand path,
/// "--option").
fn numeric_options(
    command: &clap::Command,
    path: &mut Vec<String>,
    found: &mut Vec<(String, String)>,
) {
    for arg in command.get_arguments() {
        let parsed = arg.get_value_parser().type_id();
        if numeric_types().iter().any(|t| parsed == *t)
            && let Some(long) = arg.get_long()
        {
            found.push((path.join(" "), format!("--{long}")));
        }
    }
    for sub in command.get_subcommands() {
        path.push(sub.get_name().to_owned());
        numeric_options(sub, path, found);
        path.pop();
    }
}

#[test]
fn the_table_holds_every_numeric_option() {
    let mut found = Vec::new();
    numeric_options(
        &diffuscope::cli::Cli::command(),
        &mut Vec::new(),
        &mut found,
    );
    let listed: Vec<(String, String)> = OPTIONS
        .iter()
        .map(|o| (o.command.join(" "), o.option.to_owned()))
        .collect();
    for option in &found {
        assert!(
            listed.contains(option),
            "{option:?} takes a number but has no row in OPTIONS: give it a range \
             (cli::ranges), state it in its help as [low–high] and add the row"
        );
    }
    assert_eq!(found.len(), listed.len(), "{found:?}");
}

#[test]
fn help_states_every_numeric_options_range() {
    for option in OPTIONS {
        let block = option.help_block();
        let range = format!("[{}–{}]", option.low, option.high);
        assert!(
            block.contains(&range),
            "{:?} {}: the help does not say {range}:\n{block}",
            option.command,
            option.option
        );
    }
}

#[test]
fn every_value_out_of_range_is_refused_in_one_line_naming_the_option_and_range() {
    let mut refused = 0;
    for option in OPTIONS {
        for &value in CANDIDATES.iter().filter(|v| option.refuses(v)) {
            let mut args: Vec<&str> = option.command.to_vec();
            args.extend([option.option, value]);
            let output = diffuscope(&args);
            let message = stderr(&output);
            assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
            assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
            let kind = if option.whole {
                "a whole number"
            } else {
                "a number"
            };
            let expected = format!(
                "diffuscope: {} must be {kind} from {} to {}, not “{value}”.",
                option.option, option.low, option.high
            );
            assert_eq!(message.trim_end(), expected, "{args:?}");
            refused += 1;
        }
    }
    assert!(refused > 100, "only {refused} cases ran");
}

#[test]
fn the_range_sentence_follows_lang() {
    let output = diffuscope(&["sample", "--lang", "zh", "--eta", "NaN"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output).trim_end(),
        "diffuscope: --eta 必须是 0 到 1 之间的数，不能是“NaN”。"
    );
}

#[test]
fn other_argument_errors_are_one_line_too() {
    for args in [
        &["export", "forward", "--nope"][..],
        &["export", "forward", "--max-size", "0"],
        &["export", "forward", "--max-size", "-1"],
        &["export", "forward", "--max-size", "NaN"],
        &["sample", "--grid", "0x0"],
        &["sample", "--grid", "17x1"],
        &["sample", "--grid", "NaN"],
        &["--samples", "0"],
        &["--samples", "1e30"],
        &["bogus"],
        &["train"],
    ] {
        let output = diffuscope(args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
        assert!(message.starts_with("diffuscope: "), "{args:?}: {message}");
        if let Some(option) = args.iter().find(|a| a.starts_with("--") && **a != "--nope") {
            assert!(message.contains(option), "{args:?}: {message}");
        }
    }
}

#[test]
fn an_export_beyond_the_memory_budget_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    // A photo 250 times taller than wide, drawn 8192 pixels wide: one frame alone would be
    // 8192 × 2 048 000 pixels (about 50 GB), whatever the machine.
    let photo = dir.path().join("tall.png");
    image::RgbImage::new(16, 4000).save(&photo).unwrap();
    let gif = dir.path().join("huge.gif");
    let output = diffuscope(&[
        "export",
        "forward",
        "--image",
        photo.to_str().unwrap_or_default(),
        "--width",
        "8192",
        "--out",
        gif.to_str().unwrap_or_default(),
    ]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("This export would need about") && message.contains("--width"),
        "{message}"
    );
    std::fs::remove_file(&photo).unwrap();
    assert_no_files(dir.path());
}

/// GIF frames are written as they are made, so a long export holds a few frames, not all: a
/// sweep of 150 frames of an 800 × 600 photo (1.6 MB each, so 0.24 GB kept, and about three times
/// that while encoding, before streaming) peaked at 0.1 GB (measured: 200 frames of 1000 × 750
/// peaked at 105 MB in the debug build).
#[test]
fn a_long_export_holds_only_a_few_frames_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.png");
    image::RgbImage::from_fn(800, 600, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x * y) % 251) as u8])
    })
    .save(&photo)
    .unwrap();
    let gif = dir.path().join("sweep.gif");
    let output = diffuscope(&[
        "export",
        "forward",
        "--image",
        photo.to_str().unwrap_or_default(),
        "--frames",
        "150",
        "--out",
        gif.to_str().unwrap_or_default(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let peak = largest_child_peak_bytes();
    assert!(
        peak < PEAK_BOUND_BYTES,
        "the export peaked at {} MB",
        peak >> 20
    );
}

/// What `a_long_export_holds_only_a_few_frames_at_a_time` may peak at (see the README's memory
/// figures for what was measured).
const PEAK_BOUND_BYTES: u64 = 300 << 20;

/// The largest peak resident memory of any child process this test binary has waited for (the
/// other tests here start only small ones).
#[expect(
    unsafe_code,
    reason = "getrusage has no safe wrapper among our dependencies"
)]
fn largest_child_peak_bytes() -> u64 {
    // SAFETY: getrusage only writes into the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage);
        usage
    };
    // Linux reports kilobytes.
    u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
}

#[test]
fn a_training_batch_beyond_the_memory_budget_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.safetensors");
    let output = diffuscope(&[
        "train",
        "--batch",
        "4096",
        "--cpu",
        "--out",
        out.to_str().unwrap_or_default(),
    ]);
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("This training run would need about") && message.contains("--batch"),
        "{message}"
    );
    assert_no_files(dir.path());
}

#[test]
fn help_states_the_memory_budget() {
    for command in [EXPORT, SAMPLE, TRAIN] {
        let mut args = command.to_vec();
        args.push("--help");
        let help = String::from_utf8_lossy(&diffuscope(&args).stdout).into_owned();
        assert!(
            help.contains("Memory: work that would need more than"),
            "{command:?}:\n{help}"
        );
    }
}

/// Without a display the window stops with our sentence alone: nothing the graphics libraries
/// would print before it.
#[cfg(target_os = "linux")]
#[test]
fn the_window_without_a_display_says_so_in_one_line() {
    for lang in ["en", "zh"] {
        let output = Command::new(env!("CARGO_BIN_EXE_diffuscope"))
            .args(["--lang", lang])
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("WAYLAND_SOCKET")
            .output()
            .expect("could not run diffuscope");
        let message = stderr(&output);
        assert!(!output.status.success(), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.starts_with("diffuscope: "), "{message}");
        assert!(message.contains("DISPLAY"), "{message}");
    }
    // A display that is named but does not answer (no X server on :65000).
    let output = Command::new(env!("CARGO_BIN_EXE_diffuscope"))
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("WAYLAND_SOCKET")
        .env("DISPLAY", ":65000")
        .output()
        .expect("could not run diffuscope");
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("DISPLAY=:65000"), "{message}");
}

fn assert_no_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

//! The invariants ARCHITECTURE.md promises about dependencies, checked on the source text: each
//! module of `src/` uses only the crates and the program's modules its entry in [`ALLOWED`] lists
//! (so only the window's modules touch egui and wgpu), and `diffusion/` stays free of file access.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each module of `src/`: the crates it may use (besides `std`), and the program's other modules it
/// may reach into (`crate::…`). A new module needs an entry; a new use, a change here.
const ALLOWED: &[(&str, &[&str], &[&str])] = &[
    ("lib", &[], &[]),
    ("main", &["mimalloc", "libmimalloc_sys"], &[]),
    ("process", &[], &[]),
    ("i18n", &["serde", "sys_locale"], &[]),
    ("memory_budget", &[], &["i18n"]),
    (
        "diffusion",
        &[
            "rand",
            "rand_chacha",
            "rand_distr",
            "rayon",
            "serde",
            "thiserror",
        ],
        &[],
    ),
    (
        "data",
        &["flate2", "image", "libc", "serde", "thiserror"],
        &["i18n"],
    ),
    (
        "model",
        &[
            "candle_core",
            "candle_nn",
            "gemm",
            "pulp",
            "rayon",
            "safetensors",
            "serde",
            "serde_json",
            "thiserror",
        ],
        &["data", "diffusion", "i18n"],
    ),
    (
        "sample",
        &["candle_core", "image", "rayon", "thiserror"],
        &["diffusion", "i18n", "model"],
    ),
    (
        "quality",
        &["candle_core", "nalgebra", "rayon", "thiserror"],
        &["data", "diffusion", "i18n", "model", "sample"],
    ),
    (
        "export",
        &[
            "ab_glyph",
            "gif",
            "image",
            "quantette",
            "rayon",
            "signal_hook",
            "tempfile",
            "thiserror",
            "plotters",
        ],
        &["data", "diffusion", "i18n", "sample", "worker"],
    ),
    (
        "worker",
        &[
            "bytemuck",
            "candle_core",
            "crossbeam_channel",
            "half",
            "rayon",
            "serde",
            "serde_json",
            "thiserror",
        ],
        &["data", "diffusion", "export", "i18n", "model", "sample"],
    ),
    (
        "train",
        &[
            "candle_core",
            "candle_nn",
            "rand",
            "rand_chacha",
            "rand_distr",
            "rayon",
            "safetensors",
            "thiserror",
        ],
        &[
            "data",
            "diffusion",
            "export",
            "i18n",
            "memory_budget",
            "model",
            "sample",
        ],
    ),
    (
        "clock",
        &["candle_core", "candle_nn"],
        &["data", "diffusion", "i18n", "model", "sample", "train"],
    ),
    (
        "toy",
        &[
            "candle_core",
            "candle_nn",
            "contour",
            "image",
            "rand",
            "rand_chacha",
            "rand_distr",
            "rayon",
            "serde",
            "thiserror",
        ],
        &[
            "data",
            "diffusion",
            "export",
            "i18n",
            "model",
            "sample",
            "train",
        ],
    ),
    (
        "render",
        &["bytemuck", "egui", "egui_wgpu", "half", "pollster", "wgpu"],
        &["i18n"],
    ),
    (
        "ui",
        &[
            "base64",
            "crossbeam_channel",
            "eframe",
            "egui",
            "egui_file",
            "egui_plot",
            "egui_wgpu",
            "half",
            "image",
            "pollster",
            "rfd",
            "serde",
            "serde_json",
            "thiserror",
            "zbus",
        ],
        &[
            "clock",
            "data",
            "diffusion",
            "export",
            "i18n",
            "model",
            "process",
            "quality",
            "render",
            "sample",
            "toy",
            "train",
            "worker",
        ],
    ),
    (
        "cli",
        &["candle_core", "clap", "eframe", "indicatif"],
        &[
            "bench",
            "data",
            "diffusion",
            "export",
            "i18n",
            "memory_budget",
            "model",
            "quality",
            "sample",
            "toy",
            "train",
            "ui",
            "worker",
        ],
    ),
    (
        "bench",
        &[
            "candle_core",
            "candle_nn",
            "gif",
            "image",
            "rand",
            "rand_chacha",
            "rayon",
            "tempfile",
            "wgpu",
        ],
        &[
            "data",
            "diffusion",
            "export",
            "i18n",
            "model",
            "process",
            "render",
            "sample",
            "train",
            "worker",
        ],
    ),
    (
        "fuzzing",
        &["candle_core", "clap", "eframe"],
        &["cli", "data", "diffusion", "i18n", "model", "ui", "worker"],
    ),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The files of module `name`: `src/<name>.rs`, or everything under `src/<name>/`.
fn module_files(name: &str) -> Vec<PathBuf> {
    let file = src().join(format!("{name}.rs"));
    if file.is_file() {
        vec![file]
    } else {
        common::source_files(name)
    }
}

/// Code lines of a module (comments left out), with their file.
fn code_lines(module: &str) -> Vec<(PathBuf, String)> {
    module_files(module)
        .into_iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            text.lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(|line| (file.clone(), line.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The crates the program depends on (Cargo.toml's `[dependencies]` and target dependencies), with
/// `-` written `_`.
fn dependencies() -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .unwrap_or_else(|e| panic!("Cargo.toml: {e}"));
    let mut in_dependencies = false;
    let mut crates = BTreeSet::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line.ends_with("dependencies]")
                && !line.contains("dev-dependencies")
                && !line.contains("build-dependencies");
        } else if in_dependencies
            && let Some((name, _)) = line.split_once('=')
            && !name.trim().is_empty()
            && !name.trim_start().starts_with('#')
        {
            crates.insert(name.trim().replace('-', "_"));
        }
    }
    crates
}

/// Every identifier followed by `::` in `line` (path roots and segments alike).
fn path_segments(line: &str) -> Vec<&str> {
    let mut segments = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("::") {
        let before = &rest[..at];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        segments.push(&before[start..]);
        rest = &rest[at + 2..];
    }
    segments
}

#[test]
fn every_module_uses_only_what_it_is_allowed() {
    let crates = dependencies();
    assert!(
        crates.contains("candle_core") && crates.contains("egui"),
        "{crates:?}"
    );
    for (module, allowed_crates, allowed_modules) in ALLOWED {
        for (file, line) in code_lines(module) {
            for segment in path_segments(&line) {
                assert!(
                    !crates.contains(segment) || allowed_crates.contains(&segment),
                    "{} uses the crate `{segment}`, which {module} may not (tests/architecture.rs): {line}",
                    file.display()
                );
            }
            for (index, _) in line.match_indices("crate::") {
                let used = line[index + 7..]
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default();
                assert!(
                    used == *module || allowed_modules.contains(&used),
                    "{} reaches into `crate::{used}`, which {module} may not (tests/architecture.rs): {line}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn every_module_has_an_entry() {
    let listed: BTreeSet<&str> = ALLOWED.iter().map(|(module, _, _)| *module).collect();
    for entry in std::fs::read_dir(src()).unwrap_or_else(|e| panic!("src/: {e}")) {
        let path = entry.unwrap_or_else(|e| panic!("src/: {e}")).path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        assert!(
            listed.contains(name),
            "src/{name} has no entry in tests/architecture.rs's ALLOWED"
        );
    }
}

#[test]
fn only_the_window_touches_egui_and_wgpu() {
    let window = [
        "egui",
        "eframe",
        "egui_wgpu",
        "egui_plot",
        "egui_file",
        "wgpu",
    ];
    for (module, crates, _) in ALLOWED {
        let touches: Vec<_> = crates.iter().filter(|c| window.contains(c)).collect();
        let allowed = matches!(*module, "ui" | "render" | "bench" | "cli" | "fuzzing");
        assert!(
            touches.is_empty() || allowed,
            "{module} may not use {touches:?}"
        );
    }
}

#[test]
fn the_mathematics_depends_on_numbers_only() {
    for (file, line) in code_lines("diffusion") {
        for word in ["candle", "std::fs", "File::"] {
            assert!(
                !line.contains(word),
                "{} uses `{word}`, which diffusion/ must not: {line}",
                file.display()
            );
        }
    }
}

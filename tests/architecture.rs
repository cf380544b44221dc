//! The invariants ARCHITECTURE.md promises about dependencies, checked on the source text: only `ui/`
//! touches egui, eframe or wgpu, and `diffusion/` stays free of candle and of file access.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

mod common;

use std::path::PathBuf;

/// Code lines of every `.rs` file under `src/<module>` (comments left out), with their file.
fn code_lines(module: &str) -> Vec<(PathBuf, String)> {
    common::source_files(module)
        .into_iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            text.lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(|line| (file.clone(), line.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn assert_absent(modules: &[&str], words: &[&str]) {
    for module in modules {
        for (file, line) in code_lines(module) {
            for word in words {
                assert!(
                    !line.contains(word),
                    "{} uses `{word}`, which {module}/ must not: {line}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn only_the_user_interface_touches_egui_and_wgpu() {
    assert_absent(
        &[
            "diffusion",
            "data",
            "export",
            "model",
            "sample",
            "train",
            "worker",
        ],
        &["egui", "eframe", "wgpu"],
    );
}

#[test]
fn the_mathematics_depends_on_numbers_only() {
    assert_absent(&["diffusion"], &["candle", "std::fs", "File::"]);
}

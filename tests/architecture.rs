//! The invariants ARCHITECTURE.md promises about dependencies, checked on the source text: only `ui/`
//! touches egui, eframe or wgpu, and `diffusion/` stays free of candle and of file access.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Code lines of every `.rs` file under `src/<module>` (comments left out), with their file.
fn code_lines(module: &str) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join(module),
        &mut files,
    );
    files
        .into_iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
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

//! Every `ALL` list names each variant of its enum once, read from the source text: a sampler,
//! schedule or objective added to its enum but not to `ALL` would compile, and then be missing
//! from the command line's choices, the menus and the tests that walk `ALL`.

mod common;

use std::path::PathBuf;

/// The text of every source file.
fn sources() -> Vec<(PathBuf, String)> {
    common::source_files("")
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            (file, text)
        })
        .collect()
}

/// The words of `text` between the first `{` or `[` after `start` and its closing bracket.
fn bracketed(text: &str, start: usize, open: char, close: char) -> &str {
    let from = start
        + text[start..]
            .find(open)
            .unwrap_or_else(|| panic!("no {open}"))
        + 1;
    let to = from
        + text[from..]
            .find(close)
            .unwrap_or_else(|| panic!("no {close}"));
    &text[from..to]
}

/// The variant names of `pub enum name` (its lines that start with a capital letter).
fn variants(sources: &[(PathBuf, String)], name: &str) -> Vec<String> {
    let header = format!("pub enum {name} {{");
    let (_, text) = sources
        .iter()
        .find(|(_, text)| text.contains(&header))
        .unwrap_or_else(|| panic!("no `{header}` in src/"));
    let start = text.find(&header).unwrap_or_default();
    bracketed(text, start, '{', '}')
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|line| {
            line.split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[test]
fn every_all_list_names_each_variant_once() {
    let sources = sources();
    let mut checked = Vec::new();
    for (file, text) in &sources {
        for (at, _) in text.match_indices("pub const ALL: [Self;") {
            let before = &text[..at];
            let name = before[before.rfind("impl ").unwrap_or_else(|| panic!("{file:?}"))..]
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .trim_end_matches('{')
                .to_owned();
            let after_type = at + text[at..].find('=').unwrap_or_default();
            let mut listed: Vec<String> = bracketed(text, after_type, '[', ']')
                .split(',')
                .map(|entry| entry.trim().trim_start_matches("Self::").to_owned())
                .filter(|entry| !entry.is_empty())
                .collect();
            let count = listed.len();
            listed.sort();
            listed.dedup();
            assert_eq!(listed.len(), count, "{name}::ALL names a variant twice");
            let mut declared = variants(&sources, &name);
            declared.sort();
            assert_eq!(listed, declared, "{name}::ALL against `pub enum {name}`");
            checked.push(name);
        }
    }
    // The lists this test exists for; a list it cannot find is a list it does not check.
    for name in ["SamplerKind", "ScheduleKind", "Objective", "Lang"] {
        assert!(
            checked.iter().any(|c| c == name),
            "{name} not checked: {checked:?}"
        );
    }
}

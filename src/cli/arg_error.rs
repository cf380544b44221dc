//! Argument errors as the program's other errors read: one line, "diffuscope: <sentence>", exit
//! status 2. clap's own layout (the error, a blank line, the usage, "For more information…") is
//! folded into that line; `--help` and `--version` print as clap prints them.

use std::error::Error as _;
use std::ffi::OsString;

use clap::Parser as _;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::Cli;
use super::ranges::OutOfRange;
use crate::i18n::Lang;

/// The exit status of a bad command line (as clap's).
const USAGE_EXIT: i32 = 2;

/// Parses the process's arguments. A bad one ends the process with status 2 after one line on
/// stderr naming it; `--help` and `--version` print and end it with status 0, as clap's `parse`.
pub fn parse() -> Cli {
    let args: Vec<OsString> = std::env::args_os().collect();
    match try_parse(&args) {
        Ok(cli) => cli,
        Err(error) if is_help(&error) => error.exit(),
        Err(error) => {
            eprintln!("diffuscope: {}", one_line(&error, lang_of(&args)));
            std::process::exit(USAGE_EXIT)
        }
    }
}

/// Parses `args` (the program's name first).
pub fn try_parse(args: &[OsString]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(args)
}

/// Whether the "error" is help or the version, which clap prints itself (help also when a
/// command that needs a subcommand was given none).
fn is_help(error: &clap::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// The language the user asked for with `--lang zh`/`--lang=zh`; English otherwise.
fn lang_of(args: &[OsString]) -> Lang {
    let words: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
    let asked = words.windows(2).any(|w| w == ["--lang", "zh"]) || words.contains(&"--lang=zh");
    if asked { Lang::Zh } else { Lang::En }
}

/// The error as one sentence, without the "diffuscope:" in front.
pub fn one_line(error: &clap::Error, lang: Lang) -> String {
    if let Some(range) = error
        .source()
        .and_then(|source| source.downcast_ref::<OutOfRange>())
    {
        let option = context(error, ContextKind::InvalidArg);
        let value = context(error, ContextKind::InvalidValue);
        // "--fps <FPS>" → "--fps".
        let option = option.split_whitespace().next().unwrap_or_default();
        return range.sentence(option, &value, lang);
    }
    let text = folded(&error.render().to_string());
    match lang {
        Lang::En => text,
        Lang::Zh => format!("参数不对：{text}"),
    }
}

/// A piece of the error's context as text ("" where it has none).
fn context(error: &clap::Error, kind: ContextKind) -> String {
    match error.get(kind) {
        Some(ContextValue::String(text)) => text.clone(),
        Some(ContextValue::Strings(texts)) => texts.join(", "),
        _ => String::new(),
    }
}

/// clap's text on one line: "error: " and the usage and "For more information" paragraphs
/// dropped, the rest joined; a capital first letter and a full stop, as a sentence.
fn folded(rendered: &str) -> String {
    let text = rendered.trim().trim_start_matches("error: ");
    let kept: Vec<String> = text
        .split("\n\n")
        .filter(|p| !p.starts_with("Usage:") && !p.starts_with("For more information"))
        .map(|p| {
            p.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut line = kept.join("; ");
    if let Some(first) = line.chars().next() {
        line.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
    }
    if !line.ends_with(['.', '。']) {
        line.push('.');
    }
    line.push_str(" See --help.");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(args: &[&str]) -> String {
        let args: Vec<OsString> = std::iter::once("diffuscope")
            .chain(args.iter().copied())
            .map(OsString::from)
            .collect();
        match try_parse(&args) {
            Ok(_) => panic!("{args:?} was accepted"),
            Err(error) => one_line(&error, lang_of(&args)),
        }
    }

    #[test]
    fn a_value_out_of_range_names_the_option_and_the_range() {
        assert_eq!(
            error_of(&["export", "forward", "--fps", "0"]),
            "--fps must be a number from 0.1 to 50, not “0”."
        );
        assert!(error_of(&["sample", "--lang", "zh", "--eta", "2"]).contains("0 到 1"));
    }

    #[test]
    fn other_errors_are_one_line_too() {
        for args in [
            &["export", "forward", "--nope"][..],
            &["bogus"],
            &["train"],
            &["--sampler", "euler-a"],
        ] {
            let line = error_of(args);
            assert!(!line.contains('\n'), "{args:?}: {line}");
            assert!(!line.contains("Usage:"), "{args:?}: {line}");
        }
        assert!(error_of(&["train"]).contains("--out"));
        assert!(error_of(&["bogus"]).contains("neither a command"));
        assert!(error_of(&["--sampler", "euler-a"]).contains("flow-heun"));
    }
}

//! Every `diffuscope …` command the README shows is accepted by the real command line, so the
//! README cannot drift from the flags (`scripts/readme-commands.py`, run by CI, also runs them).

use clap::Parser;
use diffuscope::cli::Cli;

/// The `diffuscope …` lines of the README's code blocks, without their trailing `# comments`.
fn readme_commands() -> Vec<String> {
    let readme = include_str!("../README.md");
    let mut in_code = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        let command = line.split(" # ").next().unwrap_or_default().trim();
        if in_code && (command == "diffuscope" || command.starts_with("diffuscope ")) {
            commands.push(command.to_owned());
        }
    }
    commands
}

#[test]
fn the_readme_shows_commands() {
    let commands = readme_commands();
    assert!(commands.len() >= 8, "found only {commands:?}");
    assert!(commands.iter().any(|c| c.starts_with("diffuscope train")));
}

#[test]
fn every_readme_command_parses() {
    for command in readme_commands() {
        let words = command.split_whitespace();
        if let Err(error) = Cli::try_parse_from(words) {
            // `--help` and `--version` "fail" by printing what was asked for.
            let shown = matches!(
                error.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            assert!(shown, "the README's `{command}` is refused:\n{error}");
        }
    }
}

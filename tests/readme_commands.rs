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

/// The README's example caption names the step at which DDIM-50 (trailing spacing, as the program
/// runs it) reaches t = 760; captions count steps from 1.
#[test]
fn the_readme_caption_example_names_the_right_step() {
    use diffuscope::diffusion::samplers::{SamplerKind, SamplerSpec};
    let spec = SamplerSpec::new(SamplerKind::Ddim, 50);
    let timesteps = spec.spacing.timesteps(1000, 50);
    let index = timesteps
        .iter()
        .position(|&t| t == 760)
        .unwrap_or_else(|| panic!("DDIM-50 never visits t = 760: {timesteps:?}"));
    let caption = format!("\"step {} / 50 · t = 760 · DDIM · 50 steps", index + 1);
    assert!(
        include_str!("../README.md").contains(&caption),
        "the README should show {caption}"
    );
}

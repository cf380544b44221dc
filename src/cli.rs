//! The command line: no subcommand opens the window; `export` and `bench` work without one.
//! Every failure a user can cause ends with one sentence on stderr and a non-zero exit.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use crate::data::bundled::BundledPhoto;
use crate::data::load::{LoadedPicture, load_picture_from_path};
use crate::diffusion::forward::Noising;
use crate::diffusion::{NoiseSchedule, ScheduleConfig, ScheduleKind};
use crate::export::forward::{Sweep, caption, sweep_frames};
use crate::export::{GifSettings, Repeat, write_gif, write_png};
use crate::i18n::Lang;

/// Diffuscope shows how diffusion models turn noise into pictures, one step at a time.
/// Run without a subcommand to open the window.
#[derive(Debug, Parser)]
#[command(name = "diffuscope", version, about, long_about = None)]
pub struct Cli {
    /// What to do; nothing opens the window.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export a process as an animated GIF (and optionally PNG frames) without opening the window.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Measure how fast the program is on this machine and print the figures.
    #[command(subcommand)]
    Bench(BenchCommand),
}

/// What to export.
#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The forward process: the photo dissolving into noise as t goes from 0 to T.
    Forward(ForwardExportArgs),
}

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The forward view: computing x_t, walking the chain, exporting a GIF.
    Forward,
}

/// Noise schedule shapes as named on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScheduleArg {
    /// β_t linear in t (DDPM).
    Linear,
    /// Squared-cosine ᾱ (Nichol & Dhariwal).
    Cosine,
    /// β_t along a sigmoid.
    Sigmoid,
    /// √β_t linear in t (Stable Diffusion).
    ScaledLinear,
}

impl From<ScheduleArg> for ScheduleKind {
    fn from(arg: ScheduleArg) -> Self {
        match arg {
            ScheduleArg::Linear => Self::Linear,
            ScheduleArg::Cosine => Self::Cosine,
            ScheduleArg::Sigmoid => Self::Sigmoid,
            ScheduleArg::ScaledLinear => Self::ScaledLinear,
        }
    }
}

/// How x_t is reached, as named on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum NoisingArg {
    /// Closed form, one noise draw for every t.
    Jump,
    /// The Markov chain, fresh noise at every step.
    Chain,
}

/// Language of messages and errors.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

/// Options of `diffuscope export forward`.
#[derive(Debug, Args)]
pub struct ForwardExportArgs {
    /// The photo (PNG, JPEG, WebP, GIF, BMP); without it, the bundled cat.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Shape of the noise schedule.
    #[arg(long, value_enum, default_value = "cosine")]
    pub schedule: ScheduleArg,
    /// T, the number of noising steps (10 to 1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(10..=1000))]
    pub steps: u16,
    /// Rescale the schedule to zero terminal SNR (no trace of the photo at t = T).
    #[arg(long)]
    pub zero_snr: bool,
    /// Jump straight to each t, or walk the chain step by step.
    #[arg(long, value_enum, default_value = "jump")]
    pub mode: NoisingArg,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Number of frames, t evenly spaced from 0 to T.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u16).range(2..=1001))]
    pub frames: u16,
    /// Frames per second of the GIF.
    #[arg(long, default_value_t = 12.0)]
    pub fps: f32,
    /// Frame width in pixels (height keeps the aspect); default: the photo's width.
    #[arg(long)]
    pub width: Option<u32>,
    /// How often the GIF plays after the first time; default: for ever.
    #[arg(long)]
    pub repeat: Option<u16>,
    /// Where to write the GIF.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write each frame as frame-000.png, frame-001.png, … into this folder.
    #[arg(long)]
    pub png_dir: Option<PathBuf>,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// Runs the command line; `Ok(())` with no subcommand means "open the window".
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        None => crate::ui::run_window().map_err(|e| window_error_sentence(&e)),
        Some(Command::Export(ExportCommand::Forward(args))) => export_forward(&args),
        Some(Command::Bench(BenchCommand::Forward)) => {
            crate::bench::forward();
            Ok(())
        }
    }
}

fn window_error_sentence(error: &eframe::Error) -> String {
    format!(
        "The window could not open ({error}). Is there a display? The export and bench commands work without one."
    )
}

fn export_forward(args: &ForwardExportArgs) -> Result<(), String> {
    let lang = match args.lang {
        LangArg::En => Lang::En,
        LangArg::Zh => Lang::Zh,
    };
    if args.out.is_none() && args.png_dir.is_none() {
        return Err(lang
            .pick(
                "Say where to write the result with --out FILE.gif and/or --png-dir FOLDER.",
                "请用 --out 文件.gif 和/或 --png-dir 文件夹 指定输出位置。",
            )
            .to_owned());
    }
    let loaded: LoadedPicture = match &args.image {
        Some(path) => load_picture_from_path(path),
        None => BundledPhoto::Cat.load(),
    }
    .map_err(|e| e.sentence(lang))?;
    if let Some(note) = loaded.note(lang) {
        eprintln!("{note}");
    }
    let schedule = NoiseSchedule::new(ScheduleConfig {
        zero_terminal_snr: args.zero_snr,
        ..ScheduleConfig::new(args.schedule.into(), usize::from(args.steps))
    });
    let noising = match args.mode {
        NoisingArg::Jump => Noising::Jump,
        NoisingArg::Chain => Noising::Chain,
    };
    let picture = &loaded.picture;
    let sweep = Sweep {
        picture,
        schedule: &schedule,
        noising,
        seed: args.seed,
        frames: usize::from(args.frames),
        width: args.width.map_or(picture.width, |w| w.max(1) as usize),
    };
    let frame_count = crate::export::forward::sweep_timesteps(schedule.steps(), sweep.frames).len();
    let progress = ProgressBar::new(frame_count as u64).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} frames ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message("noising");
    let text = |t| caption(t, &schedule, noising);
    let frames = sweep_frames(&sweep, &text, &|| progress.inc(1));
    progress.finish_and_clear();

    if let Some(dir) = &args.png_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "{} {} ({e})",
                lang.pick("Could not create the folder", "无法创建文件夹"),
                dir.display()
            )
        })?;
        for (i, frame) in frames.iter().enumerate() {
            write_png(&dir.join(format!("frame-{i:03}.png")), frame)
                .map_err(|e| e.sentence(lang))?;
        }
        eprintln!(
            "{} {} PNG → {}",
            lang.pick("Wrote", "已写入"),
            frames.len(),
            dir.display()
        );
    }
    if let Some(out) = &args.out {
        let settings = GifSettings {
            fps: args.fps,
            repeat: args.repeat.map_or(Repeat::Forever, Repeat::Times),
        };
        write_gif(out, &frames, &settings, &|_| {}).map_err(|e| e.sentence(lang))?;
        eprintln!(
            "{} {} ({} {})",
            lang.pick("Wrote", "已写入"),
            out.display(),
            frames.len(),
            lang.pick("frames", "帧")
        );
    }
    Ok(())
}

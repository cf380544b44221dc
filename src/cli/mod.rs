//! The command line: no subcommand opens the window; `export` and `bench` work without one.
//! Every failure a user can cause ends with one sentence on stderr and a non-zero exit.

mod arg_error;
mod display;
mod eval;
mod eval_loss;
mod export;
mod race;
pub mod ranges;
mod sample;
mod toy;
mod train;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

pub use self::arg_error::{one_line, parse, try_parse};
pub use self::eval::EvalArgs;
pub use self::eval_loss::EvalLossArgs;
pub use self::export::ForwardExportArgs;
pub use self::race::RaceArgs;
pub use self::sample::SampleArgs;
pub use self::toy::ToyArgs;
pub use self::train::TrainArgs;
use crate::diffusion::ScheduleKind;
use crate::diffusion::samplers::SamplerKind;
use crate::i18n::Lang;
use crate::model::DevicePreference;

/// Diffuscope shows how diffusion models turn noise into pictures, one step at a time.
/// Run without a subcommand to open the window.
#[derive(Debug, Parser)]
#[command(
    name = "diffuscope",
    version,
    about,
    long_about = None,
    after_help = "The window's flags replace the choices remembered from the last session, as if \
                  made in the window (so they are remembered in turn). In the window, Ctrl+= and \
                  Ctrl+− zoom, Ctrl+0 sets the zoom back, F11 toggles full screen."
)]
pub struct Cli {
    /// What to do; nothing opens the window.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Window: open this lesson (a `….diffuscope.json` file saved from the window's Lesson
    /// menu) on its first slide. A file that is not one stops the program with a sentence
    /// before the window opens.
    #[arg(value_name = "LESSON", value_parser = lesson_path)]
    pub lesson: Option<PathBuf>,
    /// Window: open on this view (forward: a photo dissolving into noise; reverse: a model turning
    /// noise into digits).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(crate::ui::views::view_keys()))]
    pub view: Option<String>,
    /// Window: the language of the interface.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Window, Forward view: open this photo (PNG, JPEG, WebP, GIF or BMP). A file that is not
    /// one stops the program with a sentence before the window opens.
    #[arg(long, value_name = "PATH")]
    pub image: Option<PathBuf>,
    /// Window, Reverse view: the sampler.
    #[arg(long, value_parser = sample::sampler_parser())]
    pub sampler: Option<SamplerKind>,
    /// Window, Reverse view: steps of a run [1–1000].
    #[arg(long, value_parser = sample::steps_parser(), allow_hyphen_values = true)]
    pub steps: Option<u16>,
    /// Window, Reverse view: samples per run (1, 4, 16 or 64).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(["1", "4", "16", "64"]))]
    pub samples: Option<String>,
    /// Window: start generating digits as soon as the model is loaded.
    #[arg(long)]
    pub generate: bool,
    /// Window: the zoom of the whole interface [0.5–3] (what Ctrl+= and Ctrl+− change).
    #[arg(long, value_parser = ranges::finite_f32(0.5..=3.0), allow_hyphen_values = true)]
    pub zoom: Option<f32>,
    /// Window: open full screen (F11 leaves it).
    #[arg(long)]
    pub fullscreen: bool,
    /// Window: open in presentation mode (F5 leaves it): full screen, twice as large, high
    /// contrast, side panels folded away.
    #[arg(long)]
    pub present: bool,
    /// Window: after each run (and each race of the Compare view), print the time each frame spent
    /// in our code (p50/p99), the time to the first frame and the memory in use.
    #[arg(long)]
    pub frame_stats: bool,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export a process as an animated GIF (and optionally PNG frames) without opening the window.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Draw digits with a trained model and save them as one grid picture.
    Sample(SampleArgs),
    /// Race samplers from the same noise on one clock of network calls, as a GIF and/or PNG.
    Race(RaceArgs),
    /// Measure quality against the number of steps: FID, KID, precision, recall and agreement of a
    /// sampler's digits, beside the real digits' floor.
    Eval(EvalArgs),
    /// Which t are hard: each model's training loss (and the error of its x̂0) against the noise
    /// level, over real digits with seeded noise.
    EvalLoss(EvalLossArgs),
    /// Train a digit model (ε, v or flow matching) on the bundled digits and save it as a checkpoint.
    Train(TrainArgs),
    /// The playground without a window: a diffusion model of points in the plane, trained and
    /// sampled, the samples measured against the data and written as CSV.
    Toy(ToyArgs),
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
    /// The digit network's forward pass at batch 1, 16 and 64, with GFLOP/s.
    Model {
        /// A shipped model's name or a checkpoint path; default: the shipped size with random weights.
        #[arg(long)]
        model: Option<String>,
        /// Print the figures as JSON (for training/bench_reference.py).
        #[arg(long)]
        json: bool,
        /// Where the network runs.
        #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
        device: DeviceArg,
        /// Use candle's plain operations instead of our kernels (for before/after figures).
        #[arg(long)]
        candle_ops: bool,
        /// Measure only this UNet batch size [1–4096] (repeatable; leaves out the classifier),
        /// e.g. to profile one size.
        #[arg(
            long = "batch",
            value_parser = ranges::whole::<u16>(1..=4096),
            allow_hyphen_values = true
        )]
        batches: Vec<u16>,
    },
    /// Single operations of the digit network (convolutions, group norms): candle's composition
    /// against our CPU kernel. About 30 s.
    Kernels,
    /// One scrub frame of the Forward view on a 12-megapixel photo: WGSL shader against the CPU.
    Render,
    /// Training steps of the shipped network's size on the bundled digits, each step's time.
    Train {
        /// Steps to time [1–100].
        #[arg(
            long,
            default_value_t = 4,
            value_parser = ranges::whole::<u16>(1..=100),
            allow_hyphen_values = true
        )]
        steps: u16,
        /// Digits per step [1–1024].
        #[arg(
            long,
            default_value_t = 64,
            value_parser = ranges::whole::<u16>(1..=1024),
            allow_hyphen_values = true
        )]
        batch: u16,
        /// Also print the step times as one line of JSON, for `python3
        /// training/bench_reference.py --ours -` (PyTorch's step beside ours).
        #[arg(long)]
        json: bool,
    },
    /// Whole sampling runs of 16 digits: DDPM-1000, DDIM-50, Euler-20 (flow), DPM-Solver++-20, Heun-20.
    Sample {
        /// Only the runs of at most 50 steps.
        #[arg(long)]
        quick: bool,
        /// Where the network runs.
        #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
        device: DeviceArg,
        /// Use candle's plain operations instead of our kernels (for before/after figures).
        #[arg(long)]
        candle_ops: bool,
    },
    /// Soak and storm: for --minutes, start, cancel and restart runs of the shipped models,
    /// switch models mid-run and export while sampling, watching the worker's promises and the
    /// memory; exits non-zero on a broken promise, a hang or memory growth.
    ///
    /// A seeded random schedule of episodes: a run left to finish; a run cancelled after 0–1.5 s;
    /// a run replaced by another before it ends; a model switch mid-run; a storm of 2–8 starts
    /// back to back. Runs use any shipped diffusion model, a sampler valid for it, 2–50 steps,
    /// 1, 4 or 16 samples, with or without guidance. A third of the episodes export the last
    /// finished run as a GIF, a PNG and a run file into a temporary folder while the next one
    /// samples, read each back and delete them. Events are applied as the window applies them.
    ///
    /// It fails if a run does not end with exactly one of finished / cancelled / failed, if an
    /// event comes for a run after its end or mixes into another run, if a run fails, if an export
    /// does not read back, if nothing comes from the worker for --hang-secs while a run is going,
    /// or if the highest resident memory of the last fifth of the time exceeds that of the first
    /// fifth (the warm-up) by more than 15 % or 100 MB, whichever is larger. A line a minute gives
    /// the counts and the resident memory. It takes --minutes plus the last run's end (seconds).
    Soak {
        /// How long to keep starting runs, in minutes [0.1–1440].
        #[arg(
            long,
            default_value_t = 30.0,
            value_parser = ranges::finite_f64(0.1..=1440.0),
            allow_hyphen_values = true
        )]
        minutes: f64,
        /// The schedule's seed [0–18446744073709551615] (the same seed gives the same schedule;
        /// timings still vary).
        #[arg(long, default_value_t = 1, value_parser = ranges::seed(), allow_hyphen_values = true)]
        seed: u64,
        /// Seconds without any event from the worker, while a run is going, that count as a
        /// hang [5–3600].
        #[arg(
            long,
            default_value_t = 60,
            value_parser = ranges::whole::<u64>(5..=3600),
            allow_hyphen_values = true
        )]
        hang_secs: u64,
    },
}

/// Where the networks run, as named on the command line.
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum DeviceArg {
    /// A GPU when the program was built for one (`--features cuda` or `metal`) and it works, else
    /// the CPU.
    #[default]
    Auto,
    /// The CPU, even where a GPU would work.
    Cpu,
}

impl From<DeviceArg> for DevicePreference {
    fn from(arg: DeviceArg) -> Self {
        match arg {
            DeviceArg::Auto => Self::Auto,
            DeviceArg::Cpu => Self::Cpu,
        }
    }
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
#[derive(Clone, Copy, Debug, Default, ValueEnum)]
pub enum LangArg {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl From<LangArg> for Lang {
    fn from(arg: LangArg) -> Self {
        match arg {
            LangArg::En => Self::En,
            LangArg::Zh => Self::Zh,
        }
    }
}

/// Runs the command line; with no subcommand it opens the window. Errors are one sentence for the user.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        None => {
            let window = window_options(cli)?;
            // Asked before any graphics library starts, so that without a display the user
            // reads our sentence alone, not the libraries' complaints before it.
            display::check()
                .map_err(|e| e.sentence(window.lang.unwrap_or_else(Lang::from_system)))?;
            crate::ui::run_window(window).map_err(|e| window_error_sentence(&e))
        }
        Some(Command::Export(ExportCommand::Forward(args))) => export::export_forward(&args),
        Some(Command::Sample(args)) => sample::run_sample(&args),
        Some(Command::Eval(args)) => eval::run_eval(&args),
        Some(Command::EvalLoss(args)) => eval_loss::run_eval_loss(&args),
        Some(Command::Race(args)) => race::run_race(&args),
        Some(Command::Train(args)) => train::train_command(&args),
        Some(Command::Toy(args)) => toy::run_toy(&args),
        Some(Command::Bench(BenchCommand::Forward)) => {
            crate::bench::forward();
            Ok(())
        }
        Some(Command::Bench(BenchCommand::Model {
            model,
            json,
            device,
            candle_ops,
            batches,
        })) => {
            let batches: Vec<usize> = batches.into_iter().map(usize::from).collect();
            let bench =
                || crate::bench::model::model(model.as_deref(), json, device.into(), &batches);
            with_ops(candle_ops, bench)
                .map(|_| ())
                .map_err(|e| e.sentence(Lang::En))
        }
        Some(Command::Bench(BenchCommand::Kernels)) => {
            crate::bench::kernels::kernels_bench().map_err(|e| e.to_string())
        }
        Some(Command::Bench(BenchCommand::Train { steps, batch, json })) => {
            crate::bench::train::train_bench(usize::from(steps), usize::from(batch), json)
        }
        Some(Command::Bench(BenchCommand::Render)) => {
            crate::bench::render::render_bench().map(drop)
        }
        Some(Command::Bench(BenchCommand::Sample {
            quick,
            device,
            candle_ops,
        })) => with_ops(candle_ops, || {
            crate::bench::sample::sample_bench(quick, device.into())
        })
        .map(|_| ())
        .map_err(|e| e.sentence(Lang::En)),
        Some(Command::Bench(BenchCommand::Soak {
            minutes,
            seed,
            hang_secs,
        })) => crate::bench::soak::soak(&crate::bench::soak::SoakOptions {
            minutes,
            seed,
            hang_limit: std::time::Duration::from_secs(hang_secs),
        }),
    }
}

/// A lesson file's path (`….json`); anything else was meant as a command, and says so.
fn lesson_path(value: &str) -> Result<PathBuf, String> {
    if value.to_ascii_lowercase().ends_with(".json") {
        Ok(PathBuf::from(value))
    } else {
        Err("neither a command (export, sample, race, eval, train, toy, bench) nor a lesson file (….diffuscope.json)".into())
    }
}

/// The window's flags as options; reads `--image` now, so a bad file is refused before the
/// window opens (in the `--lang` language, else the system's).
fn window_options(cli: Cli) -> Result<crate::ui::WindowOptions, String> {
    let lang = cli.lang.map(Lang::from);
    let image = cli
        .image
        .map(|path| {
            crate::ui::StartImage::load(&path)
                .map_err(|e| e.sentence(lang.unwrap_or_else(Lang::from_system)))
        })
        .transpose()?;
    let lesson = cli
        .lesson
        .map(|path| {
            let name = path.display().to_string();
            crate::ui::lesson::Lesson::read(&path)
                .map(|lesson| (name.clone(), lesson))
                .map_err(|e| e.sentence(&name, lang.unwrap_or_else(Lang::from_system)))
        })
        .transpose()?;
    Ok(crate::ui::WindowOptions {
        lesson,
        view: cli.view,
        lang,
        image,
        sampler: cli.sampler,
        steps: cli.steps.map(usize::from),
        samples: cli.samples.and_then(|s| s.parse().ok()),
        generate: cli.generate,
        zoom: cli.zoom,
        fullscreen: cli.fullscreen,
        present: cli.present,
        frame_stats: cli.frame_stats,
    })
}

/// Runs `bench`, whose models keep to candle's plain operations when `candle_ops`.
fn with_ops<T>(candle_ops: bool, bench: impl FnOnce() -> T) -> T {
    if candle_ops {
        crate::model::layers::with_candle_ops(bench)
    } else {
        bench()
    }
}

fn window_error_sentence(error: &eframe::Error) -> String {
    format!(
        "The window could not open ({error}). Is there a display? The export and bench commands work without one."
    )
}

/// The device `choice` picks, said on the terminal ("Device: CPU: built without GPU support").
fn announced_device(choice: DeviceArg, lang: Lang) -> candle_core::Device {
    let (device, reason) = crate::model::device_for(choice.into());
    eprintln!(
        "{} {}",
        lang.pick("Device:", "设备："),
        reason.describe(lang)
    );
    device
}

/// The diffusion model `name` (a shipped name or a file) on `device`, or why not, in a sentence.
fn open_model(
    name: &str,
    device: &candle_core::Device,
    lang: Lang,
) -> Result<(crate::model::DiffusionModel, PathBuf), String> {
    let path = crate::model::resolve_model(name).map_err(|e| e.sentence(lang))?;
    let model = crate::model::load_diffusion_model(&path, device).map_err(|e| e.sentence(lang))?;
    Ok((model, path))
}

//! `diffuscope sample`: run a trained model from noise to digits and save them as one grid picture,
//! optionally asking the digit classifier what it sees.

use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{LangArg, ranges};
use crate::data::file::read_regular_file;
use crate::diffusion::NoiseSchedule;
use crate::diffusion::objectives::Objective;
use crate::diffusion::samplers::{SamplerKind, SamplerSpec, Spacing};
use crate::export::atomic::{WriteFailure, check_destination, write_atomically};
use crate::export::budget::ByteSize;
use crate::export::caption_height;
use crate::export::gif_stream::stream_bytes;
use crate::export::reverse::{GifSubject, ReverseFrames, RunAnimation, chosen_frames};
use crate::export::{GifSettings, write_png};
use crate::i18n::Lang;
use crate::memory_budget::{self, Budget, Work};
use crate::model::scheduler_config::{CONFIG_LIMIT, SchedulerConfig};
use crate::model::shipped::shipped;
use crate::model::{DiffusionModel, load_classifier, resolve_model};
use crate::sample::grid::{tile, tiled_size};
use crate::sample::network::{DIGIT_SIDE, judge};
use crate::sample::{
    Denoiser, GridSpec, ImageShape, ModelTraits, RunSettings, SampleSettings, StepFrame, sample,
};
use crate::worker::{Frame, RunRecord};

/// The shipped classifier that `--judge` asks.
const CLASSIFIER: &str = "digits-classifier";

/// Options of `diffuscope sample`.
#[derive(Debug, Args)]
#[command(after_help = Budget::of_this_machine().help())]
pub struct SampleArgs {
    /// A shipped model (digits-eps, digits-v, digits-flow, digits-diffusers), the path of a model
    /// file, or a diffusers pipeline folder (model_index.json, scheduler/, unet/).
    #[arg(long, default_value = "digits-eps")]
    pub model: String,
    /// The digit to draw [0–9]; without it, any digit.
    #[arg(long, value_parser = ranges::whole::<u32>(0..=9), allow_hyphen_values = true)]
    pub class: Option<u32>,
    /// Classifier-free guidance scale w [0–20]: 0 ignores the class, 1 is the plain conditional
    /// model, larger values exaggerate the class (used only with --class).
    #[arg(
        long,
        default_value_t = 3.0,
        value_parser = ranges::finite_f32(0.0..=20.0),
        allow_hyphen_values = true
    )]
    pub guidance: f32,
    /// How many samples, as COLUMNSxROWS, each side [1–16].
    #[arg(long, default_value = "4x4")]
    pub grid: GridSpec,
    /// Seed of the noise [0–18446744073709551615]; the same seed gives the same digits.
    #[arg(long, default_value_t = 0, value_parser = ranges::seed(), allow_hyphen_values = true)]
    pub seed: u64,
    /// The sampler: ddpm, ddim, euler, heun, dpm++2m (ε/v models) or flow-euler, flow-heun (flow
    /// models); default: a diffusers pipeline folder's own scheduler, else ddpm for ε/v models and
    /// flow-euler for flow models.
    #[arg(long, value_parser = sampler_parser())]
    pub sampler: Option<SamplerKind>,
    /// How the steps spread over the timesteps: leading, trailing or linspace (as in diffusers).
    #[arg(long, default_value = "trailing")]
    pub spacing: Spacing,
    /// DDIM's η [0–1]: 0 is deterministic, 1 adds as much fresh noise as DDPM.
    #[arg(
        long,
        default_value_t = 0.0,
        value_parser = ranges::finite_f64(0.0..=1.0),
        allow_hyphen_values = true
    )]
    pub eta: f64,
    /// Number of denoising steps [1–1000]; default: every timestep (1000) for DDPM, 50
    /// otherwise.
    #[arg(long, value_parser = steps_parser(), allow_hyphen_values = true)]
    pub steps: Option<u16>,
    /// Where the network runs: auto (a GPU when built for one and it works) or cpu.
    #[arg(long, value_enum, default_value_t = super::DeviceArg::Auto)]
    pub device: super::DeviceArg,
    /// Where to write the finished grid as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// Where to write the whole run as an animated GIF (x_t at every recorded step, then the
    /// finished images, captioned).
    #[arg(long)]
    pub gif: Option<PathBuf>,
    /// GIF: show every STRIDE-th step [1–1000] (default: about 50 frames whatever the number of
    /// steps).
    #[arg(long, value_parser = ranges::whole::<u16>(1..=1000), allow_hyphen_values = true)]
    pub stride: Option<u16>,
    /// GIF: frames per second [0.1–50].
    #[arg(
        long,
        default_value_t = 10.0,
        value_parser = ranges::finite_f32(ranges::FPS),
        allow_hyphen_values = true
    )]
    pub fps: f32,
    /// GIF: seconds the finished images stay before the loop starts again [0–60].
    #[arg(
        long,
        default_value_t = 2.0,
        value_parser = ranges::finite_f32(0.0..=60.0),
        allow_hyphen_values = true
    )]
    pub hold: f32,
    /// GIF: show only this sample [0–255] (0 = the first, counting along rows) instead of the
    /// whole grid.
    #[arg(long, value_parser = ranges::whole::<usize>(0..=255), allow_hyphen_values = true)]
    pub gif_sample: Option<usize>,
    /// GIF: keep it at most this size (5MB, 800kB, 2MiB): a wider stride (down to 24 frames),
    /// then a smaller enlargement, are chosen as needed, and the expected size is printed first.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub max_size: Option<ByteSize>,
    /// Enlargement of the PNG and the GIF [1–16] (each pixel becomes a SCALE×SCALE square).
    #[arg(
        long,
        default_value_t = 4,
        value_parser = ranges::whole::<u32>(1..=16),
        allow_hyphen_values = true
    )]
    pub scale: u32,
    /// Ask the shipped digit classifier which digit each sample is.
    #[arg(long)]
    pub judge: bool,
    /// Do not clip the guess x̂0 to [−1, 1] before a step (diffusers' DDPM and DDIM clip by default).
    #[arg(long)]
    pub no_clip: bool,
    /// Sample as a diffusers `scheduler_config.json` says (DDPM, DDIM, Euler, Heun, DPM-Solver
    /// multistep, FlowMatch Euler/Heun), by diffusers' rules; it must describe the model's own
    /// schedule and prediction type. Replaces --sampler, --spacing and --no-clip.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["sampler", "spacing", "no_clip"])]
    pub scheduler_config: Option<PathBuf>,
    /// Write the scheduler config the run follows (a diffusers pipeline folder's own, or
    /// --scheduler-config's) back out as a `scheduler_config.json`, every field as it came.
    #[arg(long, value_name = "FILE")]
    pub write_scheduler_config: Option<PathBuf>,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// The values `--sampler` takes, here and in the window's flags: the samplers' command-line
/// names, listed in `--help` and in the error for any other name.
pub(super) fn sampler_parser() -> impl clap::builder::TypedValueParser<Value = SamplerKind> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(SamplerKind::ALL.map(SamplerKind::cli_name))
        .try_map(|name| name.parse::<SamplerKind>())
}

/// The values `--steps` takes, here and in the window's flags: 1 to 1000 (the shipped models'
/// T).
pub(super) fn steps_parser()
-> impl Fn(&str) -> Result<u16, ranges::OutOfRange> + Clone + Send + Sync + 'static {
    ranges::whole::<u16>(1..=1000)
}

/// Runs `diffuscope sample`.
pub fn run_sample(args: &SampleArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    check_outputs(args, lang)?;
    let device = super::announced_device(args.device, lang);
    let (model, path) = super::open_model(&args.model, &device, lang)?;
    if args.judge && model.image_shape() != ImageShape::grey(DIGIT_SIDE, DIGIT_SIDE) {
        return Err(format!(
            "{} {} ({}).",
            lang.pick(
                "The digit classifier judges 28×28 digits, and this model makes images of",
                "数字分类器只判断 28×28 的数字，而这个模型生成的图像是",
            ),
            model.image_shape(),
            path.display()
        ));
    }
    let (settings, step_count, scheduler) = run_settings(args, &model, &path, lang)?;
    if args.write_scheduler_config.is_some() && scheduler.is_none() {
        return Err(lang
            .pick(
                "--write-scheduler-config writes the scheduler config a run follows, and this run follows none: give a diffusers pipeline folder as --model (without --sampler) or --scheduler-config FILE.",
                "--write-scheduler-config 写出运行所依据的调度器配置，而这次运行没有依据任何配置：请用 diffusers 管线文件夹作为 --model（不加 --sampler），或给出 --scheduler-config 文件。",
            )
            .to_owned());
    }
    let needed = memory_needed(args, step_count, model.image_shape());
    memory_budget::check(Work::Sampling, needed).map_err(|e| e.sentence(lang))?;

    let (samples, record) = sample_recorded(args, &model, &settings, step_count, lang)?;
    if let Some(png) = &args.png {
        let picture = tile(&samples, model.image_shape(), args.grid, args.scale);
        write_png(png, &picture).map_err(|e| e.sentence(lang))?;
        eprintln!(
            "{} {} ({}×{})",
            lang.pick("Wrote", "已写入"),
            png.display(),
            picture.width(),
            picture.height()
        );
    }
    if let (Some(gif), Some(mut record)) = (&args.gif, record) {
        record.samples = Some(samples.clone());
        write_run_gif(args, gif, &record, step_count, lang)?;
    }
    if let (Some(file), Some(config)) = (&args.write_scheduler_config, &scheduler) {
        write_scheduler_config(file, config, lang)?;
    }
    if args.judge {
        let classifier_path = resolve_model(CLASSIFIER).map_err(|e| e.sentence(lang))?;
        let (_, classifier) =
            load_classifier(&classifier_path, &device).map_err(|e| e.sentence(lang))?;
        let digits = judge(&classifier, &device, &samples, settings.labels.len())
            .map_err(|e| e.sentence(lang))?;
        print_judgement(&digits, args.grid, args.class, lang);
    }
    Ok(())
}

/// Refuses, before any work, a command that writes nothing, names a GIF sample outside the grid,
/// or names a file that cannot be written.
fn check_outputs(args: &SampleArgs, lang: Lang) -> Result<(), String> {
    if args.png.is_none() && args.gif.is_none() && !args.judge {
        return Err(lang
            .pick(
                "Say where to write the samples with --png FILE.png or --gif FILE.gif (and/or ask for --judge).",
                "请用 --png 文件.png 或 --gif 文件.gif 指定输出位置（和/或使用 --judge）。",
            )
            .to_owned());
    }
    if let Some(index) = args.gif_sample
        && index >= args.grid.count()
    {
        return Err(format!(
            "{} {index} {} {} {}",
            lang.pick("There is no sample", "没有第"),
            lang.pick("in a grid of", "个样本：网格只有"),
            args.grid.count(),
            lang.pick("(they count from 0).", "个（从 0 开始数）。"),
        ));
    }
    // Fail before minutes of sampling, not after, if a file cannot go where asked.
    for path in [&args.png, &args.gif, &args.write_scheduler_config]
        .into_iter()
        .flatten()
    {
        check_destination(path).map_err(|e| e.sentence(lang))?;
    }
    Ok(())
}

/// The run the options ask of `model` (loaded from `path`), how many steps it takes, and the
/// scheduler config it follows, if any.
fn run_settings(
    args: &SampleArgs,
    model: &DiffusionModel,
    path: &Path,
    lang: Lang,
) -> Result<(SampleSettings, usize, Option<SchedulerConfig>), String> {
    let traits = ModelTraits::of(&model.info)
        .map_err(|e| format!("{} ({})", e.sentence(lang), path.display()))?;
    let (objective, schedule) = (traits.objective, &traits.schedule);
    // A shipped model's own default run, else the objective's.
    let default_run = shipped(&args.model).and_then(|model| model.default_run);
    let kind = args.sampler.unwrap_or_else(|| {
        default_run.map_or_else(|| SamplerKind::default_for(objective), |(kind, _)| kind)
    });
    let default_steps = default_run
        .filter(|&(default, _)| default == kind)
        .map_or_else(|| kind.default_steps(schedule.steps()), |(_, steps)| steps);
    let steps = args.steps.map_or(default_steps, usize::from);
    // A scheduler config given, else a pipeline folder's own unless --sampler says otherwise.
    let scheduler = match &args.scheduler_config {
        Some(file) => Some(read_scheduler_config(file, (objective, schedule), lang)?),
        None => model.scheduler.clone().filter(|_| args.sampler.is_none()),
    };
    let sampler = match &scheduler {
        Some(config) => {
            let steps = args.steps.map_or_else(
                || config.sampler.kind.default_steps(schedule.steps()),
                usize::from,
            );
            SamplerSpec {
                steps,
                eta: args.eta,
                ..config.sampler.clone()
            }
        }
        None => SamplerSpec {
            spacing: args.spacing,
            eta: args.eta,
            clip_x0: !args.no_clip,
            ..SamplerSpec::new(kind, steps)
        },
    };
    let step_count = sampler.step_count(schedule);
    let settings = traits
        .prepare(RunSettings {
            sampler,
            seed: args.seed,
            labels: vec![args.class; args.grid.count()],
            guidance: args.guidance,
        })
        .map_err(|e| e.sentence(lang))?;
    say_if_clamped(args.steps, step_count, settings.schedule.steps(), lang);
    Ok((settings, step_count, scheduler))
}

/// Writes `config` to `file` as diffusers' `scheduler_config.json` (through a temporary file).
fn write_scheduler_config(file: &Path, config: &SchedulerConfig, lang: Lang) -> Result<(), String> {
    let text = config.to_json() + "\n";
    write_atomically(file, |out| {
        out.write_all(text.as_bytes()).map_err(WriteFailure::from)
    })
    .map_err(|e| e.sentence(lang))?;
    eprintln!("{} {}", lang.pick("Wrote", "已写入"), file.display());
    Ok(())
}

/// The scheduler config in `file`, if it fits the model (`objective`, `schedule`); else one
/// sentence naming the file.
fn read_scheduler_config(
    file: &Path,
    (objective, schedule): (Objective, &NoiseSchedule),
    lang: Lang,
) -> Result<SchedulerConfig, String> {
    let named = |sentence: String| format!("{sentence} ({})", file.display());
    let bytes = read_regular_file(file, CONFIG_LIMIT as u64)
        .map_err(|e| e.sentence(&file.display().to_string(), lang))?;
    let config = SchedulerConfig::parse(&String::from_utf8_lossy(&bytes))
        .map_err(|e| named(e.sentence(lang)))?;
    config
        .check_fits(objective, schedule)
        .map_err(|e| named(e.sentence(lang)))?;
    Ok(config)
}

/// A discrete sampler cannot take more steps than the model has timesteps (`t_max`): says so
/// when fewer than `asked` are taken.
fn say_if_clamped(asked: Option<u16>, step_count: usize, t_max: usize, lang: Lang) {
    let Some(asked) = asked.filter(|&asked| step_count < usize::from(asked)) else {
        return;
    };
    eprintln!(
        "{}",
        match lang {
            Lang::En => format!(
                "Note: the model was trained with T = {t_max} timesteps, so the run takes \
                 {step_count} instead of the {asked} steps asked for."
            ),
            Lang::Zh => format!(
                "注意：模型训练时只有 T = {t_max} 个时间步，因此只走 {step_count} 步，而不是要求的 {asked} 步。"
            ),
        }
    );
}

/// Samples with a progress bar; with `--gif`, records x_t of the steps the GIF needs.
fn sample_recorded(
    args: &SampleArgs,
    model: &DiffusionModel,
    settings: &SampleSettings,
    step_count: usize,
    lang: Lang,
) -> Result<(Vec<f32>, Option<RunRecord>), String> {
    let progress = ProgressBar::new(step_count as u64).with_style(
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} steps ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let image_shape = model.image_shape();
    let batch = settings.labels.len();
    let mut record = args.gif.is_some().then(|| {
        let run = RunSettings {
            sampler: settings.sampler.clone(),
            seed: settings.seed,
            labels: settings.labels.clone(),
            guidance: settings.guidance,
        };
        RunRecord::new(args.model.clone(), run, image_shape)
    });
    let recorded = recorded_steps(args, step_count);
    let mut on_step = |frame: &StepFrame<'_>| {
        progress.set_message(frame.point.to_string());
        progress.inc(1);
        if let Some(record) = &mut record
            && recorded.binary_search(&frame.step).is_ok()
        {
            record
                .frames
                .push(Arc::new(Frame::record_x_t(frame, batch, image_shape)));
        }
        ControlFlow::Continue(())
    };
    let samples = sample(model, settings, &mut on_step);
    progress.finish_and_clear();
    let samples = samples.map_err(|e| e.sentence(lang))?;
    eprintln!(
        "{} {batch} × {} ({step_count} {}, {:.1} s)",
        lang.pick("Sampled", "已生成"),
        settings.objective,
        lang.pick("steps", "步"),
        started.elapsed().as_secs_f64()
    );
    Ok((samples, record))
}

/// Writes the GIF of the finished `record` at `gif`, as the options ask.
fn write_run_gif(
    args: &SampleArgs,
    gif: &Path,
    record: &RunRecord,
    step_count: usize,
    lang: Lang,
) -> Result<(), String> {
    let options = ReverseFrames {
        subject: args
            .gif_sample
            .map_or(GifSubject::Grid(args.grid), GifSubject::Sample),
        // Only the steps shown were recorded, unless a size limit may choose among all.
        stride: if args.max_size.is_some() {
            gif_stride(args, step_count)
        } else {
            1
        },
        scale: args.scale,
    };
    let gif_settings = GifSettings {
        fps: args.fps,
        hold_last_s: args.hold,
        ..GifSettings::default()
    };
    let animation = RunAnimation { record, options };
    super::export::write_gif_within(gif, &animation, &gif_settings, args.max_size, lang)
}

/// Bytes held per image while the network runs, twice over with guidance (one call for each
/// half). Measured with `/usr/bin/time -v`: a 16×16 grid peaks 0.75 MB per image above a 4×4 one
/// without guidance, 1.1 MB with it; rounded up.
const NETWORK_BYTES_PER_SAMPLE: u64 = 1 << 20;

/// Every `--stride`-th step the GIF shows (by default about 50 frames).
fn gif_stride(args: &SampleArgs, steps: usize) -> usize {
    args.stride.map_or_else(|| steps.div_ceil(50), usize::from)
}

/// The steps (from 0, in order) whose x_t the GIF needs: those it shows, or every step when a
/// size limit may choose a wider stride.
fn recorded_steps(args: &SampleArgs, steps: usize) -> Vec<usize> {
    if args.gif.is_none() {
        Vec::new()
    } else if args.max_size.is_some() {
        (0..steps).collect()
    } else {
        chosen_frames(steps, gif_stride(args, steps))
    }
}

/// Bytes the run holds at its peak (an estimate that errs high): the network's working memory for
/// the batch, and with `--gif` the recorded x_t of the steps it needs (f16) and what its frames,
/// written as they are made, need at once (see [`stream_bytes`]); with `--png` the grid picture.
fn memory_needed(args: &SampleArgs, steps: usize, image_shape: ImageShape) -> u64 {
    use memory_budget::product;
    let batch = args.grid.count() as u64;
    let pixels = (image_shape.values()) as u64;
    let calls = if args.class.is_some() { 2 } else { 1 };
    let network = product(&[batch, calls, NETWORK_BYTES_PER_SAMPLE]);
    let picture = |grid: GridSpec| {
        let (w, h) = tiled_size(grid, image_shape, args.scale);
        product(&[u64::from(w), u64::from(h + caption_height(w)), 3])
    };
    let png = if args.png.is_some() {
        picture(args.grid)
    } else {
        0
    };
    let gif = if args.gif.is_some() {
        let shown = match args.gif_sample {
            Some(_) => GridSpec {
                columns: 1,
                rows: 1,
            },
            None => args.grid,
        };
        let recorded = recorded_steps(args, steps).len() as u64;
        let record = product(&[recorded, batch, pixels, 2]);
        let frame = picture(shown);
        record.saturating_add(stream_bytes(frame, frame.saturating_mul(2)))
    } else {
        0
    };
    network.saturating_add(png).saturating_add(gif)
}

/// The classifier's digits as the grid is laid out, and how many are the requested class.
fn print_judgement(digits: &[u32], grid: GridSpec, class: Option<u32>, lang: Lang) {
    println!("{}", lang.pick("The classifier sees:", "分类器识别为："));
    for row in digits.chunks(grid.columns as usize) {
        let row: Vec<String> = row.iter().map(u32::to_string).collect();
        println!("  {}", row.join(" "));
    }
    if let Some(class) = class {
        let hits = digits.iter().filter(|&&d| d == class).count();
        println!(
            "{} {class}: {hits}/{} = {:.0}%",
            lang.pick("Samples judged to be", "被判为"),
            digits.len(),
            100.0 * hits as f64 / digits.len().max(1) as f64
        );
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::cli::{Cli, Command};

    fn sample_args(args: &[&str]) -> SampleArgs {
        let line = ["diffuscope", "sample"].iter().chain(args);
        match Cli::try_parse_from(line).map(|cli| cli.command) {
            Ok(Some(Command::Sample(args))) => args,
            other => panic!("not a sample command: {other:?}"),
        }
    }

    /// GIF frames are written as they are made, so the largest run the options allow (every one
    /// of 1000 steps of a 16×16 grid enlarged 16×, about 190 MB a frame) fits in a laptop's
    /// budget: what it needs does not grow with the number of frames.
    #[test]
    fn the_largest_gif_run_needs_a_few_frames_not_all() {
        let largest = ["--grid", "16x16", "--scale", "16", "--stride", "1"];
        let args = sample_args(&[&largest[..], &["--gif", "x.gif"]].concat());
        let needed = memory_needed(&args, 1000, ImageShape::grey(28, 28));
        assert!(needed < 2_000_000_000, "{needed}");
        // The recorded steps still count (2 bytes a value); the frames do not.
        let fewer_steps = memory_needed(&args, 100, ImageShape::grey(28, 28));
        let record_difference = 900 * 256 * 784 * 2;
        assert_eq!(needed - fewer_steps, record_difference);
    }

    /// Only the steps the GIF shows are kept, unless a size limit may pick others.
    #[test]
    fn only_the_steps_shown_are_recorded() {
        let args = sample_args(&["--gif", "x.gif"]);
        assert_eq!(recorded_steps(&args, 1000).len(), 51);
        assert_eq!(recorded_steps(&args, 1000).last(), Some(&999));
        let limited = sample_args(&["--gif", "x.gif", "--max-size", "5MB"]);
        assert_eq!(recorded_steps(&limited, 1000).len(), 1000);
        assert!(recorded_steps(&sample_args(&["--png", "x.png"]), 1000).is_empty());
    }
}

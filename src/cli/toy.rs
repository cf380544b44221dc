//! `diffuscope toy`: the playground without a window. Trains a model of points in the plane (a
//! diffusion model, a GAN or a VAE) for a set time (or number of steps), samples it, prints how close the samples come to the
//! data, and writes them as CSV.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Args;
use clap::builder::PossibleValuesParser;

use super::{LangArg, ScheduleArg, ranges};
use crate::diffusion::{ScheduleConfig, ScheduleKind};
use crate::export::atomic::check_destination;
use crate::i18n::Lang;
use crate::toy::animation::write_animation;
use crate::toy::data::Shape;
use crate::toy::measure::{mmd_squared, mode_coverage, sliced_wasserstein, straightness};
use crate::toy::models::{OLDER_MODELS_LEARNING_RATE, fresh_model};
use crate::toy::points_file::{read_points, write_points};
use crate::toy::{Point, ToyDiffusion, ToyDiffusionSpec, ToyKind, ToyModel, ToyNetSize};

/// Options of `diffuscope toy`.
#[derive(Debug, Args)]
pub struct ToyArgs {
    /// The data: a shape, or a CSV file of points (x,y per line) with --points.
    #[arg(long, default_value = "two-moons", value_parser = PossibleValuesParser::new(Shape::ALL.map(Shape::cli_name)))]
    pub data: String,
    /// Learn the points of this CSV file (x,y per line) instead of a shape.
    #[arg(long)]
    pub points: Option<PathBuf>,
    /// Points drawn from the shape [10–100000].
    #[arg(long, default_value_t = 4000, value_parser = ranges::whole::<usize>(10..=100_000), allow_hyphen_values = true)]
    pub count: usize,
    /// The model trained: a diffusion model, a GAN or a VAE (MLPs of about the same size).
    #[arg(long, default_value = "diffusion", value_parser = PossibleValuesParser::new(ToyKind::ALL.map(ToyKind::cli_name)))]
    pub model: String,
    /// Diffusion: what the network learns to predict: the noise (eps), v, or the flow velocity (flow).
    #[arg(long, default_value = "flow", value_parser = PossibleValuesParser::new(["eps", "v", "flow"]))]
    pub objective: String,
    /// Shape of the noise schedule (ε and v).
    #[arg(long, value_enum, default_value_t = ScheduleArg::Linear)]
    pub schedule: ScheduleArg,
    /// Diffusion steps T of the schedule [2–1000].
    #[arg(long, default_value_t = 1000, value_parser = ranges::whole::<usize>(2..=1000), allow_hyphen_values = true)]
    pub timesteps: usize,
    /// Seconds of training [0.1–600] (unless --steps is given).
    #[arg(long, default_value_t = 5.0, value_parser = ranges::finite_f64(0.1..=600.0), allow_hyphen_values = true)]
    pub seconds: f64,
    /// Train exactly this many steps [1–1000000] instead of for --seconds: the same on every machine.
    #[arg(long, value_parser = ranges::whole::<usize>(1..=1_000_000), allow_hyphen_values = true)]
    pub steps: Option<usize>,
    /// Points per training step [1–4096].
    #[arg(long, default_value_t = 256, value_parser = ranges::whole::<usize>(1..=4096), allow_hyphen_values = true)]
    pub batch: usize,
    /// AdamW's learning rate [0.000001–1] (default 0.01 for diffusion, 0.001 for the GAN and the VAE).
    #[arg(long, value_parser = ranges::finite_f64(1e-6..=1.0), allow_hyphen_values = true)]
    pub lr: Option<f64>,
    /// Seeds the data, the weights, training and sampling [0–18446744073709551615].
    #[arg(long, default_value_t = 1, value_parser = ranges::seed(), allow_hyphen_values = true)]
    pub seed: u64,
    /// Points sampled from the trained model [1–100000].
    #[arg(long, default_value_t = 2000, value_parser = ranges::whole::<usize>(1..=100_000), allow_hyphen_values = true)]
    pub samples: usize,
    /// Diffusion: sampler steps (DDIM for ε and v, Euler for flow) [1–1000].
    #[arg(long, default_value_t = 50, value_parser = ranges::whole::<usize>(1..=1000), allow_hyphen_values = true)]
    pub sample_steps: usize,
    /// Where to write the samples as CSV (x,y per line).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Diffusion: where to write the forward and reverse processes as an animated GIF.
    #[arg(long)]
    pub gif: Option<PathBuf>,
    /// Flow: then reflow — train a second flow model for the same time on the first one's own
    /// (noise, sample) pairs, and compare how straight their paths are and how few Euler steps
    /// each needs.
    #[arg(long)]
    pub reflow: bool,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// Runs `diffuscope toy`.
pub fn run_toy(args: &ToyArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    for path in [&args.csv, &args.gif].into_iter().flatten() {
        check_destination(path).map_err(|e| e.sentence(lang))?;
    }
    if args.reflow && (args.model != ToyKind::Diffusion.cli_name() || args.objective != "flow") {
        return Err(lang
            .pick(
                "--reflow retrains a flow model on its own pairs: use it with --model diffusion --objective flow.",
                "--reflow 用流模型自己的配对再训练：请与 --model diffusion --objective flow 一起使用。",
            )
            .to_owned());
    }
    if args.gif.is_some() && args.model != ToyKind::Diffusion.cli_name() {
        return Err(lang
            .pick(
                "--gif shows the forward and reverse processes of a diffusion model: use it with --model diffusion.",
                "--gif 展示扩散模型的前向与反向过程：请与 --model diffusion 一起使用。",
            )
            .to_owned());
    }
    let data = toy_data(args, lang)?;
    let mut model = toy_model(args, data.clone())?;
    let (losses, took) = train_for(model.as_mut(), args)?;
    let recent = &losses[losses.len().saturating_sub(100)..];
    let loss = recent.iter().sum::<f32>() / recent.len().max(1) as f32;
    let (steps, seconds) = (losses.len(), took.as_secs_f64());
    let (rate, weights) = (steps as f64 / seconds.max(1e-9), model.parameters());
    println!(
        "{}",
        lang.pick(
            format!("trained {steps} steps in {seconds:.1} s ({rate:.0} steps/s), loss {loss:.4}, {weights} weights"),
            format!("训练 {steps} 步，用时 {seconds:.1} 秒（每秒 {rate:.0} 步），损失 {loss:.4}，{weights} 个权重"),
        )
    );
    let started = Instant::now();
    let samples = model.sample(args.samples, args.seed, args.sample_steps)?;
    let (count, seconds) = (samples.len(), started.elapsed().as_secs_f64());
    let calls = model.network_calls(args.sample_steps);
    println!(
        "{}",
        lang.pick(
            format!("sampled {count} points in {seconds:.2} s, {calls} network calls each"),
            format!("采样 {count} 个点，用时 {seconds:.2} 秒，每个点调用网络 {calls} 次"),
        )
    );
    report_distance(&samples, &data, args, lang);
    if model.diffusion_sampler().is_some() {
        let paths = model.paths(200, args.seed, args.sample_steps)?;
        let ratio = straightness(&paths, 200);
        println!(
            "{}",
            lang.pick(
                format!("paths: length ÷ start-to-end distance {ratio:.3} (1 is straight)"),
                format!("路径：长度 ÷ 起点到终点的距离 {ratio:.3}（1 为直线）"),
            )
        );
    }
    if let Some(gif) = &args.gif {
        write_gif_of(gif, model.as_ref(), &data, args, lang)?;
    }
    if args.reflow {
        reflow(model.as_ref(), &data, args, lang)?;
    }
    if let Some(csv) = &args.csv {
        write_points(csv, &samples).map_err(|e| e.sentence(lang))?;
        println!(
            "{}",
            lang.pick(
                format!("wrote {}", csv.display()),
                format!("已写入 {}", csv.display())
            )
        );
    }
    Ok(())
}

/// The model `--model` asks for, fresh.
fn toy_model(args: &ToyArgs, data: Vec<Point>) -> Result<Box<dyn ToyModel>, String> {
    let kind = ToyKind::from_cli_name(&args.model).ok_or_else(|| args.model.clone())?;
    let spec = ToyDiffusionSpec {
        objective: args.objective.parse().map_err(|e| format!("{e}"))?,
        schedule: ScheduleConfig::new(ScheduleKind::from(args.schedule), args.timesteps),
        batch: args.batch,
        learning_rate: args.lr.unwrap_or(1e-2),
        size: ToyNetSize::default(),
        seed: args.seed,
    };
    let older = args.lr.unwrap_or(OLDER_MODELS_LEARNING_RATE);
    fresh_model(kind, data, spec, older).map_err(|e| e.to_string())
}

/// Writes the forward and reverse processes of the trained diffusion model as a GIF.
fn write_gif_of(
    path: &Path,
    model: &dyn ToyModel,
    data: &[Point],
    args: &ToyArgs,
    lang: Lang,
) -> Result<(), String> {
    let sampler = model.diffusion_sampler().ok_or("not a diffusion model")?;
    let (count, bytes) =
        write_animation(path, &sampler, data, (args.seed, args.sample_steps), lang)
            .map_err(|e| e.sentence(lang))?;
    let kb = bytes / 1024;
    println!(
        "{}",
        lang.pick(
            format!("wrote {} ({count} frames, {kb} KB)", path.display()),
            format!("已写入 {}（{count} 帧，{kb} KB）", path.display()),
        )
    );
    Ok(())
}

/// Trains a reflowed model on the trained one's pairs for the same budget, then prints, for
/// both, how straight the paths are and how far 1, 2 and `--sample-steps` Euler steps land from
/// the data.
fn reflow(model: &dyn ToyModel, data: &[Point], args: &ToyArgs, lang: Lang) -> Result<(), String> {
    let first = model.diffusion_sampler().ok_or("not a diffusion model")?;
    let spec = ToyDiffusionSpec {
        objective: first.objective,
        schedule: *first.schedule.config(),
        batch: args.batch,
        learning_rate: args.lr.unwrap_or(1e-2),
        size: ToyNetSize::default(),
        seed: args.seed,
    };
    let pairs = (
        data.len().max(2000),
        args.sample_steps,
        args.seed.wrapping_add(7),
    );
    let mut second = ToyDiffusion::reflow(&first, pairs, spec).map_err(|e| e.to_string())?;
    let (losses, _) = train_for(&mut second, args)?;
    let second = second.snapshot().map_err(|e| e.to_string())?;
    for (name, sampler) in [
        (lang.pick("flow", "流"), &first),
        (lang.pick("reflowed", "重流"), &second),
    ] {
        let paths = sampler
            .paths(
                sampler.default_sampler(args.sample_steps),
                200,
                args.seed,
                true,
            )
            .map_err(|e| e.sentence(lang))?;
        let ratio = straightness(&paths, 200);
        let far = |steps: usize| -> Result<f64, String> {
            let points = sampler
                .sample(sampler.default_sampler(steps), args.samples, args.seed)
                .map_err(|e| e.sentence(lang))?;
            Ok(sliced_wasserstein(&points, data))
        };
        let (one, two, all) = (far(1)?, far(2)?, far(args.sample_steps)?);
        let n = args.sample_steps;
        println!(
            "{}",
            lang.pick(
                format!("{name}: paths {ratio:.3}; sliced W to the data after 1 Euler step {one:.3}, 2 steps {two:.3}, {n} steps {all:.3}"),
                format!("{name}：路径 {ratio:.3}；与数据的切片 W：1 步 Euler {one:.3}，2 步 {two:.3}，{n} 步 {all:.3}"),
            )
        );
    }
    let steps = losses.len();
    println!(
        "{}",
        lang.pick(
            format!("(the reflowed model trained {steps} steps)"),
            format!("（重流模型训练了 {steps} 步）")
        )
    );
    Ok(())
}

/// The points to learn: the CSV file's, or the shape's.
fn toy_data(args: &ToyArgs, lang: Lang) -> Result<Vec<Point>, String> {
    if let Some(path) = &args.points {
        return read_points(path).map_err(|e| e.sentence(&path.display().to_string(), lang));
    }
    let shape = Shape::from_cli_name(&args.data).ok_or_else(|| args.data.clone())?;
    Ok(shape.points(args.count, args.seed))
}

/// Trains for `--steps` steps or `--seconds` seconds; returns every step's loss and the time taken.
fn train_for(model: &mut dyn ToyModel, args: &ToyArgs) -> Result<(Vec<f32>, Duration), String> {
    let started = Instant::now();
    let budget = Duration::from_secs_f64(args.seconds);
    let mut losses = Vec::new();
    loop {
        let done = match args.steps {
            Some(steps) => losses.len() >= steps,
            None => started.elapsed() >= budget,
        };
        if done {
            return Ok((losses, started.elapsed()));
        }
        let loss = model.train_step().map_err(|e| e.to_string())?;
        if !loss.is_finite() {
            return Err(Lang::from(args.lang)
                .pick(
                    "Training diverged (the loss is no longer a number): lower --lr.",
                    "训练发散（损失已不是有限数）：请调低 --lr。",
                )
                .to_owned());
        }
        losses.push(loss);
    }
}

/// Prints the distances between samples and fresh data, and the coverage of a mixture's modes.
fn report_distance(samples: &[Point], data: &[Point], args: &ToyArgs, lang: Lang) {
    let shape = Shape::from_cli_name(&args.data).filter(|_| args.points.is_none());
    let fresh = match shape {
        Some(shape) => shape.points(samples.len().max(2), args.seed.wrapping_add(1)),
        None => data.to_vec(),
    };
    let (first, second) = (
        &samples[..samples.len().min(2000)],
        &fresh[..fresh.len().min(2000)],
    );
    println!(
        "{}",
        lang.pick(
            format!(
                "sliced Wasserstein to the data {:.4}, MMD² {:.5}",
                sliced_wasserstein(samples, &fresh),
                mmd_squared(first, second, 0.5)
            ),
            format!(
                "与数据的切片 Wasserstein 距离 {:.4}，MMD² {:.5}",
                sliced_wasserstein(samples, &fresh),
                mmd_squared(first, second, 0.5)
            ),
        )
    );
    if let Some(shape) = shape.filter(|s| !s.modes().is_empty()) {
        let coverage = mode_coverage(samples, &shape.modes(), 0.5);
        println!(
            "{}",
            lang.pick(
                format!(
                    "modes covered {}/{}, shares {:?}, between modes {:.3}",
                    coverage.covered,
                    coverage.shares.len(),
                    coverage
                        .shares
                        .iter()
                        .map(|s| (s * 1000.0).round() / 1000.0)
                        .collect::<Vec<_>>(),
                    coverage.between
                ),
                format!(
                    "覆盖的模式 {}/{}，各模式占比 {:?}，模式之间 {:.3}",
                    coverage.covered,
                    coverage.shares.len(),
                    coverage
                        .shares
                        .iter()
                        .map(|s| (s * 1000.0).round() / 1000.0)
                        .collect::<Vec<_>>(),
                    coverage.between
                ),
            )
        );
    }
}

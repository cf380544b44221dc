//! `diffuscope train`: trains a digit model with candle and writes it as a checkpoint the program
//! can load, with a progress bar showing the loss and the speed.

use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::PossibleValuesParser;
use indicatif::{ProgressBar, ProgressStyle};

use super::{LangArg, ranges};
use crate::data::mnist::{Digits, SIDE, load_bundled_digits, load_digits};
use crate::diffusion::objectives::Objective;
use crate::export::atomic::check_destination;
use crate::export::strip::strip_picture;
use crate::export::write_png;
use crate::i18n::Lang;
use crate::memory_budget::Budget;
use crate::model::config::UNetConfig;
use crate::sample::{GridSpec, ImageShape};
use crate::train::config::BUNDLED_TRAINING_DATA;
use crate::train::watch::{WATCH_DIGITS, watch_grid};
use crate::train::{StepReport, TrainConfig, train_watched};

/// Options of `diffuscope train`. The defaults are the recipe of the shipped models
/// (`training/train_diffusion.py`), or with `--tiny` the laptop recipe ([`Recipe::tiny`]).
#[derive(Debug, Args)]
#[command(after_help = Budget::of_this_machine().help())]
pub struct TrainArgs {
    /// What the network learns to predict: the noise (eps), v, or the flow velocity (flow).
    #[arg(long, default_value = "eps", value_parser = PossibleValuesParser::new(["eps", "v", "flow"]))]
    pub objective: String,
    /// Number of optimiser steps [1–1000000] (default 3000; with --tiny 2000).
    #[arg(
        long,
        value_parser = ranges::whole::<usize>(1..=1_000_000),
        allow_hyphen_values = true
    )]
    pub steps: Option<usize>,
    /// Digits per step [1–4096] (within the memory budget below; default 128; with --tiny 32).
    #[arg(
        long,
        value_parser = ranges::whole::<usize>(1..=4096),
        allow_hyphen_values = true
    )]
    pub batch: Option<usize>,
    /// Peak learning rate [0.000001–1] (AdamW, after a linear warm-up, then cosine decay;
    /// default 0.002; with --tiny 0.005).
    #[arg(
        long,
        value_parser = ranges::finite_f64(1e-6..=1.0),
        allow_hyphen_values = true
    )]
    pub lr: Option<f64>,
    /// Warm-up steps of the learning rate [0–1000000] (default 200; with --tiny 100).
    #[arg(
        long,
        value_parser = ranges::whole::<usize>(0..=1_000_000),
        allow_hyphen_values = true
    )]
    pub warmup: Option<usize>,
    /// The most the decay of the saved moving average of the weights (EMA) can reach
    /// [0–0.99999]. The decay warms up as in diffusers' EMAModel (use_ema_warmup, power 2/3):
    /// after step n it is min(this, 1 − n^(−2/3)), so the saved average covers about the last
    /// n^(2/3) steps (45 after 300 steps, 208 after 3000) and never keeps the random start.
    #[arg(
        long,
        default_value_t = 0.999,
        value_parser = ranges::finite_f64(0.0..=0.99999),
        allow_hyphen_values = true
    )]
    pub ema: f64,
    /// Fraction of labels replaced by "no class" [0–1] (for classifier-free guidance).
    #[arg(
        long,
        default_value_t = 0.1,
        value_parser = ranges::finite_f64(0.0..=1.0),
        allow_hyphen_values = true
    )]
    pub label_dropout: f64,
    /// Seed of the initial weights, the batches and the noise [0–18446744073709551615].
    #[arg(long, default_value_t = 0, value_parser = ranges::seed(), allow_hyphen_values = true)]
    pub seed: u64,
    /// Where to write the model (safetensors); the loss log and the resume state go beside it.
    #[arg(long)]
    pub out: PathBuf,
    /// Continue the run saved beside --out (same settings).
    #[arg(long)]
    pub resume: bool,
    /// The laptop preset: a 35,153-parameter network and shorter defaults.
    ///
    /// The network has 8/8/16 channels (the full one 16/32/64, 15× the parameters); unless given,
    /// --steps 2000 --batch 32 --lr 0.005 --warmup 100. With --objective flow (or v) it draws
    /// recognisable digits after its 2000 steps, about 3 minutes on 2 cores (1000 steps took
    /// 86 s). With eps it draws mostly noise: the guess of the clean image divides the network's
    /// error by √ᾱ_t (156× at t = 1000), which only a larger network learns to keep small.
    #[arg(long)]
    pub tiny: bool,
    /// Save the resume state every this many steps [1–1000000].
    #[arg(
        long,
        default_value_t = 200,
        value_parser = ranges::whole::<usize>(1..=1_000_000),
        allow_hyphen_values = true
    )]
    pub save_every: usize,
    /// Train on these MNIST images (IDX, gzip or plain) instead of the bundled digits; needs --labels.
    #[arg(long, requires = "labels")]
    pub images: Option<PathBuf>,
    /// The labels belonging to --images.
    #[arg(long, requires = "images")]
    pub labels: Option<PathBuf>,
    /// Write "samples over training" here as a PNG: the 16 digits the averaged weights draw from
    /// the same noise (0–9, then 0–5, guidance 3, DDIM or flow-Euler with 20 steps) at every
    /// --strip-every steps, side by side.
    #[arg(long)]
    pub strip: Option<PathBuf>,
    /// Draw the strip's digits every this many steps [1–1000000]; default: an eighth of the run.
    #[arg(long, value_parser = ranges::whole::<usize>(1..=1_000_000), allow_hyphen_values = true)]
    pub strip_every: Option<usize>,
    /// Train on the CPU even when the program was built for a GPU.
    #[arg(long)]
    pub cpu: bool,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// The network and the defaults that size a run; each setting given on the command line wins.
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    /// The network's sizes.
    pub unet: UNetConfig,
    /// Optimiser steps.
    pub steps: usize,
    /// Digits per step.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Warm-up steps of the learning rate.
    pub warmup: usize,
}

impl Recipe {
    /// The shipped models' recipe ([`TrainConfig::default`]).
    pub fn full() -> Self {
        let config = TrainConfig::default();
        Self {
            unet: config.unet,
            steps: config.steps,
            batch: config.batch,
            lr: config.lr,
            warmup: config.warmup,
        }
    }

    /// `--tiny`: [`UNetConfig::tiny`], 2000 steps of 32 digits at a peak learning rate of 0.005
    /// after 100 warm-up steps. Measured with flow matching (release, 1 thread of a 2-core AMD
    /// EPYC, 21 minutes of CPU time): the shipped classifier recognises 144 of 160 samples (16 per
    /// class: flow-Euler, 50 steps, guidance 3, seed 1), all of the 0s, 1s, 2s, 3s, 4s and 7s,
    /// 8 of the 5s. After 1000 steps it recognised 61 %; ε-prediction drew mostly noise even
    /// after 2000.
    pub fn tiny() -> Self {
        Self {
            unet: UNetConfig::tiny(),
            steps: 2000,
            batch: 32,
            lr: 5e-3,
            warmup: 100,
        }
    }
}

/// Runs `diffuscope train`.
pub fn train_command(args: &TrainArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    let objective: Objective = args.objective.parse().map_err(|e| format!("{e}"))?;
    let (data, training_data) = training_digits(args, lang)?;
    if let Some(strip) = &args.strip {
        check_destination(strip).map_err(|e| e.sentence(lang))?;
    }
    let (device, device_choice) = if args.cpu {
        let choice = crate::model::DeviceChoice::CpuAsked;
        (candle_core::Device::Cpu, choice)
    } else {
        crate::model::choose_device()
    };
    let device_words = device_choice.describe(lang);
    let config = TrainConfig {
        device,
        training_data,
        ..train_config(args, objective)
    };
    config.check_memory().map_err(|e| e.sentence(lang))?;
    eprintln!(
        "{} {} · {} {} · {device_words}",
        lang.pick("Training", "训练"),
        objective,
        config.unet.parameter_count(),
        lang.pick("parameters", "个参数"),
    );

    let progress = ProgressBar::new(config.steps as u64).with_style(
        ProgressStyle::with_template("[{bar:30}] {pos}/{len} {msg} ({elapsed}, {eta} left)")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut recent: Vec<f32> = Vec::new();
    let mut on_step = |report: StepReport| {
        if recent.is_empty() && report.step > 1 {
            progress.println(format!(
                "{} {}",
                lang.pick("Resuming after step", "从此步之后继续："),
                report.step - 1
            ));
            progress.set_position(report.step as u64 - 1);
            progress.reset_eta();
        }
        recent.push(report.loss);
        if recent.len() > 50 {
            recent.remove(0);
        }
        let mean = recent.iter().sum::<f32>() / recent.len() as f32;
        progress.set_position(report.step as u64);
        progress.set_message(format!(
            "{} {mean:.4} · {:.0} {}",
            lang.pick("loss", "损失"),
            report.images_per_sec,
            lang.pick("img/s", "图/秒")
        ));
        true
    };
    let every = args.strip_every.unwrap_or((config.steps / 8).max(1));
    let mut strip = Vec::new();
    let mut strip_failed = None;
    let result = train_watched(
        &config,
        &data,
        &args.out,
        args.resume,
        &mut |report, averaged| {
            let mut go_on = on_step(report);
            let due = report.step % every == 0 || report.step == report.steps;
            if args.strip.is_some() && due {
                match averaged.model().and_then(|model| watch_grid(&model)) {
                    Ok(grid) => strip.push((report.step, grid)),
                    Err(error) => {
                        strip_failed = Some(error.sentence(lang));
                        go_on = false;
                    }
                }
            }
            go_on
        },
    );
    progress.finish_and_clear();
    let summary = result.map_err(|e| e.sentence(lang))?;
    if let Some(sentence) = strip_failed {
        return Err(sentence);
    }
    if let Some(path) = &args.strip {
        write_strip(path, &strip, lang)?;
    }
    eprintln!(
        "{} {}: {} {:.4}, {} {}, {:.0} s. {} {}",
        lang.pick("Wrote", "已写入"),
        args.out.display(),
        lang.pick("final loss", "最终损失"),
        summary.final_loss,
        summary.steps_done,
        lang.pick("steps", "步"),
        summary.wall_time_secs,
        lang.pick("Loss log:", "损失记录："),
        summary.loss_log.display()
    );
    Ok(())
}

/// The digits to train on (`--images` and `--labels`, or the bundled ones) and how the checkpoint
/// names them.
fn training_digits(args: &TrainArgs, lang: Lang) -> Result<(Digits, String), String> {
    let (data, training_data) = match (&args.images, &args.labels) {
        (Some(images), Some(labels)) => (
            load_digits(images, labels),
            format!("{} + {}", images.display(), labels.display()),
        ),
        _ => (load_bundled_digits(), BUNDLED_TRAINING_DATA.to_owned()),
    };
    Ok((data.map_err(|e| e.sentence(lang))?, training_data))
}

/// Writes the strip of watch grids as a PNG at `path`.
fn write_strip(path: &Path, grids: &[(usize, Vec<f32>)], lang: Lang) -> Result<(), String> {
    let side = WATCH_DIGITS.isqrt() as u32;
    let grid = GridSpec {
        columns: side,
        rows: side,
    };
    let picture = strip_picture(grids, ImageShape::grey(SIDE, SIDE), grid, 2, lang);
    write_png(path, &picture).map_err(|e| e.sentence(lang))?;
    eprintln!("{} {}", lang.pick("Wrote", "已写入"), path.display());
    Ok(())
}

/// The run the options ask for: the recipe (`--tiny` or the full one) with every setting given on
/// the command line put over it; on the CPU, with the bundled digits.
fn train_config(args: &TrainArgs, objective: Objective) -> TrainConfig {
    let recipe = if args.tiny {
        Recipe::tiny()
    } else {
        Recipe::full()
    };
    TrainConfig {
        objective,
        steps: args.steps.unwrap_or(recipe.steps),
        batch: args.batch.unwrap_or(recipe.batch),
        lr: args.lr.unwrap_or(recipe.lr),
        warmup: args.warmup.unwrap_or(recipe.warmup),
        ema_decay: args.ema,
        label_dropout: args.label_dropout,
        seed: args.seed,
        unet: recipe.unet,
        save_every: args.save_every,
        device: candle_core::Device::Cpu,
        command: command_line(),
        training_data: BUNDLED_TRAINING_DATA.to_owned(),
    }
}

/// The command as typed, for the checkpoint's `command` entry (program name shortened).
fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(first) = words.first_mut() {
        *first = "diffuscope".to_owned();
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Recipe, TrainArgs, train_config};
    use crate::diffusion::objectives::Objective;
    use crate::model::config::UNetConfig;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: TrainArgs,
    }

    fn config(words: &[&str]) -> crate::train::TrainConfig {
        let wrapper = Wrapper::try_parse_from(["train"].iter().chain(words))
            .unwrap_or_else(|e| panic!("{words:?}: {e}"));
        train_config(&wrapper.args, Objective::Flow)
    }

    #[test]
    fn the_tiny_preset_sets_the_defaults_and_given_settings_win() {
        let tiny = config(&["--tiny", "--out", "m.safetensors"]);
        assert_eq!(tiny.unet, UNetConfig::tiny());
        assert_eq!(
            (tiny.steps, tiny.batch, tiny.lr, tiny.warmup),
            (2000, 32, 5e-3, 100)
        );
        let given = config(&["--tiny", "--steps", "7", "--lr", "0.01", "--out", "m"]);
        assert_eq!((given.steps, given.batch, given.lr), (7, 32, 0.01));
        let full = config(&["--out", "m.safetensors", "--batch", "64"]);
        let recipe = Recipe::full();
        assert_eq!(full.unet, UNetConfig::default());
        assert_eq!(
            (full.steps, full.batch, full.lr, full.warmup),
            (recipe.steps, 64, recipe.lr, recipe.warmup)
        );
        assert_eq!((recipe.steps, recipe.batch, recipe.lr), (3000, 128, 2e-3));
        assert_eq!(full.ema_decay, 0.999);
    }
}

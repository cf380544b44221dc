//! `diffuscope train`: trains a digit model with candle and writes it as a checkpoint the program
//! can load, with a progress bar showing the loss and the speed.

use std::path::PathBuf;

use clap::Args;
use clap::builder::PossibleValuesParser;
use indicatif::{ProgressBar, ProgressStyle};

use super::{LangArg, ranges};
use crate::data::mnist::{load_bundled_digits, load_digits};
use crate::diffusion::objectives::Objective;
use crate::i18n::Lang;
use crate::memory_budget::Budget;
use crate::model::config::UNetConfig;
use crate::train::config::BUNDLED_TRAINING_DATA;
use crate::train::{StepReport, TrainConfig, train};

/// Options of `diffuscope train`. The defaults are the recipe of the shipped models
/// (`training/train_diffusion.py`).
#[derive(Debug, Args)]
#[command(after_help = Budget::of_this_machine().help())]
pub struct TrainArgs {
    /// What the network learns to predict: the noise (eps), v, or the flow velocity (flow).
    #[arg(long, default_value = "eps", value_parser = PossibleValuesParser::new(["eps", "v", "flow"]))]
    pub objective: String,
    /// Number of optimiser steps [1–1000000].
    #[arg(
        long,
        default_value_t = 3000,
        value_parser = ranges::whole::<usize>(1..=1_000_000),
        allow_hyphen_values = true
    )]
    pub steps: usize,
    /// Digits per step [1–4096] (within the memory budget below).
    #[arg(
        long,
        default_value_t = 128,
        value_parser = ranges::whole::<usize>(1..=4096),
        allow_hyphen_values = true
    )]
    pub batch: usize,
    /// Peak learning rate [0.000001–1] (AdamW, after a linear warm-up, then cosine decay).
    #[arg(
        long,
        default_value_t = 2e-3,
        value_parser = ranges::finite_f64(1e-6..=1.0),
        allow_hyphen_values = true
    )]
    pub lr: f64,
    /// Warm-up steps [0–1000000].
    #[arg(
        long,
        default_value_t = 200,
        value_parser = ranges::whole::<usize>(0..=1_000_000),
        allow_hyphen_values = true
    )]
    pub warmup: usize,
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
    /// A very small network, for trying the command out in a minute.
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
    /// Train on the CPU even when the program was built for a GPU.
    #[arg(long)]
    pub cpu: bool,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// Runs `diffuscope train`.
pub fn train_command(args: &TrainArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    let objective: Objective = args.objective.parse().map_err(|e| format!("{e}"))?;
    let (data, training_data) = match (&args.images, &args.labels) {
        (Some(images), Some(labels)) => (
            load_digits(images, labels),
            format!("{} + {}", images.display(), labels.display()),
        ),
        _ => (load_bundled_digits(), BUNDLED_TRAINING_DATA.to_owned()),
    };
    let data = data.map_err(|e| e.sentence(lang))?;
    let (device, device_words) = if args.cpu {
        (candle_core::Device::Cpu, "CPU".to_owned())
    } else {
        crate::model::choose_device()
    };
    let config = TrainConfig {
        objective,
        steps: args.steps,
        batch: args.batch,
        lr: args.lr,
        warmup: args.warmup,
        ema_decay: args.ema,
        label_dropout: args.label_dropout,
        seed: args.seed,
        unet: if args.tiny {
            UNetConfig::tiny()
        } else {
            UNetConfig::default()
        },
        save_every: args.save_every,
        device,
        command: command_line(),
        training_data,
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
    let result = train(&config, &data, &args.out, args.resume, &mut on_step);
    progress.finish_and_clear();
    let summary = result.map_err(|e| e.sentence(lang))?;
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

/// The command as typed, for the checkpoint's `command` entry (program name shortened).
fn command_line() -> String {
    let mut words: Vec<String> = std::env::args().collect();
    if let Some(first) = words.first_mut() {
        *first = "diffuscope".to_owned();
    }
    words.join(" ")
}

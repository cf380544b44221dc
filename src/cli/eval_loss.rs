//! `diffuscope eval-loss`: which t are hard. Each model's training loss (and the error of the x̂0
//! it implies) at fixed points of its noise path, over the last bundled digits with seeded noise;
//! the table is printed and, with `--csv`, written.

use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{DeviceArg, LangArg, ranges};
use crate::data::mnist::load_bundled_digits;
use crate::export::atomic::{WriteFailure, check_destination, write_atomically};
use crate::i18n::Lang;
use crate::sample::network::DIGIT_SIDE;
use crate::sample::{Denoiser, ImageShape, ModelTraits};
use crate::train::loss_by_t::{LevelLoss, LossCurveSpec, loss_by_level};

/// Options of `diffuscope eval-loss`.
#[derive(Debug, Args)]
pub struct EvalLossArgs {
    /// The models, comma-separated: shipped names (digits-eps, digits-v, digits-flow,
    /// digits-diffusers), model files or diffusers pipeline folders.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "digits-eps,digits-v,digits-flow"
    )]
    pub model: Vec<String>,
    /// Points of the noise path [2–200]; point k of n lies (k/n)² of the way to pure noise.
    #[arg(long, default_value_t = 40, value_parser = ranges::whole::<usize>(2..=200), allow_hyphen_values = true)]
    pub levels: usize,
    /// Real digits per point [1–10000]: the last ones of the bundled set (the classifier's
    /// held-out 1,000 first).
    #[arg(long, default_value_t = 500, value_parser = ranges::whole::<usize>(1..=10_000), allow_hyphen_values = true)]
    pub digits: usize,
    /// Seed of the noise [0–18446744073709551615].
    #[arg(long, default_value_t = 1, value_parser = ranges::seed(), allow_hyphen_values = true)]
    pub seed: u64,
    /// Where to write the table as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Where the network runs: auto (a GPU when built for one and it works) or cpu.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// One model's curve.
struct Curve {
    model: String,
    objective: String,
    levels: Vec<LevelLoss>,
}

/// Runs `diffuscope eval-loss`.
pub fn run_eval_loss(args: &EvalLossArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    if let Some(csv) = &args.csv {
        check_destination(csv).map_err(|e| e.sentence(lang))?;
    }
    let device = super::announced_device(args.device, lang);
    let digits = load_bundled_digits().map_err(|e| e.sentence(lang))?;
    let spec = LossCurveSpec {
        levels: args.levels,
        digits: args.digits,
        seed: args.seed,
    };
    let progress = progress_bar((args.model.len() * args.levels) as u64);
    let mut curves = Vec::new();
    for (index, name) in args.model.iter().enumerate() {
        let (model, _) = super::open_model(name, &device, lang)?;
        if model.image_shape() != ImageShape::grey(DIGIT_SIDE, DIGIT_SIDE) {
            return Err(lang
                .pick(
                    "The loss is measured on the bundled digits: the model must make 28 × 28 grey pictures.",
                    "损失是在自带的数字上测量的：模型必须生成 28 × 28 的灰度图像。",
                )
                .to_owned());
        }
        let traits = ModelTraits::of(&model.info).map_err(|e| e.sentence(lang))?;
        progress.set_message(name.clone());
        let base = (index * args.levels) as u64;
        let mut on_level = |done: usize| {
            progress.set_position(base + done as u64);
            ControlFlow::Continue(())
        };
        let levels = loss_by_level(&model, &traits, &digits, spec, &mut on_level)
            .map_err(|e| e.sentence(lang))?;
        curves.push(Curve {
            model: name.clone(),
            objective: traits.objective.cli_name().to_owned(),
            levels,
        });
    }
    progress.finish_and_clear();
    print!("{}", table(&curves));
    let _ = std::io::stdout().flush();
    if let Some(csv) = &args.csv {
        write_atomically(csv, |file| {
            file.write_all(csv_text(&curves).as_bytes())
                .map_err(WriteFailure::from)
        })
        .map_err(|e| e.sentence(lang))?;
        eprintln!("{} {}", lang.pick("Wrote", "已写入"), csv.display());
    }
    Ok(())
}

fn progress_bar(length: u64) -> ProgressBar {
    ProgressBar::new(length).with_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} levels ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// The columns of the CSV, one row per (model, level).
const COLUMNS: [&str; 8] = [
    "model",
    "objective",
    "fraction",
    "t",
    "sigma",
    "snr",
    "loss",
    "x0_error",
];

/// The cells of one (model, level) row.
fn cells(curve: &Curve, level: &LevelLoss) -> [String; 8] {
    let path = level.level;
    let (t, sigma) = match path.timestep {
        Some(t) => (t.to_string(), "-".to_owned()),
        None => ("-".to_owned(), format!("{:.6}", path.fraction)),
    };
    [
        curve.model.clone(),
        curve.objective.clone(),
        format!("{:.6}", path.fraction),
        t,
        sigma,
        format!("{:.6e}", path.snr()),
        format!("{:.6}", level.loss),
        format!("{:.6}", level.x0_error),
    ]
}

/// Every model's rows as CSV (a header, then one line per model and level).
fn csv_text(curves: &[Curve]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for curve in curves {
        for level in &curve.levels {
            out.push_str(&cells(curve, level).join(","));
            out.push('\n');
        }
    }
    out
}

/// One line per level: the fraction of the path, then each model's loss and x̂0 error.
fn table(curves: &[Curve]) -> String {
    let mut out = format!("{:>9}", "t/T or σ");
    for curve in curves {
        let _ = write!(
            out,
            "  {:>16} {:>9}",
            format!("{} loss", curve.objective),
            "x̂0 err"
        );
    }
    out.push('\n');
    let rows = curves.iter().map(|c| c.levels.len()).max().unwrap_or(0);
    for row in 0..rows {
        let fraction = curves
            .iter()
            .find_map(|c| c.levels.get(row))
            .map_or(0.0, |l| l.level.fraction);
        let _ = write!(out, "{fraction:>9.4}");
        for curve in curves {
            match curve.levels.get(row) {
                Some(level) => {
                    let _ = write!(out, "  {:>16.5} {:>9.5}", level.loss, level.x0_error);
                }
                None => out.push_str(&" ".repeat(28)),
            }
        }
        out.push('\n');
    }
    out
}

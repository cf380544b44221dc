//! `diffuscope eval`: quality against the number of steps. For each step count, a few hundred
//! digits are made with one sampler and measured against the bundled real digits (FID, KID,
//! precision, recall, agreement with the asked digit, entropy of the digits read, for unguided
//! digits the largest gap to the data's class shares, and the lit share of the border ring),
//! beside the real-vs-real floor; the table is printed and, with `--csv`, written.

use std::fmt::Write as _;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::sample::{sampler_parser, steps_parser};
use super::{DeviceArg, LangArg, ranges};
use crate::diffusion::samplers::{SamplerKind, SamplerSpec};
use crate::export::atomic::{WriteFailure, check_destination, write_atomically};
use crate::export::chart::{Panel, Series, chart_picture};
use crate::export::write_png;
use crate::i18n::Lang;
use crate::model::shipped::shipped;
use crate::model::{DigitClassifier, load_classifier, resolve_model};
use crate::quality::lab::{LabError, PointSpec, measure_point};
use crate::quality::report::{QualityReport, Reference};
use crate::quality::session::bundled_reference;
use crate::sample::network::DIGIT_SIDE;
use crate::sample::{Denoiser, ImageShape, ModelTraits};

/// The shipped classifier whose features every measure uses.
const CLASSIFIER: &str = "digits-classifier";

/// Options of `diffuscope eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A shipped model (digits-eps, digits-v, digits-flow, digits-diffusers), the path of a model
    /// file, or a diffusers pipeline folder.
    #[arg(long, default_value = "digits-eps")]
    pub model: String,
    /// The sampler (as `sample --sampler`); default: the model's own.
    #[arg(long, value_parser = sampler_parser())]
    pub sampler: Option<SamplerKind>,
    /// The step counts to measure, comma-separated, each [1–1000].
    #[arg(long, value_delimiter = ',', default_value = "4,8,16,32,64", value_parser = steps_parser(), allow_hyphen_values = true)]
    pub steps: Vec<u16>,
    /// Digits made per point [10–5000] (the floor measures as many real digits, of the 5,000 the
    /// reference leaves); FID needs hundreds to mean much.
    #[arg(long, default_value_t = 500, value_parser = ranges::whole::<usize>(10..=5_000), allow_hyphen_values = true)]
    pub samples: usize,
    /// Classifier-free guidance w [0–20]; 0 makes unconditional digits, otherwise sample k asks
    /// for digit k mod 10.
    #[arg(long, default_value_t = 3.0, value_parser = ranges::finite_f32(0.0..=20.0), allow_hyphen_values = true)]
    pub guidance: f32,
    /// Seed of the first repeat [0–18446744073709551615].
    #[arg(long, default_value_t = 0, value_parser = ranges::seed(), allow_hyphen_values = true)]
    pub seed: u64,
    /// Seeds per step count [1–20] (seed, seed + 1, …): the spread FID has on few samples.
    #[arg(long, default_value_t = 1, value_parser = ranges::whole::<u64>(1..=20), allow_hyphen_values = true)]
    pub repeats: u64,
    /// Where to write the table as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Where to write FID and agreement against network calls as a PNG chart (beside the real
    /// digits' floor).
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// Where the network runs: auto (a GPU when built for one and it works) or cpu.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// One row of the table.
struct Row {
    label: String,
    steps: String,
    nfe: String,
    seed: String,
    report: QualityReport,
    seconds: f64,
}

/// Runs `diffuscope eval`.
pub fn run_eval(args: &EvalArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    for path in [&args.csv, &args.chart].into_iter().flatten() {
        check_destination(path).map_err(|e| e.sentence(lang))?;
    }
    let device = super::announced_device(args.device, lang);
    let (model, _) = super::open_model(&args.model, &device, lang)?;
    // Said before the classifier reads the real digits, not after.
    let shape = model.image_shape();
    if shape != ImageShape::grey(DIGIT_SIDE, DIGIT_SIDE) {
        return Err(LabError::NotDigits(shape).sentence(lang));
    }
    let traits = ModelTraits::of(&model.info).map_err(|e| e.sentence(lang))?;
    let kind = args.sampler.unwrap_or_else(|| {
        shipped(&args.model)
            .and_then(|m| m.default_run)
            .map_or_else(
                || SamplerKind::default_for(traits.objective),
                |(kind, _)| kind,
            )
    });
    let classifier_path = resolve_model(CLASSIFIER).map_err(|e| e.sentence(lang))?;
    let (_, classifier) =
        load_classifier(&classifier_path, &device).map_err(|e| e.sentence(lang))?;
    let reference = real_reference(&classifier, &device, lang)?;
    let floor = reference
        .floor(args.samples)
        .ok_or_else(|| too_many_samples(&reference, lang))?;
    let mut rows = vec![Row {
        label: lang
            .pick("real digits (floor)", "真实数字（下限）")
            .to_owned(),
        steps: "-".into(),
        nfe: "-".into(),
        seed: "-".into(),
        report: floor,
        seconds: 0.0,
    }];
    let points: Vec<(u16, u64)> = args
        .steps
        .iter()
        .flat_map(|&steps| (0..args.repeats).map(move |r| (steps, args.seed.wrapping_add(r))))
        .collect();
    let progress = progress_bar((points.len() * args.samples) as u64);
    for (index, &(steps, seed)) in points.iter().enumerate() {
        let spec = PointSpec {
            sampler: SamplerSpec::new(kind, usize::from(steps)),
            samples: args.samples,
            guidance: args.guidance,
            seed,
        };
        let base = (index * args.samples) as u64;
        let mut on_step = |done: usize, calls: usize| {
            progress.set_position(base + done as u64);
            progress.set_message(format!("{kind} {steps} · {calls}"));
            ControlFlow::Continue(())
        };
        let started = Instant::now();
        let result = measure_point(
            &model,
            &traits,
            (&classifier, &device),
            &reference,
            &spec,
            &mut on_step,
        )
        .map_err(|e| e.sentence(lang))?;
        rows.push(Row {
            label: kind.cli_name().to_owned(),
            steps: steps.to_string(),
            nfe: result.network_calls.to_string(),
            seed: seed.to_string(),
            report: result.report,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    progress.finish_and_clear();
    let table = table(&rows);
    print!("{table}");
    let _ = std::io::stdout().flush();
    if let Some(csv) = &args.csv {
        write_atomically(csv, |file| {
            file.write_all(csv_text(&rows).as_bytes())
                .map_err(WriteFailure::from)
        })
        .map_err(|e| e.sentence(lang))?;
        eprintln!("{} {}", lang.pick("Wrote", "已写入"), csv.display());
    }
    if let Some(chart) = &args.chart {
        let picture = chart_picture(&chart_panels(&rows), 1200, 480).map_err(|detail| {
            format!(
                "{} ({detail})",
                lang.pick("The chart could not be drawn", "无法绘制图表")
            )
        })?;
        write_png(chart, &picture).map_err(|e| e.sentence(lang))?;
        eprintln!("{} {}", lang.pick("Wrote", "已写入"), chart.display());
    }
    Ok(())
}

/// FID and agreement against network calls, one series per sampler (the first row is the
/// floor).
fn chart_panels(rows: &[Row]) -> [Panel; 2] {
    let (floor, points) = rows
        .split_first()
        .map_or((None, rows), |(f, rest)| (Some(f), rest));
    let series = |metric: fn(&QualityReport) -> Option<f64>| -> Vec<Series> {
        let mut series: Vec<Series> = Vec::new();
        for row in points {
            let (Ok(nfe), Some(value)) = (row.nfe.parse::<f64>(), metric(&row.report)) else {
                continue;
            };
            match series.iter_mut().find(|s| s.name == row.label) {
                Some(s) => s.points.push((nfe, value)),
                None => series.push(Series {
                    name: row.label.clone(),
                    points: vec![(nfe, value)],
                }),
            }
        }
        series
    };
    [
        Panel {
            title: "FID (lower is better)".into(),
            series: series(|r| Some(r.fid)),
            floor: floor.map(|f| f.report.fid),
        },
        Panel {
            title: "agreement with the asked digit".into(),
            series: series(|r| r.classes.agreement),
            floor: floor.and_then(|f| f.report.classes.agreement),
        },
    ]
}

/// All the bundled digits read by the classifier, cut into the reference and the floor's half.
fn real_reference(
    classifier: &DigitClassifier,
    device: &Device,
    lang: Lang,
) -> Result<Reference, String> {
    eprintln!(
        "{}",
        lang.pick("Reading the real digits…", "正在读取真实数字……")
    );
    bundled_reference(classifier, device, usize::MAX).map_err(|e| e.sentence(lang))
}

/// The sentence for more samples than the floor's half of the real digits holds.
fn too_many_samples(reference: &Reference, lang: Lang) -> String {
    match lang {
        Lang::En => format!(
            "At most {} samples can be measured (the real digits' other half).",
            reference.size()
        ),
        Lang::Zh => format!(
            "最多只能评估 {} 个样本（真实数字的另一半）。",
            reference.size()
        ),
    }
}

fn progress_bar(length: u64) -> ProgressBar {
    ProgressBar::new(length).with_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} samples ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

/// The columns of the table and the CSV.
const COLUMNS: [&str; 14] = [
    "sampler",
    "steps",
    "nfe",
    "seed",
    "fid",
    "kid",
    "precision",
    "recall",
    "agreement",
    "entropy_bits",
    "share_gap",
    "border",
    "samples",
    "seconds",
];

/// The values of one row, as the CSV writes them.
fn values(row: &Row) -> [String; 14] {
    let r = &row.report;
    [
        row.label.clone(),
        row.steps.clone(),
        row.nfe.clone(),
        row.seed.clone(),
        format!("{:.3}", r.fid),
        format!("{:.4}", r.kid),
        format!("{:.3}", r.precision),
        format!("{:.3}", r.recall),
        r.classes
            .agreement
            .map_or_else(|| "-".into(), |a| format!("{a:.3}")),
        format!("{:.3}", r.classes.entropy_bits()),
        r.share_gap
            .map_or_else(|| "-".into(), |g| format!("{g:.3}")),
        format!("{:.4}", r.border_share),
        r.count.to_string(),
        format!("{:.1}", row.seconds),
    ]
}

/// The rows as an aligned table.
fn table(rows: &[Row]) -> String {
    let cells: Vec<[String; 14]> = rows.iter().map(values).collect();
    let width = |c: usize| {
        cells
            .iter()
            .map(|r| r[c].chars().count())
            .chain([COLUMNS[c].len()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..COLUMNS.len()).map(width).collect();
    let mut out = String::new();
    let line = |out: &mut String, cells: &[String]| {
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(out, "{cell:>w$}  ");
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
    };
    line(&mut out, &COLUMNS.map(str::to_owned));
    for row in &cells {
        line(&mut out, row);
    }
    out
}

/// The rows as CSV (a header, then one line per row).
fn csv_text(rows: &[Row]) -> String {
    let mut out = COLUMNS.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&values(row).join(","));
        out.push('\n');
    }
    out
}

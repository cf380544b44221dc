//! `diffuscope race`: samplers racing from the same noise, on one clock of network calls, written
//! as one GIF (the lanes side by side) and/or the finished lanes as a PNG; prints how far each
//! lane's final picture lies from the others'.

use std::ops::ControlFlow;
use std::path::PathBuf;

use clap::Args;

use super::{DeviceArg, LangArg, ranges};
use crate::diffusion::samplers::SamplerSpec;
use crate::export::atomic::check_destination;
use crate::export::race::{RaceLane, RaceLayout, race_frame, race_frames};
use crate::export::{GifSettings, Repeat, write_gif, write_png};
use crate::i18n::Lang;
use crate::memory_budget::{self, Work};
use crate::model::DiffusionModel;
use crate::sample::network::DIGIT_SIDE;
use crate::sample::race::{LaneSpec, LaneTrace, parse_lanes, race_clock, rms_distance};
use crate::sample::{Denoiser, GridSpec, ImageShape, ModelTraits, RunSettings, StepFrame, sample};

/// Options of `diffuscope race`.
#[derive(Debug, Args)]
pub struct RaceArgs {
    /// The lanes, comma-separated: SAMPLER:STEPS[:GUIDANCE][@MODEL] (2–4), e.g.
    /// "ddpm:1000,ddim:50,dpm:20,euler:20"; dpm is dpm++2m.
    #[arg(long, value_parser = lanes_parser())]
    pub lanes: Lanes,
    /// The model of every lane that names none (a shipped name or a model file).
    #[arg(long, default_value = "digits-eps")]
    pub model: String,
    /// The digit to draw [0–9]; without it, any digit.
    #[arg(long, value_parser = ranges::whole::<u32>(0..=9), allow_hyphen_values = true)]
    pub class: Option<u32>,
    /// Classifier-free guidance w [0–20] of every lane that sets none.
    #[arg(long, default_value_t = 3.0, value_parser = ranges::finite_f32(0.0..=20.0), allow_hyphen_values = true)]
    pub guidance: f32,
    /// Samples per lane, as COLUMNSxROWS, each side [1–16].
    #[arg(long, default_value = "2x2")]
    pub grid: GridSpec,
    /// Seed of the noise every lane starts from [0–18446744073709551615].
    #[arg(long, default_value_t = 0, value_parser = ranges::seed(), allow_hyphen_values = true)]
    pub seed: u64,
    /// Where to write the race as an animated GIF.
    #[arg(long)]
    pub gif: Option<PathBuf>,
    /// Where to write the finished lanes as a PNG.
    #[arg(long)]
    pub png: Option<PathBuf>,
    /// GIF: about this many frames [2–400], spread on a log scale of network calls.
    #[arg(long, default_value_t = 60, value_parser = ranges::whole::<usize>(2..=400), allow_hyphen_values = true)]
    pub frames: usize,
    /// GIF: frames per second [0.1–50].
    #[arg(long, default_value_t = 10.0, value_parser = ranges::finite_f32(ranges::FPS), allow_hyphen_values = true)]
    pub fps: f32,
    /// Enlargement of every pixel [1–16].
    #[arg(long, default_value_t = 3, value_parser = ranges::whole::<u32>(1..=16), allow_hyphen_values = true)]
    pub scale: u32,
    /// Where the network runs: auto (a GPU when built for one and it works) or cpu.
    #[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
    pub device: DeviceArg,
    /// Language of messages.
    #[arg(long, value_enum, default_value = "en")]
    pub lang: LangArg,
}

/// The lanes of `--lanes`.
#[derive(Clone, Debug)]
pub struct Lanes(pub Vec<LaneSpec>);

fn lanes_parser() -> impl Fn(&str) -> Result<Lanes, String> + Clone + Send + Sync + 'static {
    |text| parse_lanes(text).map(Lanes).map_err(|e| e.to_string())
}

/// Runs `diffuscope race`.
pub fn run_race(args: &RaceArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    if args.gif.is_none() && args.png.is_none() {
        return Err(lang
            .pick(
                "Say where to write the race with --gif FILE.gif and/or --png FILE.png.",
                "请用 --gif 文件.gif 和/或 --png 文件.png 指定输出位置。",
            )
            .to_owned());
    }
    for path in [&args.gif, &args.png].into_iter().flatten() {
        check_destination(path).map_err(|e| e.sentence(lang))?;
    }
    let lanes = &args.lanes.0;
    let device = super::announced_device(args.device, lang);
    let mut traces = Vec::with_capacity(lanes.len());
    let mut image_shape = None;
    for lane in lanes {
        let name = lane.model.as_deref().unwrap_or(&args.model);
        let (model, path) = super::open_model(name, &device, lang)?;
        let shape = *image_shape.get_or_insert(model.image_shape());
        if model.image_shape() != shape {
            return Err(format!(
                "{} {} ({}), {} {shape}.",
                lang.pick(
                    "Every lane must make images of one size: this model makes",
                    "每条赛道的图像大小必须相同：这个模型生成"
                ),
                model.image_shape(),
                path.display(),
                lang.pick("the first lane's", "而第一条赛道生成"),
            ));
        }
        if traces.is_empty() {
            // x_t and the guess of x0 of every step of every lane, in f32.
            let needed = (lanes.iter().map(|l| l.steps).sum::<usize>()
                * 2
                * args.grid.count()
                * shape.values()
                * 4) as u64;
            memory_budget::check(Work::Sampling, needed).map_err(|e| e.sentence(lang))?;
        }
        traces.push(run_lane(args, lane, &model, lang)?);
        eprintln!(
            "{} {} ({} {})",
            lang.pick("Ran", "已运行"),
            lane.title(),
            traces.last().map_or(0, |t: &LaneTrace| t.network_calls),
            lang.pick("network calls", "次网络调用")
        );
    }
    let race: Vec<RaceLane<'_>> = lanes
        .iter()
        .zip(&traces)
        .map(|(lane, trace)| RaceLane {
            title: lane.title(),
            trace,
        })
        .collect();
    print_final_distances(&race, lang);
    let image_shape = image_shape.unwrap_or(ImageShape::grey(DIGIT_SIDE, DIGIT_SIDE));
    let layout = RaceLayout {
        grid: args.grid,
        image_shape,
        scale: args.scale,
    };
    let finishes: Vec<usize> = traces.iter().map(|t| t.network_calls).collect();
    if let Some(gif) = &args.gif {
        let clock = race_clock(&finishes, args.frames);
        let frames = race_frames(&race, &layout, &clock);
        let settings = GifSettings {
            fps: args.fps,
            repeat: Repeat::Forever,
            hold_last_s: 2.0,
            ..GifSettings::default()
        };
        let bytes = write_gif(gif, &frames, &settings, &|_| {}).map_err(|e| e.sentence(lang))?;
        eprintln!(
            "{} {} ({} frames, {bytes} bytes)",
            lang.pick("Wrote", "已写入"),
            gif.display(),
            frames.len()
        );
    }
    if let Some(png) = &args.png {
        let last = finishes.iter().copied().max().unwrap_or(0);
        write_png(png, &race_frame(&race, &layout, last)).map_err(|e| e.sentence(lang))?;
        eprintln!("{} {}", lang.pick("Wrote", "已写入"), png.display());
    }
    Ok(())
}

/// Runs one lane from the race's noise, recording every step.
fn run_lane(
    args: &RaceArgs,
    lane: &LaneSpec,
    model: &DiffusionModel,
    lang: Lang,
) -> Result<LaneTrace, String> {
    let traits = ModelTraits::of(&model.info).map_err(|e| e.sentence(lang))?;
    let settings = traits
        .prepare(RunSettings {
            sampler: SamplerSpec::new(lane.sampler, lane.steps),
            seed: args.seed,
            labels: vec![args.class; args.grid.count()],
            guidance: lane.guidance.unwrap_or(args.guidance),
        })
        .map_err(|e| e.sentence(lang))?;
    let mut trace = LaneTrace::default();
    let mut calls = 0;
    let mut on_step = |frame: &StepFrame<'_>| {
        trace.record(frame);
        calls = frame.network_calls;
        ControlFlow::Continue(())
    };
    let images =
        sample(model as &dyn Denoiser, &settings, &mut on_step).map_err(|e| e.sentence(lang))?;
    trace.finish(images, calls);
    Ok(trace)
}

/// Prints the RMS distance between every two lanes' finished pictures (same noise: deterministic
/// samplers land near each other, ancestral DDPM elsewhere).
fn print_final_distances(race: &[RaceLane<'_>], lang: Lang) {
    println!(
        "{}",
        lang.pick(
            "Distance between the finished pictures (RMS, values in [−1, 1]):",
            "最终图像之间的距离（均方根，取值范围 [−1, 1]）："
        )
    );
    for (i, a) in race.iter().enumerate() {
        for b in &race[i + 1..] {
            let d = rms_distance(&a.trace.finished, &b.trace.finished);
            println!("  {} ↔ {}: {d:.3}", a.title, b.title);
        }
    }
}

//! `diffuscope export forward`: the forward sweep as a GIF and/or PNG frames, without a window.

use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{LangArg, NoisingArg, ScheduleArg, ranges};
use crate::data::bundled::BundledPhoto;
use crate::data::load::{LoadedPicture, load_picture_from_path};
use crate::diffusion::forward::Noising;
use crate::diffusion::{NoiseSchedule, ScheduleConfig};
use crate::export::atomic::check_destination;
use crate::export::budget::{
    Animation, ByteSize, Describe as _, choose, write_chosen, write_within,
};
use crate::export::forward::{Sweep, SweepAnimation, SweepPlan, caption};
use crate::export::gif_stream::{Stop, stream_bytes};
use crate::export::{ExportError, FrameFolder, GifSettings, Repeat, check_frame_folder};
use crate::i18n::Lang;
use crate::memory_budget::{self, Budget, Work};
use crate::ui::gif_size::expected_sentence;

/// Options of `diffuscope export forward`.
#[derive(Debug, Args)]
#[command(after_help = Budget::of_this_machine().help())]
pub struct ForwardExportArgs {
    /// The photo (PNG, JPEG, WebP, GIF, BMP); without it, the bundled cat.
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Shape of the noise schedule.
    #[arg(long, value_enum, default_value = "cosine")]
    pub schedule: ScheduleArg,
    /// T, the number of noising steps [10–1000].
    #[arg(
        long,
        default_value_t = 1000,
        value_parser = ranges::whole::<u16>(10..=1000),
        allow_hyphen_values = true
    )]
    pub steps: u16,
    /// Rescale the schedule to zero terminal SNR (no trace of the photo at t = T).
    #[arg(long)]
    pub zero_snr: bool,
    /// Jump straight to each t, or walk the chain step by step.
    #[arg(long, value_enum, default_value = "jump")]
    pub mode: NoisingArg,
    /// Seed of the noise [0–18446744073709551615].
    #[arg(long, default_value_t = 0, value_parser = ranges::seed(), allow_hyphen_values = true)]
    pub seed: u64,
    /// Number of frames [2–1001], t evenly spaced from 0 to T.
    #[arg(
        long,
        default_value_t = 60,
        value_parser = ranges::whole::<u16>(2..=1001),
        allow_hyphen_values = true
    )]
    pub frames: u16,
    /// Frames per second of the GIF [0.1–50].
    #[arg(
        long,
        default_value_t = 12.0,
        value_parser = ranges::finite_f32(ranges::FPS),
        allow_hyphen_values = true
    )]
    pub fps: f32,
    /// Frame width in pixels [16–8192] (height keeps the aspect); default: the photo's width.
    #[arg(long, value_parser = ranges::whole::<u32>(16..=8192), allow_hyphen_values = true)]
    pub width: Option<u32>,
    /// How often the GIF plays after the first time [0–65535]; default: for ever.
    #[arg(long, value_parser = ranges::whole::<u16>(0..=65535), allow_hyphen_values = true)]
    pub repeat: Option<u16>,
    /// Keep the GIF at most this size (5MB, 800kB, 2MiB): fewer frames (down to 24), then a
    /// smaller width, are chosen as needed, and the expected size is printed before writing.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub max_size: Option<ByteSize>,
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

/// Runs `diffuscope export forward`.
pub fn export_forward(args: &ForwardExportArgs) -> Result<(), String> {
    let lang = Lang::from(args.lang);
    if args.out.is_none() && args.png_dir.is_none() {
        return Err(lang
            .pick(
                "Say where to write the result with --out FILE.gif and/or --png-dir FOLDER.",
                "请用 --out 文件.gif 和/或 --png-dir 文件夹 指定输出位置。",
            )
            .to_owned());
    }
    // Fail now, not after the frames are made, if a file cannot go where asked.
    if let Some(out) = &args.out {
        check_destination(out).map_err(|e| e.sentence(lang))?;
    }
    if let Some(dir) = &args.png_dir {
        check_frame_folder(dir).map_err(|e| e.sentence(lang))?;
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
        width: args.width.map_or(picture.width, |w| w as usize),
    };
    let text = |t| caption(t, &schedule, noising);
    let animation = SweepAnimation::new(sweep, &text);
    let plan = animation.ladder()[0];
    let needed = memory_needed(&animation, &plan, args.out.is_some());
    memory_budget::check(Work::ForwardExport, needed).map_err(|e| e.sentence(lang))?;
    if let Some(dir) = &args.png_dir {
        let written = write_frames(dir, &animation, &plan).map_err(|e| e.sentence(lang))?;
        eprintln!(
            "{} {written} PNG → {}",
            lang.pick("Wrote", "已写入"),
            dir.display()
        );
    }
    if let Some(out) = &args.out {
        let settings = GifSettings {
            fps: args.fps,
            repeat: args.repeat.map_or(Repeat::Forever, Repeat::Times),
            ..GifSettings::default()
        };
        write_gif_within(out, &animation, &settings, args.max_size, lang)?;
    }
    Ok(())
}

/// Writes the frames of `animation` under `plan` as PNGs into `dir` as they are made, with a
/// progress bar; returns how many.
fn write_frames<A: Animation>(
    dir: &Path,
    animation: &A,
    plan: &A::Plan,
) -> Result<usize, ExportError> {
    let progress = frame_progress(animation.frame_count(plan), "PNG");
    let mut set = FrameFolder::begin(dir)?;
    let mut failed = None;
    let made = animation.for_each_frame(plan, &mut |frame| {
        progress.inc(1);
        set.push(&frame).map_err(|error| {
            failed = Some(error);
            Stop
        })
    });
    progress.finish_and_clear();
    match (made, failed) {
        (_, Some(error)) => Err(error),
        _ => set.finish(),
    }
}

/// A progress bar over `frames` frames, labelled `label`.
pub(super) fn frame_progress(frames: usize, label: &'static str) -> ProgressBar {
    let progress = ProgressBar::new(frames as u64).with_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} frames ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    progress.set_message(label);
    progress
}

/// Writes the GIF of `animation`, frames streamed to the file as they are made: as the user chose
/// it, or with a `limit` the plan that fits, after saying what is expected. Prints what was
/// written.
pub(super) fn write_gif_within<A: Animation>(
    out: &Path,
    animation: &A,
    settings: &GifSettings,
    limit: Option<ByteSize>,
    lang: Lang,
) -> Result<(), String> {
    let Some(limit) = limit else {
        let plan = animation.ladder()[0];
        let progress = frame_progress(animation.frame_count(&plan), "GIF");
        let written = write_within(out, animation, settings, None, &|| progress.inc(1));
        progress.finish_and_clear();
        let written = written.map_err(|e| e.sentence(lang))?;
        eprintln!("{}", wrote(lang, out, written.frames, written.size));
        return Ok(());
    };
    let choice = choose(animation, settings, Some(limit));
    let expected = expected_sentence(lang, &choice, Some(limit), &|lang, plan: &A::Plan| {
        plan.describe(lang)
    });
    eprintln!("{} {expected}", lang.pick("Expected size:", "预计大小："));
    let progress = frame_progress(animation.frame_count(&choice.plan), "GIF");
    let written = write_chosen(out, animation, settings, Some(limit), &choice, &|| {
        progress.inc(1);
    });
    progress.finish_and_clear();
    let written = written.map_err(|e| e.sentence(lang))?;
    let mut line = wrote(lang, out, written.frames, written.size);
    if !written.as_chosen {
        line.push_str(&match lang {
            Lang::En => format!(": {}, to stay under {limit}", written.plan.describe(lang)),
            Lang::Zh => format!("：{}，以保持在 {limit} 以内", written.plan.describe(lang)),
        });
    }
    eprintln!("{line}");
    Ok(())
}

/// Bytes the export holds at its peak (an estimate that errs high): the photo and its noise (and
/// for the walk, the chain's x_t and step noise), the frames being made at once, and for a GIF
/// what its encoder keeps (see [`stream_bytes`]). Frames are written as they are made, so the
/// number of frames does not count.
fn memory_needed(animation: &SweepAnimation<'_>, plan: &SweepPlan, gif: bool) -> u64 {
    let picture = animation.picture();
    let photo = memory_budget::product(&[(picture.width * picture.height) as u64, 3, 4, 3]);
    let (frame, making) = (animation.output_bytes(plan), animation.frame_bytes(plan));
    let frames = stream_bytes(frame, making);
    photo.saturating_add(if gif { frames } else { making })
}

/// "Wrote forward.gif (60 frames, 9.8 MB)".
fn wrote(lang: Lang, out: &Path, frames: usize, size: ByteSize) -> String {
    match lang {
        Lang::En => format!("Wrote {} ({frames} frames, {size})", out.display()),
        Lang::Zh => format!("已写入 {}（{frames} 帧，{size}）", out.display()),
    }
}

//! `diffuscope export forward`: the forward sweep as a GIF and/or PNG frames, without a window.

use std::path::{Path, PathBuf};

use clap::Args;
use image::RgbImage;
use indicatif::{ProgressBar, ProgressStyle};

use super::{LangArg, NoisingArg, ScheduleArg, ranges};
use crate::data::bundled::BundledPhoto;
use crate::data::load::{LoadedPicture, load_picture_from_path};
use crate::diffusion::forward::Noising;
use crate::diffusion::{NoiseSchedule, ScheduleConfig};
use crate::export::atomic::check_destination;
use crate::export::budget::{Animation, ByteSize, Describe as _, choose, write_chosen};
use crate::export::forward::{Sweep, SweepAnimation, caption, sweep_frames};
use crate::export::{GifSettings, Repeat, check_frame_folder, write_frame_folder, write_gif};
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
    let needed = memory_needed(&sweep, rayon::current_num_threads(), args.out.is_some());
    memory_budget::check(Work::ForwardExport, needed).map_err(|e| e.sentence(lang))?;
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
        write_frame_folder(dir, &frames, &|_| {}).map_err(|e| e.sentence(lang))?;
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
            ..GifSettings::default()
        };
        let animation = SweepAnimation::new(sweep, &text);
        write_gif_within(
            out,
            &animation,
            Some(&frames),
            &settings,
            args.max_size,
            lang,
        )?;
    }
    Ok(())
}

/// Writes the GIF of `animation`: as the user chose it (its `frames`, if made already), or with a
/// `limit` the plan that fits, after saying what is expected. Prints what was written.
pub(super) fn write_gif_within<A: Animation>(
    out: &Path,
    animation: &A,
    frames: Option<&[RgbImage]>,
    settings: &GifSettings,
    limit: Option<ByteSize>,
    lang: Lang,
) -> Result<(), String> {
    let Some(limit) = limit else {
        let made;
        let frames = match frames {
            Some(frames) => frames,
            None => {
                let plan = animation.ladder()[0];
                made = animation.frames(&plan, &|| {});
                &made
            }
        };
        let size = write_gif(out, frames, settings, &|_| {}).map_err(|e| e.sentence(lang))?;
        eprintln!("{}", wrote(lang, out, frames.len(), ByteSize(size)));
        return Ok(());
    };
    let choice = choose(animation, settings, Some(limit));
    let expected = expected_sentence(lang, &choice, Some(limit), &|lang, plan: &A::Plan| {
        plan.describe(lang)
    });
    eprintln!("{} {expected}", lang.pick("Expected size:", "预计大小："));
    let written = write_chosen(out, animation, settings, Some(limit), &choice, &|| {})
        .map_err(|e| e.sentence(lang))?;
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

/// Bytes the export holds at its peak (an estimate that errs high): the photo and its noise, the
/// frames being made (one per thread, with the photo-sized x_t each needs), every finished frame
/// (all are kept until written), and for a GIF what its encoder holds while compressing them (the
/// changed pixels, palette indices and compressed data: about twice the frames again).
fn memory_needed(sweep: &Sweep<'_>, threads: usize, gif: bool) -> u64 {
    let photo_pixels = (sweep.picture.width * sweep.picture.height) as u64;
    let width = sweep.width.max(1) as u64;
    let height = (sweep.picture.height as u64 * width).div_ceil(sweep.picture.width.max(1) as u64);
    let caption = u64::from(crate::export::caption_height(
        u32::try_from(width).unwrap_or(u32::MAX),
    ));
    let frame = memory_budget::product(&[width, height + caption, 3]);
    let frames = sweep.frames as u64;
    let photo = memory_budget::product(&[photo_pixels, 3, 4, 2]);
    let in_flight = memory_budget::product(&[threads as u64, photo_pixels * 15 + 2 * frame]);
    let kept = memory_budget::product(&[frames, frame, if gif { 3 } else { 1 }]);
    photo.saturating_add(in_flight).saturating_add(kept)
}

/// "Wrote forward.gif (60 frames, 9.8 MB)".
fn wrote(lang: Lang, out: &Path, frames: usize, size: ByteSize) -> String {
    match lang {
        Lang::En => format!("Wrote {} ({frames} frames, {size})", out.display()),
        Lang::Zh => format!("已写入 {}（{frames} 帧，{size}）", out.display()),
    }
}

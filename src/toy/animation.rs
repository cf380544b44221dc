//! The playground's animation as pictures: the forward process (the data carried to noise as t
//! grows), then the reverse process (samples from noise, with the paths of a few of them),
//! each frame captioned. Shared by `diffuscope toy --gif` and the view's export.

use std::path::Path;

use image::RgbImage;

use super::data::{Point, unflatten};
use super::diffusion::{ToySampler, forward_coefficients};
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::diffusion::objectives::Coefficients;
use crate::export::plane::PlanePicture;
use crate::export::{ExportError, GifSettings, with_caption, write_gif};
use crate::i18n::Lang;
use crate::sample::SampleError;

/// Frames of the forward part.
const FORWARD_FRAMES: usize = 16;
/// At most this many frames of the reverse part.
const REVERSE_FRAMES: usize = 40;
/// Samples whose paths are drawn.
const TRACED: usize = 24;
/// The plane shown: −4…4.
const EXTENT: f32 = 4.0;

const DATA: [u8; 3] = [150, 150, 150];
const SAMPLES: [u8; 3] = [0, 114, 178];
const PATHS: [u8; 3] = [230, 159, 0];

/// What the animation shows.
pub struct Animation<'a> {
    /// The data points.
    pub data: &'a [Point],
    /// Each data point's fixed noise ε, for the forward part.
    pub noise: &'a [Point],
    /// T, the last forward step.
    pub timesteps: usize,
    /// The weights of x0 and ε at forward step t.
    pub coefficients: &'a dyn Fn(usize) -> Coefficients,
    /// The samples' paths: x_T first, one entry per sampler step, the samples last.
    pub paths: &'a [Vec<Point>],
    /// Pixels per side of the plane (the caption is added under it).
    pub side: u32,
}

/// Why the animation could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AnimationError {
    /// Sampling the paths failed.
    #[error(transparent)]
    Sample(#[from] SampleError),
    /// Writing the GIF failed.
    #[error(transparent)]
    Write(#[from] ExportError),
}

impl AnimationError {
    /// One sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match self {
            Self::Sample(error) => error.sentence(lang),
            Self::Write(error) => error.sentence(lang),
        }
    }
}

/// Writes `sampler`'s forward and reverse processes on `data` (the first 2000 points) to `path`
/// as a GIF, 480 pixels wide, captioned in `lang`: the paths of 500 samples from `seed`'s noise
/// with `steps` sampler steps, the last frame held 2 s. Returns (frames, bytes written).
pub fn write_animation(
    path: &Path,
    sampler: &ToySampler,
    data: &[Point],
    (seed, steps): (u64, usize),
    lang: Lang,
) -> Result<(usize, u64), AnimationError> {
    let data = &data[..data.len().min(2000)];
    let noise = unflatten(&standard_normal(2 * data.len(), seed, NoiseStream::Jump));
    let paths = sampler.paths(sampler.default_sampler(steps), 500, seed, true)?;
    let coefficients = |t| forward_coefficients(sampler.objective, &sampler.schedule, t);
    let animation = Animation {
        data,
        noise: &noise,
        timesteps: sampler.schedule.steps(),
        coefficients: &coefficients,
        paths: &paths,
        side: 480,
    };
    let pictures = frames(&animation, lang);
    let settings = GifSettings {
        hold_last_s: 2.0,
        ..GifSettings::default()
    };
    let bytes = write_gif(path, &pictures, &settings, &|_| {})?;
    Ok((pictures.len(), bytes))
}

/// Every frame, forward then reverse, captioned in `lang`.
pub fn frames(animation: &Animation<'_>, lang: Lang) -> Vec<RgbImage> {
    let mut frames: Vec<RgbImage> = (0..FORWARD_FRAMES)
        .map(|k| k * animation.timesteps / (FORWARD_FRAMES - 1))
        .map(|t| forward_frame(animation, t, lang))
        .collect();
    let last = animation.paths.len().saturating_sub(1);
    let shown = REVERSE_FRAMES.min(last + 1).max(1);
    frames.extend(
        (0..shown)
            .map(|k| {
                if shown == 1 {
                    last
                } else {
                    k * last / (shown - 1)
                }
            })
            .map(|step| reverse_frame(animation, step, lang)),
    );
    frames
}

fn forward_frame(animation: &Animation<'_>, t: usize, lang: Lang) -> RgbImage {
    let at = (animation.coefficients)(t);
    let (a, s) = (at.signal as f32, at.noise as f32);
    let noised: Vec<Point> = animation
        .data
        .iter()
        .zip(animation.noise)
        .map(|(x0, eps)| [a * x0[0] + s * eps[0], a * x0[1] + s * eps[1]])
        .collect();
    let mut plane = PlanePicture::new(animation.side, EXTENT);
    plane.points(&noised, DATA, 2);
    let total = animation.timesteps;
    let caption = lang.pick(
        format!("forward: the data at t = {t} of {total}"),
        format!("前向：数据在 t = {t}（共 {total}）"),
    );
    with_caption(plane.into_image(), &caption)
}

fn reverse_frame(animation: &Animation<'_>, step: usize, lang: Lang) -> RgbImage {
    let mut plane = PlanePicture::new(animation.side, EXTENT);
    plane.points(animation.data, DATA, 1);
    let traced = TRACED.min(animation.paths.first().map_or(0, Vec::len));
    for k in 0..traced {
        let path: Vec<Point> = animation.paths[..=step]
            .iter()
            .map(|points| points[k])
            .collect();
        plane.path(&path, PATHS);
    }
    if let Some(points) = animation.paths.get(step) {
        plane.points(points, SAMPLES, 2);
    }
    let steps = animation.paths.len().saturating_sub(1);
    let caption = lang.pick(
        format!("reverse: step {step} of {steps} · {step} network calls"),
        format!("反向：第 {step} 步（共 {steps} 步）· 已调用网络 {step} 次"),
    );
    with_caption(plane.into_image(), &caption)
}

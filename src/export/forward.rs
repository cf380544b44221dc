//! The forward sweep as frames: x_t at evenly spaced t from 0 to T, resized and captioned. The window's
//! export dialog and `diffuscope export forward` both call this, so they always agree.

use super::budget::{Animation, Describe, shrink_steps};
use super::gif_stream::{Stop, frames_at_once, in_order};
use crate::data::Picture;
use crate::data::picture::values_to_rgb8;
use crate::diffusion::NoiseSchedule;
use crate::diffusion::forward::{Noising, jump_to, walk_chain};
use crate::diffusion::noise::{NoiseStream, standard_normal};
use crate::i18n::Lang;
use image::RgbImage;
use image::imageops::{self, FilterType};

/// What to sweep and how to draw it.
#[derive(Clone, Copy, Debug)]
pub struct Sweep<'a> {
    /// The clean image x0.
    pub picture: &'a Picture,
    /// The schedule, whose T is the sweep's last timestep.
    pub schedule: &'a NoiseSchedule,
    /// Closed-form jump or step-by-step chain.
    pub noising: Noising,
    /// Seed of the noise.
    pub seed: u64,
    /// Number of frames (at least 2: t = 0 and t = T).
    pub frames: usize,
    /// Width of each frame in pixels, before the caption band; the height keeps the aspect.
    pub width: usize,
}

/// The caption of a frame: "t = 250 / 1000 · cosine", plus "· step by step" for the chain.
pub fn caption(t: usize, schedule: &NoiseSchedule, noising: Noising) -> String {
    let config = schedule.config();
    let mut text = format!("t = {t} / {} · {}", config.steps, config.kind.cli_name());
    if config.zero_terminal_snr {
        text.push_str(" · zero SNR");
    }
    if noising == Noising::Chain {
        text.push_str(" · step by step");
    }
    text
}

/// `frames` timesteps evenly spaced over 0..=T, first 0 and last T, without repeats.
pub fn sweep_timesteps(steps: usize, frames: usize) -> Vec<usize> {
    let frames = frames.max(2);
    let mut ts: Vec<usize> = (0..frames)
        .map(|i| ((i * steps) as f64 / (frames - 1) as f64).round() as usize)
        .collect();
    ts.dedup();
    ts
}

/// The frames of the sweep, each captioned with `caption(t)`, all kept (for short sweeps and
/// benchmarks; exports stream them, see [`SweepAnimation`]). `on_frame` is called as frames finish.
pub fn sweep_frames(
    sweep: &Sweep<'_>,
    caption: &(dyn Fn(usize) -> String + Sync),
    on_frame: &(dyn Fn() + Sync),
) -> Vec<RgbImage> {
    let animation = SweepAnimation::new(*sweep, caption);
    let plan = animation.ladder()[0];
    let mut frames = Vec::new();
    // Nothing here stops the sweep early.
    let _ = animation.for_each_frame(&plan, &mut |frame| {
        on_frame();
        frames.push(frame);
        Ok(())
    });
    frames
}

/// The frames of a sweep the size limit shrinks first: fewer than this only once the width is
/// down to [`WIDTH_FLOOR`].
const FRAMES_FLOOR: usize = 24;
/// The width the size limit shrinks to before it takes frames below [`FRAMES_FLOOR`].
const WIDTH_FLOOR: usize = 200;
/// The fewest frames and the narrowest width the size limit goes to.
const FRAMES_MIN: usize = 8;
/// See [`FRAMES_MIN`].
const WIDTH_MIN: usize = 64;

/// How many frames and how wide, for the size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SweepPlan {
    /// Frames asked for (t evenly spaced from 0 to T).
    pub frames: usize,
    /// Width of each frame in pixels.
    pub width: usize,
}

impl Describe for SweepPlan {
    /// The plan in words: "40 frames, 320 px wide".
    fn describe(&self, lang: Lang) -> String {
        let Self { frames, width } = *self;
        match lang {
            Lang::En => format!("{frames} frames, {width} px wide"),
            Lang::Zh => format!("{frames} 帧、宽 {width} 像素"),
        }
    }
}

/// A sweep as an animation the size limit can shrink: the user's frames and width first, then
/// fewer frames (down to 24), then narrower (down to 200 px), then both further (8 frames, 64 px).
pub struct SweepAnimation<'a> {
    sweep: Sweep<'a>,
    caption: &'a (dyn Fn(usize) -> String + Sync),
    /// ε of the closed-form jump, drawn once for every estimate.
    eps: Vec<f32>,
}

impl<'a> SweepAnimation<'a> {
    /// The sweep with the user's frames and width, each frame captioned with `caption(t)`.
    pub fn new(sweep: Sweep<'a>, caption: &'a (dyn Fn(usize) -> String + Sync)) -> Self {
        let eps = match sweep.noising {
            Noising::Jump => {
                standard_normal(sweep.picture.values.len(), sweep.seed, NoiseStream::Jump)
            }
            Noising::Chain => Vec::new(),
        };
        Self {
            sweep,
            caption,
            eps,
        }
    }
}

impl Animation for SweepAnimation<'_> {
    type Plan = SweepPlan;

    fn ladder(&self) -> Vec<SweepPlan> {
        let mut plan = SweepPlan {
            frames: self.sweep.frames.max(2),
            width: self.sweep.width.max(1),
        };
        let mut ladder = vec![plan];
        let (frames, width) = (plan.frames, plan.width);
        for (frames_to, width_to) in [
            (FRAMES_FLOOR.min(frames), width),
            (FRAMES_FLOOR.min(frames), WIDTH_FLOOR.min(width)),
            (FRAMES_MIN.min(frames), WIDTH_FLOOR.min(width)),
            (FRAMES_MIN.min(frames), WIDTH_MIN.min(width)),
        ] {
            for step in shrink_steps(plan.frames, frames_to, 0.85) {
                plan.frames = step;
                ladder.push(plan);
            }
            for step in shrink_steps(plan.width, width_to, 0.92) {
                plan.width = step;
                ladder.push(plan);
            }
        }
        ladder
    }

    fn pixels(&self, plan: &SweepPlan) -> f64 {
        let width = to_u32(plan.width.max(1));
        let height = frame_height(self.sweep.picture, width) + super::caption_height(width);
        self.frame_count(plan) as f64 * f64::from(width) * f64::from(height)
    }

    fn frame_count(&self, plan: &SweepPlan) -> usize {
        sweep_timesteps(self.sweep.schedule.steps(), plan.frames).len()
    }

    /// The frame, x_t at full size, and the caption's copy of the frame.
    fn frame_bytes(&self, plan: &SweepPlan) -> u64 {
        let picture = self.sweep.picture;
        (picture.width * picture.height * 3) as u64 + 2 * self.output_bytes(plan)
    }

    /// In chain mode, frame t is a jump to t with noise of its own: the same kind of picture as
    /// the walk gives there (x_t has the same distribution), without walking all steps before it.
    fn sample_frame(&self, plan: &SweepPlan, index: usize) -> RgbImage {
        let timesteps = sweep_timesteps(self.sweep.schedule.steps(), plan.frames);
        let t = timesteps.get(index).copied().unwrap_or(0);
        match self.sweep.noising {
            Noising::Jump => self.jump_frame(plan.width, t, &self.eps),
            Noising::Chain => {
                let len = self.sweep.picture.values.len();
                let fresh = standard_normal(len, self.sweep.seed, NoiseStream::ChainStep(t));
                self.jump_frame(plan.width, t, &fresh)
            }
        }
    }

    fn for_each_frame(
        &self,
        plan: &SweepPlan,
        each: &mut dyn FnMut(RgbImage) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let timesteps = sweep_timesteps(self.sweep.schedule.steps(), plan.frames);
        match self.sweep.noising {
            Noising::Jump => {
                let make = |index: usize| self.jump_frame(plan.width, timesteps[index], &self.eps);
                let at_once = frames_at_once(self.frame_bytes(plan));
                in_order(timesteps.len(), at_once, &make, each)
            }
            Noising::Chain => self.walk(plan.width, &timesteps, each),
        }
    }
}

impl SweepAnimation<'_> {
    /// The photo swept.
    pub fn picture(&self) -> &Picture {
        self.sweep.picture
    }

    /// Bytes of one finished frame under `plan` (RGB, caption included).
    pub fn output_bytes(&self, plan: &SweepPlan) -> u64 {
        let width = to_u32(plan.width.max(1));
        let height = frame_height(self.sweep.picture, width) + super::caption_height(width);
        u64::from(width) * u64::from(height) * 3
    }

    /// x_t by the closed-form jump with noise `eps`, as a captioned frame `width` pixels wide.
    fn jump_frame(&self, width: usize, t: usize, eps: &[f32]) -> RgbImage {
        let rgb = jump_rgb8(self.sweep.schedule, t, &self.sweep.picture.values, eps);
        self.finish(width, t, rgb)
    }

    /// The chain walked step by step, each of `timesteps` handed to `each` as a frame.
    fn walk(
        &self,
        width: usize,
        timesteps: &[usize],
        each: &mut dyn FnMut(RgbImage) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let mut wanted = timesteps.iter().copied().peekable();
        let mut result = Ok(());
        let sweep = &self.sweep;
        walk_chain(
            sweep.schedule,
            &sweep.picture.values,
            sweep.seed,
            |t, x_t| {
                if wanted.peek() == Some(&t) {
                    wanted.next();
                    let mut rgb = vec![0; x_t.len()];
                    values_to_rgb8(x_t, &mut rgb);
                    result = each(self.finish(width, t, rgb));
                }
                result.is_ok() && wanted.peek().is_some()
            },
        );
        result
    }

    /// x_t as bytes at the photo's size, resized to `width` and captioned.
    fn finish(&self, width: usize, t: usize, rgb: Vec<u8>) -> RgbImage {
        let frame = to_frame(self.sweep.picture, rgb, width);
        super::with_caption(frame, &(self.caption)(t))
    }
}

/// x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε as bytes, made a slice at a time so that no photo-sized x_t in
/// floats is ever held (for a 12-megapixel photo, 144 MB per frame).
fn jump_rgb8(schedule: &NoiseSchedule, t: usize, x0: &[f32], eps: &[f32]) -> Vec<u8> {
    const SLICE: usize = 1 << 14;
    let mut rgb = vec![0; x0.len()];
    let mut x_t = vec![0.0; SLICE.min(x0.len())];
    for ((out, x0), eps) in rgb
        .chunks_mut(SLICE)
        .zip(x0.chunks(SLICE))
        .zip(eps.chunks(SLICE))
    {
        let x_t = &mut x_t[..out.len()];
        jump_to(schedule, t, x0, eps, x_t);
        values_to_rgb8(x_t, out);
    }
    rgb
}

/// The height of a frame `width` pixels wide (aspect kept, at least 1 pixel).
fn frame_height(picture: &Picture, width: u32) -> u32 {
    let (w, h) = (to_u32(picture.width).max(1), to_u32(picture.height));
    ((u64::from(h) * u64::from(width)) as f64 / f64::from(w))
        .round()
        .max(1.0) as u32
}

/// x_t's bytes at the photo's size, resized to `width` (aspect kept, at least 1 pixel high).
fn to_frame(picture: &Picture, rgb: Vec<u8>, width: usize) -> RgbImage {
    let (w, h) = (to_u32(picture.width), to_u32(picture.height));
    let Some(image) = RgbImage::from_raw(w, h, rgb) else {
        return RgbImage::new(w, h);
    };
    let width = to_u32(width.max(1));
    if width == w {
        return image;
    }
    let height = frame_height(picture, width);
    let filter = if width < w {
        FilterType::Triangle
    } else {
        FilterType::Nearest
    };
    imageops::resize(&image, width, height, filter)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caption_names_t_and_schedule() {
        let schedule = NoiseSchedule::new(crate::diffusion::ScheduleConfig::default());
        assert_eq!(
            caption(250, &schedule, Noising::Jump),
            "t = 250 / 1000 · cosine"
        );
    }

    #[test]
    fn timesteps_span_zero_to_t() {
        assert_eq!(sweep_timesteps(1000, 5), vec![0, 250, 500, 750, 1000]);
        assert_eq!(sweep_timesteps(10, 60).len(), 11);
        assert_eq!(sweep_timesteps(1000, 1), vec![0, 1000]);
    }
}

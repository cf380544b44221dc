//! A reverse run as GIF frames: the noisy images x_t at every `stride`-th recorded step, then the
//! finished images, enlarged with nearest-neighbour sampling and captioned with the step, where on
//! the noise path it was, and the run's settings. The window's export and `diffuscope sample --gif`
//! both call this, so they always agree.

use image::RgbImage;
use rayon::prelude::*;

use super::budget::{Animation, Describe, shrink_steps};
use super::caption::{caption_height, with_caption};
use super::gif_stream::{Stop, frames_at_once, in_order};
use crate::i18n::Lang;
use crate::sample::GridSpec;
use crate::sample::grid::{tile_reserving, tiled_size};
use crate::worker::RunRecord;
use crate::worker::frame::to_full;

/// Which images a GIF shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GifSubject {
    /// The whole batch, laid out as `grid`.
    Grid(GridSpec),
    /// One image of the batch, by index.
    Sample(usize),
}

/// How a run becomes frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReverseFrames {
    /// What to show.
    pub subject: GifSubject,
    /// Every `stride`-th recorded step (at least 1); the first step and the finished images are
    /// always included.
    pub stride: usize,
    /// Enlargement: each image pixel becomes a `scale × scale` square (at least 1).
    pub scale: u32,
}

/// The indices of the recorded frames a GIF with `stride` shows, in order: 0, stride, 2·stride, …
/// and always the last recorded one.
pub fn chosen_frames(recorded: usize, stride: usize) -> Vec<usize> {
    let mut chosen: Vec<usize> = (0..recorded).step_by(stride.max(1)).collect();
    if recorded > 0 && chosen.last() != Some(&(recorded - 1)) {
        chosen.push(recorded - 1);
    }
    chosen
}

/// The frames of `record` (its finished images last, if it finished), captioned.
pub fn reverse_frames(record: &RunRecord, options: &ReverseFrames) -> Vec<RgbImage> {
    let chosen = chosen_frames(record.frames.len(), options.stride);
    let count = chosen.len() + usize::from(record.samples.is_some());
    (0..count)
        .into_par_iter()
        .map(|index| reverse_frame(record, options, &chosen, index))
        .collect()
}

/// Frame `index` of the GIF whose recorded frames are `chosen` (see [`chosen_frames`]); the one
/// after the last chosen is the finished images.
fn reverse_frame(
    record: &RunRecord,
    options: &ReverseFrames,
    chosen: &[usize],
    index: usize,
) -> RgbImage {
    let describe = record.describe();
    let picture = |values: &[f32]| -> RgbImage {
        let (grid, values) = match options.subject {
            GifSubject::Grid(grid) => (grid, values),
            GifSubject::Sample(index) => {
                let pixels = record.image_shape.values();
                let one = GridSpec::image_of(values, pixels, index).unwrap_or(&[]);
                (single(), one)
            }
        };
        // Room for the caption, which is then added in place.
        let (width, _) = tiled_size(grid, record.image_shape, options.scale);
        let band = caption_height(width);
        tile_reserving(values, record.image_shape, grid, options.scale, band)
    };
    match chosen.get(index).and_then(|&i| record.frames.get(i)) {
        Some(frame) => {
            let text = format!(
                "step {} / {} · {} · {describe}",
                frame.step + 1,
                frame.steps,
                frame.point
            );
            with_caption(picture(&to_full(&frame.x_t)), &text)
        }
        None => {
            let samples = record.samples.as_deref().unwrap_or(&[]);
            with_caption(picture(samples), &format!("done · {describe}"))
        }
    }
}

/// The GIF frames the size limit shrinks first: fewer than this only once the enlargement is down
/// to [`SCALE_FLOOR`].
const FRAMES_FLOOR: usize = 24;
/// The enlargement the size limit goes down to before it takes frames below [`FRAMES_FLOOR`].
const SCALE_FLOOR: u32 = 2;
/// The fewest frames the size limit goes to (then it takes the enlargement to 1).
const FRAMES_MIN: usize = 8;

/// Which steps and how large, for the size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunPlan {
    /// Every `stride`-th recorded step.
    pub stride: usize,
    /// Enlargement.
    pub scale: u32,
}

impl Describe for RunPlan {
    /// The plan in words: "one frame every 20 steps, enlarged 4×".
    fn describe(&self, lang: Lang) -> String {
        let Self { stride, scale } = *self;
        match (lang, stride) {
            (Lang::En, 1) => format!("every step, enlarged {scale}×"),
            (Lang::En, _) => format!("one frame every {stride} steps, enlarged {scale}×"),
            (Lang::Zh, _) => format!("每 {stride} 步一帧、放大 {scale} 倍"),
        }
    }
}

/// A run as an animation the size limit can shrink: the user's stride and enlargement first, then
/// a wider stride (down to 24 frames), then a smaller enlargement (down to 2), then both further
/// (8 frames, enlargement 1).
pub struct RunAnimation<'a> {
    /// The run.
    pub record: &'a RunRecord,
    /// What to show, and the user's stride and enlargement.
    pub options: ReverseFrames,
}

impl RunAnimation<'_> {
    fn options(&self, plan: &RunPlan) -> ReverseFrames {
        ReverseFrames {
            stride: plan.stride,
            scale: plan.scale,
            ..self.options
        }
    }

    /// The smallest stride from `stride` up that gives at most `frames` recorded frames.
    fn stride_for(&self, stride: usize, frames: usize) -> usize {
        let recorded = self.record.frames.len();
        (stride..=recorded.max(stride))
            .find(|&s| chosen_frames(recorded, s).len() <= frames)
            .unwrap_or(stride)
    }
}

impl Animation for RunAnimation<'_> {
    type Plan = RunPlan;

    fn ladder(&self) -> Vec<RunPlan> {
        let mut plan = RunPlan {
            stride: self.options.stride.max(1),
            scale: self.options.scale.max(1),
        };
        let mut ladder = vec![plan];
        let recorded = self.record.frames.len();
        let start = chosen_frames(recorded, plan.stride).len();
        let scale = plan.scale;
        for (frames_to, scale_to) in [
            (FRAMES_FLOOR.min(start), scale),
            (FRAMES_FLOOR.min(start), SCALE_FLOOR.min(scale)),
            (FRAMES_MIN.min(start), SCALE_FLOOR.min(scale)),
            (FRAMES_MIN.min(start), 1),
        ] {
            let now = chosen_frames(recorded, plan.stride).len();
            for frames in shrink_steps(now, frames_to, 0.85) {
                let stride = self.stride_for(plan.stride, frames);
                if stride != plan.stride {
                    plan.stride = stride;
                    ladder.push(plan);
                }
            }
            while plan.scale > scale_to {
                plan.scale -= 1;
                ladder.push(plan);
            }
        }
        ladder
    }

    fn pixels(&self, plan: &RunPlan) -> f64 {
        let (w, h) = self.frame_size(plan);
        self.frame_count(plan) as f64 * f64::from(w) * f64::from(h)
    }

    fn frame_count(&self, plan: &RunPlan) -> usize {
        chosen_frames(self.record.frames.len(), plan.stride).len()
            + usize::from(self.record.samples.is_some())
    }

    /// The frame (its caption is added in place).
    fn frame_bytes(&self, plan: &RunPlan) -> u64 {
        let (w, h) = self.frame_size(plan);
        3 * u64::from(w) * u64::from(h)
    }

    fn sample_frame(&self, plan: &RunPlan, index: usize) -> RgbImage {
        let chosen = chosen_frames(self.record.frames.len(), plan.stride);
        reverse_frame(self.record, &self.options(plan), &chosen, index)
    }

    fn for_each_frame(
        &self,
        plan: &RunPlan,
        each: &mut dyn FnMut(RgbImage) -> Result<(), Stop>,
    ) -> Result<(), Stop> {
        let chosen = chosen_frames(self.record.frames.len(), plan.stride);
        let options = self.options(plan);
        let make = |index| reverse_frame(self.record, &options, &chosen, index);
        let at_once = frames_at_once(self.frame_bytes(plan));
        in_order(self.frame_count(plan), at_once, &make, each)
    }
}

impl RunAnimation<'_> {
    /// Width and height of a frame under `plan`, caption included.
    fn frame_size(&self, plan: &RunPlan) -> (u32, u32) {
        let grid = match self.options.subject {
            GifSubject::Grid(grid) => grid,
            GifSubject::Sample(_) => single(),
        };
        let (w, h) = tiled_size(grid, self.record.image_shape, plan.scale.max(1));
        (w, h + caption_height(w))
    }
}

/// A 1×1 grid.
fn single() -> GridSpec {
    GridSpec {
        columns: 1,
        rows: 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stride_keeps_the_first_and_the_last_step() {
        assert_eq!(chosen_frames(10, 3), [0, 3, 6, 9]);
        assert_eq!(chosen_frames(10, 4), [0, 4, 8, 9]);
        assert_eq!(chosen_frames(3, 1), [0, 1, 2]);
        assert_eq!(chosen_frames(3, 0), [0, 1, 2]);
        assert_eq!(chosen_frames(0, 5), Vec::<usize>::new());
    }
}

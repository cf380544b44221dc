//! A reverse run as GIF frames: the noisy images x_t at every `stride`-th recorded step, then the
//! finished images, enlarged with nearest-neighbour sampling and captioned with the step, where on
//! the noise path it was, and the run's settings. The window's export and `diffuscope sample --gif`
//! both call this, so they always agree.

use image::RgbImage;
use rayon::prelude::*;

use super::caption::add_caption;
use crate::sample::GridSpec;
use crate::sample::grid::tile;
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
    let describe = record.describe();
    let picture = |values: &[f32]| -> RgbImage {
        match options.subject {
            GifSubject::Grid(grid) => tile(values, record.image_size, grid, options.scale),
            GifSubject::Sample(index) => {
                let pixels = record.image_size.0 * record.image_size.1;
                let one = GridSpec::image_of(values, pixels, index).unwrap_or(&[]);
                tile(one, record.image_size, single(), options.scale)
            }
        }
    };
    let mut frames: Vec<RgbImage> = chosen_frames(record.frames.len(), options.stride)
        .into_par_iter()
        .map(|index| {
            let frame = &record.frames[index];
            let text = format!(
                "step {} / {} · {} · {describe}",
                frame.step + 1,
                frame.steps,
                frame.point
            );
            add_caption(&picture(&to_full(&frame.x_t)), &text)
        })
        .collect();
    if let Some(samples) = &record.samples {
        frames.push(add_caption(
            &picture(samples),
            &format!("done · {describe}"),
        ));
    }
    frames
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

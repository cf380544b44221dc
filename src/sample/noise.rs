//! The random draws of a sampling run, one stream per sample.
//!
//! Sample k of a run with seed s draws all of its noise — the start x_T and the fresh z of every
//! stochastic step — from generators seeded from (s, k) alone. So sample k of seed s is the same
//! picture whether it is made alone or as one of 4, 16 or 64 (the CPU network's arithmetic does
//! not depend on the batch either, as `tests/worker.rs` checks with the shipped model; a GPU may
//! round differently), and a run's result never depends on the number of threads: each sample's
//! values are drawn by one generator, in order.

use rayon::prelude::*;

use crate::diffusion::noise::{NoiseStream, fill_standard_normal, splitmix64};

/// Mixed into the sample index, so a sample's seed is never simply the run's seed plus k
/// (sample 1 of seed 5 would otherwise be sample 0 of seed 6).
const SAMPLE_TAG: u64 = 0x5341_4D50_4C45_0000; // "SAMPLE\0\0"

/// The seed of sample `index`'s own generators in a run seeded with `seed`.
pub fn sample_seed(seed: u64, index: usize) -> u64 {
    splitmix64(seed ^ splitmix64(SAMPLE_TAG ^ index as u64))
}

/// `batch` images of `pixels` N(0, 1) values each for `stream` (the start, or step n's fresh
/// noise), image k drawn from sample k's own generator.
pub fn per_sample_noise(batch: usize, pixels: usize, seed: u64, stream: NoiseStream) -> Vec<f32> {
    let mut out = vec![0.0; batch * pixels];
    if pixels == 0 {
        return out;
    }
    out.par_chunks_mut(pixels)
        .enumerate()
        .for_each(|(index, image)| fill_standard_normal(image, sample_seed(seed, index), stream));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_image_is_the_same_in_any_batch_and_differs_from_its_neighbours() {
        let pixels = 784;
        let one = per_sample_noise(1, pixels, 3, NoiseStream::SampleStart);
        let many = per_sample_noise(64, pixels, 3, NoiseStream::SampleStart);
        assert_eq!(one[..], many[..pixels]);
        assert_ne!(many[..pixels], many[pixels..2 * pixels]);
        // Sample 1 of seed 3 is not sample 0 of seed 4.
        let next_seed = per_sample_noise(1, pixels, 4, NoiseStream::SampleStart);
        assert_ne!(many[pixels..2 * pixels], next_seed[..]);
        // Each step's stream differs from the start's.
        let step = per_sample_noise(1, pixels, 3, NoiseStream::SampleStep(0));
        assert_ne!(one, step);
    }
}

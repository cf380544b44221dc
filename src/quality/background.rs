//! Clean backgrounds: the share of pixels in a thin ring along the edge of each digit that are
//! lit. A real MNIST digit sits centred in its 28×28 box with an empty margin (0.52 % of the ring
//! of [`RING`] pixels is brighter than [`LIT`] over the 10,000 bundled digits); a model that leaves
//! speckle over the background shows it here long before FID says anything.

use crate::sample::network::DIGIT_SIDE;

/// Width of the ring, in pixels from each edge.
pub const RING: usize = 3;

/// A pixel is lit above this brightness (0 black … 1 white; the network's [−1, 1] mapped).
pub const LIT: f32 = 0.1;

/// The share of the ring's pixels that are lit in one 28×28 image of values in [−1, 1].
pub fn ring_share(image: &[f32]) -> f32 {
    let mut lit = 0usize;
    let mut ring = 0usize;
    for (index, &value) in image.iter().take(DIGIT_SIDE * DIGIT_SIDE).enumerate() {
        let (row, column) = (index / DIGIT_SIDE, index % DIGIT_SIDE);
        if in_ring(row) || in_ring(column) {
            ring += 1;
            lit += usize::from((value + 1.0) / 2.0 > LIT);
        }
    }
    lit as f32 / ring.max(1) as f32
}

/// Whether a row (or column) index lies within [`RING`] of either edge.
fn in_ring(index: usize) -> bool {
    !(RING..DIGIT_SIDE - RING).contains(&index)
}

/// The mean of per-image ring shares (0 for none).
pub fn mean_share(shares: &[f32]) -> f64 {
    shares.iter().map(|&s| f64::from(s)).sum::<f64>() / shares.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIXELS: usize = DIGIT_SIDE * DIGIT_SIDE;

    #[test]
    fn a_centred_stroke_leaves_the_ring_dark() {
        let mut image = vec![-1.0; PIXELS];
        for row in 4..24 {
            image[row * DIGIT_SIDE + 14] = 1.0;
        }
        assert_eq!(ring_share(&image), 0.0);
    }

    #[test]
    fn counts_lit_ring_pixels_over_the_ring_only() {
        // The ring holds 28² − 22² = 300 pixels; light the whole top row (28 of them) and a
        // centre pixel that must not count.
        let mut image = vec![-1.0; PIXELS];
        image[..DIGIT_SIDE].fill(0.5);
        image[14 * DIGIT_SIDE + 14] = 1.0;
        assert!((ring_share(&image) - 28.0 / 300.0).abs() < 1e-6);
        // Just below the threshold (0.1 on the 0…1 scale is −0.8 on the network's) is dark.
        let dim = vec![-0.81; PIXELS];
        assert_eq!(ring_share(&dim), 0.0);
        assert_eq!(ring_share(&vec![-0.79; PIXELS]), 1.0);
    }

    #[test]
    fn the_mean_of_no_shares_is_zero() {
        assert_eq!(mean_share(&[]), 0.0);
        assert!((mean_share(&[0.1, 0.3]) - 0.2).abs() < 1e-7);
    }
}

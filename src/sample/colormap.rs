//! A diverging colour map for signed quantities such as the noise ε̂: negative values purple,
//! zero white, positive values orange (ColorBrewer's PuOr, which people with the common forms of
//! colour blindness tell apart, and which prints in grey as a ramp from dark to light to dark).

/// The categorical palette of Okabe and Ito (2008): orange, sky blue, bluish green, reddish
/// purple, vermillion, blue, yellow; lines and lanes told apart by colour-blind students too
/// (`tests/colour_vision.rs` checks them under simulated deuteranopia and protanopia).
pub const OKABE_ITO: [[u8; 3]; 7] = [
    [230, 159, 0],
    [86, 180, 233],
    [0, 158, 115],
    [204, 121, 167],
    [213, 94, 0],
    [0, 114, 178],
    [240, 228, 66],
];

/// White (weight 0) to dark blue (`largest`), through the square root of the weight so that the
/// small weights of a wide attention map still show: the colour of attention maps.
pub fn attention_colour(weight: f32, largest: f32) -> [u8; 3] {
    let x = (weight / largest.max(1e-12)).clamp(0.0, 1.0).sqrt();
    let (white, blue) = ([250.0, 250.0, 250.0], [8.0, 48.0, 107.0]);
    std::array::from_fn(|i| (white[i] + (blue[i] - white[i]) * x).round() as u8)
}

/// The value that gets the map's strongest colours: ε is N(0, 1), so ±3 covers 99.7 % of it.
pub const DIVERGING_RANGE: f32 = 3.0;

/// PuOr from −1 (dark purple) through white to +1 (dark orange), seven stops.
const STOPS: [[f32; 3]; 7] = [
    [84.0, 39.0, 136.0],
    [153.0, 142.0, 195.0],
    [216.0, 218.0, 235.0],
    [247.0, 247.0, 247.0],
    [254.0, 224.0, 182.0],
    [241.0, 163.0, 64.0],
    [179.0, 88.0, 6.0],
];

/// The colour of `value`, with ±[`DIVERGING_RANGE`] at the ends (beyond is clipped; NaN is black).
pub fn diverging(value: f32) -> [u8; 3] {
    if value.is_nan() {
        return [0, 0, 0];
    }
    let position = (value / DIVERGING_RANGE).clamp(-1.0, 1.0);
    let scaled = (position + 1.0) * 0.5 * (STOPS.len() - 1) as f32;
    // In 0..=6 by the clamp above.
    let low = (scaled.floor() as usize).min(STOPS.len() - 2);
    let fraction = scaled - low as f32;
    let (a, b) = (STOPS[low], STOPS[low + 1]);
    std::array::from_fn(|i| (a[i] + (b[i] - a[i]) * fraction).round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_white_and_the_ends_are_purple_and_orange() {
        assert_eq!(diverging(0.0), [247, 247, 247]);
        assert_eq!(diverging(-3.0), [84, 39, 136]);
        assert_eq!(diverging(-30.0), [84, 39, 136]);
        assert_eq!(diverging(3.0), [179, 88, 6]);
        assert_eq!(diverging(f32::NAN), [0, 0, 0]);
        // Lightness falls away from zero on both sides.
        let light = |v: f32| diverging(v).iter().map(|&c| u32::from(c)).sum::<u32>();
        assert!(light(1.0) < light(0.0) && light(2.0) < light(1.0));
        assert!(light(-1.0) < light(0.0) && light(-2.0) < light(-1.0));
    }
}

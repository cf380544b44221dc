//! The colour maps seen through simulated colour blindness: under deuteranopia and protanopia
//! (Machado, Oliveira and Fernandes 2009, severity 1, applied in linear RGB) the ends of the
//! diverging map of ε̂ stay far apart, and the lanes' and lines' colours stay told apart from one
//! another. Distances are in Oklab (Ottosson 2020), where 0.02 is about a just-noticeable
//! difference.

use diffuscope::sample::colormap::{DIVERGING_RANGE, OKABE_ITO, diverging};

/// Machado et al. 2009, severity 1.0.
const PROTANOPIA: [[f64; 3]; 3] = [
    [0.152286, 1.052583, -0.204868],
    [0.114503, 0.786281, 0.099216],
    [-0.003882, -0.048116, 1.051998],
];
const DEUTERANOPIA: [[f64; 3]; 3] = [
    [0.367322, 0.860646, -0.227968],
    [0.280085, 0.672501, 0.047413],
    [-0.011820, 0.042940, 0.968881],
];
const IDENTITY: [[f64; 3]; 3] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];

const VISIONS: [(&str, [[f64; 3]; 3]); 3] = [
    ("typical", IDENTITY),
    ("deuteranopia", DEUTERANOPIA),
    ("protanopia", PROTANOPIA),
];

fn linear(channel: u8) -> f64 {
    let c = f64::from(channel) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// `rgb` as seen with `vision`, in Oklab.
fn seen(rgb: [u8; 3], vision: &[[f64; 3]; 3]) -> [f64; 3] {
    let l = rgb.map(linear);
    let s = vision.map(|row| (row[0] * l[0] + row[1] * l[1] + row[2] * l[2]).clamp(0.0, 1.0));
    let lms = [
        0.4122214708 * s[0] + 0.5363325363 * s[1] + 0.0514459929 * s[2],
        0.2119034982 * s[0] + 0.6806995451 * s[1] + 0.1073969566 * s[2],
        0.0883024619 * s[0] + 0.2817188376 * s[1] + 0.6299787005 * s[2],
    ]
    .map(f64::cbrt);
    [
        0.2104542553 * lms[0] + 0.7936177850 * lms[1] - 0.0040720468 * lms[2],
        1.9779984951 * lms[0] - 2.4285922050 * lms[1] + 0.4505937099 * lms[2],
        0.0259040371 * lms[0] + 0.7827717662 * lms[1] - 0.8086757660 * lms[2],
    ]
}

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

#[test]
fn the_noise_maps_ends_stay_apart_and_its_middle_stays_lightest() {
    for (name, vision) in VISIONS {
        let at = |value: f32| seen(diverging(value), &vision);
        let ends = distance(at(-DIVERGING_RANGE), at(DIVERGING_RANGE));
        let halves = distance(at(-DIVERGING_RANGE / 2.0), at(DIVERGING_RANGE / 2.0));
        println!("{name}: ends {ends:.3}, halves {halves:.3}");
        // Measured: ends 0.27–0.31, halves 0.15–0.17 across the three.
        assert!(ends > 0.15, "{name}: −3 and +3 look alike ({ends:.3})");
        assert!(
            halves > 0.08,
            "{name}: −1.5 and +1.5 look alike ({halves:.3})"
        );
        // Zero stays the lightest, so "no noise" reads the same to everyone.
        for value in [-3.0, -1.5, 1.5, 3.0] {
            assert!(at(0.0)[0] > at(value)[0] + 0.05, "{name}: {value}");
        }
    }
}

#[test]
fn the_lanes_and_lines_colours_stay_told_apart() {
    for (name, vision) in VISIONS {
        let colours: Vec<[f64; 3]> = OKABE_ITO.iter().map(|&c| seen(c, &vision)).collect();
        let mut closest = f64::INFINITY;
        // The four lanes of a race: every pair.
        for i in 0..4 {
            for j in i + 1..4 {
                closest = closest.min(distance(colours[i], colours[j]));
            }
        }
        println!("{name}: the closest two lane colours are {closest:.3} apart");
        // Measured: 0.076 (deuteranopia), 0.096 (protanopia), 0.184 (typical).
        assert!(
            closest > 0.04,
            "{name}: two lanes look alike ({closest:.3})"
        );
    }
}

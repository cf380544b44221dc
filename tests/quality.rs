//! The evaluation lab's measures against reference values (tests/golden/quality.json, written by
//! tests/golden/make_quality.py with numpy/scipy: pytorch-fid's FID formula, the polynomial-kernel
//! KID, k = 3 precision and recall), and the real-vs-real floor on the shipped digits.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/golden_json.rs"]
mod golden_json;

use candle_core::Device;
use diffuscope::data::mnist::load_bundled_digits;
use diffuscope::model::{load_classifier, resolve_model};
use diffuscope::quality::Features;
use diffuscope::quality::features::read_images;
use diffuscope::quality::frechet::{GaussianStats, frechet_distance};
use diffuscope::quality::kid::mmd2;
use diffuscope::quality::manifold::{Manifold, NEIGHBOUR, precision_recall};
use diffuscope::quality::report::Reference;
use golden_json::{floats, scaled_error};
use serde_json::Value;

/// FID and KID within 1e-7 of scipy's, relative to their size where it exceeds 1. Measured
/// (`cargo test --test quality -- --nocapture`): FID 1.0e-12 and KID 8.9e-16 on the Gaussian
/// case; FID 9.9e-9 on the singular one, where scipy's general `sqrtm` of a singular product is
/// the less accurate of the two (ours takes square roots of symmetric matrices only).
const TOLERANCE: f64 = 1e-7;

fn features(case: &Value, key: &str) -> Features {
    let width = case["width"].as_u64().unwrap() as usize;
    Features::new(width, floats(&case[key])).unwrap()
}

#[test]
fn fid_kid_precision_and_recall_match_the_reference_implementations() {
    let golden: Value = serde_json::from_str(include_str!("golden/quality.json")).unwrap();
    for case in golden["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (real, fake) = (features(case, "real"), features(case, "fake"));
        let fid = frechet_distance(
            &GaussianStats::of(&fake).unwrap(),
            &GaussianStats::of(&real).unwrap(),
        );
        let kid = mmd2(&fake, &real).unwrap();
        let (precision, recall) = precision_recall(
            &Manifold::new(real, NEIGHBOUR).unwrap(),
            &Manifold::new(fake, NEIGHBOUR).unwrap(),
        );
        let fid_error = scaled_error(fid, case["fid"].as_f64().unwrap());
        let kid_error = scaled_error(kid, case["kid"].as_f64().unwrap());
        println!("{name}: FID error {fid_error:e}, KID error {kid_error:e}");
        assert!(
            fid_error <= TOLERANCE,
            "{name}: FID {fid}, error {fid_error:e}"
        );
        assert!(
            kid_error <= TOLERANCE,
            "{name}: KID {kid}, error {kid_error:e}"
        );
        // Counts over a few hundred points: exactly the same shares.
        assert_eq!(
            precision,
            case["precision"].as_f64().unwrap(),
            "{name}: precision"
        );
        assert_eq!(recall, case["recall"].as_f64().unwrap(), "{name}: recall");
    }
}

#[test]
fn real_digits_measured_against_real_digits_sit_at_the_floor() {
    let digits = load_bundled_digits().unwrap();
    let count = 600;
    let images: Vec<f32> = (0..count)
        .flat_map(|i| digits.image_unit(i).unwrap())
        .collect();
    let labels: Vec<u32> = digits.labels[..count]
        .iter()
        .map(|&l| u32::from(l))
        .collect();
    let (_, classifier) =
        load_classifier(&resolve_model("digits-classifier").unwrap(), &Device::Cpu).unwrap();
    let reading = read_images(&classifier, &Device::Cpu, &images).unwrap();
    let reference = Reference::new(&reading, &labels).unwrap();
    assert_eq!(reference.size(), 300);
    let floor = reference.floor(200).unwrap();
    // Shifted digits: the same measures must see them as worse on every count.
    let shifted: Vec<f32> = images[300 * 784..500 * 784]
        .chunks(28)
        .flat_map(|row| {
            row[3..]
                .iter()
                .chain(&[-1.0; 3])
                .copied()
                .collect::<Vec<_>>()
        })
        .collect();
    let worse = reference
        .measure(
            &read_images(&classifier, &Device::Cpu, &shifted).unwrap(),
            &floor_labels(&labels),
        )
        .unwrap();
    println!("floor {floor:?}\nshifted {worse:?}");
    assert_eq!(floor.count, 200);
    assert!(floor.classes.agreement.unwrap() > 0.95, "{floor:?}");
    assert!(floor.precision > 0.75 && floor.recall > 0.75, "{floor:?}");
    // KID is unbiased: near 0 for real digits, against a large value for shifted ones.
    assert!(worse.kid > 5.0 * floor.kid.abs(), "{worse:?}");
    assert!(worse.fid > 2.0 * floor.fid, "{worse:?}");
    assert!(
        worse.precision < floor.precision && worse.recall < floor.recall,
        "{worse:?}"
    );
    // Real digits leave the border ring dark (0.52 % lit over all 10,000) and their classes
    // near the data's; strokes shifted into the margin light it.
    assert!(floor.border_share < 0.02, "{floor:?}");
    assert!(worse.border_share > 2.0 * floor.border_share, "{worse:?}");
    assert!(floor.share_gap.unwrap() < 0.06, "{floor:?}");
    assert_eq!(worse.share_gap, None, "asked for digits: no class gap");
}

#[test]
fn unguided_samples_of_one_digit_show_a_class_gap_and_speckle_a_lit_border() {
    let digits = load_bundled_digits().unwrap();
    let (_, classifier) =
        load_classifier(&resolve_model("digits-classifier").unwrap(), &Device::Cpu).unwrap();
    let images: Vec<f32> = (0..400)
        .flat_map(|i| digits.image_unit(i).unwrap())
        .collect();
    let labels: Vec<u32> = digits.labels[..400].iter().map(|&l| u32::from(l)).collect();
    let reference = Reference::new(
        &read_images(&classifier, &Device::Cpu, &images).unwrap(),
        &labels,
    )
    .unwrap();
    // Only the 1s of the other half, drawn "without a class", every other pixel of the top
    // three rows lit: half the ring's top band, 42 of its 300 pixels.
    let ones: Vec<f32> = (200..400)
        .filter(|&i| labels[i] == 1)
        .flat_map(|i| {
            let mut image = digits.image_unit(i).unwrap();
            image[..3 * 28].iter_mut().step_by(2).for_each(|p| *p = 1.0);
            image
        })
        .collect();
    let count = ones.len() / 784;
    let report = reference
        .measure(
            &read_images(&classifier, &Device::Cpu, &ones).unwrap(),
            &vec![None; count],
        )
        .unwrap();
    println!("{report:?}");
    assert!(report.share_gap.unwrap() > 0.8, "{report:?}");
    assert!(report.classes.agreement.is_none());
    assert!(
        (report.border_share - 42.0 / 300.0).abs() < 0.02,
        "{report:?}"
    );
}

/// The labels of the digits the floor measures (the second half's first 200), as asked digits.
fn floor_labels(labels: &[u32]) -> Vec<Option<u32>> {
    labels[300..500].iter().map(|&l| Some(l)).collect()
}

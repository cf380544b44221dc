//! The candle networks against the PyTorch reference (`training/unet.py`), through the program's
//! own checkpoint loader; every way a checkpoint can be broken; and the shipped models.
//!
//! The golden files and the script that wrote them are in `tests/golden/`
//! (`python3 tests/golden/make_model_golden.py`).
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/tensors.rs"]
mod tensors;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use diffuscope::i18n::Lang;
use diffuscope::model::checkpoint::{CheckpointError, ModelKind};
use diffuscope::model::layers::{sinusoid_values, sinusoidal_embedding};
use diffuscope::model::{
    ModelDetails, NULL_CLASS, Network, Objective, UNetConfig, load_classifier,
    load_diffusion_model, read_model_info, resolve_model, shipped_model_path,
};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use tensors::max_abs_diff;

/// Largest |candle − PyTorch| allowed on a network's output; measured at most 2.2e-6 (the UNets)
/// and 8.3e-7 (the classifier) with `cargo test --test model_golden -- --nocapture`.
const TOLERANCE: f32 = 2e-5;
/// Largest error allowed on the sinusoidal time embedding; measured 6.0e-8.
const SINUSOID_TOLERANCE: f32 = 6e-7;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn golden_tensors(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

/// Runs the golden batches of a UNet file through the loaded model; returns the largest error.
fn check_unet(file: &str, expected_config: &UNetConfig) -> f32 {
    let path = golden(file);
    let model = load_diffusion_model(&path, &Device::Cpu).unwrap();
    assert_eq!(
        model.info.network,
        Network::DigitUNet(expected_config.clone())
    );
    assert_eq!(model.net.digit_config(), Some(expected_config));
    assert_eq!(model.info.objective, Objective::Eps);
    assert_eq!(model.info.schedule, "linear");
    assert_eq!(model.info.train_steps_t, 1000);
    assert_eq!(
        model.metadata.get("command").map(String::as_str),
        Some("python3 tests/golden/make_model_golden.py")
    );

    let g = golden_tensors(&path);
    let mut worst = 0f32;
    for i in 0..3 {
        let x = &g[&format!("golden.x.{i}")];
        let t = &g[&format!("golden.t.{i}")];
        let y = g[&format!("golden.y.{i}")].to_dtype(DType::U32).unwrap();
        let out = model.net.forward(x, t, &y).unwrap();
        let err = max_abs_diff(&out, &g[&format!("golden.out.{i}")]);
        println!("{file} batch {i}: max |candle − torch| = {err:.2e}");
        worst = worst.max(err);
    }
    assert!(worst < TOLERANCE, "{file}: max error {worst}");

    let t = &g["golden.sinusoid.t"];
    let expected = &g["golden.sinusoid"];
    let dim = expected_config.sinusoid_dim;
    let err = max_abs_diff(&sinusoidal_embedding(t, dim).unwrap(), expected);
    println!("{file} sinusoid: max error {err:.2e}");
    assert!(err < SINUSOID_TOLERANCE, "sinusoid error {err}");
    let rows = expected.to_vec2::<f32>().unwrap();
    for (row, t) in rows.iter().zip(t.to_vec1::<f32>().unwrap()) {
        for (a, b) in row.iter().zip(sinusoid_values(t, dim)) {
            assert!((a - b).abs() < SINUSOID_TOLERANCE, "t = {t}: {a} vs {b}");
        }
    }
    worst
}

#[test]
fn default_unet_matches_pytorch_with_f16_weights() {
    check_unet("unet-golden.safetensors", &UNetConfig::default());
}

#[test]
fn tiny_unet_matches_pytorch() {
    check_unet("unet-tiny-golden.safetensors", &UNetConfig::tiny());
}

#[test]
fn classifier_matches_pytorch_with_bf16_weights() {
    let path = golden("classifier-golden.safetensors");
    let (info, net) = load_classifier(&path, &Device::Cpu).unwrap();
    assert_eq!(info.kind(), ModelKind::DigitClassifier);
    assert_eq!(
        info.details,
        ModelDetails::Classifier,
        "no UNet options on a classifier"
    );
    let g = golden_tensors(&path);
    let logits = net.forward(&g["golden.x"]).unwrap();
    let err = max_abs_diff(&logits, &g["golden.logits"]);
    println!("classifier: max |candle − torch| = {err:.2e}");
    assert!(err < TOLERANCE, "classifier error {err}");
    let expected: Vec<u32> = g["golden.logits"]
        .argmax(1)
        .unwrap()
        .to_vec1::<u32>()
        .unwrap();
    assert_eq!(net.classify(&g["golden.x"]).unwrap(), expected);
}

#[test]
fn model_info_without_building() {
    let info = read_model_info(&golden("classifier-golden.safetensors")).unwrap();
    assert_eq!(info.kind(), ModelKind::DigitClassifier);
    let info = read_model_info(&golden("unet-tiny-golden.safetensors")).unwrap();
    assert_eq!(info.kind(), ModelKind::DigitUNet);
    assert_eq!(
        info.diffusion().map(|d| &d.network),
        Some(&Network::DigitUNet(UNetConfig::tiny()))
    );
}

// ---------------------------------------------------------------------------------------------
// Broken checkpoints: each must give the right error and a sentence in both languages.

/// A change to a checkpoint's metadata.
type MetadataChange = fn(&mut HashMap<String, String>);

/// A changed copy of a checkpoint.
#[derive(Default)]
struct Edit<'a> {
    drop: Option<&'a str>,
    replace: Option<(&'a str, Dtype, Vec<usize>)>,
    metadata: Option<MetadataChange>,
}

fn edited(source: &Path, edit: &Edit) -> Vec<u8> {
    let bytes = std::fs::read(source).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let mut metadata = header.metadata().clone().unwrap_or_default();
    if let Some(change) = &edit.metadata {
        change(&mut metadata);
    }
    let replacement: Vec<u8> = match &edit.replace {
        Some((_, dtype, shape)) => vec![0u8; shape.iter().product::<usize>() * dtype.bitsize() / 8],
        None => Vec::new(),
    };
    let mut tensors: Vec<(String, TensorView)> = Vec::new();
    for (name, view) in file.tensors() {
        if Some(name.as_str()) == edit.drop {
            continue;
        }
        match &edit.replace {
            Some((target, dtype, shape)) if *target == name => {
                tensors.push((
                    name,
                    TensorView::new(*dtype, shape.clone(), &replacement).unwrap(),
                ));
            }
            _ => tensors.push((name, view)),
        }
    }
    safetensors::serialize(tensors, Some(metadata)).unwrap()
}

struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Self {
        Self(tempfile::tempdir().unwrap())
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

/// The sentence in both languages: non-empty, different, naming the file.
fn check_sentences(error: &CheckpointError, path: &Path) {
    let en = error.sentence(Lang::En);
    let zh = error.sentence(Lang::Zh);
    println!("{error}\n  en: {en}\n  zh: {zh}");
    assert!(!en.is_empty() && !zh.is_empty());
    assert_ne!(en, zh);
    assert!(
        zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{zh}"
    );
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(en.contains(name) && zh.contains(name), "{en} / {zh}");
}

fn unet_error(path: &Path) -> CheckpointError {
    let error = load_diffusion_model(path, &Device::Cpu).unwrap_err();
    check_sentences(&error, path);
    error
}

fn tiny() -> PathBuf {
    golden("unet-tiny-golden.safetensors")
}

#[test]
fn truncated_files() {
    let scratch = Scratch::new();
    let bytes = std::fs::read(tiny()).unwrap();
    for (name, keep) in [
        ("cut-data.safetensors", bytes.len() - 100),
        ("cut-header.safetensors", 40),
    ] {
        let path = scratch.write(name, &bytes[..keep]);
        let error = unet_error(&path);
        assert!(
            matches!(error, CheckpointError::Truncated { .. }),
            "{error:?}"
        );
    }
}

#[test]
fn not_safetensors_files() {
    let scratch = Scratch::new();
    for (name, bytes) in [
        ("notes.txt", &b"These are my lesson notes, not a model."[..]),
        ("empty.safetensors", &b""[..]),
        ("short.safetensors", &b"\x05\0\0"[..]),
    ] {
        let path = scratch.write(name, bytes);
        let error = unet_error(&path);
        assert!(
            matches!(error, CheckpointError::NotSafetensors { .. }),
            "{name}: {error:?}"
        );
    }
}

#[test]
fn missing_file() {
    let scratch = Scratch::new();
    let path = scratch.0.path().join("nowhere.safetensors");
    let error = unet_error(&path);
    assert!(matches!(error, CheckpointError::Read { .. }), "{error:?}");
}

#[test]
fn removed_tensor() {
    let scratch = Scratch::new();
    for name in [
        "mid.attn.qkv.weight",
        "up.2.upsample.bias",
        "class_emb.weight",
    ] {
        let edit = Edit {
            drop: Some(name),
            ..Edit::default()
        };
        let path = scratch.write("dropped.safetensors", &edited(&tiny(), &edit));
        match unet_error(&path) {
            CheckpointError::MissingTensor { name: missing, .. } => assert_eq!(missing, name),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn misshapen_tensor() {
    let scratch = Scratch::new();
    let edit = Edit {
        replace: Some(("down.1.block.conv2.weight", Dtype::F32, vec![8, 8, 5, 5])),
        ..Edit::default()
    };
    let path = scratch.write("shape.safetensors", &edited(&tiny(), &edit));
    match unet_error(&path) {
        CheckpointError::WrongShape {
            name,
            expected,
            found,
            ..
        } => {
            assert_eq!(name, "down.1.block.conv2.weight");
            assert_eq!(expected, [8, 8, 3, 3]);
            assert_eq!(found, [8, 8, 5, 5]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn integer_weights_are_refused() {
    let scratch = Scratch::new();
    let edit = Edit {
        replace: Some(("conv_in.bias", Dtype::I64, vec![8])),
        ..Edit::default()
    };
    let path = scratch.write("ints.safetensors", &edited(&tiny(), &edit));
    let error = unet_error(&path);
    assert!(
        matches!(&error, CheckpointError::UnsupportedDType { name, .. } if name == "conv_in.bias"),
        "{error:?}"
    );
}

#[test]
fn missing_or_garbled_metadata() {
    let scratch = Scratch::new();
    let cases: [(&str, MetadataChange); 9] = [
        ("objective", |m| {
            m.remove("objective");
        }),
        ("diffuscope.kind", |m| m.clear()),
        ("train_steps_T", |m| {
            m.remove("train_steps_T");
        }),
        ("architecture", |m| {
            m.insert("architecture".into(), "{channels: oops".into());
        }),
        ("architecture", |m| {
            m.insert(
                "architecture".into(),
                r#"{"channels": [8, 8, 16], "groups": 3}"#.into(),
            );
        }),
        ("objective", |m| {
            m.insert("objective".into(), "score".into());
        }),
        ("train_steps_T", |m| {
            m.insert("train_steps_T".into(), "a thousand".into());
        }),
        ("diffuscope.format", |m| {
            m.insert("diffuscope.format".into(), "2".into());
        }),
        ("diffuscope.kind", |m| {
            m.insert("diffuscope.kind".into(), "digit-transformer".into());
        }),
    ];
    for (i, (key, change)) in cases.into_iter().enumerate() {
        let edit = Edit {
            metadata: Some(change),
            ..Edit::default()
        };
        let path = scratch.write(&format!("meta-{i}.safetensors"), &edited(&tiny(), &edit));
        let error = unet_error(&path);
        let matched = match &error {
            CheckpointError::MissingMetadata { key: k, .. }
            | CheckpointError::BadMetadata { key: k, .. } => k == key,
            CheckpointError::UnsupportedFormat { .. } => key == "diffuscope.format",
            CheckpointError::WrongKind { found, .. } => {
                key == "diffuscope.kind" && found == "digit-transformer"
            }
            _ => false,
        };
        assert!(matched, "case {i} ({key}): {error:?}");
    }
}

#[test]
fn classifier_is_not_a_diffusion_model_and_back() {
    let path = golden("classifier-golden.safetensors");
    let error = unet_error(&path);
    assert!(
        matches!(
            &error,
            CheckpointError::WrongKind { expected: ModelKind::DigitUNet, found, .. }
                if found == "digit-classifier"
        ),
        "{error:?}"
    );
    assert!(error.sentence(Lang::En).contains("digit classifier"));

    let path = tiny();
    let error = load_classifier(&path, &Device::Cpu).unwrap_err();
    check_sentences(&error, &path);
    assert!(matches!(
        error,
        CheckpointError::WrongKind {
            expected: ModelKind::DigitClassifier,
            ..
        }
    ));
}

#[test]
fn unknown_model_name() {
    let error = resolve_model("digits-nonexistent").unwrap_err();
    assert!(
        matches!(error, CheckpointError::NotFound { .. }),
        "{error:?}"
    );
    for lang in Lang::ALL {
        assert!(error.sentence(lang).contains("digits-nonexistent"));
    }
    assert_eq!(shipped_model_path("../Cargo"), None);
    let path = tiny();
    assert_eq!(resolve_model(path.to_str().unwrap()).unwrap(), path);
}

// ---------------------------------------------------------------------------------------------
// The shipped models, when present.

/// The last `count` digits of the shipped MNIST subset (the classifier's held-out part), in
/// [−1, 1], with their labels.
fn held_out_digits(count: usize) -> (Tensor, Vec<u32>) {
    let digits = diffuscope::data::mnist::load_bundled_digits().unwrap();
    let indices = digits.count - count..digits.count;
    let pixels: Vec<f32> = indices
        .clone()
        .flat_map(|i| digits.image_unit(i).unwrap())
        .collect();
    let labels = indices
        .map(|i| u32::from(digits.label(i).unwrap()))
        .collect();
    (
        Tensor::from_vec(pixels, (count, 1, 28, 28), &Device::Cpu).unwrap(),
        labels,
    )
}

#[test]
fn shipped_classifier_reads_real_digits() {
    let path = shipped_model_path("digits-classifier")
        .expect("digits-classifier is shipped in assets/models/");
    let (info, net) = load_classifier(&path, &Device::Cpu).unwrap();
    // The classifier was trained on the first 9,000 digits and scored on the last 1,000; scoring
    // them again here must give the same accuracy (up to a borderline digit or two).
    let (images, labels) = held_out_digits(1000);
    let predicted = net.classify(&images).unwrap();
    let correct = predicted
        .iter()
        .zip(&labels)
        .filter(|(a, b)| a == b)
        .count();
    let accuracy = correct as f64 / labels.len() as f64;
    let at_training: f64 = info.metadata["held_out_accuracy"].parse().unwrap();
    println!("held-out accuracy {accuracy:.4} (at training: {at_training:.4})");
    assert!(accuracy > 0.9, "accuracy {accuracy}");
    assert!(
        (accuracy - at_training).abs() <= 0.002,
        "{accuracy} vs {at_training}"
    );
    // A handful of clear digits, the first of each class, must all be right.
    for digit in 0..10 {
        let i = labels.iter().position(|&l| l == digit).unwrap();
        assert_eq!(predicted[i], digit, "held-out digit {i}");
    }
}

#[test]
fn shipped_diffusion_models_load_and_run() {
    for name in ["digits-eps", "digits-v", "digits-flow"] {
        let path = shipped_model_path(name)
            .unwrap_or_else(|| panic!("{name} is shipped in assets/models/"));
        let model = load_diffusion_model(&path, &Device::Cpu).unwrap();
        assert_eq!(model.info.objective.to_string(), name[7..]);
        let x = Tensor::randn(0f32, 1., (2, 1, 28, 28), &Device::Cpu).unwrap();
        let t = Tensor::new(&[500f32, 10.], &Device::Cpu).unwrap();
        let y = Tensor::new(&[4u32, NULL_CLASS], &Device::Cpu).unwrap();
        let out = model.net.forward(&x, &t, &y).unwrap();
        let values = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()));
    }
}

/// The four shipped transformers are what their names say: positions learned, none or 2D RoPE,
/// told t or not — the Clock view's lessons compare exactly these differences — and each runs.
#[test]
fn shipped_transformers_differ_only_as_their_names_say() {
    use diffuscope::model::Positions;
    let expected = [
        ("digits-dit", Positions::Learned, true),
        ("digits-dit-blind", Positions::Learned, false),
        ("digits-dit-none", Positions::None, true),
        ("digits-dit-rope", Positions::Rope, true),
    ];
    for (name, positions, told_t) in expected {
        let path = shipped_model_path(name)
            .unwrap_or_else(|| panic!("{name} is shipped in assets/models/"));
        let model = load_diffusion_model(&path, &Device::Cpu).unwrap();
        let net = model.net.transformer().expect("a transformer");
        let config = net.config();
        assert_eq!(
            (config.positions, config.time_input),
            (positions, told_t),
            "{name}"
        );
        assert_eq!(
            (config.dim, config.depth, config.heads, config.patch),
            (128, 4, 4, 4)
        );
        assert_eq!(model.info.objective.to_string(), "v", "{name}");
        let x = Tensor::randn(0f32, 1., (2, 1, 28, 28), &Device::Cpu).unwrap();
        let t = Tensor::new(&[500f32, 10.], &Device::Cpu).unwrap();
        let y = Tensor::new(&[4u32, NULL_CLASS], &Device::Cpu).unwrap();
        let out = model.net.forward(&x, &t, &y).unwrap();
        let values = out.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert!(values.iter().all(|v| v.is_finite()), "{name}");
    }
}

/// The docs' tables follow the one table of shipped models: MODELS.md has a row for every file,
/// and the README names every diffusion model the window's menu offers.
#[test]
fn every_shipped_model_is_in_the_docs_tables() {
    use diffuscope::model::shipped::{SHIPPED_MODELS, shipped_diffusion_models};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let models_md = std::fs::read_to_string(root.join("MODELS.md")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for model in SHIPPED_MODELS {
        let row = format!("| `{}` |", model.file_name());
        assert!(models_md.contains(&row), "MODELS.md has no row {row}");
        assert!(
            shipped_model_path(model.name).is_some(),
            "{} is listed but not in assets/models/",
            model.name
        );
    }
    for model in shipped_diffusion_models() {
        let named = format!("`{}`", model.name);
        assert!(readme.contains(&named), "README.md does not name {named}");
    }
}

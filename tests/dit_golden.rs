//! The digit transformer (`DigitDiT`) against the PyTorch reference (`training/dit.py`), through
//! the program's own checkpoint loader, for each way of giving positions and without the time
//! input; 2D RoPE against its defining properties; patches cut and put back.
//!
//! The golden files and the script that wrote them are in `tests/golden/`
//! (`python3 tests/golden/make_dit_golden.py`).
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/tensors.rs"]
mod tensors;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use diffuscope::model::dit::patches::{patchify, unpatchify};
use diffuscope::model::dit::rope::{RopeTable, rope_angles, rotate};
use diffuscope::model::{
    DiTConfig, DigitDiT, ModelKind, Network, Positions, load_diffusion_model, read_model_info,
};
use tensors::max_abs_diff;

/// Largest |candle − PyTorch| allowed on the network's output (the pictures' values are of order
/// 1); measured at most 1.4e-6 with `cargo test --test dit_golden -- --nocapture`.
const TOLERANCE: f32 = 1.5e-5;
/// Largest error allowed on attention weights and turned vectors; measured at most 3.3e-7.
const SMALL_TOLERANCE: f32 = 3e-6;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn golden_tensors(path: &Path) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(path, &Device::Cpu).unwrap()
}

/// Loads a golden file, checks its config and runs its batches; returns the network and tensors.
fn check_dit(
    file: &str,
    positions: Positions,
    time_input: bool,
) -> (DigitDiT, HashMap<String, Tensor>) {
    let path = golden(file);
    assert_eq!(read_model_info(&path).unwrap().kind(), ModelKind::DigitDiT);
    let model = load_diffusion_model(&path, &Device::Cpu).unwrap();
    let Network::DigitDiT(config) = &model.info.network else {
        panic!(
            "{file} is not read as a transformer: {:?}",
            model.info.network
        );
    };
    assert_eq!(
        (config.positions, config.time_input),
        (positions, time_input)
    );
    assert_eq!((config.dim, config.depth, config.heads), (32, 2, 2));
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
    let net = model.net.transformer().unwrap().clone();
    let x = &g["golden.x.0"];
    let y = g["golden.y.0"].to_dtype(DType::U32).unwrap();
    let (_, attention) = net.forward_with_attention(x, &g["golden.t.0"], &y).unwrap();
    let err = max_abs_diff(attention.last().unwrap(), &g["golden.attention.0"]);
    println!("{file} attention of the last block: max error {err:.2e}");
    assert!(err < SMALL_TOLERANCE, "{file}: attention error {err}");
    (net, g)
}

#[test]
fn learned_positions_match_pytorch() {
    let (net, g) = check_dit("dit-learned-golden.safetensors", Positions::Learned, true);
    assert_eq!(net.position_embedding().unwrap().dims(), [49, 32]);
    let tokens = patchify(&g["golden.x.0"], 4).unwrap();
    assert_eq!(max_abs_diff(&tokens, &g["golden.tokens.0"]), 0.0);
}

#[test]
fn rope_positions_match_pytorch() {
    let (net, g) = check_dit("dit-rope-golden.safetensors", Positions::Rope, true);
    assert!(net.position_embedding().is_none());
    let table = RopeTable::new(7, 16, &Device::Cpu).unwrap();
    let turned = table.apply(&g["golden.rope.x"]).unwrap();
    let err = max_abs_diff(&turned, &g["golden.rope.out"]);
    println!("apply_rope: max error {err:.2e}");
    assert!(err < SMALL_TOLERANCE, "RoPE error {err}");
}

#[test]
fn a_model_without_positions_or_time_with_f16_weights_matches_pytorch() {
    let (net, g) = check_dit("dit-none-notime-golden.safetensors", Positions::None, false);
    // Not told t: the same picture and class give the same output at any t.
    let x = &g["golden.x.0"];
    let y = Tensor::new(&[3u32, 3], &Device::Cpu).unwrap();
    let early = net
        .forward(x, &Tensor::new(&[1f32, 1.], &Device::Cpu).unwrap(), &y)
        .unwrap();
    let late = net
        .forward(x, &Tensor::new(&[999f32, 999.], &Device::Cpu).unwrap(), &y)
        .unwrap();
    assert_eq!(max_abs_diff(&early, &late), 0.0);
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Known vectors: e_0 turned by row 1 is (cos θ_0, …, sin θ_0 at i = quarter, …) with θ_0 = 1.
#[test]
fn rope_turns_known_vectors_keeps_lengths_and_sees_only_relative_positions() {
    let (grid, head_dim) = (7, 16);
    let angles = rope_angles(grid, head_dim);
    let mut e0 = vec![0f32; head_dim];
    e0[0] = 1.0;
    let turned = rotate(&e0, &angles[grid]); // row 1, column 0
    assert!((turned[0] - 1f32.cos()).abs() < 1e-6 && (turned[4] - 1f32.sin()).abs() < 1e-6);
    assert!(
        turned
            .iter()
            .enumerate()
            .all(|(i, v)| i == 0 || i == 4 || *v == 0.0)
    );
    let column_only = rotate(&e0, &angles[1]); // row 0, column 1: the row half does not turn
    assert_eq!(column_only, e0);

    let q: Vec<f32> = (0..head_dim)
        .map(|i| ((i * 7 + 3) % 11) as f32 - 5.0)
        .collect();
    let k: Vec<f32> = (0..head_dim)
        .map(|i| ((i * 5 + 1) % 13) as f32 - 6.0)
        .collect();
    for token_angles in &angles {
        let length = dot(&q, &q).sqrt();
        let turned = rotate(&q, token_angles);
        assert!((dot(&turned, &turned).sqrt() - length).abs() < 1e-4 * length);
    }
    // ⟨R(p)q, R(p′)k⟩ depends only on p − p′: every pair one row down and two columns right of
    // another gives the same score.
    let at = |row: usize, col: usize| &angles[row * grid + col];
    let reference = dot(&rotate(&q, at(1, 2)), &rotate(&k, at(0, 0)));
    for (row, col) in [(1, 0), (2, 3), (5, 4), (3, 1)] {
        let score = dot(&rotate(&q, at(row + 1, col + 2)), &rotate(&k, at(row, col)));
        assert!(
            (score - reference).abs() < 1e-3,
            "({row}, {col}): {score} vs {reference}"
        );
    }
    let other = dot(&rotate(&q, at(2, 2)), &rotate(&k, at(0, 0)));
    assert!(
        (other - reference).abs() > 1e-2,
        "a different offset scores differently"
    );
}

#[test]
fn patches_round_trip_and_follow_the_reading_order() {
    let x = Tensor::arange(0f32, 2.0 * 3.0 * 8.0 * 12.0, &Device::Cpu)
        .unwrap()
        .reshape((2, 3, 8, 12))
        .unwrap();
    let tokens = patchify(&x, 4).unwrap();
    assert_eq!(tokens.dims(), [2, 6, 48]);
    // Token 1 is the patch at row 0, column 1: its first value is x[0, 0, 0, 4].
    let first: Vec<f32> = tokens.get(0).unwrap().get(1).unwrap().to_vec1().unwrap();
    assert_eq!(first[0], 4.0);
    assert_eq!(first[1], 5.0);
    assert_eq!(first[4], 16.0); // the patch's second row: x[0, 0, 1, 4]
    assert_eq!(first[16], 100.0); // the second channel: x[0, 1, 0, 4]
    let back = unpatchify(&tokens, 3, 8, 12, 4).unwrap();
    assert_eq!(max_abs_diff(&back, &x), 0.0);
}

#[test]
fn sizes_count_the_reference_parameters() {
    for positions in Positions::ALL {
        for time_input in [true, false] {
            let config = DiTConfig {
                positions,
                time_input,
                ..DiTConfig::default()
            };
            let varmap = candle_nn::VarMap::new();
            let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
            DigitDiT::new(&config, vb).unwrap();
            let total: usize = varmap.all_vars().iter().map(|v| v.elem_count()).sum();
            assert_eq!(
                total as u64,
                config.parameter_count(),
                "{positions:?} {time_input}"
            );
        }
    }
    // training/dit.py's DEFAULT_CONFIG: 1,257,104 parameters (counted by PyTorch).
    assert_eq!(DiTConfig::default().parameter_count(), 1_257_104);
}

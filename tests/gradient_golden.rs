//! Our trainable layers and the whole network's gradients against PyTorch's, from the golden file
//! `tests/golden/gradients.safetensors` (`python3 tests/golden/make_gradient_golden.py` wrote
//! it): convolutions (strides 1 and 2, 1×1, padding 0, an upsampled input) and GroupNorms (with and
//! without SiLU) on odd shapes, and every parameter's gradient of the tiny UNet's training loss.
//! Relative error: the largest difference over the largest reference value.
#![expect(
    clippy::unwrap_used,
    reason = "helpers of an integration test (clippy's allow-unwrap-in-tests covers only #[test] functions)"
)]

#[path = "common/tensors.rs"]
mod tensors;

use std::collections::HashMap;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use diffuscope::model::kernels::{TrainableConv, TrainableGroupNorm};
use diffuscope::model::{DigitUNet, UNetConfig};
use tensors::relative_error;

/// Largest relative error allowed for a layer's output and gradients; measured at most 4.8e-7
/// (`cargo test --test gradient_golden -- --nocapture`).
const LAYER_TOLERANCE: f32 = 5e-6;
/// The same for the whole network's loss and parameter gradients; measured at most 4.4e-6. (This
/// test found that candle's fused softmax has no backward pass: attention's q and k got no
/// gradient in our trainer, and errors of up to 34 %.)
const NETWORK_TOLERANCE: f32 = 3e-5;

struct Golden {
    tensors: HashMap<String, Tensor>,
    metadata: HashMap<String, String>,
}

fn golden() -> Golden {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/gradients.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    Golden {
        tensors: candle_core::safetensors::load(&path, &Device::Cpu).unwrap(),
        metadata: header.metadata().clone().unwrap_or_default(),
    }
}

impl Golden {
    fn tensor(&self, name: &str) -> Tensor {
        self.tensors
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in the golden file"))
            .clone()
    }

    fn var(&self, name: &str) -> Var {
        Var::from_tensor(&self.tensor(name)).unwrap()
    }

    /// The settings of each case `{kind}.{i}`, in order.
    fn cases(&self, kind: &str) -> Vec<serde_json::Value> {
        (0..)
            .map_while(|i| self.metadata.get(&format!("{kind}.{i}")))
            .map(|json| serde_json::from_str(json).unwrap())
            .collect()
    }
}

/// Checks a case's output against `{prefix}.y` and the gradients of sum(y · mix) with respect to
/// each `(var, golden name)` against `{prefix}.{golden name}`; returns the largest error.
fn check_layer(golden: &Golden, prefix: &str, y: &Tensor, vars: &[(&Var, &str)]) -> f32 {
    let mut worst = relative_error(y, &golden.tensor(&format!("{prefix}.y")));
    let grads = (y * golden.tensor(&format!("{prefix}.mix")))
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for (var, name) in vars {
        let error = relative_error(
            grads.get(var.as_tensor()).unwrap(),
            &golden.tensor(&format!("{prefix}.{name}")),
        );
        assert!(error < LAYER_TOLERANCE, "{prefix}.{name}: {error}");
        worst = worst.max(error);
    }
    assert!(worst < LAYER_TOLERANCE, "{prefix}: {worst}");
    worst
}

#[test]
fn the_trainable_layers_match_pytorchs_gradients() {
    let golden = golden();
    let convolutions = golden.cases("conv");
    let norms = golden.cases("norm");
    assert_eq!((convolutions.len(), norms.len()), (6, 3));
    let mut worst = 0f32;
    for (i, settings) in convolutions.iter().enumerate() {
        let prefix = format!("conv.{i}");
        let [x, w, b] = ["x", "w", "b"].map(|n| golden.var(&format!("{prefix}.{n}")));
        let op = TrainableConv {
            stride: settings["stride"].as_u64().unwrap() as usize,
            padding: settings["padding"].as_u64().unwrap() as usize,
            upsample: settings["upsample"].as_bool().unwrap(),
        };
        let y = x.apply_op3(&w, &b, op).unwrap();
        let error = check_layer(&golden, &prefix, &y, &[(&x, "dx"), (&w, "dw"), (&b, "db")]);
        worst = worst.max(error);
    }
    for (i, settings) in norms.iter().enumerate() {
        let prefix = format!("norm.{i}");
        let [x, gamma, beta] = ["x", "gamma", "beta"].map(|n| golden.var(&format!("{prefix}.{n}")));
        let op = TrainableGroupNorm {
            groups: settings["groups"].as_u64().unwrap() as usize,
            eps: 1e-5,
            silu: settings["silu"].as_bool().unwrap(),
        };
        let y = x.apply_op3(&gamma, &beta, op).unwrap();
        let vars = [(&x, "dx"), (&gamma, "dgamma"), (&beta, "dbeta")];
        worst = worst.max(check_layer(&golden, &prefix, &y, &vars));
    }
    eprintln!("layers: worst relative error {worst:e}");
}

#[test]
fn the_tiny_networks_training_gradients_match_pytorchs() {
    let golden = golden();
    let config = UNetConfig::from_json(&golden.metadata["unet.architecture"]).unwrap();
    let varmap = VarMap::new();
    let model = DigitUNet::new(
        &config,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap();
    let params = varmap.data().lock().unwrap().clone();
    assert!(!params.is_empty());
    for (name, var) in &params {
        var.set(&golden.tensor(&format!("unet.weight.{name}")))
            .unwrap();
    }
    let labels: Vec<i64> = golden.tensor("unet.y").to_vec1().unwrap();
    let labels: Vec<u32> = labels.into_iter().map(|l| l as u32).collect();
    let y = Tensor::from_vec(labels, 4, &Device::Cpu).unwrap();
    let prediction = model
        .forward(&golden.tensor("unet.x_t"), &golden.tensor("unet.t"), &y)
        .unwrap();
    let loss = candle_nn::loss::mse(&prediction, &golden.tensor("unet.target")).unwrap();
    let mut worst = relative_error(&loss.reshape(1).unwrap(), &golden.tensor("unet.loss"));
    let grads = loss.backward().unwrap();
    for (name, var) in &params {
        let error = relative_error(
            grads.get(var.as_tensor()).unwrap(),
            &golden.tensor(&format!("unet.grad.{name}")),
        );
        assert!(error < NETWORK_TOLERANCE, "∂L/∂{name}: {error}");
        worst = worst.max(error);
    }
    eprintln!(
        "network: worst relative error {worst:e} over {} parameters",
        params.len()
    );
    assert!(worst < NETWORK_TOLERANCE, "{worst}");
}

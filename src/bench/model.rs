//! `diffuscope bench model`: the digit UNet's forward pass at batch 1, 16 and 64 (median of many
//! runs after warm-up), in milliseconds and GFLOP/s, plus the digit classifier at batch 64.
//!
//! FLOPs are counted from the architecture (2 × the multiply-adds of the convolutions, linear
//! layers and attention products; see [`UNetConfig::forward_macs`]), so the figure is comparable
//! with any implementation. `training/bench_reference.py` prints the same table for PyTorch on the
//! same weights; given the `--json` output it adds the ratio:
//! `diffuscope bench model --json > ours.json && python3 training/bench_reference.py --ours ours.json`
//! (one after the other: piped, PyTorch's start-up competes with the Rust bench for the cores).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

use crate::model::diffusers::{is_pipeline_folder, load_unet};
use crate::model::{
    CheckpointError, DenoisingNetwork, DevicePreference, DigitClassifier, DigitUNet, NULL_CLASS,
    UNetConfig, device_for, finish_queued_work, load_classifier, load_diffusion_model,
    resolve_model, shipped_model_path,
};

/// The batch sizes measured.
pub const BATCHES: [usize; 3] = [1, 16, 64];

/// Wall time spent measuring one row, roughly (the number of runs adapts to it).
const ROW_BUDGET: Duration = Duration::from_secs(4);

/// One row of the table.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelTiming {
    /// What was measured: `unet` or `classifier`.
    pub network: &'static str,
    /// Images per forward pass.
    pub batch: usize,
    /// Median time of one forward pass.
    pub median: Duration,
    /// Number of timed runs (after warm-up).
    pub runs: usize,
    /// FLOPs of one forward pass (2 × multiply-adds).
    pub flops: u64,
}

impl ModelTiming {
    /// Billions of floating-point operations per second.
    pub fn gflops_per_sec(&self) -> f64 {
        self.flops as f64 / self.median.as_secs_f64().max(1e-12) / 1e9
    }
}

/// What `bench model` measured, for printing as a table or JSON.
#[derive(Clone, Debug)]
pub struct ModelBench {
    /// The checkpoint measured, or `None` for randomly initialised weights of the default sizes.
    pub model: Option<PathBuf>,
    /// The network's sizes, as JSON (the digit UNet's `architecture`, or a diffusers model's
    /// `{"diffusers": folder}`).
    pub architecture: String,
    /// Threads candle uses on the CPU (`RAYON_NUM_THREADS`, else the physical cores).
    pub threads: usize,
    /// The device, in words.
    pub device: String,
    /// The rows.
    pub timings: Vec<ModelTiming>,
}

/// Measures the model named by `name_or_path` (a shipped name such as `digits-eps` or a file), or
/// the default architecture with random weights when `name_or_path` is `None`, on the device
/// `preference` picks, and prints the table (or, with `json`, one JSON object) on standard output.
///
/// `batches` restricts the table to those UNet batch sizes (and leaves the classifier out, for
/// profiling one size); empty means [`BATCHES`] and the classifier.
///
/// On a GPU every timed forward pass ends by waiting for the GPU to finish it.
pub fn model(
    name_or_path: Option<&str>,
    json: bool,
    preference: DevicePreference,
    batches: &[usize],
) -> Result<ModelBench, CheckpointError> {
    let (device, reason) = device_for(preference);
    let (path, net) = match name_or_path {
        Some(name) => {
            let path = resolve_model(name)?;
            (Some(path.clone()), bench_network(&path, &device)?)
        }
        None => (
            None,
            DenoisingNetwork::Digit(Box::new(random_unet(&UNetConfig::default(), &device)?)),
        ),
    };
    let described = Described::of(&net, path.as_deref());
    let threads = candle_core::utils::get_num_threads();
    if !json {
        println!("diffuscope bench model — {}", described.line);
        println!(
            "{reason}; {}; CPU threads {threads} (RAYON_NUM_THREADS={}); median of repeated runs after warm-up\n",
            if crate::model::layers::building_with_candle_ops() {
                "candle's plain operations"
            } else {
                "our kernels"
            },
            std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "unset".to_owned())
        );
        println!("network     batch   median ms   ms/image    images/s   GFLOP/s   runs");
    }
    let mut timings = Vec::new();
    let only_some = !batches.is_empty();
    for &batch in if only_some { batches } else { &BATCHES } {
        let (x, t, y) = unet_inputs(batch, net.image_shape(), &device)?;
        let timing = super::on_model_pool(|| {
            measure(
                "denoiser",
                batch,
                described.flops_per_image * batch as u64,
                || {
                    net.forward(&x, &t, &y)?;
                    finish_queued_work(&device)
                },
            )
        })
        .map_err(|e| build_error(path.as_deref(), &e))?;
        if !json {
            print_row(&timing);
        }
        timings.push(timing);
    }
    if let Some(classifier_path) = shipped_model_path("digits-classifier").filter(|_| !only_some) {
        let (_, classifier) = load_classifier(&classifier_path, &device)?;
        let timing = classifier_timing(&classifier, 64, &device)
            .map_err(|e| build_error(Some(&classifier_path), &e))?;
        if !json {
            print_row(&timing);
        }
        timings.push(timing);
    }
    let bench = ModelBench {
        model: path,
        architecture: described.architecture,
        threads,
        device: if device.is_cpu() {
            "cpu".to_owned()
        } else {
            reason.to_string()
        },
        timings,
    };
    if json {
        println!("{}", bench.to_json());
    }
    Ok(bench)
}

impl ModelBench {
    /// The figures as one JSON object (read by `training/bench_reference.py --ours`).
    pub fn to_json(&self) -> String {
        let rows: Vec<String> = self
            .timings
            .iter()
            .map(|t| {
                format!(
                    r#"{{"network": "{}", "batch": {}, "median_ms": {:.4}, "runs": {}, "gflops_per_sec": {:.3}}}"#,
                    t.network,
                    t.batch,
                    t.median.as_secs_f64() * 1e3,
                    t.runs,
                    t.gflops_per_sec()
                )
            })
            .collect();
        let model = self.model.as_deref().map_or_else(
            || "null".to_owned(),
            |p| json_string(&p.display().to_string()),
        );
        format!(
            r#"{{"tool": "diffuscope", "model": {model}, "architecture": {}, "device": {}, "threads": {}, "rows": [{}]}}"#,
            self.architecture,
            json_string(&self.device),
            self.threads,
            rows.join(", ")
        )
    }
}

fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_row(t: &ModelTiming) {
    let ms = t.median.as_secs_f64() * 1e3;
    println!(
        "{:<10} {:>6} {:>11.3} {:>10.3} {:>11.1} {:>9.2} {:>6}",
        t.network,
        t.batch,
        ms,
        ms / t.batch as f64,
        t.batch as f64 / t.median.as_secs_f64().max(1e-12),
        t.gflops_per_sec(),
        t.runs
    );
}

fn build_error(path: Option<&Path>, error: &candle_core::Error) -> CheckpointError {
    CheckpointError::Build {
        path: path.map_or_else(|| PathBuf::from("(random weights)"), Path::to_owned),
        detail: error.to_string(),
    }
}

/// A default-sized network with random weights as plain tensors (no autograd).
fn random_unet(config: &UNetConfig, device: &Device) -> Result<DigitUNet, CheckpointError> {
    let make = || -> candle_core::Result<DigitUNet> {
        let varmap = VarMap::new();
        DigitUNet::new(config, VarBuilder::from_varmap(&varmap, DType::F32, device))?;
        let tensors: HashMap<String, Tensor> = varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("the weights' lock was poisoned".to_owned()))?
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().detach()))
            .collect();
        DigitUNet::new(
            config,
            VarBuilder::from_tensors(tensors, DType::F32, device),
        )
    };
    make().map_err(|e| build_error(None, &e))
}

/// The network of the model at `path`. A diffusers pipeline folder's UNet is built alone, so RGB
/// models (which the views do not sample yet) are measured too; its time inputs are taken as a β
/// schedule's (t − 1) whatever its scheduler, which changes no work.
fn bench_network(path: &Path, device: &Device) -> Result<DenoisingNetwork, CheckpointError> {
    if is_pipeline_folder(path) {
        let (_, unet) = load_unet(&path.join("unet"), device)?;
        return Ok(DenoisingNetwork::Diffusers {
            unet: Box::new(unet),
            counts_from_zero: true,
        });
    }
    Ok(load_diffusion_model(path, device)?.net)
}

/// What the table's heading and JSON say about the network.
struct Described {
    line: String,
    architecture: String,
    /// 0 where the architecture's FLOPs are not counted (a diffusers model).
    flops_per_image: u64,
}

impl Described {
    fn of(net: &DenoisingNetwork, path: Option<&Path>) -> Self {
        let what = path.map_or_else(|| "random weights".to_owned(), |p| p.display().to_string());
        match net {
            DenoisingNetwork::Digit(net) => {
                let config = net.config();
                let flops_per_image = 2 * config.forward_macs(28, 28);
                Self {
                    line: format!(
                        "DigitUNet {:?} ({what}), {} parameters, {:.3} GFLOP per 28×28 image",
                        config.channels,
                        group_thousands(config.parameter_count()),
                        flops_per_image as f64 / 1e9,
                    ),
                    architecture: config.to_json(),
                    flops_per_image,
                }
            }
            DenoisingNetwork::Transformer(net) => {
                let config = net.config();
                let flops_per_image = 2 * config.forward_macs();
                Self {
                    line: format!(
                        "DigitDiT dim {} × {} blocks, {:?} positions ({what}), {} parameters, {:.3} GFLOP per image",
                        config.dim,
                        config.depth,
                        config.positions,
                        group_thousands(config.parameter_count()),
                        flops_per_image as f64 / 1e9,
                    ),
                    architecture: config.to_json(),
                    flops_per_image,
                }
            }
            DenoisingNetwork::Diffusers { unet, .. } => {
                let config = unet.config();
                let (h, w) = config.sample_size;
                Self {
                    line: format!(
                        "diffusers UNet2DModel {:?} ({what}), {} channel(s) of {h}×{w}; FLOPs not counted (GFLOP/s 0)",
                        config.block_out_channels, config.channels,
                    ),
                    architecture: format!(r#"{{"diffusers": {}}}"#, json_string(&what)),
                    flops_per_image: 0,
                }
            }
        }
    }
}

/// Fixed inputs: noise images of `(channels, height, width)`, timesteps spread over 1..1000,
/// classes cycling through 0–10.
fn unet_inputs(
    batch: usize,
    (channels, height, width): (usize, usize, usize),
    device: &Device,
) -> Result<(Tensor, Tensor, Tensor), CheckpointError> {
    let make = || -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let x = Tensor::randn(0f32, 1., (batch, channels, height, width), device)?;
        let t: Vec<f32> = (0..batch).map(|i| (1 + (i * 997) % 1000) as f32).collect();
        let y: Vec<u32> = (0..batch).map(|i| (i as u32) % (NULL_CLASS + 1)).collect();
        Ok((
            x,
            Tensor::from_vec(t, batch, device)?,
            Tensor::from_vec(y, batch, device)?,
        ))
    };
    make().map_err(|e| build_error(None, &e))
}

fn classifier_timing(
    classifier: &DigitClassifier,
    batch: usize,
    device: &Device,
) -> candle_core::Result<ModelTiming> {
    // conv1 (1→32 at 28²), conv2 (32→64 at 14²), conv3 (64→64 at 7²), fc1, fc2.
    let macs =
        28 * 28 * 32 * 9 + 14 * 14 * 64 * 32 * 9 + 7 * 7 * 64 * 64 * 9 + 3136 * 128 + 128 * 10;
    let x = Tensor::rand(-1f32, 1., (batch, 1, 28, 28), device)?;
    measure("classifier", batch, 2 * macs * batch as u64, || {
        classifier.forward(&x)?;
        finish_queued_work(device)
    })
}

/// Median time of `f` after two warm-up runs; the number of runs fits [`ROW_BUDGET`] (5 to 200).
fn measure(
    network: &'static str,
    batch: usize,
    flops: u64,
    mut f: impl FnMut() -> candle_core::Result<()>,
) -> candle_core::Result<ModelTiming> {
    f()?;
    let start = Instant::now();
    f()?;
    let one = start.elapsed().max(Duration::from_micros(1));
    let runs = (ROW_BUDGET.as_secs_f64() / one.as_secs_f64()).clamp(5.0, 200.0) as usize;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed());
    }
    times.sort();
    Ok(ModelTiming {
        network,
        batch,
        median: times[times.len() / 2],
        runs,
        flops,
    })
}

#[cfg(test)]
mod tests {
    use super::group_thousands;

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(537_393), "537,393");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000_000), "1,000,000");
    }
}

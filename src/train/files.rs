//! The files a training run writes beside its output, each written to a temporary name and renamed
//! (so a crash never leaves half a file):
//!
//! - `NAME.safetensors`: the EMA weights with the metadata the program's checkpoint reader needs
//!   (see [`crate::model::checkpoint`]), written when the run finishes.
//! - `NAME.resume.safetensors`: the raw weights (`param.*`), the EMA (`ema.*`), the per-step log
//!   and, in its metadata, the step reached, the wall time so far and the run's settings. Written
//!   every `save_every` steps and when the run is stopped; deleted when the run finishes.
//!   AdamW's moment estimates are *not* saved (the format predates our own AdamW, when candle
//!   kept them private): a resumed run restarts them from zero (with bias correction from step 1
//!   again). Batches, timesteps, noise
//!   and label dropout are a function of (seed, step), so they continue exactly.
//! - `NAME.loss.csv`: `step,loss,images_per_sec`, one row per step, rewritten at every save.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor, Var};
use safetensors::SafeTensors;

use super::ema::Ema;
use super::error::TrainError;
use crate::data::file::{ReadError, read_regular_file};
use crate::export::atomic::{WriteFailure, write_atomically};

/// `diffuscope.kind` of a resume state.
pub const RESUME_KIND: &str = "digit-unet-training-state";
/// Prefix of the raw weights in a resume state.
const PARAM_PREFIX: &str = "param.";
/// Prefix of the EMA weights in a resume state.
const EMA_PREFIX: &str = "ema.";
/// The per-step losses in a resume state.
const LOSSES: &str = "log.loss";
/// The per-step throughput in a resume state.
const RATES: &str = "log.images_per_sec";
/// Prefix of the run's settings in a resume state's metadata.
const SETTING_PREFIX: &str = "setting.";

/// The resume state beside `out`: `model.safetensors` → `model.resume.safetensors`.
pub fn resume_path(out: &Path) -> PathBuf {
    out.with_extension("resume.safetensors")
}

/// The loss log beside `out`: `model.safetensors` → `model.loss.csv`.
pub fn loss_log_path(out: &Path) -> PathBuf {
    out.with_extension("loss.csv")
}

/// Writes `tensors` with `metadata` as a safetensors file at `path`, atomically.
pub fn write_safetensors<'a>(
    path: &Path,
    tensors: impl IntoIterator<Item = (String, &'a Tensor)>,
    metadata: HashMap<String, String>,
) -> Result<(), TrainError> {
    let bytes = safetensors::tensor::serialize(tensors, Some(metadata))
        .map_err(|e| candle_core::Error::Msg(format!("cannot serialise the weights: {e}")))?;
    write_atomically(path, |file| {
        file.write_all(&bytes).map_err(WriteFailure::from)
    })?;
    Ok(())
}

/// Writes the loss log (`step,loss,images_per_sec`; steps from 1) atomically.
pub fn write_loss_log(path: &Path, losses: &[f32], rates: &[f32]) -> Result<(), TrainError> {
    let mut text = String::with_capacity(32 * (losses.len() + 1));
    text.push_str("step,loss,images_per_sec\n");
    for (i, (loss, rate)) in losses.iter().zip(rates).enumerate() {
        text.push_str(&format!("{},{loss:.6},{rate:.1}\n", i + 1));
    }
    write_atomically(path, |file| {
        file.write_all(text.as_bytes()).map_err(WriteFailure::from)
    })?;
    Ok(())
}

/// A run in progress, as saved for `--resume`.
#[derive(Debug)]
pub struct ResumeState {
    /// Steps done.
    pub step: usize,
    /// Wall time so far.
    pub elapsed_secs: f64,
    /// The run's settings (name as on the command line → value).
    pub settings: BTreeMap<String, String>,
    /// The raw weights, by parameter name.
    pub params: HashMap<String, Tensor>,
    /// The EMA weights, by parameter name.
    pub ema: HashMap<String, Tensor>,
    /// Loss of each step done.
    pub losses: Vec<f32>,
    /// Digits per second of each step done.
    pub rates: Vec<f32>,
}

/// What a resume state is saved from.
pub struct ResumeSnapshot<'a> {
    /// Steps done.
    pub step: usize,
    /// Wall time so far.
    pub elapsed_secs: f64,
    /// The run's settings.
    pub settings: &'a [(&'static str, String)],
    /// The trainable parameters.
    pub params: &'a [(String, Var)],
    /// The EMA.
    pub ema: &'a Ema,
    /// Loss of each step done.
    pub losses: &'a [f32],
    /// Digits per second of each step done.
    pub rates: &'a [f32],
}

/// Writes a resume state at `path`, atomically.
pub fn write_resume_state(path: &Path, snapshot: &ResumeSnapshot<'_>) -> Result<(), TrainError> {
    let losses = Tensor::from_slice(snapshot.losses, snapshot.losses.len(), &Device::Cpu)?;
    let rates = Tensor::from_slice(snapshot.rates, snapshot.rates.len(), &Device::Cpu)?;
    let mut tensors: Vec<(String, &Tensor)> = snapshot
        .params
        .iter()
        .map(|(name, var)| (format!("{PARAM_PREFIX}{name}"), var.as_tensor()))
        .chain(
            snapshot
                .ema
                .tensors()
                .map(|(name, tensor)| (format!("{EMA_PREFIX}{name}"), tensor)),
        )
        .collect();
    if !snapshot.losses.is_empty() {
        tensors.push((LOSSES.to_owned(), &losses));
        tensors.push((RATES.to_owned(), &rates));
    }
    let mut metadata = HashMap::from([
        ("diffuscope.kind".to_owned(), RESUME_KIND.to_owned()),
        ("diffuscope.format".to_owned(), "1".to_owned()),
        ("step".to_owned(), snapshot.step.to_string()),
        (
            "elapsed_secs".to_owned(),
            format!("{:.3}", snapshot.elapsed_secs),
        ),
    ]);
    for (name, value) in snapshot.settings {
        metadata.insert(format!("{SETTING_PREFIX}{name}"), value.clone());
    }
    write_safetensors(path, tensors, metadata)
}

/// Reads a resume state (tensors onto `device`).
pub fn read_resume_state(path: &Path, device: &Device) -> Result<ResumeState, TrainError> {
    let unreadable = |detail: String| TrainError::ResumeUnreadable {
        path: path.to_owned(),
        detail,
    };
    // Only an ordinary file is read (a pipe would hang), and no more than a model file may hold.
    let bytes = match read_regular_file(path, crate::model::checkpoint::MAX_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrainError::NothingToResume {
                path: path.to_owned(),
            });
        }
        Err(ReadError::Io(error)) => return Err(unreadable(error.to_string())),
        Err(ReadError::Refused(refusal)) => return Err(unreadable(refusal.to_string())),
    };
    let (_, header) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| unreadable(format!("not a safetensors file ({e})")))?;
    let metadata: BTreeMap<String, String> = header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    if metadata.get("diffuscope.kind").map(String::as_str) != Some(RESUME_KIND) {
        return Err(unreadable(
            "it is not a Diffuscope training state".to_owned(),
        ));
    }
    let number = |key: &str| -> Result<f64, TrainError> {
        metadata
            .get(key)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| unreadable(format!("its “{key}” entry is missing or damaged")))
    };
    let step = number("step")? as usize;
    let elapsed_secs = number("elapsed_secs")?;
    let loaded = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| unreadable(format!("its tensors cannot be read ({e})")))?;
    let mut state = ResumeState {
        step,
        elapsed_secs,
        settings: metadata
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(SETTING_PREFIX)?.to_owned(), v.clone())))
            .collect(),
        params: HashMap::new(),
        ema: HashMap::new(),
        losses: Vec::new(),
        rates: Vec::new(),
    };
    for (name, tensor) in loaded {
        if let Some(param) = name.strip_prefix(PARAM_PREFIX) {
            state.params.insert(param.to_owned(), tensor);
        } else if let Some(param) = name.strip_prefix(EMA_PREFIX) {
            state.ema.insert(param.to_owned(), tensor);
        } else if name == LOSSES {
            state.losses = tensor.to_dtype(candle_core::DType::F32)?.to_vec1()?;
        } else if name == RATES {
            state.rates = tensor.to_dtype(candle_core::DType::F32)?.to_vec1()?;
        }
    }
    if state.losses.len() != step || state.rates.len() != step {
        return Err(unreadable(format!(
            "its log holds {} steps, not {step}",
            state.losses.len()
        )));
    }
    Ok(state)
}

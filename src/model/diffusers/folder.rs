//! A diffusers pipeline folder opened as a [`DiffusionModel`]:
//!
//! ```text
//! model_index.json                             "unet": ["diffusers", "UNet2DModel"], "scheduler": [..]
//! scheduler/scheduler_config.json              read by `scheduler_config` (refused naming the field)
//! unet/config.json                             read by `config` (refused naming the field)
//! unet/diffusion_pytorch_model.safetensors     the weights (a missing or misshapen tensor is named)
//! ```
//!
//! The scheduler config gives the model its objective and noise schedule, and the run it was made
//! for (sampler, spacing, diffusers' step rules): [`DiffusionModel::scheduler`]. Every failure is
//! a [`CheckpointError`] whose sentence names the file, and the field or tensor.

use std::path::{Path, PathBuf};

use candle_core::Device;
use serde_json::{Map, Value};

use super::config::{UNet2DConfig, UNetConfigError};
use super::unet2d::DiffusersUNet;
use crate::data::file::{ReadError, read_regular_file};
use crate::diffusion::objectives::Objective;
use crate::i18n::Lang;
use crate::model::checkpoint::{CheckpointError, DiffusionModel, FLOW_SCHEDULE, build, parse};
use crate::model::info::{DiffusionInfo, Network};
use crate::model::net::DenoisingNetwork;
use crate::model::scheduler_config::{SchedulerConfig, SchedulerConfigError};

/// The pipeline's index.
pub const MODEL_INDEX: &str = "model_index.json";
/// A model's config, in its subfolder.
pub const CONFIG_FILE: &str = "config.json";
/// A scheduler's config, in its subfolder.
pub const SCHEDULER_FILE: &str = "scheduler_config.json";
/// The weights, in the model's subfolder.
pub const WEIGHTS_FILE: &str = "diffusion_pytorch_model.safetensors";
/// The same weights as a PyTorch pickle, which the program does not read.
const PICKLE_FILE: &str = "diffusion_pytorch_model.bin";
/// The largest JSON file read: the configs' own limit (the scheduler's is the same).
const JSON_LIMIT: u64 = super::config::CONFIG_LIMIT as u64;

/// Why a pipeline folder cannot be opened (the weights' own problems are [`CheckpointError`]s).
#[derive(Debug, thiserror::Error)]
pub enum DiffusersFolderError {
    /// A file the folder must hold is not there.
    #[error("{} is missing", path.display())]
    MissingFile {
        /// Where it should be.
        path: PathBuf,
    },
    /// The weights are only there as a PyTorch pickle.
    #[error("{} holds pickled weights", path.display())]
    PickleOnly {
        /// The `.bin` file.
        path: PathBuf,
    },
    /// A JSON file cannot be read (or is not JSON).
    #[error("{} cannot be read: {detail}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why, in English.
        detail: String,
    },
    /// `model_index.json` names no UNet2DModel or no scheduler.
    #[error("{}: the entry {field} should be {expected}", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// The entry.
        field: &'static str,
        /// What it should be, in English.
        expected: &'static str,
    },
    /// The UNet's `config.json` is refused.
    #[error("{}: {error}", path.display())]
    UNetConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        error: UNetConfigError,
    },
    /// The scheduler's config is refused.
    #[error("{}: {error}", path.display())]
    SchedulerConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong.
        error: SchedulerConfigError,
    },
}

impl DiffusersFolderError {
    /// One sentence naming the file, and the field where there is one.
    pub fn sentence(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            Self::MissingFile { path } => {
                let p = path.display();
                lang.pick(
                    format!("The diffusers folder lacks “{p}”: a pipeline folder holds model_index.json, scheduler/scheduler_config.json, unet/config.json and unet/{WEIGHTS_FILE}."),
                    format!("diffusers 文件夹缺少“{p}”：管线文件夹应包含 model_index.json、scheduler/scheduler_config.json、unet/config.json 和 unet/{WEIGHTS_FILE}。"),
                )
            }
            Self::PickleOnly { path } => {
                let p = path.display();
                lang.pick(
                    format!("“{p}” is a PyTorch pickle, which the program does not run (it can execute code); save the model with safe_serialization=True to get {WEIGHTS_FILE}."),
                    format!("“{p}”是 PyTorch pickle 文件，本程序不运行它（它可能执行代码）；请用 safe_serialization=True 保存模型，得到 {WEIGHTS_FILE}。"),
                )
            }
            Self::Unreadable { path, detail } => {
                let p = path.display();
                lang.pick(
                    format!("“{p}” cannot be read ({detail})."),
                    format!("无法读取“{p}”（{detail}）。"),
                )
            }
            Self::Index {
                path,
                field,
                expected,
            } => {
                let p = path.display();
                lang.pick(
                    format!("In “{p}”, the entry “{field}” should be {expected}."),
                    format!("“{p}”中的项“{field}”应为 {expected}。"),
                )
            }
            Self::UNetConfig { path, error } => {
                let p = path.display();
                let why = error.explained(lang);
                if zh {
                    format!("无法使用模型配置“{p}”：{why}。")
                } else {
                    format!("The model config “{p}” cannot be used: {why}.")
                }
            }
            Self::SchedulerConfig { path, error } => {
                format!("{} ({})", error.sentence(lang), path.display())
            }
        }
    }
}

impl From<DiffusersFolderError> for CheckpointError {
    fn from(error: DiffusersFolderError) -> Self {
        Self::Diffusers(Box::new(error))
    }
}

/// Whether `path` looks like a diffusers pipeline folder (a folder holding `model_index.json`).
pub fn is_pipeline_folder(path: &Path) -> bool {
    path.is_dir() && path.join(MODEL_INDEX).exists()
}

/// Opens the pipeline folder `root` onto `device`.
pub fn load_pipeline_folder(
    root: &Path,
    device: &Device,
) -> Result<DiffusionModel, CheckpointError> {
    let index_path = root.join(MODEL_INDEX);
    let index = read_json(&index_path)?;
    let unet_folder = root.join(component(&index, &index_path, "unet", Some("UNet2DModel"))?);
    let scheduler_folder = root.join(component(&index, &index_path, "scheduler", None)?);
    let scheduler_path = scheduler_folder.join(SCHEDULER_FILE);
    let scheduler = read_text(&scheduler_path).and_then(|text| {
        SchedulerConfig::parse(&text).map_err(|error| DiffusersFolderError::SchedulerConfig {
            path: scheduler_path.clone(),
            error,
        })
    })?;
    let config = read_unet_config(&unet_folder)?;
    let unet = build_unet(&unet_folder, &config, device)?;
    let flow = scheduler.objective == Objective::Flow;
    let info = DiffusionInfo {
        network: Network::DiffusersUNet2D(Box::new(config)),
        objective: scheduler.objective,
        schedule: if flow {
            FLOW_SCHEDULE.to_owned()
        } else if scheduler.trained_betas.is_some() {
            "trained_betas".to_owned()
        } else {
            scheduler.schedule.kind.cli_name().to_owned()
        },
        train_steps_t: scheduler.schedule.steps,
        beta_start: Some(scheduler.schedule.beta_start),
        beta_end: Some(scheduler.schedule.beta_end),
        zero_terminal_snr: scheduler.schedule.zero_terminal_snr,
        trained_betas: scheduler.trained_betas.clone(),
    };
    let metadata = [
        ("source", "diffusers pipeline folder".to_owned()),
        ("folder", root.display().to_string()),
        ("scheduler", scheduler.class_name().to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Ok(DiffusionModel {
        info,
        metadata,
        net: DenoisingNetwork::Diffusers {
            unet: Box::new(unet),
            counts_from_zero: !flow,
        },
        device: device.clone(),
        scheduler: Some(scheduler),
    })
}

/// Builds the `UNet2DModel` of the model folder `folder` (`config.json` and
/// `diffusion_pytorch_model.safetensors`) onto `device`.
pub fn load_unet(
    folder: &Path,
    device: &Device,
) -> Result<(UNet2DConfig, DiffusersUNet), CheckpointError> {
    let config = read_unet_config(folder)?;
    let unet = build_unet(folder, &config, device)?;
    Ok((config, unet))
}

/// The model folder's `config.json`, read or refused naming the field.
fn read_unet_config(folder: &Path) -> Result<UNet2DConfig, DiffusersFolderError> {
    let config_path = folder.join(CONFIG_FILE);
    read_text(&config_path).and_then(|text| {
        UNet2DConfig::parse(&text).map_err(|error| DiffusersFolderError::UNetConfig {
            path: config_path.clone(),
            error,
        })
    })
}

/// The network of `config` from the model folder's weights.
fn build_unet(
    folder: &Path,
    config: &UNet2DConfig,
    device: &Device,
) -> Result<DiffusersUNet, CheckpointError> {
    let weights = folder.join(WEIGHTS_FILE);
    if !weights.exists() && folder.join(PICKLE_FILE).exists() {
        return Err(DiffusersFolderError::PickleOnly {
            path: folder.join(PICKLE_FILE),
        }
        .into());
    }
    let bytes = crate::model::checkpoint::read(&weights).map_err(|error| match error {
        CheckpointError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            DiffusersFolderError::MissingFile {
                path: weights.clone(),
            }
            .into()
        }
        other => other,
    })?;
    let file = parse(&weights, &bytes)?;
    build(&weights, file.tensors, device, |vb| {
        DiffusersUNet::new(config, vb)
    })
}

/// The subfolder `model_index.json` gives for `field` (`["diffusers", "UNet2DModel"]` →
/// `field`), checking the class when `class` is given.
fn component(
    index: &Map<String, Value>,
    path: &Path,
    field: &'static str,
    class: Option<&str>,
) -> Result<String, DiffusersFolderError> {
    let wrong = |expected| DiffusersFolderError::Index {
        path: path.to_owned(),
        field,
        expected,
    };
    let entry = index
        .get(field)
        .and_then(Value::as_array)
        .ok_or_else(|| wrong("[\"diffusers\", class name]"))?;
    if let (Some(class), Some(found)) = (class, entry.get(1).and_then(Value::as_str))
        && found != class
    {
        return Err(wrong(
            "[\"diffusers\", \"UNet2DModel\"] (the program opens UNet2DModel)",
        ));
    }
    Ok(field.to_owned())
}

/// A JSON object from `path`.
fn read_json(path: &Path) -> Result<Map<String, Value>, DiffusersFolderError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| DiffusersFolderError::Unreadable {
        path: path.to_owned(),
        detail: format!("not a JSON object: {e}"),
    })
}

/// The text of a small file (at most 64 KB, an ordinary file).
fn read_text(path: &Path) -> Result<String, DiffusersFolderError> {
    match read_regular_file(path, JSON_LIMIT) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| DiffusersFolderError::Unreadable {
            path: path.to_owned(),
            detail: "not UTF-8 text".to_owned(),
        }),
        Err(ReadError::Io(source)) if source.kind() == std::io::ErrorKind::NotFound => {
            Err(DiffusersFolderError::MissingFile {
                path: path.to_owned(),
            })
        }
        Err(ReadError::Io(source)) => Err(DiffusersFolderError::Unreadable {
            path: path.to_owned(),
            detail: source.to_string(),
        }),
        Err(ReadError::Refused(refusal)) => Err(DiffusersFolderError::Unreadable {
            path: path.to_owned(),
            detail: refusal.to_string(),
        }),
    }
}

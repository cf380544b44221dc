//! Checkpoints: safetensors files with Diffuscope's metadata, read into networks built from plain
//! tensors (never a `VarMap`: sampling with trainable variables keeps every step's autograd graph
//! alive), and every way that can fail as a [`CheckpointError`] with a sentence for the user.
//!
//! Metadata written by `training/train_diffusion.py` and `training/train_classifier.py`:
//! `diffuscope.kind` (`digit-unet` | `digit-classifier`), `diffuscope.format` (`1`), `architecture`
//! (the [`UNetConfig`] as JSON), `objective` (`eps` | `v` | `flow`), `schedule`, `train_steps_T`,
//! `beta_start` and `beta_end` (each checked on load, so a damaged or hostile file is refused with
//! the entry named instead of sampling NaNs), and descriptive entries (`steps`, `final_loss`,
//! `date`, `command`, `wall_time_secs`, …) that are kept in [`ModelInfo::metadata`] (and the
//! worker's `ModelSummary`) for whoever wants to show how a model was made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::safetensors::Load;
use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::VarBuilder;
use safetensors::{Dtype, SafeTensorError, SafeTensors};

use super::classifier::DigitClassifier;
use super::config::UNetConfig;
use super::diffusers::DiffusersFolderError;
use super::diffusers::folder::{is_pipeline_folder, load_pipeline_folder};
use super::dit::{DiTConfig, DigitDiT};
use super::info::{DiffusionInfo, ModelDetails, ModelInfo, Network};
use super::net::DenoisingNetwork;
use super::scheduler_config::SchedulerConfig;
use super::shipped::SHIPPED_MODELS;
use super::unet::DigitUNet;
use crate::data::file::{FileRefusal, ReadError, read_regular_file};
pub use crate::diffusion::objectives::Objective;
use crate::diffusion::schedule::ScheduleKind;
use crate::i18n::Lang;

/// Metadata key naming what a file holds.
pub const KEY_KIND: &str = "diffuscope.kind";
/// Metadata key of the file-format version.
pub const KEY_FORMAT: &str = "diffuscope.format";
/// Metadata key of the network's sizes (JSON).
pub const KEY_ARCHITECTURE: &str = "architecture";
/// Metadata key of the training objective.
pub const KEY_OBJECTIVE: &str = "objective";
/// Metadata key of the noise schedule's name.
pub const KEY_SCHEDULE: &str = "schedule";
/// Metadata key of T, the number of training timesteps.
pub const KEY_TRAIN_STEPS: &str = "train_steps_T";
/// Metadata key of β at t = 1 (optional; the schedule's default when absent).
pub const KEY_BETA_START: &str = "beta_start";
/// Metadata key of β at t = T (optional; the schedule's default when absent).
pub const KEY_BETA_END: &str = "beta_end";
/// The schedule name training writes for flow-matching models (which have no β schedule).
pub const FLOW_SCHEDULE: &str = "rectified-flow";
/// The largest T a checkpoint may declare. The program keeps tables of T entries per schedule and
/// DDPM takes T steps, so a larger T would only cost memory and hours; the shipped models use 1000.
pub const MAX_TRAIN_STEPS: usize = 10_000;
/// The largest checkpoint file read (bytes); the shipped models are about 2 MB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// The checkpoint format this program reads and writes.
pub const FORMAT_VERSION: &str = "1";

/// What a checkpoint holds (its `diffuscope.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelKind {
    /// A [`DigitUNet`] diffusion model (`digit-unet`).
    DigitUNet,
    /// A [`DigitDiT`](super::DigitDiT) diffusion model (`digit-dit`).
    DigitDiT,
    /// A [`DigitClassifier`] (`digit-classifier`).
    DigitClassifier,
    /// A diffusers `UNet2DModel` of a pipeline folder (never in a Diffuscope checkpoint).
    DiffusersUNet2D,
}

impl ModelKind {
    /// The metadata string.
    pub fn metadata_name(self) -> &'static str {
        match self {
            Self::DigitUNet => "digit-unet",
            Self::DigitDiT => "digit-dit",
            Self::DigitClassifier => "digit-classifier",
            Self::DiffusersUNet2D => "diffusers-unet2d",
        }
    }

    /// The kind named by a metadata string.
    pub fn from_metadata_name(name: &str) -> Option<Self> {
        [Self::DigitUNet, Self::DigitDiT, Self::DigitClassifier]
            .into_iter()
            .find(|k| k.metadata_name() == name)
    }

    /// Whether it is a diffusion model (one the views can sample).
    pub fn is_diffusion(self) -> bool {
        matches!(
            self,
            Self::DigitUNet | Self::DigitDiT | Self::DiffusersUNet2D
        )
    }

    /// What it is, in words ("a diffusion model", "a digit classifier").
    pub fn described(self, lang: Lang) -> &'static str {
        match self {
            Self::DigitUNet => lang.pick("a diffusion model", "扩散模型"),
            Self::DigitDiT => lang.pick("a diffusion transformer", "扩散 Transformer 模型"),
            Self::DigitClassifier => lang.pick("a digit classifier", "数字分类器"),
            Self::DiffusersUNet2D => {
                lang.pick("a diffusers UNet2DModel", "diffusers 的 UNet2DModel")
            }
        }
    }
}

/// What is wrong with a metadata entry, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MetadataProblem {
    /// `diffuscope.kind` names no network this program knows.
    UnknownKind,
    /// The architecture cannot be read or built; the reason (in English) from
    /// [`UNetConfig::from_json`].
    Architecture(String),
    /// The objective is not `eps`, `v` or `flow`.
    UnknownObjective,
    /// The schedule's name is not one this program knows.
    UnknownSchedule,
    /// T is not a whole number from 1 to [`MAX_TRAIN_STEPS`].
    TrainStepsOutOfRange,
    /// A β is not a finite number.
    NotANumber,
    /// A β is not strictly between 0 and 1.
    BetaOutOfRange,
    /// `beta_start` is larger than `beta_end`.
    BetasOutOfOrder,
}

impl MetadataProblem {
    /// What is wrong, as the end of a sentence (no capital, no full stop).
    pub fn explained(&self, lang: Lang) -> String {
        let names: Vec<&str> = ScheduleKind::ALL
            .iter()
            .map(|kind| kind.cli_name())
            .chain([FLOW_SCHEDULE])
            .collect();
        match (self, lang) {
            (Self::Architecture(detail), Lang::En) => {
                format!("the network's sizes cannot be used: {detail}")
            }
            (Self::Architecture(detail), Lang::Zh) => format!("网络的尺寸无法使用：{detail}"),
            (Self::UnknownSchedule, Lang::En) => {
                format!("the schedule must be one of {}", names.join(", "))
            }
            (Self::UnknownSchedule, Lang::Zh) => {
                format!("噪声调度必须是 {} 之一", names.join("、"))
            }
            (Self::TrainStepsOutOfRange, Lang::En) => format!(
                "T must be a whole number from 1 to {MAX_TRAIN_STEPS}; the program keeps tables \
                 of T entries and DDPM takes T steps, so a larger T would only cost memory and time"
            ),
            (Self::TrainStepsOutOfRange, Lang::Zh) => format!(
                "T 必须是 1 到 {MAX_TRAIN_STEPS} 之间的整数；程序为每个时间步保存数值表，\
                 DDPM 要走 T 步，更大的 T 只会耗费内存和时间"
            ),
            (other, lang) => other.fixed(lang).to_owned(),
        }
    }

    fn fixed(&self, lang: Lang) -> &'static str {
        match self {
            Self::UnknownKind => lang.pick(
                "not a kind of network this program knows",
                "本程序不认识这种网络",
            ),
            Self::UnknownObjective => {
                lang.pick("expected eps, v, flow or x0", "应为 eps、v、flow 或 x0")
            }
            Self::NotANumber => lang.pick("β must be a finite number", "β 必须是有限的数"),
            Self::BetaOutOfRange => lang.pick(
                "β must lie strictly between 0 and 1",
                "β 必须严格介于 0 和 1 之间",
            ),
            Self::BetasOutOfOrder => lang.pick(
                "beta_start must not be larger than beta_end",
                "beta_start 不能大于 beta_end",
            ),
            Self::Architecture(_) | Self::UnknownSchedule | Self::TrainStepsOutOfRange => "",
        }
    }
}

/// A diffusion model ready to sample from: its description, the network (weights as plain
/// tensors, no autograd), and the device they live on.
#[derive(Clone, Debug)]
pub struct DiffusionModel {
    /// What the checkpoint says about the model.
    pub info: DiffusionInfo,
    /// Every metadata entry of the checkpoint.
    pub metadata: BTreeMap<String, String>,
    /// The network.
    pub net: DenoisingNetwork,
    /// Where the weights are.
    pub device: Device,
    /// The scheduler the model came with (a diffusers pipeline folder's), if any: the run it was
    /// made for.
    pub scheduler: Option<SchedulerConfig>,
}

/// Why a checkpoint could not be used.
///
/// `Display` gives a short English description; [`CheckpointError::sentence`] gives the sentence
/// the window and the command line show, in either language.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The name is neither an existing file nor a shipped model.
    #[error("no model file or shipped model named {name}")]
    NotFound {
        /// What the user asked for.
        name: String,
        /// The shipped models that are present.
        available: Vec<String>,
    },
    /// The file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The path is not an ordinary file (a pipe, a device, a folder) or the file is larger than
    /// [`MAX_FILE_BYTES`]; nothing was read from it.
    #[error("{} refused: {refusal}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        refusal: FileRefusal,
    },
    /// The file is not in the safetensors format at all.
    #[error("{} is not a safetensors file: {detail}", path.display())]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What the safetensors reader said.
        detail: String,
    },
    /// The file is shorter (or longer) than its header says: cut off while copying or downloading.
    #[error("{} is truncated or damaged", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
    },
    /// A required metadata entry is missing.
    #[error("{} has no metadata entry {key}", path.display())]
    MissingMetadata {
        /// The file.
        path: PathBuf,
        /// The missing key.
        key: String,
    },
    /// A metadata entry has a value this program cannot use.
    #[error("{} has a bad metadata entry {key} = {value:?}: {}", path.display(), problem.explained(Lang::En))]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// Its value.
        value: String,
        /// What is wrong with it.
        problem: MetadataProblem,
    },
    /// The file was written in a newer (or unknown) checkpoint format.
    #[error("{} has checkpoint format {found}; this program reads format {}", path.display(), FORMAT_VERSION)]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// The format it declares.
        found: String,
    },
    /// The file holds another kind of network than the one asked for.
    #[error("{} is a {found} checkpoint, not {}", path.display(), expected.metadata_name())]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// What was asked for.
        expected: ModelKind,
        /// What the file's `diffuscope.kind` says.
        found: String,
    },
    /// A tensor the network needs is not in the file.
    #[error("{} lacks the tensor {name}", path.display())]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A tensor has another shape than the architecture needs.
    #[error("{}: tensor {name} has shape {found:?}, expected {expected:?}", path.display())]
    WrongShape {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The shape the architecture needs.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },
    /// A tensor is stored with a number type that cannot become f32 weights.
    #[error("{}: tensor {name} is stored as {dtype}", path.display())]
    UnsupportedDType {
        /// The file.
        path: PathBuf,
        /// The tensor's name.
        name: String,
        /// The stored type.
        dtype: String,
    },
    /// The network could not be built for another reason (for example, no memory on the GPU).
    #[error("cannot build the network from {}: {detail}", path.display())]
    Build {
        /// The file.
        path: PathBuf,
        /// What candle said.
        detail: String,
    },
    /// A diffusers pipeline folder's files or configs cannot be used.
    #[error("{0}")]
    Diffusers(Box<DiffusersFolderError>),
}

impl CheckpointError {
    /// One clear sentence for the user, naming the file and what is wrong with it.
    #[expect(
        clippy::too_many_lines,
        reason = "a table: one sentence for each kind of error in each language"
    )]
    pub fn sentence(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            Self::NotFound { name, available } => {
                let list = if available.is_empty() {
                    lang.pick("none is installed", "当前没有安装任何模型")
                        .to_owned()
                } else {
                    available.join(", ")
                };
                if zh {
                    format!(
                        "找不到模型“{name}”：它既不是一个文件，也不是内置模型的名字（内置模型：{list}）。"
                    )
                } else {
                    format!(
                        "There is no model “{name}”: it is neither a file nor the name of a shipped model (shipped: {list})."
                    )
                }
            }
            Self::Read { path, source } => {
                let p = path.display();
                match (source.kind(), zh) {
                    (std::io::ErrorKind::NotFound, false) => {
                        format!("The model file “{p}” does not exist.")
                    }
                    (std::io::ErrorKind::NotFound, true) => format!("模型文件“{p}”不存在。"),
                    (std::io::ErrorKind::PermissionDenied, false) => {
                        format!("The model file “{p}” cannot be read: permission was denied.")
                    }
                    (std::io::ErrorKind::PermissionDenied, true) => {
                        format!("无法读取模型文件“{p}”：没有读取权限。")
                    }
                    (_, false) => format!("The model file “{p}” cannot be read ({source})."),
                    (_, true) => format!("无法读取模型文件“{p}”（{source}）。"),
                }
            }
            Self::Refused { path, refusal } => refusal.sentence(&path.display().to_string(), lang),
            Self::NotSafetensors { path, .. } => {
                let p = path.display();
                if zh {
                    format!("“{p}”不是 safetensors 格式的模型文件。")
                } else {
                    format!("“{p}” is not a model file in the safetensors format.")
                }
            }
            Self::Truncated { path } => {
                let p = path.display();
                if zh {
                    format!("模型文件“{p}”不完整或已损坏（可能在复制或下载时被截断）。")
                } else {
                    format!(
                        "The model file “{p}” is incomplete or damaged (it may have been cut off while copying or downloading)."
                    )
                }
            }
            Self::MissingMetadata { path, key } => {
                let p = path.display();
                match (key.as_str(), zh) {
                    (KEY_KIND, false) => format!(
                        "“{p}” is not a Diffuscope model: its metadata does not say what network it holds."
                    ),
                    (KEY_KIND, true) => {
                        format!("“{p}”不是 Diffuscope 的模型：它的元数据没有说明其中是什么网络。")
                    }
                    (_, false) => {
                        format!("The model file “{p}” lacks the metadata entry “{key}”.")
                    }
                    (_, true) => format!("模型文件“{p}”缺少元数据项“{key}”。"),
                }
            }
            Self::BadMetadata {
                path,
                key,
                value,
                problem,
            } => {
                let p = path.display();
                let value = shorten(value);
                let why = problem.explained(lang);
                if zh {
                    format!("模型文件“{p}”的元数据项“{key}”无法使用（“{value}”：{why}）。")
                } else {
                    format!(
                        "The model file “{p}” has a metadata entry “{key}” that cannot be used (“{value}”: {why})."
                    )
                }
            }
            Self::UnsupportedFormat { path, found } => {
                let p = path.display();
                let found = shorten(found);
                if zh {
                    format!(
                        "模型文件“{p}”使用格式 {found}，而本程序只能读取格式 {FORMAT_VERSION}；它可能来自更新版本的 Diffuscope。"
                    )
                } else {
                    format!(
                        "The model file “{p}” uses format {found}, but this program reads format {FORMAT_VERSION}; it may come from a newer Diffuscope."
                    )
                }
            }
            Self::WrongKind {
                path,
                expected,
                found,
            } => {
                let p = path.display();
                let what = ModelKind::from_metadata_name(found).map_or_else(
                    || format!("“{}”", shorten(found)),
                    |kind| kind.described(lang).to_owned(),
                );
                if zh {
                    format!("“{p}”中是{what}，而这里需要{}。", expected.described(lang))
                } else {
                    format!(
                        "“{p}” holds {what}, but {} is needed here.",
                        expected.described(lang)
                    )
                }
            }
            Self::MissingTensor { path, name } => {
                let p = path.display();
                if zh {
                    format!("模型文件“{p}”缺少网络需要的张量“{name}”。")
                } else {
                    format!(
                        "The model file “{p}” lacks the tensor “{name}” that the network needs."
                    )
                }
            }
            Self::WrongShape {
                path,
                name,
                expected,
                found,
            } => {
                let p = path.display();
                let (e, f) = (shape_text(expected), shape_text(found));
                if zh {
                    format!("模型文件“{p}”中的张量“{name}”形状为 {f}，但网络需要 {e}。")
                } else {
                    format!(
                        "In the model file “{p}”, the tensor “{name}” has shape {f}, but the network needs {e}."
                    )
                }
            }
            Self::UnsupportedDType { path, name, dtype } => {
                let p = path.display();
                if zh {
                    format!("模型文件“{p}”中的张量“{name}”以 {dtype} 存储，无法用作网络权重。")
                } else {
                    format!(
                        "In the model file “{p}”, the tensor “{name}” is stored as {dtype}, which cannot be used as network weights."
                    )
                }
            }
            Self::Build { path, detail } => {
                let p = path.display();
                if zh {
                    format!("无法用“{p}”构建网络（{detail}）。")
                } else {
                    format!("The network could not be built from “{p}” ({detail}).")
                }
            }
            Self::Diffusers(error) => error.sentence(lang),
        }
    }
}

/// A metadata value cut to a length that fits in a sentence.
fn shorten(value: &str) -> String {
    const MAX_CHARS: usize = 60;
    if value.chars().count() <= MAX_CHARS {
        value.to_owned()
    } else {
        let head: String = value.chars().take(MAX_CHARS).collect();
        format!("{head}…")
    }
}

fn shape_text(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(ToString::to_string).collect();
    format!("({})", parts.join("×"))
}

/// Loads a diffusion model onto `device`: a checkpoint (`diffuscope.kind = digit-unet`), or a
/// folder, read as a diffusers pipeline folder.
pub fn load_diffusion_model(
    path: &Path,
    device: &Device,
) -> Result<DiffusionModel, CheckpointError> {
    if path.is_dir() {
        return load_pipeline_folder(path, device);
    }
    diffusion_model_from_bytes(path, &read(path)?, device)
}

/// Builds a diffusion model from the bytes of a checkpoint, as [`load_diffusion_model`] does
/// after reading the file; `path` only names the file in errors.
pub fn diffusion_model_from_bytes(
    path: &Path,
    bytes: &[u8],
    device: &Device,
) -> Result<DiffusionModel, CheckpointError> {
    let file = parse(path, bytes)?;
    let kind = match file.metadata.get(KEY_KIND).map(String::as_str) {
        Some(name) if name == ModelKind::DigitDiT.metadata_name() => ModelKind::DigitDiT,
        _ => ModelKind::DigitUNet,
    };
    check_header(path, &file.metadata, kind)?;
    let info = diffusion_info(path, &file.metadata, kind)?;
    let net = match &info.network {
        Network::DigitUNet(config) => {
            DenoisingNetwork::Digit(Box::new(build(path, file.tensors, device, |vb| {
                DigitUNet::new(config, vb)
            })?))
        }
        Network::DigitDiT(config) => {
            DenoisingNetwork::Transformer(Box::new(build(path, file.tensors, device, |vb| {
                DigitDiT::new(config, vb)
            })?))
        }
        Network::DiffusersUNet2D(_) => {
            return Err(CheckpointError::WrongKind {
                path: path.to_owned(),
                expected: ModelKind::DigitUNet,
                found: ModelKind::DiffusersUNet2D.metadata_name().to_owned(),
            });
        }
    };
    Ok(DiffusionModel {
        info,
        metadata: file.metadata,
        net,
        device: device.clone(),
        scheduler: None,
    })
}

/// Loads the digit classifier (`diffuscope.kind = digit-classifier`) onto `device`.
pub fn load_classifier(
    path: &Path,
    device: &Device,
) -> Result<(ModelInfo, DigitClassifier), CheckpointError> {
    classifier_from_bytes(path, &read(path)?, device)
}

/// Builds the digit classifier from the bytes of a checkpoint, as [`load_classifier`] does after
/// reading the file; `path` only names the file in errors.
pub fn classifier_from_bytes(
    path: &Path,
    bytes: &[u8],
    device: &Device,
) -> Result<(ModelInfo, DigitClassifier), CheckpointError> {
    let file = parse(path, bytes)?;
    let info = model_info(path, &file.metadata, ModelKind::DigitClassifier)?;
    let net = build(path, file.tensors, device, DigitClassifier::new)?;
    Ok((info, net))
}

/// Reads only what a checkpoint says about itself (any kind), without building the network.
pub fn read_model_info(path: &Path) -> Result<ModelInfo, CheckpointError> {
    model_info_from_bytes(path, &read(path)?)
}

/// What the bytes of a checkpoint say about themselves, as [`read_model_info`] reads them;
/// `path` only names the file in errors.
pub fn model_info_from_bytes(path: &Path, bytes: &[u8]) -> Result<ModelInfo, CheckpointError> {
    let file = parse(path, bytes)?;
    let kind_name = required(path, &file.metadata, KEY_KIND)?;
    let kind =
        ModelKind::from_metadata_name(kind_name).ok_or_else(|| CheckpointError::BadMetadata {
            path: path.to_owned(),
            key: KEY_KIND.to_owned(),
            value: kind_name.to_owned(),
            problem: MetadataProblem::UnknownKind,
        })?;
    model_info(path, &file.metadata, kind)
}

/// The file of a shipped model (`"digits-eps"` → `…/assets/models/digits-eps.safetensors`, or the
/// pipeline folder `…/assets/models/digits-diffusers/`), looked for beside the executable (and up
/// to three folders above it, which covers `target/release/`) and in the source tree the program
/// was built from. `None` if it is not there (or the name is not a plain file name).
pub fn shipped_model_path(name: &str) -> Option<PathBuf> {
    let plain = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if !plain {
        return None;
    }
    model_folders()
        .into_iter()
        .flat_map(|folder| {
            [
                folder.join(format!("{name}.safetensors")),
                folder.join(name),
            ]
        })
        .find(|path| path.is_file() || is_pipeline_folder(path))
}

/// The shipped models that are present, by name (in the order of [`SHIPPED_MODELS`]).
pub fn shipped_models() -> Vec<(String, PathBuf)> {
    SHIPPED_MODELS
        .iter()
        .filter_map(|model| {
            shipped_model_path(model.name).map(|path| (model.name.to_owned(), path))
        })
        .collect()
}

/// What `--model` names: an existing file, or else the name of a shipped model, or else whatever
/// else is at that path (a pipe, a device, a folder), for the loader to refuse by name.
pub fn resolve_model(name_or_path: &str) -> Result<PathBuf, CheckpointError> {
    let path = Path::new(name_or_path);
    if path.is_file() {
        return Ok(path.to_owned());
    }
    if let Some(shipped) = shipped_model_path(name_or_path) {
        return Ok(shipped);
    }
    if path.exists() {
        return Ok(path.to_owned());
    }
    Err(CheckpointError::NotFound {
        name: name_or_path.to_owned(),
        available: shipped_models().into_iter().map(|(name, _)| name).collect(),
    })
}

/// Folders that may hold the shipped models, most specific first.
fn model_folders() -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(4) {
            folders.push(dir.join("assets").join("models"));
        }
    }
    folders.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("assets")
            .join("models"),
    );
    folders
}

/// The file's bytes; only an ordinary file of at most [`MAX_FILE_BYTES`] is read.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    read_regular_file(path, MAX_FILE_BYTES).map_err(|error| match error {
        ReadError::Io(source) => CheckpointError::Read {
            path: path.to_owned(),
            source,
        },
        ReadError::Refused(refusal) => CheckpointError::Refused {
            path: path.to_owned(),
            refusal,
        },
    })
}

/// A parsed file: its tensors (views into the bytes) and its metadata.
pub(crate) struct Parsed<'a> {
    pub(crate) tensors: SafeTensors<'a>,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// The tensors and metadata of safetensors bytes; a damaged file is named.
pub(crate) fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Parsed<'a>, CheckpointError> {
    let damaged = |e: SafeTensorError| match e {
        SafeTensorError::InvalidHeaderLength | SafeTensorError::MetadataIncompleteBuffer => {
            CheckpointError::Truncated {
                path: path.to_owned(),
            }
        }
        other => CheckpointError::NotSafetensors {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    };
    let tensors = SafeTensors::deserialize(bytes).map_err(damaged)?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(damaged)?;
    let metadata: BTreeMap<String, String> = header
        .metadata()
        .as_ref()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(Parsed { tensors, metadata })
}

fn required<'m>(
    path: &Path,
    metadata: &'m BTreeMap<String, String>,
    key: &str,
) -> Result<&'m str, CheckpointError> {
    metadata
        .get(key)
        .map(String::as_str)
        .ok_or_else(|| CheckpointError::MissingMetadata {
            path: path.to_owned(),
            key: key.to_owned(),
        })
}

/// Checks the kind and format, and reads the entries that the program relies on.
fn model_info(
    path: &Path,
    metadata: &BTreeMap<String, String>,
    expected: ModelKind,
) -> Result<ModelInfo, CheckpointError> {
    check_header(path, metadata, expected)?;
    let details = match expected {
        ModelKind::DigitUNet | ModelKind::DigitDiT => {
            ModelDetails::Diffusion(diffusion_info(path, metadata, expected)?)
        }
        ModelKind::DigitClassifier => ModelDetails::Classifier,
        // A diffusers model is a folder, never one checkpoint file.
        ModelKind::DiffusersUNet2D => {
            return Err(CheckpointError::WrongKind {
                path: path.to_owned(),
                expected: ModelKind::DigitUNet,
                found: expected.metadata_name().to_owned(),
            });
        }
    };
    Ok(ModelInfo {
        details,
        metadata: metadata.clone(),
    })
}

/// Checks that the file holds an `expected` model in the format this program reads.
fn check_header(
    path: &Path,
    metadata: &BTreeMap<String, String>,
    expected: ModelKind,
) -> Result<(), CheckpointError> {
    let kind = required(path, metadata, KEY_KIND)?;
    if kind != expected.metadata_name() {
        return Err(CheckpointError::WrongKind {
            path: path.to_owned(),
            expected,
            found: kind.to_owned(),
        });
    }
    let format = required(path, metadata, KEY_FORMAT)?;
    if format.trim() != FORMAT_VERSION {
        return Err(CheckpointError::UnsupportedFormat {
            path: path.to_owned(),
            found: format.to_owned(),
        });
    }
    Ok(())
}

/// The entries a diffusion model must have, each checked.
fn diffusion_info(
    path: &Path,
    metadata: &BTreeMap<String, String>,
    kind: ModelKind,
) -> Result<DiffusionInfo, CheckpointError> {
    let bad = |key: &str, value: &str, problem: MetadataProblem| CheckpointError::BadMetadata {
        path: path.to_owned(),
        key: key.to_owned(),
        value: value.to_owned(),
        problem,
    };
    let architecture = required(path, metadata, KEY_ARCHITECTURE)?;
    let network = match kind {
        ModelKind::DigitDiT => DiTConfig::from_json(architecture).map(Network::DigitDiT),
        _ => UNetConfig::from_json(architecture).map(Network::DigitUNet),
    }
    .map_err(|reason| {
        bad(
            KEY_ARCHITECTURE,
            architecture,
            MetadataProblem::Architecture(reason),
        )
    })?;
    let objective = required(path, metadata, KEY_OBJECTIVE)?;
    let objective = objective
        .trim()
        .parse()
        .map_err(|_| bad(KEY_OBJECTIVE, objective, MetadataProblem::UnknownObjective))?;
    let schedule = required(path, metadata, KEY_SCHEDULE)?;
    if !known_schedule(schedule.trim()) {
        return Err(bad(
            KEY_SCHEDULE,
            schedule,
            MetadataProblem::UnknownSchedule,
        ));
    }
    let steps = required(path, metadata, KEY_TRAIN_STEPS)?;
    let train_steps_t = steps
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|t| (1..=MAX_TRAIN_STEPS).contains(t))
        .ok_or_else(|| {
            bad(
                KEY_TRAIN_STEPS,
                steps,
                MetadataProblem::TrainStepsOutOfRange,
            )
        })?;
    let [beta_start, beta_end] =
        check_betas(metadata).map_err(|(key, value, problem)| bad(key, value, problem))?;
    Ok(DiffusionInfo {
        network,
        objective,
        schedule: schedule.trim().to_owned(),
        train_steps_t,
        beta_start,
        beta_end,
        zero_terminal_snr: false,
        trained_betas: None,
    })
}

/// Whether `name` is a schedule this program can rebuild.
fn known_schedule(name: &str) -> bool {
    name == FLOW_SCHEDULE || ScheduleKind::ALL.iter().any(|kind| kind.cli_name() == name)
}

/// Checks the optional `beta_start` and `beta_end` entries, read exactly as sampling reads them:
/// each a finite number strictly between 0 and 1, and `beta_start ≤ beta_end`. On failure, the
/// key, its value and the problem.
fn check_betas(
    metadata: &BTreeMap<String, String>,
) -> Result<[Option<f64>; 2], (&'static str, &str, MetadataProblem)> {
    let mut betas = [None, None];
    for (slot, key) in betas.iter_mut().zip([KEY_BETA_START, KEY_BETA_END]) {
        let Some(value) = metadata.get(key) else {
            continue;
        };
        let beta = value.parse::<f64>().ok().filter(|b| b.is_finite()).ok_or((
            key,
            value.as_str(),
            MetadataProblem::NotANumber,
        ))?;
        if !(beta > 0.0 && beta < 1.0) {
            return Err((key, value, MetadataProblem::BetaOutOfRange));
        }
        *slot = Some(beta);
    }
    if let [Some(start), Some(end)] = betas
        && start > end
    {
        let value = metadata.get(KEY_BETA_START).map_or("", String::as_str);
        return Err((KEY_BETA_START, value, MetadataProblem::BetasOutOfOrder));
    }
    Ok(betas)
}

/// The first thing wrong with the file's tensors that a network build ran into.
#[derive(Debug)]
enum TensorProblem {
    Missing(String),
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    DType {
        name: String,
        dtype: String,
    },
}

/// A `VarBuilder` backend over the tensors of a parsed file that remembers what went wrong, so a
/// failed build becomes a [`CheckpointError`] naming the tensor. Each tensor is converted to f32
/// (from f16, bf16 or f64) when the network asks for it; tensors it never asks for are ignored.
struct CheckedTensors<'a> {
    tensors: SafeTensors<'a>,
    problem: Arc<Mutex<Option<TensorProblem>>>,
}

impl CheckedTensors<'_> {
    fn fail(&self, problem: TensorProblem) -> candle_core::Error {
        let message = format!("{problem:?}");
        if let Ok(mut slot) = self.problem.lock()
            && slot.is_none()
        {
            *slot = Some(problem);
        }
        candle_core::Error::Msg(message)
    }

    fn load(
        &self,
        name: &str,
        shape: Option<&Shape>,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let Ok(view) = self.tensors.tensor(name) else {
            return Err(self.fail(TensorProblem::Missing(name.to_owned())));
        };
        if let Some(shape) = shape
            && view.shape() != shape.dims()
        {
            return Err(self.fail(TensorProblem::Shape {
                name: name.to_owned(),
                expected: shape.dims().to_vec(),
                found: view.shape().to_vec(),
            }));
        }
        match view.dtype() {
            Dtype::F32 | Dtype::F16 | Dtype::BF16 | Dtype::F64 => {}
            other => {
                return Err(self.fail(TensorProblem::DType {
                    name: name.to_owned(),
                    dtype: format!("{other:?}"),
                }));
            }
        }
        view.load(&Device::Cpu)?.to_dtype(dtype)?.to_device(dev)
    }
}

impl candle_nn::var_builder::SimpleBackend for CheckedTensors<'_> {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        self.load(name, Some(&s), dtype, dev)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.load(name, None, dtype, dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.tensor(name).is_ok()
    }
}

/// Builds a network from the file's tensors, turning a failure into a [`CheckpointError`].
pub(crate) fn build<'a, T>(
    path: &Path,
    tensors: SafeTensors<'a>,
    device: &Device,
    make: impl FnOnce(VarBuilder<'a>) -> candle_core::Result<T>,
) -> Result<T, CheckpointError> {
    let problem = Arc::new(Mutex::new(None));
    let backend = CheckedTensors {
        tensors,
        problem: Arc::clone(&problem),
    };
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
    make(vb).map_err(|error| {
        let path = path.to_owned();
        match problem.lock().ok().and_then(|mut slot| slot.take()) {
            Some(TensorProblem::Missing(name)) => CheckpointError::MissingTensor { path, name },
            Some(TensorProblem::Shape {
                name,
                expected,
                found,
            }) => CheckpointError::WrongShape {
                path,
                name,
                expected,
                found,
            },
            Some(TensorProblem::DType { name, dtype }) => {
                CheckpointError::UnsupportedDType { path, name, dtype }
            }
            None => CheckpointError::Build {
                path,
                detail: error.to_string(),
            },
        }
    })
}

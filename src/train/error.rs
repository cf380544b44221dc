//! `TrainError`: every way a training run can fail, and the sentence that tells the user.

use std::path::PathBuf;

use crate::export::ExportError;
use crate::i18n::Lang;

/// Why a training run failed.
///
/// `Display` gives a short English description; [`TrainError::sentence`] gives the sentence the
/// window and the command line show, in either language.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// There are no digits to train on.
    #[error("no digits to train on")]
    NoDigits,
    /// A setting is outside the values that make sense.
    #[error("{setting} = {value} is not allowed (must be {allowed})")]
    BadSetting {
        /// The setting, as named on the command line (`--batch`).
        setting: &'static str,
        /// The value given.
        value: String,
        /// What is allowed, in notation both languages read (`≥ 1`, `in [0, 1)`).
        allowed: &'static str,
    },
    /// The network's sizes cannot be built.
    #[error("the network's sizes are invalid: {reason}")]
    BadArchitecture {
        /// Why, in English.
        reason: String,
    },
    /// The checkpoint, the loss log or the resume state could not be written (missing folder,
    /// no permission, disk full…).
    #[error(transparent)]
    Output(#[from] ExportError),
    /// The output path names a folder, not a file.
    #[error("{} is a folder; the output must be a file name", path.display())]
    OutputIsAFolder {
        /// The path given.
        path: PathBuf,
    },
    /// `--resume` was asked for but there is no resume state beside the output.
    #[error("nothing to resume: {} does not exist", path.display())]
    NothingToResume {
        /// Where the resume state was looked for.
        path: PathBuf,
    },
    /// The resume state is damaged or not one of ours.
    #[error("cannot resume from {}: {detail}", path.display())]
    ResumeUnreadable {
        /// The resume state.
        path: PathBuf,
        /// What is wrong, in English.
        detail: String,
    },
    /// The resume state was saved by a run with other settings.
    #[error("{} was saved with {setting} {saved}, not {requested}", path.display())]
    ResumeMismatch {
        /// The resume state.
        path: PathBuf,
        /// The setting that differs.
        setting: String,
        /// Its value in the saved run.
        saved: String,
        /// Its value now.
        requested: String,
    },
    /// The loss became NaN or infinite: the learning rate is probably too high.
    #[error("the loss became {loss} at step {step}")]
    Diverged {
        /// The step (1-based) whose loss was not finite.
        step: usize,
        /// The loss.
        loss: f32,
    },
    /// The computation itself failed (out of memory, a device error, a bug).
    #[error("the computation failed: {0}")]
    Compute(#[from] candle_core::Error),
}

impl TrainError {
    /// One clear sentence for the user.
    pub fn sentence(&self, lang: Lang) -> String {
        match (self, lang) {
            (Self::NoDigits, Lang::En) => "There are no digits to train on.".to_owned(),
            (Self::NoDigits, Lang::Zh) => "没有可用于训练的数字图像。".to_owned(),
            (
                Self::BadSetting {
                    setting,
                    value,
                    allowed,
                },
                Lang::En,
            ) => format!("{setting} {value} is not possible: it must be {allowed}."),
            (
                Self::BadSetting {
                    setting,
                    value,
                    allowed,
                },
                Lang::Zh,
            ) => format!("{setting} {value} 无效：取值必须 {allowed}。"),
            (Self::BadArchitecture { reason }, Lang::En) => {
                format!("The network cannot be built with these sizes: {reason}.")
            }
            (Self::BadArchitecture { reason }, Lang::Zh) => {
                format!("无法按这些尺寸构建网络：{reason}。")
            }
            (Self::Output(error), lang) => error.sentence(lang),
            (Self::OutputIsAFolder { path }, Lang::En) => format!(
                "“{}” is a folder; give a file name for the model, such as “{}”.",
                path.display(),
                path.join("model.safetensors").display()
            ),
            (Self::OutputIsAFolder { path }, Lang::Zh) => format!(
                "“{}”是一个文件夹；请为模型指定文件名，例如“{}”。",
                path.display(),
                path.join("model.safetensors").display()
            ),
            (Self::NothingToResume { path }, Lang::En) => format!(
                "There is nothing to resume: “{}” does not exist (the run may have finished, or never saved). Start again without --resume.",
                path.display()
            ),
            (Self::NothingToResume { path }, Lang::Zh) => format!(
                "没有可以继续的训练：“{}”不存在（训练可能已经完成，或从未保存）。请去掉 --resume 重新开始。",
                path.display()
            ),
            (Self::ResumeUnreadable { path, detail }, Lang::En) => format!(
                "Cannot resume from “{}”: {detail}. Delete it to start again.",
                path.display()
            ),
            (Self::ResumeUnreadable { path, detail }, Lang::Zh) => format!(
                "无法从“{}”继续训练：{detail}。删除该文件即可重新开始。",
                path.display()
            ),
            (
                Self::ResumeMismatch {
                    path,
                    setting,
                    saved,
                    requested,
                },
                Lang::En,
            ) => format!(
                "“{}” was saved by a run with {setting} {saved}, but this run asks for {requested}. Use the same settings to resume, or start again without --resume.",
                path.display()
            ),
            (
                Self::ResumeMismatch {
                    path,
                    setting,
                    saved,
                    requested,
                },
                Lang::Zh,
            ) => format!(
                "“{}”保存自 {setting} 为 {saved} 的训练，而本次为 {requested}。请用相同的设置继续，或去掉 --resume 重新开始。",
                path.display()
            ),
            (Self::Diverged { step, loss }, Lang::En) => format!(
                "Training diverged: the loss became {loss} at step {step}. Try a smaller learning rate (--lr)."
            ),
            (Self::Diverged { step, loss }, Lang::Zh) => {
                format!("训练发散：第 {step} 步的损失变成了 {loss}。请尝试更小的学习率（--lr）。")
            }
            (Self::Compute(error), Lang::En) => {
                format!("The training computation failed: {error}.")
            }
            (Self::Compute(error), Lang::Zh) => format!("训练计算失败：{error}。"),
        }
    }
}
